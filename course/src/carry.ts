/**
 * Carrying a fix forward (`npm run course -- carry <phase> <file>`). Because every
 * phase is a full copy of the one before (course/architecture.md §2), a bug fixed in phase 3 also
 * lives in phases 4–8. A later phase whose copy is byte-identical to the file as it
 * was before the fix (taken from git, `HEAD` unless told otherwise) carries the same
 * code, so the fix is copied there. The first later phase whose copy differs changed
 * the file on purpose: carrying stops there and the fix must be merged by hand,
 * since every phase after it descends from that changed version.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { CourseError, findPhases, resolvePhase } from './phases.ts';

/** What to carry, and from where. */
export interface CarryOptions {
  /** Repository root (holds `phases/` and `.git`). */
  readonly repoRoot: string;
  /** The phase that was fixed: `3`, `03` or `03-topics`. */
  readonly phase: string;
  /** Path of the fixed file relative to the phase folder (`src/log/log.ts`). */
  readonly file: string;
  /** The git revision holding the old version. Default `HEAD`. */
  readonly fromRev?: string;
  /** Report what would be copied without writing anything. */
  readonly dryRun?: boolean;
}

/** What happened at each later phase, in order. */
export type CarryStep =
  | { readonly phase: string; readonly action: 'copied' }
  | { readonly phase: string; readonly action: 'already-fixed' }
  | { readonly phase: string; readonly action: 'differs' }
  | { readonly phase: string; readonly action: 'absent' };

/** The outcome of {@link carry}. */
export interface CarryResult {
  /** The folder name of the fixed phase. */
  readonly source: string;
  /** Normalized relative path of the file. */
  readonly file: string;
  /** True when the file is byte-identical to its old version (nothing to carry). */
  readonly unchanged: boolean;
  /** One step per later phase visited; the last one is where carrying stopped, if it stopped. */
  readonly steps: CarryStep[];
}

/** Normalize a path relative to a phase folder; reject anything that leaves it. */
export function normalizeFilePath(file: string): string {
  const norm = file.replace(/\\/g, '/').replace(/^\.\//, '');
  const segments = norm.split('/');
  if (norm === '' || norm.startsWith('/') || segments.some((s) => s === '' || s === '.' || s === '..')) {
    throw new CourseError(`${JSON.stringify(file)} is not a path inside the phase folder (expected something like src/log/log.ts)`, 2);
  }
  return norm;
}

/**
 * Read a file's bytes at a git revision (`git show REV:path`), run in `repoRoot`.
 * Throws a {@link CourseError} with git's own one-line reason when it cannot.
 */
export function gitShow(repoRoot: string, rev: string, repoPath: string): Buffer {
  try {
    return execFileSync('git', ['show', `${rev}:${repoPath}`], {
      cwd: repoRoot,
      maxBuffer: 256 * 1024 * 1024,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  } catch (err) {
    const stderr = (err as { stderr?: Buffer }).stderr?.toString('utf8').trim().split('\n')[0];
    const reason = stderr !== undefined && stderr !== '' ? stderr : err instanceof Error ? err.message : String(err);
    throw new CourseError(`cannot read the old version of ${repoPath} at ${rev} from git: ${reason}`);
  }
}

/**
 * Copy the fixed file to each later phase whose copy equals its old version,
 * stopping at the first later phase that changed or removed it.
 * @example
 * carry({ repoRoot: '/work/main', phase: '3', file: 'src/log/log.ts' });
 */
export function carry(opts: CarryOptions): CarryResult {
  const phases = findPhases(join(opts.repoRoot, 'phases'));
  const source = resolvePhase(phases, opts.phase);
  // Accept the path as the learner may paste it, `phases/03-topics/src/x.ts`, too.
  const prefix = `phases/${source.name}/`;
  const file = normalizeFilePath(opts.file.startsWith(prefix) ? opts.file.slice(prefix.length) : opts.file);
  const fixedPath = join(source.path, file);
  if (!existsSync(fixedPath)) throw new CourseError(`phases/${source.name}/${file} does not exist`, 2);
  const fixed = readFileSync(fixedPath);
  const repoPath = relative(opts.repoRoot, fixedPath).split('\\').join('/');
  const old = gitShow(opts.repoRoot, opts.fromRev ?? 'HEAD', repoPath);
  if (old.equals(fixed)) return { source: source.name, file, unchanged: true, steps: [] };

  const steps: CarryStep[] = [];
  for (const later of phases.filter((p) => p.num > source.num)) {
    const target = join(later.path, file);
    if (!existsSync(target)) {
      steps.push({ phase: later.name, action: 'absent' });
      break;
    }
    const copy = readFileSync(target);
    if (copy.equals(fixed)) {
      steps.push({ phase: later.name, action: 'already-fixed' });
    } else if (copy.equals(old)) {
      if (opts.dryRun !== true) writeFileSync(target, fixed);
      steps.push({ phase: later.name, action: 'copied' });
    } else {
      steps.push({ phase: later.name, action: 'differs' });
      break;
    }
  }
  return { source: source.name, file, unchanged: false, steps };
}

/** The lines the CLI prints for a carry result (stdout). */
export function formatCarry(result: CarryResult, fromRev: string, dryRun: boolean): string[] {
  const { source, file } = result;
  if (result.unchanged) {
    return [`nothing to carry: phases/${source}/${file} is identical to its version at ${fromRev} (use --from-rev to name the revision before the fix)`];
  }
  const verb = dryRun ? 'would copy' : 'copied';
  const lines: string[] = [];
  for (const step of result.steps) {
    if (step.action === 'copied') lines.push(`${verb} phases/${source}/${file} -> phases/${step.phase}/${file}`);
    else if (step.action === 'already-fixed') lines.push(`phases/${step.phase}/${file} already has the fix`);
    else if (step.action === 'differs') {
      lines.push(`phases/${step.phase}/${file} differs from the old version (changed deliberately in ${step.phase}): needs a manual merge; later phases not touched`);
    } else {
      lines.push(`phases/${step.phase}/${file} does not exist (removed in ${step.phase}); stopped`);
    }
  }
  const copied = result.steps.filter((s) => s.action === 'copied').length;
  if (result.steps.length === 0) lines.push(`${source} is the last phase; nothing to carry`);
  else lines.push(`${dryRun ? 'would carry' : 'carried'} ${file} to ${copied} phase${copied === 1 ? '' : 's'}`);
  return lines;
}
