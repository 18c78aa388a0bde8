/**
 * One segment of the log: a file of record batches laid end to end, plus its
 * sparse offset index. The log is a list of segments; only the last one (the
 * active segment) is appended to, the others are closed and never change until
 * retention deletes them whole.
 *
 * Files, named after the base offset (the offset of the segment's first record),
 * zero-padded to 20 digits so that names sort in offset order:
 * ```
 * 00000000000000000000.log     batches: [batch 0][batch 1]…   (layout: record-batch.ts)
 * 00000000000000000000.index   sparse index                    (layout: offset-index.ts)
 * 00000000000000001234.log     next segment, first offset 1234
 * ```
 * Concurrency contract (like Kafka's LogSegment): appends must be serialised by
 * the caller (the Log does); reads may run concurrently with an append and only
 * see batches whose append has completed, i.e. bytes below `sizeBytes`.
 */
import { strict as assert } from 'node:assert';
import { join } from 'node:path';
import { CorruptBatchError, LogError, StorageError } from './errors.ts';
import { type IndexEntry, isIndexEntryDue, OffsetIndex } from './offset-index.ts';
import {
  BATCH_HEADER_BYTES,
  type BatchHeader,
  batchLastOffset,
  batchSizeBytes,
  checkBatchHeader,
  readBatchHeader,
  validateBatch,
  verifyBatchCrc,
} from './record-batch.ts';
import type { Storage, StorageFile } from '../seams/storage.ts';

/** Chunk size for sequential scans (recovery, index rebuild, dump). */
const SCAN_CHUNK_BYTES = 64 * 1024;

/** File name of a segment file: 20-digit zero-padded base offset + extension. */
export function segmentFileName(baseOffset: number, extension: 'log' | 'index'): string {
  assert(Number.isSafeInteger(baseOffset) && baseOffset >= 0, `bad base offset ${baseOffset}`);
  return `${String(baseOffset).padStart(20, '0')}.${extension}`;
}

/** Parse a segment file name; null for names that are not segment files. */
export function parseSegmentFileName(name: string): { baseOffset: number; extension: 'log' | 'index' } | null {
  const m = /^(\d{20})\.(log|index)$/.exec(name);
  if (m === null) return null;
  const baseOffset = Number(m[1]);
  if (!Number.isSafeInteger(baseOffset)) return null;
  return { baseOffset, extension: m[2] === 'log' ? 'log' : 'index' };
}

/** One step of a sequential scan: a batch, or the reason the scan stopped early. */
export type ScanStep =
  | { kind: 'batch'; position: number; header: BatchHeader; batch: Buffer }
  | { kind: 'stop'; position: number; reason: string };

/** Options for {@link scanBatches}. */
export interface ScanOptions {
  /** Stop at the first batch that fails `validateBatch` (CRC and structure). Default: headers only. */
  verify?: boolean;
  /** Stop at the first batch whose base offset is not this, then the previous batch's last offset + 1. */
  expectedOffset?: number;
}

/**
 * Walk the batches of a log file from byte `fromPosition` to `endPosition`, reading
 * in 64 KiB chunks. Yields each batch; if something is wrong before `endPosition`
 * (fewer bytes than a header or batch needs, a bad header, a failed check, an
 * offset out of sequence), yields one `stop` step and ends: nothing after a bad
 * batch can be trusted, because the batch lengths that chain the file are suspect.
 * Yielded buffers stay valid (each chunk is a fresh buffer).
 */
export async function* scanBatches(
  file: StorageFile,
  fromPosition: number,
  endPosition: number,
  opts: ScanOptions = {},
): AsyncGenerator<ScanStep> {
  let chunk: Buffer = Buffer.alloc(0);
  let chunkStart = fromPosition;
  /** `length` bytes at `position` from the current chunk, reading a new chunk if needed; null past the end. */
  const bytesAt = async (position: number, length: number): Promise<Buffer | null> => {
    if (position + length > endPosition) return null;
    if (position < chunkStart || position + length > chunkStart + chunk.length) {
      chunk = await file.read(position, Math.min(Math.max(length, SCAN_CHUNK_BYTES), endPosition - position));
      chunkStart = position;
      if (chunk.length < length) return null;
    }
    return chunk.subarray(position - chunkStart, position - chunkStart + length);
  };

  let position = fromPosition;
  let expected = opts.expectedOffset;
  while (position < endPosition) {
    const head = await bytesAt(position, BATCH_HEADER_BYTES);
    if (head === null) {
      yield { kind: 'stop', position, reason: `torn: ${endPosition - position} bytes left, a batch header needs ${BATCH_HEADER_BYTES}` };
      return;
    }
    let header: BatchHeader;
    try {
      header = readBatchHeader(head, 0);
      checkBatchHeader(header);
    } catch (e) {
      if (!(e instanceof LogError)) throw e;
      yield { kind: 'stop', position, reason: `bad header: ${e.message}` };
      return;
    }
    if (expected !== undefined && header.baseOffset !== expected) {
      yield { kind: 'stop', position, reason: `base offset ${header.baseOffset} where ${expected} was expected` };
      return;
    }
    const batch = await bytesAt(position, batchSizeBytes(header));
    if (batch === null) {
      yield { kind: 'stop', position, reason: `torn: batch of ${batchSizeBytes(header)} bytes, ${endPosition - position} left` };
      return;
    }
    if (opts.verify === true) {
      try {
        validateBatch(batch);
      } catch (e) {
        if (!(e instanceof LogError)) throw e;
        yield { kind: 'stop', position, reason: e.message };
        return;
      }
    }
    yield { kind: 'batch', position, header, batch };
    position += batch.length;
    expected = batchLastOffset(header) + 1;
  }
}

/** What {@link Segment.read} returns. */
export interface SegmentRead {
  /** Whole batches, in order; verified (header, CRC, contiguous offsets). */
  batches: Buffer[];
  /** Offset after the last returned batch (the `offset` asked for if none). */
  nextOffset: number;
  /** True if the batches run to the segment's end: the caller may continue in the next segment. */
  reachedEnd: boolean;
}

/** Everything recovery knows about a segment it hands to the constructor. */
export interface SegmentState {
  baseOffset: number;
  log: StorageFile;
  index: OffsetIndex;
  /** Bytes of complete, durable batches. */
  sizeBytes: number;
  /** Offset after the segment's last batch. */
  nextOffset: number;
}

/**
 * A segment: its .log file (open for reads and appends) and its offset index.
 * Built by {@link Segment.create} for a new segment, or from recovered state.
 */
export class Segment {
  readonly baseOffset: number;
  readonly index: OffsetIndex;
  readonly #log: StorageFile;
  #sizeBytes: number;
  #nextOffset: number;

  constructor(state: SegmentState) {
    assert(state.nextOffset >= state.baseOffset, 'a segment cannot end before it starts');
    this.baseOffset = state.baseOffset;
    this.#log = state.log;
    this.index = state.index;
    this.#sizeBytes = state.sizeBytes;
    this.#nextOffset = state.nextOffset;
  }

  /**
   * Create the two files of a new, empty segment. The caller must fsync the
   * directory before acknowledging anything written to it (see Log).
   */
  static async create(storage: Storage, dir: string, baseOffset: number, indexIntervalBytes: number): Promise<Segment> {
    const log = await storage.openFile(join(dir, segmentFileName(baseOffset, 'log')), { create: true });
    const indexFile = await storage.openFile(join(dir, segmentFileName(baseOffset, 'index')), { create: true });
    if (log.size() !== 0 || indexFile.size() !== 0) {
      await Promise.allSettled([log.close(), indexFile.close()]);
      throw new StorageError(`segment ${baseOffset} already exists in ${dir}`);
    }
    const index = new OffsetIndex(indexFile, baseOffset, indexIntervalBytes, [], 0);
    return new Segment({ baseOffset, log, index, sizeBytes: 0, nextOffset: baseOffset });
  }

  /** Path of the .log file. */
  get path(): string {
    return this.#log.path;
  }

  /** Path of the .index file. */
  get indexPath(): string {
    return this.index.path;
  }

  /** Bytes of complete batches (appended and fsynced). */
  get sizeBytes(): number {
    return this.#sizeBytes;
  }

  /** Offset the next batch appended here would get. */
  get nextOffset(): number {
    return this.#nextOffset;
  }

  // #region append
  /**
   * Append one batch (already stamped with `baseOffset`) with one write and one
   * fdatasync. Resolves only once the batch is durable; only then does it become
   * visible to reads and get an index entry. If this rejects, the file may hold
   * part of the batch beyond `sizeBytes`: see {@link Segment.discardUnsynced}.
   */
  async append(batch: Buffer, baseOffset: number, lastOffset: number): Promise<void> {
    assert(baseOffset === this.#nextOffset, `batch base offset ${baseOffset} must follow ${this.#nextOffset}`);
    assert(this.#log.size() === this.#sizeBytes, 'no bytes may lie beyond the last complete batch');
    const position = this.#sizeBytes;
    await this.#log.append(batch);
    // The acknowledgement waits for this: without it the batch sits in the page
    // cache and a power cut loses records the producer was told were stored.
    await this.#log.sync();
    this.#sizeBytes = position + batch.length;
    this.#nextOffset = lastOffset + 1;
    this.index.onBatchAppended(baseOffset, position);
  }

  /**
   * After a failed append: cut the file back to the last complete batch, so that
   * reopening the log in this process does not resurrect a batch whose append was
   * rejected. Best effort: after a real crash the batch may still reappear, which
   * is allowed, since it was never acknowledged (a producer retry may then store
   * it twice; phase 8's idempotent producer removes that duplicate).
   */
  async discardUnsynced(): Promise<void> {
    if (this.#log.size() > this.#sizeBytes) await this.#log.truncate(this.#sizeBytes);
  }
  // #endregion append

  /**
   * Cut this segment so it ends just before the batch that starts at `offset` (phase 5:
   * a follower dropping what its leader may not have committed). `offset` must be a batch
   * boundary inside the segment, or its end. The file is truncated and fsynced before
   * this resolves; index entries at or past the cut are forgotten.
   * @throws CorruptBatchError if no batch starts at `offset`
   */
  async truncateTo(offset: number): Promise<void> {
    if (offset === this.#nextOffset) return;
    assert(offset >= this.baseOffset && offset < this.#nextOffset, `offset ${offset} is not in segment ${this.baseOffset}`);
    const { position, header } = await this.#findBatch(offset, this.#sizeBytes);
    if (header.baseOffset !== offset) throw this.#corrupt(position, `no batch starts at offset ${offset} (the batch there starts at ${header.baseOffset})`);
    await this.#log.truncate(position);
    await this.#log.sync();
    this.#sizeBytes = position;
    this.#nextOffset = offset;
    this.index.truncateToPosition(position);
  }

  /**
   * Read whole batches starting with the one that contains `offset`, adding
   * batches while their total stays within `maxBytes`. With `minOneBatch`, the
   * first batch is returned even if it alone exceeds `maxBytes` (so a consumer
   * always makes progress). Reads only the batch headers between the index entry
   * and `offset`, then the returned bytes: never the rest of the segment.
   * @throws CorruptBatchError if the batch holding `offset` is damaged or missing;
   *   a damaged batch after the first ends the result instead (the next read reports it).
   */
  async read(offset: number, maxBytes: number, minOneBatch: boolean): Promise<SegmentRead> {
    assert(offset >= this.baseOffset && offset < this.#nextOffset, `offset ${offset} is not in segment ${this.baseOffset}`);
    const limit = this.#sizeBytes; // only complete, durable batches are visible
    const { position, header } = await this.#findBatch(offset, limit);
    const firstBytes = batchSizeBytes(header);
    if (!minOneBatch && firstBytes > maxBytes) return { batches: [], nextOffset: offset, reachedEnd: false };
    const wantBytes = Math.max(firstBytes, Math.min(maxBytes, limit - position));
    const chunk = await this.#log.read(position, wantBytes);
    if (chunk.length < wantBytes) throw this.#corrupt(position, `short read: ${chunk.length} of ${wantBytes} bytes`);

    const batches: Buffer[] = [];
    let at = 0;
    let expected = header.baseOffset;
    while (chunk.length - at >= BATCH_HEADER_BYTES) {
      let problem: string | null = null;
      let size = 0;
      try {
        const h = readBatchHeader(chunk, at);
        checkBatchHeader(h);
        size = batchSizeBytes(h);
        if (at + size > chunk.length) break; // does not fit in maxBytes: the next read starts here
        if (h.baseOffset !== expected) problem = `base offset ${h.baseOffset} where ${expected} was expected`;
        else if (!verifyBatchCrc(chunk.subarray(at, at + size))) problem = 'CRC mismatch';
        else expected = batchLastOffset(h) + 1;
      } catch (e) {
        if (!(e instanceof CorruptBatchError)) throw e;
        problem = e.message;
      }
      if (problem !== null) {
        if (batches.length === 0) throw this.#corrupt(position + at, problem);
        break; // return the good batches; the next read starts at the damaged one and reports it
      }
      batches.push(chunk.subarray(at, at + size));
      at += size;
    }
    assert(batches.length > 0, 'the first batch was read whole and checked');
    return { batches, nextOffset: expected, reachedEnd: position + at === limit };
  }

  // #region find-batch
  /**
   * Position and header of the batch that contains `offset`: start at the index
   * entry at or below it and walk headers forward. The header at the index entry
   * must carry the entry's offset; if not, the index is stale, so rebuild it from
   * the log and try once more.
   */
  async #findBatch(offset: number, limit: number): Promise<{ position: number; header: BatchHeader }> {
    for (let attempt = 0; ; attempt++) {
      const entry = this.index.lookup(offset);
      const mayRebuild = attempt === 0 && entry.position > 0;
      let position = entry.position;
      let header: BatchHeader;
      try {
        header = await this.#readHeaderAt(position, limit);
        if (header.baseOffset !== entry.offset) throw this.#corrupt(position, `base offset ${header.baseOffset} where ${entry.offset} was expected`);
      } catch (e) {
        if (!(e instanceof CorruptBatchError) || !mayRebuild) throw e;
        await this.rebuildIndex(limit); // the entry does not point at its batch: the index is stale
        continue;
      }
      while (batchLastOffset(header) < offset) {
        const next = position + batchSizeBytes(header);
        if (next >= limit) throw this.#corrupt(next, `offset ${offset} is missing: the segment ends at offset ${batchLastOffset(header)}`);
        const nextHeader = await this.#readHeaderAt(next, limit);
        if (nextHeader.baseOffset !== batchLastOffset(header) + 1) {
          throw this.#corrupt(next, `base offset ${nextHeader.baseOffset} where ${batchLastOffset(header) + 1} was expected`);
        }
        position = next;
        header = nextHeader;
      }
      return { position, header };
    }
  }
  // #endregion find-batch

  /** Read and check the header at `position`; the batch must end by `limit`. */
  async #readHeaderAt(position: number, limit: number): Promise<BatchHeader> {
    if (limit - position < BATCH_HEADER_BYTES) throw this.#corrupt(position, 'no room for a batch header before the end of the segment');
    const bytes = await this.#log.read(position, BATCH_HEADER_BYTES);
    try {
      const header = readBatchHeader(bytes, 0);
      checkBatchHeader(header);
      if (position + batchSizeBytes(header) > limit) throw new CorruptBatchError(`batch of ${batchSizeBytes(header)} bytes runs past the end of the segment`);
      return header;
    } catch (e) {
      if (e instanceof CorruptBatchError) throw this.#corrupt(position, e.message, e);
      throw e;
    }
  }

  #corrupt(position: number, problem: string, cause?: unknown): CorruptBatchError {
    return new CorruptBatchError(`${this.#log.path} at byte ${position}: ${problem}`, cause === undefined ? undefined : { cause });
  }

  /**
   * Rebuild the index from the log's batch headers up to byte `limit` (default:
   * the segment's size); entries beyond it are kept. Stops quietly at a damaged
   * header: reads past it will report the damage.
   */
  async rebuildIndex(limit = this.#sizeBytes): Promise<void> {
    const entries: IndexEntry[] = [];
    let last = 0;
    for await (const step of scanBatches(this.#log, 0, limit, { expectedOffset: this.baseOffset })) {
      if (step.kind === 'stop') break;
      if (isIndexEntryDue(last, step.position, this.index.indexIntervalBytes)) {
        entries.push({ offset: step.header.baseOffset, position: step.position });
        last = step.position;
      }
    }
    this.index.replaceBelow(limit, entries);
  }

  /** Sequentially scan this segment's complete batches (for dump and tests); see {@link scanBatches}. */
  scan(opts: ScanOptions = {}): AsyncGenerator<ScanStep> {
    return scanBatches(this.#log, 0, this.#sizeBytes, opts);
  }

  /** Write the index file up to date and fsync it. */
  async flushIndex(): Promise<void> {
    await this.index.flush();
  }

  /**
   * Close and remove both files (retention). The caller fsyncs the directory
   * afterwards so the removal survives a crash.
   */
  async delete(storage: Storage): Promise<void> {
    await this.close();
    await storage.remove(this.path);
    await storage.remove(this.indexPath);
  }

  /** Close both files (without flushing the index). */
  async close(): Promise<void> {
    const results = await Promise.allSettled([this.#log.close(), this.index.close()]);
    for (const r of results) if (r.status === 'rejected') throw r.reason;
  }
}
