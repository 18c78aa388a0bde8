/**
 * The wire codecs: every message round-trips (as a property over random values and random
 * TCP chunking), and every decoder, fed random bytes or mutated valid frames, either
 * decodes or throws `ProtocolError`, never anything else, and never allocates from a
 * length or count it has not checked against the bytes present.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { propertySeed } from '../../../shared/src/testing.ts';
import { encodeBatch } from '../src/log/record-batch.ts';
import { type ApiCodec, type ResponseBase, decodeBareResponse, encodeBareResponse } from '../src/protocol/api.ts';
import { ApiVersions } from '../src/protocol/api-versions.ts';
import { APIS, apiByKey } from '../src/protocol/apis.ts';
import { ByteReader, ByteWriter } from '../src/protocol/bytes.ts';
import { CreateTopics } from '../src/protocol/create-topics.ts';
import { ErrorCode, ProtocolError, errorName } from '../src/protocol/errors.ts';
import { Fetch } from '../src/protocol/fetch.ts';
import { FrameDecoder } from '../src/protocol/frame-decoder.ts';
import { type RequestHeader, decodeRequestHeader, decodeResponseHeader, encodeRequestFrame, encodeResponseFrame } from '../src/protocol/header.ts';
import { ListOffsets } from '../src/protocol/list-offsets.ts';
import { Metadata } from '../src/protocol/metadata.ts';
import { OffsetForLeaderEpoch } from '../src/protocol/offset-for-leader-epoch.ts';
import { Produce } from '../src/protocol/produce.ts';
import { splitBatches } from '../src/protocol/records.ts';

const seed = propertySeed();
const i16 = fc.integer({ min: -0x8000, max: 0x7fff });
const i32 = fc.integer({ min: -0x8000_0000, max: 0x7fff_ffff });
const i64 = fc.integer({ min: Number.MIN_SAFE_INTEGER, max: Number.MAX_SAFE_INTEGER });
const text = fc.oneof(fc.string({ maxLength: 40 }), fc.string({ unit: 'grapheme', maxLength: 20 }));
const nullableText = fc.option(text, { nil: null });
const bytes = fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a));
const chunks = fc.array(bytes, { maxLength: 4 });
const prefix = { errorCode: i16, errorMessage: nullableText };

/** Since phase 3: topics with partitions, nested as the requests nest them; phase 6 (Fetch v3): each partition's currentLeaderEpoch. */
const fetchTopics = fc.array(
  fc.record({ topic: text, partitions: fc.array(fc.record({ partition: i32, currentLeaderEpoch: i32, offset: i64, maxBytes: i32 }), { maxLength: 4 }) }),
  { maxLength: 3 },
);
const fetchResults = fc.array(
  fc.record({
    topic: text,
    partitions: fc.array(fc.record({ partition: i32, errorCode: i16, errorMessage: nullableText, highWatermark: i64, logStartOffset: i64, records: chunks }), {
      maxLength: 3,
    }),
  }),
  { maxLength: 3 },
);
const configs = fc.array(fc.record({ name: text, value: nullableText }), { maxLength: 3 });
const topicMetadata = fc.record({
  errorCode: i16,
  topic: text,
  isInternal: fc.boolean(),
  // Phase 5 (Metadata v2): replicas, ISR, and the answering broker's own HW and LEO; phase 6 (v3): the leader epoch.
  partitions: fc.array(
    fc.record({
      partition: i32,
      leaderId: i32,
      leaderEpoch: i32,
      replicas: fc.array(i32, { maxLength: 4 }),
      isr: fc.array(i32, { maxLength: 4 }),
      highWatermark: i64,
      logEndOffset: i64,
    }),
    { maxLength: 5 },
  ),
  configs,
});

/** Arbitrary requests and responses for every API. */
const MESSAGES = [
  {
    api: Produce,
    // Phase 6 (Produce v2): the leader epoch the producer believes current.
    req: fc.record({ acks: i16, timeoutMs: i32, topic: text, partition: i32, currentLeaderEpoch: i32, records: chunks }),
    res: fc.record({ ...prefix, baseOffset: i64, lastOffset: i64, logStartOffset: i64 }),
  },
  // Phase 5 (Fetch v2): who is fetching, a consumer (-1) or a follower (its broker id).
  { api: Fetch, req: fc.record({ replicaId: i32, maxWaitMs: i32, maxBytes: i32, topics: fetchTopics }), res: fc.record({ ...prefix, topics: fetchResults }) },
  // Phase 6 (ListOffsets v2): currentLeaderEpoch.
  { api: ListOffsets, req: fc.record({ topic: text, partition: i32, currentLeaderEpoch: i32, timestamp: i64 }), res: fc.record({ ...prefix, offset: i64 }) },
  {
    api: Metadata,
    req: fc.record({ topics: fc.option(fc.array(text, { maxLength: 4 }), { nil: null }), allowAutoTopicCreation: fc.boolean() }),
    res: fc.record({
      ...prefix,
      brokers: fc.array(fc.record({ nodeId: i32, host: text, port: i32 }), { maxLength: 5 }),
      topics: fc.array(topicMetadata, { maxLength: 3 }),
    }),
  },
  {
    api: CreateTopics,
    req: fc.record({ topics: fc.array(fc.record({ name: text, numPartitions: i32, configs }), { maxLength: 3 }) }),
    res: fc.record({ ...prefix, topics: fc.array(fc.record({ name: text, errorCode: i16, errorMessage: nullableText }), { maxLength: 3 }) }),
  },
  {
    api: ApiVersions,
    req: fc.constant({}),
    res: fc.record({ ...prefix, apis: fc.array(fc.record({ apiKey: i16, minVersion: i16, maxVersion: i16 }), { maxLength: 8 }) }),
  },
  // Phase 6 (KIP-101); offset-for-leader-epoch.test.ts has its exact bytes.
  {
    api: OffsetForLeaderEpoch,
    req: fc.record({
      replicaId: i32,
      topics: fc.array(fc.record({ topic: text, partitions: fc.array(fc.record({ partition: i32, currentLeaderEpoch: i32, leaderEpoch: i32 }), { maxLength: 4 }) }), { maxLength: 3 }),
    }),
    res: fc.record({
      ...prefix,
      topics: fc.array(
        fc.record({ topic: text, partitions: fc.array(fc.record({ partition: i32, errorCode: i16, errorMessage: nullableText, leaderEpoch: i32, endOffset: i64 }), { maxLength: 4 }) }),
        { maxLength: 3 },
      ),
    }),
  },
] as const;

/** Any API with a request and a response for it. */
const anyMessage = fc
  .constantFrom(...MESSAGES)
  .chain((m) =>
    fc.tuple(fc.constant(m.api as unknown as ApiCodec<unknown, ResponseBase>), m.req as fc.Arbitrary<unknown>, m.res as fc.Arbitrary<ResponseBase>),
  );

/** Byte fields travel as chunks but decode as one view: compare their concatenation. */
function normalise(value: unknown): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map(normalise);
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    out[k] = k === 'records' && Array.isArray(v) ? Buffer.concat(v as Buffer[]).toString('hex') : normalise(v);
  }
  return out;
}

function decodeAll<T>(decode: (r: ByteReader) => T, chunksIn: readonly Buffer[]): T {
  return decode(new ByteReader(Buffer.concat(chunksIn)));
}

/** Split `buf` at the given cut points (TCP may deliver any chunking). */
function cut(buf: Buffer, points: readonly number[]): Buffer[] {
  const sorted = [...new Set(points.map((p) => p % (buf.length + 1)))].sort((a, b) => a - b);
  const out: Buffer[] = [];
  let last = 0;
  for (const p of sorted) {
    out.push(buf.subarray(last, p));
    last = p;
  }
  out.push(buf.subarray(last));
  return out;
}

/** Run `fn`; it may return, or throw ProtocolError; anything else fails the property. */
function onlyProtocolErrors(fn: () => unknown): void {
  try {
    fn();
  } catch (err) {
    if (!(err instanceof ProtocolError)) throw err;
  }
}

describe('codec round trips', () => {
  for (const { api, req, res } of MESSAGES) {
    const codec = api as unknown as ApiCodec<unknown, ResponseBase>;
    it(`${api.name} request and response decode to what was encoded`, () => {
      fc.assert(
        fc.property(req, res, (request, response) => {
          expect(normalise(decodeAll((r) => codec.decodeRequest(r), codec.encodeRequest(request)))).toEqual(normalise(request));
          expect(normalise(decodeAll((r) => codec.decodeResponse(r), codec.encodeResponse(response)))).toEqual(normalise(response));
        }),
        { seed, numRuns: 150 },
      );
    });
  }

  it('request and response frames survive any chunking by the stream', () => {
    const header = fc.record({ apiVersion: i16, correlationId: i32, clientId: nullableText });
    fc.assert(
      fc.property(anyMessage, header, fc.array(fc.nat(), { maxLength: 12 }), ([codec, request, response], partial, cuts) => {
        const h: RequestHeader = { apiKey: codec.apiKey, ...partial };
        const stream = Buffer.concat([
          ...encodeRequestFrame(h, codec.encodeRequest(request)),
          ...encodeResponseFrame(h.correlationId, codec.encodeResponse(response)),
        ]);
        const decoder = new FrameDecoder(1 << 20);
        const frames: Buffer[] = [];
        for (const piece of cut(stream, cuts)) {
          decoder.push(piece);
          for (let f = decoder.next(); f !== null; f = decoder.next()) frames.push(f);
        }
        expect(frames).toHaveLength(2);
        expect(decoder.bufferedBytes).toBe(0);
        const rq = new ByteReader(frames[0] as Buffer);
        expect(decodeRequestHeader(rq)).toEqual(h);
        expect(normalise(codec.decodeRequest(rq))).toEqual(normalise(request));
        const rs = new ByteReader(frames[1] as Buffer);
        expect(decodeResponseHeader(rs)).toBe(h.correlationId);
        expect(normalise(codec.decodeResponse(rs))).toEqual(normalise(response));
      }),
      { seed, numRuns: 200 },
    );
  });

  it('a bare error response (unknown api key) is just the common prefix', () => {
    const res = { errorCode: ErrorCode.INVALID_REQUEST, errorMessage: 'unknown api key 99' };
    expect(decodeAll(decodeBareResponse, encodeBareResponse(res))).toEqual(res);
  });

  it('i64 fields carry every safe integer, including negatives, and reject the rest', () => {
    fc.assert(
      fc.property(i64, (v) => {
        expect(new ByteReader(new ByteWriter(8).i64(v).finish()).i64('v')).toBe(v);
      }),
      { seed, numRuns: 500 },
    );
    const unsafe = Buffer.from('0020000000000000', 'hex'); // 2^53
    expect(() => new ByteReader(unsafe).i64('offset')).toThrow(ProtocolError);
    expect(() => new ByteWriter(8).i64(2 ** 53)).toThrow(ProtocolError);
  });
});

describe('decoders reject bad bytes with ProtocolError only', () => {
  const decoders: { name: string; decode: (r: ByteReader) => unknown }[] = [
    { name: 'request header', decode: decodeRequestHeader },
    { name: 'bare response', decode: decodeBareResponse },
  ];
  for (const api of APIS) {
    decoders.push({ name: `${api.name} request`, decode: (r) => api.decodeRequest(r) });
    decoders.push({ name: `${api.name} response`, decode: (r) => api.decodeResponse(r) });
  }

  it('random bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 120 }), (raw) => {
        for (const d of decoders) onlyProtocolErrors(() => d.decode(new ByteReader(Buffer.from(raw))));
        onlyProtocolErrors(() => splitBatches(Buffer.from(raw)));
      }),
      { seed, numRuns: 400 },
    );
  });

  it('mutated, truncated and extended valid encodings', () => {
    const mutation = fc.record({
      flips: fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }),
      truncateTo: fc.option(fc.nat(), { nil: undefined }),
      extra: fc.uint8Array({ maxLength: 3 }),
    });
    fc.assert(
      fc.property(anyMessage, fc.boolean(), mutation, ([codec, req, res], request, m) => {
        const valid = Buffer.concat(request ? codec.encodeRequest(req) : codec.encodeResponse(res));
        let mutated = Buffer.from(valid);
        for (const [at, byte] of m.flips) if (mutated.length > 0) mutated[at % mutated.length] = byte;
        if (m.truncateTo !== undefined) mutated = mutated.subarray(0, m.truncateTo % (mutated.length + 1));
        mutated = Buffer.concat([mutated, Buffer.from(m.extra)]);
        const decode = (r: ByteReader): unknown => (request ? codec.decodeRequest(r) : codec.decodeResponse(r));
        onlyProtocolErrors(() => decode(new ByteReader(mutated)));
        if (m.extra.length > 0 && m.flips.length === 0 && m.truncateTo === undefined) {
          expect(() => decode(new ByteReader(mutated))).toThrow(/trailing bytes/);
        }
      }),
      { seed, numRuns: 600 },
    );
  });

  it('a count or length of 0xFFFFFFFF or 0x7FFFFFFF in a tiny frame throws before allocating', () => {
    const heapBefore = process.memoryUsage().heapUsed;
    for (const count of [0xffff_ffff, 0x7fff_ffff]) {
      const claim = Buffer.alloc(4);
      claim.writeUInt32BE(count);
      const noError = Buffer.from([0, 0, 0xff, 0xff]); // errorCode 0, errorMessage null
      const metadata = Buffer.concat([noError, claim, Buffer.alloc(10)]);
      expect(() => Metadata.decodeResponse(new ByteReader(metadata))).toThrow(/brokerCount: (negative array count|count 2147483647 needs)/);
      const versions = Buffer.concat([noError, claim, Buffer.alloc(6)]);
      expect(() => ApiVersions.decodeResponse(new ByteReader(versions))).toThrow(ProtocolError);
      // acks, timeoutMs, topic "", partition 0 and currentLeaderEpoch -1 (Produce v2), then the claimed records length.
      const produce = Buffer.concat([Buffer.from([0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff]), claim, Buffer.alloc(8)]);
      expect(() => Produce.decodeRequest(new ByteReader(produce))).toThrow(/records: (null where bytes are required|length 2147483647 at position 16 but only 8 bytes remain)/);
      // replicaId, maxWaitMs, maxBytes, then the claimed topic count.
      const fetch = Buffer.concat([Buffer.alloc(12), claim, Buffer.alloc(8)]);
      expect(() => Fetch.decodeRequest(new ByteReader(fetch))).toThrow(/topicCount: (negative array count|count 2147483647 needs)/);
      const create = Buffer.concat([claim, Buffer.alloc(8)]);
      expect(() => CreateTopics.decodeRequest(new ByteReader(create))).toThrow(/topicCount: (negative array count|count 2147483647 needs)/);
      const metadataRequest = Buffer.concat([claim, Buffer.alloc(8)]);
      // -1 is Metadata's "every topic"; 0x7FFFFFFF names must fit in 8 bytes, and do not.
      if (count === 0x7fff_ffff) expect(() => Metadata.decodeRequest(new ByteReader(metadataRequest))).toThrow(/topicCount: count 2147483647 needs at least 4294967294 bytes, only \d+ remain/);
      const frames = new FrameDecoder(1 << 20, 10);
      frames.push(Buffer.concat([claim, Buffer.alloc(16)]));
      expect(() => frames.next()).toThrow(ProtocolError);
    }
    expect(process.memoryUsage().heapUsed - heapBefore).toBeLessThan(16 * 1024 * 1024);
  });

  it('strings claiming more bytes than remain are rejected', () => {
    const r = new ByteReader(Buffer.from([0x7f, 0xff, 0x41]));
    expect(() => r.string('clientId')).toThrow(/clientId: length 32767 at position 0 but only 1 bytes remain/);
  });

  it('a string must be UTF-8, so whatever decodes re-encodes to the very bytes it came as (at most 32,767)', () => {
    const str = (bytes: number[]): Buffer => Buffer.concat([Buffer.from([bytes.length >> 8, bytes.length & 0xff]), Buffer.from(bytes)]);
    expect(() => new ByteReader(str([0x61, 0xff])).string('topic')).toThrow(new ProtocolError('topic: the 2 bytes at position 2 are not UTF-8'));
    for (const bad of [[0xc0, 0x80], [0xed, 0xa0, 0x80], [0xf0, 0x90, 0x80], [0x80]]) expect(() => new ByteReader(str(bad)).string('s')).toThrow(/are not UTF-8/);
    expect(new ByteReader(str([0xef, 0xbf, 0xbd])).string('s')).toBe('\uFFFD'); // a real U+FFFD is fine
    const longest = Buffer.concat([Buffer.from([0x7f, 0xff]), Buffer.alloc(0x7fff, 0xff)]);
    expect(() => new ByteReader(longest).string('groupId')).toThrow(/the 32767 bytes at position 2 are not UTF-8/); // would decode to 98,301 bytes
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 12 }), (bytes) => {
        let decoded: string;
        try {
          decoded = new ByteReader(str([...bytes])).string('s');
        } catch (err) {
          expect(err).toBeInstanceOf(ProtocolError);
          return;
        }
        expect(Buffer.from(decoded, 'utf8')).toEqual(Buffer.from(bytes));
      }),
      { seed, numRuns: 2000 },
    );
  });

  it('a request header whose client id is not UTF-8 still decodes, with the problem named, so the request can be answered', () => {
    const frame = Buffer.concat([Buffer.from([0, 18, 0, 0, 0, 0, 0, 9, 0, 3, 0x61, 0xff, 0xfe]), Buffer.from([7])]);
    const r = new ByteReader(frame);
    expect(decodeRequestHeader(r)).toEqual({ apiKey: 18, apiVersion: 0, correlationId: 9, clientId: null, clientIdProblem: 'clientId: the 3 bytes at position 10 are not UTF-8' });
    expect(r.i8('body')).toBe(7); // positioned at the body
    const ok = decodeRequestHeader(new ByteReader(Buffer.from([0, 18, 0, 0, 0, 0, 0, 9, 0, 1, 0x61])));
    expect(ok).toEqual({ apiKey: 18, apiVersion: 0, correlationId: 9, clientId: 'a' });
    expect('clientIdProblem' in ok).toBe(false);
  });
});

describe('FrameDecoder limits', () => {
  it('accepts a frame of exactly frameBytesMax and rejects one byte more, as soon as the size arrives', () => {
    const max = 100;
    const atMax = new FrameDecoder(max);
    const frame = Buffer.alloc(4 + max);
    frame.writeInt32BE(max);
    atMax.push(frame);
    expect(atMax.next()?.length).toBe(max);

    const past = new FrameDecoder(max);
    past.push(Buffer.from([0, 0, 0, max + 1])); // only the size: the body never needs to arrive
    expect(() => past.next()).toThrow(/frame of 101 bytes exceeds frameBytesMax 100/);
  });

  it('returns a frame inside one chunk as a view, and copies a split frame once', () => {
    const d = new FrameDecoder(1 << 20);
    const one = Buffer.from([0, 0, 0, 3, 1, 2, 3]);
    d.push(one);
    const f = d.next();
    expect(f?.buffer).toBe(one.buffer);
    d.push(Buffer.from([0, 0]));
    expect(d.next()).toBeNull();
    d.push(Buffer.from([0, 2, 9]));
    expect(d.next()).toBeNull();
    d.push(Buffer.from([8]));
    expect(d.next()).toEqual(Buffer.from([9, 8]));
    expect(d.bufferedBytes).toBe(0);
  });
});

describe('records field', () => {
  it('splits concatenated batches and rejects a truncated one with CORRUPT_MESSAGE', () => {
    const a = encodeBatch([{ value: Buffer.from('a') }], { baseTimestamp: 1 });
    const b = encodeBatch([{ value: Buffer.from('bb') }, { value: null }], { baseTimestamp: 2 });
    expect(splitBatches(Buffer.concat([a, b]))).toEqual([a, b]);
    expect(splitBatches(Buffer.alloc(0))).toEqual([]);
    const truncated = Buffer.concat([a, b.subarray(0, b.length - 1)]);
    expect(() => splitBatches(truncated)).toThrow(expect.objectContaining({ errorCode: ErrorCode.CORRUPT_MESSAGE }));
  });
});

/** Hex of the concatenated chunks, to compare with a layout written out by hand. */
function hexOf(chunksIn: readonly Buffer[]): string {
  return Buffer.concat(chunksIn).toString('hex');
}

/** Hand-written hex, spaces between fields for reading. */
function hex(...fields: string[]): string {
  return fields.join('').replaceAll(' ', '');
}

describe('phase 6 layouts: the leader-epoch fields, byte for byte', () => {
  it('Metadata v3: each partition carries leaderEpoch right after leaderId', () => {
    const res = {
      errorCode: 0,
      errorMessage: null,
      brokers: [],
      topics: [{ errorCode: 0, topic: 't', isInternal: false, partitions: [{ partition: 0, leaderId: 2, leaderEpoch: 7, replicas: [2], isr: [2], highWatermark: 5, logEndOffset: 6 }], configs: [] }],
    };
    const expected = hex(
      '0000 ffff', // errorCode 0, errorMessage null
      '00000000', // brokerCount 0
      '00000001', // topicCount 1
      '0000 0001 74 00', // errorCode 0, topic "t", isInternal 0
      '00000001', // partitionCount 1
      '00000000 00000002', // partition 0, leaderId 2
      '00000007', // leaderEpoch 7 (v3)
      '00000001 00000002', // replicas [2]
      '00000001 00000002', // isr [2]
      '0000000000000005 0000000000000006', // highWatermark 5, logEndOffset 6
      '00000000', // configCount 0
    );
    expect(hexOf(Metadata.encodeResponse(res))).toBe(expected);
    expect(Metadata.decodeResponse(new ByteReader(Buffer.from(expected, 'hex')))).toEqual(res);
    expect([Metadata.minVersion, Metadata.maxVersion]).toEqual([3, 3]);
    // The request is v2's: topicCount -1 (all), allowAutoTopicCreation 0.
    expect(hexOf(Metadata.encodeRequest({ topics: null, allowAutoTopicCreation: false }))).toBe('ffffffff00');
  });

  it('Fetch v3: each request partition carries currentLeaderEpoch right after partition (-1 when left out); maxBytes stays at byte 8', () => {
    const req = { replicaId: -1, maxWaitMs: 500, maxBytes: 1024, topics: [{ topic: 't', partitions: [{ partition: 1, currentLeaderEpoch: 4, offset: 9, maxBytes: 256 }] }] };
    const expected = hex(
      'ffffffff 000001f4 00000400', // replicaId -1, maxWaitMs 500, maxBytes 1024
      '00000001 0001 74', // topicCount 1, topic "t"
      '00000001', // partitionCount 1
      '00000001', // partition 1
      '00000004', // currentLeaderEpoch 4 (v3)
      '0000000000000009 00000100', // offset 9, partitionMaxBytes 256
    );
    const body = Buffer.concat(Fetch.encodeRequest(req));
    expect(body.toString('hex')).toBe(expected);
    expect(body).toHaveLength(12 + 4 + 3 + 4 + 20); // 20 bytes per partition since v3 (16 in v2)
    expect(body.readInt32BE(8)).toBe(1024); // what server/broker.ts (fetchResponseReserve) reads before decoding
    expect(Fetch.decodeRequest(new ByteReader(body))).toEqual(req);
    const unchecked = { partition: 1, offset: 9, maxBytes: 256 };
    const absentBytes = Buffer.concat(Fetch.encodeRequest({ ...req, topics: [{ topic: 't', partitions: [unchecked] }] }));
    expect(absentBytes.toString('hex')).toBe(hex('ffffffff 000001f4 00000400 00000001 0001 74 00000001 00000001', 'ffffffff', '0000000000000009 00000100'));
    expect(Fetch.decodeRequest(new ByteReader(absentBytes)).topics[0]?.partitions[0]).toEqual({ ...unchecked, currentLeaderEpoch: -1 });
    // A partition count is checked against 20 bytes per partition.
    const claim = Buffer.from(hex('00000000 00000000 00000001', '00000001 0001 74', '7fffffff'), 'hex');
    expect(() => Fetch.decodeRequest(new ByteReader(Buffer.concat([claim, Buffer.alloc(19)])))).toThrow(
      /partitionCount: count 2147483647 needs at least 42949672940 bytes, only 19 remain/,
    );
    expect(() => Fetch.decodeRequest(new ByteReader(body.subarray(0, body.length - 1)))).toThrow(ProtocolError);
    expect([Fetch.minVersion, Fetch.maxVersion]).toEqual([3, 3]);
  });

  it('Produce v2: currentLeaderEpoch right after partition, before the records length (-1 when left out)', () => {
    const records = [Buffer.from('abc')];
    const expected = hex(
      'ffff 000003e8', // acks -1, timeoutMs 1000
      '0001 74 00000002', // topic "t", partition 2
      '00000003', // currentLeaderEpoch 3 (v2)
      '00000003 616263', // records: length 3, "abc"
    );
    const req = { acks: -1, timeoutMs: 1000, topic: 't', partition: 2, currentLeaderEpoch: 3, records };
    expect(hexOf(Produce.encodeRequest(req))).toBe(expected);
    expect(Produce.decodeRequest(new ByteReader(Buffer.from(expected, 'hex')))).toEqual(req);
    const absent = hexOf(Produce.encodeRequest({ acks: -1, timeoutMs: 1000, topic: 't', partition: 2, records }));
    expect(absent).toBe(hex('ffff 000003e8 0001 74 00000002', 'ffffffff', '00000003 616263'));
    expect(Produce.decodeRequest(new ByteReader(Buffer.from(absent, 'hex')))).toEqual({ ...req, currentLeaderEpoch: -1 });
    expect([Produce.minVersion, Produce.maxVersion]).toEqual([2, 2]);
  });

  it('ListOffsets v2: currentLeaderEpoch right after partition, before the timestamp (-1 when left out)', () => {
    const req = { topic: 't', partition: 0, currentLeaderEpoch: 5, timestamp: -2 };
    const expected = hex(
      '0001 74 00000000', // topic "t", partition 0
      '00000005', // currentLeaderEpoch 5 (v2)
      'fffffffffffffffe', // timestamp -2 (earliest)
    );
    expect(hexOf(ListOffsets.encodeRequest(req))).toBe(expected);
    expect(ListOffsets.decodeRequest(new ByteReader(Buffer.from(expected, 'hex')))).toEqual(req);
    const absent = hexOf(ListOffsets.encodeRequest({ topic: 't', partition: 0, timestamp: -2 }));
    expect(absent).toBe(hex('0001 74 00000000', 'ffffffff', 'fffffffffffffffe'));
    expect(ListOffsets.decodeRequest(new ByteReader(Buffer.from(absent, 'hex')))).toEqual({ ...req, currentLeaderEpoch: -1 });
    // The response is unchanged: the common prefix and the offset.
    expect(hexOf(ListOffsets.encodeResponse({ errorCode: 0, errorMessage: null, offset: 7 }))).toBe(hex('0000 ffff', '0000000000000007'));
    expect([ListOffsets.minVersion, ListOffsets.maxVersion]).toEqual([2, 2]);
  });
});

describe('API table', () => {
  it('uses Kafka api key and error code numbers', () => {
    expect(APIS.map((a) => [a.name, a.apiKey])).toEqual([
      ['Produce', 0],
      ['Fetch', 1],
      ['ListOffsets', 2],
      ['Metadata', 3],
      ['OffsetCommit', 8],
      ['OffsetFetch', 9],
      ['FindCoordinator', 10],
      ['JoinGroup', 11],
      ['Heartbeat', 12],
      ['LeaveGroup', 13],
      ['SyncGroup', 14],
      ['DescribeGroups', 15],
      ['ListGroups', 16],
      ['ApiVersions', 18],
      ['CreateTopics', 19],
      ['OffsetForLeaderEpoch', 23],
    ]);
    expect(apiByKey(99)).toBeUndefined();
    expect(ErrorCode).toMatchObject({
      NONE: 0,
      OFFSET_OUT_OF_RANGE: 1,
      CORRUPT_MESSAGE: 2,
      UNKNOWN_TOPIC_OR_PARTITION: 3,
      MESSAGE_TOO_LARGE: 10,
      COORDINATOR_NOT_AVAILABLE: 15,
      INVALID_TOPIC_EXCEPTION: 17,
      ILLEGAL_GENERATION: 22,
      UNKNOWN_MEMBER_ID: 25,
      REBALANCE_IN_PROGRESS: 27,
      UNSUPPORTED_VERSION: 35,
      TOPIC_ALREADY_EXISTS: 36,
      INVALID_PARTITIONS: 37,
      INVALID_CONFIG: 40,
      INVALID_REQUEST: 42,
      POLICY_VIOLATION: 44,
      KAFKA_STORAGE_ERROR: 56,
      FENCED_LEADER_EPOCH: 74,
      UNKNOWN_LEADER_EPOCH: 75,
      INVALID_RECORD: 87,
      THROTTLING_QUOTA_EXCEEDED: 89,
      UNKNOWN_SERVER_ERROR: -1,
    });
    expect(errorName(2)).toBe('CORRUPT_MESSAGE');
    expect(errorName(1234)).toBe('UNKNOWN_ERROR_1234');
  });
});
