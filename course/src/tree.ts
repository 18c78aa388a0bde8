/**
 * Comparing two phase folders file by file. The snapshot rule (course/architecture.md §2) says
 * phase N is a full copy of phase N-1 plus its changes, so the course check, the
 * diff and carry all ask the same question: which files are new, which are gone,
 * and which differ byte for byte. Build junk (node_modules, dist, coverage, editor
 * droppings) is not part of a phase and is skipped. Paths are relative to the phase
 * folder with `/` separators, on every platform.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** Directory names never walked: installed or generated, never part of a lesson. */
export const IGNORED_DIRS: ReadonlySet<string> = new Set(['node_modules', 'dist', 'coverage', '.vitest-cache', '.git']);

/** File names never listed (OS and editor droppings). */
const IGNORED_FILES: ReadonlySet<string> = new Set(['.DS_Store', 'Thumbs.db']);

/** True for build junk matched by the repository's .gitignore (`*.log.tmp`) and editor swap files. */
function isIgnoredFile(name: string): boolean {
  return IGNORED_FILES.has(name) || name.endsWith('.log.tmp') || name.endsWith('.swp') || name.endsWith('~');
}

/**
 * Every file under `dir`, as sorted relative paths with `/` separators, skipping
 * {@link IGNORED_DIRS} and junk files. A missing `dir` yields `[]`.
 * @example
 * listFiles('phases/01-log'); // ['README.md', 'phase.json', 'src/log/log.ts', …]
 */
export function listFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (abs: string, rel: string): void => {
    let entries;
    try {
      entries = readdirSync(abs, { withFileTypes: true });
    } catch {
      return;
    }
    for (const entry of entries) {
      const childRel = rel === '' ? entry.name : `${rel}/${entry.name}`;
      if (entry.isDirectory()) {
        if (!IGNORED_DIRS.has(entry.name)) walk(join(abs, entry.name), childRel);
      } else if (entry.isFile() && !isIgnoredFile(entry.name)) {
        out.push(childRel);
      }
    }
  };
  walk(dir, '');
  return out.sort();
}

/** How the files of `after` relate to those of `before`; every list sorted. */
export interface TreeComparison {
  /** In `after` only. */
  readonly added: string[];
  /** In `before` only. */
  readonly removed: string[];
  /** In both, with different bytes. */
  readonly changed: string[];
  /** In both, byte-identical. */
  readonly same: string[];
}

/**
 * Compare two folders byte for byte.
 * @example
 * const c = compareTrees('phases/01-log', 'phases/02-wire');
 * c.added; // ['src/server.ts', …]
 */
export function compareTrees(before: string, after: string): TreeComparison {
  const beforeFiles = listFiles(before);
  const afterFiles = listFiles(after);
  const beforeSet = new Set(beforeFiles);
  const afterSet = new Set(afterFiles);
  const result: TreeComparison = { added: [], removed: [], changed: [], same: [] };
  for (const file of afterFiles) {
    if (!beforeSet.has(file)) result.added.push(file);
    else if (readFileSync(join(before, file)).equals(readFileSync(join(after, file)))) result.same.push(file);
    else result.changed.push(file);
  }
  for (const file of beforeFiles) if (!afterSet.has(file)) result.removed.push(file);
  return result;
}

/**
 * Sort key that lists code before prose: `src/` first, then `test/`, then other
 * files, then JSON configuration and manifests, then Markdown. Used by the diff so
 * that a learner reads the code of a phase before its writeup and manifest.
 */
export function codeFirstRank(path: string): number {
  if (path.startsWith('src/')) return 0;
  if (path.startsWith('test/')) return 1;
  if (path.endsWith('.md')) return 4;
  if (path.endsWith('.json')) return 3;
  return 2;
}

/** Sort paths code first (see {@link codeFirstRank}), then alphabetically. */
export function sortCodeFirst(paths: readonly string[]): string[] {
  return [...paths].sort((a, b) => codeFirstRank(a) - codeFirstRank(b) || (a < b ? -1 : a > b ? 1 : 0));
}
