/**
 * The repository as the site sees it: which phase folders exist (`phases/NN-name/`),
 * what each one's `phase.json` says, which files it holds, and where every repository
 * path lands in the built site. This is the first stage of the build: everything
 * later (pages, diffs, API docs, the link resolver) reads the {@link Course} made here.
 *
 * Site layout mirrors the repository, so a relative link that works on GitHub keeps
 * working once mapped by {@link sitePathFor}:
 *
 *   README.md, course/introduction.md  → index.html (home)
 *   phases/01-log/README.md            → phases/01-log/index.html (the writeup)
 *   phases/01-log/src/log.ts           → phases/01-log/src/log.ts.html (highlighted source)
 *   course/glossary.md                 → course/glossary.html (course/architecture.md alike)
 *   bench/results/run.svg              → bench/results/run.svg (copied as is)
 *   a directory D                      → D/index.html (its README, or a file listing)
 *
 * plus pages with no repository source: phases/NN/diff.html, phases/NN/api/, numbers.html.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, posix } from 'node:path';

/** The eight phases the course plans, so home can say which ones are not written yet. */
export const PLANNED_PHASES: readonly PlannedPhase[] = [
  { number: 1, name: '01-log', title: 'The segmented commit log' },
  { number: 2, name: '02-wire', title: 'The wire protocol and a served broker' },
  { number: 3, name: '03-topics', title: 'Topics and partitions' },
  { number: 4, name: '04-groups', title: 'Consumer groups' },
  { number: 5, name: '05-replication', title: 'Replication with an ISR' },
  { number: 6, name: '06-election', title: 'Epoch-fenced leader election' },
  { number: 7, name: '07-simulator', title: 'The deterministic simulator' },
  { number: 8, name: '08-group-commit', title: 'Idempotent producers and group commit' },
];

/** A phase the course plans; its title is a placeholder until the folder exists. */
export interface PlannedPhase {
  readonly number: number;
  readonly name: string;
  readonly title: string;
}

/** The parsed `phase.json` manifest (paths relative to the phase folder). */
export interface PhaseManifest {
  readonly title: string;
  readonly summary: string;
  readonly introduces: readonly string[];
  readonly changes: readonly string[];
  readonly removes: readonly string[];
}

/** A phase folder that exists, with its manifest and its files. */
export interface Phase {
  /** 1-based phase number, from the folder's `NN-` prefix. */
  readonly number: number;
  /** Folder name, e.g. `01-log`. */
  readonly name: string;
  /** Repository-relative folder, e.g. `phases/01-log`. */
  readonly dir: string;
  readonly manifest: PhaseManifest;
  /** Every file in the folder, relative to it, posix separators, sorted by code unit. */
  readonly files: readonly string[];
}

/** One row of the course map: a planned or discovered phase, and the folder if it exists. */
export interface CourseMapEntry {
  readonly number: number;
  readonly name: string;
  readonly title: string;
  readonly phase: Phase | null;
}

/** Everything the builder knows about the repository before rendering. */
export interface Course {
  /** Absolute repository root. */
  readonly root: string;
  /** Existing phases, in number order. */
  readonly phases: readonly Phase[];
  /** Planned phases merged with existing ones, in number order. */
  readonly map: readonly CourseMapEntry[];
}

/** Directory names never listed or published (dependencies, build output, VCS). */
const SKIPPED_DIRS = new Set(['node_modules', 'dist', 'coverage']);

/** File extensions copied verbatim into the site instead of getting a source page. */
const ASSET_EXTENSIONS = new Set(['.svg', '.png', '.jpg', '.jpeg', '.gif', '.webp', '.ico', '.pdf']);

/** Default sort (UTF-16 code units): the same order on every machine and locale. */
export function sortStrings(values: Iterable<string>): string[] {
  return [...values].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

/**
 * List every file under `absDir` recursively, relative to it with posix separators,
 * skipping dot-files, `node_modules`, `dist` and `coverage`.
 * @example listFiles('/repo/phases/01-log') // ['README.md', 'phase.json', 'src/log.ts', ...]
 */
export function listFiles(absDir: string): string[] {
  const out: string[] = [];
  const walk = (rel: string): void => {
    const entries = readdirSync(join(absDir, rel), { withFileTypes: true });
    for (const entry of entries) {
      if (entry.name.startsWith('.')) continue;
      const child = rel === '' ? entry.name : `${rel}/${entry.name}`;
      if (entry.isDirectory()) {
        if (!SKIPPED_DIRS.has(entry.name)) walk(child);
      } else if (entry.isFile()) {
        out.push(child);
      }
    }
  };
  walk('');
  return sortStrings(out);
}

/** True when a directory entry name is one the site never publishes. */
export function isSkippedName(name: string): boolean {
  return name.startsWith('.') || SKIPPED_DIRS.has(name);
}

function stringList(value: unknown, field: string, where: string, problems: string[]): string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value) || !value.every((v): v is string => typeof v === 'string')) {
    problems.push(`${where}: "${field}" must be an array of strings`);
    return [];
  }
  return sortStrings(value);
}

/**
 * Parse and check a `phase.json` text. Problems are appended to `problems`; the
 * result is null when the manifest is unusable.
 */
export function parseManifest(text: string, where: string, problems: string[]): PhaseManifest | null {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    problems.push(`${where}: not valid JSON (${(err as Error).message})`);
    return null;
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    problems.push(`${where}: must be a JSON object`);
    return null;
  }
  const obj = raw as Record<string, unknown>;
  const before = problems.length;
  for (const field of ['title', 'summary'] as const) {
    if (typeof obj[field] !== 'string' || (obj[field] as string).trim() === '') {
      problems.push(`${where}: "${field}" must be a non-empty string`);
    }
  }
  const manifest: PhaseManifest = {
    title: String(obj.title ?? ''),
    summary: String(obj.summary ?? ''),
    introduces: stringList(obj.introduces, 'introduces', where, problems),
    changes: stringList(obj.changes, 'changes', where, problems),
    removes: stringList(obj.removes, 'removes', where, problems),
  };
  return problems.length === before ? manifest : null;
}

/**
 * Discover the phases under `root/phases`. Every folder named `NN-name` is a phase and
 * must have a `README.md` (its writeup) and a valid `phase.json`; otherwise a problem
 * is recorded, and the caller fails the build.
 */
export function loadCourse(root: string, problems: string[]): Course {
  const phasesDir = join(root, 'phases');
  const phases: Phase[] = [];
  const names = existsSync(phasesDir)
    ? sortStrings(
        readdirSync(phasesDir, { withFileTypes: true })
          .filter((d) => d.isDirectory() && /^\d\d-/.test(d.name))
          .map((d) => d.name),
      )
    : [];
  const seenNumbers = new Map<number, string>();
  for (const name of names) {
    const number = Number.parseInt(name.slice(0, 2), 10);
    const dir = `phases/${name}`;
    const previous = seenNumbers.get(number);
    if (previous !== undefined) {
      problems.push(`${dir}: phase number ${number} is also used by phases/${previous}`);
      continue;
    }
    seenNumbers.set(number, name);
    if (number < 1) {
      problems.push(`${dir}: phase numbers start at 01`);
      continue;
    }
    const abs = join(root, dir);
    if (!existsSync(join(abs, 'README.md'))) {
      problems.push(`${dir} has no README.md (every phase needs its writeup)`);
    }
    const manifestPath = join(abs, 'phase.json');
    if (!existsSync(manifestPath)) {
      problems.push(`${dir} has no phase.json (title, summary, introduces, changes)`);
      continue;
    }
    const manifest = parseManifest(readFileSync(manifestPath, 'utf8'), `${dir}/phase.json`, problems);
    if (manifest === null) continue;
    phases.push({ number, name, dir, manifest, files: listFiles(abs) });
  }
  const byNumber = new Map<number, CourseMapEntry>();
  for (const plan of PLANNED_PHASES) byNumber.set(plan.number, { ...plan, phase: null });
  for (const phase of phases) {
    byNumber.set(phase.number, { number: phase.number, name: phase.name, title: phase.manifest.title, phase });
  }
  const map = [...byNumber.values()].sort((a, b) => a.number - b.number);
  return { root, phases, map };
}

/** What a repository path is, for mapping: a directory or a file. */
export type RepoPathKind = 'dir' | 'file';

/** True when a repository file is copied verbatim (images, PDFs) rather than rendered. */
export function isAsset(repoPath: string): boolean {
  return ASSET_EXTENSIONS.has(posix.extname(repoPath).toLowerCase());
}

/**
 * Where a repository path is published in the site (see the table in the header).
 * @example sitePathFor('phases/01-log/README.md', 'file') // 'phases/01-log/index.html'
 * @example sitePathFor('phases/01-log/src/log.ts', 'file') // 'phases/01-log/src/log.ts.html'
 */
export function sitePathFor(repoPath: string, kind: RepoPathKind): string {
  const path = repoPath.replace(/\/+$/, '');
  if (kind === 'dir') return path === '' || path === '.' ? 'index.html' : `${path}/index.html`;
  if (path === 'README.md' || path === 'course/introduction.md') return 'index.html';
  const base = posix.basename(path);
  const dir = posix.dirname(path);
  if (base === 'README.md') return dir === '.' ? 'index.html' : `${dir}/index.html`;
  if (base.toLowerCase().endsWith('.md')) return `${path.slice(0, -3)}.html`;
  if (isAsset(path)) return path;
  return `${path}.html`;
}

/** The repository-relative kind of `repoPath`, or null when it does not exist. */
export function repoPathKind(root: string, repoPath: string): RepoPathKind | null {
  try {
    const st = statSync(join(root, repoPath));
    return st.isDirectory() ? 'dir' : st.isFile() ? 'file' : null;
  } catch {
    return null;
  }
}

/** Site path of a phase's writeup, diff page, API index and file listing. */
export function phasePages(phase: Pick<Phase, 'dir'>): { writeup: string; diff: string; api: string; files: string } {
  return {
    writeup: `${phase.dir}/index.html`,
    diff: `${phase.dir}/diff.html`,
    api: `${phase.dir}/api/index.html`,
    files: `${phase.dir}/files.html`,
  };
}
