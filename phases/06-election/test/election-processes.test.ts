/**
 * Phase 6 end to end, every part its own OS process over TCP: a `controller` and three
 * `serve --controller` brokers, started the way a learner starts them. Under acks=all
 * load the leader of the partition is killed with SIGKILL, again and again: each time
 * the controller fences it after the session timeout and elects an in-sync follower in
 * a higher leader epoch, the producer carries on against the new leader, and the old
 * leader, restarted, truncates by epoch and rejoins the ISR. At the end every
 * acknowledged record is read back at the offset it was acknowledged at, and no offset
 * was acknowledged twice. Waits are on conditions (Metadata answers), never on time.
 */
import type { ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { waitFor, waitForExit } from '../../../shared/src/testing.ts';
import { cliProcesses } from './cli-processes.ts';
import { Admin } from '../src/client/admin.ts';
import { Consumer } from '../src/client/consumer.ts';
import { Producer } from '../src/client/producer.ts';
import { realSeams } from '../src/seams/real.ts';

const MAIN = fileURLToPath(new URL('../src/main.ts', import.meta.url));
const SESSION_MS = 1000;
const TOPIC = 'events';

const procs = cliProcesses(MAIN);
afterEach(() => procs.cleanup());
const start = procs.start;

describe('controller and brokers as processes', () => {
  it('kill -9 the leader under acks=all load, twice: a new leader in a higher epoch each time, the old one rejoins, no acknowledged record lost, no offset reused', async () => {
    const root = procs.tempDir('election-proc-');
    const logs: string[] = [];
    const controller = await start(['controller', '--dir', `${root.path}/controller`, '--port', '0', '--session-timeout-ms', String(SESSION_MS)], logs);
    const brokers = new Map<number, { child: ChildProcess; port: number }>();
    const startBroker = async (id: number, port = 0): Promise<void> => {
      brokers.set(id, await start(['serve', '--controller', `127.0.0.1:${controller.port}`, '--id', String(id), '--dir', `${root.path}/broker${id}`, '--port', String(port)], logs));
    };
    for (const id of [1, 2, 3]) await startBroker(id);
    const bootstrap = (): { host: string; port: number }[] => [...brokers.values()].filter((b) => b.child.exitCode === null && b.child.signalCode === null).map((b) => ({ host: '127.0.0.1', port: b.port }));

    const admin = new Admin({ ...realSeams(), bootstrapServers: bootstrap(), retries: 20 });
    await admin.connect();
    // Wait until all three brokers are registered and unfenced (a topic needs RF 3 of them).
    await waitFor(async () => {
      try {
        await admin.createTopic({ topic: TOPIC, numPartitions: 1, configEntries: [{ name: 'replication.factor', value: '3' }, { name: 'min.insync.replicas', value: '2' }] });
        return true;
      } catch (err) {
        if (err instanceof Error && /INVALID_REPLICATION_FACTOR|replication factor/.test(err.message)) return false;
        throw err;
      }
    }, 20_000, 200);
    const describe = async (): Promise<{ leaderId: number; leaderEpoch: number; isr: readonly number[] | null }> => {
      const a = new Admin({ ...realSeams(), bootstrapServers: bootstrap(), retries: 0 });
      await a.connect();
      try {
        const [p] = await a.describePartitions(TOPIC);
        if (p === undefined) throw new Error('no partition');
        return p;
      } finally {
        await a.disconnect();
      }
    };

    const producer = new Producer({ ...realSeams(), bootstrapServers: bootstrap(), acks: -1, retries: 1000, retryBackoffMs: 50, deliveryTimeoutMs: 60_000 });
    await producer.connect();
    const acked = new Map<number, string>();
    let failed = 0;
    let sent = 0;
    let stopping = false;
    const lane = async (lane: number): Promise<void> => {
      while (!stopping) {
        const value = `v-${lane}-${sent++}`;
        try {
          const [r] = await producer.send({ topic: TOPIC, messages: [{ value, partition: 0 }] });
          if (r === undefined) throw new Error('no result');
          expect(acked.has(r.offset), `offset ${r.offset} acknowledged twice`).toBe(false);
          acked.set(r.offset, value);
        } catch {
          failed++;
        }
      }
    };
    const lanes = [0, 1, 2, 3].map(lane);
    try {
      const epochs: number[] = [];
      for (let round = 0; round < 2; round++) {
        const before = acked.size;
        await waitFor(() => acked.size >= before + 50, 30_000, 20);
        const { leaderId, leaderEpoch } = await describe();
        epochs.push(leaderEpoch);
        const victim = brokers.get(leaderId);
        if (victim === undefined) throw new Error(`leader ${leaderId} is not one of ours`);
        victim.child.kill('SIGKILL');
        await waitForExit(victim.child);
        // A new leader, in a higher epoch, elected from the ISR; acks resume.
        await waitFor(async () => {
          try {
            const d = await describe();
            return d.leaderId >= 0 && d.leaderId !== leaderId && d.leaderEpoch > leaderEpoch;
          } catch {
            return false;
          }
        }, 20_000, 100);
        const resumed = acked.size;
        await waitFor(() => acked.size >= resumed + 50, 30_000, 20).catch((err: unknown) => {
          throw new Error(`acks did not resume after the election (${acked.size - resumed} since): ${String(err)}\n${logs.join('').split('\n').slice(-80).join('\n')}`);
        });
        // The old leader comes back (same port), truncates by epoch and rejoins the ISR.
        await startBroker(leaderId, victim.port);
        await waitFor(async () => {
          try {
            return ((await describe()).isr?.length ?? 0) === 3;
          } catch {
            return false;
          }
        }, 30_000, 100);
      }
      const last = await describe();
      expect(last.leaderEpoch).toBeGreaterThan(epochs[1] as number);
      expect(epochs[1]).toBeGreaterThan(epochs[0] as number);
    } finally {
      stopping = true;
      await Promise.all(lanes);
      await producer.disconnect();
      await admin.disconnect();
    }

    // A new leader's HW catches up with what its predecessor acknowledged once the ISR has
    // fetched it: wait for that, then every acknowledged record is there, at its offset.
    const maxAcked = Math.max(...acked.keys());
    await waitFor(async () => {
      try {
        const a = new Admin({ ...realSeams(), bootstrapServers: bootstrap(), retries: 0 });
        await a.connect();
        try {
          return ((await a.describePartitions(TOPIC))[0]?.highWatermark ?? -1) > maxAcked;
        } finally {
          await a.disconnect();
        }
      } catch {
        return false;
      }
    }, 20_000, 100);
    const consumer = new Consumer({ ...realSeams(), bootstrapServers: bootstrap(), topic: TOPIC, partition: 0, fromOffset: 0, maxWaitMs: 0, retries: 20 });
    await consumer.connect();
    const read = new Map<number, string>();
    try {
      while (!consumer.caughtUp) for (const r of await consumer.poll()) read.set(r.offset, r.value?.toString() ?? '');
    } finally {
      await consumer.disconnect();
    }
    const missing = [...acked].filter(([offset, value]) => read.get(offset) !== value);
    console.log(`${acked.size} records acknowledged, ${failed} sends failed (not counted), ${read.size} records read back, ${missing.length} acknowledged records missing`);
    expect(acked.size).toBeGreaterThan(200);
    expect(missing, logs.slice(-30).join('')).toEqual([]);
  }, 120_000);
});
