/**
 * The admin client: create topics and look at them, over the wire like everything else
 * (CreateTopics and Metadata). KafkaJS calls this `kafka.admin()`, Kafka's Java client
 * `Admin`; `kafka-topics.sh --create / --list / --describe` is built on the same two
 * requests. The CLI's `create-topic`, `topics` and `describe-topic` commands use it.
 *
 * In a cluster (phase 5) any broker answers CreateTopics and Metadata, except that
 * phase 5's topics are static (the cluster file's), so a cluster broker refuses
 * CreateTopics with POLICY_VIOLATION. `describePartitions` asks each partition's leader
 * too: only the leader knows the ISR, and its high watermark and log end offset are the
 * ones that count (kafka-topics.sh --describe gets the ISR from the controller instead;
 * phase 6 has one).
 */
import { CreateTopics, type TopicConfigEntry, configsFromSettings } from '../protocol/create-topics.ts';
import { ErrorCode } from '../protocol/errors.ts';
import { Metadata, type PartitionMetadata } from '../protocol/metadata.ts';
import { BrokerPool } from './brokers.ts';
import type { ClientOptions, Connection } from './connection.ts';
import { type BrokerError, ClientLimitError, brokerErrorFor, throwIfError } from './errors.ts';
import type { MetadataCache, TopicInfo } from './metadata.ts';

/** Admin client settings. */
export interface AdminOptions extends ClientOptions {
}

/** A topic to create, in KafkaJS's shape plus our two settings by name. */
export interface NewTopic {
  topic: string;
  numPartitions: number;
  /** Roll segments at this size (Kafka `segment.bytes`); broker default if unset. */
  segmentBytesMax?: number;
  /** Keep at most this many bytes per partition, -1 unlimited (Kafka `retention.bytes`). */
  retentionBytesMax?: number;
  /** Raw (name, value) settings, sent as given (for settings this client has no field for). */
  configEntries?: TopicConfigEntry[];
}

/** The outcome of creating one topic. */
export interface CreateTopicOutcome {
  topic: string;
  /** null if the topic was created. */
  error: BrokerError | null;
}

/** One partition as `describe-topic` shows it: its replicas, and what its leader says. */
export interface PartitionDescription {
  readonly partition: number;
  readonly leaderId: number;
  /** Phase 6: the leader's epoch (-1 where epochs are not kept: a phase-5 cluster). */
  readonly leaderEpoch: number;
  /** Broker ids holding a copy, leader first. */
  readonly replicas: readonly number[];
  /** The in-sync replicas as the leader reports them; null if the leader did not answer. */
  readonly isr: readonly number[] | null;
  /** The leader's high watermark; null if it did not answer. */
  readonly highWatermark: number | null;
  /** The leader's log end offset; null if it did not answer. */
  readonly logEndOffset: number | null;
  /** Why the leader's part is missing (it could not be reached), else null. */
  readonly error: Error | null;
}

/**
 * Create and describe topics.
 * @example
 * const admin = new Admin({ port: 9092, ...realSeams() });
 * await admin.connect();
 * await admin.createTopic({ topic: 'orders', numPartitions: 3 });
 * console.log(await admin.listTopics());
 * await admin.disconnect();
 */
export class Admin {
  readonly #pool: BrokerPool;
  readonly #metadata: MetadataCache;

  constructor(opts: AdminOptions) {
    // maxAgeMs 0: an admin client always asks the broker.
    this.#pool = new BrokerPool({ client: opts, kind: 'admin', metadata: { maxAgeMs: 0 } });
    this.#metadata = this.#pool.metadata;
  }

  /** Connect to a bootstrap broker (and check it speaks CreateTopics and Metadata). */
  async connect(): Promise<void> {
    await this.#pool.connect();
  }

  /** Broker connections open now (at most one per broker of the cluster). */
  get connectionCount(): number {
    return this.#pool.connectionCount;
  }

  /** Create several topics in one request; each succeeds or fails on its own. */
  async createTopics(topics: readonly NewTopic[]): Promise<CreateTopicOutcome[]> {
    const res = await (await this.#connection()).request(CreateTopics, {
      topics: topics.map((t) => ({
        name: t.topic,
        numPartitions: t.numPartitions,
        configs: [...configsFromSettings(t), ...(t.configEntries ?? [])],
      })),
    });
    throwIfError(res);
    return res.topics.map((t) => ({ topic: t.name, error: t.errorCode === ErrorCode.NONE ? null : brokerErrorFor(t.errorCode, t.errorMessage) }));
  }

  /**
   * Create one topic; resolves once the broker has made it durable. Rejects with the
   * broker's error: TopicExistsBrokerError, InvalidTopicBrokerError, InvalidPartitionsBrokerError, ...
   */
  async createTopic(topic: NewTopic): Promise<void> {
    const [outcome] = await this.createTopics([topic]);
    if (outcome === undefined) throw brokerErrorFor(ErrorCode.UNKNOWN_SERVER_ERROR, 'CreateTopics answered without the topic');
    if (outcome.error !== null) throw outcome.error;
  }

  /** Every topic on the broker, sorted by name, with partition counts and settings. */
  async listTopics(): Promise<TopicInfo[]> {
    return await this.#metadata.allTopics();
  }

  /** One topic; rejects with UnknownTopicOrPartitionBrokerError or InvalidTopicBrokerError. */
  async describeTopic(topic: string): Promise<TopicInfo> {
    return await this.#metadata.topic(topic);
  }

  /**
   * Every partition of `topic` with its leader and replicas (from any broker) and, from
   * each partition's leader, its ISR, high watermark and log end offset (one Metadata
   * request per leader, at once). A leader that cannot be reached leaves those null and
   * says why in `error`. Rejects with the topic's error (unknown, invalid).
   */
  async describePartitions(topic: string): Promise<PartitionDescription[]> {
    await this.#metadata.topic(topic);
    const partitions = this.#metadata.partitionsOf(topic, { evenIfOld: true }) ?? [];
    const leaders = [...new Set(partitions.map((p) => p.leaderId))].filter((id) => id >= 0);
    const fromLeader = new Map<number, { partitions: readonly PartitionMetadata[]; error: Error | null }>();
    await Promise.all(
      leaders.map(async (leaderId) => {
        try {
          const res = await (await this.#pool.connectionTo(leaderId)).request(Metadata, { topics: [topic], allowAutoTopicCreation: false });
          throwIfError(res);
          const t = res.topics.find((x) => x.topic === topic);
          if (t === undefined) throw brokerErrorFor(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `broker ${leaderId} did not describe topic ${topic}`);
          if (t.errorCode !== ErrorCode.NONE) throw brokerErrorFor(t.errorCode, `broker ${leaderId}: topic ${JSON.stringify(topic)}`);
          fromLeader.set(leaderId, { partitions: t.partitions, error: null });
        } catch (err) {
          fromLeader.set(leaderId, { partitions: [], error: err instanceof Error ? err : new Error(String(err)) });
        }
      }),
    );
    return partitions.map((p) => {
      const answer = fromLeader.get(p.leaderId);
      const own = answer?.partitions.find((x) => x.partition === p.partition);
      return {
        partition: p.partition,
        leaderId: p.leaderId,
        leaderEpoch: p.leaderEpoch,
        replicas: [...p.replicas],
        // Phase 6: the ISR is the controller's, in every broker's answer; phase 5: only the leader knows it.
        isr: p.leaderEpoch >= 0 ? [...p.isr] : own === undefined ? null : [...own.isr],
        highWatermark: own === undefined ? null : own.highWatermark,
        logEndOffset: own === undefined ? null : own.logEndOffset,
        error: answer?.error ?? (p.leaderId < 0 ? new Error(`${topic}-${p.partition} has no leader`) : null),
      };
    });
  }

  /** Close the connections. */
  async disconnect(): Promise<void> {
    await this.#pool.close();
  }

  async #connection(): Promise<Connection> {
    if (!this.#pool.connected) throw new ClientLimitError('Admin used before connect() (or after disconnect())');
    return await this.#pool.anyConnection();
  }
}
