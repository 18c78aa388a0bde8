/**
 * Consumer groups as a learner runs them: a broker process, consumer processes started
 * with `consume --group`, one of them killed with SIGKILL. Checks the phase's promises
 * end to end over TCP: the partitions are split, a dead member's partitions are taken
 * over after its session timeout, every produced record is processed at least once and
 * none is skipped, committed offsets survive a broker restart, and `groups` /
 * `describe-group` report it all.
 */
import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { freePort, runCli, spawnCli, stopProcess, tempDir, waitFor, waitForExit, waitForLine, type TempDir } from '../../../shared/src/testing.ts';
import { Producer } from '../src/client/producer.ts';
import { realSeams } from '../src/seams/real.ts';

const MAIN = fileURLToPath(new URL('../src/main.ts', import.meta.url));
const SESSION_MS = 1500;

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A process whose stdout and stderr lines are collected as they arrive. */
function watch(child: ChildProcess): { child: ChildProcess; out: string[]; err: string[] } {
  const w = { child, out: [] as string[], err: [] as string[] };
  const collect = (into: string[]) => {
    let partial = '';
    return (chunk: Buffer) => {
      partial += chunk.toString('utf8');
      const lines = partial.split('\n');
      partial = lines.pop() ?? '';
      into.push(...lines);
    };
  };
  child.stdout?.on('data', collect(w.out));
  child.stderr?.on('data', collect(w.err));
  cleanups.push(() => stopProcess(child));
  return w;
}

/** The partitions a consumer process last said it was assigned. */
function assignment(w: { err: string[] }): string[] {
  for (let i = w.err.length - 1; i >= 0; i--) {
    const m = /assigned (.*)$/.exec(w.err[i] ?? '');
    if (m) return m[1] === '(none)' ? [] : (m[1] ?? '').split(' ');
  }
  return [];
}

async function startBroker(dir: TempDir, port: number, extra: readonly string[] = []): Promise<ChildProcess> {
  const broker = spawnCli(MAIN, ['serve', '--dir', join(dir.path, 'data'), '--port', String(port), ...extra]);
  cleanups.push(() => stopProcess(broker));
  await waitForLine(broker.stdout!, /listening on/, 30_000);
  return broker;
}

describe('consume --group, as processes over TCP', () => {
  it('three consumers share a topic; a SIGKILLed one is replaced; nothing is skipped; offsets survive a restart', async () => {
    const dir = tempDir('groups-cli-');
    cleanups.push(() => dir.remove());
    const port = await freePort();
    let broker = await startBroker(dir, port);
    const created = await runCli(MAIN, ['create-topic', '--port', String(port), '--name', 't', '--partitions', '6']);
    expect(created.code, created.stderr).toBe(0);

    const consume = ['consume', '--port', String(port), '--topic', 't', '--group', 'g', '--session-timeout-ms', String(SESSION_MS)];
    const consumers = [0, 1, 2].map(() => watch(spawnCli(MAIN, consume)));
    await waitFor(() => consumers.every((c) => assignment(c).length === 2), 45_000, 50);

    const producer = new Producer({ ...realSeams(), port });
    await producer.connect();
    cleanups.push(() => producer.disconnect());
    const produced = new Set<string>();
    const produce = async (from: number, count: number): Promise<void> => {
      const messages = Array.from({ length: count }, (_, i) => ({ key: `key-${from + i}`, value: `value-${from + i}` }));
      for (const r of await producer.send({ topic: 't', messages })) produced.add(`${r.partition}\t${r.offset}`);
    };
    const processed = (): Set<string> => new Set(consumers.flatMap((c) => c.out.map((line) => line.split('\t').slice(0, 2).join('\t'))));
    const allProcessed = (): boolean => [...produced].every((k) => processed().has(k));

    await produce(0, 300);
    await waitFor(allProcessed, 20_000, 50);

    // Each member's first stderr line is its own pid, the one the chapter's `kill -9` needs.
    for (const c of consumers) expect(c.err[0]).toBe(`pid ${c.child.pid}`);
    // Kill one consumer the hard way: no LeaveGroup, no last commit.
    const victim = consumers[2]!;
    const orphaned = assignment(victim);
    victim.child.kill('SIGKILL');
    await waitForExit(victim.child);
    await produce(300, 300);
    const survivors = consumers.slice(0, 2);
    await waitFor(() => orphaned.every((p) => survivors.some((c) => assignment(c).includes(p))), 20_000, 50);
    await waitFor(allProcessed, 20_000, 50);
    expect(survivors.flatMap(assignment).sort()).toEqual(['t-0', 't-1', 't-2', 't-3', 't-4', 't-5']);

    // Each process printed `<partition>\t<offset>\t<value>` and the value matches the record.
    for (const c of consumers) for (const line of c.out) expect(line).toMatch(/^\d+\t\d+\tvalue-\d+$/);
    // At least once, none skipped: every produced record is in some process's output.
    expect([...produced].filter((k) => !processed().has(k))).toEqual([]);

    // SIGTERM: each survivor commits, leaves, exits 0.
    for (const c of survivors) {
      c.child.kill('SIGTERM');
      expect((await waitForExit(c.child)).code).toBe(0);
    }
    const groups = await runCli(MAIN, ['groups', '--port', String(port)]);
    expect(groups.stdout).toBe('g\tEmpty\t0\n');
    const describeRows = async (): Promise<string[][]> => {
      const r = await runCli(MAIN, ['describe-group', '--port', String(port), '--group', 'g']);
      expect(r.code, r.stderr).toBe(0);
      return r.stdout.trim().split('\n').slice(2).map((line) => line.split(/\s+/));
    };
    const before = await describeRows();
    expect(before).toHaveLength(6);
    for (const row of before) expect(row[4], `lag of ${row.join(' ')}`).toBe('0'); // CURRENT-OFFSET == LOG-END-OFFSET

    // Restart the broker: the committed offsets come back from __consumer_offsets.
    broker.kill('SIGTERM');
    expect((await waitForExit(broker)).code).toBe(0);
    await producer.disconnect();
    broker = await startBroker(dir, port);
    expect(await describeRows()).toEqual(before);

    // A new member resumes after the committed offsets: it sees only the new record.
    const again = new Producer({ ...realSeams(), port });
    await again.connect();
    cleanups.push(() => again.disconnect());
    const [landed] = await again.send({ topic: 't', messages: [{ key: 'late', value: 'value-late' }] });
    const one = await runCli(MAIN, [...consume, '--max', '1']);
    expect(one.code, one.stderr).toBe(0);
    expect(one.stdout).toBe(`${landed?.partition}\t${landed?.offset}\tvalue-late\n`);
  });

  it('starts a new group at the earliest offset, or with --from-latest only at new records', async () => {
    const dir = tempDir('groups-cli-');
    cleanups.push(() => dir.remove());
    const port = await freePort();
    await startBroker(dir, port);
    const created = await runCli(MAIN, ['create-topic', '--port', String(port), '--name', 'one', '--partitions', '1']);
    expect(created.code, created.stderr).toBe(0);
    const produce = await runCli(MAIN, ['produce', '--port', String(port), '--topic', 'one'], { input: 'a\nb\nc\n' });
    expect(produce.code, produce.stderr).toBe(0);
    const early = await runCli(MAIN, ['consume', '--port', String(port), '--topic', 'one', '--group', 'early', '--max', '2']);
    expect(early.stdout).toBe('0\t0\ta\n0\t1\tb\n');
    const next = await runCli(MAIN, ['consume', '--port', String(port), '--topic', 'one', '--group', 'early', '--max', '1']);
    expect(next.stdout).toBe('0\t2\tc\n');

    const late = watch(spawnCli(MAIN, ['consume', '--port', String(port), '--topic', 'one', '--group', 'late', '--from-latest', '--max', '1']));
    await waitFor(() => assignment(late).length === 1, 30_000, 50);
    const producedLate = await runCli(MAIN, ['produce', '--port', String(port), '--topic', 'one'], { input: 'd\n' });
    expect([producedLate.code, producedLate.stdout]).toEqual([0, '0\t3\n']);
    expect((await waitForExit(late.child)).code).toBe(0);
    expect(late.out).toEqual(['0\t3\td']);

    const bad = await runCli(MAIN, ['describe-group', '--port', String(port), '--group', 'nobody']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/^error: .*GROUP_ID_NOT_FOUND/);

    // Bad input is one line on stderr and exit 1, not a member waiting forever for a
    // topic that does not exist (nor a group created for it).
    const missing = await runCli(MAIN, ['consume', '--port', String(port), '--topic', 'nope', '--group', 'lost', '--max', '1'], { timeoutMs: 20_000 });
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/^error: UNKNOWN_TOPIC_OR_PARTITION[^\n]*\n$/);
    const short = await runCli(MAIN, ['consume', '--port', String(port), '--topic', 'one', '--group', 'early', '--session-timeout-ms', '99', '--max', '1'], { timeoutMs: 20_000 });
    expect(short.code).toBe(1);
    expect(short.stderr).toMatch(/^error: INVALID_SESSION_TIMEOUT[^\n]*\n$/);
    const groups = await runCli(MAIN, ['groups', '--port', String(port)]);
    expect(groups.stdout.split('\n').map((line) => line.split('\t')[0])).not.toContain('lost');
  });
});

describe('serve group limits', () => {
  it('refuses a nonsense group bound at start, and enforces a lowered one over the wire (at and past it)', async () => {
    const dir = tempDir('groups-limits-');
    cleanups.push(() => dir.remove());
    const never = join(dir.path, 'data');
    const [refused, perMember, total] = await Promise.all([
      runCli(MAIN, ['serve', '--dir', never, '--port', '0', '--group-max-size', '0']),
      runCli(MAIN, ['serve', '--dir', never, '--port', '0', '--member-metadata-bytes-max', '0']),
      runCli(MAIN, ['serve', '--dir', never, '--port', '0', '--member-metadata-bytes-max', '100', '--member-metadata-bytes-total-max', '99']),
    ]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toBe('error: groups.membersMax must be an integer >= 1, got 0\n');
    expect([perMember.code, perMember.stderr]).toEqual([2, 'error: groups.memberMetadataBytesMax must be an integer >= 1, got 0\n']);
    expect([total.code, total.stderr]).toEqual([2, 'error: groups.memberMetadataBytesTotalMax must be an integer >= 100, got 99\n']);

    const port = await freePort();
    await startBroker(dir, port, ['--group-min-session-timeout-ms', '1000', '--group-max-session-timeout-ms', '6000']);
    expect((await runCli(MAIN, ['create-topic', '--port', String(port), '--name', 'one', '--partitions', '1'])).code).toBe(0);
    expect((await runCli(MAIN, ['produce', '--port', String(port), '--topic', 'one'], { input: 'a\n' })).code).toBe(0);
    // At the bound: a 6000 ms session is accepted and the record consumed.
    const at = await runCli(MAIN, ['consume', '--port', String(port), '--topic', 'one', '--group', 'at', '--session-timeout-ms', '6000', '--max', '1'], { timeoutMs: 30_000 });
    expect(at.code, at.stderr).toBe(0);
    expect(at.stdout).toBe('0\t0\ta\n');
    // One past it: refused with Kafka's error, one line, exit 1.
    const past = await runCli(MAIN, ['consume', '--port', String(port), '--topic', 'one', '--group', 'past', '--session-timeout-ms', '6001', '--max', '1'], { timeoutMs: 30_000 });
    expect(past.code).toBe(1);
    expect(past.stderr).toMatch(/^error: INVALID_SESSION_TIMEOUT: group past: session timeout 6001 ms must be in \[1000, 6000\] and rebalance timeout \d+ ms in \[1, \d+\] [^\n]*\n$/);
  });
});
