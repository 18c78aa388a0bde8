/**
 * A read-only look at a log directory, byte by byte, for `dump` and the demo.
 *
 * `Log.open` runs recovery, which may truncate a torn tail: exactly what a learner
 * wants to look at before it happens. So this module never opens a `Log`; it opens
 * the segment files through the `Storage` seam, walks them with `scanBatches` from
 * `segment.ts` and decodes each batch with `record-batch.ts`, reporting what it finds
 * (bad CRCs, torn tails, torn or inconsistent index files) instead of repairing it.
 * It streams: one batch in memory at a time, so dumping a 1 GiB segment is fine.
 * It sits beside the log, not under it: nothing in the write path imports it.
 * File layouts: `segment.ts` (names), `record-batch.ts` (.log), `offset-index.ts` (.index).
 */
import { crc32c } from '@node-rs/crc32';
import { join } from 'node:path';
import { INDEX_ENTRY_BYTES, parseIndex } from '../log/offset-index.ts';
import { decodeBatch, type BatchHeader, type LogRecord } from '../log/record-batch.ts';
import { parseSegmentFileName, scanBatches } from '../log/segment.ts';
import type { Storage } from '../seams/storage.ts';

/** Byte position of the `attributes` field: the CRC-32C covers from here to the batch end. */
const CRC_START = 21;

/** The files of one segment, as found in the directory. */
export interface SegmentFiles {
  baseOffset: number;
  logName: string;
  /** Null when the segment has no `.index` file (recovery rebuilds it). */
  indexName: string | null;
}

/** One offset-index entry as stored, plus the absolute offset it stands for. */
export interface IndexEntryView {
  relativeOffset: number;
  offset: number;
  position: number;
}

/** What a segment's files hold before its batches are walked. */
export interface SegmentHead extends SegmentFiles {
  logBytes: number;
  indexBytes: number;
  /** The whole 8-byte entries in the index file, as stored. */
  indexEntries: IndexEntryView[];
  /** Why recovery would distrust (and rebuild) this index, or null if it is consistent. */
  indexProblem: string | null;
}

/** One batch found in a `.log` file, decoded as far as its bytes allow. */
export interface BatchView {
  /** Byte position of the batch's first byte in the `.log` file. */
  position: number;
  header: BatchHeader;
  /** Bytes on disk: `LOG_OVERHEAD + header.batchLength`. */
  sizeBytes: number;
  /** CRC-32C computed over the bytes from `attributes` to the end. */
  crcComputed: number;
  crcValid: boolean;
  /** Decoded records, or null when the batch does not decode (see `problem`). */
  records: LogRecord[] | null;
  problem: string | null;
}

/** Bytes at the end of a `.log` file that do not form a complete, well-framed batch. */
export interface TailView {
  position: number;
  bytes: number;
  reason: string;
}

/** What {@link walkSegment} yields: the files first, then each batch, then a torn tail if any. */
export type SegmentStep =
  | { kind: 'head'; head: SegmentHead }
  | { kind: 'batch'; batch: BatchView }
  | { kind: 'tail'; tail: TailView };

/** Everything found for one segment (collected; for small logs such as the demo's). */
export interface SegmentView extends SegmentHead {
  batches: BatchView[];
  tail: TailView | null;
}

/** A whole log directory: its segments in offset order and any other files. */
export interface LogDirView {
  segments: SegmentView[];
  /** Names that are not segment files, and `.index` files without a `.log`. */
  otherFiles: string[];
}

/**
 * The segments in `dir`, oldest first, and the names that are not segment files.
 * @example
 * const { segments } = await listSegmentFiles(new FsStorage(), '/tmp/mylog');
 */
export async function listSegmentFiles(storage: Storage, dir: string): Promise<{ segments: SegmentFiles[]; otherFiles: string[] }> {
  const logs: { baseOffset: number; logName: string }[] = [];
  const indexes = new Map<number, string>();
  const otherFiles: string[] = [];
  for (const name of await storage.list(dir)) {
    const parsed = parseSegmentFileName(name);
    if (parsed === null) otherFiles.push(name);
    else if (parsed.extension === 'log') logs.push({ baseOffset: parsed.baseOffset, logName: name });
    else indexes.set(parsed.baseOffset, name);
  }
  logs.sort((a, b) => a.baseOffset - b.baseOffset);
  for (const [baseOffset, name] of indexes) {
    if (!logs.some((l) => l.baseOffset === baseOffset)) otherFiles.push(name);
  }
  const segments = logs.map((l) => ({ ...l, indexName: indexes.get(l.baseOffset) ?? null }));
  return { segments, otherFiles: otherFiles.sort() };
}

/**
 * Walk one segment without changing it: yields its head (sizes, index entries),
 * then every batch that is framed correctly (a bad CRC is reported, not a reason to
 * stop), then the torn or unframeable tail, if any. Closes the file when done.
 * @example
 * for await (const step of walkSegment(storage, dir, files)) if (step.kind === 'tail') console.log(step.tail.reason);
 */
export async function* walkSegment(storage: Storage, dir: string, files: SegmentFiles): AsyncGenerator<SegmentStep> {
  const file = await storage.openFile(join(dir, files.logName));
  try {
    const logBytes = file.size();
    const head: SegmentHead = { ...files, logBytes, indexBytes: 0, indexEntries: [], indexProblem: files.indexName === null ? 'missing' : null };
    if (files.indexName !== null) {
      const index = (await storage.readFile(join(dir, files.indexName))) ?? Buffer.alloc(0);
      head.indexBytes = index.length;
      for (let at = 0; at + INDEX_ENTRY_BYTES <= index.length; at += INDEX_ENTRY_BYTES) {
        const relativeOffset = index.readUInt32BE(at);
        head.indexEntries.push({ relativeOffset, offset: files.baseOffset + relativeOffset, position: index.readUInt32BE(at + 4) });
      }
      const parsed = parseIndex(index, files.baseOffset, logBytes);
      if (typeof parsed === 'string') head.indexProblem = parsed;
    }
    yield { kind: 'head', head };
    // Headers only: a batch with a bad CRC is shown (marked invalid), not a reason to stop.
    for await (const step of scanBatches(file, 0, logBytes, { expectedOffset: files.baseOffset })) {
      if (step.kind === 'stop') {
        yield { kind: 'tail', tail: { position: step.position, bytes: logBytes - step.position, reason: step.reason } };
        return;
      }
      const crcComputed = crc32c(step.batch.subarray(CRC_START)) >>> 0;
      let records: LogRecord[] | null = null;
      let problem: string | null = null;
      try {
        records = decodeBatch(step.batch).records;
      } catch (e) {
        problem = e instanceof Error ? e.message : String(e);
      }
      yield {
        kind: 'batch',
        batch: { position: step.position, header: step.header, sizeBytes: step.batch.length, crcComputed, crcValid: crcComputed === step.header.crc, records, problem },
      };
    }
  } finally {
    await file.close();
  }
}

/**
 * Read every segment in `dir` into memory without changing anything. For small logs
 * (the demo); `dump` streams with {@link walkSegment} instead.
 * @example
 * const view = await inspectLogDir(new FsStorage(), '/tmp/mylog');
 * for (const s of view.segments) console.log(s.logName, s.logBytes, s.batches.length);
 */
export async function inspectLogDir(storage: Storage, dir: string): Promise<LogDirView> {
  const { segments: files, otherFiles } = await listSegmentFiles(storage, dir);
  const segments: SegmentView[] = [];
  for (const f of files) {
    let view: SegmentView | null = null;
    for await (const step of walkSegment(storage, dir, f)) {
      if (step.kind === 'head') view = { ...step.head, batches: [], tail: null };
      else if (step.kind === 'batch') view?.batches.push(step.batch);
      else if (view !== null) view.tail = step.tail;
    }
    if (view !== null) segments.push(view);
  }
  return { segments, otherFiles };
}
