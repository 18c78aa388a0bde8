/**
 * `--fresh` on a replicated broker's data directory: the files replication adds
 * (phase 5's `replication-offset-checkpoint`, phase 6's `leader-epoch-checkpoint`) are the course's own, so
 * the directory is removed like any other it wrote, while a file of the user's still
 * stops it.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli, tempDir } from '../../../shared/src/testing.ts';

const MAIN = fileURLToPath(new URL('../src/main.ts', import.meta.url));
const tmp = tempDir('fresh-cluster-');
afterAll(() => tmp.remove());

/** A broker directory as a replicated broker leaves it. */
function brokerDir(name: string): string {
  const dir = join(tmp.path, name);
  mkdirSync(join(dir, 't-0'), { recursive: true });
  writeFileSync(join(dir, 'topics.registry'), '');
  writeFileSync(join(dir, 'replication-offset-checkpoint'), '0\n1\nt 0 5\n');
  writeFileSync(join(dir, 't-0', '00000000000000000000.log'), '');
  writeFileSync(join(dir, 't-0', '00000000000000000000.index'), '');
    writeFileSync(join(dir, 't-0', 'leader-epoch-checkpoint'), '0\n1\n0 0\n');
  return dir;
}

describe('--fresh on a replicated broker directory', () => {
  it('removes it: the checkpoints are files this course writes', async () => {
    const dir = brokerDir('b1');
    const r = await runCli(MAIN, ['append', '--dir', dir, '--fresh'], { input: 'x\n' });
    expect([r.code, r.stdout, r.stderr]).toEqual([0, '0\n', '']);
    expect(existsSync(join(dir, 'replication-offset-checkpoint'))).toBe(false);
  });

  it('still refuses when something else is there, and removes nothing', async () => {
    const dir = brokerDir('b2');
    writeFileSync(join(dir, 't-0', 'notes.txt'), 'mine');
    const r = await runCli(MAIN, ['append', '--dir', dir, '--fresh'], { input: 'x\n' });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('notes.txt is not');
    expect(existsSync(join(dir, 'replication-offset-checkpoint'))).toBe(true);
  });
});
