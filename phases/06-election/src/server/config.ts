/**
 * The broker's configuration: where it listens, where the log lives, and a named limit for
 * every resource a client can make it spend (TIGER_STYLE: put a limit on everything).
 * Each limit has a Kafka counterpart, named beside it; defaults follow Kafka's where that
 * makes sense for one process on a laptop. `resolveBrokerConfig` fills defaults and
 * rejects nonsense (a zero frame size, a negative timeout) before anything starts.
 */
import type { CoordinatorConfig } from '../groups/coordinator.ts';
import type { OffsetsStoreConfig } from '../groups/offsets-store.ts';
import { DEFAULT_LOG_CONFIG, type LogConfig } from '../log/log.ts';
import { TOPIC_NAME_LENGTH_MAX } from '../topics/names.ts';
import type { ClusterFile } from '../replication/cluster-file.ts';
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
  /**
   * A connection with nothing in flight and no complete request or answer for this long is
   * closed (Kafka `connections.max.idle.ms`). Bytes of a frame that never completes do not
   * count as activity: a client dripping one byte a second is idle.
   */
  idleTimeoutMs: number;
  // Hostile clients (issue 12, attacks 1 and 4): answers never read, frames never finished.
  /**
   * Bytes of answers one connection may hold unwritten before the broker stops dispatching
   * its requests and stops reading it, until the link drains or an answer is finished.
   * Counted: answers handed to the link and not yet written to the peer (over TCP: not yet
   * handed to the kernel), finished answers waiting behind an earlier one, and for each
   * Fetch still being computed its cap, min(maxBytes, fetchBytesMax), plus room for its
   * headers. A request is dispatched only while that sum is at most this, so the answers a
   * connection holds never exceed this plus one answer (a Fetch's cap and headers; a first
   * batch larger than the cap still comes back whole, and the few-dozen-byte answers of
   * other APIs are not reserved ahead). Stops a client that pipelines Fetches and never
   * reads the answers. Kafka has no exact equivalent: it mutes a connection from reading a
   * request until the answer before it is sent, so it holds one answer per connection.
   */
  responseBytesMaxPerConnection: number;
  /**
   * Longest a request frame may take to arrive, from its first byte to its last; then the
   * connection is closed with the reason logged. The clock stops while the broker itself
   * holds the frame back (requests in flight at `maxInFlightPerConnection`, or waiting for
   * room in `queuedRequestBytesMax`), not while the client is too slow to read its answers.
   * Stops a slowloris client that drips a frame a byte at a time. Kafka has no equivalent
   * (its idle timer is reset by any byte read).
   */
  requestReceiveMsMax: number;
  /**
   * Bytes of request frames still arriving, over all connections (Kafka
   * `queued.max.request.bytes`, unbounded there by default). As in Kafka's memory pool, a
   * frame is admitted by its size field as soon as those four bytes arrive, and an admitted
   * frame is read to its end; one that does not fit waits, in arrival order, with its
   * connection unread until admitted frames complete or close (meanwhile the kernel's
   * receive buffer fills, TCP's window closes and the client's writes block). So frames
   * still arriving never hold more than this, plus what the one socket read that brought a
   * waiting frame's size field carried. Frames that arrive whole in one read are never held
   * back. Unlike Kafka, a frame stops counting once whole (`maxInFlightPerConnection` bounds
   * whole requests). At least `frameBytesMax`, so that any frame can be admitted. Stops many
   * connections each holding an unfinished frame.
   */
  queuedRequestBytesMax: number;
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
  /**
   * Most topics one request may name (Metadata, duplicates counted; CreateTopics; Fetch),
   * and one member may subscribe to (JoinGroup, phase 4); more is INVALID_REQUEST, before
   * any of them is looked at. Kafka has no such bound (it relies on
   * `socket.request.max.bytes` and request quotas). With Metadata's names deduplicated,
   * its answer holds at most this many topics and `topicLimits.partitionsTotalMax` partitions.
   */
  requestTopicsMax: number;
  /**
   * Most array elements one request may carry, all its arrays together (topics,
   * partitions, topic configs, a member's owned partitions, ...), checked by the decoder
   * as each count is read, before those elements are decoded; more is INVALID_REQUEST.
   * Without it the work of one request is bounded only by `frameBytesMax`: an 8 MiB frame
   * holds 4 million empty strings. Kafka has no such bound.
   */
  requestItemsMax: number;
  /**
   * Largest response body the broker sends, for any API; an answer that would be larger
   * is replaced by the API's error response, POLICY_VIOLATION (Kafka has no such bound; it
   * bounds only Fetch, by `fetch.max.bytes`). At least `fetchBytesMax` plus the log's
   * `batchBytesMax` plus {@link FETCH_PARTITION_OVERHEAD_BYTES}, so that a Fetch of one
   * partition, all a consumer needs to make progress, is always answered.
   */
  responseBytesMax: number;
  /** Passed to `Log.open` for every partition (segment size, index interval, retention, batchBytesMax); a topic's own settings win. */
  log?: Partial<LogConfig>;
  /** Bounds on topics and partitions (topics/registry.ts). */
  topicLimits?: Partial<RegistryLimits>;
  /** Consumer groups: session timeout bounds (Kafka `group.min.session.timeout.ms`,
   * `group.max.session.timeout.ms`), `group.max.size`, groups held, and so on (groups/coordinator.ts). */
  groups?: Partial<CoordinatorConfig>;
  /** The committed-offsets store and its compaction (groups/offsets-store.ts). */
  offsets?: Partial<OffsetsStoreConfig>;
  /** Phase 5: the cluster this broker belongs to and its id in it; absent for a broker on its own. */
  cluster?: { file: ClusterFile; brokerId: number };
  /** How long a leader holds an idle follower fetch (Kafka `replica.fetch.wait.max.ms`); below replicaLagTimeMaxMs / 2, or an idle follower would look lagging. */
  replicaFetchWaitMs: number;
  /** Bytes a follower asks per partition per fetch (Kafka `replica.fetch.max.bytes`). */
  replicaFetchBytesMax: number;
  /** A follower's pause after a failed fetch (Kafka `replica.fetch.backoff.ms`). */
  replicaFetchBackoffMs: number;
  /** How often high watermarks are checkpointed (Kafka `replica.high.watermark.checkpoint.interval.ms`). */
  checkpointIntervalMs: number;
  /**
   * Phase 6: the controller this broker registers with and its id; absent for a broker on
   * its own or in a phase-5 cluster. Topics, leaders and ISRs then come from the
   * controller's metadata log.
   */
  controller?: { host: string; port: number; brokerId: number };
  /** Phase 6: how often the broker renews its lease (Kafka `broker.heartbeat.interval.ms`); below the controller's session timeout. */
  heartbeatIntervalMs: number;
  /** Phase 6: a follower not caught up for this long is proposed for removal from the ISR (Kafka `replica.lag.time.max.ms`). */
  replicaLagTimeMaxMs: number;
  /** Phase 6: acks=all needs this many in-sync replicas unless the topic sets `min.insync.replicas`. */
  minInsyncReplicas: number;
}

/**
 * The most a one-partition Fetch answer holds besides its records: the response prefix
 * (no error message), one topic of the longest legal name, one partition entry
 * (protocol/fetch.ts). A Fetch's records are at most `fetchBytesMax` plus one batch.
 */
export const FETCH_PARTITION_OVERHEAD_BYTES = 2 + 2 + 4 + (2 + TOPIC_NAME_LENGTH_MAX) + 4 + (4 + 2 + 2 + 8 + 8 + 4);

/** Defaults for everything except `dir`. */
export const BROKER_DEFAULTS: Omit<BrokerConfig, 'dir'> = {
  host: '127.0.0.1',
  port: 9092,
  maxConnections: 1024,
  maxInFlightPerConnection: 64,
  idleTimeoutMs: 10 * 60_000,
  responseBytesMaxPerConnection: 8 * 1024 * 1024,
  requestReceiveMsMax: 30_000,
  queuedRequestBytesMax: 64 * 1024 * 1024,
  frameBytesMax: 8 * 1024 * 1024,
  fetchWaitMsMax: 30_000,
  fetchBytesMax: 8 * 1024 * 1024,
  shutdownDeadlineMs: 10_000,
  autoCreateTopics: false,
  defaultPartitions: 1,
  requestTopicsMax: 1000,
  requestItemsMax: 10_000,
  responseBytesMax: 16 * 1024 * 1024,
  replicaFetchWaitMs: 500,
  replicaFetchBytesMax: 1024 * 1024,
  replicaFetchBackoffMs: 100,
  checkpointIntervalMs: 1000,
  heartbeatIntervalMs: 200,
  replicaLagTimeMaxMs: 2000,
  minInsyncReplicas: 1,
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
  atLeast('responseBytesMaxPerConnection', 1);
  atLeast('requestReceiveMsMax', 1);
  atLeast('queuedRequestBytesMax', 64);
  if (config.queuedRequestBytesMax < config.frameBytesMax) {
    throw new InvalidConfigError(`queuedRequestBytesMax (${config.queuedRequestBytesMax}) must be at least frameBytesMax (${config.frameBytesMax}), or a frame that large could never be admitted`);
  }
  atLeast('defaultPartitions', 1);
  atLeast('requestTopicsMax', 1);
  atLeast('requestItemsMax', 1);
  atLeast('responseBytesMax', 1, 0x7fff_ffff);
  // Otherwise a consumer whose next batch makes the Fetch answer too large could never get past it.
  const batchBytesMax = config.log?.batchBytesMax ?? DEFAULT_LOG_CONFIG.batchBytesMax;
  if (config.responseBytesMax < config.fetchBytesMax + batchBytesMax + FETCH_PARTITION_OVERHEAD_BYTES) {
    throw new InvalidConfigError(
      `responseBytesMax (${config.responseBytesMax}) must be at least fetchBytesMax + log.batchBytesMax + ${FETCH_PARTITION_OVERHEAD_BYTES} (${config.fetchBytesMax} + ${batchBytesMax} + ${FETCH_PARTITION_OVERHEAD_BYTES})`,
    );
  }
  atLeast('replicaFetchWaitMs', 0);
  atLeast('replicaFetchBytesMax', 1, 0x7fff_ffff);
  atLeast('replicaFetchBackoffMs', 1);
  atLeast('checkpointIntervalMs', 1);
  atLeast('heartbeatIntervalMs', 1);
  atLeast('replicaLagTimeMaxMs', 1);
  atLeast('minInsyncReplicas', 1);
  if (config.controller !== undefined) {
    if (config.cluster !== undefined) throw new InvalidConfigError('a broker has a cluster file (phase 5) or a controller (phase 6), not both');
    checkIntegerSetting('controller.brokerId', config.controller.brokerId, 0, 0x7fff_ffff);
    checkIntegerSetting('controller.port', config.controller.port, 1, 65_535);
    if (config.replicaFetchWaitMs * 2 >= config.replicaLagTimeMaxMs) {
      throw new InvalidConfigError(`replicaFetchWaitMs (${config.replicaFetchWaitMs}) must be below half of replicaLagTimeMaxMs (${config.replicaLagTimeMaxMs}), or an idle follower would leave the ISR`);
    }
    if (config.autoCreateTopics) throw new InvalidConfigError('autoCreateTopics cannot be used with a controller: topics are created through it (create-topic)');
  }
  if (config.cluster !== undefined) {
    const { file, brokerId } = config.cluster;
    if (!file.brokers.some((b) => b.id === brokerId)) throw new InvalidConfigError(`broker id ${brokerId} is not in the cluster file (ids: ${file.brokers.map((b) => b.id).join(', ')})`);
    if (config.replicaFetchWaitMs * 2 >= file.replicaLagTimeMaxMs) {
      throw new InvalidConfigError(`replicaFetchWaitMs (${config.replicaFetchWaitMs}) must be below half of replicaLagTimeMaxMs (${file.replicaLagTimeMaxMs}), or an idle follower would leave the ISR`);
    }
    if (config.autoCreateTopics) throw new InvalidConfigError('autoCreateTopics cannot be used with a cluster file: topics are static in phase 5 (list them in the file)');
  }
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
