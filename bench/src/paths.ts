/**
 * Where things are on disk, for the harness: the repository root, the tsx binary
 * that runs each phase's TypeScript entry point, and the default results folder.
 */
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** Absolute path of the repository root. */
export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** The tsx launcher in node_modules; it starts node as a child process with its loader. */
export const tsxBin = join(repoRoot, 'node_modules', '.bin', 'tsx');

/** Default folder for SVG charts and JSON results (commit-worthy). */
export const resultsDir = join(repoRoot, 'bench', 'results');

/**
 * File URL of tsx's ESM register API. Worker threads do not inherit the tsx loader of
 * the main thread, so each worker first imports this and calls `register()`.
 */
export function tsxEsmApiUrl(): string {
  const require = createRequire(import.meta.url);
  const pkg = require.resolve('tsx/package.json');
  return pathToFileURL(join(dirname(pkg), 'dist', 'esm', 'api', 'index.mjs')).href;
}
