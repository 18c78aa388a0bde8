/**
 * The check every npm script runs first: are the dependencies installed? The scripts
 * start `node --import ./course/src/preflight.mjs --import tsx …`, and Node loads the
 * `--import`s in order, so this runs before tsx is looked up. Without `npm ci`,
 * `--import tsx` alone dies with ERR_MODULE_NOT_FOUND and a stack trace; this says what
 * to do instead, on one line, and exits 1. `node course/src/preflight.mjs` runs the same
 * check on its own (the `test` and `typecheck` scripts, which start tsc and vitest).
 *
 * Plain JavaScript, no dependencies: tsx is what may be missing. When everything is
 * installed it does nothing, and the script stays one process (`exec node …`), so the
 * signals npm sends still reach the phase.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** The repository root: this file is course/src/preflight.mjs. */
const root = new URL('../../', import.meta.url);

if (!existsSync(new URL('node_modules/tsx/package.json', root))) {
  process.stderr.write(`error: the dependencies are not installed: run \`npm ci\` first (in ${fileURLToPath(root).replace(/\/$/, '')})\n`);
  process.exit(1);
}
