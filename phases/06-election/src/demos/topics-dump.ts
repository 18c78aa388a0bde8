/**
 * `dump` for a broker's data directory (phase 3): the topic registry file field by field
 * (magic, version, stored and recomputed CRC-32C, the JSON body's topics), then every
 * partition of every registered topic, each dumped like a phase-1 log directory
 * (dump.ts). Anything else in the directory is listed as such. Read-only: nothing is
 * opened for writing, so it is safe on a running broker's directory. Example:
 *
 *   registry topics.registry  93 bytes  magic: TREG version: 1 crc: 0x1c0ffee5 computedCrc: 0x1c0ffee5 isValid: true bodyLength: 79
 *   | topic orders partitions: 2 segment.bytes=1048576
 *   partition orders-0
 *     segment 00000000000000000000.log  85 bytes  baseOffset: 0
 *     ...
 */
import { join } from 'node:path';
import { crc32c } from '@node-rs/crc32';
import { dumpLines } from './dump.ts';
import type { Storage } from '../seams/storage.ts';
import { REGISTRY_FILE, REGISTRY_HEADER_BYTES, REGISTRY_TEMP_FILE, type TopicSpec, decodeRegistry } from '../topics/registry.ts';
import { CHECKPOINT_FILE, decodeCheckpoint } from '../replication/checkpoint.ts';
import { partitionDirName } from '../topics/names.ts';

/**
 * Whether `dir` is a broker data directory (it holds a topic registry) rather than a
 * single log directory.
 */
export async function isDataDir(storage: Storage, dir: string): Promise<boolean> {
  return await storage.exists(join(dir, REGISTRY_FILE));
}

/**
 * Yield the dump of a broker data directory line by line.
 * @example
 * for await (const line of dumpDataDirLines(new FsStorage(), '/tmp/commitlog-03-topics')) console.log(line);
 */
export async function* dumpDataDirLines(storage: Storage, dir: string): AsyncGenerator<string> {
  const path = join(dir, REGISTRY_FILE);
  const bytes = await storage.readFile(path);
  let topics: TopicSpec[] = [];
  if (bytes === null) {
    yield `no ${REGISTRY_FILE}: not a broker data directory`;
  } else {
    yield formatRegistryHeader(bytes);
    try {
      topics = decodeRegistry(bytes, path);
      for (const t of topics) {
        const settings = [
          ...(t.segmentBytesMax !== undefined ? [`segment.bytes=${t.segmentBytesMax}`] : []),
          ...(t.retentionBytesMax !== undefined ? [`retention.bytes=${t.retentionBytesMax}`] : []),
        ];
        yield `| topic ${t.name} partitions: ${t.partitions}${settings.length > 0 ? ` ${settings.join(' ')}` : ''}`;
      }
    } catch (err) {
      yield `| ${err instanceof Error ? err.message : String(err)}`;
    }
  }
  const known = new Set<string>([REGISTRY_FILE, REGISTRY_TEMP_FILE]);
  for (const t of topics) {
    for (let p = 0; p < t.partitions; p++) {
      const name = partitionDirName(t.name, p);
      known.add(name);
      yield `partition ${name}`;
      if (!(await storage.exists(join(dir, name)))) {
        yield '  (no directory yet: created when the broker next opens the topic)';
        continue;
      }
      for await (const line of dumpLines(storage, join(dir, name))) yield `  ${line}`;
    }
  }
  // Phase 5: the high watermarks this broker last checkpointed (replication/checkpoint.ts).
  const checkpoint = await storage.readFile(join(dir, CHECKPOINT_FILE));
  if (checkpoint !== null) {
    known.add(CHECKPOINT_FILE);
    try {
      const hws = [...decodeCheckpoint(checkpoint.toString('utf8'))].map(([tp, hw]) => `${tp.replace(':', '-')}=${hw}`);
      yield `high-watermark checkpoint ${CHECKPOINT_FILE}  ${checkpoint.length} bytes  ${hws.length === 0 ? '(no partitions)' : hws.join(' ')}`;
    } catch (err) {
      yield `high-watermark checkpoint ${CHECKPOINT_FILE}  ${checkpoint.length} bytes  (${err instanceof Error ? err.message : String(err)})`;
    }
  }
  for (const name of await storage.list(dir)) {
    if (name === REGISTRY_TEMP_FILE) yield `other file ${name} (an update that never committed; removed on the next start)`;
    else if (!known.has(name)) yield `other entry ${name} (not a partition of any registered topic)`;
  }
}

function formatRegistryHeader(bytes: Buffer): string {
  if (bytes.length < REGISTRY_HEADER_BYTES) return `registry ${REGISTRY_FILE}  ${bytes.length} bytes  (shorter than its ${REGISTRY_HEADER_BYTES}-byte header)`;
  const crc = bytes.readUInt32BE(6);
  const computed = crc32c(bytes.subarray(REGISTRY_HEADER_BYTES));
  const hex = (n: number): string => `0x${n.toString(16).padStart(8, '0')}`;
  return (
    `registry ${REGISTRY_FILE}  ${bytes.length} bytes  magic: ${bytes.subarray(0, 4).toString('latin1')} version: ${bytes.readInt16BE(4)} ` +
    `crc: ${hex(crc)} computedCrc: ${hex(computed)} isValid: ${crc === computed} bodyLength: ${bytes.readInt32BE(10)}`
  );
}
