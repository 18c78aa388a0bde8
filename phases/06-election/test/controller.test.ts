/**
 * The controller over a MemoryTransport, on MemoryStorage and a ManualClock: brokers are
 * played by plain connections sending the controller's requests, so every lease, epoch
 * and election is driven by the test, to the millisecond. The decisions themselves are
 * table-tested in election.test.ts; this file checks the controller applies them, writes
 * them to its metadata log first, serves that log to brokers, and keeps epochs across a
 * restart.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Connection } from '../src/client/connection.ts';
import { Controller, METADATA_TOPIC } from '../src/controller/controller.ts';
import { decodeMetadataRecord } from '../src/controller/records.ts';
import { MetadataImage } from '../src/controller/image.ts';
import { decodeBatch } from '../src/log/record-batch.ts';
import { AlterPartition } from '../src/protocol/alter-partition.ts';
import { BrokerHeartbeat } from '../src/protocol/broker-heartbeat.ts';
import { BrokerRegistration } from '../src/protocol/broker-registration.ts';
import { CreateTopics } from '../src/protocol/create-topics.ts';
import { ErrorCode } from '../src/protocol/errors.ts';
import { Fetch } from '../src/protocol/fetch.ts';
import { Metadata } from '../src/protocol/metadata.ts';
import { splitBatches } from '../src/protocol/records.ts';
import { ManualClock } from '../src/seams/clock.ts';
import { MemoryStorage } from '../src/seams/memory-storage.ts';
import { MemoryTransport } from '../src/seams/memory-transport.ts';
import { seededRandom } from '../src/seams/random.ts';

const SESSION_MS = 1000;
const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

interface World {
  network: MemoryTransport;
  clock: ManualClock;
  storage: MemoryStorage;
  logs: string[];
}

function world(): World {
  return { network: new MemoryTransport(), clock: new ManualClock(1_000_000), storage: new MemoryStorage(), logs: [] };
}

async function startController(w: World): Promise<Controller> {
  const controller = await Controller.start(
    { dir: '/ctl', port: 0, sessionTimeoutMs: SESSION_MS },
    { storage: w.storage, clock: w.clock, random: seededRandom(7), transport: w.network, logger: (l) => w.logs.push(l) },
  );
  cleanups.push(() => controller.close());
  return controller;
}

async function connect(w: World, controller: Controller): Promise<Connection> {
  const conn = await Connection.connect({ port: controller.port, clock: w.clock, transport: w.network, clientId: 'test-broker' });
  cleanups.push(() => conn.abort());
  return conn;
}

/** Register broker `id` and unfence it with one heartbeat that has read past its registration. */
async function joinBroker(conn: Connection, id: number): Promise<number> {
  const reg = await conn.request(BrokerRegistration, { brokerId: id, host: '127.0.0.1', port: 19_090 + id });
  expect(reg.errorCode, reg.errorMessage ?? '').toBe(ErrorCode.NONE);
  const hb = await conn.request(BrokerHeartbeat, { brokerId: id, brokerEpoch: reg.brokerEpoch, metadataOffset: reg.brokerEpoch + 1 });
  expect(hb).toMatchObject({ errorCode: ErrorCode.NONE, isFenced: false });
  return reg.brokerEpoch;
}

/** Move the manual clock in steps, letting the controller's lease checks and writes run. */
async function advance(w: World, ms: number, stepMs = 50): Promise<void> {
  for (let t = 0; t < ms; t += stepMs) {
    w.clock.advance(Math.min(stepMs, ms - t));
    for (let i = 0; i < 20; i++) await Promise.resolve();
    await new Promise((r) => setImmediate(r));
  }
}

/** The metadata log as a broker reads it: Fetch __cluster_metadata-0 from `offset`, replayed. */
async function readMetadata(conn: Connection, image: MetadataImage): Promise<void> {
  for (;;) {
    const res = await conn.request(Fetch, { replicaId: 1, maxWaitMs: 0, maxBytes: 1 << 20, topics: [{ topic: METADATA_TOPIC, partitions: [{ partition: 0, offset: image.nextOffset, maxBytes: 1 << 20 }] }] });
    const p = res.topics[0]?.partitions[0];
    expect(p?.errorCode).toBe(ErrorCode.NONE);
    const chunk = p?.records[0];
    if (chunk === undefined || chunk.length === 0) return;
    for (const batch of splitBatches(chunk)) for (const r of decodeBatch(batch).records) if (r.offset >= image.nextOffset) image.apply(decodeMetadataRecord(r), r.offset);
  }
}

describe('the controller', () => {
  it('registers brokers with increasing epochs, creates a topic across them, and serves its metadata log to brokers', async () => {
    const w = world();
    const controller = await startController(w);
    const conn = await connect(w, controller);
    const epochs = [];
    for (const id of [1, 2, 3]) epochs.push(await joinBroker(conn, id));
    expect(epochs[0]).toBeLessThan(epochs[1] as number);
    expect(epochs[1]).toBeLessThan(epochs[2] as number);

    const created = await conn.request(CreateTopics, { topics: [{ name: 'orders', numPartitions: 3, configs: [] }] });
    expect(created.topics).toEqual([{ name: 'orders', errorCode: ErrorCode.NONE, errorMessage: null }]);
    const again = await conn.request(CreateTopics, { topics: [{ name: 'orders', numPartitions: 3, configs: [] }] });
    expect(again.topics[0]?.errorCode).toBe(ErrorCode.TOPIC_ALREADY_EXISTS);

    const parts = controller.image.partitionsOf('orders');
    expect(parts).toHaveLength(3);
    for (const p of parts) {
      expect(new Set(p.replicas).size).toBe(3);
      expect(p).toMatchObject({ isr: p.replicas, leader: p.replicas[0], leaderEpoch: 0, partitionEpoch: 0 });
    }
    // Leaders are spread: three partitions, three different first replicas.
    expect(new Set(parts.map((p) => p.leader)).size).toBe(3);

    // A broker's copy of the metadata, replayed from Fetch, equals the controller's.
    const copy = new MetadataImage();
    await readMetadata(conn, copy);
    expect(copy.nextOffset).toBe(controller.image.nextOffset);
    expect(copy.partitionsOf('orders')).toEqual(parts);
    expect([...copy.brokers.values()]).toEqual([...controller.image.brokers.values()]);

    const md = await conn.request(Metadata, { topics: ['orders'], allowAutoTopicCreation: false });
    expect(md.brokers.map((b) => b.nodeId).sort()).toEqual([1, 2, 3]);
    expect(md.topics[0]?.partitions.map((p) => p.leaderId)).toEqual(parts.map((p) => p.leader));
  });

  it('fences a silent broker after the session timeout and elects the first in-sync replica in assignment order', async () => {
    const w = world();
    const controller = await startController(w);
    const conn = await connect(w, controller);
    const epochs = new Map<number, number>();
    for (const id of [1, 2, 3]) epochs.set(id, await joinBroker(conn, id));
    await conn.request(CreateTopics, { topics: [{ name: 't', numPartitions: 1, configs: [] }] });
    const before = controller.image.partition('t', 0);
    if (before === undefined) throw new Error('no partition');
    const leader = before.leader;
    const others = before.replicas.filter((id) => id !== leader);

    // The other two keep heartbeating; the leader goes silent.
    const heartbeat = async (): Promise<void> => {
      for (const id of others) await conn.request(BrokerHeartbeat, { brokerId: id, brokerEpoch: epochs.get(id) as number, metadataOffset: controller.image.nextOffset });
    };
    for (let t = 0; t < SESSION_MS - 100; t += 200) {
      await heartbeat();
      await advance(w, 200);
    }
    expect(controller.image.partition('t', 0)?.leader).toBe(leader); // not yet: within its session
    for (let t = 0; t < 600; t += 200) {
      await heartbeat();
      await advance(w, 200);
    }
    const after = controller.image.partition('t', 0);
    expect(controller.image.brokers.get(leader)?.fenced).toBe(true);
    expect(after).toMatchObject({ leader: others[0], leaderEpoch: before.leaderEpoch + 1, partitionEpoch: before.partitionEpoch + 1, isr: others });
    expect(w.logs.some((l) => l.includes(`broker ${leader}`) && l.includes('fencing'))).toBe(true);

    // The old leader's heartbeat with its old epoch still works (a pause, not a restart); having read the log it is unfenced, but leads nothing.
    const hb = await conn.request(BrokerHeartbeat, { brokerId: leader, brokerEpoch: epochs.get(leader) as number, metadataOffset: controller.image.nextOffset });
    expect(hb).toMatchObject({ errorCode: ErrorCode.NONE, isFenced: false });
    expect(controller.image.partition('t', 0)?.leader).toBe(others[0]);
  });

  it('takes a partition offline when its last in-sync replica is fenced, and back when that broker returns (no unclean election)', async () => {
    const w = world();
    const controller = await startController(w);
    const conn = await connect(w, controller);
    const epochs = new Map<number, number>();
    for (const id of [1, 2]) epochs.set(id, await joinBroker(conn, id));
    await conn.request(CreateTopics, { topics: [{ name: 't', numPartitions: 1, configs: [] }] });
    const p0 = controller.image.partition('t', 0);
    if (p0 === undefined) throw new Error('no partition');
    const [leader, follower] = p0.replicas as [number, number];
    // The leader shrinks the ISR to itself (the follower lagged), through AlterPartition.
    const shrink = await conn.request(AlterPartition, {
      brokerId: leader, brokerEpoch: epochs.get(leader) as number, topic: 't', partition: 0,
      leaderEpoch: p0.leaderEpoch, partitionEpoch: p0.partitionEpoch, newIsr: [{ id: leader, brokerEpoch: epochs.get(leader) as number }],
    });
    expect(shrink).toMatchObject({ errorCode: ErrorCode.NONE, leader, isr: [leader], partitionEpoch: p0.partitionEpoch + 1 });
    // Only the follower heartbeats: the leader, the last ISR member, is fenced.
    for (let t = 0; t < SESSION_MS + 400; t += 200) {
      await conn.request(BrokerHeartbeat, { brokerId: follower, brokerEpoch: epochs.get(follower) as number, metadataOffset: controller.image.nextOffset });
      await advance(w, 200);
    }
    // Offline: no leader, and the ISR keeps the fenced broker, the only one with every committed record.
    expect(controller.image.partition('t', 0)).toMatchObject({ leader: -1, isr: [leader], leaderEpoch: p0.leaderEpoch + 1 });
    // It comes back (same incarnation): it leads again, in a new epoch.
    await conn.request(BrokerHeartbeat, { brokerId: leader, brokerEpoch: epochs.get(leader) as number, metadataOffset: controller.image.nextOffset });
    expect(controller.image.partition('t', 0)).toMatchObject({ leader, isr: [leader], leaderEpoch: p0.leaderEpoch + 2 });
  });

  it('refuses stale AlterPartition requests with their own error codes, changing nothing', async () => {
    const w = world();
    const controller = await startController(w);
    const conn = await connect(w, controller);
    const epochs = new Map<number, number>();
    for (const id of [1, 2, 3]) epochs.set(id, await joinBroker(conn, id));
    await conn.request(CreateTopics, { topics: [{ name: 't', numPartitions: 1, configs: [] }] });
    const p = controller.image.partition('t', 0);
    if (p === undefined) throw new Error('no partition');
    const member = (id: number): { id: number; brokerEpoch: number } => ({ id, brokerEpoch: epochs.get(id) as number });
    const base = { brokerId: p.leader, brokerEpoch: epochs.get(p.leader) as number, topic: 't', partition: 0, leaderEpoch: p.leaderEpoch, partitionEpoch: p.partitionEpoch, newIsr: [member(p.leader)] };
    const cases: [string, typeof base, number][] = [
      ['an older leader epoch', { ...base, leaderEpoch: p.leaderEpoch - 1 }, ErrorCode.FENCED_LEADER_EPOCH],
      ['a newer leader epoch', { ...base, leaderEpoch: p.leaderEpoch + 1 }, ErrorCode.UNKNOWN_LEADER_EPOCH],
      ['a stale partition epoch', { ...base, partitionEpoch: p.partitionEpoch + 5 }, ErrorCode.INVALID_UPDATE_VERSION],
      ['a stale broker epoch of the sender', { ...base, brokerEpoch: base.brokerEpoch - 1 }, ErrorCode.STALE_BROKER_EPOCH],
      ['a sender that does not lead', { ...base, brokerId: p.replicas[1] as number, brokerEpoch: epochs.get(p.replicas[1] as number) as number }, ErrorCode.INVALID_REQUEST],
      ['a member with another incarnation epoch', { ...base, newIsr: [member(p.leader), { id: p.replicas[1] as number, brokerEpoch: 999_999 }] }, ErrorCode.INELIGIBLE_REPLICA],
    ];
    for (const [name, req, code] of cases) {
      const res = await conn.request(AlterPartition, req);
      expect(res.errorCode, name).toBe(code);
      expect(res, name).toMatchObject({ leader: p.leader, isr: p.isr, partitionEpoch: p.partitionEpoch });
    }
    expect(controller.image.partition('t', 0)).toEqual(p);
  });

  it('keeps every epoch across a restart, and gives brokers a full session before fencing any', async () => {
    const w = world();
    let controller = await startController(w);
    let conn = await connect(w, controller);
    const epochs = new Map<number, number>();
    for (const id of [1, 2, 3]) epochs.set(id, await joinBroker(conn, id));
    await conn.request(CreateTopics, { topics: [{ name: 't', numPartitions: 2, configs: [] }] });
    const before = controller.image.partitionsOf('t');
    const nextOffset = controller.image.nextOffset;
    await controller.close();
    cleanups.length = 0;

    controller = await startController(w);
    conn = await connect(w, controller);
    expect(controller.image.nextOffset).toBe(nextOffset);
    expect(controller.image.partitionsOf('t')).toEqual(before);
    expect([...controller.image.brokers.values()].every((b) => !b.fenced)).toBe(true);
    await advance(w, SESSION_MS - 100);
    expect([...controller.image.brokers.values()].every((b) => !b.fenced)).toBe(true);
    // Broker 1 restarts: a new incarnation with a higher epoch; its old one is fenced in the same batch.
    const reg = await conn.request(BrokerRegistration, { brokerId: 1, host: '127.0.0.1', port: 19_091 });
    expect(reg.brokerEpoch).toBeGreaterThan(epochs.get(1) as number);
    expect(reg.brokerEpoch).toBeGreaterThanOrEqual(nextOffset);
    const stale = await conn.request(BrokerHeartbeat, { brokerId: 1, brokerEpoch: epochs.get(1) as number, metadataOffset: 0 });
    expect(stale.errorCode).toBe(ErrorCode.STALE_BROKER_EPOCH);
    for (const p of controller.image.partitionsOf('t')) {
      expect(p.isr).not.toContain(1);
      const old = before.find((b) => b.partition === p.partition);
      if (old?.leader === 1) expect(p.leaderEpoch).toBe(old.leaderEpoch + 1);
    }
    // After another full session without heartbeats from 2 and 3, they are fenced too; no epoch ever went back.
    await advance(w, SESSION_MS + 400);
    for (const p of controller.image.partitionsOf('t')) {
      const old = before.find((b) => b.partition === p.partition);
      expect(p.leaderEpoch).toBeGreaterThanOrEqual(old?.leaderEpoch ?? 0);
      expect(p.partitionEpoch).toBeGreaterThan(old?.partitionEpoch ?? 0);
    }
  });

  it('answers a metadata Fetch at the log end when the next record is written (long poll), and refuses other topics', async () => {
    const w = world();
    const controller = await startController(w);
    const conn = await connect(w, controller);
    await joinBroker(conn, 1);
    const end = controller.image.nextOffset;
    const parked = conn.request(Fetch, { replicaId: 1, maxWaitMs: 10_000, maxBytes: 1 << 20, topics: [{ topic: METADATA_TOPIC, partitions: [{ partition: 0, offset: end, maxBytes: 1 << 20 }] }] }, 10_000);
    let answered = false;
    void parked.then(() => (answered = true));
    await advance(w, 100);
    expect(answered).toBe(false);
    await joinBroker(conn, 2);
    const res = await parked;
    const chunk = res.topics[0]?.partitions[0]?.records[0];
    expect(chunk?.length).toBeGreaterThan(0);
    const wrong = await conn.request(Fetch, { replicaId: 1, maxWaitMs: 0, maxBytes: 1 << 20, topics: [{ topic: 'orders', partitions: [{ partition: 0, offset: 0, maxBytes: 1 << 20 }] }] });
    expect(wrong.errorCode).toBe(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
  });
});
