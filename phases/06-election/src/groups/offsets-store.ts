/**
 * Durable committed offsets: the broker's `__consumer_offsets`. The coordinator
 * (coordinator.ts) writes every accepted OffsetCommit and every new group generation
 * here and answers OffsetFetch from the in-memory map this store keeps. Underneath is an
 * ordinary phase-1 `Log` of records laid out as in offsets-records.ts; the latest record
 * for a key wins.
 *
 * Durability: `commit` resolves only once the batch is fsynced (`Log.append`), and only
 * then does the in-memory map change, so an OffsetFetch never returns an offset that a
 * crash could take back. After a failed write the store refuses further writes until
 * the broker restarts and replays from disk (course/architecture.md §5: never pretend a retried fsync
 * fixed anything).
 *
 * Compaction: replaying every commit ever made would make start-up grow without bound
 * (a consumer committing once a second writes 86,400 records a day). So when the log
 * holds more than `compactRatio` times as many records as there are live keys (and at
 * least `compactRecordsMin`), the store writes the live value of every key into a fresh
 * log and switches to it atomically. Start-up then reads O(live keys) records, whatever
 * the history. Files, inside the broker's data directory:
 *
 *   __consumer_offsets/CURRENT      the name of the live log, e.g. "log-7"
 *   __consumer_offsets/log-7/       a phase-1 log directory (segments + indexes)
 *
 * A compaction builds `log-8/` (every append fsynced), then replaces CURRENT the
 * atomic way (write CURRENT.tmp, fsync, rename, fsync the directory), then deletes
 * `log-7/`. A crash before the rename is durable leaves CURRENT naming `log-7`, which
 * is intact; after it, `log-8` is complete. Start-up deletes whatever CURRENT does not
 * name. A missing CURRENT means `log-0` (a store that never compacted). Nothing is
 * created until the first write, so a broker whose clients never use groups has no
 * `__consumer_offsets/` at all.
 *
 * Unlike Kafka, whose log cleaner keeps each surviving record at its original offset,
 * the rewritten log starts again at offset 0: nothing outside this store refers to
 * offsets in it.
 */
import { join } from 'node:path';
import { Log, type LogConfig } from '../log/log.ts';
import type { RecordInput } from '../log/record-batch.ts';
import { checkIntegerSetting, InvalidConfigError, StorageError } from '../log/errors.ts';
import { mkdirDurable, type Storage } from '../seams/storage.ts';
import { compareTopicPartitions } from './assignor.ts';
import type { TopicPartition } from '../topics/partition.ts';
import { CorruptOffsetsError, decodeOffsetsRecord, encodeOffsetsRecord, keyId, type OffsetCommitValue, type OffsetsRecord } from './offsets-records.ts';

/** Name of the store's directory inside the broker's data directory. Not `<name>-<n>`,
 * so it can never be mistaken for a partition directory. */
export const OFFSETS_DIR = '__consumer_offsets';
const CURRENT_FILE = 'CURRENT';
const CURRENT_TEMP_FILE = 'CURRENT.tmp';
const LOG_NAME = /^log-(\d{1,15})$/;

/** Settings of an {@link OffsetsStore}. */
export interface OffsetsStoreConfig {
  /** Never compact a log holding fewer records than this. */
  compactRecordsMin: number;
  /** Compact once the log holds more than this many records per live key. */
  compactRatio: number;
  /** Records per batch when a compaction rewrites the log. */
  compactBatchRecordsMax: number;
  /** Settings of the underlying log. */
  log: Partial<LogConfig>;
}

/** Defaults for {@link OffsetsStoreConfig}. */
export const defaultOffsetsStoreConfig: OffsetsStoreConfig = {
  compactRecordsMin: 1000,
  compactRatio: 2,
  compactBatchRecordsMax: 500,
  log: {},
};

/**
 * Fill in defaults and check every bound. A `compactBatchRecordsMax` of 0 would make the
 * first compaction loop forever; a `compactRatio` below 1 would compact after every
 * commit. Throws {@link InvalidConfigError}.
 * @example resolveOffsetsStoreConfig({ compactRecordsMin: 10 }).compactRatio // 2
 */
export function resolveOffsetsStoreConfig(partial: Partial<OffsetsStoreConfig> = {}): OffsetsStoreConfig {
  const c: OffsetsStoreConfig = { ...defaultOffsetsStoreConfig };
  for (const [name, v] of Object.entries(partial)) if (v !== undefined) Object.assign(c, { [name]: v });
  const check = (name: 'compactRecordsMin' | 'compactBatchRecordsMax', min: number): void => checkIntegerSetting(`offsets.${name}`, c[name], min);
  check('compactRecordsMin', 1);
  check('compactBatchRecordsMax', 1);
  if (!Number.isFinite(c.compactRatio) || c.compactRatio < 1) throw new InvalidConfigError(`offsets.compactRatio must be a number >= 1, got ${c.compactRatio}`);
  return c;
}

/** One offset to commit. */
export interface OffsetToCommit extends TopicPartition {
  readonly offset: number;
  readonly metadata: string;
}

/** A stored offset with the partition it belongs to. */
export interface StoredOffset extends TopicPartition, OffsetCommitValue {}

/** Counters for tests, `describe-group` and the writeup's numbers. */
export interface OffsetsStoreStats {
  /** Records in the live log (what a restart replays). */
  readonly logRecords: number;
  /** Keys with a live value. */
  readonly liveKeys: number;
  /** Compactions since this store was opened. */
  readonly compactions: number;
  /** Name of the live log directory. */
  readonly activeLog: string;
}

/**
 * The durable map (group, topic, partition) → committed offset, plus each group's
 * latest generation.
 * @example
 * const store = await OffsetsStore.open(storage, join(dataDir, OFFSETS_DIR));
 * await store.commit('g', [{ topic: 't', partition: 0, offset: 42, metadata: '' }], clock.now());
 * store.committed('g', 't', 0)?.offset; // 42
 */
export class OffsetsStore {
  readonly #storage: Storage;
  readonly #dir: string;
  readonly #config: OffsetsStoreConfig;
  /** Live value of every key (tombstoned keys are absent). */
  readonly #live = new Map<string, OffsetsRecord>();
  /** The live log; null until the first write creates the store on disk. */
  #log: Log | null;
  #logName: string;
  #logRecords = 0;
  #compactions = 0;
  /** Writes and compactions run one at a time, in call order. */
  #tail: Promise<void> = Promise.resolve();
  #failed: unknown = null;
  #closed = false;

  private constructor(storage: Storage, dir: string, config: OffsetsStoreConfig, log: Log | null, logName: string) {
    this.#storage = storage;
    this.#dir = dir;
    this.#config = config;
    this.#log = log;
    this.#logName = logName;
  }

  /**
   * Open the store in `dir` (created at the first write if missing): remove what an
   * interrupted compaction left behind, open the live log (phase-1 recovery runs) and
   * replay it. Throws {@link CorruptOffsetsError} if a record does not decode, and
   * InvalidConfigError on a bad `config` (see {@link resolveOffsetsStoreConfig}).
   */
  static async open(storage: Storage, dir: string, config: Partial<OffsetsStoreConfig> = {}): Promise<OffsetsStore> {
    const full = resolveOffsetsStoreConfig(config);
    if (!(await storage.exists(dir))) return new OffsetsStore(storage, dir, full, null, 'log-0');
    const current = await storage.readFile(join(dir, CURRENT_FILE));
    const logName = current === null ? 'log-0' : current.toString('utf8');
    if (!LOG_NAME.test(logName)) throw new CorruptOffsetsError(`${join(dir, CURRENT_FILE)} names ${JSON.stringify(logName)}, not a log`);
    let removed = false;
    for (const name of await storage.list(dir)) {
      if (name === CURRENT_FILE || name === logName) continue;
      await storage.remove(join(dir, name));
      removed = true;
    }
    if (removed) await storage.syncDir(dir);
    const store = new OffsetsStore(storage, dir, full, null, logName);
    const log = await store.#openLog();
    try {
      await store.#replay(log);
    } catch (e) {
      await log.close().catch(() => undefined);
      throw e;
    }
    return store;
  }

  /** The committed offset of one partition for a group, if any. */
  committed(groupId: string, topic: string, partition: number): OffsetCommitValue | undefined {
    const r = this.#live.get(keyId({ kind: 'offset', groupId, topic, partition, value: null }));
    return r?.kind === 'offset' && r.value !== null ? r.value : undefined;
  }

  /** Every committed offset of a group, sorted by topic and partition. */
  offsets(groupId: string): StoredOffset[] {
    const out: StoredOffset[] = [];
    for (const r of this.#live.values()) {
      if (r.kind === 'offset' && r.groupId === groupId && r.value !== null) out.push({ topic: r.topic, partition: r.partition, ...r.value });
    }
    return out.sort(compareTopicPartitions);
  }

  /** The latest generation recorded for a group (0 if none). */
  generation(groupId: string): number {
    const r = this.#live.get(keyId({ kind: 'group', groupId, value: null }));
    return r?.kind === 'group' && r.value !== null ? r.value.generation : 0;
  }

  /** Every group with a recorded generation or committed offsets, sorted. */
  groups(): string[] {
    return [...new Set([...this.#live.values()].map((r) => r.groupId))].sort();
  }

  /** Sizes, for tests and describe output. */
  stats(): OffsetsStoreStats {
    return { logRecords: this.#logRecords, liveKeys: this.#live.size, compactions: this.#compactions, activeLog: this.#logName };
  }

  /**
   * Commit offsets for a group in one batch: resolves once fsynced, and only then are
   * they visible to {@link committed}. May compact afterwards (before resolving).
   */
  async commit(groupId: string, offsets: readonly OffsetToCommit[], nowMs: number): Promise<void> {
    const records: OffsetsRecord[] = offsets.map((o) => ({
      kind: 'offset',
      groupId,
      topic: o.topic,
      partition: o.partition,
      value: { offset: o.offset, metadata: o.metadata, commitTimestampMs: nowMs },
    }));
    await this.#write(records, nowMs);
  }

  /** Record a group's new generation durably (the coordinator does this before
   * answering the JoinGroups of that generation). */
  async recordGeneration(groupId: string, generation: number, nowMs: number): Promise<void> {
    await this.#write([{ kind: 'group', groupId, value: { generation } }], nowMs);
  }

  /** Rewrite the live values into a fresh log now (normally triggered by size). */
  async compact(nowMs: number): Promise<void> {
    await this.#serial(() => this.#compact(nowMs));
  }

  /** Close the live log. Pending writes finish first. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#tail.catch(() => undefined);
    await this.#log?.close();
  }

  async #write(records: OffsetsRecord[], nowMs: number): Promise<void> {
    if (records.length === 0) return;
    await this.#serial(async () => {
      const log = this.#log ?? (await this.#openLog());
      await log.append(records.map((r) => toRecordInput(r, nowMs)));
      this.#logRecords += records.length;
      for (const r of records) this.#apply(r);
      const { compactRecordsMin, compactRatio } = this.#config;
      if (this.#logRecords < compactRecordsMin || this.#logRecords <= compactRatio * this.#live.size) return;
      try {
        await this.#compact(nowMs);
      } catch (e) {
        // The commit itself is durable and stays acknowledged; the store stops taking
        // writes because after a storage error only a replay from disk can be trusted.
        this.#failed = e;
      }
    });
  }

  /** Run `task` after every earlier one; a failure poisons the store (see header). */
  async #serial(task: () => Promise<void>): Promise<void> {
    const run = this.#tail.then(async () => {
      if (this.#closed) throw new StorageError(`offsets store ${this.#dir} is closed`);
      if (this.#failed !== null) throw new StorageError(`offsets store ${this.#dir} failed earlier; restart to recover`, { cause: this.#failed });
      try {
        await task();
      } catch (e) {
        this.#failed = e;
        throw e;
      }
    });
    this.#tail = run.catch(() => undefined);
    await run;
  }

  #apply(r: OffsetsRecord): void {
    if (r.value === null) this.#live.delete(keyId(r));
    else this.#live.set(keyId(r), r);
  }

  /** Create (durably) and open the live log's directory; it becomes `#log`. */
  async #openLog(): Promise<Log> {
    await mkdirDurable(this.#storage, join(this.#dir, this.#logName));
    this.#log = await Log.open(this.#storage, join(this.#dir, this.#logName), this.#config.log);
    return this.#log;
  }

  async #replay(log: Log): Promise<void> {
    const chunkBytes = 1 << 20;
    let offset = log.logStartOffset;
    while (offset < log.logEndOffset) {
      const records = await log.readRecords(offset, chunkBytes);
      const last = records[records.length - 1];
      if (last === undefined) break;
      for (const r of records) this.#apply(decodeOffsetsRecord(r.key, r.value));
      this.#logRecords += records.length;
      offset = last.offset + 1;
    }
  }

  // #region compact
  async #compact(nowMs: number): Promise<void> {
    const number = Number(LOG_NAME.exec(this.#logName)?.[1] ?? 0) + 1;
    const nextName = `log-${number}`;
    const nextDir = join(this.#dir, nextName);
    await this.#storage.remove(nextDir);
    await mkdirDurable(this.#storage, nextDir);
    const next = await Log.open(this.#storage, nextDir, this.#config.log);
    const live = [...this.#live.values()];
    try {
      for (let i = 0; i < live.length; i += this.#config.compactBatchRecordsMax) {
        await next.append(live.slice(i, i + this.#config.compactBatchRecordsMax).map((r) => toRecordInput(r, nowMs)));
      }
      await writeFileAtomically(this.#storage, this.#dir, CURRENT_FILE, CURRENT_TEMP_FILE, Buffer.from(nextName, 'utf8'));
    } catch (e) {
      await next.close().catch(() => undefined);
      throw e;
    }
    const old = this.#log;
    const oldDir = join(this.#dir, this.#logName);
    this.#log = next;
    this.#logName = nextName;
    this.#logRecords = live.length;
    this.#compactions += 1;
    await old?.close();
    await this.#storage.remove(oldDir);
    await this.#storage.syncDir(this.#dir);
  }
  // #endregion compact
}

function toRecordInput(r: OffsetsRecord, nowMs: number): RecordInput {
  const { key, value } = encodeOffsetsRecord(r);
  return { key, value, timestamp: nowMs };
}

/** Replace `dir/name` with `data` so that a crash leaves the old or the new content. */
async function writeFileAtomically(storage: Storage, dir: string, name: string, tempName: string, data: Buffer): Promise<void> {
  const tempPath = join(dir, tempName);
  await storage.remove(tempPath);
  const file = await storage.openFile(tempPath, { create: true });
  try {
    await file.append(data);
    await file.sync(); // the bytes must be on disk before the name points at them
  } finally {
    await file.close();
  }
  await storage.rename(tempPath, join(dir, name));
  await storage.syncDir(dir); // makes the rename itself durable
}
