/**
 * Phase 3's command line, driven as a learner drives it: `serve` in one process, then
 * `create-topic`, `topics`, `produce` with keys, `consume` of one partition and of all,
 * `demo` (`topics-demo` since phase 4), and `dump` of the data directory once the broker has stopped. Each tsx start
 * costs about a second, so the cases share one broker and run independent commands
 * concurrently.
 */
import type { ChildProcess } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TempDir, runCli, spawnCli, stopProcess, tempDir, waitForExit, waitForLine } from '../../../shared/src/testing.ts';
import { partitionForKey } from '../src/client/murmur2.ts';

/** This phase's CLI, found from this file so a later phase's copy runs its own. */
const MAIN = fileURLToPath(new URL('../src/main.ts', import.meta.url));

describe('phase 3 CLI', () => {
  let tmp: TempDir;
  let dir: string;
  let serve: ChildProcess;
  let port: string;

  beforeAll(async () => {
    tmp = tempDir('topics-cli-');
    dir = join(tmp.path, 'data');
    serve = spawnCli(MAIN, ['serve', '--dir', dir, '--port', '0']);
    const [, listening] = await waitForLine(serve.stdout as NodeJS.ReadableStream, /^listening on 127\.0\.0\.1:(\d+)$/);
    port = listening ?? '';
  });

  afterAll(async () => {
    await stopProcess(serve);
    tmp.remove();
  });

  it('create-topic makes partition directories; bad names and bad options fail in one line and create nothing', async () => {
    const [created, badName, noPartitions, demo] = await Promise.all([
      runCli(MAIN, ['create-topic', '--port', port, '--name', 'orders', '--partitions', '3', '--segment-bytes', '4096', '--retention-bytes=-1']),
      runCli(MAIN, ['create-topic', '--port', port, '--name', '../escape', '--partitions', '1']),
      runCli(MAIN, ['create-topic', '--port', port, '--name', 'x']),
      runCli(MAIN, ['topics-demo']),
    ]);
    expect([created.code, created.stderr]).toEqual([0, 'created topic orders with 3 partitions\n']);
    expect(badName.code).toBe(1);
    expect(badName.stderr).toMatch(/^error: INVALID_TOPIC_EXCEPTION: invalid topic name "\.\.\/escape": may only contain/);
    expect([noPartitions.code, noPartitions.stderr]).toEqual([2, 'error: create-topic needs --partitions <count>\n']);
    expect(readdirSync(dir).sort()).toEqual(['orders-0', 'orders-1', 'orders-2', 'topics.registry']);
    expect(readdirSync(tmp.path)).toEqual(['data']);

    expect([demo.code, demo.stderr]).toEqual([0, '']);
    expect(demo.stdout).toMatch(/"\.\.\/etc" +→ INVALID_TOPIC_EXCEPTION/);
    expect(demo.stdout).toMatch(/alice +murmur2 +-?\d+ → partition \d; its 3 records at/);
    expect(demo.stdout).toMatch(/send 0: 4 records → one batch on partition \d/);
    expect(demo.stdout).toMatch(/topic orders: 3 partitions\nDone: the broker closed cleanly\./);
  });

  it('serve takes the topic limits as options: a bad one is a usage error, a set one is enforced with a one-line error', async () => {
    const limited = join(tmp.path, 'limited');
    const never = join(tmp.path, 'never');
    const [bad, overDefault, badTopics, badItems, badResponse] = await Promise.all([
      runCli(MAIN, ['serve', '--dir', never, '--port', '0', '--topics-max', '0']),
      runCli(MAIN, ['create-topic', '--port', port, '--name', 'wide', '--partitions', '1001']),
      runCli(MAIN, ['serve', '--dir', never, '--port', '0', '--request-topics-max', '0']),
      runCli(MAIN, ['serve', '--dir', never, '--port', '0', '--request-items-max', 'many']),
      runCli(MAIN, ['serve', '--dir', never, '--port', '0', '--response-bytes-max', '9437474']),
    ]);
    expect([bad.code, bad.stderr]).toEqual([2, 'error: topicLimits.topicsMax must be an integer >= 1, got 0\n']);
    expect([badTopics.code, badTopics.stderr]).toEqual([2, 'error: requestTopicsMax must be an integer >= 1, got 0\n']);
    expect([badItems.code, badItems.stderr]).toEqual([2, "error: --request-items-max must be an integer >= 0, got 'many'\n"]);
    // One byte under fetchBytesMax + batchBytesMax + 291 (8,388,608 + 1,048,576 + 291 = 9,437,475).
    expect([badResponse.code, badResponse.stderr]).toEqual([2, 'error: responseBytesMax (9437474) must be at least fetchBytesMax + log.batchBytesMax + 291 (8388608 + 1048576 + 291)\n']);
    expect([overDefault.code, overDefault.stderr]).toEqual([1, 'error: INVALID_PARTITIONS: partitions must be an integer in [1, 1000], got 1001\n']);
    const small = spawnCli(MAIN, ['serve', '--dir', limited, '--port', '0', '--topics-max', '1', '--partitions-per-topic-max', '2', '--request-topics-max', '1', '--request-items-max', '3', '--response-bytes-max', '9437475']);
    try {
      const [, smallPort = ''] = await waitForLine(small.stdout as NodeJS.ReadableStream, /^listening on 127\.0\.0\.1:(\d+)$/);
      const tooWide = await runCli(MAIN, ['create-topic', '--port', smallPort, '--name', 'a', '--partitions', '3']);
      expect([tooWide.code, tooWide.stderr]).toEqual([1, 'error: INVALID_PARTITIONS: partitions must be an integer in [1, 2], got 3\n']);
      expect((await runCli(MAIN, ['create-topic', '--port', smallPort, '--name', 'a', '--partitions', '2'])).code).toBe(0);
      const second = await runCli(MAIN, ['create-topic', '--port', smallPort, '--name', 'b', '--partitions', '1']);
      expect([second.code, second.stderr]).toEqual([1, 'error: POLICY_VIOLATION: the broker already holds topicsMax=1 topics\n']);
      expect(readdirSync(limited).sort()).toEqual(['a-0', 'a-1', 'topics.registry']);
    } finally {
      await stopProcess(small);
    }
    expect(readdirSync(tmp.path).sort()).toEqual(['data', 'limited']);
  });

  it('topics lists them; produce routes by key and prints <partition>\\t<offset>; consume reads all or one partition', async () => {
    const keys = ['alice', 'bob', 'carol', 'alice', 'dave', 'bob', 'alice'];
    const input = keys.map((k, i) => `${k}:event-${i}`).join('\n');
    const [topics, produced] = await Promise.all([
      runCli(MAIN, ['topics', '--port', port]),
      runCli(MAIN, ['produce', '--port', port, '--topic', 'orders', '--key-separator', ':'], { input: `${input}\n` }),
    ]);
    expect([topics.code, topics.stdout]).toEqual([0, 'orders\t3\tsegment.bytes=4096,retention.bytes=-1\n']);
    expect(produced.code).toBe(0);
    const lines = produced.stdout.trimEnd().split('\n').map((l) => l.split('\t').map(Number));
    expect(lines.map(([p]) => p)).toEqual(keys.map((k) => partitionForKey(Buffer.from(k), 3)));
    // Offsets count up per partition, independently.
    const next = new Map<number, number>();
    for (const [p = -1, offset] of lines) {
      expect(offset).toBe(next.get(p) ?? 0);
      next.set(p, (next.get(p) ?? 0) + 1);
    }

    const busiest = lines[0]?.[0] ?? 0;
    const [all, one, fromWithoutPartition, unknown] = await Promise.all([
      runCli(MAIN, ['consume', '--port', port, '--topic', 'orders']),
      runCli(MAIN, ['consume', '--port', port, '--topic', 'orders', '--partition', String(busiest), '--from', '1', '--max', '2']),
      runCli(MAIN, ['consume', '--port', port, '--topic', 'orders', '--from', '1']),
      runCli(MAIN, ['consume', '--port', port, '--topic', 'missing']),
    ]);
    expect(all.code).toBe(0);
    const rows = all.stdout.trimEnd().split('\n').map((l) => l.split('\t'));
    expect(rows).toHaveLength(keys.length);
    for (const [p, offset, key, value] of rows) {
      const i = Number(value?.replace('event-', ''));
      expect([Number(p), Number(offset), key]).toEqual([lines[i]?.[0], lines[i]?.[1], keys[i]]);
    }
    const alice = rows.filter((r) => r[2] === 'alice').map((r) => r[3]);
    expect(alice).toEqual(['event-0', 'event-3', 'event-6']);
    const inBusiest = keys.map((k, i) => [k, i] as const).filter(([, i]) => lines[i]?.[0] === busiest);
    expect(one.stdout).toBe(inBusiest.slice(1, 3).map(([, i], j) => `${j + 1}\tevent-${i}\n`).join(''));
    expect([fromWithoutPartition.code, fromWithoutPartition.stderr]).toEqual([2, 'error: --from needs --partition: offsets are per partition, and orders has 3\n']);
    expect([unknown.code, unknown.stderr]).toEqual([1, 'error: UNKNOWN_TOPIC_OR_PARTITION: topic "missing"\n']);
  });

  it('dump shows the registry and every partition of the data directory after SIGTERM', async () => {
    serve.kill('SIGTERM');
    expect(await waitForExit(serve)).toEqual({ code: 0, signal: null });
    const dump = await runCli(MAIN, ['dump', '--dir', dir]);
    expect(dump.code).toBe(0);
    expect(dump.stdout).toMatch(/^registry topics\.registry {2}\d+ bytes {2}magic: TREG version: 1 crc: (0x[0-9a-f]{8}) computedCrc: \1 isValid: true/);
    expect(dump.stdout).toMatch(/^\| topic orders partitions: 3 segment\.bytes=4096 retention\.bytes=-1$/m);
    for (const p of [0, 1, 2]) expect(dump.stdout).toMatch(new RegExp(`^partition orders-${p}\\n {2}segment 0+\\.log`, 'm'));
    expect(dump.stdout).toMatch(/key: "alice" value: "event-6"/);
  });
});
