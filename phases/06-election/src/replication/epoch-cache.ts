/**
 * The leader-epoch cache of one partition (Kafka's `LeaderEpochFileCache`, KIP-101):
 * for each leadership epoch that wrote to this replica's log, the offset where it began.
 *
 * Why it exists: phase 5 cut a restarting follower's log back to its high watermark,
 * which can throw away records that were acknowledged (the follower's HW lags the
 * leader's by one fetch), and cannot tell two logs apart when they hold different
 * records at the same offsets after two quick failovers. Every batch already carries
 * the epoch of the leader that wrote it (`partitionLeaderEpoch` in its header); this
 * cache is the index of where those epochs change. A follower asks the leader "where
 * does my latest epoch end in your log?" (OffsetForLeaderEpoch, answered by
 * {@link LeaderEpochCache.endOffsetFor}) and cuts its log exactly there
 * (`truncation.ts`), so it keeps everything it shares with the leader and nothing else.
 *
 * An entry `{ epoch, startOffset }` reads "epoch `epoch` wrote its first record at
 * `startOffset`"; the epoch ends where the next entry starts (or at the log end offset,
 * for the latest). Both fields strictly increase along the list: an epoch that wrote
 * nothing has no entry (it would share its start offset with its successor).
 *
 * The class is in memory and does no I/O; the caller checkpoints it after a change with
 * {@link writeEpochCheckpoint} and decides when (a new epoch is rare, a checkpoint per
 * change is cheap). The checkpoint is `<partition dir>/leader-epoch-checkpoint`, text, in
 * Kafka's layout:
 *
 * | line | content                   | example | meaning                              |
 * | ---- | ------------------------- | ------- | ------------------------------------ |
 * | 1    | version                   | `0`     | always 0                             |
 * | 2    | entry count N             | `2`     | number of lines that follow          |
 * | 3    | `<epoch> <startOffset>`   | `1 0`   | epoch 1 began at offset 0            |
 * | 4    | `<epoch> <startOffset>`   | `3 120` | epoch 3 began at offset 120          |
 *
 * Every line, the last included, ends in `\n` (so `"0\n2\n1 0\n3 120\n"`); a file without
 * the final newline was torn. Written atomically like the high-watermark checkpoint
 * (`checkpoint.ts`): temp file, fsync, rename, directory fsync. A file that does not
 * parse is an error, never an empty cache: a follower with a forgotten epoch history
 * would fall back to truncating at its high watermark and might drop acknowledged
 * records. A *missing* file is different ({@link readEpochCheckpoint} returns null): the
 * caller rebuilds the cache from the log's batch headers ({@link LeaderEpochCache.fromBatches}).
 */
import { join } from 'node:path';
import { CorruptBatchError } from '../log/errors.ts';
import type { Storage } from '../seams/storage.ts';

/** The checkpoint file's name, one per partition directory (Kafka's name). */
export const EPOCH_CHECKPOINT_FILE = 'leader-epoch-checkpoint';
const EPOCH_CHECKPOINT_TEMP_FILE = 'leader-epoch-checkpoint.tmp';
const VERSION = 0;
/** Kafka's UNDEFINED_EPOCH and UNDEFINED_EPOCH_OFFSET. */
const UNDEFINED = -1;

/** "Leadership epoch `epoch` began writing at offset `startOffset`." */
export interface EpochEntry {
  readonly epoch: number;
  readonly startOffset: number;
}

/** The answer to OffsetForLeaderEpoch: an epoch and where it ends (-1, -1 when unknown). */
export interface EpochEndOffset {
  readonly epoch: number;
  readonly endOffset: number;
}

const isNonNegativeInteger = (n: number): boolean => Number.isSafeInteger(n) && n >= 0;

/** Why `entries` is not a valid epoch history, or null if it is. */
function invalidEntries(entries: readonly EpochEntry[]): string | null {
  let previous: EpochEntry | undefined;
  for (const [i, entry] of entries.entries()) {
    if (!isNonNegativeInteger(entry.epoch) || !isNonNegativeInteger(entry.startOffset)) {
      return `entry ${i} (epoch ${entry.epoch}, startOffset ${entry.startOffset}) is not two non-negative integers`;
    }
    if (previous !== undefined && (entry.epoch <= previous.epoch || entry.startOffset <= previous.startOffset)) {
      return `entries are not strictly increasing: (epoch ${previous.epoch}, startOffset ${previous.startOffset}) then (epoch ${entry.epoch}, startOffset ${entry.startOffset})`;
    }
    previous = entry;
  }
  return null;
}

function checkOffset(name: string, value: number): void {
  if (!isNonNegativeInteger(value)) throw new RangeError(`${name} must be a non-negative integer, got ${value}`);
}

/**
 * The epoch history of one partition replica, in memory.
 * @example
 * const cache = new LeaderEpochCache();
 * cache.assign(1, 0);            // true: epoch 1 starts at offset 0
 * cache.assign(1, 5);            // false: still epoch 1
 * cache.assign(2, 8);            // true
 * cache.endOffsetFor(1, 12);     // { epoch: 1, endOffset: 8 }
 * cache.endOffsetFor(2, 12);     // { epoch: 2, endOffset: 12 }
 */
export class LeaderEpochCache {
  #entries: EpochEntry[];

  /** @throws RangeError if `entries` are not strictly increasing in both epoch and start offset, or not non-negative integers */
  constructor(entries: readonly EpochEntry[] = []) {
    const why = invalidEntries(entries);
    if (why !== null) throw new RangeError(`invalid leader-epoch entries: ${why}`);
    this.#entries = entries.map((e) => ({ epoch: e.epoch, startOffset: e.startOffset }));
  }

  /** The entries, oldest first (a copy: mutating it does not touch the cache). */
  get entries(): readonly EpochEntry[] {
    return [...this.#entries];
  }

  /** The latest entry, or undefined when the cache is empty. */
  get latestEntry(): EpochEntry | undefined {
    return this.#entries[this.#entries.length - 1];
  }

  /** The latest epoch, -1 when the cache is empty. */
  get latestEpoch(): number {
    return this.latestEntry?.epoch ?? UNDEFINED;
  }

  /**
   * Record that `epoch` begins at `startOffset`: called by a new leader (with its log end
   * offset) and by a follower appending the first batch of a newer epoch (with the
   * batch's base offset). Returns true when the cache changed, so the caller knows to
   * checkpoint it.
   *
   * - The latest epoch again, at or after its start: no change (false).
   * - A newer epoch at an offset after the latest entry's start: appended (true).
   * - A newer epoch at the *same* offset as the latest entry: the latest epoch wrote
   *   nothing (a leader elected and replaced before its first append), so its entry
   *   would be empty; it is replaced by the new one (true), as Kafka removes it.
   * - An older epoch, or an offset before the latest entry's start: the log was not
   *   truncated first; a RangeError (Kafka silently drops the conflicting entries; here
   *   the caller must {@link truncateFromEnd} explicitly).
   * @example
   * const c = new LeaderEpochCache([{ epoch: 1, startOffset: 0 }]);
   * c.assign(2, 4); // true: [1@0, 2@4]
   * c.assign(3, 4); // true: [1@0, 3@4] — epoch 2 wrote nothing
   * @throws RangeError on an older epoch, an offset before the latest start, or a negative/non-integer argument
   */
  assign(epoch: number, startOffset: number): boolean {
    checkOffset('epoch', epoch);
    checkOffset('startOffset', startOffset);
    const latest = this.latestEntry;
    if (latest === undefined) {
      this.#entries.push({ epoch, startOffset });
      return true;
    }
    if (epoch < latest.epoch) {
      throw new RangeError(`epoch ${epoch} is older than the latest epoch ${latest.epoch} (truncate the cache first)`);
    }
    if (startOffset < latest.startOffset) {
      throw new RangeError(`epoch ${epoch} at offset ${startOffset} starts before the latest entry (epoch ${latest.epoch} at ${latest.startOffset}); truncate the cache first`);
    }
    if (epoch === latest.epoch) return false;
    if (startOffset === latest.startOffset) this.#entries.pop();
    this.#entries.push({ epoch, startOffset });
    return true;
  }

  /**
   * The leader's answer to OffsetForLeaderEpoch (Kafka's `endOffsetFor`): the largest
   * epoch this replica knows that is <= `requestedEpoch`, and where it ends here, that is
   * where the first epoch after `requestedEpoch` starts (or `logEndOffset` for the latest
   * epoch). A follower cuts its log there.
   *
   * | case                                           | answer                                   |
   * | ---------------------------------------------- | ---------------------------------------- |
   * | requested -1, or empty cache                   | (-1, -1)                                 |
   * | requested = latest epoch                       | (latest, logEndOffset)                   |
   * | requested > latest epoch                       | (-1, -1) (cannot happen from a follower) |
   * | requested before the first epoch               | (requested, first entry's start)         |
   * | otherwise                                      | (floor epoch, next entry's start)        |
   * @example
   * new LeaderEpochCache([{ epoch: 1, startOffset: 0 }, { epoch: 3, startOffset: 2 }]).endOffsetFor(2, 5)
   * // { epoch: 1, endOffset: 2 }: this replica never had epoch 2; its epoch 1 ended at 2
   * @throws RangeError if `requestedEpoch` < -1, or `logEndOffset` is below the latest entry's start
   */
  endOffsetFor(requestedEpoch: number, logEndOffset: number): EpochEndOffset {
    if (!Number.isSafeInteger(requestedEpoch) || requestedEpoch < UNDEFINED) {
      throw new RangeError(`requestedEpoch must be an integer >= -1, got ${requestedEpoch}`);
    }
    checkOffset('logEndOffset', logEndOffset);
    const latest = this.latestEntry;
    if (latest !== undefined && logEndOffset < latest.startOffset) {
      throw new RangeError(`logEndOffset ${logEndOffset} is below the start ${latest.startOffset} of the latest epoch ${latest.epoch} (truncate the cache first)`);
    }
    if (requestedEpoch === UNDEFINED || latest === undefined) return { epoch: UNDEFINED, endOffset: UNDEFINED };
    if (requestedEpoch === latest.epoch) return { epoch: latest.epoch, endOffset: logEndOffset };
    if (requestedEpoch > latest.epoch) return { epoch: UNDEFINED, endOffset: UNDEFINED };
    // requestedEpoch < latest.epoch, so some entry is higher.
    const higherIndex = this.#entries.findIndex((e) => e.epoch > requestedEpoch);
    const higher = this.#entries[higherIndex] as EpochEntry;
    const floor = this.#entries[higherIndex - 1];
    return { epoch: floor === undefined ? requestedEpoch : floor.epoch, endOffset: higher.startOffset };
  }

  /**
   * The log was cut back to end at `offset` (its new log end offset): forget every epoch
   * that started at or after it. Returns whether anything changed.
   * @example
   * const c = new LeaderEpochCache([{ epoch: 1, startOffset: 0 }, { epoch: 2, startOffset: 5 }]);
   * c.truncateFromEnd(5); // true: [1@0]
   */
  truncateFromEnd(offset: number): boolean {
    checkOffset('offset', offset);
    const before = this.#entries.length;
    while ((this.latestEntry?.startOffset ?? -1) >= offset) this.#entries.pop();
    return this.#entries.length !== before;
  }

  /**
   * The log start moved up to `offset` (retention deleted what is below): drop every
   * entry whose successor starts at or before `offset` (its records are all gone), and
   * move the first remaining entry's start up to `offset` if it is below it. Returns
   * whether anything changed.
   * @example
   * const c = new LeaderEpochCache([{ epoch: 1, startOffset: 0 }, { epoch: 2, startOffset: 5 }]);
   * c.truncateFromStart(7); // true: [2@7]
   */
  truncateFromStart(offset: number): boolean {
    checkOffset('offset', offset);
    let changed = false;
    while (this.#entries.length > 1 && (this.#entries[1] as EpochEntry).startOffset <= offset) {
      this.#entries.shift();
      changed = true;
    }
    const first = this.#entries[0];
    if (first !== undefined && first.startOffset < offset) {
      this.#entries[0] = { epoch: first.epoch, startOffset: offset };
      changed = true;
    }
    return changed;
  }

  /**
   * Rebuild the cache from a log's batch headers in offset order (used when the
   * checkpoint file is missing): a batch stamped with an epoch newer than every earlier
   * one starts an entry at its base offset. Batches without an epoch (-1, written before
   * epochs existed) and batches of an older epoch are skipped.
   * @example
   * LeaderEpochCache.fromBatches([
   *   { baseOffset: 0, partitionLeaderEpoch: 1 },
   *   { baseOffset: 3, partitionLeaderEpoch: 1 },
   *   { baseOffset: 5, partitionLeaderEpoch: 2 },
   * ]).entries // [{ epoch: 1, startOffset: 0 }, { epoch: 2, startOffset: 5 }]
   * @throws RangeError if a newer epoch's batch starts before the previous epoch's (the headers are not in offset order)
   */
  static fromBatches(headers: Iterable<{ readonly baseOffset: number; readonly partitionLeaderEpoch: number }>): LeaderEpochCache {
    const cache = new LeaderEpochCache();
    for (const h of headers) {
      if (h.partitionLeaderEpoch >= 0 && h.partitionLeaderEpoch > cache.latestEpoch) cache.assign(h.partitionLeaderEpoch, h.baseOffset);
    }
    return cache;
  }
}

/**
 * The checkpoint file's text for `entries`.
 * @example
 * encodeEpochCheckpoint([{ epoch: 1, startOffset: 0 }, { epoch: 3, startOffset: 120 }]) // '0\n2\n1 0\n3 120\n'
 * @throws RangeError if `entries` is not a valid history (it would be refused when read back)
 */
export function encodeEpochCheckpoint(entries: readonly EpochEntry[]): string {
  const why = invalidEntries(entries);
  if (why !== null) throw new RangeError(`${EPOCH_CHECKPOINT_FILE}: refusing to write ${why}`);
  return `${VERSION}\n${entries.length}\n${entries.map((e) => `${e.epoch} ${e.startOffset}\n`).join('')}`;
}

/**
 * Parse a checkpoint file's text.
 * @example
 * decodeEpochCheckpoint('0\n1\n2 40\n') // [{ epoch: 2, startOffset: 40 }]
 * @throws CorruptBatchError naming what is wrong: empty, torn (no final newline), version, count, a bad line, order
 */
export function decodeEpochCheckpoint(text: string): EpochEntry[] {
  const bad = (why: string): never => {
    throw new CorruptBatchError(`${EPOCH_CHECKPOINT_FILE}: ${why}`);
  };
  if (text === '') bad('is empty (torn write?)');
  const lines = text.split('\n');
  if (lines.pop() !== '') bad('does not end in a newline (torn write?)');
  if (lines[0] !== String(VERSION)) bad(`version ${JSON.stringify(lines[0])}, expected ${VERSION}`);
  const countText = lines[1];
  if (countText === undefined) bad('has no entry count line (torn write?)');
  const count = /^\d+$/.test(countText as string) ? Number(countText) : Number.NaN;
  if (!Number.isSafeInteger(count) || lines.length !== count + 2) bad(`entry count ${JSON.stringify(lines[1])} does not match ${lines.length - 2} lines`);
  const entries: EpochEntry[] = [];
  for (const line of lines.slice(2)) {
    const m = /^(\d+) (\d+)$/.exec(line);
    const epoch = Number(m?.[1]);
    const startOffset = Number(m?.[2]);
    if (m === null || !Number.isSafeInteger(epoch) || !Number.isSafeInteger(startOffset)) bad(`bad line ${JSON.stringify(line)}`);
    entries.push({ epoch, startOffset });
  }
  const why = invalidEntries(entries);
  if (why !== null) bad(why);
  return entries;
}

/**
 * Read `<dir>/leader-epoch-checkpoint`; null when there is none (rebuild from the log).
 * @example
 * const entries = await readEpochCheckpoint(storage, '/data/orders-0');
 * const cache = entries === null ? LeaderEpochCache.fromBatches(headers) : new LeaderEpochCache(entries);
 * @throws CorruptBatchError if the file is damaged
 */
export async function readEpochCheckpoint(storage: Storage, dir: string): Promise<EpochEntry[] | null> {
  const bytes = await storage.readFile(join(dir, EPOCH_CHECKPOINT_FILE));
  return bytes === null ? null : decodeEpochCheckpoint(bytes.toString('utf8'));
}

/**
 * Replace `<dir>/leader-epoch-checkpoint` atomically: temp file, fsync, rename,
 * directory fsync. A crash at any point leaves the old file or the new one, whole.
 * @example
 * if (cache.assign(epoch, log.logEndOffset)) await writeEpochCheckpoint(storage, dir, cache.entries);
 */
export async function writeEpochCheckpoint(storage: Storage, dir: string, entries: readonly EpochEntry[]): Promise<void> {
  const text = encodeEpochCheckpoint(entries);
  const temp = join(dir, EPOCH_CHECKPOINT_TEMP_FILE);
  await storage.remove(temp);
  const file = await storage.openFile(temp, { create: true });
  try {
    await file.append(Buffer.from(text, 'utf8'));
    await file.sync();
  } finally {
    await file.close();
  }
  await storage.rename(temp, join(dir, EPOCH_CHECKPOINT_FILE));
  await storage.syncDir(dir);
}
