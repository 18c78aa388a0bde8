/**
 * The course check (`npm run course -- check`, and a test in `npm test`): the
 * rules that keep eight snapshot folders honest. Phase N is a full copy of phase
 * N-1 plus its lesson (course/architecture.md §2), and its `phase.json` says which files the lesson
 * introduces, changes and removes; this module compares each consecutive pair of
 * phases byte for byte and reports every file the manifest does not account for,
 * and every listing that is stale. It also checks the folder names, the files every
 * phase must have, and that phase `src/` code reaches time and randomness only
 * through the seams (course/architecture.md §3, see determinism.ts).
 *
 * Everything here is pure with respect to its input folder, so the tests run it on
 * fixture trees in temp dirs as well as on the repository itself.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { allowedReason, scanSource, seamFor, type NondeterminismFinding } from './determinism.ts';
import { PHASE_NAME_PATTERN, findPhases, type PhaseDir } from './phases.ts';
import { compareTrees, listFiles } from './tree.ts';

/** Files every phase has its own version of; never listed in a manifest. */
export const EXEMPT_FILES: ReadonlySet<string> = new Set(['README.md', 'phase.json']);

/** Files every phase folder must contain. */
export const REQUIRED_FILES: readonly string[] = ['README.md', 'phase.json', 'src/main.ts', 'tsconfig.json'];

/** The manifest of one phase (`phases/NN-name/phase.json`). Paths relative to the phase folder. */
export interface PhaseManifest {
  title: string;
  summary: string;
  /** Files new in this phase. */
  introduces: string[];
  /** Files present in the previous phase whose bytes differ in this one. */
  changes: string[];
  /** Files of the previous phase that this phase deletes. */
  removes?: string[];
}

/** One thing wrong with the course; `phase` is null for problems of `phases/` as a whole. */
export interface Problem {
  readonly phase: string | null;
  readonly message: string;
}

/** What {@link checkCourse} found. */
export interface CheckResult {
  /** The phase folders checked, in order. */
  readonly phases: PhaseDir[];
  readonly problems: Problem[];
}

/** Render a problem as the one line the CLI prints. */
export function formatProblem(problem: Problem): string {
  return problem.phase === null ? `phases: ${problem.message}` : `phase ${problem.phase}: ${problem.message}`;
}

/**
 * Read and validate a phase's manifest. Returns the manifest (with missing lists as
 * empty arrays, so the file comparison can still run) and the problems found.
 */
export function readManifest(phaseDir: string): { manifest: PhaseManifest | null; problems: string[] } {
  let raw: string;
  try {
    raw = readFileSync(join(phaseDir, 'phase.json'), 'utf8');
  } catch {
    return { manifest: null, problems: ['phase.json is missing'] };
  }
  let data: unknown;
  try {
    data = JSON.parse(raw);
  } catch (err) {
    return { manifest: null, problems: [`phase.json is not valid JSON (${err instanceof Error ? err.message : String(err)})`] };
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    return { manifest: null, problems: ['phase.json must hold a JSON object'] };
  }
  const obj = data as Record<string, unknown>;
  const problems: string[] = [];
  const text = (key: string): string => {
    const v = obj[key];
    if (typeof v !== 'string' || v.trim() === '') {
      problems.push(`phase.json needs a non-empty "${key}"`);
      return '';
    }
    return v;
  };
  const list = (key: string, required: boolean): string[] => {
    const v = obj[key];
    if (v === undefined && !required) return [];
    if (!Array.isArray(v) || !v.every((x): x is string => typeof x === 'string')) {
      problems.push(`phase.json "${key}" must be an array of paths`);
      return [];
    }
    return v;
  };
  const manifest: PhaseManifest = {
    title: text('title'),
    summary: text('summary'),
    introduces: list('introduces', true),
    changes: list('changes', true),
    removes: list('removes', false),
  };
  return { manifest, problems };
}

/** Problems with the shape of the listed paths: not normalized, listed twice, exempt. */
function pathProblems(key: string, paths: readonly string[]): string[] {
  const problems: string[] = [];
  const seen = new Set<string>();
  for (const p of paths) {
    const segments = p.split('/');
    if (p === '' || p.startsWith('/') || p.includes('\\') || segments.some((s) => s === '' || s === '.' || s === '..')) {
      problems.push(`phase.json "${key}" has ${JSON.stringify(p)}, which is not a plain relative path like "src/log/log.ts"`);
    } else if (EXEMPT_FILES.has(p)) {
      problems.push(`phase.json "${key}" lists ${p}, which is exempt (every phase has its own); remove it`);
    }
    if (seen.has(p)) problems.push(`phase.json "${key}" lists ${p} twice`);
    seen.add(p);
  }
  return problems;
}

/**
 * Compare the files of a phase with its previous phase (or with nothing, for the
 * first phase) against its manifest. Returns one message per unaccounted file and
 * per stale listing.
 */
export function manifestProblems(phase: PhaseDir, previous: PhaseDir | null, manifest: PhaseManifest): string[] {
  const problems: string[] = [];
  const removes = manifest.removes ?? [];
  problems.push(...pathProblems('introduces', manifest.introduces), ...pathProblems('changes', manifest.changes));
  problems.push(...pathProblems('removes', removes));

  const files = listFiles(phase.path).filter((f) => !EXEMPT_FILES.has(f));
  const cmp = previous === null ? { added: files, removed: [], changed: [], same: [] } : compareTrees(previous.path, phase.path);
  const isExempt = (f: string): boolean => EXEMPT_FILES.has(f);
  const added = new Set(cmp.added.filter((f) => !isExempt(f)));
  const changed = new Set(cmp.changed.filter((f) => !isExempt(f)));
  const removed = new Set(cmp.removed.filter((f) => !isExempt(f)));
  const same = new Set(cmp.same);
  const introduces = new Set(manifest.introduces);
  const changes = new Set(manifest.changes);
  const removesSet = new Set(removes);
  const prevName = previous?.name ?? '';

  // Files the manifest must account for.
  for (const f of added) {
    if (introduces.has(f)) continue;
    problems.push(previous === null ? `${f} is not listed in introduces (phase 1 introduces every file)` : `${f} is new (not in ${prevName}) but is not listed in introduces`);
  }
  for (const f of changed) if (!changes.has(f)) problems.push(`${f} differs from ${prevName} but is not listed in changes`);
  for (const f of removed) if (!removesSet.has(f)) problems.push(`${f} exists in ${prevName} but not here, and is not listed in removes`);

  // Listings that no longer match the files (a stale manifest).
  const describe = (f: string): string => {
    if (added.has(f)) return 'is new in this phase';
    if (changed.has(f)) return `differs from ${prevName}`;
    if (removed.has(f)) return `was removed (exists in ${prevName} only)`;
    if (same.has(f)) return `is identical to ${prevName}`;
    return 'does not exist';
  };
  const hint = (f: string): string => {
    if (added.has(f)) return '; list it in introduces';
    if (changed.has(f)) return '; list it in changes';
    if (removed.has(f)) return '; list it in removes';
    return '';
  };
  for (const f of introduces) if (!added.has(f) && !EXEMPT_FILES.has(f)) problems.push(`${f} is listed in introduces but ${describe(f)}${hint(f)}`);
  for (const f of changes) if (!changed.has(f) && !EXEMPT_FILES.has(f)) problems.push(`${f} is listed in changes but ${describe(f)}${hint(f)}`);
  for (const f of removesSet) if (!removed.has(f) && !EXEMPT_FILES.has(f)) problems.push(`${f} is listed in removes but ${describe(f)}${hint(f)}`);
  return problems;
}

/**
 * Direct uses of time, timers and randomness in a phase's `src/` outside the seams.
 * `cache` maps file contents to findings, so a file carried unchanged through eight
 * phases is parsed once.
 */
export function nondeterminismProblems(phase: PhaseDir, cache: Map<string, NondeterminismFinding[]> = new Map()): string[] {
  const problems: string[] = [];
  for (const rel of listFiles(join(phase.path, 'src'))) {
    if (!/\.(ts|mts|cts)$/.test(rel) || rel.endsWith('.d.ts')) continue;
    const path = `src/${rel}`;
    const text = readFileSync(join(phase.path, path), 'utf8');
    let findings = cache.get(text);
    if (findings === undefined) {
      findings = scanSource(path, text);
      cache.set(text, findings);
    }
    for (const f of findings) {
      if (allowedReason(path, f.kind) !== null) continue;
      const where = f.kind === 'io' ? 'src/seams/ and the CLI' : f.kind === 'random' ? 'seams/random.ts, seams/clock.ts and the CLI' : 'seams/clock.ts and the CLI';
      problems.push(`${path}:${f.line} uses ${f.api} outside ${where}; go through ${seamFor(f.kind)} (course/architecture.md, seams)`);
    }
  }
  return problems;
}

/**
 * Check every phase under `phasesDir`: folder names numbered contiguously from 01,
 * required files, manifests against the actual differences between consecutive
 * phases, and the seam rule. An empty result means the course is consistent.
 * @example
 * const { problems } = checkCourse('/work/main/phases');
 * for (const p of problems) console.log(formatProblem(p));
 */
export function checkCourse(phasesDir: string): CheckResult {
  const problems: Problem[] = [];
  const top = (message: string): void => {
    problems.push({ phase: null, message });
  };
  let entries;
  try {
    entries = readdirSync(phasesDir, { withFileTypes: true });
  } catch {
    top(`${phasesDir} does not exist`);
    return { phases: [], problems };
  }
  for (const e of entries) {
    if (e.isDirectory() && !PHASE_NAME_PATTERN.test(e.name) && !e.name.startsWith('.')) {
      top(`${e.name} is not a phase folder name (expected NN-name, for example 03-topics)`);
    }
  }
  const phases = findPhases(phasesDir);
  if (phases.length === 0) top('no phase folders found');
  phases.forEach((p, i) => {
    if (p.num !== i + 1) top(`${p.name} is out of sequence: expected phase ${String(i + 1).padStart(2, '0')} here (phases are numbered 01, 02, … without gaps or repeats)`);
  });

  const cache = new Map<string, NondeterminismFinding[]>();
  phases.forEach((phase, i) => {
    const add = (message: string): void => {
      problems.push({ phase: phase.name, message });
    };
    const present = new Set(listFiles(phase.path));
    for (const f of REQUIRED_FILES) if (f !== 'phase.json' && !present.has(f)) add(`${f} is missing (every phase has one)`);
    const { manifest, problems: manifestErrors } = readManifest(phase.path);
    manifestErrors.forEach(add);
    if (manifest !== null) manifestProblems(phase, phases[i - 1] ?? null, manifest).forEach(add);
    nondeterminismProblems(phase, cache).forEach(add);
  });
  return { phases, problems };
}
