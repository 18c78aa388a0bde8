/**
 * `append --fresh`: start a log from offset 0 again, the way the chapters' commands
 * assume on a second run. It removes the directory only if everything in it is what
 * this course's commands write; a directory holding anything else is left alone.
 * Later phases carry this file unchanged (their `append` is this phase's).
 */
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, tempDir, type TempDir } from '../../../shared/src/testing.ts';

/** This phase's CLI, found from this file so a later phase's copy runs its own. */
const MAIN = fileURLToPath(new URL('../src/main.ts', import.meta.url));

describe('append --fresh', () => {
  let tmp: TempDir;
  beforeAll(() => {
    tmp = tempDir('fresh-cli-');
  });
  afterAll(() => tmp.remove());

  it('a second append continues at the next offset; with --fresh it starts again at 0', async () => {
    const dir = join(tmp.path, 'log');
    expect((await runCli(MAIN, ['append', '--dir', dir], { input: 'a\nb\n' })).stdout).toBe('0\n1\n');
    expect((await runCli(MAIN, ['append', '--dir', dir], { input: 'c\n' })).stdout).toBe('2\n');
    const fresh = await runCli(MAIN, ['append', '--dir', dir, '--fresh'], { input: 'd\n' });
    expect([fresh.code, fresh.stdout, fresh.stderr]).toEqual([0, '0\n', '']);
    expect((await runCli(MAIN, ['read', '--dir', dir])).stdout).toBe('0\td\n');
    // On a directory that does not exist yet, --fresh changes nothing: append creates it.
    expect((await runCli(MAIN, ['append', '--dir', join(tmp.path, 'new'), '--fresh'], { input: 'e\n' })).stdout).toBe('0\n');
  });

  it('refuses to remove a directory holding anything this course does not write, and removes nothing', async () => {
    const dir = join(tmp.path, 'mine');
    expect((await runCli(MAIN, ['append', '--dir', dir], { input: 'a\n' })).code).toBe(0);
    writeFileSync(join(dir, 'notes.txt'), 'mine\n');
    mkdirSync(join(dir, 'photos-2024'));
    writeFileSync(join(dir, 'photos-2024', 'cat.jpg'), 'jpeg');
    const refused = await runCli(MAIN, ['append', '--dir', dir, '--fresh'], { input: 'b\n' });
    expect(refused.code).toBe(1);
    expect(refused.stdout).toBe('');
    expect(refused.stderr).toMatch(/^error: --fresh removes only what this course writes, and \S+ is not; remove \S+ yourself, or pick another --dir\n$/);
    expect(readdirSync(dir)).toContain('00000000000000000000.log');
    expect(existsSync(join(dir, 'notes.txt'))).toBe(true);
    expect(existsSync(join(dir, 'photos-2024', 'cat.jpg'))).toBe(true);
    expect((await runCli(MAIN, ['read', '--dir', dir])).stdout).toBe('0\ta\n');
  });
});
