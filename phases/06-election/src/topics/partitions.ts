/**
 * Topics → partitions → logs. The broker core asks this object for "partition p of
 * topic T" (a `Partition`, partition.ts) on every Produce, Fetch and ListOffsets; it owns
 * the topic registry and one `Partition` with its phase-1 `Log` per partition, each in its
 * own directory:
 *
 *   <dir>/topics.registry          the registry (topics/registry.ts)
 *   <dir>/orders-0/                partition 0 of topic "orders": segments + indexes
 *   <dir>/orders-1/
 *   <dir>/__consumer_offsets/      committed offsets (phase 4's groups/offsets-store.ts)
 *
 * A partition is the unit of ordering and of storage: appends to one log are
 * serialised (phase 1), appends to different partitions proceed independently.
 *
 * Creating a topic commits the registry first and then creates and opens the partition
 * logs. A crash between the two leaves a registered topic without directories; the next
 * start opens (and so creates) them, empty, which is exactly the state an acknowledged
 * create promised. The reverse order could leave directories of a topic that does not
 * exist, which a later create of the same name would inherit.
 */
import { join } from 'node:path';
import { Log, type LogConfig } from '../log/log.ts';
import { mkdirDurable, type Storage } from '../seams/storage.ts';
import { UnknownTopicOrPartitionError } from './errors.ts';
import { Partition } from './partition.ts';
import { isInternalTopic, partitionDirName, validateTopicName } from './names.ts';
import { TopicRegistry, type RegistryLimits, type TopicSpec } from './registry.ts';

/** Settings of a {@link PartitionManager}. */
export interface PartitionManagerConfig {
  /** Log settings for every partition; a topic's own segment and retention bytes win. */
  log: Partial<LogConfig>;
  /** Bounds on topics and partitions. */
  limits: Partial<RegistryLimits>;
}

/** A topic and its partitions, as Metadata reports it. */
export interface TopicMetadata extends TopicSpec {
  /** Whether the name is reserved for the broker (`__` prefix). */
  readonly internal: boolean;
}

/**
 * The broker's topics and their partition logs. Open it once per data directory.
 * @example
 * const pm = await PartitionManager.open(storage, dir, { log: { segmentBytesMax: 1 << 20 } });
 * await pm.createTopic({ name: 'orders', partitions: 3 });
 * await pm.partition('orders', 1).appendBatches([encodeBatch([{ value: Buffer.from('hi') }])]);
 */
export class PartitionManager {
  readonly #storage: Storage;
  readonly #dir: string;
  readonly #config: PartitionManagerConfig;
  readonly #registry: TopicRegistry;
  /** The partitions of every topic that is open; index = partition number. */
  readonly #partitions = new Map<string, Partition[]>();
  #closed = false;

  private constructor(storage: Storage, dir: string, config: PartitionManagerConfig, registry: TopicRegistry) {
    this.#storage = storage;
    this.#dir = dir;
    this.#config = config;
    this.#registry = registry;
  }

  /**
   * Load the registry and open (recovering) the log of every partition of every topic.
   * Directories in `dir` that belong to no registered topic are left alone.
   */
  static async open(storage: Storage, dir: string, config: Partial<PartitionManagerConfig> = {}): Promise<PartitionManager> {
    const full: PartitionManagerConfig = { log: config.log ?? {}, limits: config.limits ?? {} };
    const registry = await TopicRegistry.open(storage, dir, full.limits);
    const manager = new PartitionManager(storage, dir, full, registry);
    try {
      for (const topic of registry.list()) await manager.#openTopic(topic);
    } catch (e) {
      await manager.close();
      throw e;
    }
    return manager;
  }

  /** The data directory. */
  get dir(): string {
    return this.#dir;
  }

  /** Every topic, sorted by name. */
  topics(): TopicMetadata[] {
    return this.#registry.list().map((t) => ({ ...t, internal: isInternalTopic(t.name) }));
  }

  /** One topic, or undefined if it does not exist. */
  topic(name: string): TopicSpec | undefined {
    return this.#registry.get(name);
  }

  /**
   * One partition. Throws InvalidTopicError for an illegal name and
   * UnknownTopicOrPartitionError for a topic or partition that does not exist.
   */
  partition(topic: string, partition: number): Partition {
    validateTopicName(topic);
    const partitions = this.#partitions.get(topic);
    const found = Number.isSafeInteger(partition) && partition >= 0 ? partitions?.[partition] : undefined;
    if (found === undefined) throw new UnknownTopicOrPartitionError(topic, partition);
    return found;
  }

  /** The log of one partition (`partition(topic, p).log`), for tests and tools. */
  log(topic: string, partition: number): Log {
    return this.partition(topic, partition).log;
  }

  /** Every open partition, for retention and shutdown. */
  partitions(): Partition[] {
    return [...this.#partitions.values()].flat();
  }

  /**
   * Create a topic: validate, commit the registry durably, then create and open its
   * partition logs. Resolves once all of that is durable. `internal` is for the broker's
   * own `__` topics; clients never get to set it. If opening the logs fails after the
   * commit, the topic stays registered (a create that was not acknowledged may still
   * have happened) and its partitions are opened at the next start.
   */
  async createTopic(spec: TopicSpec, opts: { internal?: boolean } = {}): Promise<TopicSpec> {
    if (this.#closed) throw new Error('partition manager is closed');
    const stored = await this.#registry.create(spec, opts);
    await this.#openTopic(stored);
    return stored;
  }

  /** The effective log config of a topic: broker defaults, then the topic's settings. */
  logConfig(topic: TopicSpec): Partial<LogConfig> {
    return {
      ...this.#config.log,
      ...(topic.segmentBytesMax !== undefined ? { segmentBytesMax: topic.segmentBytesMax } : {}),
      ...(topic.retentionBytesMax !== undefined ? { retentionBytesMax: topic.retentionBytesMax } : {}),
    };
  }

  async #openTopic(topic: TopicSpec): Promise<void> {
    const logs: Log[] = [];
    try {
      for (let p = 0; p < topic.partitions; p++) {
        const partitionDir = join(this.#dir, partitionDirName(topic.name, p));
        // The new directory's name lives in the data directory: sync that, or a crash
        // could drop the partition directory (and its acknowledged records) while the
        // registry still lists the topic.
        await mkdirDurable(this.#storage, partitionDir);
        logs.push(await Log.open(this.#storage, partitionDir, this.logConfig(topic)));
      }
    } catch (e) {
      for (const log of logs) await log.close().catch(() => undefined);
      throw e;
    }
    this.#partitions.set(topic.name, logs.map((log, partition) => new Partition({ topic: topic.name, partition }, log)));
  }

  /** Close every partition log (each syncs what it holds). Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const errors: unknown[] = [];
    for (const { log } of this.partitions()) {
      try {
        await log.close();
      } catch (e) {
        errors.push(e);
      }
    }
    this.#partitions.clear();
    if (errors.length > 0) throw errors[0];
  }
}
