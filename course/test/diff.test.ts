/**
 * The phase diff: argument parsing, the per-file differences from git and from the
 * `diff` package fallback (which must agree), code-first ordering, the stat, and one
 * run of the CLI as a learner types it.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runCli, tempDir, type TempDir } from '../../shared/src/testing.ts';
import { countPatchLines, diffPhases, formatStat, gitAvailable, parseDiffArgs } from '../src/diff.ts';
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

describe('npm run diff (subprocess)', () => {
  const real = findPhases(defaultPhasesDir).map((p) => p.num);
  const haveRealPhases = real.includes(1) && real.includes(2);

  it('prints the stat, then the patch', async () => {
    const args = haveRealPhases ? ['1', '2'] : ['1', '2', '--phases-dir', dir.path];
    const r = await runCli('course/src/diff.ts', args);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const first = r.stdout.split('\n')[0] ?? '';
    expect(first).toMatch(/^01-\S+ -> 02-\S+: \d+ added, \d+ changed, \d+ removed \(\+\d+ -\d+ lines\)$/);
    expect(r.stdout).toMatch(/\n\ndiff --git a\/0[12]-/);
  });
});
