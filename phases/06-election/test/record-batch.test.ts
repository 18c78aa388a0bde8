/**
 * The RecordBatch v2 codec and its varints: byte-exact against Kafka's layout and
 * independent fixtures, round trips under fast-check, and hostile input (random
 * bytes, mutated batches, absurd counts) that may only ever raise the typed errors.
 */
import { crc32c } from '@node-rs/crc32';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { propertySeed } from '../../../shared/src/testing.ts';
import { CorruptBatchError, InvalidRecordError, LogError } from '../src/log/errors.ts';
import {
  BATCH_HEADER_BYTES,
  decodeBatch,
  encodeBatch,
  LOG_OVERHEAD,
  readBatchHeader,
  type RecordInput,
  stampBaseOffset,
  stampPartitionLeaderEpoch,
  validateBatch,
  verifyBatchCrc,
} from '../src/log/record-batch.ts';
import { type Cursor, readVarint, readVarlong, varintSizeBytes, VARLONG_MAX, VARLONG_MIN, writeVarint, writeVarlong } from '../src/log/varint.ts';

const NUM_RUNS = 200;
const b = (s: string): Buffer => Buffer.from(s);

/** Recompute the CRC after a test edits checksummed bytes on purpose. */
function fixCrc(batch: Buffer): Buffer {
  batch.writeUInt32BE(crc32c(batch.subarray(21)) >>> 0, 17);
  return batch;
}

/** Run `f`; it may succeed, or throw one of the log's typed errors, nothing else. */
function onlyTypedErrors(f: () => unknown): 'ok' | 'typed' {
  try {
    f();
    return 'ok';
  } catch (e) {
    if (e instanceof CorruptBatchError || e instanceof InvalidRecordError) return 'typed';
    throw e;
  }
}

describe('varint and varlong', () => {
  it('encode the zigzag examples from the Protocol Buffers / Kafka docs', () => {
    const cases: [number, string][] = [
      [0, '00'],
      [-1, '01'],
      [1, '02'],
      [-2, '03'],
      [63, '7e'],
      [-64, '7f'],
      [64, '8001'],
      [300, 'd804'],
      [2147483647, 'feffffff0f'],
      [-2147483648, 'ffffffff0f'],
    ];
    for (const [value, hex] of cases) {
      const buf = Buffer.alloc(varintSizeBytes(value));
      expect(writeVarint(buf, 0, value)).toBe(buf.length);
      expect(buf.toString('hex')).toBe(hex);
      expect(readVarint(buf, { position: 0 })).toBe(value);
    }
  });

  it('round-trip every int32 and every varlong in range', () => {
    fc.assert(
      fc.property(fc.integer({ min: -0x80000000, max: 0x7fffffff }), fc.integer({ min: VARLONG_MIN, max: VARLONG_MAX }), (i, l) => {
        const buf = Buffer.alloc(20);
        const end = writeVarlong(buf, writeVarint(buf, 0, i), l);
        const cursor: Cursor = { position: 0 };
        expect(readVarint(buf, cursor)).toBe(i);
        expect(readVarlong(buf, cursor)).toBe(l);
        expect(cursor.position).toBe(end);
      }),
      { seed: propertySeed(), numRuns: NUM_RUNS },
    );
  });

  it('reject truncated, overlong and out-of-range encodings with CorruptBatchError', () => {
    expect(() => readVarint(Buffer.from('80', 'hex'), { position: 0 })).toThrow(CorruptBatchError);
    expect(() => readVarint(Buffer.from('ffffffffff01', 'hex'), { position: 0 })).toThrow(CorruptBatchError);
    expect(() => readVarint(Buffer.from('ffffffff1f', 'hex'), { position: 0 })).toThrow(CorruptBatchError); // 2^32+: not int32
    expect(() => readVarlong(Buffer.from('ffffffffffffffffff01', 'hex'), { position: 0 })).toThrow(CorruptBatchError);
  });
});

const bytesArb = fc.uint8Array({ maxLength: 40 }).map((u) => Buffer.from(u));
const recordArb: fc.Arbitrary<RecordInput> = fc.record({
  key: fc.option(bytesArb, { nil: null }),
  value: fc.option(bytesArb, { nil: null }),
  headers: fc.array(fc.record({ key: fc.string({ unit: 'grapheme', maxLength: 8 }), value: fc.option(bytesArb, { nil: null }) }), {
    maxLength: 3,
  }),
  timestamp: fc.integer({ min: 0, max: 2 ** 45 }),
});
const batchArb = fc.array(recordArb, { minLength: 1, maxLength: 8 });

describe('RecordBatch v2', () => {
  it('computes CRC-32C (Castagnoli), not CRC-32: the standard check value', () => {
    expect(crc32c('123456789') >>> 0).toBe(0xe3069283);
  });

  it('accepts the CRC of a batch written by a real Kafka broker (kafkajs fixture)', () => {
    // kafkajs src/protocol/recordBatch/fixtures/v0_recordbatch.json: gzip, LogAppendTime.
    const kafkaBatch = Buffer.from(
      '0000000000000000000000710000000002e4c324a500090000000000000173ed' +
        'f5ffa700000173edf5ffc9ffffffffffffffff000000000000000000011f8b08' +
        '000000000000130b636060e0ca4eadd43570284bcc294dd535d035323032d035' +
        'b0d03534093134b73234b632b0d033b3308a620000b5e3f1a72c000000',
      'hex',
    );
    expect(kafkaBatch.length).toBe(LOG_OVERHEAD + 113);
    expect(verifyBatchCrc(kafkaBatch)).toBe(true);
    const header = readBatchHeader(kafkaBatch);
    expect(header).toMatchObject({ magic: 2, batchLength: 113, baseTimestamp: 1597425188775, maxTimestamp: 1597425188809, producerId: -1, recordsCount: 1 });
    expect(() => validateBatch(kafkaBatch)).toThrow(InvalidRecordError); // compressed: not supported here
    kafkaBatch[80] = (kafkaBatch[80] as number) ^ 1;
    expect(verifyBatchCrc(kafkaBatch)).toBe(false);
  });

  it('lays out a record exactly as kafkajs encodes it (after the length varint)', () => {
    // kafkajs src/protocol/recordBatch/fixtures/v0_record.json (attributes, deltas, key, value, one header).
    const expected = Buffer.from(
      [0, 0, 0, 10, 107, 101, 121, 45, 48, 24, 115, 111, 109, 101, 45, 118, 97, 108, 117, 101, 45, 48, 2, 24, 104, 101, 97, 100, 101, 114, 45, 107, 101, 121, 45, 48, 28, 104, 101, 97, 100, 101, 114, 45, 118, 97, 108, 117, 101, 45, 48],
    );
    const batch = encodeBatch([{ key: b('key-0'), value: b('some-value-0'), headers: [{ key: 'header-key-0', value: b('header-value-0') }], timestamp: 1509827900073 }]);
    expect(batch[BATCH_HEADER_BYTES]).toBe(expected.length * 2); // the length varint (zigzag)
    expect(batch.subarray(BATCH_HEADER_BYTES + 1)).toEqual(expected);
  });

  it('puts every header field at Kafka’s byte position, with Kafka’s unset values', () => {
    const batch = encodeBatch([{ value: b('a') }, { value: b('b'), timestamp: 1_000_020 }], { baseOffset: 7, baseTimestamp: 1_000_000 });
    expect(batch.readBigInt64BE(0)).toBe(7n); // baseOffset
    expect(batch.readInt32BE(8)).toBe(batch.length - 12); // batchLength
    expect(batch.readInt32BE(12)).toBe(-1); // partitionLeaderEpoch
    expect(batch.readInt8(16)).toBe(2); // magic
    expect(batch.readUInt32BE(17)).toBe(crc32c(batch.subarray(21)) >>> 0); // crc over attributes..end
    expect(batch.readInt16BE(21)).toBe(0); // attributes
    expect(batch.readInt32BE(23)).toBe(1); // lastOffsetDelta
    expect(batch.readBigInt64BE(27)).toBe(1_000_000n); // baseTimestamp
    expect(batch.readBigInt64BE(35)).toBe(1_000_020n); // maxTimestamp
    expect(batch.readBigInt64BE(43)).toBe(-1n); // producerId
    expect(batch.readInt16BE(51)).toBe(-1); // producerEpoch
    expect(batch.readInt32BE(53)).toBe(-1); // baseSequence
    expect(batch.readInt32BE(57)).toBe(2); // recordsCount
    const { records } = decodeBatch(batch);
    expect(records.map((r) => [r.offset, r.timestamp, r.value?.toString()])).toEqual([
      [7, 1_000_000, 'a'],
      [8, 1_000_020, 'b'],
    ]);
  });

  it('round-trips any records, keys, values and headers', () => {
    fc.assert(
      fc.property(batchArb, fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER - 100 }), (records, baseOffset) => {
        const batch = encodeBatch(records, { baseOffset });
        const { header, records: decoded } = decodeBatch(batch);
        expect(header.baseOffset).toBe(baseOffset);
        expect(header.recordsCount).toBe(records.length);
        expect(header.maxTimestamp).toBe(Math.max(...records.map((r) => r.timestamp ?? -1)));
        expect(decoded).toEqual(
          records.map((r, i) => ({
            offset: baseOffset + i,
            timestamp: r.timestamp,
            key: r.key ?? null,
            value: r.value,
            headers: r.headers ?? [],
          })),
        );
      }),
      { seed: propertySeed(), numRuns: NUM_RUNS },
    );
  });

  it('keeps the CRC valid when the base offset and leader epoch are stamped', () => {
    fc.assert(
      fc.property(batchArb, fc.nat(), fc.integer({ min: -1, max: 0x7fffffff }), (records, offset, epoch) => {
        const batch = encodeBatch(records);
        stampBaseOffset(batch, offset);
        stampPartitionLeaderEpoch(batch, epoch);
        expect(verifyBatchCrc(batch)).toBe(true);
        const { header, records: decoded } = decodeBatch(batch);
        expect(header.baseOffset).toBe(offset);
        expect(header.partitionLeaderEpoch).toBe(epoch);
        expect(decoded[0]?.offset).toBe(offset);
      }),
      { seed: propertySeed(), numRuns: NUM_RUNS },
    );
  });

  it('only ever throws the typed errors on random bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (u) => {
        const buf = Buffer.from(u);
        onlyTypedErrors(() => decodeBatch(buf));
        onlyTypedErrors(() => readBatchHeader(buf));
        verifyBatchCrc(buf);
      }),
      { seed: propertySeed(), numRuns: 500 },
    );
  });

  it('only ever throws the typed errors on mutated batches, CRC fixed up or not', () => {
    const mutation = fc.oneof(
      fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), xor: fc.integer({ min: 1, max: 255 }) }),
      fc.record({ kind: fc.constant('cut' as const), at: fc.nat() }),
      fc.record({ kind: fc.constant('extend' as const), extra: fc.uint8Array({ minLength: 1, maxLength: 20 }) }),
    );
    fc.assert(
      fc.property(batchArb, fc.array(mutation, { minLength: 1, maxLength: 4 }), fc.boolean(), (records, mutations, repairCrc) => {
        let batch = encodeBatch(records);
        let touchedChecksummed = false;
        for (const m of mutations) {
          if (m.kind === 'flip') {
            const at = m.at % batch.length;
            batch[at] = (batch[at] as number) ^ m.xor;
            if (at >= 17) touchedChecksummed = true;
          } else if (m.kind === 'cut') {
            batch = batch.subarray(0, m.at % batch.length);
            touchedChecksummed = true;
          } else {
            batch = Buffer.concat([batch, Buffer.from(m.extra)]);
            touchedChecksummed = true;
          }
        }
        if (repairCrc && batch.length >= BATCH_HEADER_BYTES) fixCrc(batch);
        const outcome = onlyTypedErrors(() => decodeBatch(batch));
        // Without the repair, damage inside the CRC'd range (or to the length) is always caught.
        if (!repairCrc && touchedChecksummed) expect(outcome).toBe('typed');
      }),
      { seed: propertySeed(), numRuns: 500 },
    );
  });

  it('rejects an absurd recordsCount before allocating anything', () => {
    const batch = encodeBatch([{ value: b('x') }]);
    batch.writeInt32BE(0x7ffffffe, 23); // lastOffsetDelta
    batch.writeInt32BE(0x7fffffff, 57); // recordsCount
    expect(() => decodeBatch(fixCrc(batch))).toThrow(CorruptBatchError);
  });

  it('rejects a headersCount larger than the bytes left', () => {
    const batch = encodeBatch([{ value: b('x') }]);
    expect(batch[batch.length - 1]).toBe(0); // headersCount varint, last byte of the only record
    batch[batch.length - 1] = 0x7e; // 63 headers in 0 bytes
    expect(() => decodeBatch(fixCrc(batch))).toThrow(CorruptBatchError);
  });

  it('reports a CRC mismatch, a wrong length and a wrong magic as CorruptBatchError', () => {
    const batch = encodeBatch([{ value: b('hello') }]);
    const flipped = Buffer.from(batch);
    flipped[flipped.length - 2] = (flipped[flipped.length - 2] as number) ^ 0xff;
    expect(() => decodeBatch(flipped)).toThrow(/CRC mismatch/);
    expect(() => decodeBatch(Buffer.concat([batch, Buffer.alloc(1)]))).toThrow(CorruptBatchError);
    const magic = Buffer.from(batch);
    magic[16] = 1;
    expect(() => decodeBatch(magic)).toThrow(/magic/);
    expect(() => readBatchHeader(batch.subarray(0, 60))).toThrow(CorruptBatchError);
  });

  it('refuses what this log does not support: empty, compressed, transactional batches', () => {
    expect(() => encodeBatch([])).toThrow(InvalidRecordError);
    for (const attributes of [1, 0x10, 0x20]) {
      const batch = encodeBatch([{ value: b('x') }]);
      batch.writeInt16BE(attributes, 21);
      expect(() => validateBatch(fixCrc(batch))).toThrow(InvalidRecordError);
    }
  });

  it('refuses out-of-range fields when encoding, with InvalidRecordError', () => {
    expect(() => encodeBatch([{ value: null }], { producerEpoch: 40000 })).toThrow(InvalidRecordError);
    expect(() => encodeBatch([{ value: null, timestamp: -5 }])).toThrow(InvalidRecordError);
    expect(() => encodeBatch([{ value: 'text' as unknown as Buffer }])).toThrow(InvalidRecordError);
    expect(() => encodeBatch([{ value: null }], { baseOffset: -1 })).toThrow(LogError);
  });

  it('encodes null keys and values as length -1 (a tombstone has a null value)', () => {
    const batch = encodeBatch([{ key: null, value: null }]);
    const [r] = decodeBatch(batch).records;
    expect(r?.key).toBeNull();
    expect(r?.value).toBeNull();
    expect(batch.subarray(BATCH_HEADER_BYTES).toString('hex')).toBe('0c' + '00' + '00' + '00' + '01' + '01' + '00');
  });
});
