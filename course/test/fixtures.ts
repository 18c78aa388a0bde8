/**
 * Fixture phase trees for the course tooling tests: a whole `phases/` folder
 * written into a temp dir from a plain object, with helpers for the manifest.
 * Not a test file itself; the course tests import it.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** File path (relative to the phases folder) → contents. */
export type Tree = Record<string, string>;

/** Write every file of `tree` under `root`, creating folders as needed. */
export function writeTree(root: string, tree: Tree): void {
  for (const [rel, content] of Object.entries(tree)) {
    const abs = join(root, rel);
    mkdirSync(dirname(abs), { recursive: true });
    writeFileSync(abs, content);
  }
}

/** The text of a phase.json. */
export function manifest(introduces: string[], changes: string[] = [], extra: Record<string, unknown> = {}): string {
  return JSON.stringify({ title: 'A title', summary: 'A summary.', introduces, changes, ...extra }, null, 2);
}

/** The files every phase must have (README, tsconfig, main), for phase folder `name`. */
export function basics(name: string, main = 'console.log("hello");\n'): Tree {
  return {
    [`${name}/README.md`]: `# ${name}\n`,
    [`${name}/tsconfig.json`]: '{ "extends": "../../tsconfig.json" }\n',
    [`${name}/src/main.ts`]: main,
  };
}

/**
 * A consistent two-phase course: 01-a introduces src/log.ts and the basics;
 * 02-b changes src/log.ts and introduces src/server.ts.
 */
export function twoPhases(): Tree {
  return {
    ...basics('01-a'),
    '01-a/src/log.ts': 'export const log = 1;\n',
    '01-a/phase.json': manifest(['src/log.ts', 'src/main.ts', 'tsconfig.json']),
    ...basics('02-b'),
    '02-b/src/log.ts': 'export const log = 2;\n',
    '02-b/src/server.ts': 'export const server = 1;\n',
    '02-b/phase.json': manifest(['src/server.ts'], ['src/log.ts']),
  };
}
