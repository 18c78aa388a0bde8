/**
 * `npm run diff <A> <B>`: what phase B adds to phase A, the way a learner reads a
 * chapter. First a stat (each added, removed, changed and renamed file with its +/-
 * line counts), then a unified patch per file. Code comes first (`src/`, then
 * `test/`), the manifest and the writeup last. `npm run diff 4` is short for
 * `npm run diff 3 4`.
 *
 * A file that A has and B does not, paired with a file that B adds with the same or
 * similar content (renames.ts: git's similarity, at least 50%), is a move: it is
 * shown once, as `git diff --no-index -M` shows it (`similarity index N%`,
 * `rename from`, `rename to`, then the edits if any), not as a deletion and an
 * addition.
 *
 * The patch of each file comes from `git diff --no-index` (works outside any
 * repository); where git is not installed, the `diff` npm package produces the same
 * unified format. The stat is counted from the patch either way. Colour is added
 * only when stdout is a terminal and NO_COLOR is unset.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createTwoFilesPatch } from 'diff';
import { CourseError, defaultPhasesDir, findPhases, isMainModule, resolvePhase, runMain, type PhaseDir } from './phases.ts';
import { detectRenames, type RenamePair } from './renames.ts';
import { compareTrees, sortCodeFirst } from './tree.ts';

/** The usage text. */
export const USAGE = 'usage: npm run diff <A> <B> [-- --stat] [--phases-dir DIR] | npm run diff <N>   (A, B = phase numbers; N alone means N-1 N)';

/** What the learner asked to compare. */
export interface DiffArgs {
  /** The older phase as typed. */
  readonly from: string;
  /** The newer phase as typed. */
  readonly to: string;
  /** Print only the stat. */
  readonly statOnly: boolean;
  /** The folder holding the phases (default: the repository's `phases/`). */
  readonly phasesDir: string;
}

/**
 * Parse `npm run diff` arguments. One phase N means "N-1 to N".
 * @example
 * parseDiffArgs(['1', '2']); // { from: '1', to: '2', statOnly: false, phasesDir: '…/phases' }
 */
export function parseDiffArgs(argv: readonly string[]): DiffArgs {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      options: { stat: { type: 'boolean' }, 'phases-dir': { type: 'string' } },
    });
  } catch (err) {
    throw new CourseError(`${err instanceof Error ? err.message : String(err)}; ${USAGE}`, 2);
  }
  const positionals = parsed.positionals;
  const statOnly = parsed.values.stat === true;
  const phasesDir = parsed.values['phases-dir'] ?? defaultPhasesDir;
  const [first, second] = positionals;
  if (first === undefined || positionals.length > 2) throw new CourseError(`expected one or two phases; ${USAGE}`, 2);
  if (second !== undefined) return { from: first, to: second, statOnly, phasesDir };
  if (!/^\d{1,2}$/.test(first)) throw new CourseError(`with one argument, give a phase number; ${USAGE}`, 2);
  const n = Number(first);
  if (n <= 1) throw new CourseError(`phase ${first} has no previous phase to compare with; ${USAGE}`, 2);
  return { from: String(n - 1), to: first, statOnly, phasesDir };
}

/** The difference in one file between two phases. */
export interface FileDiff {
  /** Path relative to the phase folders; for a renamed file, its path in the newer phase. */
  readonly path: string;
  readonly status: 'added' | 'removed' | 'changed' | 'renamed';
  /** For a renamed file, its path in the older phase; absent otherwise. */
  readonly from?: string;
  /** For a renamed file, the `similarity index` git prints (percent, 100 for a move without edits). */
  readonly similarity?: number;
  /** Lines added, or null for a binary file. */
  readonly linesAdded: number | null;
  /** Lines removed, or null for a binary file. */
  readonly linesRemoved: number | null;
  /** Unified patch text, starting with its `diff --git` line and ending in a newline. */
  readonly patch: string;
}

/** True when a `git` executable answers `git --version`. */
export function gitAvailable(): boolean {
  return spawnSync('git', ['--version'], { stdio: 'ignore' }).status === 0;
}

/**
 * The lines git puts after `diff --git` (and any mode lines) for a rename:
 * `similarity index N%`, `rename from OLD`, `rename to NEW`.
 */
function renameHeader(before: string, after: string, similarity: number): string {
  return `similarity index ${similarity}%\nrename from ${before}\nrename to ${after}\n`;
}

/**
 * One file's patch from git; `null` side means /dev/null (added or removed file).
 * With `similarity`, the two paths are a rename and the patch is the one
 * `git diff --no-index -M` prints for the pair: git's patch of the two files with the
 * rename lines inserted after its `diff --git` and mode lines, or those header lines
 * alone when the contents are identical (git prints nothing for identical files).
 */
function gitPatch(phasesDir: string, before: string | null, after: string | null, similarity?: number): string {
  const args = ['-c', 'core.quotepath=off', 'diff', '--no-index', '--no-color', '--no-ext-diff', '--', before ?? '/dev/null', after ?? '/dev/null'];
  const r = spawnSync('git', args, { cwd: phasesDir, maxBuffer: 256 * 1024 * 1024, encoding: 'utf8' });
  // git diff --no-index exits 1 when the files differ, 0 when they are equal.
  if (r.status !== 0 && r.status !== 1) throw new CourseError(`git diff failed: ${(r.stderr || String(r.error ?? '')).trim().split('\n')[0] ?? ''}`);
  if (similarity === undefined || before === null || after === null) return r.stdout;
  const rename = renameHeader(before, after, similarity);
  if (r.stdout === '') return `diff --git a/${before} b/${after}\n${rename}`;
  const lines = r.stdout.split('\n');
  let at = 1;
  while (at < lines.length && /^(old|new) mode /.test(lines[at] ?? '')) at++;
  return [...lines.slice(0, at), rename + lines.slice(at).join('\n')].join('\n');
}

/** One file's patch from the `diff` package, in git's layout (see {@link gitPatch} for `similarity`). */
function packagePatch(phasesDir: string, before: string | null, after: string | null, similarity?: number): string {
  const read = (p: string | null): Buffer => (p === null ? Buffer.alloc(0) : readFileSync(join(phasesDir, p)));
  const oldBuf = read(before);
  const newBuf = read(after);
  const aName = `a/${before ?? after ?? ''}`;
  const bName = `b/${after ?? before ?? ''}`;
  let header = `diff --git ${aName} ${bName}\n`;
  if (before === null) header += 'new file mode 100644\n';
  if (after === null) header += 'deleted file mode 100644\n';
  if (similarity !== undefined && before !== null && after !== null) {
    header += renameHeader(before, after, similarity);
    if (oldBuf.equals(newBuf)) return header;
  }
  if (oldBuf.includes(0) || newBuf.includes(0)) {
    return `${header}Binary files ${before === null ? '/dev/null' : aName} and ${after === null ? '/dev/null' : bName} differ\n`;
  }
  const body = createTwoFilesPatch(before === null ? '/dev/null' : aName, after === null ? '/dev/null' : bName, oldBuf.toString('utf8'), newBuf.toString('utf8'), '', '', { context: 3 });
  // Drop jsdiff's "====" separator line; keep the ---/+++ headers and hunks; drop empty tab suffixes.
  const lines = body.split('\n').filter((l) => !/^=+$/.test(l)).map((l) => (l.startsWith('--- ') || l.startsWith('+++ ') ? l.replace(/\t$/, '') : l));
  return header + lines.join('\n').replace(/\n*$/, '\n');
}

/** Count the added and removed lines in a unified patch (null, null for a binary patch). */
export function countPatchLines(patch: string): { linesAdded: number | null; linesRemoved: number | null } {
  let linesAdded = 0;
  let linesRemoved = 0;
  let inHunk = false;
  for (const line of patch.split('\n')) {
    if (line.startsWith('@@')) inHunk = true;
    else if (line.startsWith('diff --git ')) inHunk = false;
    else if (!inHunk && line.startsWith('Binary files ')) return { linesAdded: null, linesRemoved: null };
    else if (inHunk && line.startsWith('+')) linesAdded++;
    else if (inHunk && line.startsWith('-')) linesRemoved++;
  }
  return { linesAdded, linesRemoved };
}

/**
 * Compute the per-file differences from phase `a` to phase `b`, code first (a
 * renamed file sorts by its new path). Removed and added files that pair up as
 * renames (see renames.ts) are reported once, as `renamed`.
 * `useGit` defaults to whether git is installed.
 */
export function diffPhases(phasesDir: string, a: PhaseDir, b: PhaseDir, useGit: boolean = gitAvailable()): FileDiff[] {
  const cmp = compareTrees(a.path, b.path);
  const renames = detectRenames(
    cmp.removed.map((path) => ({ path, bytes: readFileSync(join(a.path, path)) })),
    cmp.added.map((path) => ({ path, bytes: readFileSync(join(b.path, path)) })),
  );
  const renamedFrom = new Set(renames.map((r) => r.from));
  const renameTo = new Map<string, RenamePair>(renames.map((r) => [r.to, r]));
  const status = new Map<string, FileDiff['status']>();
  for (const f of cmp.added) status.set(f, renameTo.has(f) ? 'renamed' : 'added');
  for (const f of cmp.removed) if (!renamedFrom.has(f)) status.set(f, 'removed');
  for (const f of cmp.changed) status.set(f, 'changed');
  const patchOf = useGit ? gitPatch : packagePatch;
  return sortCodeFirst([...status.keys()]).map((path): FileDiff => {
    const s = status.get(path) ?? 'changed';
    const rename = renameTo.get(path);
    if (s === 'renamed' && rename !== undefined) {
      const patch = patchOf(phasesDir, `${a.name}/${rename.from}`, `${b.name}/${path}`, rename.similarity);
      return { path, status: s, from: rename.from, similarity: rename.similarity, ...countPatchLines(patch), patch };
    }
    const before = s === 'added' ? null : `${a.name}/${path}`;
    const after = s === 'removed' ? null : `${b.name}/${path}`;
    const patch = patchOf(phasesDir, before, after);
    return { path, status: s, ...countPatchLines(patch), patch };
  });
}

/**
 * The stat block: a summary line, then one line per file (`added  src/x.ts  +120`,
 * `renamed  src/clock.ts -> src/seams/clock.ts  +2 -1`). The summary names renames
 * only when there are some, so a diff without moves reads as it always did.
 */
export function formatStat(a: PhaseDir, b: PhaseDir, diffs: readonly FileDiff[]): string {
  const count = (s: FileDiff['status']): number => diffs.filter((d) => d.status === s).length;
  const sum = (pick: (d: FileDiff) => number | null): number => diffs.reduce((n, d) => n + (pick(d) ?? 0), 0);
  const renamed = count('renamed');
  const counts = `${count('added')} added, ${count('changed')} changed, ${count('removed')} removed${renamed > 0 ? `, ${renamed} renamed` : ''}`;
  const lines = [`${a.name} -> ${b.name}: ${counts} (+${sum((d) => d.linesAdded)} -${sum((d) => d.linesRemoved)} lines)`];
  const name = (d: FileDiff): string => (d.status === 'renamed' && d.from !== undefined ? `${d.from} -> ${d.path}` : d.path);
  const width = Math.max(0, ...diffs.map((d) => name(d).length));
  for (const d of diffs) {
    const lineCounts = d.linesAdded === null ? 'binary' : `+${d.linesAdded} -${d.linesRemoved ?? 0}`;
    lines.push(`  ${d.status.padEnd(8)} ${name(d).padEnd(width)}  ${lineCounts}`);
  }
  return `${lines.join('\n')}\n`;
}

/** Add terminal colours to a unified patch (headers, rename lines included, bold; hunks cyan, +green, -red). */
export function colorize(patch: string): string {
  return patch
    .split('\n')
    .map((l) => {
      if (/^(diff --git|index |new file|deleted file|old mode|new mode|similarity index|rename from|rename to|--- |\+\+\+ )/.test(l)) return `\x1b[1m${l}\x1b[0m`;
      if (l.startsWith('@@')) return `\x1b[36m${l}\x1b[0m`;
      if (l.startsWith('+')) return `\x1b[32m${l}\x1b[0m`;
      if (l.startsWith('-')) return `\x1b[31m${l}\x1b[0m`;
      return l;
    })
    .join('\n');
}

/** The CLI: parse, diff, print the stat then the patches; returns the exit code. */
export async function main(argv: readonly string[]): Promise<number> {
  const args = parseDiffArgs(argv);
  const phases = findPhases(args.phasesDir);
  // The newer phase first: for `npm run diff 9` the message is about phase 9 (not a
  // phase) rather than phase 8 (planned), and `npm run diff 5` says phase 5 is planned.
  const b = resolvePhase(phases, args.to);
  const a = resolvePhase(phases, args.from);
  const diffs = diffPhases(args.phasesDir, a, b);
  // `npm run diff 1 2 | head` closes the pipe early; that is not an error.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(0);
    throw err;
  });
  const color = process.stdout.isTTY === true && (process.env.NO_COLOR ?? '') === '';
  process.stdout.write(formatStat(a, b, diffs));
  if (!args.statOnly && diffs.length > 0) {
    const patch = diffs.map((d) => d.patch).join('');
    process.stdout.write(`\n${color ? colorize(patch) : patch}`);
  }
  return 0;
}

if (isMainModule(import.meta.url)) runMain(() => main(process.argv.slice(2)));
