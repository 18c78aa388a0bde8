/**
 * What a client knows about the cluster's topics: for each topic it uses, how many
 * partitions there are (and, from phase 5, who leads each). The producer needs the count
 * before it can partition a record; the consumer needs it to read "all partitions".
 *
 * Entries come from Metadata requests and are kept until they are `maxAgeMs` old (Kafka:
 * `metadata.max.age.ms`, 5 minutes) or until the client learns they are wrong: a broker
 * answering UNKNOWN_TOPIC_OR_PARTITION, or a record naming a partition the cached count
 * does not have, makes the client `invalidate` and ask again. Requests go out one at a
 * time on the client's connection, so a burst of sends to a new topic costs one Metadata
 * round trip, not one per send.
 */
import type { Clock } from '../seams/clock.ts';
import type { TopicConfigEntry } from '../protocol/create-topics.ts';
import { ErrorCode } from '../protocol/errors.ts';
import { Metadata, type MetadataResponse } from '../protocol/metadata.ts';
import type { Connection } from './connection.ts';
import { brokerErrorFor, throwIfError } from './errors.ts';

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
}

interface Entry {
  readonly info: TopicInfo;
  readonly fetchedAtMs: number;
}

/**
 * A per-client cache of topic metadata.
 * @example
 * const metadata = new MetadataCache(() => conn, realClock);
 * const { partitions } = await metadata.topic('orders'); // one Metadata request, then cached
 */
export class MetadataCache {
  readonly #connection: () => Connection;
  readonly #clock: Clock;
  readonly #maxAgeMs: number;
  readonly #allowAutoTopicCreation: boolean;
  readonly #entries = new Map<string, Entry>();
  /** Tail of the queue that keeps Metadata requests one at a time. */
  #queue: Promise<unknown> = Promise.resolve();

  constructor(connection: () => Connection, clock: Clock, opts: MetadataCacheOptions = {}) {
    this.#connection = connection;
    this.#clock = clock;
    this.#maxAgeMs = opts.maxAgeMs ?? 300_000;
    this.#allowAutoTopicCreation = opts.allowAutoTopicCreation ?? false;
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
      const res = await this.#connection().request(Metadata, { topics: [topic], allowAutoTopicCreation: this.#allowAutoTopicCreation });
      throwIfError(res);
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
      const res = await this.#connection().request(Metadata, { topics: null, allowAutoTopicCreation: false });
      throwIfError(res);
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

  #store(res: MetadataResponse): void {
    const now = this.#clock.now();
    for (const t of res.topics) {
      if (t.errorCode === ErrorCode.NONE) this.#entries.set(t.topic, { info: toInfo(t), fetchedAtMs: now });
      else this.#entries.delete(t.topic);
    }
  }
}

function toInfo(t: MetadataResponse['topics'][number]): TopicInfo {
  return { topic: t.topic, partitions: t.partitions.length, isInternal: t.isInternal, configs: t.configs };
}
