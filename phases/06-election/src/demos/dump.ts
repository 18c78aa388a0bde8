/**
 * `dump`: print a log directory the way Kafka's `kafka-dump-log.sh` does, so a learner
 * can see what the bytes on disk mean. For each segment: its files and sizes, the
 * sparse index entries (relative offset → file position), every batch header field
 * (stored and recomputed CRC-32C side by side) and every record in it; then any torn
 * tail that recovery would cut off. Input comes from `inspect.ts` (read-only, one
 * batch at a time), output is plain lines for stdout. Example of one segment:
 *
 *   segment 00000000000000000000.log  85 bytes  baseOffset: 0
 *     index 00000000000000000000.index  0 bytes  0 entries
 *     batch position: 0 baseOffset: 0 lastOffset: 1 count: 2 batchLength: 73 size: 85 magic: 2 crc: 0xc496ffa6 computedCrc: 0xc496ffa6 isValid: true …
 *     | offset: 0 timestamp: 1795905183918 key: null value: "hello" headers: 0
 *     | offset: 1 timestamp: 1795905183918 key: null value: "world" headers: 0
 *
 * and, when the index has entries, `| index relativeOffset: 4 offset: 4 position: 178`.
 */
import type { BatchView, SegmentHead, TailView } from './inspect.ts';
import { listSegmentFiles, walkSegment } from './inspect.ts';
import type { Storage } from '../seams/storage.ts';

/**
 * Read `dir` (without modifying it) and yield the dump line by line.
 * @example
 * for await (const line of dumpLines(new FsStorage(), '/tmp/mylog')) console.log(line);
 */
export async function* dumpLines(storage: Storage, dir: string): AsyncGenerator<string> {
  const { segments, otherFiles } = await listSegmentFiles(storage, dir);
  if (segments.length === 0) yield 'no segments';
  for (const [i, files] of segments.entries()) {
    const isActive = i === segments.length - 1;
    for await (const step of walkSegment(storage, dir, files)) {
      if (step.kind === 'head') yield* formatHead(step.head);
      else if (step.kind === 'batch') yield* formatBatch(step.batch);
      else yield formatTail(step.tail, isActive);
    }
  }
  for (const name of otherFiles) yield `other file ${name}`;
}

function formatHead(s: SegmentHead): string[] {
  const lines = [`segment ${s.logName}  ${s.logBytes} bytes  baseOffset: ${s.baseOffset}`];
  if (s.indexName === null) {
    lines.push('  index missing (recovery rebuilds it from the .log)');
    return lines;
  }
  lines.push(`  index ${s.indexName}  ${s.indexBytes} bytes  ${s.indexEntries.length} entries`);
  for (const e of s.indexEntries) {
    lines.push(`  | index relativeOffset: ${e.relativeOffset} offset: ${e.offset} position: ${e.position}`);
  }
  if (s.indexProblem !== null) lines.push(`  | index inconsistent (recovery rebuilds it): ${s.indexProblem}`);
  return lines;
}

function formatBatch(b: BatchView): string[] {
  const h = b.header;
  const fields = [
    `position: ${b.position}`,
    `baseOffset: ${h.baseOffset}`,
    `lastOffset: ${h.baseOffset + h.lastOffsetDelta}`,
    `count: ${h.recordsCount}`,
    `batchLength: ${h.batchLength}`,
    `size: ${b.sizeBytes}`,
    `magic: ${h.magic}`,
    `crc: ${hex32(h.crc)}`,
    `computedCrc: ${hex32(b.crcComputed)}`,
    `isValid: ${b.crcValid && b.problem === null}`,
    `attributes: ${h.attributes}`,
    `baseTimestamp: ${h.baseTimestamp}`,
    `maxTimestamp: ${h.maxTimestamp}`,
    `producerId: ${h.producerId}`,
    `producerEpoch: ${h.producerEpoch}`,
    `baseSequence: ${h.baseSequence}`,
    `partitionLeaderEpoch: ${h.partitionLeaderEpoch}`,
  ];
  const lines = [`  batch ${fields.join(' ')}`];
  if (b.problem !== null) lines.push(`  | not decoded: ${b.problem}`);
  for (const r of b.records ?? []) {
    lines.push(
      `  | offset: ${r.offset} timestamp: ${r.timestamp} key: ${bytesText(r.key)} value: ${bytesText(r.value)} headers: ${r.headers.length}`,
    );
  }
  return lines;
}

function formatTail(t: TailView, isActive: boolean): string {
  const fate = isActive ? 'recovery truncates the active segment here' : 'a closed segment: left in place, reads that reach it fail';
  return `  torn tail position: ${t.position} bytes: ${t.bytes}: ${t.reason} (${fate})`;
}

function hex32(n: number): string {
  return `0x${(n >>> 0).toString(16).padStart(8, '0')}`;
}

/** Quoted text when the bytes are valid UTF-8, hex otherwise, `null` for a null key/value. */
function bytesText(b: Buffer | null): string {
  if (b === null) return 'null';
  const text = b.toString('utf8');
  return Buffer.from(text, 'utf8').equals(b) ? JSON.stringify(text) : `0x${b.toString('hex')}`;
}
