/**
 * The broker's configuration: where it listens, where the log lives, and a named limit for
 * every resource a client can make it spend (TIGER_STYLE: put a limit on everything).
 * Each limit has a Kafka counterpart, named beside it; defaults follow Kafka's where that
 * makes sense for one process on a laptop. `resolveBrokerConfig` fills defaults and
 * rejects nonsense (a zero frame size, a negative timeout) before anything starts.
 */
import type { CoordinatorConfig } from '../groups/coordinator.ts';
import type { OffsetsStoreConfig } from '../groups/offsets-store.ts';
import type { LogConfig } from '../log/log.ts';
import { type RegistryLimits, resolveRegistryLimits } from '../topics/registry.ts';
import { checkIntegerSetting, InvalidConfigError } from '../log/errors.ts';

/** Everything `Broker.start` needs to know. */
export interface BrokerConfig {
  /** Interface to listen on; loopback unless told otherwise (course/architecture.md §5). */
  host: string;
  /** TCP port; 0 picks a free one (read it back from `Broker.port`). */
  port: number;
  /** Data directory: the topic registry and one directory per partition. */
  dir: string;
  /** Open connections at most; more are closed on accept (Kafka `max.connections`). */
  maxConnections: number;
  /** Requests read but not yet answered, per connection; at the bound the broker stops reading the socket. */
  maxInFlightPerConnection: number;
  /** A connection with nothing in flight and no bytes received for this long is closed (Kafka `connections.max.idle.ms`). */
  idleTimeoutMs: number;
  /** Largest accepted request frame, size field value (Kafka `socket.request.max.bytes`). */
  frameBytesMax: number;
  /** Upper bound on a Fetch's long-poll wait, whatever the client asks (Kafka caps by its request timeout). */
  fetchWaitMsMax: number;
  /**
   * Upper bound on the bytes one Fetch reads, whatever `maxBytes` the client asks for
   * (Kafka `fetch.max.bytes`). A first batch larger than this still comes back whole,
   * so the largest response is about max(fetchBytesMax, the log's batchBytesMax).
   */
  fetchBytesMax: number;
  /** How long graceful shutdown waits for in-flight requests before closing their connections. */
  shutdownDeadlineMs: number;
  /** Create a topic the first time a client produces to it (or asks Metadata to); off by default (Kafka `auto.create.topics.enable`). */
  autoCreateTopics: boolean;
  /** Partitions of an auto-created topic (Kafka `num.partitions`). */
  defaultPartitions: number;
  /** Passed to `Log.open` for every partition (segment size, index interval, retention, batchBytesMax); a topic's own settings win. */
  log?: Partial<LogConfig>;
  /** Bounds on topics and partitions (topics/registry.ts). */
  topicLimits?: Partial<RegistryLimits>;
  /** Consumer groups: session timeout bounds (Kafka `group.min.session.timeout.ms`,
   * `group.max.session.timeout.ms`), `group.max.size`, groups held, and so on (groups/coordinator.ts). */
  groups?: Partial<CoordinatorConfig>;
  /** The committed-offsets store and its compaction (groups/offsets-store.ts). */
  offsets?: Partial<OffsetsStoreConfig>;
}

/** Defaults for everything except `dir`. */
export const BROKER_DEFAULTS: Omit<BrokerConfig, 'dir'> = {
  host: '127.0.0.1',
  port: 9092,
  maxConnections: 1024,
  maxInFlightPerConnection: 64,
  idleTimeoutMs: 10 * 60_000,
  frameBytesMax: 8 * 1024 * 1024,
  fetchWaitMsMax: 30_000,
  fetchBytesMax: 8 * 1024 * 1024,
  shutdownDeadlineMs: 10_000,
  autoCreateTopics: false,
  defaultPartitions: 1,
};

/**
 * Fill in defaults and check every bound.
 * @example resolveBrokerConfig({ dir: '/tmp/log', port: 0 }).maxConnections // 1024
 */
export function resolveBrokerConfig(partial: Partial<BrokerConfig>): BrokerConfig {
  if (partial.dir === undefined || partial.dir === '') throw new InvalidConfigError('dir is required');
  const config: BrokerConfig = { ...BROKER_DEFAULTS, ...definedOnly(partial), dir: partial.dir };
  const atLeast = (name: keyof BrokerConfig, min: number, max = Number.MAX_SAFE_INTEGER): void => checkIntegerSetting(name, config[name], min, max);
  atLeast('port', 0, 65_535);
  atLeast('maxConnections', 1);
  atLeast('maxInFlightPerConnection', 1);
  atLeast('idleTimeoutMs', 1);
  atLeast('frameBytesMax', 64, 0x7fff_ffff);
  atLeast('fetchWaitMsMax', 0);
  atLeast('fetchBytesMax', 1, 0x7fff_ffff);
  atLeast('shutdownDeadlineMs', 0);
  atLeast('defaultPartitions', 1);
  if (typeof config.autoCreateTopics !== 'boolean') throw new InvalidConfigError(`autoCreateTopics must be a boolean, got ${String(config.autoCreateTopics)}`);
  let topicLimits: RegistryLimits;
  try {
    topicLimits = resolveRegistryLimits(config.topicLimits);
  } catch (e) {
    throw new InvalidConfigError(`topicLimits.${e instanceof Error ? e.message : String(e)}`);
  }
  // Otherwise every auto-creation would fail with INVALID_PARTITIONS, long after start.
  if (config.defaultPartitions > topicLimits.partitionsPerTopicMax) {
    throw new InvalidConfigError(`defaultPartitions (${config.defaultPartitions}) must not exceed topicLimits.partitionsPerTopicMax (${topicLimits.partitionsPerTopicMax})`);
  }
  config.topicLimits = topicLimits;
  return config;
}

function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
