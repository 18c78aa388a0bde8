/**
 * The log: an append-only sequence of record batches, numbered by offset, split
 * into segments on disk. This is the whole of phase 1's broker core; later phases
 * put a network server (phase 2), topics (phase 3) and replication (phase 5) in
 * front of it.
 *
 * ```
 * dir/
 *   00000000000000000000.log  .index   closed segment   offsets [0, 1200)
 *   00000000000000001200.log  .index   closed segment   offsets [1200, 2350)
 *   00000000000000002350.log  .index   active segment   offsets [2350, logEndOffset)
 *        ^ logStartOffset = 0                 appends go here ^
 * ```
 *
 * The rules it keeps (course/architecture.md §5):
 * - An append is acknowledged only once durable: one write and one fdatasync per
 *   batch, and an fsync of the directory whenever a segment file is created or
 *   removed. When a batch rolls the log to a new segment, every file it touched is
 *   synced before the ack: the closed segment's index, the new segment's files (by
 *   the directory fsync) and the batch itself.
 * - Appends run one at a time, in call order, so a batch's offsets are contiguous
 *   and batches never interleave.
 * - If an fsync (or any write) fails, the append rejects, its offsets are not
 *   handed out, and the log refuses further appends until it is reopened and
 *   recovered from disk. Retrying the fsync would be pretending: Linux may have
 *   dropped the dirty pages, and a second fsync can succeed with the data gone.
 * - Reads see only acknowledged batches, never a batch mid-append.
 */
import { strict as assert } from 'node:assert';
import { AppendQueueFullError, CorruptBatchError, checkIntegerSetting, LogClosedError, LogError, OffsetOutOfRangeError, RecordTooLargeError, StorageError } from './errors.ts';
import type { IndexEntry } from './offset-index.ts';
import {
  BATCH_HEADER_BYTES,
  type BatchHeader,
  batchSizeBytes,
  decodeBatch,
  encodeBatch,
  type LogRecord,
  type RecordInput,
  stampBaseOffset,
  validateBatch,
  verifyBatchCrc,
} from './record-batch.ts';
import { type RecoveryReport, recoverSegments } from './recovery.ts';
import { Segment } from './segment.ts';
import { mkdirDurable, type Storage } from '../seams/storage.ts';

/** Tunables of a log; names as Kafka's topic configs where Kafka has them. */
export interface LogConfig {
  /** Roll to a new segment when the active one would grow past this (Kafka `segment.bytes`). */
  segmentBytesMax: number;
  /** Bytes of log between two index entries (Kafka `index.interval.bytes`). */
  indexIntervalBytes: number;
  /** Retention keeps at least this many bytes, deleting whole oldest segments beyond it; -1 = keep all (Kafka `retention.bytes`). */
  retentionBytesMax: number;
  /** Largest batch accepted, in bytes (Kafka `max.message.bytes`). */
  batchBytesMax: number;
  /** Appends allowed to wait for their turn at once; one more is refused with AppendQueueFullError. */
  appendQueueMax: number;
}

/** Defaults: Kafka's, except a smaller batch limit. */
export const DEFAULT_LOG_CONFIG: Readonly<LogConfig> = Object.freeze({
  segmentBytesMax: 1024 * 1024 * 1024,
  indexIntervalBytes: 4096,
  retentionBytesMax: -1,
  batchBytesMax: 1024 * 1024,
  appendQueueMax: 10_000,
});

const INT32_MAX = 0x7fffffff;

/** Fill in defaults and check every bound (positions in the index are uint32, batch lengths int32). */
export function resolveLogConfig(config: Partial<LogConfig> = {}): LogConfig {
  const c: LogConfig = { ...DEFAULT_LOG_CONFIG, ...config };
  const check = (name: keyof LogConfig, min: number, max: number): void => checkIntegerSetting(name, c[name], min, max);
  check('segmentBytesMax', BATCH_HEADER_BYTES, INT32_MAX);
  check('indexIntervalBytes', 0, INT32_MAX);
  check('batchBytesMax', BATCH_HEADER_BYTES, INT32_MAX);
  check('appendQueueMax', 1, INT32_MAX);
  if (c.retentionBytesMax !== -1) check('retentionBytesMax', 0, Number.MAX_SAFE_INTEGER);
  return c;
}

/** A segment as `Log.segments()` describes it (for dump and tests). */
export interface SegmentInfo {
  baseOffset: number;
  /** Offset after the segment's last batch (for the active segment: the log end offset). */
  nextOffset: number;
  /** Path of the .log file. */
  path: string;
  /** Path of the .index file. */
  indexPath: string;
  /** Bytes of complete batches in the .log file. */
  sizeBytes: number;
}

/** A batch found by {@link Log.scanSegment}, as `kafka-dump-log.sh` would show it. */
export interface ScannedBatch {
  /** Byte position of the batch in the .log file. */
  position: number;
  sizeBytes: number;
  header: BatchHeader;
  crcValid: boolean;
  /** The decoded records, or null if the batch does not decode (see `error`). */
  records: LogRecord[] | null;
  error: string | null;
}

/** Offsets assigned to an appended batch. */
export interface AppendResult {
  baseOffset: number;
  lastOffset: number;
}

/**
 * A segmented, durable commit log in one directory.
 * @example
 * const log = await Log.open(new FsStorage(), '/tmp/log', { segmentBytesMax: 1 << 20 });
 * const { baseOffset } = await log.append([{ value: Buffer.from('hello') }]); // durable now
 * const [record] = await log.readRecords(baseOffset, 1 << 20);
 * await log.close();
 */
export class Log {
  /** The directory holding the segment files. */
  readonly dir: string;
  readonly config: Readonly<LogConfig>;
  /** What recovery repaired when this log was opened. */
  readonly recoveryReport: RecoveryReport;
  readonly #storage: Storage;
  /** Oldest first; the last is the active segment. Replaced, never mutated, so readers can hold a snapshot. */
  #segments: readonly Segment[];
  #logEndOffset: number;
  /** Tail of the queue that serialises appends, retention and close. */
  #queue: Promise<void> = Promise.resolve();
  /** Appends accepted but not yet settled (queued or being written); bounded by `appendQueueMax`. */
  #appendsPending = 0;
  /** Set by the first failed append (with what failed): the log refuses appends from then on. */
  #failure: { cause: unknown } | null = null;
  #closed = false;

  private constructor(storage: Storage, dir: string, config: LogConfig, segments: Segment[], report: RecoveryReport) {
    assert(segments.length > 0, 'a log always has an active segment');
    this.#storage = storage;
    this.dir = dir;
    this.config = Object.freeze(config);
    this.#segments = segments;
    this.#logEndOffset = this.#active.nextOffset;
    this.recoveryReport = report;
  }

  /**
   * Open (or create) the log in `dir`, running recovery first: the torn or invalid
   * tail of the active segment is cut off and damaged indexes rebuilt, so what is
   * left is exactly the batches that were durable.
   * @throws InvalidConfigError for a bad config; CorruptBatchError if the segments do not join up; StorageError on I/O failure.
   */
  static async open(storage: Storage, dir: string, config: Partial<LogConfig> = {}): Promise<Log> {
    const resolved = resolveLogConfig(config);
    await mkdirDurable(storage, dir);
    const { segments, report } = await recoverSegments(storage, dir, resolved.indexIntervalBytes);
    if (segments.length === 0) {
      segments.push(await Segment.create(storage, dir, 0, resolved.indexIntervalBytes));
      await storage.syncDir(dir); // the first segment's name must survive a crash like any other
    }
    return new Log(storage, dir, resolved, segments, report);
  }

  get #active(): Segment {
    return this.#segments[this.#segments.length - 1] as Segment;
  }

  /** The first offset still stored (moves up when retention deletes segments). */
  get logStartOffset(): number {
    return (this.#segments[0] as Segment).baseOffset;
  }

  /** The offset the next record will get; the log holds `[logStartOffset, logEndOffset)`. Empty log: 0. */
  get logEndOffset(): number {
    return this.#logEndOffset;
  }

  /** True once an append has failed; reopen the log to recover. */
  get failed(): boolean {
    return this.#failure !== null;
  }

  /**
   * Append records as one batch. Resolves once the batch is durable (fsynced),
   * with the offsets it got.
   * @throws RecordTooLargeError if the encoded batch exceeds `batchBytesMax`;
   *   InvalidRecordError for bad input; StorageError if the disk fails (the log is then failed).
   */
  async append(records: readonly RecordInput[]): Promise<AppendResult> {
    this.#checkOpen();
    const batch = encodeBatch(records);
    if (batch.length > this.config.batchBytesMax) throw new RecordTooLargeError(batch.length, this.config.batchBytesMax);
    return await this.#enqueueAppend(() => this.#appendNow(batch, records.length - 1));
  }

  /**
   * Append an encoded batch as received from a producer: it is checked whole
   * (CRC-32C, structure), stamped in place with its base offset (outside the CRC,
   * so it stays valid) and written as is. The caller must not modify `batch`
   * until the promise settles. Resolves once durable.
   * @throws RecordTooLargeError; CorruptBatchError or InvalidRecordError for a bad batch; StorageError.
   */
  async appendBatch(batch: Buffer): Promise<AppendResult> {
    this.#checkOpen();
    if (batch.length > this.config.batchBytesMax) throw new RecordTooLargeError(batch.length, this.config.batchBytesMax);
    const header = validateBatch(batch);
    return await this.#enqueueAppend(() => this.#appendNow(batch, header.lastOffsetDelta));
  }

  /** Queue an append unless `appendQueueMax` appends are already pending. */
  async #enqueueAppend(op: () => Promise<AppendResult>): Promise<AppendResult> {
    if (this.#appendsPending >= this.config.appendQueueMax) throw new AppendQueueFullError(this.config.appendQueueMax);
    this.#appendsPending++;
    try {
      return await this.#enqueue(op);
    } finally {
      this.#appendsPending--;
    }
  }

  /** Run `op` after every earlier queued operation has settled (appends, retention, close). */
  #enqueue<T>(op: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(op);
    this.#queue = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }

  // #region append-now
  async #appendNow(batch: Buffer, lastOffsetDelta: number): Promise<AppendResult> {
    this.#checkOpen();
    if (this.#failure !== null) {
      throw new StorageError('the log failed after an earlier storage error; reopen it to recover from disk', { cause: this.#failure.cause });
    }
    const baseOffset = this.#logEndOffset;
    const lastOffset = baseOffset + lastOffsetDelta;
    assert(Number.isSafeInteger(lastOffset), 'offsets must stay safe integers');
    stampBaseOffset(batch, baseOffset);
    try {
      const active = this.#active;
      const wouldOverflow = active.sizeBytes + batch.length > this.config.segmentBytesMax;
      const offsetsWouldOverflow = lastOffset - active.baseOffset > 0xffffffff; // index stores uint32 relative offsets
      if (active.sizeBytes > 0 && (wouldOverflow || offsetsWouldOverflow)) await this.#roll(baseOffset);
      await this.#active.append(batch, baseOffset, lastOffset);
    } catch (cause) {
      this.#failure = { cause };
      await this.#active.discardUnsynced().catch(() => undefined);
      const detail = cause instanceof Error ? cause.message : String(cause);
      throw new StorageError(`append at offset ${baseOffset} failed, nothing acknowledged; the log refuses appends until reopened: ${detail}`, {
        cause,
      });
    }
    // Only now, with the batch durable, are its offsets handed out.
    this.#logEndOffset = lastOffset + 1;
    return { baseOffset, lastOffset };
  }
  // #endregion append-now

  /** Close the active segment and start a new one at `baseOffset`. */
  async #roll(baseOffset: number): Promise<void> {
    // The closing segment's index becomes final: write and fsync it now, so after
    // a crash recovery only has to check a closed segment's index, not rebuild it.
    // (Its .log needs nothing more: every batch in it was fsynced when appended.)
    await this.#active.flushIndex();
    const segment = await Segment.create(this.#storage, this.dir, baseOffset, this.config.indexIntervalBytes);
    // The new files' names must be durable before any record in them is acked:
    // without this fsync a power cut can drop the new .log from the directory,
    // taking every acknowledged record in it along.
    await this.#storage.syncDir(this.dir);
    this.#segments = [...this.#segments, segment];
  }

  /**
   * Read raw stored batches starting with the batch that contains `offset`, up to
   * `maxBytes` in total, but always at least one batch when `offset` is below the
   * log end (so a consumer makes progress even past a batch larger than its
   * limit). Continues across segments. Returns [] at the log end offset.
   * Reads only what it returns plus the batch headers between the nearest index
   * entry and `offset`.
   * @throws OffsetOutOfRangeError outside `[logStartOffset, logEndOffset]`;
   *   CorruptBatchError if the batch holding `offset` is damaged (never returned).
   */
  async read(offset: number, maxBytes: number): Promise<Buffer[]> {
    this.#checkOpen();
    assert(Number.isSafeInteger(maxBytes) && maxBytes > 0, `maxBytes must be a positive integer, got ${maxBytes}`);
    const segments = this.#segments;
    const logEndOffset = this.#logEndOffset;
    const logStartOffset = (segments[0] as Segment).baseOffset;
    if (!Number.isSafeInteger(offset) || offset < logStartOffset || offset > logEndOffset) {
      throw new OffsetOutOfRangeError(offset, logStartOffset, logEndOffset);
    }
    if (offset === logEndOffset) return [];
    const batches: Buffer[] = [];
    try {
      let remainingBytes = maxBytes;
      let next = offset;
      for (let i = floorSegment(segments, offset); i < segments.length && next < logEndOffset; i++) {
        const segment = segments[i] as Segment;
        if (next >= segment.nextOffset) continue;
        const first = batches.length === 0;
        const result = await segment.read(next, remainingBytes, first).catch((e: unknown) => {
          // Damage further on ends this read; the next read, starting there, reports it.
          if (!first && e instanceof CorruptBatchError) return null;
          throw e;
        });
        if (result === null) break;
        for (const b of result.batches) {
          batches.push(b);
          remainingBytes -= b.length;
        }
        next = result.nextOffset;
        if (!result.reachedEnd || remainingBytes <= 0) break;
      }
    } catch (e) {
      // Retention or close may have removed the segment under this read.
      if (this.#closed) throw new LogClosedError();
      if (offset < this.logStartOffset) throw new OffsetOutOfRangeError(offset, this.logStartOffset, this.#logEndOffset);
      throw e;
    }
    return batches;
  }

  /**
   * Like {@link Log.read}, decoded into records; records of the first batch below
   * `offset` are dropped, so the first record returned has offset `offset`.
   */
  async readRecords(offset: number, maxBytes: number): Promise<LogRecord[]> {
    const records: LogRecord[] = [];
    for (const batch of await this.read(offset, maxBytes)) {
      for (const r of decodeBatch(batch).records) if (r.offset >= offset) records.push(r);
    }
    return records;
  }

  /**
   * Delete whole oldest segments while the rest still hold at least
   * `retentionBytesMax` bytes (Kafka's `retention.bytes` rule, so the log stays
   * within one segment of the limit). Never deletes the active segment.
   * @returns the number of segments deleted.
   */
  async applyRetention(): Promise<number> {
    this.#checkOpen();
    return await this.#enqueue(async () => {
      this.#checkOpen();
      const limitBytes = this.config.retentionBytesMax;
      if (limitBytes < 0) return 0;
      let totalBytes = this.#segments.reduce((n, s) => n + s.sizeBytes, 0);
      let deleted = 0;
      for (;;) {
        const oldest = this.#segments[0] as Segment;
        if (this.#segments.length === 1 || totalBytes - oldest.sizeBytes < limitBytes) break;
        // Drop it from the list first: new reads below the new start get OffsetOutOfRangeError.
        this.#segments = this.#segments.slice(1);
        totalBytes -= oldest.sizeBytes;
        await oldest.delete(this.#storage);
        deleted += 1;
      }
      // Make the removals durable; otherwise a crash brings the segments back.
      if (deleted > 0) await this.#storage.syncDir(this.dir);
      return deleted;
    });
  }

  /**
   * Cut the log back so that it ends at `offset`, a batch boundary in
   * `[logStartOffset, logEndOffset]` (phase 5: a follower truncating to its high
   * watermark on restart). Segments that start at or after `offset` are deleted (but the
   * first, which is cut to empty instead), the segment holding it is cut at that batch,
   * and the directory is fsynced: the truncation is durable before this resolves, so a
   * crash cannot bring the cut records back. Waits for queued appends first.
   * @throws OffsetOutOfRangeError outside that range; CorruptBatchError if no batch starts at `offset`
   */
  async truncateTo(offset: number): Promise<void> {
    this.#checkOpen();
    await this.#enqueue(async () => {
      this.#checkOpen();
      if (offset === this.#logEndOffset) return;
      if (!Number.isSafeInteger(offset) || offset < this.logStartOffset || offset > this.#logEndOffset) {
        throw new OffsetOutOfRangeError(offset, this.logStartOffset, this.#logEndOffset);
      }
      let deleted = 0;
      while (this.#segments.length > 1 && (this.#segments[this.#segments.length - 1] as Segment).baseOffset >= offset) {
        const last = this.#segments[this.#segments.length - 1] as Segment;
        this.#segments = this.#segments.slice(0, -1);
        await last.delete(this.#storage);
        deleted += 1;
      }
      if (deleted > 0) await this.#storage.syncDir(this.dir);
      await this.#active.truncateTo(offset);
      this.#logEndOffset = offset;
    });
  }

  /** The segments, oldest first (the last is the active one). */
  segments(): readonly SegmentInfo[] {
    return this.#segments.map((s) => ({
      baseOffset: s.baseOffset,
      nextOffset: s.nextOffset,
      path: s.path,
      indexPath: s.indexPath,
      sizeBytes: s.sizeBytes,
    }));
  }

  /** The in-memory index entries of the segment with this base offset (absolute offsets). */
  indexEntries(baseOffset: number): readonly IndexEntry[] {
    return this.#segment(baseOffset).index.entries();
  }

  /**
   * Walk every batch of one segment from byte 0, for `dump`: position, header,
   * whether the CRC holds, and the records if the batch decodes. Stops at the
   * first header that cannot be read (the rest of the file cannot be framed).
   */
  async *scanSegment(baseOffset: number): AsyncGenerator<ScannedBatch> {
    this.#checkOpen();
    for await (const step of this.#segment(baseOffset).scan()) {
      if (step.kind === 'stop') return;
      let records: LogRecord[] | null = null;
      let error: string | null = null;
      try {
        records = decodeBatch(step.batch).records;
      } catch (e) {
        if (!(e instanceof LogError)) throw e;
        error = e.message;
      }
      yield {
        position: step.position,
        sizeBytes: batchSizeBytes(step.header),
        header: step.header,
        crcValid: verifyBatchCrc(step.batch),
        records,
        error,
      };
    }
  }

  #segment(baseOffset: number): Segment {
    const segment = this.#segments.find((s) => s.baseOffset === baseOffset);
    if (segment === undefined) throw new OffsetOutOfRangeError(baseOffset, this.logStartOffset, this.#logEndOffset);
    return segment;
  }

  /**
   * Wait for queued appends, write and fsync the indexes, and close every file.
   * Idempotent. After close every method throws LogClosedError.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    await this.#enqueue(async () => {
      this.#closed = true;
      const errors: unknown[] = [];
      for (const s of this.#segments) {
        // A failed log skips the index flush: its state on disk is for recovery to judge.
        if (this.#failure === null) await s.flushIndex().catch((e: unknown) => errors.push(e));
        await s.close().catch((e: unknown) => errors.push(e));
      }
      if (errors.length > 0) throw new StorageError(`closing ${this.dir} failed`, { cause: errors[0] });
    });
  }

  #checkOpen(): void {
    if (this.#closed) throw new LogClosedError();
  }
}

/** Index of the last segment whose base offset is ≤ `offset` (binary search). */
function floorSegment(segments: readonly Segment[], offset: number): number {
  let low = 0;
  let high = segments.length - 1;
  let found = 0;
  while (low <= high) {
    const mid = (low + high) >>> 1;
    if ((segments[mid] as Segment).baseOffset <= offset) {
      found = mid;
      low = mid + 1;
    } else {
      high = mid - 1;
    }
  }
  return found;
}

