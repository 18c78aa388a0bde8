/**
 * Cuts a TCP byte stream into frames (`[size i32][size bytes]`, see `header.ts`). TCP
 * delivers whatever chunking the network produced: half a size field, three frames in one
 * chunk, a 1 MiB frame in sixteen pieces. The decoder keeps the chunks it has not used
 * yet and hands out whole frames (without the size prefix). Both the broker and the
 * client use it.
 *
 * Limits: the size is checked against `frameBytesMax` as soon as its four bytes arrive, so
 * a peer cannot make us buffer more than one maximum frame plus one socket read. A frame
 * that lies inside a single chunk is returned as a zero-copy view; one spread over several
 * chunks is copied once into a buffer of exactly its size (allocated only after the check).
 */
import { ProtocolError } from './errors.ts';
import { FRAME_SIZE_BYTES } from './header.ts';

/**
 * Incremental frame splitter.
 * @example
 * const frames = new FrameDecoder(1 << 20);
 * socket.on('data', (chunk) => {
 *   frames.push(chunk);
 *   for (let f = frames.next(); f !== null; f = frames.next()) handle(f);
 * });
 */
export class FrameDecoder {
  readonly #frameBytesMax: number;
  readonly #frameBytesMin: number;
  #chunks: Buffer[] = [];
  /** Offset of the first unread byte in `#chunks[0]`. */
  #headOffset = 0;
  #bufferedBytes = 0;

  /**
   * @param frameBytesMax largest accepted frame (size field value), like Kafka's `socket.request.max.bytes`
   * @param frameBytesMin smallest accepted frame (a request header is 10 bytes, a response header 4)
   */
  constructor(frameBytesMax: number, frameBytesMin = 0) {
    this.#frameBytesMax = frameBytesMax;
    this.#frameBytesMin = frameBytesMin;
  }

  /** Bytes received but not yet returned as frames. */
  get bufferedBytes(): number {
    return this.#bufferedBytes;
  }

  /**
   * The size field of the next frame once its four bytes have arrived, else null. Not
   * checked against the limits: `next()` does that. After `next()` returned null it is the
   * size of the frame still arriving (the transports report it, so that the broker can
   * admit that frame against `queuedRequestBytesMax` before the rest of it arrives).
   */
  get nextFrameSize(): number | null {
    return this.#bufferedBytes < FRAME_SIZE_BYTES ? null : this.#peekSize();
  }

  // #region next-frame
  /** Add a chunk from the stream. */
  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.#chunks.push(chunk);
    this.#bufferedBytes += chunk.length;
  }

  /**
   * The next whole frame (without its size prefix), or null if it has not fully arrived.
   * Throws `ProtocolError` for a size over `frameBytesMax` or under `frameBytesMin`; the
   * stream cannot be resynchronised after that, so the connection must be closed.
   */
  next(): Buffer | null {
    if (this.#bufferedBytes < FRAME_SIZE_BYTES) return null;
    const size = this.#peekSize();
    if (size > this.#frameBytesMax) {
      throw new ProtocolError(`frame of ${size} bytes exceeds frameBytesMax ${this.#frameBytesMax}`);
    }
    if (size < this.#frameBytesMin) {
      throw new ProtocolError(`frame of ${size} bytes is smaller than the ${this.#frameBytesMin}-byte minimum`);
    }
    if (this.#bufferedBytes < FRAME_SIZE_BYTES + size) return null;
    this.#skip(FRAME_SIZE_BYTES);
    return this.#take(size);
  }
  // #endregion next-frame

  /** Drop everything buffered (used when a connection is shutting down). */
  clear(): void {
    this.#chunks = [];
    this.#headOffset = 0;
    this.#bufferedBytes = 0;
  }

  #peekSize(): number {
    const first = this.#chunks[0];
    if (first !== undefined && first.length - this.#headOffset >= FRAME_SIZE_BYTES) return first.readInt32BE(this.#headOffset);
    const four = Buffer.allocUnsafe(FRAME_SIZE_BYTES);
    let filled = 0;
    let offset = this.#headOffset;
    for (const c of this.#chunks) {
      filled += c.copy(four, filled, offset, Math.min(c.length, offset + FRAME_SIZE_BYTES - filled));
      offset = 0;
      if (filled === FRAME_SIZE_BYTES) break;
    }
    return four.readInt32BE(0);
  }

  #skip(bytes: number): void {
    let left = bytes;
    while (left > 0) {
      const first = this.#chunks[0];
      if (first === undefined) throw new Error('FrameDecoder: skipped past buffered bytes');
      const available = first.length - this.#headOffset;
      if (available > left) {
        this.#headOffset += left;
        break;
      }
      left -= available;
      this.#chunks.shift();
      this.#headOffset = 0;
    }
    this.#bufferedBytes -= bytes;
  }

  #take(size: number): Buffer {
    const first = this.#chunks[0];
    if (first !== undefined && first.length - this.#headOffset >= size) {
      const frame = first.subarray(this.#headOffset, this.#headOffset + size);
      this.#skip(size);
      return frame;
    }
    const frame = Buffer.allocUnsafe(size);
    let filled = 0;
    while (filled < size) {
      const c = this.#chunks[0];
      if (c === undefined) throw new Error('FrameDecoder: frame longer than buffered bytes');
      const n = c.copy(frame, filled, this.#headOffset, Math.min(c.length, this.#headOffset + size - filled));
      filled += n;
      this.#skip(n);
    }
    return frame;
  }
}
