/**
 * Reading and writing the protocol's primitive types, big-endian like Kafka:
 *
 * | type            | bytes                                                        |
 * | --------------- | ------------------------------------------------------------ |
 * | i8/i16/i32      | 1/2/4, two's complement                                      |
 * | i64             | 8, two's complement; offsets must be safe JS integers        |
 * | string          | i16 length N (>= 0), then N bytes of UTF-8                   |
 * | nullable string | i16 length N, N = -1 means null                              |
 * | bytes           | i32 length N (>= 0), then N bytes                            |
 * | array           | i32 count N (>= 0), then N elements                          |
 *
 * `ByteReader` is where untrusted input meets the code: every length and count is checked
 * against the bytes actually left in the frame *before* anything is allocated, so a
 * 20-byte frame claiming a 4-billion-element array costs nothing but a `ProtocolError`.
 * A string must be UTF-8: bytes that are not are a `ProtocolError` too, never silently
 * replaced by U+FFFD, so every string the broker decodes re-encodes to exactly the bytes
 * it arrived as (at most 32,767) and can always be sent back, and two different byte
 * strings never decode to the same name.
 * Every read names its field; the name goes into error messages and, when a trace callback
 * is given, into the annotated hex dumps of the `demo` command.
 */
import { isUtf8 } from 'node:buffer';
import { ProtocolError } from './errors.ts';

const TWO_POW_32 = 2 ** 32;

/** Called for every field a traced reader decodes: name, byte range, decoded value. */
export type FieldTrace = (field: string, start: number, end: number, value: unknown) => void;

/**
 * A bounds-checked cursor over one frame. Byte fields are returned as zero-copy views
 * (`subarray`) into the frame.
 * @example
 * const r = new ByteReader(frame);
 * const apiKey = r.i16('apiKey');
 * r.expectEnd('ApiVersions request'); // trailing bytes are an error
 */
export class ByteReader {
  readonly #buf: Buffer;
  readonly #end: number;
  readonly #trace: FieldTrace | undefined;
  #pos: number;
  /** Array elements this reader may still accept, all arrays together ({@link limitItems}). */
  #itemsLeft = Number.POSITIVE_INFINITY;
  #itemsMax = Number.POSITIVE_INFINITY;

  constructor(buf: Buffer, start = 0, end = buf.length, trace?: FieldTrace) {
    this.#buf = buf;
    this.#pos = start;
    this.#end = end;
    this.#trace = trace;
  }

  /** Bytes not yet read. */
  get remaining(): number {
    return this.#end - this.#pos;
  }

  /** Current position in the underlying buffer. */
  get position(): number {
    return this.#pos;
  }

  #need(field: string, bytes: number): number {
    const at = this.#pos;
    if (this.#end - at < bytes) {
      throw new ProtocolError(`${field}: needs ${bytes} bytes at position ${at}, only ${this.#end - at} remain`);
    }
    this.#pos = at + bytes;
    return at;
  }

  #traced<T>(field: string, start: number, value: T): T {
    if (this.#trace !== undefined) this.#trace(field, start, this.#pos, value);
    return value;
  }

  /** A signed 8-bit integer. */
  i8(field: string): number {
    const at = this.#need(field, 1);
    return this.#traced(field, at, this.#buf.readInt8(at));
  }

  /** A signed 16-bit integer. */
  i16(field: string): number {
    const at = this.#need(field, 2);
    return this.#traced(field, at, this.#buf.readInt16BE(at));
  }

  /** A signed 32-bit integer. */
  i32(field: string): number {
    const at = this.#need(field, 4);
    return this.#traced(field, at, this.#buf.readInt32BE(at));
  }

  /** A signed 64-bit integer that must fit a JS safe integer (offsets, timestamps). */
  i64(field: string): number {
    const at = this.#need(field, 8);
    const value = this.#buf.readInt32BE(at) * TWO_POW_32 + this.#buf.readUInt32BE(at + 4);
    if (!Number.isSafeInteger(value)) throw new ProtocolError(`${field}: i64 at position ${at} is outside the safe integer range`);
    return this.#traced(field, at, value);
  }

  /**
   * A nullable string (i16 length, -1 = null) of UTF-8. Bytes that are not UTF-8 are a
   * `ProtocolError`, unless `onNotUtf8` is given: then it is called with the problem and
   * the string reads as null (the request header's client id, which must not make a
   * request unanswerable; header.ts).
   */
  nullableString(field: string, onNotUtf8?: (problem: string) => void): string | null {
    const start = this.#pos;
    const length = this.#length(field, 2);
    if (length < 0) return this.#traced(field, start, null);
    const at = this.#need(field, length);
    const raw = this.#buf.subarray(at, at + length);
    const s = raw.toString('utf8');
    if (isUtf8Decoding(s, raw)) return this.#traced(field, start, s);
    const problem = `${field}: the ${length} bytes at position ${at} are not UTF-8`;
    if (onNotUtf8 === undefined) throw new ProtocolError(problem);
    onNotUtf8(problem);
    return this.#traced(field, start, null);
  }

  /** A non-null string. */
  string(field: string): string {
    const s = this.nullableString(field);
    if (s === null) throw new ProtocolError(`${field}: null where a string is required`);
    return s;
  }

  /** Non-null bytes (i32 length), returned as a view into the frame. */
  bytes(field: string): Buffer {
    const start = this.#pos;
    const length = this.#length(field, 4);
    if (length < 0) throw new ProtocolError(`${field}: null where bytes are required`);
    const at = this.#need(field, length);
    return this.#traced(field, start, this.#buf.subarray(at, at + length));
  }

  /**
   * An array count (i32), checked so that `count * elementBytesMin` bytes are really left
   * and that it stays within {@link limitItems}: the caller may then allocate and decode
   * `count` elements without trusting the sender.
   */
  arrayCount(field: string, elementBytesMin: number): number {
    const at = this.#pos;
    const count = this.i32(field);
    if (count < 0) throw new ProtocolError(`${field}: negative array count ${count} at position ${at}`);
    return this.#checkCount(field, count, elementBytesMin);
  }

  /** An array count that may be -1 for null (Metadata's "every topic"), checked like {@link arrayCount}. */
  nullableArrayCount(field: string, elementBytesMin: number): number | null {
    const at = this.#pos;
    const count = this.i32(field);
    if (count === -1) return null;
    if (count < 0) throw new ProtocolError(`${field}: negative array count ${count} at position ${at}`);
    return this.#checkCount(field, count, elementBytesMin);
  }

  /**
   * From here on, accept at most `max` more array elements, all arrays together (nested
   * ones included): a count past that is a `ProtocolError` before any of its elements is
   * decoded. The broker sets its `requestItemsMax` on every request body, which bounds
   * the work of decoding a request by a count, not only by its frame's bytes.
   */
  limitItems(max: number): this {
    this.#itemsLeft = max;
    this.#itemsMax = max;
    return this;
  }

  #checkCount(field: string, count: number, elementBytesMin: number): number {
    if (count * elementBytesMin > this.remaining) {
      throw new ProtocolError(
        `${field}: count ${count} needs at least ${count * elementBytesMin} bytes, only ${this.remaining} remain`,
      );
    }
    if (count > this.#itemsLeft) {
      throw new ProtocolError(`${field}: ${count} more array elements would pass the ${this.#itemsMax} one request may carry (requestItemsMax)`);
    }
    this.#itemsLeft -= count;
    return count;
  }

  /** Throw unless every byte of the frame was consumed: trailing bytes are an error. */
  expectEnd(what: string): void {
    if (this.#pos !== this.#end) {
      throw new ProtocolError(`${what}: ${this.#end - this.#pos} trailing bytes after the last field`);
    }
  }

  /** Reads an i16/i32 length (-1 allowed for null) and checks it against what remains. */
  #length(field: string, width: 2 | 4): number {
    const at = this.#need(field, width);
    const length = width === 2 ? this.#buf.readInt16BE(at) : this.#buf.readInt32BE(at);
    if (length < -1) throw new ProtocolError(`${field}: invalid length ${length} at position ${at}`);
    if (length > this.remaining) {
      throw new ProtocolError(`${field}: length ${length} at position ${at} but only ${this.remaining} bytes remain`);
    }
    return length;
  }
}

/**
 * Whether `decoded` (`raw.toString('utf8')`) is a faithful decoding of `raw`, i.e. `raw`
 * is UTF-8. Node replaces every byte sequence that is not UTF-8 by U+FFFD, so a string
 * without one is faithful; only one that has a U+FFFD needs the full check (the client
 * may have sent the three bytes of a real U+FFFD).
 * @example isUtf8Decoding('\uFFFD', Buffer.from([0xff])) // false
 */
export function isUtf8Decoding(decoded: string, raw: Buffer): boolean {
  return !decoded.includes('\uFFFD') || isUtf8(raw);
}

/** Encoded size of a (nullable) string: i16 length + UTF-8 bytes. */
export function stringBytes(s: string | null): number {
  return s === null ? 2 : 2 + Buffer.byteLength(s, 'utf8');
}

/**
 * Writes fields into a buffer allocated once at its exact final size (the encoders
 * compute the size first), so encoding never grows or copies a buffer.
 * @example
 * const w = new ByteWriter(2 + 4);
 * w.i16(18).i32(7);
 * const buf = w.finish();
 */
export class ByteWriter {
  readonly #buf: Buffer;
  #pos = 0;

  constructor(sizeBytes: number) {
    this.#buf = Buffer.allocUnsafe(sizeBytes);
  }

  /** Append a signed 8-bit integer. */
  i8(v: number): this {
    this.#pos = this.#buf.writeInt8(v, this.#pos);
    return this;
  }

  /** Append a signed 16-bit integer. */
  i16(v: number): this {
    this.#pos = this.#buf.writeInt16BE(v, this.#pos);
    return this;
  }

  /** Append a signed 32-bit integer. */
  i32(v: number): this {
    this.#pos = this.#buf.writeInt32BE(v, this.#pos);
    return this;
  }

  /** Append a safe integer as an i64 (two 32-bit words; no BigInt on the hot path). */
  i64(v: number): this {
    if (!Number.isSafeInteger(v)) throw new ProtocolError(`i64 value ${v} is not a safe integer`);
    const high = Math.floor(v / TWO_POW_32);
    this.#buf.writeInt32BE(high, this.#pos);
    this.#buf.writeUInt32BE(v - high * TWO_POW_32, this.#pos + 4);
    this.#pos += 8;
    return this;
  }

  /** Append a nullable string (i16 length, -1 = null). */
  nullableString(s: string | null): this {
    if (s === null) return this.i16(-1);
    const length = Buffer.byteLength(s, 'utf8');
    if (length > 0x7fff) throw new ProtocolError(`string of ${length} bytes is longer than an i16 length allows`);
    this.i16(length);
    this.#pos += this.#buf.write(s, this.#pos, 'utf8');
    return this;
  }

  /** Append a non-null string. */
  string(s: string): this {
    return this.nullableString(s);
  }

  /** The finished buffer; asserts the precomputed size was exact. */
  finish(): Buffer {
    if (this.#pos !== this.#buf.length) {
      throw new Error(`ByteWriter: wrote ${this.#pos} bytes into a ${this.#buf.length}-byte buffer`);
    }
    return this.#buf;
  }
}
