/**
 * Variable-length zigzag integers, as Kafka's record format uses them for every
 * per-record field (lengths, deltas, counts): small numbers, the common case, take
 * one byte instead of four or eight.
 *
 * Byte layout (Protocol Buffers' `sint32` / `sint64`):
 * - zigzag first maps signed to unsigned so small negatives stay small:
 *   0 → 0, -1 → 1, 1 → 2, -2 → 3, … (`(n << 1) ^ (n >> 31)`);
 * - then 7 bits per byte, least significant group first; the high bit of a byte
 *   is 1 when another byte follows. A varint (32-bit) takes 1–5 bytes, a varlong
 *   (64-bit) 1–10.
 *
 * Example: -1 → zigzag 1 → `01`; 300 → zigzag 600 = 0b100_1011000 → `d8 04`.
 *
 * Varlongs are limited to [-2^52, 2^52 - 1], the values whose zigzag form is still
 * a safe JavaScript integer (2^52 ms is 142,000 years of timestamp delta); a stored
 * value outside that range is reported as corrupt rather than silently rounded.
 * Decoders read through a {@link Cursor} and never past `buf.length`.
 */
import { strict as assert } from 'node:assert';
import { CorruptBatchError } from './errors.ts';

/** A read position in a buffer, advanced by the decoders. */
export interface Cursor {
  position: number;
}

const INT32_MIN = -0x80000000;
const INT32_MAX = 0x7fffffff;
const TWO_POW_32 = 0x1_0000_0000;

/** Smallest value a varlong can carry here (-2^52). */
export const VARLONG_MIN = -(2 ** 52);
/** Largest value a varlong can carry here (2^52 - 1). */
export const VARLONG_MAX = 2 ** 52 - 1;

function isVarlong(value: number): boolean {
  return Number.isInteger(value) && value >= VARLONG_MIN && value <= VARLONG_MAX;
}

/** Zigzag-encode a safe integer into a non-negative number (exact up to 2^53). */
function zigzag(value: number): number {
  return value >= 0 ? value * 2 : -value * 2 - 1;
}

/** Bytes needed to encode `value` as a varint (int32). */
export function varintSizeBytes(value: number): number {
  assert(Number.isInteger(value) && value >= INT32_MIN && value <= INT32_MAX, `varint out of int32 range: ${value}`);
  return unsignedSizeBytes(zigzag(value));
}

/** Bytes needed to encode `value` as a varlong (int64, limited to [VARLONG_MIN, VARLONG_MAX]). */
export function varlongSizeBytes(value: number): number {
  assert(isVarlong(value), `varlong out of range: ${value}`);
  return unsignedSizeBytes(zigzag(value));
}

function unsignedSizeBytes(u: number): number {
  let bytes = 1;
  while (u >= 0x80) {
    u = Math.floor(u / 128);
    bytes += 1;
  }
  return bytes;
}

/**
 * Write `value` as a varint at `position`; returns the position after it.
 * @example
 * const buf = Buffer.alloc(varintSizeBytes(300));
 * writeVarint(buf, 0, 300); // buf = d8 04
 */
export function writeVarint(buf: Buffer, position: number, value: number): number {
  assert(Number.isInteger(value) && value >= INT32_MIN && value <= INT32_MAX, `varint out of int32 range: ${value}`);
  return writeUnsigned(buf, position, zigzag(value));
}

/** Write `value` (in [VARLONG_MIN, VARLONG_MAX]) as a varlong at `position`; returns the position after it. */
export function writeVarlong(buf: Buffer, position: number, value: number): number {
  assert(isVarlong(value), `varlong out of range: ${value}`);
  return writeUnsigned(buf, position, zigzag(value));
}

function writeUnsigned(buf: Buffer, position: number, u: number): number {
  // Division instead of `>>>` because u may exceed 32 bits for varlongs.
  let p = position;
  while (u >= 0x80) {
    buf[p++] = (u % 128) | 0x80;
    u = Math.floor(u / 128);
  }
  buf[p++] = u;
  return p;
}

/** Read the unsigned 7-bit groups (at most `maxBytes` of them) and return the raw number. */
function readUnsigned(buf: Buffer, cursor: Cursor, maxBytes: number, what: string): number {
  let result = 0;
  let scale = 1;
  for (let i = 0; i < maxBytes; i++) {
    const p = cursor.position;
    if (p >= buf.length) throw new CorruptBatchError(`${what} runs past the end of the data at byte ${p}`);
    const byte = buf[p] as number;
    cursor.position = p + 1;
    result += (byte & 0x7f) * scale;
    if ((byte & 0x80) === 0) return result;
    scale *= 128;
  }
  throw new CorruptBatchError(`${what} longer than ${maxBytes} bytes at byte ${cursor.position}`);
}

/** Undo zigzag: even → non-negative, odd → negative. */
function unzigzag(u: number): number {
  return u % 2 === 0 ? u / 2 : -(u + 1) / 2;
}

/**
 * Decode a varint (int32) at `cursor.position` and advance the cursor.
 * @throws CorruptBatchError if the bytes end early or the value does not fit 32 bits.
 */
export function readVarint(buf: Buffer, cursor: Cursor): number {
  const u = readUnsigned(buf, cursor, 5, 'varint');
  if (u >= TWO_POW_32) throw new CorruptBatchError(`varint does not fit in 32 bits at byte ${cursor.position}`);
  return unzigzag(u);
}

/**
 * Decode a varlong (int64) at `cursor.position` and advance the cursor.
 * @throws CorruptBatchError if the bytes end early or the value is outside [VARLONG_MIN, VARLONG_MAX].
 */
export function readVarlong(buf: Buffer, cursor: Cursor): number {
  const u = readUnsigned(buf, cursor, 10, 'varlong');
  // Above 2^53 the sum in readUnsigned is no longer exact, so refuse instead of rounding.
  if (u > Number.MAX_SAFE_INTEGER) {
    throw new CorruptBatchError(`varlong outside [${VARLONG_MIN}, ${VARLONG_MAX}] at byte ${cursor.position}`);
  }
  return unzigzag(u);
}
