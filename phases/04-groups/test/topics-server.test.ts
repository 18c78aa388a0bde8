/**
 * Phase 3's broker over real TCP: CreateTopics and its error codes (bad names get
 * INVALID_TOPIC_EXCEPTION and create nothing on disk), Produce/Fetch/ListOffsets naming a
 * topic and partition (unknown ones get UNKNOWN_TOPIC_OR_PARTITION, internal topics are not
 * writable by clients), Metadata listing topics with this broker as leader, auto-creation
 * (off by default), partition isolation, a multi-partition long poll, per-topic segment
 * size and retention, and the registry surviving a restart.
 */
import { join } from 'node:path';
import { readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { tempDir, waitFor } from '../../../shared/src/testing.ts';
import { ManualClock } from '../src/seams/clock.ts';
import type { ApiCodec, ResponseBase } from '../src/protocol/api.ts';
import { CreateTopics, type CreatableTopic } from '../src/protocol/create-topics.ts';
import { ErrorCode } from '../src/protocol/errors.ts';
import { Fetch, type FetchRequest } from '../src/protocol/fetch.ts';
import { LATEST_TIMESTAMP, ListOffsets } from '../src/protocol/list-offsets.ts';
import { Metadata } from '../src/protocol/metadata.ts';
import { Produce } from '../src/protocol/produce.ts';
import { splitBatches } from '../src/protocol/records.ts';
import { decodeBatch, encodeBatch } from '../src/log/record-batch.ts';
import { Broker } from '../src/server/broker.ts';
import { InvalidConfigError } from '../src/log/errors.ts';
import { REGISTRY_FILE } from '../src/topics/registry.ts';
import { TOPIC, type RawClient, testResources } from './wire-helpers.ts';
import { realSeams } from '../src/seams/real.ts';

const t = testResources();

const batchOf = (...values: string[]): Buffer => encodeBatch(values.map((v) => ({ value: Buffer.from(v) })), { baseTimestamp: 1_700_000_000_000 });
const produce = (topic: string, partition: number, ...values: string[]) => ({ acks: -1, timeoutMs: 1000, topic, partition, records: [batchOf(...values)] });
const create = (name: string, numPartitions: number, configs: CreatableTopic['configs'] = []): CreatableTopic => ({ name, numPartitions, configs });
const fetchOf = (topic: string, partitions: [partition: number, offset: number][], maxWaitMs = 0, maxBytes = 1 << 20): FetchRequest => ({
  maxWaitMs,
  maxBytes,
  topics: [{ topic, partitions: partitions.map(([partition, offset]) => ({ partition, offset, maxBytes })) }],
});
const valuesOf = (records: readonly Buffer[]): string[] =>
  records.flatMap((chunk) => splitBatches(chunk)).flatMap((batch) => decodeBatch(batch).records.map((x) => x.value?.toString() ?? 'null'));

/** Send one request and wait for its answer on a raw connection. */
let nextCorrelationId = 1;
async function call<Req, Res extends ResponseBase>(c: RawClient, api: ApiCodec<Req, Res>, req: Req): Promise<Res> {
  c.sendRequest(api, req, nextCorrelationId++);
  return (await c.nextResponse(api)).res;
}

describe('CreateTopics', () => {
  it('creates topics with partition directories; each bad topic gets its own Kafka error code', async () => {
    const b = await t.broker({ topicLimits: { partitionsPerTopicMax: 8 } });
    const c = await t.raw(b.port);
    const res = await call(c, CreateTopics, {
      topics: [
        create('orders', 3, [{ name: 'segment.bytes', value: '4096' }]),
        create('orders', 1),
        create('zero', 0),
        create('many', 9),
        create('cfg', 1, [{ name: 'cleanup.policy', value: 'compact' }]),
        create('cfg2', 1, [{ name: 'segment.bytes', value: 'big' }]),
        create('cfg3', 1, [{ name: 'segment.bytes', value: '10' }]),
        create('__internal', 1),
      ],
    });
    expect(res.errorCode).toBe(ErrorCode.NONE);
    expect(res.topics.map((x) => [x.name, x.errorCode])).toEqual([
      ['orders', ErrorCode.NONE],
      ['orders', ErrorCode.TOPIC_ALREADY_EXISTS],
      ['zero', ErrorCode.INVALID_PARTITIONS],
      ['many', ErrorCode.INVALID_PARTITIONS],
      ['cfg', ErrorCode.INVALID_CONFIG],
      ['cfg2', ErrorCode.INVALID_CONFIG],
      ['cfg3', ErrorCode.INVALID_CONFIG],
      ['__internal', ErrorCode.INVALID_TOPIC_EXCEPTION],
    ]);
    expect(readdirSync(b.dir).sort()).toEqual(['orders-0', 'orders-1', 'orders-2', `${TOPIC}-0`, REGISTRY_FILE].sort());
    const md = await call(c, Metadata, { topics: ['orders'], allowAutoTopicCreation: false });
    expect(md.topics).toEqual([
      {
        errorCode: 0,
        topic: 'orders',
        isInternal: false,
        partitions: [0, 1, 2].map((partition) => ({ partition, leaderId: 0 })),
        configs: [{ name: 'segment.bytes', value: '4096' }],
      },
    ]);
  });

  it('bad names over the wire get INVALID_TOPIC_EXCEPTION on every API and create nothing on disk', async () => {
    const tmp = tempDir('topics-names-');
    t.defer(() => tmp.remove());
    const dataDir = join(tmp.path, 'data');
    const b = await t.broker({ dir: dataDir, autoCreateTopics: true });
    const c = await t.raw(b.port);
    const before = { outside: readdirSync(tmp.path).sort(), inside: readdirSync(dataDir).sort() };
    const bad = ['../x', '../../etc/passwd', 'a/b', '..', '.', '', 'x'.repeat(250), 'ünïcode', 'a b', 'a\\b', '/abs'];
    for (const name of bad) {
      const created = await call(c, CreateTopics, { topics: [create(name, 1)] });
      expect(created.topics[0]?.errorCode, name).toBe(ErrorCode.INVALID_TOPIC_EXCEPTION);
      expect((await call(c, Produce, produce(name, 0, 'x'))).errorCode, name).toBe(ErrorCode.INVALID_TOPIC_EXCEPTION);
      const fetched = await call(c, Fetch, fetchOf(name, [[0, 0]]));
      expect(fetched.topics[0]?.partitions[0]?.errorCode, name).toBe(ErrorCode.INVALID_TOPIC_EXCEPTION);
      expect((await call(c, ListOffsets, { topic: name, partition: 0, timestamp: LATEST_TIMESTAMP })).errorCode, name).toBe(ErrorCode.INVALID_TOPIC_EXCEPTION);
      const md = await call(c, Metadata, { topics: [name], allowAutoTopicCreation: true });
      expect(md.topics[0]?.errorCode, name).toBe(ErrorCode.INVALID_TOPIC_EXCEPTION);
    }
    expect(readdirSync(tmp.path).sort()).toEqual(before.outside);
    expect(readdirSync(dataDir).sort()).toEqual(before.inside);
    expect(b.broker.topics().map((x) => x.name)).toEqual([TOPIC]);
    expect(b.logs).toEqual([]);
  });
});

describe('topic limits', () => {
  it('topicsMax, partitionsPerTopicMax and partitionsTotalMax hold over the wire at and past each bound, creating nothing past them', async () => {
    // The helper's own topic counts: one topic of one partition already.
    const b = await t.broker({ topicLimits: { topicsMax: 3, partitionsPerTopicMax: 4, partitionsTotalMax: 6 } });
    const c = await t.raw(b.port);
    const res = await call(c, CreateTopics, { topics: [create('wide', 5), create('four', 4), create('one', 1), create('two', 1), create('three', 1)] });
    expect(res.topics.map((x) => [x.name, x.errorCode])).toEqual([
      ['wide', ErrorCode.INVALID_PARTITIONS], // past partitionsPerTopicMax
      ['four', ErrorCode.NONE], // at partitionsPerTopicMax; 5 partitions in all
      ['one', ErrorCode.NONE], // 6 = partitionsTotalMax, 3 = topicsMax
      ['two', ErrorCode.INVALID_PARTITIONS], // past partitionsTotalMax
      ['three', ErrorCode.INVALID_PARTITIONS],
    ]);
    expect(readdirSync(b.dir).sort()).toEqual(['four-0', 'four-1', 'four-2', 'four-3', 'one-0', `${TOPIC}-0`, REGISTRY_FILE].sort());

    const roomy = await t.broker({ topicLimits: { topicsMax: 2 } });
    const c2 = await t.raw(roomy.port);
    const res2 = await call(c2, CreateTopics, { topics: [create('second', 1), create('third', 1)] });
    expect(res2.topics.map((x) => [x.name, x.errorCode])).toEqual([
      ['second', ErrorCode.NONE], // at topicsMax
      ['third', ErrorCode.POLICY_VIOLATION], // past it
    ]);
    expect(res2.topics[1]?.errorMessage).toMatch(/topicsMax=2/);
    expect(roomy.broker.topics().map((x) => x.name)).toEqual(['second', TOPIC].sort());
  });

  it('a bad limit, or defaultPartitions over partitionsPerTopicMax, stops Broker.start before it creates anything', async () => {
    const tmp = tempDir('topics-limits-');
    t.defer(() => tmp.remove());
    const dir = join(tmp.path, 'data');
    for (const topicLimits of [{ topicsMax: 0 }, { partitionsPerTopicMax: -1 }, { partitionsTotalMax: 1.5 }]) {
      await expect(Broker.start({ dir, port: 0, topicLimits }, realSeams())).rejects.toThrow(InvalidConfigError);
    }
    await expect(Broker.start({ dir, port: 0, topicLimits: { topicsMax: 0 } }, realSeams())).rejects.toThrow('topicLimits.topicsMax must be an integer >= 1, got 0');
    await expect(Broker.start({ dir, port: 0, defaultPartitions: 5, topicLimits: { partitionsPerTopicMax: 4 } }, realSeams())).rejects.toThrow(/defaultPartitions \(5\)/);
    expect(readdirSync(tmp.path)).toEqual([]);
  });
});

describe('Produce, Fetch and ListOffsets name a topic and a partition', () => {
  it('keeps partitions isolated: offsets, records and watermarks are per partition', async () => {
    const b = await t.broker();
    await b.broker.createTopic({ name: 'iso', partitions: 3 });
    const c = await t.raw(b.port);
    expect(await call(c, Produce, produce('iso', 0, 'a0', 'a1'))).toMatchObject({ errorCode: 0, baseOffset: 0, lastOffset: 1 });
    expect(await call(c, Produce, produce('iso', 2, 'c0'))).toMatchObject({ errorCode: 0, baseOffset: 0, lastOffset: 0 });
    expect(await call(c, Produce, produce('iso', 0, 'a2'))).toMatchObject({ errorCode: 0, baseOffset: 2, lastOffset: 2 });
    expect(await call(c, Produce, produce(TOPIC, 0, 't0'))).toMatchObject({ errorCode: 0, baseOffset: 0 });
    const fetched = await call(c, Fetch, fetchOf('iso', [[0, 0], [1, 0], [2, 0]]));
    expect(fetched.topics[0]?.partitions.map((p) => [p.partition, p.errorCode, p.highWatermark, valuesOf(p.records)])).toEqual([
      [0, 0, 3, ['a0', 'a1', 'a2']],
      [1, 0, 0, []],
      [2, 0, 1, ['c0']],
    ]);
    const ends: number[] = [];
    for (const partition of [0, 1, 2]) ends.push((await call(c, ListOffsets, { topic: 'iso', partition, timestamp: LATEST_TIMESTAMP })).offset);
    expect(ends).toEqual([3, 0, 1]);
  });

  it('unknown topics and partitions get UNKNOWN_TOPIC_OR_PARTITION, per partition in a Fetch', async () => {
    const b = await t.broker();
    const c = await t.raw(b.port);
    expect((await call(c, Produce, produce('nope', 0, 'x'))).errorCode).toBe(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    expect((await call(c, Produce, produce(TOPIC, 1, 'x'))).errorCode).toBe(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    expect((await call(c, Produce, produce(TOPIC, -1, 'x'))).errorCode).toBe(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    expect((await call(c, ListOffsets, { topic: TOPIC, partition: 7, timestamp: LATEST_TIMESTAMP })).errorCode).toBe(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    await call(c, Produce, produce(TOPIC, 0, 'kept'));
    // One bad partition does not spoil the others, and an error is answered at once (no long poll).
    const fetched = await call(c, Fetch, fetchOf(TOPIC, [[0, 0], [5, 0]], 20_000));
    expect(fetched.topics[0]?.partitions.map((p) => [p.partition, p.errorCode, valuesOf(p.records)])).toEqual([
      [0, 0, ['kept']],
      [5, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, []],
    ]);
    const md = await call(c, Metadata, { topics: ['nope', TOPIC], allowAutoTopicCreation: true });
    expect(md.topics.map((x) => [x.topic, x.errorCode])).toEqual([
      ['nope', ErrorCode.UNKNOWN_TOPIC_OR_PARTITION],
      [TOPIC, 0],
    ]);
    expect(b.broker.topics().map((x) => x.name)).toEqual([TOPIC]); // auto-creation is off by default
  });

  it('internal topics can be read but not produced to or created by clients', async () => {
    const b = await t.broker();
    await b.broker.createTopic({ name: '__consumer_offsets', partitions: 2 }, { internal: true });
    const c = await t.raw(b.port);
    const refused = await call(c, Produce, produce('__consumer_offsets', 0, 'forged'));
    expect(refused).toMatchObject({ errorCode: ErrorCode.INVALID_TOPIC_EXCEPTION, errorMessage: expect.stringMatching(/internal topics/) });
    const fetched = await call(c, Fetch, fetchOf('__consumer_offsets', [[0, 0]]));
    expect(fetched.topics[0]?.partitions[0]).toMatchObject({ errorCode: 0, highWatermark: 0 });
    const md = await call(c, Metadata, { topics: null, allowAutoTopicCreation: false });
    expect(md.topics.map((x) => [x.topic, x.isInternal, x.partitions.length])).toEqual([
      ['__consumer_offsets', true, 2],
      [TOPIC, false, 1],
    ]);
  });

  it('with autoCreateTopics, a produce or a Metadata that allows it creates the topic with defaultPartitions', async () => {
    const b = await t.broker({ autoCreateTopics: true, defaultPartitions: 4 });
    const c = await t.raw(b.port);
    // Pipelined produces to a new topic: one creation, appends in request order.
    const ids = [1, 2, 3].map((i) => {
      c.sendRequest(Produce, produce('auto', 1, `v${i}`), 100 + i);
      return 100 + i;
    });
    for (const [i, id] of ids.entries()) {
      const { correlationId, res } = await c.nextResponse(Produce);
      expect([correlationId, res.errorCode, res.baseOffset]).toEqual([id, 0, i]);
    }
    expect(b.broker.topics().find((x) => x.name === 'auto')?.partitions).toBe(4);
    const quiet = await call(c, Metadata, { topics: ['asked'], allowAutoTopicCreation: false });
    expect(quiet.topics[0]?.errorCode).toBe(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    const md = await call(c, Metadata, { topics: ['asked', 'asked'], allowAutoTopicCreation: true });
    expect(md.topics.map((x) => [x.topic, x.errorCode, x.partitions.length])).toEqual([
      ['asked', 0, 4],
      ['asked', 0, 4],
    ]);
    expect((await call(c, Produce, produce('auto', 4, 'x'))).errorCode).toBe(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
  });
});

describe('Fetch over several partitions', () => {
  it('parks until any requested partition gets an append, and ignores appends elsewhere (ManualClock)', async () => {
    const clock = new ManualClock();
    const b = await t.broker({ fetchWaitMsMax: 10_000 }, { clock });
    await b.broker.createTopic({ name: 'multi', partitions: 3 });
    const c = await t.raw(b.port);
    const p = await t.raw(b.port);
    c.sendRequest(Fetch, fetchOf('multi', [[0, 0], [2, 0]], 5_000), 1);
    await waitFor(() => b.broker.parkedFetches === 1);
    // An append to a partition the fetch did not ask for wakes it, it finds nothing, parks again.
    expect((await call(p, Produce, produce('multi', 1, 'elsewhere'))).errorCode).toBe(0);
    await waitFor(() => b.broker.parkedFetches === 1);
    expect(c.bufferedFrames).toBe(0);
    clock.advance(1_000);
    expect((await call(p, Produce, produce('multi', 2, 'here'))).errorCode).toBe(0);
    const { correlationId, res } = await c.nextResponse(Fetch);
    expect(correlationId).toBe(1);
    expect(res.topics[0]?.partitions.map((x) => [x.partition, valuesOf(x.records)])).toEqual([
      [0, []],
      [2, ['here']],
    ]);
    // Still empty everywhere: the whole wait, measured from the request, then an empty answer.
    c.sendRequest(Fetch, fetchOf('multi', [[0, 0], [2, 1]], 5_000), 2);
    await waitFor(() => b.broker.parkedFetches === 1);
    clock.advance(4_999);
    expect(b.broker.parkedFetches).toBe(1);
    clock.advance(1);
    expect((await c.nextResponse(Fetch)).res.topics[0]?.partitions.every((x) => x.records.length === 0)).toBe(true);
  });

  it('shares maxBytes across partitions: the first with data returns at least a batch, later ones wait their turn', async () => {
    const b = await t.broker();
    await b.broker.createTopic({ name: 'budget', partitions: 2 });
    const c = await t.raw(b.port);
    const big = 'x'.repeat(300);
    await call(c, Produce, produce('budget', 0, big));
    await call(c, Produce, produce('budget', 1, big));
    const res = await call(c, Fetch, fetchOf('budget', [[0, 0], [1, 0]], 0, 100));
    expect(res.topics[0]?.partitions.map((x) => [x.partition, x.errorCode, valuesOf(x.records).length, x.highWatermark])).toEqual([
      [0, 0, 1, 1],
      [1, 0, 0, 1],
    ]);
    const bad = await call(c, Fetch, { maxWaitMs: 0, maxBytes: 100, topics: [{ topic: 'budget', partitions: [{ partition: 0, offset: 0, maxBytes: 0 }] }] });
    expect(bad.errorCode).toBe(ErrorCode.INVALID_REQUEST);
  });
});

describe('per-topic settings and persistence', () => {
  it('segment.bytes rolls that topic only; retention.bytes deletes its old segments after produces', async () => {
    const b = await t.broker();
    const c = await t.raw(b.port);
    const created = await call(c, CreateTopics, {
      topics: [create('small', 1, [{ name: 'segment.bytes', value: '1024' }, { name: 'retention.bytes', value: '2048' }])],
    });
    expect(created.topics[0]?.errorCode).toBe(0);
    for (let i = 0; i < 40; i++) {
      await call(c, Produce, produce('small', 0, `s${i}`.padEnd(200, '.')));
      await call(c, Produce, produce(TOPIC, 0, `t${i}`.padEnd(200, '.')));
    }
    const segmentsOf = (dir: string): number => readdirSync(join(b.dir, dir)).filter((n) => n.endsWith('.log')).length;
    expect(segmentsOf(`${TOPIC}-0`)).toBe(1);
    await waitFor(async () => {
      const res = await call(c, Fetch, fetchOf('small', [[0, 0]]));
      return res.topics[0]?.partitions[0]?.errorCode === ErrorCode.OFFSET_OUT_OF_RANGE;
    });
    const start = await call(c, ListOffsets, { topic: 'small', partition: 0, timestamp: -2 });
    expect(start.offset).toBeGreaterThan(0);
    expect(segmentsOf('small-0')).toBeLessThanOrEqual(4);
  });

  it('the registry survives a restart: topics, partition counts, settings and records', async () => {
    const tmp = tempDir('topics-restart-');
    t.defer(() => tmp.remove());
    const dir = join(tmp.path, 'data');
    const first = await Broker.start({ dir, port: 0 }, { ...realSeams(), logger: () => undefined });
    await first.createTopic({ name: 'kept', partitions: 2, segmentBytesMax: 2048 });
    const c = await t.raw(first.port);
    await call(c, Produce, produce('kept', 1, 'durable'));
    await c.close();
    await first.close();
    const second = await Broker.start({ dir, port: 0 }, { ...realSeams(), logger: () => undefined });
    t.defer(() => second.close());
    expect(second.topics()).toEqual([{ name: 'kept', partitions: 2, segmentBytesMax: 2048, internal: false }]);
    const d = await t.raw(second.port);
    const fetched = await call(d, Fetch, fetchOf('kept', [[1, 0]]));
    expect(valuesOf(fetched.topics[0]?.partitions[0]?.records ?? [])).toEqual(['durable']);
  });
});
