/**
 * Kafka's RecordBatch v2, byte for byte: the unit the log stores, the producer
 * sends and the consumer fetches. The broker never re-encodes a batch; it checks
 * it, stamps the base offset (and, from phase 6, the leader epoch) into the header
 * and appends the bytes as they are. Both stamped fields sit *before* the CRC'd
 * range, which is why stamping does not invalidate the checksum.
 *
 * Batch layout (big-endian; byte positions from the batch start):
 * ```
 *  0  baseOffset            int64   offset of the first record (stamped by the log)
 *  8  batchLength           int32   bytes after this field: size on disk = 12 + batchLength
 * 12  partitionLeaderEpoch  int32   -1 until phase 6 (stamped by the leader)
 * 16  magic                 int8    2
 * 17  crc                   uint32  CRC-32C (Castagnoli) of bytes [21, end)
 * 21  attributes            int16   bits 0-2 compression (0 = none), 3 timestamp type,
 *                                   4 transactional, 5 control
 * 23  lastOffsetDelta       int32   recordsCount - 1 (no gaps in this log)
 * 27  baseTimestamp         int64   timestamp of the first record (ms), -1 if none
 * 35  maxTimestamp          int64   largest record timestamp
 * 43  producerId            int64   -1 until phase 8 (idempotent producers)
 * 51  producerEpoch         int16   -1 until phase 8
 * 53  baseSequence          int32   -1 until phase 8
 * 57  recordsCount          int32
 * 61  records…
 * ```
 * Record layout (varint / varlong are zigzag, see varint.ts):
 * ```
 * length          varint   bytes after this field
 * attributes      int8     unused, 0
 * timestampDelta  varlong  timestamp - baseTimestamp
 * offsetDelta     varint   offset - baseOffset (0, 1, 2, …)
 * keyLength       varint   -1 = null key
 * key             bytes
 * valueLength     varint   -1 = null value (a tombstone)
 * value           bytes
 * headersCount    varint
 * headers         headerKeyLength varint, headerKey utf8,
 *                 headerValueLength varint (-1 = null), headerValue bytes
 * ```
 * Every decoder checks each length and count against the bytes actually present
 * before it allocates or slices anything, and throws only CorruptBatchError (the
 * bytes cannot be a batch) or InvalidRecordError (a checksummed batch that breaks
 * one of this log's rules).
 */
import { strict as assert } from 'node:assert';
import { crc32c } from '@node-rs/crc32';
import { CorruptBatchError, InvalidRecordError } from './errors.ts';
import { type Cursor, readVarint, readVarlong, VARLONG_MAX, VARLONG_MIN, varintSizeBytes, varlongSizeBytes, writeVarint, writeVarlong } from './varint.ts';

/** baseOffset (8) + batchLength (4): the bytes in front of what batchLength counts. */
export const LOG_OVERHEAD = 12;
/** Size of the batch header, up to the first record. */
export const BATCH_HEADER_BYTES = 61;
/** The only batch format version this log speaks. */
export const MAGIC_V2 = 2;
/** Kafka's "no producer id": the batch is not from an idempotent producer (until phase 8). */
export const NO_PRODUCER_ID = -1;
/** Kafka's "no producer epoch". */
export const NO_PRODUCER_EPOCH = -1;
/** Kafka's "no sequence number". */
export const NO_SEQUENCE = -1;
/** Kafka's "no leader epoch": not stamped by a leader (until phase 6). */
export const NO_PARTITION_LEADER_EPOCH = -1;
/** Kafka's "no timestamp". */
export const NO_TIMESTAMP = -1;

// Byte positions of the header fields (see the table above).
const BASE_OFFSET_AT = 0;
const BATCH_LENGTH_AT = 8;
const PARTITION_LEADER_EPOCH_AT = 12;
const MAGIC_AT = 16;
const CRC_AT = 17;
const ATTRIBUTES_AT = 21;
const LAST_OFFSET_DELTA_AT = 23;
const BASE_TIMESTAMP_AT = 27;
const MAX_TIMESTAMP_AT = 35;
const PRODUCER_ID_AT = 43;
const PRODUCER_EPOCH_AT = 51;
const BASE_SEQUENCE_AT = 53;
const RECORDS_COUNT_AT = 57;

/**
 * Smallest possible record: a 1-byte length, the attributes byte, and five 1-byte
 * varints (timestamp delta, offset delta, key length -1, value length -1, 0 headers).
 */
const RECORD_BYTES_MIN = 7;
const COMPRESSION_MASK = 0x07;
const TRANSACTIONAL_FLAG = 0x10;
const CONTROL_FLAG = 0x20;
const INT32_MAX = 0x7fffffff;
const TWO_POW_32 = 0x1_0000_0000;

/** A record header: a string key and an optional byte value. */
export interface Header {
  key: string;
  value: Buffer | null;
}

/** A record as a producer hands it to {@link encodeBatch}. */
export interface RecordInput {
  key?: Buffer | null;
  value: Buffer | null;
  headers?: Header[];
  /** Milliseconds since the epoch; default: the batch's base timestamp, else -1. */
  timestamp?: number;
}

/** A record as read back from the log. `key` and `value` are views into the batch's bytes. */
export interface LogRecord {
  offset: number;
  timestamp: number;
  key: Buffer | null;
  value: Buffer | null;
  headers: Header[];
}

/** The fixed 61-byte header of a batch, decoded. */
export interface BatchHeader {
  baseOffset: number;
  /** Bytes after the batchLength field; the batch occupies `LOG_OVERHEAD + batchLength` bytes. */
  batchLength: number;
  partitionLeaderEpoch: number;
  magic: number;
  crc: number;
  attributes: number;
  lastOffsetDelta: number;
  baseTimestamp: number;
  maxTimestamp: number;
  producerId: number;
  producerEpoch: number;
  baseSequence: number;
  recordsCount: number;
}

/** Optional header fields for {@link encodeBatch}; unset ones get Kafka's "none" value. */
export interface EncodeOptions {
  baseOffset?: number;
  baseTimestamp?: number;
  producerId?: number;
  producerEpoch?: number;
  baseSequence?: number;
  partitionLeaderEpoch?: number;
}

/** Total bytes the batch occupies on disk: `LOG_OVERHEAD + batchLength`. */
export function batchSizeBytes(header: BatchHeader): number {
  return LOG_OVERHEAD + header.batchLength;
}

/** Offset of the last record in the batch: `baseOffset + lastOffsetDelta`. */
export function batchLastOffset(header: BatchHeader): number {
  return header.baseOffset + header.lastOffsetDelta;
}

function readInt64(buf: Buffer, at: number, field: string): number {
  const high = buf.readInt32BE(at);
  const low = buf.readUInt32BE(at + 4);
  const value = high * TWO_POW_32 + low;
  if (!Number.isSafeInteger(value)) throw new CorruptBatchError(`${field} does not fit in a safe integer`);
  return value;
}

function writeInt64(buf: Buffer, at: number, value: number): void {
  assert(Number.isSafeInteger(value), `int64 field must be a safe integer: ${value}`);
  const high = Math.floor(value / TWO_POW_32);
  buf.writeInt32BE(high, at);
  buf.writeUInt32BE(value - high * TWO_POW_32, at + 4);
}

function checkRange(value: number, min: number, max: number, field: string): number {
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new InvalidRecordError(`${field} ${value} is outside [${min}, ${max}]`);
  }
  return value;
}

/** Encoded size of a nullable byte string (length varint + bytes). */
function bytesFieldSize(b: Buffer | null): number {
  return b === null ? 1 : varintSizeBytes(b.length) + b.length;
}

function writeBytesField(buf: Buffer, position: number, b: Buffer | null): number {
  if (b === null) return writeVarint(buf, position, -1);
  const p = writeVarint(buf, position, b.length);
  b.copy(buf, p);
  return p + b.length;
}

function checkBytes(b: unknown, field: string): Buffer | null {
  if (b === null || b === undefined) return null;
  if (!Buffer.isBuffer(b)) throw new InvalidRecordError(`${field} must be a Buffer or null`);
  return b;
}

/**
 * Encode records as one RecordBatch v2, CRC included. Offsets are assigned
 * `baseOffset + i` (the log re-stamps the base offset when it appends).
 * @throws InvalidRecordError if there are no records or a field is out of range.
 * @example
 * const batch = encodeBatch([{ value: Buffer.from('hello') }], { baseTimestamp: 1_700_000_000_000 });
 * decodeBatch(batch).records[0]?.value?.toString(); // 'hello'
 */
export function encodeBatch(records: readonly RecordInput[], opts: EncodeOptions = {}): Buffer {
  if (records.length === 0) throw new InvalidRecordError('a batch needs at least one record');
  const baseOffset = checkRange(opts.baseOffset ?? 0, 0, Number.MAX_SAFE_INTEGER, 'baseOffset');
  const producerId = checkRange(opts.producerId ?? NO_PRODUCER_ID, -1, Number.MAX_SAFE_INTEGER, 'producerId');
  const producerEpoch = checkRange(opts.producerEpoch ?? NO_PRODUCER_EPOCH, -1, 0x7fff, 'producerEpoch');
  const baseSequence = checkRange(opts.baseSequence ?? NO_SEQUENCE, -1, INT32_MAX, 'baseSequence');
  const leaderEpoch = checkRange(opts.partitionLeaderEpoch ?? NO_PARTITION_LEADER_EPOCH, -1, INT32_MAX, 'partitionLeaderEpoch');
  const MAX_TS = Number.MAX_SAFE_INTEGER;

  const timestamps = records.map((r, i) =>
    checkRange(r.timestamp ?? opts.baseTimestamp ?? NO_TIMESTAMP, -1, MAX_TS, `record ${i} timestamp`),
  );
  const baseTimestamp = checkRange(opts.baseTimestamp ?? (timestamps[0] as number), -1, MAX_TS, 'baseTimestamp');
  const maxTimestamp = timestamps.reduce((a, b) => Math.max(a, b)); // not Math.max(...): a huge batch would overflow the stack

  // Pass 1: sizes, so the batch is written into one exactly-sized buffer.
  const bodySizes: number[] = [];
  let totalBytes = BATCH_HEADER_BYTES;
  records.forEach((r, i) => {
    const delta = checkRange((timestamps[i] as number) - baseTimestamp, VARLONG_MIN, VARLONG_MAX, `record ${i} timestamp delta`);
    let body = 1 + varlongSizeBytes(delta) + varintSizeBytes(i);
    body += bytesFieldSize(checkBytes(r.key, `record ${i} key`)) + bytesFieldSize(checkBytes(r.value, `record ${i} value`));
    const headers = r.headers ?? [];
    body += varintSizeBytes(headers.length);
    for (const h of headers) {
      if (typeof h.key !== 'string') throw new InvalidRecordError(`record ${i} header key must be a string`);
      const keyBytes = Buffer.byteLength(h.key, 'utf8');
      body += varintSizeBytes(keyBytes) + keyBytes + bytesFieldSize(checkBytes(h.value, `record ${i} header value`));
    }
    if (body > INT32_MAX) throw new InvalidRecordError(`record ${i} is too large to encode`);
    bodySizes.push(body);
    totalBytes += varintSizeBytes(body) + body;
  });
  if (totalBytes - LOG_OVERHEAD > INT32_MAX) throw new InvalidRecordError('batch is too large to encode');

  // #region encode-header
  // Pass 2: write.
  const buf = Buffer.alloc(totalBytes);
  writeInt64(buf, BASE_OFFSET_AT, baseOffset);
  buf.writeInt32BE(totalBytes - LOG_OVERHEAD, BATCH_LENGTH_AT);
  buf.writeInt32BE(leaderEpoch, PARTITION_LEADER_EPOCH_AT);
  buf.writeInt8(MAGIC_V2, MAGIC_AT);
  buf.writeInt16BE(0, ATTRIBUTES_AT); // no compression, CreateTime, not transactional
  buf.writeInt32BE(records.length - 1, LAST_OFFSET_DELTA_AT);
  writeInt64(buf, BASE_TIMESTAMP_AT, baseTimestamp);
  writeInt64(buf, MAX_TIMESTAMP_AT, maxTimestamp);
  writeInt64(buf, PRODUCER_ID_AT, producerId);
  buf.writeInt16BE(producerEpoch, PRODUCER_EPOCH_AT);
  buf.writeInt32BE(baseSequence, BASE_SEQUENCE_AT);
  buf.writeInt32BE(records.length, RECORDS_COUNT_AT);
  let p = BATCH_HEADER_BYTES;
  records.forEach((r, i) => {
    p = writeVarint(buf, p, bodySizes[i] as number);
    buf.writeInt8(0, p++); // record attributes: unused in v2
    p = writeVarlong(buf, p, (timestamps[i] as number) - baseTimestamp);
    p = writeVarint(buf, p, i);
    p = writeBytesField(buf, p, r.key ?? null);
    p = writeBytesField(buf, p, r.value);
    const headers = r.headers ?? [];
    p = writeVarint(buf, p, headers.length);
    for (const h of headers) {
      p = writeVarint(buf, p, Buffer.byteLength(h.key, 'utf8'));
      p += buf.write(h.key, p, 'utf8');
      p = writeBytesField(buf, p, h.value);
    }
  });
  assert.equal(p, totalBytes, 'encoded size must match the computed size');
  buf.writeUInt32BE(computeCrc(buf, totalBytes), CRC_AT);
  return buf;
  // #endregion encode-header
}

/** CRC-32C of the checksummed range [attributes, end) of a batch of `end` bytes. */
function computeCrc(buf: Buffer, end: number): number {
  return crc32c(buf.subarray(ATTRIBUTES_AT, end)) >>> 0;
}

/**
 * Decode the 61-byte header at `position` without checking the CRC or anything
 * beyond the header (used to walk a segment batch by batch).
 * @throws CorruptBatchError if fewer than 61 bytes are present or an int64 field is not a safe integer.
 */
export function readBatchHeader(buf: Buffer, position = 0): BatchHeader {
  if (!Number.isSafeInteger(position) || position < 0 || buf.length - position < BATCH_HEADER_BYTES) {
    throw new CorruptBatchError(`need ${BATCH_HEADER_BYTES} bytes for a batch header, have ${Math.max(0, buf.length - position)}`);
  }
  const at = (field: number): number => position + field;
  return {
    baseOffset: readInt64(buf, at(BASE_OFFSET_AT), 'baseOffset'),
    batchLength: buf.readInt32BE(at(BATCH_LENGTH_AT)),
    partitionLeaderEpoch: buf.readInt32BE(at(PARTITION_LEADER_EPOCH_AT)),
    magic: buf.readInt8(at(MAGIC_AT)),
    crc: buf.readUInt32BE(at(CRC_AT)),
    attributes: buf.readInt16BE(at(ATTRIBUTES_AT)),
    lastOffsetDelta: buf.readInt32BE(at(LAST_OFFSET_DELTA_AT)),
    baseTimestamp: readInt64(buf, at(BASE_TIMESTAMP_AT), 'baseTimestamp'),
    maxTimestamp: readInt64(buf, at(MAX_TIMESTAMP_AT), 'maxTimestamp'),
    producerId: readInt64(buf, at(PRODUCER_ID_AT), 'producerId'),
    producerEpoch: buf.readInt16BE(at(PRODUCER_EPOCH_AT)),
    baseSequence: buf.readInt32BE(at(BASE_SEQUENCE_AT)),
    recordsCount: buf.readInt32BE(at(RECORDS_COUNT_AT)),
  };
}

/**
 * The checks that need only the header: magic 2, a batchLength that covers at
 * least the header, a non-negative base offset, and as many records as offsets.
 * Used when walking stored batches without reading them whole.
 * @throws CorruptBatchError naming the first check that failed.
 */
export function checkBatchHeader(header: BatchHeader): void {
  if (header.magic !== MAGIC_V2) throw new CorruptBatchError(`unsupported magic ${header.magic} (expected ${MAGIC_V2})`);
  if (header.batchLength < BATCH_HEADER_BYTES - LOG_OVERHEAD) {
    throw new CorruptBatchError(`batchLength ${header.batchLength} is shorter than a batch header`);
  }
  if (header.baseOffset < 0) throw new CorruptBatchError(`negative baseOffset ${header.baseOffset}`);
  if (header.lastOffsetDelta < 0 || header.recordsCount !== header.lastOffsetDelta + 1) {
    throw new CorruptBatchError(
      `recordsCount ${header.recordsCount} does not match lastOffsetDelta ${header.lastOffsetDelta} (this log has no gaps)`,
    );
  }
}

/**
 * True if `buf` starts with a batch whose bytes are all present and whose stored
 * CRC-32C matches the checksummed range. Never throws.
 */
export function verifyBatchCrc(buf: Buffer): boolean {
  if (buf.length < BATCH_HEADER_BYTES) return false;
  const end = LOG_OVERHEAD + buf.readInt32BE(BATCH_LENGTH_AT);
  if (end < BATCH_HEADER_BYTES || end > buf.length) return false;
  return computeCrc(buf, end) === buf.readUInt32BE(CRC_AT);
}

/**
 * Check everything about a batch that arrives from outside (a producer, a file):
 * `buf` is exactly one batch, magic 2, CRC valid, no compression / transactions /
 * control records, recordsCount = lastOffsetDelta + 1, and every record parses
 * with offset deltas 0, 1, 2, …. Returns the header.
 * @throws CorruptBatchError if the bytes are damaged; InvalidRecordError if they are intact but not acceptable.
 */
export function validateBatch(buf: Buffer): BatchHeader {
  const header = readValidHeader(buf);
  parseRecords(buf, header, null);
  return header;
}

/**
 * Validate a batch (see {@link validateBatch}) and decode its records.
 * The records' `key`, `value` and header values are views into `buf`.
 * @example
 * const { header, records } = decodeBatch(batch);
 * for (const r of records) console.log(r.offset, r.value?.toString());
 */
export function decodeBatch(buf: Buffer): { header: BatchHeader; records: LogRecord[] } {
  const header = readValidHeader(buf);
  const records: LogRecord[] = [];
  parseRecords(buf, header, records);
  return { header, records };
}

function readValidHeader(buf: Buffer): BatchHeader {
  const header = readBatchHeader(buf, 0);
  if (header.magic !== MAGIC_V2) throw new CorruptBatchError(`unsupported magic ${header.magic} (expected ${MAGIC_V2})`);
  if (header.batchLength < BATCH_HEADER_BYTES - LOG_OVERHEAD || LOG_OVERHEAD + header.batchLength !== buf.length) {
    throw new CorruptBatchError(`batchLength ${header.batchLength} does not match the ${buf.length} bytes of the batch`);
  }
  const crc = computeCrc(buf, buf.length);
  if (crc !== header.crc) {
    throw new CorruptBatchError(`CRC mismatch: stored ${hex(header.crc)}, computed ${hex(crc)}`);
  }
  // From here on the bytes are what the producer wrote; what fails now is a rule, not damage.
  if ((header.attributes & COMPRESSION_MASK) !== 0) throw new InvalidRecordError('compressed batches are not supported');
  if ((header.attributes & (TRANSACTIONAL_FLAG | CONTROL_FLAG)) !== 0) {
    throw new InvalidRecordError('transactional and control batches are not supported');
  }
  if (header.lastOffsetDelta < 0 || header.recordsCount !== header.lastOffsetDelta + 1) {
    throw new InvalidRecordError(`recordsCount ${header.recordsCount} does not match lastOffsetDelta ${header.lastOffsetDelta}`);
  }
  if (header.baseOffset < 0) throw new InvalidRecordError(`negative baseOffset ${header.baseOffset}`);
  // Checked before the records are walked: a count the bytes cannot hold is rejected up front.
  if (header.recordsCount * RECORD_BYTES_MIN > buf.length - BATCH_HEADER_BYTES) {
    throw new CorruptBatchError(`recordsCount ${header.recordsCount} cannot fit in ${buf.length - BATCH_HEADER_BYTES} bytes`);
  }
  return header;
}

function hex(n: number): string {
  return `0x${n.toString(16).padStart(8, '0')}`;
}

/** A nullable byte field: length varint (-1 = null) then bytes, bounded by `buf.length`. */
function readBytesField(buf: Buffer, cursor: Cursor, field: string): Buffer | null {
  const length = readVarint(buf, cursor);
  if (length === -1) return null;
  if (length < -1 || length > buf.length - cursor.position) {
    throw new CorruptBatchError(`${field} length ${length} does not fit the ${buf.length - cursor.position} bytes left`);
  }
  const bytes = buf.subarray(cursor.position, cursor.position + length);
  cursor.position += length;
  return bytes;
}

/** Walk the records of a header-checked batch; push them into `out` unless it is null. */
function parseRecords(buf: Buffer, header: BatchHeader, out: LogRecord[] | null): void {
  const cursor: Cursor = { position: BATCH_HEADER_BYTES };
  for (let i = 0; i < header.recordsCount; i++) {
    const bodyBytes = readVarint(buf, cursor);
    if (bodyBytes < RECORD_BYTES_MIN - 1 || bodyBytes > buf.length - cursor.position) {
      throw new CorruptBatchError(`record ${i} length ${bodyBytes} does not fit the ${buf.length - cursor.position} bytes left`);
    }
    const end = cursor.position + bodyBytes;
    // Decode inside a view that ends where the record ends, so no field can run into the next record.
    const record = buf.subarray(0, end);
    cursor.position += 1; // attributes: unused in v2
    const timestampDelta = readVarlong(record, cursor);
    const offsetDelta = readVarint(record, cursor);
    if (offsetDelta !== i) throw new InvalidRecordError(`record ${i} has offsetDelta ${offsetDelta}`);
    const key = readBytesField(record, cursor, `record ${i} key`);
    const value = readBytesField(record, cursor, `record ${i} value`);
    const headersCount = readVarint(record, cursor);
    // Each header takes at least 2 bytes (two 1-byte lengths): check before building the array.
    if (headersCount < 0 || headersCount * 2 > end - cursor.position) {
      throw new CorruptBatchError(`record ${i} headersCount ${headersCount} does not fit the ${end - cursor.position} bytes left`);
    }
    const headers: Header[] = [];
    for (let h = 0; h < headersCount; h++) {
      const keyBytes = readBytesField(record, cursor, `record ${i} header ${h} key`);
      if (keyBytes === null) throw new CorruptBatchError(`record ${i} header ${h} has a null key`);
      const headerValue = readBytesField(record, cursor, `record ${i} header ${h} value`);
      if (out !== null) headers.push({ key: keyBytes.toString('utf8'), value: headerValue });
    }
    if (cursor.position !== end) {
      throw new CorruptBatchError(`record ${i} length ${bodyBytes} disagrees with its fields (${cursor.position - end} bytes off)`);
    }
    const timestamp = header.baseTimestamp + timestampDelta;
    if (!Number.isSafeInteger(timestamp)) throw new CorruptBatchError(`record ${i} timestamp is not a safe integer`);
    if (out !== null) out.push({ offset: header.baseOffset + i, timestamp, key, value, headers });
  }
  if (cursor.position !== buf.length) {
    throw new CorruptBatchError(`${buf.length - cursor.position} bytes left over after ${header.recordsCount} records`);
  }
}

/**
 * Overwrite the base offset of an encoded batch in place. The field is outside the
 * CRC'd range, so the batch stays valid: this is how the log assigns offsets to a
 * producer's batch without re-encoding it.
 */
export function stampBaseOffset(buf: Buffer, baseOffset: number): void {
  assert(Number.isSafeInteger(baseOffset) && baseOffset >= 0, `baseOffset must be a non-negative safe integer: ${baseOffset}`);
  assert(buf.length >= LOG_OVERHEAD, 'not a batch');
  writeInt64(buf, BASE_OFFSET_AT, baseOffset);
}

/**
 * Overwrite the partition leader epoch of an encoded batch in place (outside the
 * CRC'd range). Phase 6's leader stamps its epoch here before appending.
 */
export function stampPartitionLeaderEpoch(buf: Buffer, epoch: number): void {
  assert(Number.isInteger(epoch) && epoch >= -1 && epoch <= INT32_MAX, `leader epoch out of range: ${epoch}`);
  assert(buf.length >= BATCH_HEADER_BYTES, 'not a batch');
  buf.writeInt32BE(epoch, PARTITION_LEADER_EPOCH_AT);
}
