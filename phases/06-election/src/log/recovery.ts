/**
 * Recovery: what `Log.open` does before it accepts a single append, turning
 * whatever a crash left in the directory into a consistent list of segments.
 *
 * What a crash can leave, and what we do about it:
 * - The active (last) segment may end in a torn batch (a write cut part-way) or
 *   bytes that were never synced and came back as garbage. We walk its batches
 *   from the last index entry to the end, checking each one whole (CRC-32C, record
 *   structure) and checking its base offset follows the previous batch, and cut
 *   the file at the first batch that fails. Everything before that point was
 *   fsynced before it was acknowledged, so no acknowledged record is cut.
 * - An index may be missing (never flushed), short (entries not flushed), torn (a
 *   partial 8-byte entry) or inconsistent (entries out of order, pointing past the
 *   log, or at something that is not the batch they name). The index is only a
 *   cache of the log, so we rebuild or extend it from the log.
 * - A closed segment is not rescanned whole (that would make opening a large log
 *   slow): we check its index and walk batch headers from the last index entry to
 *   its end, which must be exactly where the next segment begins. Damage found in
 *   a closed segment is left in place and reported by reads that reach it, never
 *   returned as data.
 * - An index file whose log file is gone (retention removed the log first, then
 *   crashed) is removed.
 */
import { join } from 'node:path';
import { CorruptBatchError } from './errors.ts';
import { type IndexEntry, isIndexEntryDue, OffsetIndex, parseIndex } from './offset-index.ts';
import { batchLastOffset } from './record-batch.ts';
import { parseSegmentFileName, scanBatches, Segment, segmentFileName } from './segment.ts';
import type { Storage, StorageFile } from '../seams/storage.ts';

/** What recovery found and did, for tests, the CLI and curious learners. */
export interface RecoveryReport {
  /** Bytes cut from the end of the active segment, where and why; null if none. */
  truncated: { baseOffset: number; position: number; bytes: number; reason: string } | null;
  /** Indexes rebuilt or extended from their log, and why. */
  rebuiltIndexes: { baseOffset: number; reason: string }[];
  /** Damage seen in closed segments (left in place: reads that reach it throw CorruptBatchError). */
  damaged: { baseOffset: number; position: number; reason: string }[];
  /** Files removed (index files without a log file). */
  removedFiles: string[];
}

// #region walk
/** The result of walking a segment's batches from an index entry to the end. */
interface Walk {
  /** Byte after the last good batch. */
  endPosition: number;
  /** Offset after the last good batch. */
  nextOffset: number;
  /** Index entries due for the good batches walked (by the sparseness rule). */
  dueEntries: IndexEntry[];
  /** Where and why the walk stopped before the end, or null if it reached the end. */
  stop: { position: number; reason: string } | null;
}

async function walk(log: StorageFile, start: IndexEntry, endPosition: number, verify: boolean, indexIntervalBytes: number): Promise<Walk> {
  const result: Walk = { endPosition: start.position, nextOffset: start.offset, dueEntries: [], stop: null };
  let lastIndexed = start.position;
  for await (const step of scanBatches(log, start.position, endPosition, { verify, expectedOffset: start.offset })) {
    if (step.kind === 'stop') {
      result.stop = { position: step.position, reason: step.reason };
      break;
    }
    if (isIndexEntryDue(lastIndexed, step.position, indexIntervalBytes)) {
      result.dueEntries.push({ offset: step.header.baseOffset, position: step.position });
      lastIndexed = step.position;
    }
    result.endPosition = step.position + step.batch.length;
    result.nextOffset = batchLastOffset(step.header) + 1;
  }
  return result;
}
// #endregion walk

/**
 * Open and repair one segment. `nextBaseOffset` is the base offset of the segment
 * after it, or null for the active segment.
 */
async function recoverSegment(
  storage: Storage,
  dir: string,
  baseOffset: number,
  nextBaseOffset: number | null,
  indexExisted: boolean,
  indexIntervalBytes: number,
  report: RecoveryReport,
): Promise<Segment> {
  const isActive = nextBaseOffset === null;
  const log = await storage.openFile(join(dir, segmentFileName(baseOffset, 'log')));
  let indexFile: StorageFile;
  try {
    indexFile = await storage.openFile(join(dir, segmentFileName(baseOffset, 'index')), { create: true });
  } catch (e) {
    await log.close();
    throw e;
  }
  try {
    const logSizeBytes = log.size();
    const parsed = indexExisted
      ? parseIndex(await indexFile.read(0, indexFile.size()), baseOffset, logSizeBytes)
      : 'missing';
    let problem: string | null = typeof parsed === 'string' ? parsed : null;
    let entries: IndexEntry[] = typeof parsed === 'string' ? [] : parsed;

    // Walk from the last index entry: the active segment with full checks (its tail
    // may be torn), a closed one by headers only (its bytes were synced before the roll).
    const fromSegmentStart: IndexEntry = { offset: baseOffset, position: 0 };
    let tail = await walk(log, entries.at(-1) ?? fromSegmentStart, logSizeBytes, isActive, indexIntervalBytes);
    const lastEntry = entries.at(-1);
    if (lastEntry !== undefined && tail.stop?.position === lastEntry.position) {
      // The last entry does not point at a good batch carrying its offset: distrust the index.
      problem = `last entry (offset ${lastEntry.offset}, byte ${lastEntry.position}) is wrong: ${tail.stop.reason}`;
      entries = [];
      tail = await walk(log, fromSegmentStart, logSizeBytes, isActive, indexIntervalBytes);
    }
    if (problem === null && !isActive && tail.dueEntries.length > 0) {
      // Closed segments' indexes are flushed at the roll, so a gap means the file was damaged.
      problem = `short: ${tail.dueEntries.length} entries missing`;
    }
    const entriesInFile = problem === null ? entries.length : 0;
    const index = new OffsetIndex(indexFile, baseOffset, indexIntervalBytes, [...entries, ...tail.dueEntries], entriesInFile);
    if (problem !== null) report.rebuiltIndexes.push({ baseOffset, reason: problem });

    // #region truncate
    let sizeBytes = logSizeBytes;
    let nextOffset: number;
    if (isActive) {
      if (tail.endPosition < logSizeBytes) {
        report.truncated = {
          baseOffset,
          position: tail.endPosition,
          bytes: logSizeBytes - tail.endPosition,
          reason: tail.stop?.reason ?? 'trailing bytes',
        };
        // Cut the torn or invalid tail so the next batch is appended right after the
        // last good one; fsync so the cut itself survives a crash.
        await log.truncate(tail.endPosition);
        await log.sync();
        sizeBytes = tail.endPosition;
      }
      nextOffset = tail.nextOffset;
    } else {
      if (tail.stop !== null) {
        report.damaged.push({ baseOffset, position: tail.stop.position, reason: tail.stop.reason });
      } else if (tail.nextOffset !== nextBaseOffset) {
        throw new CorruptBatchError(
          `segments are not contiguous: ${log.path} ends at offset ${tail.nextOffset - 1}, the next segment starts at ${nextBaseOffset}`,
        );
      }
      nextOffset = nextBaseOffset;
    }
    // #endregion truncate
    // Bring the index file in line with what we now know (write + fsync), so the
    // next open finds it consistent.
    await index.flush();
    return new Segment({ baseOffset, log, index, sizeBytes, nextOffset });
  } catch (e) {
    await Promise.allSettled([log.close(), indexFile.close()]);
    throw e;
  }
}

/**
 * Find the segments in `dir`, repair them as described in this file's header,
 * and return them in offset order (the last is the active segment), with a
 * report of what was repaired. An empty directory gives no segments.
 * @throws CorruptBatchError if closed segments do not join up (offsets missing or
 *   overlapping between segments); StorageError on I/O failure.
 */
export async function recoverSegments(
  storage: Storage,
  dir: string,
  indexIntervalBytes: number,
): Promise<{ segments: Segment[]; report: RecoveryReport }> {
  const report: RecoveryReport = { truncated: null, rebuiltIndexes: [], damaged: [], removedFiles: [] };
  const logBaseOffsets: number[] = [];
  const indexBaseOffsets = new Set<number>();
  for (const name of await storage.list(dir)) {
    const parsed = parseSegmentFileName(name);
    if (parsed === null) continue;
    if (parsed.extension === 'log') logBaseOffsets.push(parsed.baseOffset);
    else indexBaseOffsets.add(parsed.baseOffset);
  }
  logBaseOffsets.sort((a, b) => a - b);

  let directoryChanged = false;
  for (const baseOffset of indexBaseOffsets) {
    if (logBaseOffsets.includes(baseOffset)) continue;
    const path = join(dir, segmentFileName(baseOffset, 'index'));
    await storage.remove(path);
    report.removedFiles.push(path);
    directoryChanged = true;
  }

  const segments: Segment[] = [];
  try {
    for (const [i, baseOffset] of logBaseOffsets.entries()) {
      const indexExisted = indexBaseOffsets.has(baseOffset);
      if (!indexExisted) directoryChanged = true; // recoverSegment creates it
      segments.push(
        await recoverSegment(storage, dir, baseOffset, logBaseOffsets[i + 1] ?? null, indexExisted, indexIntervalBytes, report),
      );
    }
    // New or removed files' names are durable only once the directory is fsynced.
    if (directoryChanged) await storage.syncDir(dir);
  } catch (e) {
    await Promise.allSettled(segments.map((s) => s.close()));
    throw e;
  }
  return { segments, report };
}
