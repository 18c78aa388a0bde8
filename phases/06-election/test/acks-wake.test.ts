/**
 * An acks=all produce is answered by the appends themselves, not by a timer: the leader
 * wakes its followers' parked fetches as soon as the batch is durable, the followers copy
 * it and fetch again, and that fetch moves the high watermark past it. Three real brokers
 * in one process on a ManualClock that this test never advances: if anything on the
 * acks=all path waited for a timeout (a follower's long poll running out, a backoff), the
 * produce would never be answered. (It once was: the leader woke the followers only after
 * the high watermark had passed the batch, so each acks=all produce on an idle partition
 * waited out `replicaFetchWaitMs`.)
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Producer } from '../src/client/producer.ts';
import { parseClusterFile } from '../src/replication/cluster-file.ts';
import { Broker } from '../src/server/broker.ts';
import { ManualClock } from '../src/seams/clock.ts';
import { MemoryStorage } from '../src/seams/memory-storage.ts';
import { MemoryTransport } from '../src/seams/memory-transport.ts';
import { seededRandom } from '../src/seams/random.ts';

const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** Let every promise and memory-network delivery run, without moving the clock. */
async function settle(): Promise<void> {
  for (let i = 0; i < 50; i++) await new Promise((r) => setImmediate(r));
}

describe('acks=all on an idle cluster', () => {
  it('is answered without any timer firing: the append wakes the followers, their next fetch moves the HW', async () => {
    const cluster = parseClusterFile({
      brokers: [1, 2, 3].map((id) => ({ id, host: '127.0.0.1', port: 19_190 + id })),
      topics: [{ name: 't', replicas: [[1, 2, 3]] }],
      minInsyncReplicas: 3,
      replicaLagTimeMaxMs: 60_000,
    });
    const network = new MemoryTransport();
    const clock = new ManualClock(1_000_000);
    const brokers: Broker[] = [];
    cleanups.push(async () => {
      for (const b of brokers) await b.close();
    });
    for (const b of cluster.brokers) {
      brokers.push(
        await Broker.start(
          { dir: `/b${b.id}`, host: b.host, port: b.port, cluster: { file: cluster, brokerId: b.id }, replicaFetchWaitMs: 10_000, checkpointIntervalMs: 30_000 },
          { storage: new MemoryStorage(), clock, transport: network, random: seededRandom(b.id), logger: () => {} },
        ),
      );
    }
    const producer = new Producer({ port: 19_191, clock, transport: network, random: seededRandom(9), acks: -1 });
    await producer.connect();
    cleanups.push(() => producer.disconnect());
    // Run first on the way out (cleanups go in reverse): let timers fire so that nothing waits on a clock that stands still.
    cleanups.push(() => clock.advance(130_000));
    await settle(); // the followers' first fetches are now parked at the leader, for 10 s of a clock that stands still
    const startedMs = clock.now();
    for (let i = 0; i < 3; i++) {
      let answer: unknown = null;
      void producer.send({ topic: 't', messages: [{ value: `v${i}` }] }).then((r) => (answer = r), (e: unknown) => (answer = e));
      await settle();
      expect(answer).toEqual([{ partition: 0, offset: i }]);
    }
    expect(clock.now()).toBe(startedMs);
  });
});
