/**
 * Three real brokers of this phase in one process, over a MemoryTransport and
 * MemoryStorage with the real clock: a topic replicated three ways, produced to with
 * acks=all through the leader. Checks the replication path end to end: the followers'
 * logs hold the leader's batches byte for byte, the high watermark is the minimum over
 * the ISR, a consumer never reads past it, a follower that stops fetching leaves the ISR
 * and acks=all is then refused with NOT_ENOUGH_REPLICAS, and a restarted follower
 * truncates to its checkpointed high watermark and catches up.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from '../../../shared/src/testing.ts';
import { Producer } from '../src/client/producer.ts';
import { Connection } from '../src/client/connection.ts';
import { Fetch } from '../src/protocol/fetch.ts';
import { ErrorCode } from '../src/protocol/errors.ts';
import { Metadata } from '../src/protocol/metadata.ts';
import { Broker } from '../src/server/broker.ts';
import { realClock } from '../src/seams/clock.ts';
import { MemoryStorage } from '../src/seams/memory-storage.ts';
import { MemoryTransport } from '../src/seams/memory-transport.ts';
import { seededRandom } from '../src/seams/random.ts';
import { type ClusterFile, parseClusterFile } from '../src/replication/cluster-file.ts';

const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const TOPIC = 't';
const cluster: ClusterFile = parseClusterFile({
  brokers: [1, 2, 3].map((id) => ({ id, host: '127.0.0.1', port: 19090 + id })),
  topics: [{ name: TOPIC, replicas: [[1, 2, 3]] }],
  minInsyncReplicas: 2,
  replicaLagTimeMaxMs: 600,
});

async function startBroker(id: number, network: MemoryTransport, storage: MemoryStorage, logs: string[]): Promise<Broker> {
  const b = cluster.brokers.find((x) => x.id === id);
  if (b === undefined) throw new Error('no such broker');
  return await Broker.start(
    { dir: `/b${id}`, host: b.host, port: b.port, cluster: { file: cluster, brokerId: id }, replicaFetchWaitMs: 100, checkpointIntervalMs: 50 },
    { storage, clock: realClock, transport: network, random: seededRandom(id), logger: (line) => logs.push(`broker ${id}: ${line}`) },
  );
}

describe('ISR replication across three brokers (in one process, memory network and disks)', () => {
  it('copies batches as stored, moves the HW over the ISR, shrinks it when a follower stops, refuses acks=all below minInsync, and a restarted follower catches up', async () => {
    const network = new MemoryTransport();
    const storages = new Map([1, 2, 3].map((id) => [id, new MemoryStorage()]));
    const logs: string[] = [];
    const brokers = new Map<number, Broker>();
    for (const id of [1, 2, 3]) brokers.set(id, await startBroker(id, network, storages.get(id) as MemoryStorage, logs));
    cleanups.push(async () => {
      for (const b of brokers.values()) await b.close();
    });
    const leaderPort = cluster.brokers[0]?.port ?? 0;
    const producer = new Producer({ port: leaderPort, clock: realClock, transport: network, random: seededRandom(9), acks: -1 });
    await producer.connect();
    cleanups.push(() => producer.disconnect());

    for (let i = 0; i < 20; i++) await producer.send({ topic: TOPIC, messages: [{ value: `v${i}` }, { value: `w${i}` }] });
    const partitionOf = (id: number) => brokers.get(id)?.replication?.hosted[0];
    // acks=all answered: every ISR member holds all 40 records durably, and the HW says so.
    expect(partitionOf(1)?.highWatermark).toBe(40);
    for (const id of [2, 3]) await waitFor(() => partitionOf(id)?.highWatermark === 40, 5000);
    const segmentBytes = async (id: number): Promise<Buffer> => {
      const log = partitionOf(id)?.log;
      if (log === undefined) throw new Error('no log');
      return Buffer.concat(await log.read(0, 1 << 20));
    };
    const leaderBytes = await segmentBytes(1);
    expect(await segmentBytes(2)).toEqual(leaderBytes);
    expect(await segmentBytes(3)).toEqual(leaderBytes);

    // Metadata from the leader names the replicas and the ISR; a follower refuses consumers.
    const conn = await Connection.connect({ port: leaderPort, clock: realClock, transport: network });
    cleanups.push(() => conn.close());
    const md = await conn.request(Metadata, { topics: [TOPIC], allowAutoTopicCreation: false });
    expect(md.topics[0]?.partitions[0]).toMatchObject({ leaderId: 1, replicas: [1, 2, 3], isr: [1, 2, 3], highWatermark: 40, logEndOffset: 40 });
    const followerConn = await Connection.connect({ port: cluster.brokers[1]?.port ?? 0, clock: realClock, transport: network });
    cleanups.push(() => followerConn.close());
    const refused = await followerConn.request(Fetch, { maxWaitMs: 0, maxBytes: 1 << 20, topics: [{ topic: TOPIC, partitions: [{ partition: 0, offset: 0, maxBytes: 1 << 20 }] }] });
    expect(refused.topics[0]?.partitions[0]?.errorCode).toBe(ErrorCode.NOT_LEADER_OR_FOLLOWER);

    // Stop both followers: the ISR shrinks to the leader after replicaLagTimeMaxMs; acks=all is refused.
    for (const id of [2, 3]) {
      await brokers.get(id)?.close();
      brokers.delete(id);
    }
    await waitFor(() => partitionOf(1)?.leaderReplica?.isr.length === 1, 10_000);
    expect(logs.some((l) => /ISR shrinks to \[1\]/.test(l) || /ISR shrinks to \[1,\d\]/.test(l))).toBe(true);
    await expect(producer.send({ topic: TOPIC, messages: [{ value: 'refused' }] })).rejects.toThrow(/ISR \[1\] is smaller than minInsyncReplicas 2/);

    // acks=1 still works, and moves the HW (the leader alone in the ISR).
    const acks1 = new Producer({ port: leaderPort, clock: realClock, transport: network, random: seededRandom(10), acks: 1 });
    await acks1.connect();
    cleanups.push(() => acks1.disconnect());
    await acks1.send({ topic: TOPIC, messages: [{ value: 'one' }] });
    expect(partitionOf(1)?.highWatermark).toBe(41);

    // Restart follower 2 on its disk: it catches up and rejoins the ISR; acks=all works again.
    brokers.set(2, await startBroker(2, network, storages.get(2) as MemoryStorage, logs));
    await waitFor(() => (partitionOf(1)?.leaderReplica?.isr ?? []).includes(2), 10_000);
    await producer.send({ topic: TOPIC, messages: [{ value: 'again' }] });
    expect(partitionOf(1)?.highWatermark).toBe(42);
    await waitFor(() => partitionOf(2)?.logEndOffset === 42, 5000);
    expect(await segmentBytes(2)).toEqual(await segmentBytes(1));
  });
});
