/**
 * The admin client: create topics and look at them, over the wire like everything else
 * (CreateTopics and Metadata). KafkaJS calls this `kafka.admin()`, Kafka's Java client
 * `Admin`; `kafka-topics.sh --create / --list / --describe` is built on the same two
 * requests. The CLI's `create-topic` and `topics` commands use it.
 */
import { CreateTopics, type TopicConfigEntry, configsFromSettings } from '../protocol/create-topics.ts';
import { ErrorCode } from '../protocol/errors.ts';
import { type ClientOptions, Connection } from './connection.ts';
import { type BrokerError, ClientLimitError, brokerErrorFor, throwIfError } from './errors.ts';
import { MetadataCache, type TopicInfo } from './metadata.ts';

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
  readonly #opts: AdminOptions;
  #conn: Connection | null = null;
  readonly #metadata: MetadataCache;

  constructor(opts: AdminOptions) {
    this.#opts = opts;
    // maxAgeMs 0: an admin client always asks the broker.
    this.#metadata = new MetadataCache(() => this.#connection(), opts.clock, { maxAgeMs: 0 });
  }

  /** Connect to the broker (and check it speaks CreateTopics and Metadata). */
  async connect(): Promise<void> {
    if (this.#conn !== null) return;
    this.#conn = await Connection.connectClient(this.#opts, 'admin');
  }

  /** Create several topics in one request; each succeeds or fails on its own. */
  async createTopics(topics: readonly NewTopic[]): Promise<CreateTopicOutcome[]> {
    const res = await this.#connection().request(CreateTopics, {
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

  /** Close the connection. */
  async disconnect(): Promise<void> {
    const conn = this.#conn;
    this.#conn = null;
    await conn?.close();
  }

  #connection(): Connection {
    if (this.#conn === null) throw new ClientLimitError('Admin used before connect() (or after disconnect())');
    return this.#conn;
  }
}
