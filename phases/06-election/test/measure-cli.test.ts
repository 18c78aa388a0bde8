/**
 * `measure` (since phase 3): it starts a broker in a process of its own, runs the
 * writeup's experiments against it and removes the broker's data directory. The other
 * CLI tests do not run it.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runCli } from '../../../shared/src/testing.ts';

/** This phase's CLI, found from this file so a later phase's copy runs its own. */
const MAIN = fileURLToPath(new URL('../src/main.ts', import.meta.url));

describe('measure', () => {
  it('starts its own broker process, prints one row per experiment and removes the broker\'s data directory', async () => {
    const r = await runCli(MAIN, ['measure', '--records', '200', '--producers', '2', '--value-bytes', '10']);
    expect(r.code, r.stderr).toBe(0);
    const dir = /^broker at 127\.0\.0\.1:\d+ \(its own process, data in ([^)]+)\); \d+ cores/m.exec(r.stderr)?.[1] ?? '';
    expect(dir).toMatch(/commitlog-measure-/);
    expect(existsSync(dir)).toBe(false);
    expect(r.stderr).toMatch(/^broker stopped cleanly$/m);

    const [header, ...rows] = r.stdout.trimEnd().split('\n');
    expect(header).toMatch(/^experiment +partitions +partitioner +lingerMs +records +requests +records\/request +records\/s +elapsedMs$/);
    const last = rows.pop();
    const cells = rows.map((row) => row.trim().split(/ +/));
    expect(cells.map(([experiment, partitions, partitioner, lingerMs]) => `${experiment} ${partitions} ${partitioner} ${lingerMs}`)).toEqual([
      'keyed 1 murmur2 0',
      'keyed 2 murmur2 0',
      'keyed 4 murmur2 0',
      'keyed 8 murmur2 0',
      'keyless 4 sticky 0',
      'keyless 4 round-robin 0',
      'keyless 4 sticky 5',
      'keyless 4 round-robin 5',
    ]);
    // Every record of every row was acknowledged, in at least one request and at most one per record.
    for (const [, , , , records, requests] of cells) {
      expect(records).toBe('200');
      expect(Number(requests)).toBeGreaterThanOrEqual(1);
      expect(Number(requests)).toBeLessThanOrEqual(200);
    }
    expect(last).toMatch(/^create-topic \(1 partition\): median \d+ ms, max \d+ ms over 20 topics$/);
  });
});
