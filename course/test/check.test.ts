/**
 * The course check on fixture phase trees: each rule of the snapshot manifest
 * (unlisted new, changed and removed files; stale listings; required files; folder
 * names) and the seam rule (time and timers only in src/seams/clock.ts, randomness
 * in src/seams/random.ts, files and sockets only under src/seams/, anything in the
 * entry points), plus the table of what the nondeterminism scan reports.
 */
import { rmSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { tempDir, type TempDir } from '../../shared/src/testing.ts';
import { checkCourse, formatProblem } from '../src/check.ts';
import { scanSource } from '../src/determinism.ts';
import { manifest, twoPhases, writeTree, type Tree } from './fixtures.ts';

let dir: TempDir;
beforeEach(() => {
  dir = tempDir('course-check-');
});
afterEach(() => {
  dir.remove();
});

/** Write the tree and return the check's problems as printed lines. */
function problemsOf(tree: Tree): string[] {
  writeTree(dir.path, tree);
  return checkCourse(dir.path).problems.map(formatProblem);
}

describe('snapshot manifest', () => {
  it('accepts a consistent course', () => {
    writeTree(dir.path, twoPhases());
    const result = checkCourse(dir.path);
    expect(result.problems).toEqual([]);
    expect(result.phases.map((p) => p.name)).toEqual(['01-a', '02-b']);
  });

  it('requires phase 1 to introduce every file', () => {
    expect(problemsOf({ ...twoPhases(), '01-a/phase.json': manifest(['src/log.ts', 'src/main.ts']) })).toEqual([
      'phase 01-a: tsconfig.json is not listed in introduces (phase 1 introduces every file)',
    ]);
  });

  it('reports a new file that is not listed in introduces', () => {
    expect(problemsOf({ ...twoPhases(), '02-b/src/extra.ts': 'x\n' })).toEqual([
      'phase 02-b: src/extra.ts is new (not in 01-a) but is not listed in introduces',
    ]);
  });

  it('reports a changed file that is not listed in changes', () => {
    expect(problemsOf({ ...twoPhases(), '02-b/src/main.ts': 'console.log("changed");\n' })).toEqual([
      'phase 02-b: src/main.ts differs from 01-a but is not listed in changes',
    ]);
  });

  it('reports a removed file unless it is listed in removes', () => {
    const tree = twoPhases();
    writeTree(dir.path, tree);
    unlinkSync(join(dir.path, '02-b/src/log.ts'));
    writeTree(dir.path, { '02-b/phase.json': manifest(['src/server.ts']) });
    expect(checkCourse(dir.path).problems.map(formatProblem)).toEqual([
      'phase 02-b: src/log.ts exists in 01-a but not here, and is not listed in removes',
    ]);
    writeTree(dir.path, { '02-b/phase.json': manifest(['src/server.ts'], [], { removes: ['src/log.ts'] }) });
    expect(checkCourse(dir.path).problems).toEqual([]);
  });

  it('reports stale listings: identical, new, missing and not-removed files', () => {
    const stale = manifest(['src/server.ts', 'src/main.ts', 'src/ghost.ts'], ['src/log.ts', 'src/server.ts'], { removes: ['src/log.ts'] });
    expect(problemsOf({ ...twoPhases(), '02-b/phase.json': stale })).toEqual([
      'phase 02-b: src/main.ts is listed in introduces but is identical to 01-a',
      'phase 02-b: src/ghost.ts is listed in introduces but does not exist',
      'phase 02-b: src/server.ts is listed in changes but is new in this phase; list it in introduces',
      'phase 02-b: src/log.ts is listed in removes but differs from 01-a; list it in changes',
    ]);
  });

  it('exempts README.md and phase.json, and ignores build junk', () => {
    expect(
      problemsOf({
        ...twoPhases(),
        '02-b/README.md': '# a different writeup\n',
        '02-b/node_modules/pkg/index.js': 'junk\n',
        '02-b/dist/main.js': 'junk\n',
      }),
    ).toEqual([]);
  });

  it('rejects listing an exempt file, a path that leaves the folder, and a duplicate', () => {
    const bad = manifest(['src/server.ts', 'README.md', '../x.ts', 'src/server.ts'], ['src/log.ts']);
    const lines = problemsOf({ ...twoPhases(), '02-b/phase.json': bad });
    expect(lines).toContain('phase 02-b: phase.json "introduces" lists README.md, which is exempt (every phase has its own); remove it');
    expect(lines).toContain('phase 02-b: phase.json "introduces" has "../x.ts", which is not a plain relative path like "src/log/log.ts"');
    expect(lines).toContain('phase 02-b: phase.json "introduces" lists src/server.ts twice');
  });

  it('requires phase.json with a title and summary, and the required files', () => {
    const tree = twoPhases();
    tree['02-b/phase.json'] = JSON.stringify({ title: '', introduces: ['src/server.ts'], changes: ['src/log.ts'] });
    writeTree(dir.path, tree);
    rmSync(join(dir.path, '01-a/phase.json'));
    rmSync(join(dir.path, '02-b/tsconfig.json'));
    expect(checkCourse(dir.path).problems.map(formatProblem)).toEqual([
      'phase 01-a: phase.json is missing',
      'phase 02-b: tsconfig.json is missing (every phase has one)',
      'phase 02-b: phase.json needs a non-empty "title"',
      'phase 02-b: phase.json needs a non-empty "summary"',
      'phase 02-b: tsconfig.json exists in 01-a but not here, and is not listed in removes',
    ]);
  });

  it('requires NN-name folders numbered from 01 without gaps', () => {
    const tree = twoPhases();
    const renamed: Tree = {};
    for (const [k, v] of Object.entries(tree)) renamed[k.replace(/^02-b/, '03-b')] = v;
    renamed['Notes/x.md'] = 'not a phase\n';
    const lines = problemsOf(renamed);
    expect(lines).toContain('phases: Notes is not a phase folder name (expected NN-name, for example 03-topics)');
    expect(lines).toContain('phases: 03-b is out of sequence: expected phase 02 here (phases are numbered 01, 02, … without gaps or repeats)');
  });

  it('reports an empty phases folder', () => {
    expect(problemsOf({})).toEqual(['phases: no phase folders found']);
  });
});

describe('seam rule', () => {
  const CLOCK_SEAM = 'go through the Clock seam (seams/clock.ts) (course/architecture.md, seams)';
  const RANDOM_SEAM = 'go through the Random seam (seams/random.ts) (course/architecture.md, seams)';
  const IO_SEAM = 'go through the Storage or Transport seam (seams/storage.ts, seams/transport.ts) (course/architecture.md, seams)';

  it('reports direct clock, timer and random use in phase src outside the seams', () => {
    const lines = problemsOf({
      ...twoPhases(),
      '02-b/src/server.ts': 'export const server = 1;\nexport const t = Date.now();\nsetTimeout(() => {}, 1);\nexport const r = Math.random();\n',
    });
    expect(lines).toEqual([
      `phase 02-b: src/server.ts:2 uses Date.now outside seams/clock.ts and the CLI; ${CLOCK_SEAM}`,
      `phase 02-b: src/server.ts:3 uses setTimeout outside seams/clock.ts and the CLI; ${CLOCK_SEAM}`,
      `phase 02-b: src/server.ts:4 uses Math.random outside seams/random.ts, seams/clock.ts and the CLI; ${RANDOM_SEAM}`,
    ]);
  });

  it('allows the seam files under src/seams/ and the entry points, but no timers in random.ts and no seams outside src/seams/', () => {
    const lines = problemsOf({
      ...twoPhases(),
      '02-b/src/main.ts': 'console.log(new Date().toISOString());\n',
      '02-b/src/seams/clock.ts': 'export const now = (): number => Date.now();\nsetInterval(() => {}, 5);\n',
      '02-b/src/seams/random.ts': 'export const r = Math.random();\nsetTimeout(() => {}, 1);\n',
      '02-b/src/cli/produce.ts': 'export const t = performance.now();\n',
      '02-b/src/demos/demo.ts': 'export const r = Math.random();\nsetTimeout(() => {}, 1);\n',
      // The old flat layout is not a seam any more: only the path under src/seams/ counts.
      '02-b/src/clock.ts': 'export const now = (): number => Date.now();\n',
      '02-b/phase.json': manifest(
        ['src/server.ts', 'src/seams/clock.ts', 'src/seams/random.ts', 'src/cli/produce.ts', 'src/demos/demo.ts', 'src/clock.ts'],
        ['src/log.ts', 'src/main.ts'],
      ),
    });
    expect(lines).toEqual([
      `phase 02-b: src/clock.ts:1 uses Date.now outside seams/clock.ts and the CLI; ${CLOCK_SEAM}`,
      `phase 02-b: src/seams/random.ts:2 uses setTimeout outside seams/clock.ts and the CLI; ${CLOCK_SEAM}`,
    ]);
  });

  it("reports a value import from node:fs or node:net outside src/seams/ ('io'), not a type-only one", () => {
    const lines = problemsOf({
      ...twoPhases(),
      '02-b/src/server.ts': [
        "import { createServer } from 'node:net';",
        "import { readFile } from 'node:fs/promises';",
        "import type { Socket } from 'node:net';",
        "import { type Server } from 'node:net';",
        "import { join } from 'node:path';",
        'export const server = 1;',
        '',
      ].join('\n'),
    });
    expect(lines).toEqual([
      `phase 02-b: src/server.ts:1 uses import from 'node:net' outside src/seams/ and the CLI; ${IO_SEAM}`,
      `phase 02-b: src/server.ts:2 uses import from 'node:fs/promises' outside src/seams/ and the CLI; ${IO_SEAM}`,
    ]);
  });

  it('allows node:fs and node:net in src/seams/, src/cli/, src/demos/ and src/main.ts', () => {
    const io = "import { createServer } from 'node:net';\nimport { readFile } from 'node:fs/promises';\nimport * as fs from 'node:fs';\nexport { createServer, readFile, fs };\n";
    const lines = problemsOf({
      ...twoPhases(),
      '02-b/src/main.ts': io,
      '02-b/src/seams/transport.ts': io,
      '02-b/src/seams/storage.ts': io,
      '02-b/src/cli/serve.ts': io,
      '02-b/src/demos/demo.ts': io,
      '02-b/phase.json': manifest(
        ['src/server.ts', 'src/seams/transport.ts', 'src/seams/storage.ts', 'src/cli/serve.ts', 'src/demos/demo.ts'],
        ['src/log.ts', 'src/main.ts'],
      ),
    });
    expect(lines).toEqual([]);
  });
});

describe('scanSource', () => {
  const apis = (text: string): string[] => scanSource('x.ts', text).map((f) => `${f.line}:${f.api}`);

  it.each([
    ['const t = Date.now();', ['1:Date.now']],
    ['const r = Math.random();', ['1:Math.random']],
    ['const t = performance.now();', ['1:performance.now']],
    ['const t = globalThis.Date.now();', ['1:Date.now']],
    ['const d = new Date();', ['1:new Date()']],
    ['const s = Date();', ['1:Date()']],
    ['const t = process.hrtime.bigint();', ['1:process.hrtime']],
    ['setTimeout(f, 1);', ['1:setTimeout']],
    ['globalThis.setInterval(f, 1);', ['1:setInterval']],
    ['const b = crypto.randomUUID();', ['1:crypto.randomUUID']],
    ["import { randomBytes as rb } from 'node:crypto';\nconst b = rb(8);", ['2:rb']],
    ["import * as c from 'node:crypto';\nconst b = c.randomInt(9);", ['2:c.randomInt']],
    ["import { setTimeout as sleep } from 'node:timers/promises';\nawait sleep(5);", ["1:import from 'node:timers/promises'", '2:sleep']],
    ["import { createServer } from 'node:net';", ["1:import from 'node:net'"]],
    ["import * as fs from 'node:fs';", ["1:import from 'node:fs'"]],
    ["import fs from 'fs';", ["1:import from 'fs'"]],
    ["import { readFile } from 'node:fs/promises';", ["1:import from 'node:fs/promises'"]],
    ["import { type Socket, connect } from 'node:net';", ["1:import from 'node:net'"]],
    ["import { createSocket } from 'node:dgram';", ["1:import from 'node:dgram'"]],
    ['const o = { setTimeout };', ['1:setTimeout']],
  ])('reports %s', (text, expected) => {
    expect(apis(text)).toEqual(expected);
  });

  it.each([
    ['// never call Date.now() here; use the clock', 'a comment'],
    ["const msg = 'Math.random() is banned';", 'a string'],
    ['this.clock.setTimeout(f, 5); clock.setInterval(f, 1);', 'a Clock method call'],
    ['interface Clock { setTimeout(fn: () => void, ms: number): number }', 'a method signature'],
    ['class Manual { setTimeout(fn: () => void, ms: number): number { return ms; } }', 'a method declaration'],
    ['type Handle = ReturnType<typeof setTimeout>;', 'a type position'],
    ['const d = new Date(1700000000000).toISOString();', 'formatting a given timestamp'],
    ['const r = random.next(); const n = rng.randomInt(4);', 'a seeded Random seam'],
    ["import { createHash } from 'node:crypto';\ncreateHash('sha256');", 'deterministic crypto'],
    ["import type { Socket } from 'node:net';", 'a type-only import'],
    ["import { type Socket } from 'node:net';", 'an import of types only'],
    ["import type * as fs from 'node:fs';", 'a type-only namespace import'],
    ["import { join } from 'node:path';", 'a module that reaches no file or socket'],
  ])('does not report %s (%s)', (text) => {
    expect(apis(text)).toEqual([]);
  });
});
