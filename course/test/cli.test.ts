/**
 * `npm run course`: the check's printed lines and exit codes, `list`, and usage
 * errors (one `error:` line, exit code 2, checked once through a real subprocess).
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runCli, tempDir, type TempDir } from '../../shared/src/testing.ts';
import { listLines, main, runCheck } from '../src/cli.ts';
import { twoPhases, writeTree } from './fixtures.ts';

let dir: TempDir;
beforeEach(() => {
  dir = tempDir('course-cli-');
});
afterEach(() => {
  dir.remove();
});

describe('course check', () => {
  it('prints "N phases OK" and exits 0 on a consistent course', () => {
    writeTree(dir.path, twoPhases());
    const lines: string[] = [];
    expect(runCheck(dir.path, (l) => lines.push(l))).toBe(0);
    expect(lines).toEqual(['course check: 2 phases OK']);
  });

  it('prints one line per problem, then a summary, and exits 1', () => {
    writeTree(dir.path, { ...twoPhases(), '02-b/src/main.ts': 'changed\n', '02-b/src/extra.ts': 'x\n' });
    const lines: string[] = [];
    expect(runCheck(dir.path, (l) => lines.push(l))).toBe(1);
    expect(lines).toEqual([
      'phase 02-b: src/extra.ts is new (not in 01-a) but is not listed in introduces',
      'phase 02-b: src/main.ts differs from 01-a but is not listed in changes',
      'course check: 2 problems in 2 phases',
    ]);
  });
});

describe('course list', () => {
  it('prints each phase with its title and summary', () => {
    writeTree(dir.path, twoPhases());
    expect(listLines(dir.path)).toEqual([
      '01-a               A title',
      '                   A summary.',
      '02-b               A title',
      '                   A summary.',
    ]);
  });
});

describe('usage errors', () => {
  it('rejects unknown commands and wrong argument counts with exit code 2', async () => {
    await expect(main(['frobnicate'])).rejects.toMatchObject({ exitCode: 2 });
    await expect(main(['carry', '1'])).rejects.toMatchObject({ exitCode: 2, message: expect.stringMatching(/carry takes <phase> <file>/) });
    await expect(main(['check', '--bogus'])).rejects.toMatchObject({ exitCode: 2 });
  });

  it('prints one error line without a stack trace (subprocess)', async () => {
    const r = await runCli('course/src/cli.ts', ['frobnicate']);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe('error: unknown command "frobnicate"; commands: check, carry, list, help\n');
  });
});
