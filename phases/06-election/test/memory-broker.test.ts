/**
 * The real broker, Producer and Consumer of this phase in one process over a
 * MemoryTransport, on MemoryStorage and a ManualClock, with one topic of one partition:
 * records produced come back with their exact partitions, offsets and values, without a
 * single TCP socket; and the broker's in-flight bound holds over memory links (pipelined
 * long polls: at most maxInFlightPerConnection parked at a time, every answer in request
 * order).
 *
 * The link semantics themselves are tested in memory-transport.test.ts (the same file in
 * every phase); this one differs per phase with the clients' API.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { waitFor } from '../../../shared/src/testing.ts';
import { Consumer, type FetchResult } from '../src/client/consumer.ts';
import { Producer } from '../src/client/producer.ts';
import { Broker } from '../src/server/broker.ts';
import { ManualClock } from '../src/seams/clock.ts';
import { MemoryStorage } from '../src/seams/memory-storage.ts';
import { EPHEMERAL_PORT_FIRST, MemoryTransport } from '../src/seams/memory-transport.ts';
import { seededRandom } from '../src/seams/random.ts';
import type { Seams } from '../src/seams/real.ts';
import { tcpTransport } from '../src/seams/transport.ts';

const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
  vi.restoreAllMocks();
});

/** TCP handles (listening and connected sockets) this process holds. */
function tcpHandles(): number {
  return process.getActiveResourcesInfo().filter((r) => r.startsWith('TCP')).length;
}

/** Every seam in memory (network, disk, a ManualClock, a seeded Random): nothing here reaches the machine. */
function seamsFor(network: MemoryTransport, clock: ManualClock): Seams {
  return { storage: new MemoryStorage(), random: seededRandom(1), transport: network, clock };
}

const TOPIC = 'events';

/** A broker on MemoryStorage and a ManualClock, listening on `network`, with topic `events` (1 partition); its log lines in `logs`. */
async function memoryBroker(network: MemoryTransport, clock: ManualClock, config: { maxInFlightPerConnection?: number } = {}): Promise<{ broker: Broker; logs: string[] }> {
  const logs: string[] = [];
  const broker = await Broker.start(
    { dir: '/log', port: 0, ...config },
    { ...seamsFor(network, clock), logger: (line) => logs.push(line) },
  );
  cleanups.push(() => broker.close());
  await broker.createTopic({ name: TOPIC, partitions: 1 });
  return { broker, logs };
}

describe('broker, Producer and Consumer over a MemoryTransport', () => {
  it('produce, then consume every record back with its exact offset and value; no TCP socket is opened', async () => {
    const tcpListen = vi.spyOn(tcpTransport, 'listen');
    const tcpConnect = vi.spyOn(tcpTransport, 'connect');
    const tcpBefore = tcpHandles();
    const network = new MemoryTransport();
    const clock = new ManualClock();
    const seams = seamsFor(network, clock);
    const { broker, logs } = await memoryBroker(network, clock);
    expect(broker.port).toBe(EPHEMERAL_PORT_FIRST); // the virtual network's first port

    const producer = new Producer({ ...seams, port: broker.port });
    await producer.connect();
    cleanups.push(() => producer.disconnect());
    expect(await producer.send({ topic: TOPIC, messages: [{ value: 'v0' }, { key: 'k1', value: 'v1' }] })).toEqual([
      { partition: 0, offset: 0 },
      { partition: 0, offset: 1 },
    ]);
    // Pipelined sends on one connection: answered in order, offsets ascending.
    const sends = await Promise.all([2, 3, 4, 5, 6].map((i) => producer.send({ topic: TOPIC, messages: [{ key: `k${i}`, value: `v${i}` }] })));
    expect(sends.flat().map((m) => m.offset)).toEqual([2, 3, 4, 5, 6]);

    const consumer = new Consumer({ ...seams, port: broker.port, topic: TOPIC, fromOffset: 0, maxWaitMs: 0 });
    await consumer.connect();
    cleanups.push(() => consumer.disconnect());
    const records = await consumer.fetch(0);
    expect(records.every((r) => r.topic === TOPIC && r.partition === 0)).toBe(true);
    expect(records.map((r) => [r.offset, r.key?.toString() ?? null, r.value?.toString() ?? null])).toEqual([
      [0, null, 'v0'],
      [1, 'k1', 'v1'],
      [2, 'k2', 'v2'],
      [3, 'k3', 'v3'],
      [4, 'k4', 'v4'],
      [5, 'k5', 'v5'],
      [6, 'k6', 'v6'],
    ]);
    expect((await consumer.fetch(5)).map((r) => r.offset)).toEqual([5, 6]);

    expect([broker.connectionCount, network.openLinks]).toEqual([2, 2]);
    expect(tcpHandles()).toBe(tcpBefore);
    expect(tcpListen).not.toHaveBeenCalled();
    expect(tcpConnect).not.toHaveBeenCalled();

    await producer.disconnect();
    await consumer.disconnect();
    await waitFor(() => broker.connectionCount === 0);
    expect([network.openLinks, logs]).toEqual([0, []]);
  });

  it('the in-flight bound holds: pipelined long polls park at most maxInFlightPerConnection at a time, answered in order', async () => {
    const network = new MemoryTransport();
    const clock = new ManualClock();
    const seams = seamsFor(network, clock);
    const { broker, logs } = await memoryBroker(network, clock, { maxInFlightPerConnection: 2 });
    const consumer = new Consumer({ ...seams, port: broker.port, topic: TOPIC, fromOffset: 0 });
    await consumer.connect();
    cleanups.push(() => consumer.disconnect());
    const producer = new Producer({ ...seams, port: broker.port });
    await producer.connect();
    cleanups.push(() => producer.disconnect());

    // Six fetches at the log end on one connection, sent without waiting.
    const answered: number[] = [];
    const fetches: Promise<FetchResult>[] = [];
    for (let i = 0; i < 6; i++) fetches.push(consumer.fetchResult(0, 1_000).then((r) => (answered.push(i), r)));
    await waitFor(() => broker.parkedFetches === 2);
    await producer.flush(); // another connection's round trip: the broker has read what it will read
    expect([broker.parkedFetches, answered]).toEqual([2, []]);

    // The long polls time out on the ManualClock: the freed slots take the next two.
    clock.advance(1_000);
    await waitFor(() => answered.length === 2 && broker.parkedFetches === 2);
    expect(answered).toEqual([0, 1]);

    // An append answers the parked two; the last two find the record at once.
    expect(await producer.send({ topic: TOPIC, messages: [{ value: 'wake' }] })).toEqual([{ partition: 0, offset: 0 }]);
    const results = await Promise.all(fetches);
    expect(answered).toEqual([0, 1, 2, 3, 4, 5]);
    expect(results.map((r) => r.records.map((rec) => rec.value?.toString()))).toEqual([[], [], ['wake'], ['wake'], ['wake'], ['wake']]);
    expect(logs).toEqual([]);
  });
});
