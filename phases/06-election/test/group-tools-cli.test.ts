/**
 * The consumer-group tools (since phase 4) that the other CLI tests do not run: the
 * group `demo`, and `timeline` and `offsets-bench`, checked against what the writeup
 * quotes of them.
 */
import { existsSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runCli, tempDir } from '../../../shared/src/testing.ts';

/** This phase's CLI, found from this file so a later phase's copy runs its own. */
const MAIN = fileURLToPath(new URL('../src/main.ts', import.meta.url));

describe('the consumer-group demo and tools', () => {
  it('demo: members share the partitions cooperatively, a dead one is taken over, offsets survive a restart', async () => {
    const r = await runCli(MAIN, ['demo']);
    expect([r.code, r.stderr]).toEqual([0, '']);
    const dir = /^A broker on 127\.0\.0\.1:\d+, data in (\S+) \(removed at the end\)\.$/m.exec(r.stdout)?.[1] ?? '';
    expect(dir).not.toBe('');
    expect(existsSync(dir)).toBe(false);
    expect(r.stdout).toMatch(/^Topic orders with 6 partitions; group billing; session timeout 1000 ms\.$/m);
    // Cooperative rounds: a newcomer gets nothing until the old owner has given partitions up.
    expect(r.stdout).toMatch(/ alice in generation 1: 0 1 2 3 4 5$/m);
    expect(r.stdout).toMatch(/ bob in generation \d+: \(nothing yet\)$/m);
    expect(r.stdout).toMatch(/ carol in generation \d+: \(nothing yet\)$/m);
    expect(r.stdout).toMatch(/ all 600 processed$/m);
    expect(r.stdout).toMatch(/ carol's partitions \d( \d)* taken over \d+ ms after she died$/m);
    expect(r.stdout).toMatch(/^ +produced 1200, processed 1200 \(none skipped\), processed twice: \d+$/m);
    // describe-group after the survivors left, and again after the broker restarted: the same table, no lag.
    const tables = r.stdout.split(/^ {3}group billing: /m).slice(1).map((t) => (t.split('\n\n')[0] ?? '').trimEnd());
    expect(tables).toHaveLength(2);
    expect(tables[1]).toBe(tables[0]);
    const rows = (tables[0] ?? '').split('\n').slice(2).map((row) => row.trim().split(/ +/));
    expect(rows.map(([topic, partition]) => `${topic}-${partition}`)).toEqual(['orders-0', 'orders-1', 'orders-2', 'orders-3', 'orders-4', 'orders-5']);
    for (const row of rows) expect(row[4], row.join(' ')).toBe('0');
    expect(rows.reduce((n, row) => n + Number(row[2]), 0)).toBe(1200);
  });

  it('timeline prints the writeup\'s eager and cooperative tables; a bad --changes is a usage error', async () => {
    const [r, bad] = await Promise.all([runCli(MAIN, ['timeline']), runCli(MAIN, ['timeline', '--changes', '+a,b'])]);
    expect([r.code, r.stderr]).toEqual([0, '']);
    expect(r.stdout).toBe(
      [
        'eager: 4 generations, 24 partition-pauses in total',
        'gen  change  a              b        c        paused',
        '1    +a      [0 1 2 3 4 5]  -        -        6',
        '2    +b      [0 1 2]        [3 4 5]  -        6',
        '3    +c      [0 1]          [3 4]    [2 5]    6',
        '4    -b      [0 1 3]        -        [2 4 5]  6',
        '',
        'cooperative: 6 generations, 13 partition-pauses in total',
        'gen  change       a              b        c        paused',
        '1    +a           [0 1 2 3 4 5]  -        -        6',
        '2    +b           [0 1 2]        []       -        0',
        '3    (follow-up)  [0 1 2]        [3 4 5]  -        3',
        '4    +c           [0 1]          [3 4]    []       0',
        '5    (follow-up)  [0 1]          [3 4]    [2 5]    2',
        '6    -b           [0 1 3]        -        [2 4 5]  2',
        '',
        '',
      ].join('\n'),
    );
    expect([bad.code, bad.stdout, bad.stderr]).toEqual([2, '', 'error: --changes: bad change "b": use +name or -name\n']);
  });

  it('offsets-bench: with compaction a restart replays a bounded log, without it every commit; temporary files removed', async () => {
    const tmp = tempDir('offsets-bench-cli-');
    try {
      const r = await runCli(MAIN, ['offsets-bench', '--commits', '1200', '--keys', '10'], { env: { TMPDIR: tmp.path } });
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toMatch(/^\d+ cores \(.*\), Node v[\d.]+, temporary directory under /);
      expect(r.stderr.split(', temporary directory under ')[1]).toBe(`${tmp.path}\n`);
      const lines = r.stdout.trimEnd().split('\n');
      expect(lines[0]).toBe('1200 commits of 1 offset(s) over 10 partitions, each fsynced (FsStorage).');
      expect(lines[1]).toMatch(/^compaction defaults: compactRecordsMin=1000, compactRatio=\d+$/);
      const run = (label: string): { compactions: number; replayed: number } => {
        const line = lines.find((l) => l.startsWith(label)) ?? '';
        const m = /commit mean \d+\.\d{3} ms {3}compactions +(\d+) {3}restart replays +(\d+) records in \d+ ms$/.exec(line);
        expect(m, line).not.toBeNull();
        return { compactions: Number(m?.[1]), replayed: Number(m?.[2]) };
      };
      const on = run('compaction on (defaults) ');
      const off = run('compaction off ');
      // The writeup: with compaction a restart replays at most max(1,000, 2 x live keys) records, whatever the history.
      expect(on.compactions).toBeGreaterThanOrEqual(1);
      expect(on.replayed).toBeLessThanOrEqual(1000);
      expect(off).toEqual({ compactions: 0, replayed: 1200 });
      expect(lines.at(-1)).toMatch(/^compacting that 1200-record log down to its 10 live keys \(rewrite, switch CURRENT, delete the old log\) took \d+ ms$/);
      // Its stores lived in the temporary directory and are gone (tsx keeps its cache there too).
      expect(readdirSync(tmp.path).filter((name) => !name.startsWith('tsx-'))).toEqual([]);
    } finally {
      tmp.remove();
    }
  });
});
