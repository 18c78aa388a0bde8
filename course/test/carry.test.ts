/**
 * Carrying a fix forward, on a throwaway git repository: the fix reaches every
 * later phase whose copy equals the committed (old) version, and stops at the first
 * phase that changed or removed the file, leaving it and everything after untouched.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { tempDir, type TempDir } from '../../shared/src/testing.ts';
import { carry, formatCarry } from '../src/carry.ts';
import { CourseError } from '../src/phases.ts';
import { writeTree } from './fixtures.ts';

let repo: TempDir;

/** Run git in the fixture repo with an identity and no signing, whatever the user's config. */
function git(...args: string[]): string {
  return execFileSync('git', ['-c', 'user.name=course-test', '-c', 'user.email=test@example.invalid', '-c', 'commit.gpgsign=false', ...args], {
    cwd: repo.path,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

const OLD = 'export const x = 1; // bug\n';
const FIXED = 'export const x = 2; // fixed\n';
const read = (rel: string): string => readFileSync(join(repo.path, 'phases', rel), 'utf8');

beforeEach(() => {
  repo = tempDir('course-carry-');
  writeTree(join(repo.path, 'phases'), {
    '01-a/src/x.ts': OLD,
    '02-b/src/x.ts': OLD,
    '03-c/src/x.ts': OLD,
    '04-d/src/x.ts': 'export const x = 1; // bug, and phase 4 changed it\n',
    '05-e/src/x.ts': OLD,
  });
  git('init', '-q');
  git('add', '.');
  git('commit', '-q', '-m', 'fixture');
  writeFileSync(join(repo.path, 'phases/01-a/src/x.ts'), FIXED);
});
afterEach(() => {
  repo.remove();
});

describe('carry', () => {
  it('copies the fix to later identical copies and stops at the first phase that changed the file', () => {
    const result = carry({ repoRoot: repo.path, phase: '1', file: 'src/x.ts' });
    expect(result.steps).toEqual([
      { phase: '02-b', action: 'copied' },
      { phase: '03-c', action: 'copied' },
      { phase: '04-d', action: 'differs' },
    ]);
    expect(read('02-b/src/x.ts')).toBe(FIXED);
    expect(read('03-c/src/x.ts')).toBe(FIXED);
    expect(read('04-d/src/x.ts')).toContain('phase 4 changed it');
    expect(read('05-e/src/x.ts')).toBe(OLD);
    expect(formatCarry(result, 'HEAD', false)).toEqual([
      'copied phases/01-a/src/x.ts -> phases/02-b/src/x.ts',
      'copied phases/01-a/src/x.ts -> phases/03-c/src/x.ts',
      'phases/04-d/src/x.ts differs from the old version (changed deliberately in 04-d): needs a manual merge; later phases not touched',
      'carried src/x.ts to 2 phases',
    ]);
  });

  it('writes nothing on a dry run', () => {
    const result = carry({ repoRoot: repo.path, phase: '01-a', file: 'phases/01-a/src/x.ts', dryRun: true });
    expect(result.steps.filter((s) => s.action === 'copied')).toHaveLength(2);
    expect(read('02-b/src/x.ts')).toBe(OLD);
  });

  it('takes the old version from --from-rev once the fix is committed', () => {
    git('commit', '-q', '-am', 'fix in phase 1');
    const atHead = carry({ repoRoot: repo.path, phase: '1', file: 'src/x.ts' });
    expect(atHead.unchanged).toBe(true);
    expect(formatCarry(atHead, 'HEAD', false)[0]).toMatch(/^nothing to carry/);
    const result = carry({ repoRoot: repo.path, phase: '1', file: 'src/x.ts', fromRev: 'HEAD~1' });
    expect(result.steps.map((s) => s.action)).toEqual(['copied', 'copied', 'differs']);
  });

  it('passes phases that already have the fix and stops where the file was removed', () => {
    writeFileSync(join(repo.path, 'phases/02-b/src/x.ts'), FIXED);
    rmSync(join(repo.path, 'phases/03-c/src/x.ts'));
    const result = carry({ repoRoot: repo.path, phase: '1', file: 'src/x.ts' });
    expect(result.steps).toEqual([
      { phase: '02-b', action: 'already-fixed' },
      { phase: '03-c', action: 'absent' },
    ]);
  });

  it('reports an unknown phase, a missing file, a path outside the phase and an unknown revision as errors', () => {
    expect(() => carry({ repoRoot: repo.path, phase: '9', file: 'src/x.ts' })).toThrow(/^no phase "9"; written: 1-5 \(01-a, 02-b, 03-c, 04-d, 05-e\); planned: 7-8$/);
    expect(() => carry({ repoRoot: repo.path, phase: '1', file: 'src/nope.ts' })).toThrow(/does not exist/);
    expect(() => carry({ repoRoot: repo.path, phase: '1', file: '../02-b/src/x.ts' })).toThrow(CourseError);
    expect(() => carry({ repoRoot: repo.path, phase: '1', file: 'src/x.ts', fromRev: 'no-such-rev' })).toThrow(
      /cannot read the old version of phases\/01-a\/src\/x.ts at no-such-rev from git/,
    );
  });
});
