/**
 * Where things are on disk, for the harness: the repository root, tsx's loader
 * that runs each phase's TypeScript entry point, and the results folders (the
 * default, git-ignored one, and the published one that `--publish` writes).
 */
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** Absolute path of the repository root. */
export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/**
 * tsx's loader, for `node --import <loader> entry.ts`. Brokers are started this way, not
 * through the `tsx` launcher, which runs the program in a child process of its own: a
 * SIGKILL to the launcher would leave the broker running as an orphan.
 */
export const tsxLoaderUrl = pathToFileURL(join(repoRoot, 'node_modules', 'tsx', 'dist', 'loader.mjs')).href;

/**
 * The published results: the SVG charts and JSON runs the writeups quote and the site
 * shows, tracked in git. A run goes here only with `--publish`.
 */
export const resultsDir = join(repoRoot, 'bench', 'results');

/**
 * Where a run's charts and JSON go by default: ignored by git (.gitignore), so a
 * learner's first `npm run bench` does not rewrite the tracked results.
 */
export const localResultsDir = join(repoRoot, 'bench', 'out');

/**
 * File URL of tsx's ESM register API. Worker threads do not inherit the tsx loader of
 * the main thread, so each worker first imports this and calls `register()`.
 */
export function tsxEsmApiUrl(): string {
  const require = createRequire(import.meta.url);
  const pkg = require.resolve('tsx/package.json');
  return pathToFileURL(join(dirname(pkg), 'dist', 'esm', 'api', 'index.mjs')).href;
}
