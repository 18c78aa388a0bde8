/**
 * Phase 3's clients against a real broker: the producer routes by explicit partition, key
 * (murmur2) or sticky partition, batches per partition, and refreshes metadata on an
 * unknown partition; the consumer reads one partition or all; the admin client creates
 * and describes topics. The property at the top is the phase's promise: many concurrent
 * producers with many keys over TCP, and for every key the consumed order is the produced
 * order.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { propertySeed } from '../../../shared/src/testing.ts';
import { Admin } from '../src/client/admin.ts';
import { Consumer, type ConsumedRecord } from '../src/client/consumer.ts';
import { InvalidTopicBrokerError, TopicExistsBrokerError, UnknownTopicOrPartitionBrokerError } from '../src/client/errors.ts';
import { partitionForKey } from '../src/client/murmur2.ts';
import { Producer, type ProducerOptions, type RecordMetadata } from '../src/client/producer.ts';
import { tcpTransport } from '../src/seams/transport.ts';
import { formatMeasure, runMeasure } from '../src/demos/measure.ts';
import { seededRandom } from '../src/seams/random.ts';
import { UnknownTopicOrPartitionError } from '../src/topics/errors.ts';
import { tappedTransport } from '../src/demos/wire-demo.ts';
import { testResources } from './wire-helpers.ts';
import { realSeams } from '../src/seams/real.ts';

const t = testResources();

async function producer(opts: ProducerOptions): Promise<Producer> {
  const p = new Producer(opts);
  await p.connect();
  t.defer(() => p.disconnect());
  return p;
}

/** Every record of every partition of `topic`, read with a fresh consumer. */
async function readAll(port: number, topic: string): Promise<ConsumedRecord[]> {
  const consumer = new Consumer({ ...realSeams(), port, topic, maxWaitMs: 0, maxBytes: 4096 });
  await consumer.connect();
  try {
    const records: ConsumedRecord[] = [];
    while (!consumer.caughtUp) records.push(...(await consumer.poll()));
    return records;
  } finally {
    await consumer.disconnect();
  }
}

describe('per-key ordering (property, over TCP)', () => {
  it('many concurrent producers with many keys: every key keeps one partition and its produced order', async () => {
    const b = await t.broker();
    let run = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          partitions: fc.integer({ min: 1, max: 6 }),
          producers: fc.integer({ min: 2, max: 6 }),
          keys: fc.integer({ min: 1, max: 30 }),
          messagesPerProducer: fc.integer({ min: 5, max: 60 }),
          lingerMs: fc.integer({ min: 0, max: 3 }),
          batchBytesMax: fc.integer({ min: 80, max: 2_000 }),
          maxInFlight: fc.integer({ min: 1, max: 5 }),
          seed: fc.nat(),
        }),
        async (cfg) => {
          const topic = `prop-${run++}`;
          await b.broker.createTopic({ name: topic, partitions: cfg.partitions });
          const random = seededRandom(cfg.seed);
          const clients = await Promise.all(
            Array.from({ length: cfg.producers }, async (_, i) => {
              const p = new Producer({ ...realSeams(), port: b.port, lingerMs: cfg.lingerMs, batchBytesMax: cfg.batchBytesMax, maxInFlight: cfg.maxInFlight, random: seededRandom(cfg.seed + i) });
              await p.connect();
              return p;
            }),
          );
          // Every producer fires all its sends at once (pipelined), 1-4 messages each; a few keyless.
          const sent: { producer: number; key: string | null; value: string; result: Promise<RecordMetadata> }[] = [];
          const sends: Promise<unknown>[] = [];
          clients.forEach((p, producerIndex) => {
            for (let i = 0; i < cfg.messagesPerProducer; ) {
              const n = Math.min(1 + Math.floor(random() * 4), cfg.messagesPerProducer - i);
              const messages = Array.from({ length: n }, (_, j) => {
                const key = random() < 0.1 ? null : `key-${Math.floor(random() * cfg.keys)}`;
                return { key, value: `${producerIndex}/${key}/${i + j}` };
              });
              const results = p.send({ topic, messages });
              sends.push(results);
              messages.forEach((m, j) => sent.push({ producer: producerIndex, key: m.key, value: m.value, result: results.then((r) => r[j] as RecordMetadata) }));
              i += n;
            }
          });
          await Promise.all(sends);
          await Promise.all(clients.map((p) => p.disconnect()));

          const consumed = await readAll(b.port, topic);
          const at = new Map(consumed.map((r) => [`${r.partition}@${r.offset}`, r]));
          expect(consumed).toHaveLength(sent.length);
          // Each send resolved with where its record really is.
          for (const s of sent) {
            const where = await s.result;
            expect(at.get(`${where.partition}@${where.offset}`)?.value?.toString()).toBe(s.value);
            if (s.key !== null) expect(where.partition).toBe(partitionForKey(Buffer.from(s.key), cfg.partitions));
          }
          // Per key and producer, the consumed order (offset order in the key's partition) is the send order.
          const byKey = new Map<string, number[]>();
          for (const r of consumed) {
            if (r.key === null) continue;
            const [producerIndex, key, i] = (r.value?.toString() ?? '').split('/');
            const list = byKey.get(`${producerIndex}/${key}`) ?? [];
            list.push(Number(i));
            byKey.set(`${producerIndex}/${key}`, list);
          }
          for (const [who, order] of byKey) expect(order, who).toEqual([...order].sort((x, y) => x - y));
        },
      ),
      { seed: propertySeed(), numRuns: 8 },
    );
  });
});

describe('Producer routing', () => {
  it('a key always goes to toPositive(murmur2(key)) % partitions; an explicit partition wins', async () => {
    const b = await t.broker();
    await b.broker.createTopic({ name: 'keys', partitions: 5 });
    const p = await producer({ ...realSeams(), port: b.port });
    const keys = Array.from({ length: 40 }, (_, i) => `user-${i}`);
    const results = await p.send({ topic: 'keys', messages: keys.map((key) => ({ key, value: key })) });
    results.forEach((r, i) => expect(r.partition).toBe(partitionForKey(Buffer.from(keys[i] as string), 5)));
    expect(new Set(results.map((r) => r.partition)).size).toBe(5);
    const [explicit] = await p.send({ topic: 'keys', messages: [{ key: 'user-0', value: 'moved', partition: 4 }] });
    expect(explicit?.partition).toBe(4);
  });

  it('keyless sends stick to one partition per batch and move after each batch (KIP-480)', async () => {
    const b = await t.broker();
    await b.broker.createTopic({ name: 'sticky', partitions: 4 });
    const p = await producer({ ...realSeams(), port: b.port, lingerMs: 2, random: seededRandom(5) });
    const used: number[] = [];
    for (let i = 0; i < 12; i++) {
      const results = await p.send({ topic: 'sticky', messages: Array.from({ length: 5 }, (_, j) => ({ value: `${i}-${j}` })) });
      const partitions = new Set(results.map((r) => r.partition));
      expect(partitions.size).toBe(1); // the whole send went out as one batch on one partition
      used.push(results[0]?.partition ?? -1);
    }
    for (let i = 1; i < used.length; i++) expect(used[i]).not.toBe(used[i - 1]);
    expect(new Set(used).size).toBeGreaterThan(1);
    expect(p.requestsSent).toBe(12);
  });

  it('a keyless batch that fills up moves the rest of the send to the next sticky partition', async () => {
    const b = await t.broker();
    await b.broker.createTopic({ name: 'fill', partitions: 3 });
    const p = await producer({ ...realSeams(), port: b.port, batchBytesMax: 400, maxInFlight: 1, random: seededRandom(9) });
    const results = await p.send({ topic: 'fill', messages: Array.from({ length: 24 }, (_, i) => ({ value: `${i}`.padEnd(40, '.') })) });
    // Runs of consecutive records share a partition; each run is one full batch; runs alternate.
    const runs: number[][] = [];
    for (const r of results) {
      const last = runs[runs.length - 1];
      if (last !== undefined && results[results.indexOf(r) - 1]?.partition === r.partition) last.push(r.offset);
      else runs.push([r.offset]);
    }
    expect(runs.length).toBeGreaterThan(2);
    for (const run of runs) for (let i = 1; i < run.length; i++) expect(run[i]).toBe((run[i - 1] as number) + 1);
    expect(p.requestsSent).toBe(runs.length);
    // Each reported (partition, offset) is where that record really is (PITFALLS: the Go
    // project spread a keyless batch over partitions but reported one for all of it).
    const stored = new Map((await readAll(b.port, 'fill')).map((r) => [`${r.partition}@${r.offset}`, r.value?.toString()]));
    expect(stored.size).toBe(24);
    results.forEach((r, i) => expect(stored.get(`${r.partition}@${r.offset}`)).toBe(`${i}`.padEnd(40, '.')));
    expect(new Set(results.map((r) => r.partition)).size).toBeGreaterThan(1);
  });

  it('an unknown partition refreshes metadata once, then fails without sending; an unknown topic fails until created', async () => {
    const b = await t.broker();
    await b.broker.createTopic({ name: 'three', partitions: 3 });
    let metadataRequests = 0;
    const transport = tappedTransport(tcpTransport, (direction, _frame, apiKey) => {
      if (direction === 'request' && apiKey === 3) metadataRequests++;
    });
    const p = await producer({ ...realSeams(), port: b.port, transport });
    await p.send({ topic: 'three', messages: [{ value: 'a' }] });
    expect(metadataRequests).toBe(1);
    await p.send({ topic: 'three', messages: [{ value: 'b', partition: 2 }] });
    expect(metadataRequests).toBe(1); // cached
    const sentBefore = p.requestsSent;
    await expect(p.send({ topic: 'three', messages: [{ value: 'c', partition: 3 }] })).rejects.toBeInstanceOf(UnknownTopicOrPartitionError);
    expect(metadataRequests).toBe(2); // asked again before giving up
    await expect(p.send({ topic: 'three', messages: [{ value: 'c', partition: -1 }] })).rejects.toBeInstanceOf(UnknownTopicOrPartitionError);
    expect(p.requestsSent).toBe(sentBefore);
    expect(p.bufferedBytes).toBe(0);

    await expect(p.send({ topic: 'later', messages: [{ value: 'x' }] })).rejects.toBeInstanceOf(UnknownTopicOrPartitionBrokerError);
    await b.broker.createTopic({ name: 'later', partitions: 2 });
    expect((await p.send({ topic: 'later', messages: [{ key: 'k', value: 'x' }] }))[0]?.partition).toBe(partitionForKey(Buffer.from('k'), 2));
    await expect(p.send({ topic: '../etc', messages: [{ value: 'x' }] })).rejects.toBeInstanceOf(InvalidTopicBrokerError);
  });

  it('sends to one topic stay in call order while the first waits for metadata', async () => {
    const b = await t.broker();
    await b.broker.createTopic({ name: 'order', partitions: 1 });
    const p = await producer({ ...realSeams(), port: b.port, maxInFlight: 3 });
    const sends = Array.from({ length: 30 }, (_, i) => p.send({ topic: 'order', messages: [{ value: `${i}` }] }));
    const offsets = (await Promise.all(sends)).map((r) => r[0]?.offset);
    expect(offsets).toEqual(Array.from({ length: 30 }, (_, i) => i));
  });
});

describe('Consumer', () => {
  it('reads every partition of a topic, in order within each, and run() delivers them all', async () => {
    const b = await t.broker();
    await b.broker.createTopic({ name: 'all', partitions: 3 });
    const p = await producer({ ...realSeams(), port: b.port, batchBytesMax: 200 });
    const messages = Array.from({ length: 60 }, (_, i) => ({ key: `k${i % 7}`, value: `v${i}` }));
    const placed = await p.send({ topic: 'all', messages });
    const consumer = new Consumer({ ...realSeams(), port: b.port, topic: 'all', maxWaitMs: 100, maxBytes: 300 });
    await consumer.connect();
    expect(consumer.partitions).toEqual([0, 1, 2]);
    expect(() => consumer.position).toThrow(/reads 3 partitions/);
    const seen: ConsumedRecord[] = [];
    const running = consumer.run({
      eachMessage: async (m) => {
        seen.push(m);
        if (seen.length === messages.length) await consumer.disconnect();
      },
    });
    await running;
    for (let partition = 0; partition < 3; partition++) {
      const offsets = seen.filter((r) => r.partition === partition).map((r) => r.offset);
      expect(offsets).toEqual(placed.filter((r) => r.partition === partition).map((r) => r.offset));
    }
    expect(seen.every((r) => r.topic === 'all')).toBe(true);
  });

  it('reads one partition when asked; positions, seek and caughtUp are per partition', async () => {
    const b = await t.broker();
    await b.broker.createTopic({ name: 'one', partitions: 2 });
    const p = await producer({ ...realSeams(), port: b.port });
    await p.send({ topic: 'one', messages: ['a', 'b', 'c'].map((value) => ({ value, partition: 1 })) });
    await p.send({ topic: 'one', messages: [{ value: 'zero', partition: 0 }] });
    const consumer = new Consumer({ ...realSeams(), port: b.port, topic: 'one', partition: 1, maxWaitMs: 0 });
    await consumer.connect();
    t.defer(() => consumer.disconnect());
    expect(consumer.partitions).toEqual([1]);
    expect(consumer.caughtUp).toBe(false);
    expect((await consumer.poll()).map((r) => `${r.partition}:${r.offset}:${r.value?.toString()}`)).toEqual(['1:0:a', '1:1:b', '1:2:c']);
    expect([consumer.position, consumer.caughtUp]).toEqual([3, true]);
    consumer.seek(1);
    expect((await consumer.poll()).map((r) => r.value?.toString())).toEqual(['b', 'c']);
    expect(await consumer.listOffset(-1)).toBe(3);

    const wrong = new Consumer({ ...realSeams(), port: b.port, topic: 'one', partition: 2 });
    await expect(wrong.connect()).rejects.toBeInstanceOf(UnknownTopicOrPartitionError);
    const missing = new Consumer({ ...realSeams(), port: b.port, topic: 'missing' });
    await expect(missing.connect()).rejects.toBeInstanceOf(UnknownTopicOrPartitionBrokerError);
  });
});

describe('Admin', () => {
  it('creates, lists and describes topics; errors are typed per topic', async () => {
    const b = await t.broker();
    const admin = new Admin({ ...realSeams(), port: b.port });
    await admin.connect();
    t.defer(() => admin.disconnect());
    await admin.createTopic({ topic: 'orders', numPartitions: 3, segmentBytesMax: 1 << 20, retentionBytesMax: -1 });
    const outcomes = await admin.createTopics([
      { topic: 'orders', numPartitions: 1 },
      { topic: 'a/b', numPartitions: 1 },
      { topic: 'fresh', numPartitions: 2 },
    ]);
    expect(outcomes.map((o) => [o.topic, o.error?.constructor.name ?? null])).toEqual([
      ['orders', 'TopicExistsBrokerError'],
      ['a/b', 'InvalidTopicBrokerError'],
      ['fresh', null],
    ]);
    await expect(admin.createTopic({ topic: 'orders', numPartitions: 1 })).rejects.toBeInstanceOf(TopicExistsBrokerError);
    expect((await admin.listTopics()).map((x) => [x.topic, x.partitions])).toEqual([
      ['fresh', 2],
      ['orders', 3],
      ['test', 1],
    ]);
    expect(await admin.describeTopic('orders')).toEqual({
      topic: 'orders',
      partitions: 3,
      isInternal: false,
      configs: [
        { name: 'segment.bytes', value: String(1 << 20) },
        { name: 'retention.bytes', value: '-1' },
      ],
    });
    await expect(admin.describeTopic('nope')).rejects.toBeInstanceOf(UnknownTopicOrPartitionBrokerError);
  });
});

describe('measure', () => {
  it('runs every experiment against a broker and prints one row each (a small run)', async () => {
    const b = await t.broker();
    const narration: string[] = [];
    const { rows, createTopicMs } = await runMeasure({ port: b.port, records: 120, producers: 2, valueBytes: 10, say: (l) => narration.push(l) });
    expect(rows.map((r) => [r.experiment, r.partitions, r.partitioner, r.lingerMs, r.records])).toEqual([
      ['keyed', 1, 'murmur2', 0, 120],
      ['keyed', 2, 'murmur2', 0, 120],
      ['keyed', 4, 'murmur2', 0, 120],
      ['keyed', 8, 'murmur2', 0, 120],
      ['keyless', 4, 'sticky', 0, 120],
      ['keyless', 4, 'round-robin', 0, 120],
      ['keyless', 4, 'sticky', 5, 120],
      ['keyless', 4, 'round-robin', 5, 120],
    ]);
    for (const r of rows) expect(r.requests).toBeGreaterThanOrEqual(1);
    expect(createTopicMs).toHaveLength(20);
    const table = formatMeasure(rows, createTopicMs);
    expect(table[0]).toMatch(/^experiment +partitions +partitioner +lingerMs +records +requests +records\/request +records\/s +elapsedMs$/);
    expect(table).toHaveLength(10);
    expect(narration).toHaveLength(9);
  });
});
