/**
 * The high-watermark checkpoint, `<dir>/replication-offset-checkpoint`, as Kafka names
 * it. Each broker writes the high watermark of every partition it holds a copy of,
 * about once a second, so that after a restart it knows how much of its log is
 * committed. Text, one partition per line, in Kafka's layout:
 *
 * ```
 * 0                 version
 * 2                 number of entries
 * orders 0 1200     topic, partition, high watermark
 * orders 1 1187
 * ```
 *
 * Written atomically (course/architecture.md §5): a temp file, fsync, rename over the
 * old one, fsync of the directory; a crash leaves the old file or the new one, never a
 * mix. A file that does not parse is an error, not an empty checkpoint: silently
 * forgetting high watermarks would let a follower serve as committed what is not.
 */
import { join } from 'node:path';
import { CorruptBatchError } from '../log/errors.ts';
import type { Storage } from '../seams/storage.ts';
import { type TopicPartition, tpKey } from '../topics/partition.ts';

export const CHECKPOINT_FILE = 'replication-offset-checkpoint';
const CHECKPOINT_TEMP_FILE = 'replication-offset-checkpoint.tmp';
const VERSION = 0;

/** One line of the checkpoint. */
export interface CheckpointEntry extends TopicPartition {
  readonly highWatermark: number;
}

/** The file's text for `entries` (sorted, so the bytes depend only on the content). */
export function encodeCheckpoint(entries: readonly CheckpointEntry[]): string {
  const sorted = [...entries].sort((a, b) => (a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : a.partition - b.partition));
  return `${VERSION}\n${sorted.length}\n${sorted.map((e) => `${e.topic} ${e.partition} ${e.highWatermark}\n`).join('')}`;
}

/**
 * Parse a checkpoint file's text.
 * @throws CorruptBatchError naming the line that is wrong
 */
export function decodeCheckpoint(text: string): Map<string, number> {
  const lines = text.split('\n');
  const bad = (why: string): never => {
    throw new CorruptBatchError(`${CHECKPOINT_FILE}: ${why}`);
  };
  if (lines.pop() !== '') bad('does not end in a newline (torn write?)');
  if (lines[0] !== String(VERSION)) bad(`version ${JSON.stringify(lines[0])}, expected ${VERSION}`);
  const count = Number(lines[1]);
  if (!Number.isSafeInteger(count) || count < 0 || lines.length !== count + 2) bad(`entry count ${JSON.stringify(lines[1])} does not match ${lines.length - 2} lines`);
  const out = new Map<string, number>();
  for (const line of lines.slice(2)) {
    const m = /^([A-Za-z0-9._-]+) (\d+) (\d+)$/.exec(line);
    if (m === null) bad(`bad line ${JSON.stringify(line)}`);
    const [, topic, partition, hw] = m as RegExpExecArray;
    out.set(tpKey({ topic: topic as string, partition: Number(partition) }), Number(hw));
  }
  return out;
}

/** Read `<dir>/replication-offset-checkpoint`; an empty map when there is none yet. */
export async function readCheckpoint(storage: Storage, dir: string): Promise<Map<string, number>> {
  const bytes = await storage.readFile(join(dir, CHECKPOINT_FILE));
  return bytes === null ? new Map() : decodeCheckpoint(bytes.toString('utf8'));
}

/** Replace the checkpoint atomically: temp file, fsync, rename, directory fsync. */
export async function writeCheckpoint(storage: Storage, dir: string, entries: readonly CheckpointEntry[]): Promise<void> {
  const temp = join(dir, CHECKPOINT_TEMP_FILE);
  await storage.remove(temp);
  const file = await storage.openFile(temp, { create: true });
  try {
    await file.append(Buffer.from(encodeCheckpoint(entries), 'utf8'));
    await file.sync();
  } finally {
    await file.close();
  }
  await storage.rename(temp, join(dir, CHECKPOINT_FILE));
  await storage.syncDir(dir);
}
