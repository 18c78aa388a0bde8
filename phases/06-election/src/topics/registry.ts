/**
 * The topic registry: which topics exist, how many partitions each has, and their
 * per-topic log settings. It is the broker's source of truth for metadata; the
 * partition directories are opened from it on start (topics/partitions.ts), never
 * discovered by listing the data directory.
 *
 * On disk it is one small file, `<dir>/topics.registry`, replaced as a whole on every
 * change with the classic atomic-update dance, so that a crash at any point leaves
 * either the old registry or the new one, never a mixture or a torn file:
 *
 *   1. remove a leftover `topics.registry.tmp` (from an update that crashed)
 *   2. write the new registry to `topics.registry.tmp`       crash → tmp is junk, ignored
 *   3. fsync the temp file                                    crash → tmp may be lost; old file intact
 *   4. rename it over `topics.registry` (atomic in POSIX)     crash → rename not yet durable: old file
 *   5. fsync the directory, making the rename durable         crash → new file
 *   Only then is the change acknowledged.
 *
 * Without step 3 the rename could reach the disk before the data (an empty or partial
 * file under the real name); without step 5 an acknowledged topic could vanish.
 *
 * File layout (big-endian, like the rest of the project):
 *
 *   offset  size  field
 *   0       4     magic      "TREG" (0x54 0x52 0x45 0x47)
 *   4       2     version    i16 = 1
 *   6       4     crc        u32, CRC-32C of the body
 *   10      4     bodyLength i32, bytes of body that follow
 *   14      N     body       UTF-8 JSON: {"topics":[{"name","partitions","segmentBytesMax"?,"retentionBytesMax"?}]}
 *
 * JSON keeps the file readable with `dump`; the CRC catches a file damaged by something
 * other than our own crash (bit rot, a hand edit), which the broker then refuses to load.
 */
import { join } from 'node:path';
import { crc32c } from '@node-rs/crc32';
import { mkdirDurable, type Storage } from '../seams/storage.ts';
import { checkIntegerSetting, InvalidConfigError, StorageError } from '../log/errors.ts';
import { resolveLogConfig } from '../log/log.ts';
import { CorruptRegistryError, InvalidPartitionsError, InvalidTopicError, TopicExistsError, TopicLimitError } from './errors.ts';
import { isInternalTopic, topicNameProblem } from './names.ts';

/** Name of the registry file inside the data directory. It cannot collide with a
 * partition directory, which always ends in `-<digits>`. */
export const REGISTRY_FILE = 'topics.registry';
/** Name of the temporary file a registry update is written to before the rename. */
export const REGISTRY_TEMP_FILE = 'topics.registry.tmp';

const MAGIC = Buffer.from('TREG', 'ascii');
const VERSION = 1;
/** Bytes before the JSON body: magic, version, crc, bodyLength. */
export const REGISTRY_HEADER_BYTES = 14;

/** One topic as the registry stores it. Unset log settings fall back to the broker's. */
export interface TopicSpec {
  readonly name: string;
  readonly partitions: number;
  /** Roll a segment at this size (Kafka: `segment.bytes`); broker default if unset. */
  readonly segmentBytesMax?: number;
  /** Keep at most this many bytes per partition, -1 = unlimited (Kafka: `retention.bytes`). */
  readonly retentionBytesMax?: number;
}

/** Bounds on what the registry accepts. Every one is a resource: each partition is a
 * directory with at least two open file handles. */
export interface RegistryLimits {
  /** Most topics the broker holds (internal ones included). */
  topicsMax: number;
  /** Most partitions one topic may have. */
  partitionsPerTopicMax: number;
  /** Most partitions over all topics. */
  partitionsTotalMax: number;
}

/** Defaults for {@link RegistryLimits}. */
export const DEFAULT_REGISTRY_LIMITS: RegistryLimits = {
  topicsMax: 1000,
  partitionsPerTopicMax: 1000,
  partitionsTotalMax: 1000,
};

/**
 * Fill in the default of every limit not given (a field set to `undefined` counts as not
 * given, so an unset CLI option cannot switch a limit off) and check each is an integer
 * >= 1. Throws the log's `InvalidConfigError`. Pure.
 * @example
 * resolveRegistryLimits({ topicsMax: 10 }); // { topicsMax: 10, partitionsPerTopicMax: 1000, partitionsTotalMax: 1000 }
 * resolveRegistryLimits({ topicsMax: 0 });  // throws InvalidConfigError
 */
export function resolveRegistryLimits(limits: Partial<RegistryLimits> = {}): RegistryLimits {
  const resolved: RegistryLimits = { ...DEFAULT_REGISTRY_LIMITS };
  for (const name of Object.keys(DEFAULT_REGISTRY_LIMITS) as (keyof RegistryLimits)[]) {
    const v: unknown = limits[name];
    if (v === undefined) continue;
    // Without this check a 0, NaN or negative limit would refuse every topic, and NaN
    // compares false with everything, so it would refuse none.
    checkIntegerSetting(name, v, 1);
    resolved[name] = v as number;
  }
  return resolved;
}

/**
 * Check a topic spec against the rules and the current registry; throw the typed error a
 * client should see. Pure. `internal` allows `__` names (the broker's own topics).
 * @example
 * validateTopicSpec({ name: 'orders', partitions: 3 }, [], DEFAULT_REGISTRY_LIMITS);
 */
export function validateTopicSpec(
  spec: TopicSpec,
  existing: readonly TopicSpec[],
  limits: RegistryLimits,
  opts: { internal?: boolean } = {},
): void {
  const problem = topicNameProblem(spec.name);
  if (problem !== null) throw new InvalidTopicError(spec.name, problem);
  if (isInternalTopic(spec.name) && opts.internal !== true) {
    throw new InvalidTopicError(spec.name, 'names starting with "__" are reserved for internal topics');
  }
  if (existing.some((t) => t.name === spec.name)) throw new TopicExistsError(spec.name);
  if (!Number.isSafeInteger(spec.partitions) || spec.partitions < 1 || spec.partitions > limits.partitionsPerTopicMax) {
    throw new InvalidPartitionsError(`partitions must be an integer in [1, ${limits.partitionsPerTopicMax}], got ${spec.partitions}`);
  }
  const total = existing.reduce((sum, t) => sum + t.partitions, 0);
  if (total + spec.partitions > limits.partitionsTotalMax) {
    throw new InvalidPartitionsError(
      `the broker holds ${total} partitions; ${spec.partitions} more would pass partitionsTotalMax=${limits.partitionsTotalMax}`,
    );
  }
  if (existing.length + 1 > limits.topicsMax) throw new TopicLimitError(`the broker already holds topicsMax=${limits.topicsMax} topics`);
  // The log's own bounds decide (one rule, in log.ts); it throws InvalidConfigError.
  resolveLogConfig({
    ...(spec.segmentBytesMax !== undefined ? { segmentBytesMax: spec.segmentBytesMax } : {}),
    ...(spec.retentionBytesMax !== undefined ? { retentionBytesMax: spec.retentionBytesMax } : {}),
  });
}

/**
 * Encode the registry file (header + JSON body). Topics are written sorted by name so
 * the same registry always gives the same bytes.
 * @example
 * const bytes = encodeRegistry([{ name: 'orders', partitions: 3 }]);
 */
export function encodeRegistry(topics: readonly TopicSpec[]): Buffer {
  const sorted = [...topics].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const body = Buffer.from(
    JSON.stringify({
      topics: sorted.map((t) => ({
        name: t.name,
        partitions: t.partitions,
        ...(t.segmentBytesMax !== undefined ? { segmentBytesMax: t.segmentBytesMax } : {}),
        ...(t.retentionBytesMax !== undefined ? { retentionBytesMax: t.retentionBytesMax } : {}),
      })),
    }),
    'utf8',
  );
  const header = Buffer.alloc(REGISTRY_HEADER_BYTES);
  MAGIC.copy(header, 0);
  header.writeInt16BE(VERSION, 4);
  header.writeUInt32BE(crc32c(body), 6);
  header.writeInt32BE(body.length, 10);
  return Buffer.concat([header, body]);
}

/**
 * Decode and check a registry file: magic, version, length, CRC, then every topic
 * (legal name, no duplicates, sane counts). The bytes come from disk, so nothing is
 * trusted. Throws {@link CorruptRegistryError}.
 * @example
 * decodeRegistry(encodeRegistry(topics), 'topics.registry'); // deep-equals topics, sorted
 */
export function decodeRegistry(buf: Buffer, path: string): TopicSpec[] {
  const fail = (reason: string): never => {
    throw new CorruptRegistryError(path, reason);
  };
  if (buf.length < REGISTRY_HEADER_BYTES) fail(`${buf.length} bytes is shorter than the ${REGISTRY_HEADER_BYTES}-byte header`);
  if (!buf.subarray(0, 4).equals(MAGIC)) fail('bad magic');
  const version = buf.readInt16BE(4);
  if (version !== VERSION) fail(`unknown version ${version}`);
  const crc = buf.readUInt32BE(6);
  const bodyLength = buf.readInt32BE(10);
  if (bodyLength !== buf.length - REGISTRY_HEADER_BYTES) fail(`bodyLength ${bodyLength} but ${buf.length - REGISTRY_HEADER_BYTES} bytes follow`);
  const body = buf.subarray(REGISTRY_HEADER_BYTES);
  if (crc32c(body) !== crc) fail('CRC mismatch');
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    return fail('body is not JSON');
  }
  if (typeof parsed !== 'object' || parsed === null || !Array.isArray((parsed as { topics?: unknown }).topics)) fail('no topics array');
  const topics: TopicSpec[] = [];
  const seen = new Set<string>();
  for (const raw of (parsed as { topics: unknown[] }).topics) {
    if (typeof raw !== 'object' || raw === null) return fail('topic entry is not an object');
    const t = raw as Record<string, unknown>;
    const { name, partitions, segmentBytesMax, retentionBytesMax } = t;
    if (typeof name !== 'string' || topicNameProblem(name) !== null) return fail(`illegal topic name ${JSON.stringify(name)}`);
    if (seen.has(name)) return fail(`topic ${name} listed twice`);
    seen.add(name);
    if (typeof partitions !== 'number' || !Number.isSafeInteger(partitions) || partitions < 1) return fail(`topic ${name}: bad partitions`);
    const isOptInt = (v: unknown): v is number | undefined => v === undefined || (typeof v === 'number' && Number.isSafeInteger(v));
    if (!isOptInt(segmentBytesMax) || !isOptInt(retentionBytesMax)) return fail(`topic ${name}: bad settings`);
    topics.push({
      name,
      partitions,
      ...(segmentBytesMax !== undefined ? { segmentBytesMax } : {}),
      ...(retentionBytesMax !== undefined ? { retentionBytesMax } : {}),
    });
  }
  return topics;
}

/**
 * The registry in memory plus its file. `create` is serialised: concurrent calls run
 * one at a time, so two CreateTopics requests can never write the file from the same
 * old state and lose one topic. The in-memory view changes only after the new file is
 * durable, so nothing ever sees a topic that a crash could take away.
 */
export class TopicRegistry {
  readonly #storage: Storage;
  readonly #dir: string;
  readonly #limits: RegistryLimits;
  #topics: Map<string, TopicSpec>;
  #tail: Promise<unknown> = Promise.resolve();
  /** Set when an update failed part-way: the file on disk may hold the old registry or the
   * new one, and only a restart (which reads the file) can tell. Until then, refuse. */
  #failure: Error | null = null;

  private constructor(storage: Storage, dir: string, limits: RegistryLimits, topics: readonly TopicSpec[]) {
    this.#storage = storage;
    this.#dir = dir;
    this.#limits = limits;
    this.#topics = new Map(topics.map((t) => [t.name, t]));
  }

  /**
   * Load the registry from `<dir>/topics.registry` (an empty registry if there is none),
   * creating `dir` durably if needed and discarding a temp file left by a crashed update.
   * Bad `limits` throw InvalidConfigError ({@link resolveRegistryLimits}) before any of that.
   * @example
   * const registry = await TopicRegistry.open(new FsStorage(), '/var/lib/commitlog');
   */
  static async open(storage: Storage, dir: string, limits: Partial<RegistryLimits> = {}): Promise<TopicRegistry> {
    // Checked before anything touches the disk.
    const resolvedLimits = resolveRegistryLimits(limits);
    // Durably: the data directory's own name lives in its parent, and if a crash lost
    // it, the first registry written inside would vanish with it.
    await mkdirDurable(storage, dir);
    const tempPath = join(dir, REGISTRY_TEMP_FILE);
    if (await storage.exists(tempPath)) {
      // An update that never reached its rename: by definition not acknowledged.
      await storage.remove(tempPath);
      await storage.syncDir(dir);
    }
    const path = join(dir, REGISTRY_FILE);
    const bytes = await storage.readFile(path);
    const topics = bytes === null ? [] : decodeRegistry(bytes, path);
    return new TopicRegistry(storage, dir, resolvedLimits, topics);
  }

  /** Every topic, sorted by name. */
  list(): TopicSpec[] {
    return [...this.#topics.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  /** One topic, or undefined. */
  get(name: string): TopicSpec | undefined {
    return this.#topics.get(name);
  }

  /** The limits this registry enforces. */
  get limits(): Readonly<RegistryLimits> {
    return this.#limits;
  }

  /**
   * Validate and add a topic, durably: resolves only after the new registry file has
   * been renamed into place and the directory synced. Throws the typed errors of
   * {@link validateTopicSpec} (and the log's InvalidConfigError), or the storage error.
   * After a storage error the file on disk is the old registry or the new one; which one
   * is known only by reading it, so every later `create` fails with a `StorageError`
   * until the broker restarts (the same rule as after a failed fsync of the log: never
   * pretend a retry fixed it).
   * @example
   * await registry.create({ name: 'orders', partitions: 3 });
   */
  // #region atomic-update
  async create(spec: TopicSpec, opts: { internal?: boolean } = {}): Promise<TopicSpec> {
    const run = this.#tail.then(async () => {
      if (this.#failure !== null) {
        throw new StorageError(`the topic registry is read-only after a failed update (${this.#failure.message}); restart the broker`, {
          cause: this.#failure,
        });
      }
      validateTopicSpec(spec, this.list(), this.#limits, opts);
      const stored: TopicSpec = {
        name: spec.name,
        partitions: spec.partitions,
        ...(spec.segmentBytesMax !== undefined ? { segmentBytesMax: spec.segmentBytesMax } : {}),
        ...(spec.retentionBytesMax !== undefined ? { retentionBytesMax: spec.retentionBytesMax } : {}),
      };
      try {
        await this.#write([...this.list(), stored]);
      } catch (e) {
        this.#failure = e instanceof Error ? e : new Error(String(e));
        throw e;
      }
      this.#topics.set(stored.name, stored);
      return stored;
    });
    this.#tail = run.catch(() => undefined);
    return await run;
  }

  /** Steps 1-5 of the atomic update in the header comment. */
  async #write(topics: readonly TopicSpec[]): Promise<void> {
    const tempPath = join(this.#dir, REGISTRY_TEMP_FILE);
    const path = join(this.#dir, REGISTRY_FILE);
    await this.#storage.remove(tempPath);
    const file = await this.#storage.openFile(tempPath, { create: true });
    try {
      await file.append(encodeRegistry(topics));
      await file.sync();
    } finally {
      await file.close();
    }
    await this.#storage.rename(tempPath, path);
    await this.#storage.syncDir(this.#dir);
  }
  // #endregion atomic-update
}
