/**
 * The clients against a cluster (phase 5): three real brokers in one process, over a
 * MemoryTransport and MemoryStorage with the real clock, and topic `t` of three
 * partitions whose leaders are brokers 1, 2 and 3 (replicas rotated). Checks that a
 * client given one bootstrap broker learns every leader from Metadata and sends each
 * partition's requests there on one connection per broker; that a consumer and a group
 * consumer read every partition from its leader; that a leader restart under load is
 * retried without reordering a partition; that a stopped leader makes a produce fail
 * with a typed error within the delivery timeout (leaders are fixed in phase 5: there is
 * no failover to wait for, phase 6 adds it); and what describe-topic and create-topic
 * say about the cluster.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from '../../../shared/src/testing.ts';
import { Admin } from '../src/client/admin.ts';
import type { ServerAddress } from '../src/client/connection.ts';
import { Consumer } from '../src/client/consumer.ts';
import {
  ConnectionClosedError,
  DeliveryTimeoutError,
  NotEnoughReplicasBrokerError,
  PolicyViolationBrokerError,
  brokerErrorFor,
  kafkaErrorName,
  retryAdvice,
} from '../src/client/errors.ts';
import { GroupConsumer } from '../src/client/group-consumer.ts';
import { partitionForKey } from '../src/client/murmur2.ts';
import { Producer } from '../src/client/producer.ts';
import { describeFailure, parseBootstrapServers } from '../src/cli/clients.ts';
import { UsageError } from '../src/cli/options.ts';
import { describeTopicLines } from '../src/cli/topics.ts';
import { decodeBatch } from '../src/log/record-batch.ts';
import { splitBatches } from '../src/protocol/records.ts';
import { type ClusterFile, parseClusterFile } from '../src/replication/cluster-file.ts';
import { Broker } from '../src/server/broker.ts';
import { realClock } from '../src/seams/clock.ts';
import { MemoryStorage } from '../src/seams/memory-storage.ts';
import { MemoryTransport } from '../src/seams/memory-transport.ts';
import { seededRandom } from '../src/seams/random.ts';
import type { Partition } from '../src/topics/partition.ts';

const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const TOPIC = 't';
const PARTITIONS = 3;
/** Partition p is led by broker p + 1; its followers are the next two, rotated. */
const REPLICAS = [
  [1, 2, 3],
  [2, 3, 1],
  [3, 1, 2],
];
const cluster: ClusterFile = parseClusterFile({
  brokers: [1, 2, 3].map((id) => ({ id, host: '127.0.0.1', port: 19190 + id })),
  topics: [{ name: TOPIC, replicas: REPLICAS }],
  minInsyncReplicas: 2,
  replicaLagTimeMaxMs: 600,
});
const address = (id: number): ServerAddress => {
  const b = cluster.brokers.find((x) => x.id === id);
  if (b === undefined) throw new Error(`no broker ${id}`);
  return { host: b.host, port: b.port };
};

/** Three brokers on one memory network, each with its own memory disk; restartable. */
async function startCluster() {
  const network = new MemoryTransport();
  const storages = new Map([1, 2, 3].map((id) => [id, new MemoryStorage()]));
  const brokers = new Map<number, Broker>();
  const logs: string[] = [];
  const start = async (id: number): Promise<void> => {
    const { host, port } = address(id);
    const broker = await Broker.start(
      { dir: `/b${id}`, host, port, cluster: { file: cluster, brokerId: id }, replicaFetchWaitMs: 100, replicaFetchBackoffMs: 50, checkpointIntervalMs: 50 },
      { storage: storages.get(id) as MemoryStorage, clock: realClock, transport: network, random: seededRandom(id), logger: (line) => logs.push(`broker ${id}: ${line}`) },
    );
    brokers.set(id, broker);
  };
  const stop = async (id: number): Promise<void> => {
    const broker = brokers.get(id);
    brokers.delete(id);
    await broker?.close();
  };
  for (const id of [1, 2, 3]) await start(id);
  cleanups.push(async () => {
    for (const id of [...brokers.keys()]) await stop(id);
  });
  /** Broker `id`'s replica of partition `p` of `t`. */
  const replica = (id: number, p: number): Partition => {
    const found = brokers.get(id)?.replication?.hosted.find((x) => x.topic === TOPIC && x.partition === p);
    if (found === undefined) throw new Error(`broker ${id} holds no replica of ${TOPIC}-${p}`);
    return found;
  };
  const seams = { clock: realClock, transport: network };
  return { network, brokers, logs, start, stop, replica, seams };
}

/** Keys that cover every partition: `count` per partition, in a fixed order. */
function keysPerPartition(count: number): string[] {
  const keys: string[] = [];
  const have = new Array<number>(PARTITIONS).fill(0);
  for (let i = 0; keys.length < count * PARTITIONS; i++) {
    const key = `key-${i}`;
    const p = partitionForKey(Buffer.from(key), PARTITIONS);
    if ((have[p] ?? 0) < count) {
      have[p] = (have[p] ?? 0) + 1;
      keys.push(key);
    }
  }
  return keys;
}

/** A partition's records, from a replica's log (its whole log, not only below the HW). */
async function logRecords(partition: Partition): Promise<{ offset: number; key: string; value: string }[]> {
  const out: { offset: number; key: string; value: string }[] = [];
  for (const chunk of await partition.log.read(0, 1 << 22)) {
    for (const batch of splitBatches(chunk)) {
      for (const r of decodeBatch(batch).records) out.push({ offset: r.offset, key: r.key?.toString() ?? '', value: r.value?.toString() ?? '' });
    }
  }
  return out;
}

describe('clients against a three-broker cluster (one process, memory network and disks)', () => {
  it('a producer bootstrapped from broker 2 sends each partition to its leader; followers copy; a consumer and a group consumer read it all', async () => {
    const c = await startCluster();
    const producer = new Producer({ ...c.seams, bootstrapServers: [address(2)], random: seededRandom(1), lingerMs: 2 });
    await producer.connect();
    cleanups.push(() => producer.disconnect());
    const keys = keysPerPartition(10);
    const sent = await Promise.all(keys.map((key, i) => producer.send({ topic: TOPIC, messages: [{ key, value: `v${i}` }] })));
    const landed = sent.map(([r], i) => ({ key: keys[i] as string, value: `v${i}`, partition: r?.partition ?? -1, offset: r?.offset ?? -1 }));
    // Keyed: each record on its key's partition; each partition's offsets 0..9 in send order.
    for (const l of landed) expect(l.partition).toBe(partitionForKey(Buffer.from(l.key), PARTITIONS));
    for (let p = 0; p < PARTITIONS; p++) expect(landed.filter((l) => l.partition === p).map((l) => l.offset)).toEqual([...Array(10).keys()]);
    // One connection per broker, the bootstrap one reused as broker 2's.
    expect(producer.connectionCount).toBe(3);

    for (let p = 0; p < PARTITIONS; p++) {
      const leaderId = REPLICAS[p]?.[0] as number;
      const leader = c.replica(leaderId, p);
      // acks=all answered: the leader's high watermark covers every record it was sent.
      expect([leader.role, leader.logEndOffset, leader.highWatermark]).toEqual(['leader', 10, 10]);
      const expected = landed.filter((l) => l.partition === p).map(({ offset, key, value }) => ({ offset, key, value }));
      expect(await logRecords(leader)).toEqual(expected);
      for (const followerId of (REPLICAS[p] ?? []).slice(1)) {
        const follower = c.replica(followerId, p);
        expect(follower.role).toBe('follower');
        await waitFor(() => follower.logEndOffset === 10 && follower.highWatermark === 10, 5000);
        expect(await logRecords(follower)).toEqual(expected);
      }
    }

    // A consumer bootstrapped from broker 3 reads every partition from its leader.
    const consumer = new Consumer({ ...c.seams, bootstrapServers: [address(3)], topic: TOPIC, maxWaitMs: 0 });
    await consumer.connect();
    cleanups.push(() => consumer.disconnect());
    const consumed: { partition: number; offset: number; key: string; value: string }[] = [];
    while (!consumer.caughtUp) {
      for (const r of await consumer.poll()) consumed.push({ partition: r.partition, offset: r.offset, key: r.key?.toString() ?? '', value: r.value?.toString() ?? '' });
    }
    const byPosition = (a: { partition: number; offset: number }, b: { partition: number; offset: number }) => a.partition - b.partition || a.offset - b.offset;
    expect(consumed.sort(byPosition)).toEqual([...landed].sort(byPosition).map(({ partition, offset, key, value }) => ({ partition, offset, key, value })));
    expect(consumer.connectionCount).toBe(3);

    // A group consumer: coordinated by broker 1 (the cluster file's first), data from each leader.
    const group = new GroupConsumer({ ...c.seams, bootstrapServers: [address(3), address(2)], groupId: 'g', heartbeatIntervalMs: 100, maxWaitMs: 50 });
    await group.connect();
    cleanups.push(() => group.disconnect());
    group.subscribe({ topic: TOPIC });
    const processed = new Set<string>();
    const running = group.run({
      autoCommitIntervalMs: 50,
      eachMessage: ({ partition, message }) => {
        processed.add(`${partition}:${message.offset}`);
        if (processed.size === landed.length) group.stop();
      },
    });
    await running;
    expect([...processed].sort()).toEqual(landed.map((l) => `${l.partition}:${l.offset}`).sort());
  });

  it('a leader restarted under load: sends are retried and land once the leader is back, in send order per partition', async () => {
    const c = await startCluster();
    // Small batches, five in flight: a restart cuts several batches of the partition at once.
    // acks=1: what is tested is the client's retry path, not how fast the ISR re-forms.
    const producer = new Producer({ ...c.seams, bootstrapServers: [address(1), address(3)], random: seededRandom(2), acks: 1, retries: 100, retryBackoffMs: 20, deliveryTimeoutMs: 20_000, maxInFlight: 5, batchBytesMax: 64 });
    await producer.connect();
    cleanups.push(() => producer.disconnect());
    const sends: Promise<unknown>[] = [];
    const acked = new Map<number, number>(); // offset in partition 1 → send number
    let stopped = false;
    const load = (async () => {
      for (let i = 0; !stopped; i++) {
        const sent = producer.send({ topic: TOPIC, messages: [{ value: `s${i}`, partition: 1 }] }).then(([r]) => void acked.set(r?.offset ?? -1, i));
        sends.push(sent);
        if (sends.length % 40 === 0) {
          await sent;
          // The memory network and disks answer in microtasks: let timers (waitFor) run too.
          await new Promise((resolve) => setImmediate(resolve));
        }
      }
    })();
    await waitFor(() => acked.size >= 30, 5000);
    await c.stop(2); // partition 1's leader: in-flight requests are answered or cut
    await c.start(2);
    const before = acked.size;
    await waitFor(() => acked.size >= before + 30, 15_000);
    stopped = true;
    await load;
    await Promise.all(sends); // every send was acknowledged: none ran out of retries
    const stored = await logRecords(c.replica(2, 1));
    // Every acknowledged send is where its answer said.
    for (const [offset, i] of acked) expect(stored[offset]?.value).toBe(`s${i}`);
    // Retries may duplicate (phase 8 makes them idempotent) but never reorder: first
    // appearances follow send order.
    const firsts: number[] = [];
    const seen = new Set<string>();
    for (const r of stored) {
      if (seen.has(r.value)) continue;
      seen.add(r.value);
      firsts.push(Number(r.value.slice(1)));
    }
    expect(firsts).toEqual([...firsts].sort((a, b) => a - b));
    expect(firsts).toEqual([...Array(firsts.length).keys()]);
    expect(producer.requestsRetried).toBeGreaterThan(1); // several of the partition's batches, resent in order
    expect(producer.connectionCount).toBeLessThanOrEqual(3);
  });

  it('with a leader stopped, a produce to its partition fails with a typed error within the delivery timeout; the other partitions carry on', async () => {
    const c = await startCluster();
    const producer = new Producer({ ...c.seams, bootstrapServers: [address(1)], random: seededRandom(3), deliveryTimeoutMs: 5000, retryBackoffMs: 50 });
    await producer.connect();
    cleanups.push(() => producer.disconnect());
    for (let p = 0; p < PARTITIONS; p++) await producer.send({ topic: TOPIC, messages: [{ value: 'before', partition: p }] });

    // Leaders are fixed in phase 5: with broker 3 down, partition 2 has no leader to fail over to.
    await c.stop(3);
    const startedMs = Date.now();
    const refused = await producer.send({ topic: TOPIC, messages: [{ value: 'lost', partition: 2 }] }).then(
      () => null,
      (e: unknown) => e,
    );
    const elapsedMs = Date.now() - startedMs;
    expect(refused).toBeInstanceOf(ConnectionClosedError);
    expect(kafkaErrorName(refused)).toBe('NETWORK_EXCEPTION');
    expect(describeFailure(refused)).toMatch(/^NETWORK_EXCEPTION: cannot connect to broker 3 at 127\.0\.0\.1:19193: connect ECONNREFUSED/);
    // The retry budget (5 retries, 50 ms apart) ran out well before the delivery timeout.
    expect(elapsedMs).toBeLessThan(15_000); // generous: a loaded CI machine; the point is "not the 120 s delivery timeout"
    // Partition 0 (leader 1) keeps taking acks=all once its ISR has shrunk to [1, 2].
    expect(await producer.send({ topic: TOPIC, messages: [{ value: 'after', partition: 0 }] })).toEqual([{ partition: 0, offset: 1 }]);

    // A budget larger than the delivery timeout allows: the delivery timeout ends it, with the last error.
    const patient = new Producer({ ...c.seams, bootstrapServers: [address(2)], random: seededRandom(4), retries: 1_000_000, retryBackoffMs: 20, deliveryTimeoutMs: 700 });
    await patient.connect();
    cleanups.push(() => patient.disconnect());
    const t0 = Date.now();
    await expect(patient.send({ topic: TOPIC, messages: [{ value: 'late', partition: 2 }] })).rejects.toBeInstanceOf(ConnectionClosedError);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(690);
    expect(Date.now() - t0).toBeLessThan(10_000);

    // Both followers of partition 0 down: acks=all is refused (retried, as the ISR might
    // grow back, then given up), acks=1 is still taken by the leader.
    await c.stop(2);
    await waitFor(() => c.replica(1, 0).leaderReplica?.isr.length === 1, 10_000);
    const notEnough = await producer.send({ topic: TOPIC, messages: [{ value: 'refused', partition: 0 }] }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(notEnough).toBeInstanceOf(NotEnoughReplicasBrokerError);
    expect(describeFailure(notEnough)).toMatch(/^NOT_ENOUGH_REPLICAS: t-0: ISR \[1\] is smaller than minInsyncReplicas 2$/);
    const acks1 = new Producer({ ...c.seams, bootstrapServers: [address(1)], random: seededRandom(5), acks: 1 });
    await acks1.connect();
    cleanups.push(() => acks1.disconnect());
    expect(await acks1.send({ topic: TOPIC, messages: [{ value: 'one', partition: 0 }] })).toEqual([{ partition: 0, offset: 2 }]);
  });

  it('a produce in flight when its delivery timeout passes fails then with DeliveryTimeoutError, and disconnect does not wait for its answer', async () => {
    const c = await startCluster();
    // Both followers of partition 1 (brokers 3 and 1) stop fetching: an acks=all produce waits for a HW that does not move
    // until the ISR shrinks (600 ms), past this producer's delivery timeout.
    const producer = new Producer({ ...c.seams, bootstrapServers: [address(2)], random: seededRandom(6), deliveryTimeoutMs: 300, requestTimeoutMs: 10_000 });
    await producer.connect();
    await producer.send({ topic: TOPIC, messages: [{ value: 'warm', partition: 1 }] });
    await c.stop(3);
    const t0 = Date.now();
    const err = await producer.send({ topic: TOPIC, messages: [{ value: 'slow', partition: 1 }] }).then(
      () => null,
      (e: unknown) => e,
    );
    const elapsedMs = Date.now() - t0;
    // The broker was told to answer within the time left, and did so with REQUEST_TIMED_OUT, or the client gave up first.
    expect(describeFailure(err)).toMatch(/^REQUEST_TIMED_OUT: /);
    if (err instanceof DeliveryTimeoutError) expect(err.message).toMatch(/not acknowledged within deliveryTimeoutMs 300/);
    expect(elapsedMs).toBeLessThan(8000);
    await producer.disconnect();
    expect(producer.connectionCount).toBe(0);
  });

  it('describe-topic shows each partition as its leader reports it; create-topic is refused: topics are static', async () => {
    const c = await startCluster();
    const producer = new Producer({ ...c.seams, bootstrapServers: [address(3)], random: seededRandom(7) });
    await producer.connect();
    cleanups.push(() => producer.disconnect());
    for (let p = 0; p < PARTITIONS; p++) await producer.send({ topic: TOPIC, messages: Array.from({ length: p + 1 }, (_, i) => ({ value: `${p}-${i}`, partition: p })) });

    const admin = new Admin({ ...c.seams, bootstrapServers: [address(2)] });
    await admin.connect();
    cleanups.push(() => admin.disconnect());
    expect(describeTopicLines(TOPIC, await admin.describePartitions(TOPIC))).toEqual([
      'Topic: t\tPartition: 0\tLeader: 1\tReplicas: 1,2,3\tIsr: 1,2,3\tHighWatermark: 1\tLogEndOffset: 1',
      'Topic: t\tPartition: 1\tLeader: 2\tReplicas: 2,3,1\tIsr: 2,3,1\tHighWatermark: 2\tLogEndOffset: 2',
      'Topic: t\tPartition: 2\tLeader: 3\tReplicas: 3,1,2\tIsr: 3,1,2\tHighWatermark: 3\tLogEndOffset: 3',
    ]);
    expect(admin.connectionCount).toBe(3);

    const refused = admin.createTopic({ topic: 'fresh', numPartitions: 1 });
    await expect(refused).rejects.toBeInstanceOf(PolicyViolationBrokerError);
    await expect(refused).rejects.toThrow('POLICY_VIOLATION: topics are static in a phase-5 cluster: add the topic to the cluster file and restart the brokers');
    expect((await admin.listTopics()).map((t) => t.topic)).not.toContain('fresh');

    // Broker 3 (partition 2's leader) stopped: its part is unknown, and says why; the other partitions' ISRs shrink.
    await c.stop(3);
    // Each leader shrinks its partition's ISR on its own timer.
    await waitFor(() => c.replica(1, 0).leaderReplica?.isr.length === 2 && c.replica(2, 1).leaderReplica?.isr.length === 2, 10_000);
    const described = await admin.describePartitions(TOPIC);
    expect(describeTopicLines(TOPIC, described)).toEqual([
      'Topic: t\tPartition: 0\tLeader: 1\tReplicas: 1,2,3\tIsr: 1,2\tHighWatermark: 1\tLogEndOffset: 1',
      'Topic: t\tPartition: 1\tLeader: 2\tReplicas: 2,3,1\tIsr: 2,1\tHighWatermark: 2\tLogEndOffset: 2',
      'Topic: t\tPartition: 2\tLeader: 3\tReplicas: 3,1,2\tIsr: -\tHighWatermark: -\tLogEndOffset: -',
    ]);
    expect(described[2]?.error).toBeInstanceOf(ConnectionClosedError);
  });
});

describe('describeTopicLines, --bootstrap-server parsing, retry advice (pure)', () => {
  it('under a controller (phase 6): LeaderEpoch after Leader, and Leader: -1 for an offline partition', () => {
    expect(
      describeTopicLines('orders', [
        { partition: 0, leaderId: 2, leaderEpoch: 3, replicas: [1, 2, 3], isr: [2, 3], highWatermark: 40, logEndOffset: 42, error: null },
        { partition: 1, leaderId: -1, leaderEpoch: 5, replicas: [2, 3, 1], isr: [2], highWatermark: null, logEndOffset: null, error: new Error('no leader') },
      ]),
    ).toEqual([
      'Topic: orders\tPartition: 0\tLeader: 2\tLeaderEpoch: 3\tReplicas: 1,2,3\tIsr: 2,3\tHighWatermark: 40\tLogEndOffset: 42',
      'Topic: orders\tPartition: 1\tLeader: -1\tLeaderEpoch: 5\tReplicas: 2,3,1\tIsr: 2\tHighWatermark: -\tLogEndOffset: -',
    ]);
  });

  it('formats kafka-topics.sh --describe lines, tab-separated, - for what the leader did not say, none for no leader', () => {
    expect(
      describeTopicLines('orders', [
        { partition: 0, leaderId: 1, leaderEpoch: -1, replicas: [1, 2, 3], isr: [1, 2], highWatermark: 40, logEndOffset: 42, error: null },
        { partition: 1, leaderId: 2, leaderEpoch: -1, replicas: [2, 3, 1], isr: null, highWatermark: null, logEndOffset: null, error: new Error('down') },
        { partition: 2, leaderId: -1, leaderEpoch: -1, replicas: [], isr: [], highWatermark: -1, logEndOffset: -1, error: null },
      ]),
    ).toEqual([
      'Topic: orders\tPartition: 0\tLeader: 1\tReplicas: 1,2,3\tIsr: 1,2\tHighWatermark: 40\tLogEndOffset: 42',
      'Topic: orders\tPartition: 1\tLeader: 2\tReplicas: 2,3,1\tIsr: -\tHighWatermark: -\tLogEndOffset: -',
      'Topic: orders\tPartition: 2\tLeader: none\tReplicas: \tIsr: \tHighWatermark: -1\tLogEndOffset: -1',
    ]);
    expect(describeTopicLines('empty', [])).toEqual([]);
  });

  it('parses H:P[,H:P...] and refuses anything else with one line', () => {
    expect(parseBootstrapServers('127.0.0.1:19092')).toEqual([{ host: '127.0.0.1', port: 19092 }]);
    expect(parseBootstrapServers('a:1,b.example:65535,[::1]:9092')).toEqual([
      { host: 'a', port: 1 },
      { host: 'b.example', port: 65535 },
      { host: '::1', port: 9092 },
    ]);
    for (const [text, bad] of [
      ['', ''],
      ['host', 'host'],
      ['host:', 'host:'],
      [':9092', ':9092'],
      ['h:0', 'h:0'],
      ['h:65536', 'h:65536'],
      ['h:12x', 'h:12x'],
      ['h:1,,h:2', ''],
      ['h:1,', ''],
      ['h 1:2', 'h 1:2'],
      ['::1:9092', '::1:9092'],
    ] as const) {
      const err = (() => {
        try {
          parseBootstrapServers(text);
          return null;
        } catch (e) {
          return e;
        }
      })();
      expect(err, text).toBeInstanceOf(UsageError);
      const message = (err as Error).message;
      expect(message.split('\n')).toHaveLength(1);
      expect(message.startsWith(`--bootstrap-server takes H:P[,H:P...] with ports in [1, 65535], got '${bad}'`), message).toBe(true);
    }
  });

  it('retries what a retry can fix, and nothing else', () => {
    const names = (e: unknown) => [kafkaErrorName(e), retryAdvice(e).retriable, retryAdvice(e).refreshMetadata];
    expect(names(new NotEnoughReplicasBrokerError(19, null))).toEqual(['NOT_ENOUGH_REPLICAS', true, false]);
    expect(names(new ConnectionClosedError('gone'))).toEqual(['NETWORK_EXCEPTION', true, true]);
    expect(names(new PolicyViolationBrokerError(44, null))).toEqual(['POLICY_VIOLATION', false, false]);
    // Appended already: a retry would write the batch twice (phase 8 makes that safe).
    expect(names(brokerErrorFor(20, null))).toEqual(['NOT_ENOUGH_REPLICAS_AFTER_APPEND', false, false]);
    expect(names(brokerErrorFor(7, null))).toEqual(['REQUEST_TIMED_OUT', false, false]);
    expect(names(brokerErrorFor(6, null))).toEqual(['NOT_LEADER_OR_FOLLOWER', true, true]);
    expect(names(new DeliveryTimeoutError('x'))).toEqual(['REQUEST_TIMED_OUT', false, false]);
    expect(names(new Error('plain'))).toEqual([null, false, false]);
  });
});
