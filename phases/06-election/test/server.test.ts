/**
 * The broker over real TCP on 127.0.0.1: every API, every error code it can send, atomic
 * contiguous offsets under concurrent producers, pipelining with in-order responses, long
 * polls (woken by an append; timing out empty, on a ManualClock), and misbehaving clients
 * that must not disturb well-behaved ones, among them issue 12's hostile clients: a client
 * id that is not UTF-8, and batches that set fields only the broker may set. (Since phase
 * 3 each request names partition 0 of the test topic; phase 3's own tests cover several
 * topics and partitions.)
 */
import { crc32c } from '@node-rs/crc32';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { propertySeed, waitFor } from '../../../shared/src/testing.ts';
import { ManualClock } from '../src/seams/clock.ts';
import { Consumer } from '../src/client/consumer.ts';
import { Producer } from '../src/client/producer.ts';
import { MemoryStorage } from '../src/seams/memory-storage.ts';
import { PartitionManager } from '../src/topics/partitions.ts';
import { decodeBareResponse } from '../src/protocol/api.ts';
import { ApiVersions } from '../src/protocol/api-versions.ts';
import { apiByKey } from '../src/protocol/apis.ts';
import { ByteReader } from '../src/protocol/bytes.ts';
import { ErrorCode } from '../src/protocol/errors.ts';
import { Fetch, type FetchResponse } from '../src/protocol/fetch.ts';
import { encodeRequestFrame } from '../src/protocol/header.ts';
import { EARLIEST_TIMESTAMP, LATEST_TIMESTAMP, ListOffsets } from '../src/protocol/list-offsets.ts';
import { Metadata } from '../src/protocol/metadata.ts';
import { Produce } from '../src/protocol/produce.ts';
import { decodeBatch, encodeBatch } from '../src/log/record-batch.ts';
import { RequestHandler } from '../src/server/handlers.ts';
import { TOPIC, fetchOne, onTopic, partitionOf, testResources } from './wire-helpers.ts';
import { realSeams } from '../src/seams/real.ts';

const t = testResources();
const broker = t.broker;
const raw = t.raw;

function batchOf(...values: string[]): Buffer {
  return encodeBatch(
    values.map((v) => ({ value: Buffer.from(v) })),
    { baseTimestamp: 1_700_000_000_000 },
  );
}

const produceReq = (records: Buffer[], acks = -1) => onTopic({ acks, timeoutMs: 1000, records });

describe('APIs', () => {
  it('ApiVersions lists every API with its versions; Metadata advertises the listening address', async () => {
    const b = await broker();
    const c = await raw(b.port);
    c.sendRequest(ApiVersions, {}, 7);
    c.sendRequest(Metadata, { topics: null, allowAutoTopicCreation: false }, 8);
    const versions = await c.nextResponse(ApiVersions);
    expect(versions.correlationId).toBe(7);
    // Phase 3 moved Produce, Fetch, ListOffsets and Metadata to v1 (they name topics) and added CreateTopics;
    // phase 4 added the consumer-group APIs (8-16); phase 5 moved Fetch (replicaId) and Metadata
    // (replicas, ISR, HW, LEO) to v2; phase 6 moved Produce, Fetch and ListOffsets (the
    // fetcher's currentLeaderEpoch) and Metadata (each partition's leaderEpoch) one version up,
    // and added OffsetForLeaderEpoch (23, KIP-101).
    expect(versions.res.apis).toEqual([
      [0, 2],
      [1, 3],
      [2, 2],
      [3, 3],
      ...[8, 9, 10, 11, 12, 13, 14, 15, 16].map((apiKey) => [apiKey, 0]),
      [18, 0],
      [19, 0],
      [23, 0],
    ].map(([apiKey, v]) => ({ apiKey, minVersion: v, maxVersion: v })));
    const metadata = await c.nextResponse(Metadata);
    expect(metadata).toEqual({
      correlationId: 8,
      res: {
        errorCode: 0,
        errorMessage: null,
        brokers: [{ nodeId: 0, host: '127.0.0.1', port: b.port }],
        // Metadata v3 (phase 6): leaderEpoch -1, a broker without a controller knows no epochs.
        topics: [{ errorCode: 0, topic: TOPIC, isInternal: false, partitions: [{ partition: 0, leaderId: 0, leaderEpoch: -1, replicas: [0], isr: [0], highWatermark: 0, logEndOffset: 0 }], configs: [] }],
      },
    });
  });

  it('Produce stamps contiguous offsets, Fetch returns the stored batches byte for byte, ListOffsets reports both ends', async () => {
    const b = await broker();
    const c = await raw(b.port);
    const first = batchOf('a', 'b');
    const second = batchOf('c');
    const third = batchOf('d', 'e', 'f');
    c.sendRequest(Produce, produceReq([first]), 1);
    expect((await c.nextResponse(Produce)).res).toEqual({ errorCode: 0, errorMessage: null, baseOffset: 0, lastOffset: 1, logStartOffset: 0 });
    // Two batches in one request: appended back to back, contiguous.
    c.sendRequest(Produce, produceReq([second, third]), 2);
    expect((await c.nextResponse(Produce)).res).toMatchObject({ errorCode: 0, baseOffset: 2, lastOffset: 5 });

    c.sendRequest(Fetch, fetchOne({ offset: 1, maxBytes: 1 << 20, maxWaitMs: 0 }), 3);
    const fetched = partitionOf((await c.nextResponse(Fetch)).res);
    expect(fetched).toMatchObject({ errorCode: 0, highWatermark: 6, logStartOffset: 0 });
    const stored = Buffer.concat(fetched.records);
    // The broker stamped base offsets 0, 2, 3 into the producer's bytes; nothing else changed.
    const expected = [first, second, third].map((batch, i) => {
      const copy = Buffer.from(batch);
      copy.writeBigInt64BE(BigInt([0, 2, 3][i] as number));
      return copy;
    });
    expect(stored.equals(Buffer.concat(expected))).toBe(true);
    expect(decodeBatch(expected[2] as Buffer).records.map((r) => r.offset)).toEqual([3, 4, 5]);

    c.sendRequest(ListOffsets, onTopic({ timestamp: EARLIEST_TIMESTAMP }), 4);
    c.sendRequest(ListOffsets, onTopic({ timestamp: LATEST_TIMESTAMP }), 5);
    expect((await c.nextResponse(ListOffsets)).res.offset).toBe(0);
    expect((await c.nextResponse(ListOffsets)).res.offset).toBe(6);
  });
});

describe('errors are codes, and the connection lives on', () => {
  it('answers each bad request with its Kafka error code and keeps serving the same connection', async () => {
    const b = await broker({ log: { batchBytesMax: 200 } });
    const c = await raw(b.port);
    const corrupt = batchOf('x');
    corrupt.writeUInt8(corrupt.readUInt8(corrupt.length - 1) ^ 0xff, corrupt.length - 1); // payload byte: the CRC no longer matches
    const good = batchOf('ok');
    const tooLarge = batchOf('y'.repeat(300));

    c.sendRequest(Produce, produceReq([corrupt]), 1);
    c.sendRequest(Produce, produceReq([good, corrupt]), 2); // one bad batch: none appended
    c.sendRequest(Produce, produceReq([tooLarge]), 3);
    c.sendRequest(Produce, produceReq([good], 0), 4);
    c.sendRequest(Produce, produceReq([Buffer.from('short')]), 5);
    c.sendRequest(Produce, produceReq([]), 6);
    c.sendRequest(Fetch, fetchOne({ offset: 99, maxBytes: 100, maxWaitMs: 0 }), 7);
    c.sendRequest(Fetch, fetchOne({ offset: 0, maxBytes: 0, maxWaitMs: 0 }), 8);
    c.sendRequest(ListOffsets, onTopic({ timestamp: 1_700_000_000_000 }), 9);
    c.sendRequest(Fetch, fetchOne({ offset: 0, maxBytes: 100, maxWaitMs: 0 }), 10, 5); // unsupported version
    c.sendRequest(ApiVersions, {}, 11, 3); // unsupported ApiVersions version still lists the APIs

    const codes: [number, number, string | null][] = [];
    for (const api of [Produce, Produce, Produce, Produce, Produce, Produce, Fetch, Fetch, ListOffsets, Fetch]) {
      const { correlationId, res } = await c.nextResponse(api as typeof Produce);
      // A Fetch reports errors per partition since phase 3.
      const { errorCode, errorMessage } = api === Fetch ? partitionOf(res as unknown as Parameters<typeof partitionOf>[0]) : res;
      codes.push([correlationId, errorCode, errorMessage]);
    }
    expect(codes.map(([cid, code]) => [cid, code])).toEqual([
      [1, ErrorCode.CORRUPT_MESSAGE],
      [2, ErrorCode.CORRUPT_MESSAGE],
      [3, ErrorCode.MESSAGE_TOO_LARGE],
      [4, ErrorCode.INVALID_REQUIRED_ACKS],
      [5, ErrorCode.CORRUPT_MESSAGE],
      [6, ErrorCode.INVALID_REQUEST],
      [7, ErrorCode.OFFSET_OUT_OF_RANGE],
      [8, ErrorCode.INVALID_REQUEST],
      [9, ErrorCode.INVALID_REQUEST],
      [10, ErrorCode.UNSUPPORTED_VERSION],
    ]);
    expect(codes[0]?.[2]).toMatch(/CRC mismatch/);
    expect(codes[2]?.[2]).toMatch(/exceeds batchBytesMax 200/);
    const versions = await c.nextResponse(ApiVersions);
    expect(versions.res.errorCode).toBe(ErrorCode.UNSUPPORTED_VERSION);
    expect(versions.res.apis.length).toBe(16); // phase 6 added OffsetForLeaderEpoch (23)

    // Out of range tells the consumer where the log is.
    c.sendRequest(Fetch, fetchOne({ offset: 99, maxBytes: 100, maxWaitMs: 0 }), 12);
    expect(partitionOf((await c.nextResponse(Fetch)).res)).toMatchObject({ errorCode: ErrorCode.OFFSET_OUT_OF_RANGE, highWatermark: 0, logStartOffset: 0 });

    // An unknown api key gets the common prefix only; trailing bytes are INVALID_REQUEST.
    c.send(encodeRequestFrame({ apiKey: 99, apiVersion: 0, correlationId: 13, clientId: null }, []));
    const bare = new ByteReader(await c.nextFrame());
    expect(bare.i32('correlationId')).toBe(13);
    expect(decodeBareResponse(bare)).toEqual({ errorCode: ErrorCode.INVALID_REQUEST, errorMessage: expect.stringMatching(/unknown api key 99/) });
    c.send(encodeRequestFrame({ apiKey: ApiVersions.apiKey, apiVersion: 0, correlationId: 14, clientId: null }, [Buffer.from([1, 2])]));
    expect((await c.nextResponse(ApiVersions)).res).toMatchObject({ errorCode: ErrorCode.INVALID_REQUEST, errorMessage: expect.stringMatching(/trailing bytes/) });

    // Nothing was appended by any of it, and the connection still works.
    c.sendRequest(Produce, produceReq([good]), 15);
    expect((await c.nextResponse(Produce)).res).toMatchObject({ errorCode: 0, baseOffset: 0, lastOffset: 0 });
    expect(c.isClosed).toBe(false);
    expect(b.logs).toEqual([]);
  });

  it('the request handler answers any body with a decodable response and never throws (fuzz)', async () => {
    const storage = new MemoryStorage();
    const partitions = await PartitionManager.open(storage, '/log');
    await partitions.createTopic({ name: TOPIC, partitions: 1 });
    const handler = new RequestHandler(partitions, new ManualClock(), {
      fetchWaitMsMax: 0,
      fetchBytesMax: 1 << 20,
      advertisedHost: 'h',
      advertisedPort: 1,
      logger: () => undefined,
      autoCreateTopics: false,
      defaultPartitions: 1,
      requestTopicsMax: 1000,
      requestItemsMax: 10_000,
      responseBytesMax: 16 << 20,
    });
    const keys = [0, 1, 2, 3, 18, 19, 23, 4, 99];
    try {
      await fc.assert(
        fc.asyncProperty(fc.constantFrom(...keys), fc.integer({ min: -1, max: 3 }), fc.uint8Array({ maxLength: 80 }), async (apiKey, apiVersion, body) => {
          const out = Buffer.concat(await handler.handle({ apiKey, apiVersion, correlationId: 1, clientId: null }, new ByteReader(Buffer.from(body))));
          const res = decodeBareResponseOrApi(out, apiKey);
          expect(Object.values(ErrorCode)).toContain(res.errorCode);
        }),
        { seed: propertySeed(), numRuns: 300 },
      );
    } finally {
      await partitions.close();
    }
  });
});

function decodeBareResponseOrApi(out: Buffer, apiKey: number): { errorCode: number } {
  const api = apiByKey(apiKey);
  return api === undefined ? decodeBareResponse(new ByteReader(out)) : api.decodeResponse(new ByteReader(out));
}

describe('concurrency and pipelining', () => {
  it('many concurrent producers: offsets unique, contiguous per send, nothing lost', async () => {
    const b = await broker();
    const producers = Array.from({ length: 12 }, (_, p) => new Producer({ ...realSeams(), port: b.port, clientId: `p${p}`, lingerMs: p % 3, maxInFlight: 1 + (p % 4), batchBytesMax: 300 + p * 50 }));
    await Promise.all(producers.map((p) => p.connect()));
    const sent = new Map<number, string>();
    await Promise.all(
      producers.map(async (producer, p) => {
        const sends = Array.from({ length: 25 }, (_, s) => {
          const values = Array.from({ length: 1 + ((p + s) % 4) }, (_, i) => `p${p}-s${s}-r${i}`);
          return producer.send({ topic: TOPIC, messages: values.map((value) => ({ value })) }).then((results) => {
            // One send() may span batches, but within one producer offsets ascend.
            for (let i = 1; i < results.length; i++) expect((results[i] as { offset: number }).offset).toBeGreaterThan((results[i - 1] as { offset: number }).offset);
            results.forEach((r, i) => {
              expect(sent.has(r.offset)).toBe(false);
              sent.set(r.offset, values[i] as string);
            });
          });
        });
        await Promise.all(sends);
      }),
    );
    await Promise.all(producers.map((p) => p.disconnect()));
    const total = sent.size;
    expect([...sent.keys()].sort((x, y) => x - y)).toEqual(Array.from({ length: total }, (_, i) => i));

    const consumer = new Consumer({ ...realSeams(), port: b.port, topic: TOPIC, maxWaitMs: 0 });
    await consumer.connect();
    const read = new Map<number, string>();
    for (let offset = 0; offset < total; ) {
      const result = await consumer.fetchResult(offset);
      for (const r of result.records) read.set(r.offset, r.value?.toString() ?? 'null');
      offset = result.nextOffset;
    }
    await consumer.disconnect();
    expect(read).toEqual(sent);
  });

  it('batches of concurrent requests never interleave: each batch is contiguous in the log', async () => {
    const b = await broker();
    const clients = await Promise.all(Array.from({ length: 8 }, () => raw(b.port)));
    clients.forEach((c, i) => {
      for (let k = 0; k < 10; k++) c.sendRequest(Produce, produceReq([batchOf(...Array.from({ length: 1 + ((i + k) % 5) }, (_, r) => `c${i}k${k}r${r}`))]), k);
    });
    const ranges: [number, number][] = [];
    for (const [i, c] of clients.entries()) {
      for (let k = 0; k < 10; k++) {
        const { correlationId, res } = await c.nextResponse(Produce);
        expect(correlationId).toBe(k);
        expect(res.lastOffset - res.baseOffset + 1).toBe(1 + ((i + k) % 5));
        ranges.push([res.baseOffset, res.lastOffset]);
      }
    }
    ranges.sort((x, y) => x[0] - y[0]);
    ranges.forEach(([base], j) => expect(base).toBe(j === 0 ? 0 : (ranges[j - 1] as [number, number])[1] + 1));
  });

  it('pipelined requests are answered in request order, even when an earlier one waits (long poll woken by a produce)', async () => {
    // On a ManualClock that never advances the fetch's 20 s wait cannot run out: only the
    // produce can answer it.
    const b = await broker({}, { clock: new ManualClock() });
    const a = await raw(b.port);
    const p = await raw(b.port);
    a.sendRequest(Fetch, fetchOne({ offset: 0, maxBytes: 1 << 20, maxWaitMs: 20_000 }), 1);
    a.sendRequest(ListOffsets, onTopic({ timestamp: LATEST_TIMESTAMP }), 2);
    a.sendRequest(ApiVersions, {}, 3);
    await waitFor(() => b.broker.parkedFetches === 1);
    // The later requests are done, but must wait behind the parked fetch.
    p.sendRequest(ApiVersions, {}, 1);
    await p.nextFrame();
    expect(a.bufferedFrames).toBe(0);

    p.sendRequest(Produce, produceReq([batchOf('wake')]), 2);
    const fetched = await a.nextResponse(Fetch);
    expect(fetched.correlationId).toBe(1);
    expect(decodeBatch(Buffer.concat(partitionOf(fetched.res).records)).records.map((r) => r.value?.toString())).toEqual(['wake']);
    expect((await a.nextResponse(ListOffsets)).correlationId).toBe(2);
    expect((await a.nextResponse(ApiVersions)).correlationId).toBe(3);
  });

  it('200 produce requests written at once on one connection get ascending offsets in request order', async () => {
    const b = await broker({ maxInFlightPerConnection: 16 });
    const c = await raw(b.port);
    const frames = Array.from({ length: 200 }, (_, i) => encodeRequestFrame({ apiKey: 0, apiVersion: Produce.minVersion, correlationId: i, clientId: 'x' }, Produce.encodeRequest(produceReq([batchOf(`v${i}`)]))));
    c.send(frames.flat());
    for (let i = 0; i < 200; i++) {
      const { correlationId, res } = await c.nextResponse(Produce);
      expect([correlationId, res.baseOffset]).toEqual([i, i]);
    }
  });
});

describe('fetch size bound', () => {
  /** Bytes of stored batches in a one-partition Fetch response. */
  const fetchedBytes = (res: FetchResponse): number => Buffer.concat(partitionOf(res).records).length;
  const hundredBytes = '0123456789'.repeat(10);

  it('reads at most fetchBytesMax per Fetch whatever maxBytes asks (at and past the bound), but always one whole batch', async () => {
    const batchBytes = batchOf(hundredBytes).length;
    const b = await broker({ fetchBytesMax: 2 * batchBytes });
    const c = await raw(b.port);
    c.sendRequest(Produce, produceReq([batchOf(hundredBytes), batchOf(hundredBytes), batchOf(hundredBytes)]), 1);
    await c.nextResponse(Produce);
    // At the bound: exactly two batches fit.
    c.sendRequest(Fetch, fetchOne({ offset: 0, maxBytes: 2 * batchBytes, maxWaitMs: 0 }), 2);
    expect(fetchedBytes((await c.nextResponse(Fetch)).res)).toBe(2 * batchBytes);
    // Past it: the client asks for 2 GiB, the broker still reads two batches.
    c.sendRequest(Fetch, fetchOne({ offset: 0, maxBytes: 0x7fff_ffff, maxWaitMs: 0 }), 3);
    expect(fetchedBytes((await c.nextResponse(Fetch)).res)).toBe(2 * batchBytes);
    // A bound smaller than one batch still returns that batch whole, so a consumer never stalls.
    const tiny = await broker({ fetchBytesMax: 1 });
    const d = await raw(tiny.port);
    d.sendRequest(Produce, produceReq([batchOf(hundredBytes), batchOf(hundredBytes)]), 4);
    await d.nextResponse(Produce);
    d.sendRequest(Fetch, fetchOne({ offset: 0, maxBytes: 1 << 20, maxWaitMs: 0 }), 5);
    expect(fetchedBytes((await d.nextResponse(Fetch)).res)).toBe(batchBytes);
  });
});

describe('long poll on a ManualClock', () => {
  it('an empty fetch at the log end waits exactly maxWaitMs, capped at fetchWaitMsMax (at and past it), then answers empty', async () => {
    const clock = new ManualClock();
    const b = await broker({ fetchWaitMsMax: 10_000 }, { clock });
    const c = await raw(b.port);
    c.sendRequest(Fetch, fetchOne({ offset: 0, maxBytes: 1000, maxWaitMs: 3_000 }), 1);
    c.sendRequest(Fetch, fetchOne({ offset: 0, maxBytes: 1000, maxWaitMs: 60_000 }), 2); // capped at 10 s
    // Pipelined: both are parked at time 0.
    await waitFor(() => b.broker.parkedFetches === 2);
    clock.advance(2_999);
    expect(b.broker.parkedFetches).toBe(2);
    clock.advance(1);
    const first = await c.nextResponse(Fetch);
    expect(first.correlationId).toBe(1);
    expect(partitionOf(first.res)).toMatchObject({ errorCode: 0, highWatermark: 0, records: [] });
    expect(b.broker.parkedFetches).toBe(1);
    clock.advance(6_999);
    expect(b.broker.parkedFetches).toBe(1);
    clock.advance(1);
    const second = await c.nextResponse(Fetch);
    expect(second.correlationId).toBe(2);
    expect(partitionOf(second.res)).toMatchObject({ errorCode: 0, records: [] });
    // maxWaitMs 0 never parks.
    c.sendRequest(Fetch, fetchOne({ offset: 0, maxBytes: 1000, maxWaitMs: 0 }), 3);
    expect((await c.nextResponse(Fetch)).correlationId).toBe(3);
    // At the bound, maxWaitMs = fetchWaitMsMax, the fetch waits all of it.
    c.sendRequest(Fetch, fetchOne({ offset: 0, maxBytes: 1000, maxWaitMs: 10_000 }), 4);
    await waitFor(() => b.broker.parkedFetches === 1);
    clock.advance(9_999);
    expect(b.broker.parkedFetches).toBe(1);
    clock.advance(1);
    const fourth = await c.nextResponse(Fetch);
    expect(fourth.correlationId).toBe(4);
    expect(partitionOf(fourth.res)).toMatchObject({ errorCode: 0, records: [] });
  });
});

describe('misbehaving clients', () => {
  it('garbage, oversized and truncated frames close only the offending connection, with a logged reason', async () => {
    const b = await broker({ frameBytesMax: 4096 });
    const producer = new Producer({ ...realSeams(), port: b.port });
    await producer.connect();
    t.defer(() => producer.disconnect());
    let acked = 0;
    let stop = false;
    const steady = (async () => {
      while (!stop) {
        await producer.send({ topic: TOPIC, messages: [{ value: `steady-${acked}` }] });
        acked++;
      }
    })();

    const attacks: [string, Buffer, RegExp][] = [
      ['oversized', Buffer.from([0x00, 0x10, 0x00, 0x00]), /frame of 1048576 bytes exceeds frameBytesMax 4096/],
      ['negative size', Buffer.from([0xff, 0xff, 0xff, 0xff]), /frame of -1 bytes is smaller than the 10-byte minimum/],
      ['too small for a header', Buffer.from([0, 0, 0, 3, 1, 2, 3]), /frame of 3 bytes is smaller/],
      ['clientId longer than the frame', Buffer.from([0, 0, 0, 10, 0, 18, 0, 0, 0, 0, 0, 1, 0x7f, 0x00]), /undecodable request header: clientId/],
    ];
    for (const [name, bytes, reason] of attacks) {
      const bad = await raw(b.port);
      bad.send(bytes);
      await bad.closed;
      expect(b.logs.some((l) => reason.test(l)), `${name}: ${b.logs.join('\n')}`).toBe(true);
    }
    // Random garbage with a plausible size: answered with an error or closed, never a crash.
    for (let i = 0; i < 20; i++) {
      const bad = await raw(b.port);
      const body = Buffer.from(fc.sample(fc.uint8Array({ minLength: 10, maxLength: 60 }), { seed: i, numRuns: 1 })[0] as Uint8Array);
      const size = Buffer.alloc(4);
      size.writeInt32BE(body.length);
      bad.send([size, body]);
      await Promise.race([bad.nextFrame().catch(() => undefined), bad.closed]);
      await bad.close();
    }
    const before = acked;
    await waitFor(() => acked >= before + 5);
    stop = true;
    await steady;
    expect(b.broker.connectionCount).toBeGreaterThanOrEqual(1);
  });
});

/** A request frame with a raw client id (the real client only sends UTF-8). */
function frameWithClientId(apiKey: number, apiVersion: number, correlationId: number, clientId: Buffer, body: readonly Buffer[]): Buffer {
  const head = Buffer.alloc(4 + 2 + 2 + 4 + 2);
  head.writeInt16BE(apiKey, 4);
  head.writeInt16BE(apiVersion, 6);
  head.writeInt32BE(correlationId, 8);
  head.writeInt16BE(clientId.length, 12);
  const frame = Buffer.concat([head, clientId, ...body]);
  frame.writeInt32BE(frame.length - 4, 0);
  return frame;
}

/** `batch` with the LogAppendTime timestamp-type bit (attributes bit 3) set and its CRC fixed. */
function withLogAppendTime(batch: Buffer): Buffer {
  const out = Buffer.from(batch);
  out.writeInt16BE(out.readInt16BE(21) | 0x08, 21);
  out.writeUInt32BE(crc32c(out.subarray(21)) >>> 0, 17);
  return out;
}

describe('hostile clients (issue 12): strings and batch fields', () => {
  it('a client id that is not UTF-8 (20,000 × 0xFF) gets its own API\'s INVALID_REQUEST, appends nothing, and the connection lives on', async () => {
    const b = await broker();
    const c = await raw(b.port);
    const bystander = await raw(b.port);
    const notUtf8 = Buffer.alloc(20_000, 0xff); // would decode to 60,000 bytes of U+FFFD
    c.send(frameWithClientId(Produce.apiKey, Produce.minVersion, 1, notUtf8, Produce.encodeRequest(produceReq([batchOf('x')]))));
    c.send(frameWithClientId(ApiVersions.apiKey, ApiVersions.minVersion, 2, notUtf8, []));
    // The three bytes of a real U+FFFD are UTF-8: a client id like any other.
    c.send(frameWithClientId(ApiVersions.apiKey, ApiVersions.minVersion, 3, Buffer.from('\uFFFD'), []));
    expect(await c.nextResponse(Produce)).toEqual({
      correlationId: 1,
      res: { errorCode: ErrorCode.INVALID_REQUEST, errorMessage: 'clientId: the 20000 bytes at position 10 are not UTF-8', baseOffset: -1, lastOffset: -1, logStartOffset: -1 },
    });
    expect((await c.nextResponse(ApiVersions)).res).toMatchObject({ errorCode: ErrorCode.INVALID_REQUEST, apis: [] });
    expect((await c.nextResponse(ApiVersions)).res.errorCode).toBe(ErrorCode.NONE);

    c.sendRequest(Produce, produceReq([batchOf('ok')]), 4);
    expect((await c.nextResponse(Produce)).res).toMatchObject({ errorCode: ErrorCode.NONE, baseOffset: 0, lastOffset: 0 });
    bystander.sendRequest(ListOffsets, onTopic({ timestamp: LATEST_TIMESTAMP }), 1);
    expect((await bystander.nextResponse(ListOffsets)).res).toMatchObject({ errorCode: ErrorCode.NONE, offset: 1 });
    expect([c.isClosed, b.logs]).toEqual([false, []]);
  });

  it('a batch setting a producer id, epoch or sequence, or LogAppendTime, is INVALID_RECORD and none of its request is appended; the leader epoch is stamped -1', async () => {
    const b = await broker();
    const c = await raw(b.port);
    const ts = { baseTimestamp: 1_700_000_000_000 };
    const value = Buffer.from('v');
    const refused = [
      encodeBatch([{ value }], { ...ts, producerId: 7 }),
      encodeBatch([{ value }], { ...ts, producerEpoch: 0 }),
      encodeBatch([{ value }], { ...ts, baseSequence: 0 }),
      withLogAppendTime(batchOf('t')),
    ];
    refused.forEach((batch, i) => c.sendRequest(Produce, produceReq([batch]), 1 + i));
    c.sendRequest(Produce, produceReq([batchOf('first'), refused[0] as Buffer]), 5); // the good first batch is not appended either
    const damaged = encodeBatch([{ value }], { ...ts, producerId: 7 });
    damaged.writeUInt8(damaged.readUInt8(damaged.length - 1) ^ 0xff, damaged.length - 1);
    c.sendRequest(Produce, produceReq([damaged]), 6); // damage is reported as damage, not as a producer id
    const answers: [number, string | null][] = [];
    for (let i = 0; i < 6; i++) {
      const { res } = await c.nextResponse(Produce);
      answers.push([res.errorCode, res.errorMessage]);
    }
    const idempotent = /idempotent producers are not supported \(phase 8\); send -1 for each$/;
    expect(answers).toEqual([
      [ErrorCode.INVALID_RECORD, expect.stringMatching(/^producerId 7, producerEpoch -1, baseSequence -1: /)],
      [ErrorCode.INVALID_RECORD, expect.stringMatching(idempotent)],
      [ErrorCode.INVALID_RECORD, expect.stringMatching(/baseSequence 0: idempotent/)],
      [ErrorCode.INVALID_RECORD, expect.stringMatching(/LogAppendTime timestamp type is not supported/)],
      [ErrorCode.INVALID_RECORD, expect.stringMatching(idempotent)],
      [ErrorCode.CORRUPT_MESSAGE, expect.stringMatching(/CRC mismatch/)],
    ]);

    // The partition leader epoch is the broker's: stored as -1 whatever the client sent, CRC still valid.
    c.sendRequest(Produce, produceReq([encodeBatch([{ value }], { ...ts, partitionLeaderEpoch: 7 })]), 7);
    expect((await c.nextResponse(Produce)).res).toMatchObject({ errorCode: ErrorCode.NONE, baseOffset: 0, lastOffset: 0 });
    c.sendRequest(Fetch, fetchOne({ offset: 0, maxBytes: 1 << 20, maxWaitMs: 0 }), 8);
    const stored = partitionOf((await c.nextResponse(Fetch)).res).records;
    expect(stored).toHaveLength(1);
    expect(decodeBatch(stored[0] as Buffer).header).toMatchObject({ baseOffset: 0, partitionLeaderEpoch: -1, producerId: -1 });
    expect(b.logs).toEqual([]);
  });
});
