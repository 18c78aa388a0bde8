/**
 * The OffsetForLeaderEpoch codec (api key 23, phase 6, KIP-101): its exact bytes written
 * out by hand from the layout in src/protocol/offset-for-leader-epoch.ts, round trips (by
 * example and as a property), and frames that are truncated, too long or claim huge
 * counts refused with `ProtocolError` before anything is allocated.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { propertySeed } from '../../../shared/src/testing.ts';
import { APIS, apiByKey } from '../src/protocol/apis.ts';
import { ByteReader } from '../src/protocol/bytes.ts';
import { ErrorCode, ProtocolError } from '../src/protocol/errors.ts';
import { ApiKey } from '../src/protocol/header.ts';
import {
  OffsetForLeaderEpoch,
  type OffsetForLeaderEpochRequest,
  type OffsetForLeaderEpochResponse,
  offsetForLeaderEpochPartitionError,
} from '../src/protocol/offset-for-leader-epoch.ts';

const seed = propertySeed();
const i16 = fc.integer({ min: -0x8000, max: 0x7fff });
const i32 = fc.integer({ min: -0x8000_0000, max: 0x7fff_ffff });
const i64 = fc.integer({ min: Number.MIN_SAFE_INTEGER, max: Number.MAX_SAFE_INTEGER });
const text = fc.oneof(fc.string({ maxLength: 30 }), fc.string({ unit: 'grapheme', maxLength: 10 }));
const nullableText = fc.option(text, { nil: null });

const requests: fc.Arbitrary<OffsetForLeaderEpochRequest> = fc.record({
  replicaId: i32,
  topics: fc.array(fc.record({ topic: text, partitions: fc.array(fc.record({ partition: i32, currentLeaderEpoch: i32, leaderEpoch: i32 }), { maxLength: 5 }) }), { maxLength: 4 }),
});
const responses: fc.Arbitrary<OffsetForLeaderEpochResponse> = fc.record({
  errorCode: i16,
  errorMessage: nullableText,
  topics: fc.array(
    fc.record({ topic: text, partitions: fc.array(fc.record({ partition: i32, errorCode: i16, errorMessage: nullableText, leaderEpoch: i32, endOffset: i64 }), { maxLength: 5 }) }),
    { maxLength: 4 },
  ),
});

/** Hand-written hex, spaces between fields for reading. */
function hex(...fields: string[]): string {
  return fields.join('').replaceAll(' ', '');
}

const bytesOf = (chunks: readonly Buffer[]): Buffer => Buffer.concat(chunks);
const decodeRequest = (b: Buffer): OffsetForLeaderEpochRequest => OffsetForLeaderEpoch.decodeRequest(new ByteReader(b));
const decodeResponse = (b: Buffer): OffsetForLeaderEpochResponse => OffsetForLeaderEpoch.decodeResponse(new ByteReader(b));

/** Follower 2 asks about topic "ab": partition 0 (believes epoch 5, asks the end of 4) and partition 3 (unchecked, asks 2). */
const REQUEST: OffsetForLeaderEpochRequest = {
  replicaId: 2,
  topics: [
    {
      topic: 'ab',
      partitions: [
        { partition: 0, currentLeaderEpoch: 5, leaderEpoch: 4 },
        { partition: 3, currentLeaderEpoch: -1, leaderEpoch: 2 },
      ],
    },
  ],
};
const REQUEST_HEX = hex(
  '00000002', // replicaId 2
  '00000001', // topicCount 1
  '0002 6162', // topic "ab"
  '00000002', // partitionCount 2
  '00000000 00000005 00000004', // partition 0, currentLeaderEpoch 5, leaderEpoch 4
  '00000003 ffffffff 00000002', // partition 3, currentLeaderEpoch -1 (unchecked), leaderEpoch 2
);

/** The leader's answer: epoch 4 ends at 120 in its log; partition 3 is fenced (the follower's epoch is old). */
const RESPONSE: OffsetForLeaderEpochResponse = {
  errorCode: 0,
  errorMessage: null,
  topics: [
    {
      topic: 'ab',
      partitions: [
        { partition: 0, errorCode: 0, errorMessage: null, leaderEpoch: 4, endOffset: 120 },
        { partition: 3, errorCode: ErrorCode.FENCED_LEADER_EPOCH, errorMessage: 'old', leaderEpoch: -1, endOffset: -1 },
      ],
    },
  ],
};
const RESPONSE_HEX = hex(
  '0000 ffff', // errorCode 0, errorMessage null (common prefix)
  '00000001', // topicCount 1
  '0002 6162', // topic "ab"
  '00000002', // partitionCount 2
  '0000 ffff 00000000 00000004 0000000000000078', // errorCode 0, errorMessage null, partition 0, leaderEpoch 4, endOffset 120
  '004a 0003 6f6c64 00000003 ffffffff ffffffffffffffff', // errorCode 74 (FENCED_LEADER_EPOCH), "old", partition 3, -1, -1
);

describe('OffsetForLeaderEpoch v0 codec', () => {
  it("uses Kafka's api key 23, version 0, and is in the table ApiVersions announces", () => {
    expect([OffsetForLeaderEpoch.apiKey, OffsetForLeaderEpoch.name, OffsetForLeaderEpoch.minVersion, OffsetForLeaderEpoch.maxVersion]).toEqual([23, 'OffsetForLeaderEpoch', 0, 0]);
    expect(ApiKey.OffsetForLeaderEpoch).toBe(23);
    // RequestHandler answers a key in APIS that has no `case` with a bare prefix, which this
    // codec cannot decode: it is in APIS only together with its handler.
    expect(apiByKey(23)).toBe(OffsetForLeaderEpoch);
    expect(APIS.map((a) => a.apiKey)).toEqual([...APIS.map((a) => a.apiKey)].sort((a, b) => a - b)); // still by ascending key
  });

  it('encodes a request to the exact bytes of the layout, and decodes them back', () => {
    const bytes = bytesOf(OffsetForLeaderEpoch.encodeRequest(REQUEST));
    expect(bytes.toString('hex')).toBe(REQUEST_HEX);
    expect(bytes).toHaveLength(4 + 4 + 4 + 4 + 2 * 12); // 12 bytes per partition
    expect(decodeRequest(bytes)).toEqual(REQUEST);
  });

  it('encodes a response to the exact bytes of the layout, and decodes them back', () => {
    const bytes = bytesOf(OffsetForLeaderEpoch.encodeResponse(RESPONSE));
    expect(bytes.toString('hex')).toBe(RESPONSE_HEX);
    expect(bytes).toHaveLength(4 + 4 + 4 + 4 + 20 + (20 + 3)); // 20 bytes per partition with a null message
    expect(decodeResponse(bytes)).toEqual(RESPONSE);
  });

  it('an error response is the common prefix and no topics; a partition error has epoch and end offset -1', () => {
    const res = OffsetForLeaderEpoch.errorResponse(ErrorCode.INVALID_REQUEST, 'no');
    expect(res).toEqual({ errorCode: ErrorCode.INVALID_REQUEST, errorMessage: 'no', topics: [] });
    expect(bytesOf(OffsetForLeaderEpoch.encodeResponse(res)).toString('hex')).toBe(hex('002a 0002 6e6f', '00000000'));
    expect(decodeResponse(bytesOf(OffsetForLeaderEpoch.encodeResponse(res)))).toEqual(res);
    expect(offsetForLeaderEpochPartitionError(3, ErrorCode.NOT_LEADER_OR_FOLLOWER, 'not the leader')).toEqual({
      partition: 3,
      errorCode: ErrorCode.NOT_LEADER_OR_FOLLOWER,
      errorMessage: 'not the leader',
      leaderEpoch: -1,
      endOffset: -1,
    });
  });

  it('refuses every truncation of a valid request or response, and a trailing byte, with ProtocolError', () => {
    const request = Buffer.from(REQUEST_HEX, 'hex');
    const response = Buffer.from(RESPONSE_HEX, 'hex');
    for (let n = 0; n < request.length; n++) expect(() => decodeRequest(request.subarray(0, n)), `request cut to ${n} bytes`).toThrow(ProtocolError);
    for (let n = 0; n < response.length; n++) expect(() => decodeResponse(response.subarray(0, n)), `response cut to ${n} bytes`).toThrow(ProtocolError);
    // Request partitions have a fixed size, so one byte short is caught at the count, before any partition is read.
    expect(() => decodeRequest(request.subarray(0, request.length - 1))).toThrow(new ProtocolError('partitionCount: count 2 needs at least 24 bytes, only 23 remain'));
    expect(() => decodeResponse(response.subarray(0, response.length - 1))).toThrow(/endOffset: needs 8 bytes at position 51, only 7 remain/);
    expect(() => decodeRequest(Buffer.concat([request, Buffer.from([0])]))).toThrow(/OffsetForLeaderEpoch request: 1 trailing bytes/);
    expect(() => decodeResponse(Buffer.concat([response, Buffer.from([0])]))).toThrow(/OffsetForLeaderEpoch response: 1 trailing bytes/);
  });

  it('refuses a huge or negative count in a tiny frame before allocating', () => {
    const heapBefore = process.memoryUsage().heapUsed;
    const tail = Buffer.alloc(16);
    // replicaId, then the topic count.
    expect(() => decodeRequest(Buffer.concat([Buffer.from(hex('00000002 7fffffff'), 'hex'), tail]))).toThrow(
      new ProtocolError('topicCount: count 2147483647 needs at least 12884901882 bytes, only 16 remain'),
    );
    expect(() => decodeRequest(Buffer.concat([Buffer.from(hex('00000002 ffffffff'), 'hex'), tail]))).toThrow(/topicCount: negative array count -1 at position 4/);
    // One topic "ab", then the partition count: 12 bytes each.
    expect(() => decodeRequest(Buffer.concat([Buffer.from(hex('00000002 00000001 0002 6162 7fffffff'), 'hex'), tail]))).toThrow(
      new ProtocolError('partitionCount: count 2147483647 needs at least 25769803764 bytes, only 16 remain'),
    );
    // The response: prefix, topic count; then one topic and its partition count (20 bytes each at least).
    expect(() => decodeResponse(Buffer.concat([Buffer.from(hex('0000 ffff 7fffffff'), 'hex'), tail]))).toThrow(/topicCount: count 2147483647 needs at least/);
    expect(() => decodeResponse(Buffer.concat([Buffer.from(hex('0000 ffff 00000001 0002 6162 7fffffff'), 'hex'), tail]))).toThrow(
      new ProtocolError('partitionCount: count 2147483647 needs at least 42949672940 bytes, only 16 remain'),
    );
    // The broker's per-request element bound (requestItemsMax) counts these arrays too.
    expect(() => OffsetForLeaderEpoch.decodeRequest(new ByteReader(Buffer.from(REQUEST_HEX, 'hex')).limitItems(2))).toThrow(/partitionCount: 2 more array elements would pass the 2/);
    expect(OffsetForLeaderEpoch.decodeRequest(new ByteReader(Buffer.from(REQUEST_HEX, 'hex')).limitItems(3))).toEqual(REQUEST);
    expect(process.memoryUsage().heapUsed - heapBefore).toBeLessThan(16 * 1024 * 1024);
  });

  it('round-trips any request and response (property)', () => {
    fc.assert(
      fc.property(requests, responses, (req, res) => {
        expect(decodeRequest(bytesOf(OffsetForLeaderEpoch.encodeRequest(req)))).toEqual(req);
        expect(decodeResponse(bytesOf(OffsetForLeaderEpoch.encodeResponse(res)))).toEqual(res);
      }),
      { seed, numRuns: 300 },
    );
  });

  it('decodes random or mutated bytes, or throws ProtocolError, never anything else (property)', () => {
    const onlyProtocolErrors = (fn: () => unknown): void => {
      try {
        fn();
      } catch (err) {
        if (!(err instanceof ProtocolError)) throw err;
      }
    };
    fc.assert(
      fc.property(requests, responses, fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }), fc.uint8Array({ maxLength: 80 }), (req, res, flips, raw) => {
        for (const valid of [bytesOf(OffsetForLeaderEpoch.encodeRequest(req)), bytesOf(OffsetForLeaderEpoch.encodeResponse(res))]) {
          const mutated = Buffer.from(valid);
          for (const [at, byte] of flips) if (mutated.length > 0) mutated[at % mutated.length] = byte;
          onlyProtocolErrors(() => decodeRequest(mutated));
          onlyProtocolErrors(() => decodeResponse(mutated));
        }
        onlyProtocolErrors(() => decodeRequest(Buffer.from(raw)));
        onlyProtocolErrors(() => decodeResponse(Buffer.from(raw)));
      }),
      { seed, numRuns: 300 },
    );
  });
});
