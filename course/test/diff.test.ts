/**
 * The phase diff: argument parsing, the per-file differences from git and from the
 * `diff` package fallback (which must agree), code-first ordering, the stat, files
 * moved between phases (shown as renames the way `git diff --no-index -M` shows
 * them, in both code paths), and one run of the CLI as a learner types it.
 */
import { spawnSync } from 'node:child_process';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runCli, tempDir, type TempDir } from '../../shared/src/testing.ts';
import { colorize, countPatchLines, diffPhases, formatStat, gitAvailable, parseDiffArgs, type FileDiff } from '../src/diff.ts';
import { CourseError, defaultPhasesDir, findPhases } from '../src/phases.ts';
import { basics, writeTree } from './fixtures.ts';

let dir: TempDir;
beforeEach(() => {
  dir = tempDir('course-diff-');
  writeTree(dir.path, {
    ...basics('01-a'),
    '01-a/phase.json': '{}\n',
    '01-a/src/log.ts': 'one\ntwo\nthree\n',
    '01-a/src/old.ts': 'gone\n',
    '01-a/test/log.test.ts': 'test\n',
    ...basics('02-b'),
    '02-b/README.md': '# the second chapter\n',
    '02-b/phase.json': '{ "changed": true }\n',
    '02-b/src/log.ts': 'one\nTWO\nthree\nfour\n',
    '02-b/src/new.ts': 'a\nb\n',
    '02-b/test/log.test.ts': 'test\nmore\n',
    '02-b/data.bin': 'x\u0000y',
  });
});
afterEach(() => {
  dir.remove();
});

describe('parseDiffArgs', () => {
  it('takes two phases, or one phase meaning the one before it', () => {
    expect(parseDiffArgs(['1', '2'])).toEqual({ from: '1', to: '2', statOnly: false, phasesDir: defaultPhasesDir });
    expect(parseDiffArgs(['4'])).toMatchObject({ from: '3', to: '4' });
    expect(parseDiffArgs(['03-topics', '04-groups', '--stat', '--phases-dir', '/x'])).toEqual({
      from: '03-topics',
      to: '04-groups',
      statOnly: true,
      phasesDir: '/x',
    });
  });

  it.each([[[]], [['1']], [['1', '2', '3']], [['1', '2', '--colour']], [['log']]])('rejects %j with a usage error', (argv) => {
    expect(() => parseDiffArgs(argv)).toThrow(CourseError);
  });
});

describe('diffPhases', () => {
  const expected = [
    { path: 'src/log.ts', status: 'changed', linesAdded: 2, linesRemoved: 1 },
    { path: 'src/new.ts', status: 'added', linesAdded: 2, linesRemoved: 0 },
    { path: 'src/old.ts', status: 'removed', linesAdded: 0, linesRemoved: 1 },
    { path: 'test/log.test.ts', status: 'changed', linesAdded: 1, linesRemoved: 0 },
    { path: 'data.bin', status: 'added', linesAdded: null, linesRemoved: null },
    { path: 'phase.json', status: 'changed', linesAdded: 1, linesRemoved: 1 },
    { path: 'README.md', status: 'changed', linesAdded: 1, linesRemoved: 1 },
  ];
  const summary = (useGit: boolean): unknown[] => {
    const [a, b] = findPhases(dir.path);
    if (a === undefined || b === undefined) throw new Error('fixture phases missing');
    return diffPhases(dir.path, a, b, useGit).map(({ path, status, linesAdded, linesRemoved }) => ({ path, status, linesAdded, linesRemoved }));
  };

  it('lists code first, then other files, manifests and the writeup (diff package)', () => {
    expect(summary(false)).toEqual(expected);
  });

  it.skipIf(!gitAvailable())('agrees with git diff --no-index', () => {
    expect(summary(true)).toEqual(expected);
  });

  it('prints a stat with a totals line', () => {
    const [a, b] = findPhases(dir.path);
    if (a === undefined || b === undefined) throw new Error('fixture phases missing');
    const stat = formatStat(a, b, diffPhases(dir.path, a, b, false));
    expect(stat.split('\n').slice(0, 3)).toEqual([
      '01-a -> 02-b: 2 added, 4 changed, 1 removed (+7 -4 lines)',
      '  changed  src/log.ts        +2 -1',
      '  added    src/new.ts        +2 -0',
    ]);
    expect(stat).toContain('  added    data.bin          binary\n');
  });

  it('counts only hunk lines, not the ---/+++ headers', () => {
    const patch = 'diff --git a/x b/x\n--- a/x\n+++ b/x\n@@ -1 +1 @@\n-old\n+new\n\\ No newline at end of file\n';
    expect(countPatchLines(patch)).toEqual({ linesAdded: 1, linesRemoved: 1 });
  });
});

describe('files moved between phases', () => {
  const CLOCK = ['/** The Clock seam. */', 'export interface Clock {', '  now(): number;', '  setTimeout(fn: () => void, ms: number): unknown;', '}', ''].join('\n');
  const RANDOM = Array.from({ length: 8 }, (_, i) => `export const r${i + 1} = ${i + 1};`).join('\n') + '\n';
  let moved: TempDir;
  beforeEach(() => {
    moved = tempDir('course-diff-moved-');
    writeTree(moved.path, {
      ...basics('01-a'),
      '01-a/phase.json': '{}\n',
      '01-a/src/clock.ts': CLOCK,
      '01-a/src/util/random.ts': RANDOM,
      '01-a/src/gone.ts': 'nothing like the others\n',
      ...basics('02-b'),
      '02-b/phase.json': '{}\n',
      // Moved without edits, moved with one line edited, and an unrelated removal and addition.
      '02-b/src/seams/clock.ts': CLOCK,
      '02-b/src/seams/random.ts': RANDOM.replace('r5 = 5', 'r5 = 50'),
      '02-b/src/fresh.ts': 'brand new\n',
    });
  });
  afterEach(() => {
    moved.remove();
  });

  const diffs = (useGit: boolean): FileDiff[] => {
    const [a, b] = findPhases(moved.path);
    if (a === undefined || b === undefined) throw new Error('fixture phases missing');
    return diffPhases(moved.path, a, b, useGit);
  };
  const expected = [
    { path: 'src/fresh.ts', status: 'added', linesAdded: 1, linesRemoved: 0 },
    { path: 'src/gone.ts', status: 'removed', linesAdded: 0, linesRemoved: 1 },
    { path: 'src/seams/clock.ts', status: 'renamed', from: 'src/clock.ts', similarity: 100, linesAdded: 0, linesRemoved: 0 },
    { path: 'src/seams/random.ts', status: 'renamed', from: 'src/util/random.ts', similarity: 86, linesAdded: 1, linesRemoved: 1 },
    { path: 'README.md', status: 'changed', linesAdded: 1, linesRemoved: 1 },
  ];
  const summary = (useGit: boolean): unknown[] => diffs(useGit).map(({ patch: _patch, ...rest }) => rest);
  const EXACT_RENAME = 'diff --git a/01-a/src/clock.ts b/02-b/src/seams/clock.ts\nsimilarity index 100%\nrename from 01-a/src/clock.ts\nrename to 02-b/src/seams/clock.ts\n';
  const HUNK = [
    ' export const r2 = 2;',
    ' export const r3 = 3;',
    ' export const r4 = 4;',
    '-export const r5 = 5;',
    '+export const r5 = 50;',
    ' export const r6 = 6;',
    ' export const r7 = 7;',
    ' export const r8 = 8;',
    '',
  ].join('\n');

  it('pairs a removed and an added file with the same or similar content as one rename (diff package)', () => {
    expect(summary(false)).toEqual(expected);
    const [, , clock, random] = diffs(false);
    expect(clock?.patch).toBe(EXACT_RENAME);
    expect(random?.patch).toBe(
      [
        'diff --git a/01-a/src/util/random.ts b/02-b/src/seams/random.ts',
        'similarity index 86%',
        'rename from 01-a/src/util/random.ts',
        'rename to 02-b/src/seams/random.ts',
        '--- a/01-a/src/util/random.ts',
        '+++ b/02-b/src/seams/random.ts',
        '@@ -2,7 +2,7 @@',
        HUNK,
      ].join('\n'),
    );
  });

  it.skipIf(!gitAvailable())('agrees with git, and each rename patch is the one git diff --no-index -M prints', () => {
    expect(summary(true)).toEqual(expected);
    const [, , clock, random] = diffs(true);
    expect(clock?.patch).toBe(EXACT_RENAME);
    expect(random?.patch).toMatch(/^diff --git a\/01-a\/src\/util\/random\.ts b\/02-b\/src\/seams\/random\.ts\nsimilarity index 86%\nrename from 01-a\/src\/util\/random\.ts\nrename to 02-b\/src\/seams\/random\.ts\nindex [0-9a-f]+\.\.[0-9a-f]+ 100644\n--- a\/01-a\/src\/util\/random\.ts\n\+\+\+ b\/02-b\/src\/seams\/random\.ts\n@@ -2,7 \+2,7 @@ export const r1 = 1;\n/);
    expect(random?.patch.endsWith(HUNK)).toBe(true);
    // git's own rename detection over the two folders prints the same blocks.
    const whole = spawnSync('git', ['-c', 'core.quotepath=off', 'diff', '--no-index', '--no-color', '-M', '--', '01-a', '02-b'], { cwd: moved.path, encoding: 'utf8' }).stdout;
    const blocks = whole.split(/^(?=diff --git )/m);
    expect(blocks).toContain(clock?.patch);
    expect(blocks).toContain(random?.patch);
  });

  it('shows renames in the stat and counts them in the summary line', () => {
    const [a, b] = findPhases(moved.path);
    if (a === undefined || b === undefined) throw new Error('fixture phases missing');
    expect(formatStat(a, b, diffs(false))).toBe(
      [
        '01-a -> 02-b: 1 added, 1 changed, 1 removed, 2 renamed (+3 -3 lines)',
        '  added    src/fresh.ts                               +1 -0',
        '  removed  src/gone.ts                                +0 -1',
        '  renamed  src/clock.ts -> src/seams/clock.ts         +0 -0',
        '  renamed  src/util/random.ts -> src/seams/random.ts  +1 -1',
        '  changed  README.md                                  +1 -1',
        '',
      ].join('\n'),
    );
  });

  it('colours the rename lines like the other header lines', () => {
    expect(colorize(EXACT_RENAME).split('\n').slice(0, 4)).toEqual(EXACT_RENAME.split('\n').slice(0, 4).map((l) => `\x1b[1m${l}\x1b[0m`));
  });

  it('leaves a diff without moves as it was: no renamed entries, no renamed count', () => {
    const [a, b] = findPhases(dir.path);
    if (a === undefined || b === undefined) throw new Error('fixture phases missing');
    const plain = diffPhases(dir.path, a, b, false);
    expect(plain.filter((d) => d.status === 'renamed' || d.from !== undefined || d.similarity !== undefined)).toEqual([]);
    expect(formatStat(a, b, plain)).not.toContain('renamed');
  });
});

describe('npm run diff (subprocess)', () => {
  const real = findPhases(defaultPhasesDir).map((p) => p.num);
  const haveRealPhases = real.includes(1) && real.includes(2);

  it('prints the stat, then the patch', async () => {
    const args = haveRealPhases ? ['1', '2'] : ['1', '2', '--phases-dir', dir.path];
    const r = await runCli('course/src/diff.ts', args);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const first = r.stdout.split('\n')[0] ?? '';
    expect(first).toMatch(/^01-\S+ -> 02-\S+: \d+ added, \d+ changed, \d+ removed(, \d+ renamed)? \(\+\d+ -\d+ lines\)$/);
    expect(r.stdout).toMatch(/\n\ndiff --git a\/0[12]-/);
  });
});
