/**
 * Phase 3's broker over real TCP: CreateTopics and its error codes (bad names get
 * INVALID_TOPIC_EXCEPTION and create nothing on disk), Produce/Fetch/ListOffsets naming a
 * topic and partition (unknown ones get UNKNOWN_TOPIC_OR_PARTITION, internal topics are not
 * writable by clients), Metadata listing topics with this broker as leader, auto-creation
 * (off by default), partition isolation, a multi-partition long poll, per-topic segment
 * size and retention, the registry surviving a restart, and issue 12's hostile clients:
 * a Metadata naming one wide topic 100,000 times, requests naming more topics or
 * partitions than allowed, answers past `responseBytesMax`, and names of 32,767 bytes or
 * of bytes that are not UTF-8.
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
import { encodeRequestFrame } from '../src/protocol/header.ts';
import { ByteReader } from '../src/protocol/bytes.ts';
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
        // Metadata v2 (phase 5): a broker on its own is the only replica and the whole ISR;
        // v3 (phase 6): leaderEpoch -1, a broker without a controller knows no epochs.
        partitions: [0, 1, 2].map((partition) => ({ partition, leaderId: 0, leaderEpoch: -1, replicas: [0], isr: [0], highWatermark: 0, logEndOffset: 0 })),
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
    // A topic named twice is created once and answered once (names are deduplicated, issue 12).
    const md = await call(c, Metadata, { topics: ['asked', 'asked'], allowAutoTopicCreation: true });
    expect(md.topics.map((x) => [x.topic, x.errorCode, x.partitions.length])).toEqual([['asked', 0, 4]]);
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

/** A request frame for `api` in which every byte of the first run of `marker` is 0xFF: a string that is not UTF-8. */
function frameWithBytesNotUtf8<Req, Res extends ResponseBase>(api: ApiCodec<Req, Res>, req: Req, marker: string, correlationId: number): Buffer {
  const frame = Buffer.concat(encodeRequestFrame({ apiKey: api.apiKey, apiVersion: api.minVersion, correlationId, clientId: 'raw' }, api.encodeRequest(req)));
  const at = frame.indexOf(marker);
  if (at < 0) throw new Error('marker not in frame');
  frame.fill(0xff, at, at + marker.length);
  return frame;
}

describe('hostile clients (issue 12)', () => {
  it('a Metadata naming one wide topic 100,000 times is refused past requestTopicsMax and answered once at it, while another client is served', async () => {
    const b = await t.broker({ requestTopicsMax: 10, topicLimits: { partitionsPerTopicMax: 50, partitionsTotalMax: 51 } });
    await b.broker.createTopic({ name: 'wide', partitions: 50 });
    const attacker = await t.raw(b.port);
    const bystander = await t.raw(b.port);
    const named = (n: number) => ({ topics: Array.from({ length: n }, () => 'wide'), allowAutoTopicCreation: false });
    attacker.sendRequest(Metadata, named(100_000), 1); // a 600 KB request
    bystander.sendRequest(Produce, produce(TOPIC, 0, 'served'), 1);
    attacker.sendRequest(Metadata, named(11), 2); // one past the bound
    attacker.sendRequest(Metadata, named(10), 3); // at it
    attacker.sendRequest(Metadata, named(1), 4);
    expect((await bystander.nextResponse(Produce)).res).toMatchObject({ errorCode: ErrorCode.NONE, baseOffset: 0 });
    // 100,000 names are refused by the decoder as soon as it reads the count (requestItemsMax, 10,000 by default);
    // 11 are decoded, then refused before any is looked up.
    const refusal = (errorMessage: string) => ({ errorCode: ErrorCode.INVALID_REQUEST, errorMessage, brokers: [], topics: [] });
    expect(await attacker.nextResponse(Metadata)).toEqual({ correlationId: 1, res: refusal('topicCount: 100000 more array elements would pass the 10000 one request may carry (requestItemsMax)') });
    expect(await attacker.nextResponse(Metadata)).toEqual({ correlationId: 2, res: refusal('Metadata names 11 topics, more than requestTopicsMax (10); name fewer, or ask for all') });
    const [atBound, once] = [await attacker.nextFrame(), await attacker.nextFrame()];
    // Ten mentions are answered exactly like one: a single entry of 50 partitions.
    expect(atBound.subarray(4)).toEqual(once.subarray(4));
    const answer = Metadata.decodeResponse(new ByteReader(atBound, 4));
    expect(answer.topics.map((x) => [x.topic, x.errorCode, x.partitions.length])).toEqual([['wide', ErrorCode.NONE, 50]]);
    // Metadata v3: a partition is 44 bytes (number, leader, leader epoch, replicas [0], ISR [0], HW, LEO).
    expect(atBound.length - 4).toBe(4 + 4 + (4 + 2 + '127.0.0.1'.length + 4) + 4 + (2 + 2 + 'wide'.length + 1 + 4 + 50 * 44 + 4));
    expect(b.logs).toEqual([]);
  });

  it('CreateTopics and Fetch name at most requestTopicsMax topics, and a request carries at most requestItemsMax array elements: at the bound served, one past INVALID_REQUEST', async () => {
    const b = await t.broker({ requestTopicsMax: 3, requestItemsMax: 8 });
    const c = await t.raw(b.port);
    const created = await call(c, CreateTopics, { topics: ['c1', 'c2', 'c3', 'c4'].map((n) => create(n, 1)) });
    expect(created).toEqual({ errorCode: ErrorCode.INVALID_REQUEST, errorMessage: 'CreateTopics names 4 topics, more than requestTopicsMax (3)', topics: [] });
    expect(b.broker.topics().map((x) => x.name)).toEqual([TOPIC]); // none of them created
    // 3 topics and 5 configs: 8 elements, at both bounds; one config more is past requestItemsMax.
    const settings = [{ name: 'segment.bytes', value: '4096' }, { name: 'retention.bytes', value: '8192' }];
    const atBounds = await call(c, CreateTopics, { topics: [create('c1', 1, settings), create('c2', 1, settings), create('c3', 1, settings.slice(1))] });
    expect(atBounds.topics.map((x) => x.errorCode)).toEqual([0, 0, 0]);
    const pastItems = await call(c, CreateTopics, { topics: [create('c4', 1, settings), create('c5', 1, settings), create('c6', 1, settings)] });
    expect(pastItems).toEqual({ errorCode: ErrorCode.INVALID_REQUEST, errorMessage: 'configCount: 2 more array elements would pass the 8 one request may carry (requestItemsMax)', topics: [] });
    expect(b.broker.topics().map((x) => x.name)).toEqual(['c1', 'c2', 'c3', TOPIC]);
    const fetchOfAll = (names: string[], partitions: number[]): FetchRequest => ({
      maxWaitMs: 0,
      maxBytes: 1000,
      topics: names.map((topic) => ({ topic, partitions: partitions.map((partition) => ({ partition, offset: 0, maxBytes: 1000 })) })),
    });
    expect(await call(c, Fetch, fetchOfAll(['c1', 'c2', 'c3', TOPIC], [0]))).toEqual({ errorCode: ErrorCode.INVALID_REQUEST, errorMessage: 'Fetch names 4 topics, more than requestTopicsMax (3)', topics: [] });
    expect(await call(c, Fetch, fetchOfAll(['c1', 'c2'], [0, 1, 2, 3]))).toEqual({ errorCode: ErrorCode.INVALID_REQUEST, errorMessage: 'partitionCount: 4 more array elements would pass the 8 one request may carry (requestItemsMax)', topics: [] });
    const served = await call(c, Fetch, fetchOfAll(['c1', 'c2'], [0, 1, 2])); // 2 topics + 6 partitions
    expect(served.topics.map((x) => x.partitions.map((p) => p.errorCode))).toEqual([
      [ErrorCode.NONE, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION],
      [ErrorCode.NONE, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION],
    ]);
    // An 8 MiB Metadata of 4 million empty names costs one count check.
    const huge = Buffer.alloc(4 + 2 * 4_000_000 + 1);
    huge.writeInt32BE(4_000_000, 0);
    c.send(encodeRequestFrame({ apiKey: Metadata.apiKey, apiVersion: Metadata.minVersion, correlationId: 9, clientId: null }, [huge]));
    expect((await c.nextResponse(Metadata)).res.errorMessage).toBe('topicCount: 4000000 more array elements would pass the 8 one request may carry (requestItemsMax)');
    expect(b.logs).toEqual([]);
  });

  it('no answer is larger than responseBytesMax: at the bound it is sent, one byte past it the API answers POLICY_VIOLATION', async () => {
    // The smallest responseBytesMax the broker takes: fetchBytesMax + the log's batchBytesMax + 291.
    const b = await t.broker({ fetchBytesMax: 8, log: { batchBytesMax: 100 }, responseBytesMax: 399 });
    // Metadata v3 (phase 6): 44 bytes a partition (v2's 40 and the leader epoch), so three partitions and a longer name.
    const [at, past] = ['n'.repeat(223), 'n'.repeat(224)];
    await b.broker.createTopic({ name: at, partitions: 3 });
    await b.broker.createTopic({ name: past, partitions: 3 });
    const c = await t.raw(b.port);
    const sizeOf = (topic: string, partitions: number): number => 4 + 4 + (4 + 2 + 9 + 4) + 4 + (2 + 2 + topic.length + 1 + 4 + partitions * 44 + 4);
    expect([sizeOf(at, 3), sizeOf(past, 3)]).toEqual([399, 400]);
    c.sendRequest(Metadata, { topics: [at], allowAutoTopicCreation: false }, 1);
    const sent = await c.nextFrame();
    expect(sent.length - 4).toBe(399);
    expect(Metadata.decodeResponse(new ByteReader(sent, 4)).topics[0]?.partitions).toHaveLength(3);
    expect(await call(c, Metadata, { topics: [past], allowAutoTopicCreation: false })).toEqual({
      errorCode: ErrorCode.POLICY_VIOLATION,
      errorMessage: 'the Metadata answer would be 400 bytes, more than responseBytesMax (399); ask for less',
      brokers: [],
      topics: [],
    });
    // A one-partition Fetch of the largest batch always fits (what the lower bound on responseBytesMax is for).
    const big = batchOf('v'.repeat(30));
    expect(big.length).toBeLessThanOrEqual(100);
    expect(await call(c, Produce, { acks: -1, timeoutMs: 1000, topic: TOPIC, partition: 0, records: [big] })).toMatchObject({ errorCode: ErrorCode.NONE });
    const fetched = await call(c, Fetch, fetchOf(TOPIC, [[0, 0]], 0, 8));
    expect(fetched.topics[0]?.partitions[0]).toMatchObject({ errorCode: ErrorCode.NONE, records: [big] });
    expect(b.logs).toEqual([]);
  });

  it('requestTopicsMax, requestItemsMax and responseBytesMax are checked at start: below 1, or responseBytesMax under fetchBytesMax + batchBytesMax + 291, stops Broker.start', async () => {
    const tmp = tempDir('topics-bounds-');
    t.defer(() => tmp.remove());
    const dir = join(tmp.path, 'data');
    await expect(Broker.start({ dir, port: 0, requestTopicsMax: 0 }, realSeams())).rejects.toThrow(new InvalidConfigError('requestTopicsMax must be an integer >= 1, got 0'));
    await expect(Broker.start({ dir, port: 0, requestItemsMax: 0.5 }, realSeams())).rejects.toThrow(new InvalidConfigError('requestItemsMax must be an integer >= 1, got 0.5'));
    await expect(Broker.start({ dir, port: 0, responseBytesMax: 0 }, realSeams())).rejects.toThrow(InvalidConfigError);
    await expect(Broker.start({ dir, port: 0, fetchBytesMax: 8, log: { batchBytesMax: 100 }, responseBytesMax: 398 }, realSeams())).rejects.toThrow(
      new InvalidConfigError('responseBytesMax (398) must be at least fetchBytesMax + log.batchBytesMax + 291 (8 + 100 + 291)'),
    );
    await expect(Broker.start({ dir, port: 0, responseBytesMax: 9 * 1024 * 1024 }, realSeams())).rejects.toThrow(/\(8388608 \+ 1048576 \+ 291\)$/);
    expect(readdirSync(tmp.path)).toEqual([]);
    const atBounds = await Broker.start({ dir, port: 0, requestTopicsMax: 1, requestItemsMax: 1, fetchBytesMax: 8, log: { batchBytesMax: 100 }, responseBytesMax: 399 }, { ...realSeams(), logger: () => undefined });
    await atBounds.close();
  });

  it('a topic name of 32,767 bytes gets INVALID_TOPIC_EXCEPTION on every API, with a short message, and the connection lives on', async () => {
    const b = await t.broker({ autoCreateTopics: true });
    const c = await t.raw(b.port);
    const long = 'x'.repeat(0x7fff);
    const message = `invalid topic name "${'x'.repeat(64)}"… (32767 bytes): longer than 249 characters (32767)`;
    expect(await call(c, CreateTopics, { topics: [create(long, 1), create('fine', 1)] })).toEqual({
      errorCode: ErrorCode.NONE,
      errorMessage: null,
      topics: [
        { name: long, errorCode: ErrorCode.INVALID_TOPIC_EXCEPTION, errorMessage: message },
        { name: 'fine', errorCode: ErrorCode.NONE, errorMessage: null },
      ],
    });
    expect(await call(c, Produce, produce(long, 0, 'x'))).toMatchObject({ errorCode: ErrorCode.INVALID_TOPIC_EXCEPTION, errorMessage: message });
    const fetched = await call(c, Fetch, fetchOf(long, [[0, 0], [1, 0]]));
    expect(fetched.topics.map((x) => [x.topic === long, x.partitions.map((p) => [p.errorCode, p.errorMessage])])).toEqual([
      [true, [[ErrorCode.INVALID_TOPIC_EXCEPTION, message], [ErrorCode.INVALID_TOPIC_EXCEPTION, message]]],
    ]);
    const zeroMax = await call(c, Fetch, { ...fetchOf(long, [[0, 0]]), topics: [{ topic: long, partitions: [{ partition: 0, offset: 0, maxBytes: 0 }] }] });
    expect(zeroMax).toMatchObject({ errorCode: ErrorCode.INVALID_REQUEST, errorMessage: `"${'x'.repeat(64)}"… (32767 bytes)-0: partitionMaxBytes must be > 0, got 0` });
    expect(await call(c, ListOffsets, { topic: long, partition: 0, timestamp: LATEST_TIMESTAMP })).toMatchObject({ errorCode: ErrorCode.INVALID_TOPIC_EXCEPTION, errorMessage: message });
    const md = await call(c, Metadata, { topics: [long], allowAutoTopicCreation: true });
    expect(md.topics.map((x) => [x.topic === long, x.errorCode])).toEqual([[true, ErrorCode.INVALID_TOPIC_EXCEPTION]]);
    // Topic settings are client strings too.
    const badConfigs = await call(c, CreateTopics, {
      topics: [create('cfg', 1, [{ name: long, value: '1' }]), create('cfg', 1, [{ name: 'segment.bytes', value: long }])],
    });
    expect(badConfigs.topics.map((x) => [x.errorCode, x.errorMessage])).toEqual([
      [ErrorCode.INVALID_CONFIG, `unknown topic config "${'x'.repeat(64)}"… (32767 bytes) (known: segment.bytes, retention.bytes)`],
      [ErrorCode.INVALID_CONFIG, `topic config segment.bytes must be a decimal integer, got "${'x'.repeat(64)}"… (32767 bytes)`],
    ]);
    expect(await call(c, Produce, produce(TOPIC, 0, 'still served'))).toMatchObject({ errorCode: ErrorCode.NONE, baseOffset: 0 });
    expect(b.broker.topics().map((x) => x.name).sort()).toEqual(['fine', TOPIC]);
    expect([c.isClosed, b.logs]).toEqual([false, []]);
  });

  it('a topic name of 20,000 bytes that are not UTF-8 (60,000 bytes as U+FFFD) is INVALID_REQUEST on every API, never echoed', async () => {
    const b = await t.broker({ autoCreateTopics: true });
    const c = await t.raw(b.port);
    const marker = 'm'.repeat(20_000);
    const requests: [ApiCodec<never, ResponseBase>, unknown][] = [
      [CreateTopics as never, { topics: [create(marker, 1)] }],
      [Produce as never, produce(marker, 0, 'x')],
      [Fetch as never, fetchOf(marker, [[0, 0]])],
      [ListOffsets as never, { topic: marker, partition: 0, timestamp: LATEST_TIMESTAMP }],
      [Metadata as never, { topics: [marker], allowAutoTopicCreation: true }],
    ];
    for (const [i, [api, req]] of requests.entries()) c.send(frameWithBytesNotUtf8(api, req as never, marker, 100 + i));
    for (const [i, [api]] of requests.entries()) {
      const frame = await c.nextFrame();
      expect(frame.readInt32BE(0)).toBe(100 + i);
      expect(frame.length, api.name).toBeLessThan(200);
      expect(api.decodeResponse(new ByteReader(frame, 4))).toMatchObject({ errorCode: ErrorCode.INVALID_REQUEST, errorMessage: expect.stringMatching(/the 20000 bytes at position \d+ are not UTF-8$/) });
    }
    expect(await call(c, Produce, produce(TOPIC, 0, 'still served'))).toMatchObject({ errorCode: ErrorCode.NONE });
    expect(b.broker.topics().map((x) => x.name)).toEqual([TOPIC]);
    expect(b.logs).toEqual([]);
  });
});
