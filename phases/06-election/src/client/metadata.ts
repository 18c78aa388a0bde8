/**
 * What a client knows about the cluster's topics: for each topic it uses, how many
 * partitions there are and, since phase 5, which broker leads each of them and where
 * every broker is. The producer needs the count before it can partition a record and
 * the leader before it can send it; the consumer needs both to read "all partitions".
 *
 * Entries come from Metadata requests and are kept until they are `maxAgeMs` old (Kafka:
 * `metadata.max.age.ms`, 5 minutes) or until the client learns they are wrong: a broker
 * answering UNKNOWN_TOPIC_OR_PARTITION or NOT_LEADER_OR_FOLLOWER, a lost connection, or
 * a record naming a partition the cached count does not have, makes the client
 * `invalidate` and ask again. Requests go out one at a time, so a burst of sends to a new
 * topic costs one Metadata round trip, not one per send. Any broker can answer (each
 * knows the whole cluster file), so the connection comes from a function: the client's
 * pool hands out whichever connection is alive, and a Metadata request whose connection
 * was lost is sent again on another, up to `retries` times.
 */
import type { Clock } from '../seams/clock.ts';
import type { TopicConfigEntry } from '../protocol/create-topics.ts';
import { ErrorCode } from '../protocol/errors.ts';
import { type BrokerAddress, Metadata, type MetadataRequest, type MetadataResponse, type PartitionMetadata } from '../protocol/metadata.ts';
import type { Connection } from './connection.ts';
import { ConnectionClosedError, RequestTimeoutError, brokerErrorFor, throwIfError } from './errors.ts';

/** One topic as the client sees it. */
export interface TopicInfo {
  readonly topic: string;
  readonly partitions: number;
  readonly isInternal: boolean;
  /** The topic's own settings (`segment.bytes`, `retention.bytes`), as the broker reported them. */
  readonly configs: readonly TopicConfigEntry[];
}

/** Settings of a {@link MetadataCache}. */
export interface MetadataCacheOptions {
  /** Re-fetch an entry older than this. Default 300 000 (Kafka's `metadata.max.age.ms`). */
  maxAgeMs?: number;
  /** Ask the broker to create missing topics (it does so only if its `autoCreateTopics` is on). */
  allowAutoTopicCreation?: boolean;
  /** Send a Metadata request again this many times when its connection fails. Default 0. */
  retries?: number;
  /** Pause before each of those retries. Default 100. */
  retryBackoffMs?: number;
}

interface Entry {
  readonly info: TopicInfo;
  /** Leader, replicas and ISR of each partition, as the answering broker saw them. */
  readonly partitions: readonly PartitionMetadata[];
  readonly fetchedAtMs: number;
}

/**
 * A per-client cache of topic metadata.
 * @example
 * const metadata = new MetadataCache(() => conn, realClock);
 * const { partitions } = await metadata.topic('orders'); // one Metadata request, then cached
 */
export class MetadataCache {
  readonly #connection: () => Connection | Promise<Connection>;
  readonly #clock: Clock;
  readonly #maxAgeMs: number;
  readonly #allowAutoTopicCreation: boolean;
  readonly #retries: number;
  readonly #retryBackoffMs: number;
  readonly #entries = new Map<string, Entry>();
  /** The brokers of the last Metadata answer. */
  #brokers: readonly BrokerAddress[] = [];
  /** Tail of the queue that keeps Metadata requests one at a time. */
  #queue: Promise<unknown> = Promise.resolve();

  constructor(connection: () => Connection | Promise<Connection>, clock: Clock, opts: MetadataCacheOptions = {}) {
    this.#connection = connection;
    this.#clock = clock;
    this.#maxAgeMs = opts.maxAgeMs ?? 300_000;
    this.#allowAutoTopicCreation = opts.allowAutoTopicCreation ?? false;
    this.#retries = opts.retries ?? 0;
    this.#retryBackoffMs = opts.retryBackoffMs ?? 100;
  }

  /** The brokers the last Metadata answer listed (empty before the first). */
  get brokers(): readonly BrokerAddress[] {
    return this.#brokers;
  }

  /** Where broker `nodeId` is, from the last Metadata answer. */
  broker(nodeId: number): BrokerAddress | undefined {
    return this.#brokers.find((b) => b.nodeId === nodeId);
  }

  /**
   * The cached partitions (leader, replicas, ISR) of `topic`, without any request: if
   * fresh, or with `evenIfOld` however old (until invalidated). A client routing requests
   * may use an old entry: a wrong leader says so (NOT_LEADER_OR_FOLLOWER), which
   * invalidates it.
   */
  partitionsOf(topic: string, opts: { evenIfOld?: boolean } = {}): readonly PartitionMetadata[] | undefined {
    const entry = this.#entries.get(topic);
    if (entry === undefined) return undefined;
    if (opts.evenIfOld !== true && this.#clock.now() - entry.fetchedAtMs >= this.#maxAgeMs) return undefined;
    return entry.partitions;
  }

  /** The cached leader of a partition (-1: it has none), as `partitionsOf` finds it; undefined if not cached. */
  leaderOf(topic: string, partition: number, opts: { evenIfOld?: boolean } = {}): number | undefined {
    return this.partitionsOf(topic, opts)?.find((p) => p.partition === partition)?.leaderId;
  }

  /** The cached entry for `topic` if it is fresh, without any request. */
  cached(topic: string): TopicInfo | undefined {
    const entry = this.#entries.get(topic);
    if (entry === undefined || this.#clock.now() - entry.fetchedAtMs >= this.#maxAgeMs) return undefined;
    return entry.info;
  }

  /**
   * The topic's metadata, from the cache or one Metadata request. Rejects with the broker's
   * error for that topic (UnknownTopicOrPartitionBrokerError, InvalidTopicBrokerError).
   */
  async topic(topic: string): Promise<TopicInfo> {
    const hit = this.cached(topic);
    if (hit !== undefined) return hit;
    const run = this.#queue.then(async () => {
      // A request queued before this one may have fetched it meanwhile.
      const now = this.cached(topic);
      if (now !== undefined) return now;
      const res = await this.#request({ topics: [topic], allowAutoTopicCreation: this.#allowAutoTopicCreation });
      this.#store(res);
      const t = res.topics.find((x) => x.topic === topic);
      if (t === undefined) throw brokerErrorFor(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `the broker did not describe topic ${topic}`);
      if (t.errorCode !== ErrorCode.NONE) throw brokerErrorFor(t.errorCode, `topic ${JSON.stringify(topic)}`);
      return this.#entries.get(topic)?.info ?? toInfo(t);
    });
    this.#queue = run.catch(() => undefined);
    return await run;
  }

  /** Every topic on the broker (one Metadata request for all; refreshes the cache). */
  async allTopics(): Promise<TopicInfo[]> {
    const run = this.#queue.then(async () => {
      const res = await this.#request({ topics: null, allowAutoTopicCreation: false });
      this.#store(res);
      return res.topics.filter((t) => t.errorCode === ErrorCode.NONE).map(toInfo);
    });
    this.#queue = run.catch(() => undefined);
    return await run;
  }

  /** Forget `topic`: the next `topic()` call asks the broker again. */
  invalidate(topic: string): void {
    this.#entries.delete(topic);
  }

  /** One Metadata request; a failed connection is replaced and the request sent again, up to `retries` times. */
  async #request(req: MetadataRequest): Promise<MetadataResponse> {
    for (let attempt = 0; ; attempt++) {
      try {
        const res = await (await this.#connection()).request(Metadata, req);
        throwIfError(res);
        return res;
      } catch (err) {
        const linkFailed = err instanceof ConnectionClosedError || err instanceof RequestTimeoutError;
        if (!linkFailed || attempt >= this.#retries) throw err;
        await new Promise<void>((resolve) => this.#clock.setTimeout(resolve, this.#retryBackoffMs));
      }
    }
  }

  #store(res: MetadataResponse): void {
    const now = this.#clock.now();
    if (res.brokers.length > 0) this.#brokers = res.brokers;
    for (const t of res.topics) {
      if (t.errorCode === ErrorCode.NONE) this.#entries.set(t.topic, { info: toInfo(t), partitions: t.partitions, fetchedAtMs: now });
      else this.#entries.delete(t.topic);
    }
  }
}

function toInfo(t: MetadataResponse['topics'][number]): TopicInfo {
  return { topic: t.topic, partitions: t.partitions.length, isInternal: t.isInternal, configs: t.configs };
}
