/**
 * The broker process's core: opens its topics (the registry and every partition's log),
 * listens through the Transport seam (TCP in production), accepts connections up to `maxConnections`, and shuts down gracefully.
 * Data flows link → `BrokerConnection` (framing, ordering, backpressure) →
 * `RequestHandler` (the APIs) → `PartitionManager` (phase 3) → `Log` (phase 1).
 *
 * Accepting never blocks: a connection over the limit is closed the moment it arrives,
 * with the reason in the log, and the accept loop moves on (a broker that stops accepting
 * to apply backpressure also stops accepting the client that would have freed a slot).
 *
 * Graceful shutdown (`close`), in order:
 * 1. stop accepting (the listening socket closes; new connects are refused by the OS);
 * 2. every connection stops taking new requests and ends once its in-flight requests are
 *    answered (idle connections end at once); parked long polls are answered now;
 * 3. connections still busy after `shutdownDeadlineMs` are destroyed: their requests are
 *    not acknowledged, so a client must treat them as failed (the records may or may not
 *    be in the log, but never half a batch: batches are appended atomically);
 * 4. every partition's log is closed (synced), and `close` resolves.
 *
 * Phase 4: the broker is also the group coordinator. It opens the committed-offsets store
 * (`<dir>/__consumer_offsets/`, replayed on start) next to the partitions, and its
 * `GroupCoordinator` runs every consumer group's state machine on the broker's Clock.
 * Shutdown answers held JoinGroups at step 2 and closes the store after the partitions.
 */
import { join } from 'node:path';
import type { Clock } from '../seams/clock.ts';
import { GroupCoordinator, resolveCoordinatorConfig } from '../groups/coordinator.ts';
import { OFFSETS_DIR, OffsetsStore, resolveOffsetsStoreConfig } from '../groups/offsets-store.ts';
import { PartitionManager, type TopicMetadata } from '../topics/partitions.ts';
import type { Random } from '../seams/random.ts';
import type { Storage } from '../seams/storage.ts';
import type { Listener, ServerLink, ServerLinkHandlers, Transport } from '../seams/transport.ts';
import { ApiKey, REQUEST_HEADER_BYTES_MIN, type RequestHeader } from '../protocol/header.ts';
import type { TopicSpec } from '../topics/registry.ts';
import { type BrokerConfig, resolveBrokerConfig } from './config.ts';
import { BrokerConnection, type ConnectionStats, RequestBytesPool, type RequestBytesPoolStats, refuse } from './connection.ts';
import { GroupHandlers } from './group-handlers.ts';
import { type ClusterView, RequestHandler } from './handlers.ts';
import { ReplicaManager } from '../replication/replica-manager.ts';
import { ControlledReplicas } from '../replication/controlled-replicas.ts';
import { ControllerChannel } from '../replication/controller-channel.ts';
import { ErrorCode } from '../protocol/errors.ts';
import type { CreateTopicsRequest, CreateTopicsResponse } from '../protocol/create-topics.ts';

/** Phase 6: a broker under a controller: its replication and its link to the controller. */
interface Controlled {
  readonly replicas: ControlledReplicas;
  readonly channel: ControllerChannel;
}

/**
 * The broker's surroundings: the seams it reaches the world through, and where log
 * lines go. Every seam is required: the CLI (or any user of `index.ts`, through `realSeams()`) passes the
 * real ones, a test or the simulator its own, and forgetting one is a type error rather
 * than a silent fall-back to real time, disk, sockets or randomness.
 */
export interface BrokerDeps {
  storage: Storage;
  clock: Clock;
  /** Accepts client connections (`listen`). */
  transport: Transport;
  /** The Random seam, for group member ids. */
  random: Random;
  /** One line per event worth telling an operator (refused connection, closed with a reason). Default: stderr. */
  logger?: (line: string) => void;
}

/**
 * A running broker serving topics over TCP.
 * @example
 * const broker = await Broker.start({ dir: '/tmp/data', port: 0 }, realSeams());
 * await broker.createTopic({ name: 'orders', partitions: 3 });
 * console.log(`listening on ${broker.host}:${broker.port}`);
 * await broker.close();
 */
export class Broker {
  /** Address the broker listens on. */
  readonly host: string;
  /** Port the broker listens on (the real one when configured with 0). */
  readonly port: number;
  readonly #config: BrokerConfig;
  readonly #listener: Listener;
  readonly #partitions: PartitionManager;
  readonly #offsets: OffsetsStore;
  readonly #replication: ReplicaManager | null;
  readonly #controlled: Controlled | null;
  readonly #handler: RequestHandler;
  readonly #clock: Clock;
  readonly #logger: (line: string) => void;
  readonly #connections = new Set<BrokerConnection>();
  /** `queuedRequestBytesMax`, shared by every connection. */
  readonly #requestBytes: RequestBytesPool;
  #nextConnectionId = 1;
  #closing: Promise<void> | null = null;
  #onAllClosed: (() => void) | null = null;

  private constructor(
    config: BrokerConfig,
    listener: Listener,
    partitions: PartitionManager,
    offsets: OffsetsStore,
    replication: ReplicaManager | null,
    controlled: Controlled | null,
    clock: Clock,
    random: Random,
    logger: (line: string) => void,
  ) {
    this.host = config.host;
    this.port = listener.port;
    this.#config = config;
    this.#listener = listener;
    this.#partitions = partitions;
    this.#offsets = offsets;
    this.#replication = replication;
    this.#controlled = controlled;
    this.#clock = clock;
    this.#logger = logger;
    this.#requestBytes = new RequestBytesPool(config.queuedRequestBytesMax);
    const coordinator = new GroupCoordinator({
      clock,
      random,
      store: offsets,
      partitionsOf: (topic) => partitions.topic(topic)?.partitions,
      config: config.groups ?? {},
    });
    this.#handler = new RequestHandler(partitions, clock, {
      fetchWaitMsMax: config.fetchWaitMsMax,
      fetchBytesMax: config.fetchBytesMax,
      advertisedHost: config.host,
      advertisedPort: listener.port,
      logger,
      autoCreateTopics: config.autoCreateTopics,
      defaultPartitions: config.defaultPartitions,
      requestTopicsMax: config.requestTopicsMax,
      requestItemsMax: config.requestItemsMax,
      responseBytesMax: config.responseBytesMax,
      // In a cluster, the first broker of the cluster file coordinates every group (phase 5 keeps
      // the offsets store local to each broker; phase 6's controller could move it).
      groups: new GroupHandlers(coordinator, partitions, coordinatorAddress(config, listener.port)),
      ...(replication === null ? {} : { cluster: clusterView(replication) }),
      ...(controlled === null ? {} : { cluster: controlledView(controlled, config) }),
    });
  }

  /** Phase 6: this broker's controller-driven replication, or null. */
  get controlled(): { readonly replicas: ControlledReplicas; readonly channel: ControllerChannel } | null {
    return this.#controlled;
  }

  /** This broker's replication (phase 5), or null for a broker on its own. */
  get replication(): ReplicaManager | null {
    return this.#replication;
  }

  /**
   * Load the topic registry in `config.dir` and open (recovering) every partition's log,
   * then listen. Resolves once connections are accepted. Rejects on a bad config, a corrupt
   * registry, a log that fails to open, or a port in use.
   */
  static async start(config: Partial<BrokerConfig>, deps: BrokerDeps): Promise<Broker> {
    const resolved = resolveBrokerConfig(config);
    // Checked before anything opens: the coordinator is only built once we listen.
    resolveCoordinatorConfig(resolved.groups);
    resolveOffsetsStoreConfig(resolved.offsets);
    const logger = deps.logger ?? ((line: string) => process.stderr.write(`broker: ${line}\n`));
    const storage = deps.storage;
    // Listen first, then open the partitions and the offsets store: a port already in
    // use fails the start before anything is created or recovered on disk. Links accepted
    // before the broker exists (while the logs open, before `serve` prints "listening on")
    // are refused, not queued.
    let broker: Broker | null = null;
    const accept = (link: ServerLink): ServerLinkHandlers => (broker === null ? refuse(link) : broker.#accept(link));
    const options = {
      frameBytesMax: resolved.frameBytesMax,
      frameBytesMin: REQUEST_HEADER_BYTES_MIN,
      backlog: Math.max(511, resolved.maxConnections),
      // A link blocks at the connection's answer budget at the latest, so a connection over it has a `drained` coming.
      unsentBytesMax: resolved.responseBytesMaxPerConnection,
    };
    const listener: Listener = await deps.transport.listen(resolved.host, resolved.port, options, accept);
    let partitions: PartitionManager;
    try {
      partitions = await PartitionManager.open(storage, resolved.dir, {
        log: resolved.log ?? {},
        limits: resolved.topicLimits ?? {},
      });
    } catch (err) {
      await listener.close();
      throw err;
    }
    let offsets: OffsetsStore;
    try {
      offsets = await OffsetsStore.open(storage, join(resolved.dir, OFFSETS_DIR), resolved.offsets ?? {});
    } catch (err) {
      await partitions.close();
      await listener.close();
      throw err;
    }
    let replication: ReplicaManager | null = null;
    if (resolved.cluster !== undefined) {
      try {
        replication = await ReplicaManager.start(partitions, resolved.dir, {
          cluster: resolved.cluster.file,
          brokerId: resolved.cluster.brokerId,
          replicaFetchWaitMs: resolved.replicaFetchWaitMs,
          replicaFetchBytesMax: resolved.replicaFetchBytesMax,
          replicaFetchBackoffMs: resolved.replicaFetchBackoffMs,
          checkpointIntervalMs: resolved.checkpointIntervalMs,
        }, { storage, clock: deps.clock, transport: deps.transport, logger, onHighWatermarkMoved: () => {
          if (broker !== null) broker.#handler.highWatermarkMoved();
        } });
      } catch (err) {
        await listener.close();
        await offsets.close();
        await partitions.close();
        throw err;
      }
    }
    let controlled: Controlled | null = null;
    if (resolved.controller !== undefined) {
      const c = resolved.controller;
      const replicas = await ControlledReplicas.open(partitions, resolved.dir, {
        brokerId: c.brokerId,
        replicaLagTimeMaxMs: resolved.replicaLagTimeMaxMs,
        minInsyncReplicas: resolved.minInsyncReplicas,
        replicaFetchWaitMs: resolved.replicaFetchWaitMs,
        replicaFetchBytesMax: resolved.replicaFetchBytesMax,
        replicaFetchBackoffMs: resolved.replicaFetchBackoffMs,
        checkpointIntervalMs: resolved.checkpointIntervalMs,
      }, { storage, clock: deps.clock, transport: deps.transport, logger, onHighWatermarkMoved: () => {
        if (broker !== null) broker.#handler.highWatermarkMoved();
      } }).catch(async (err: unknown) => {
        await listener.close();
        await offsets.close();
        await partitions.close();
        throw err;
      });
      const channel = new ControllerChannel({
        brokerId: c.brokerId,
        advertisedHost: resolved.host,
        advertisedPort: listener.port,
        controllerHost: c.host,
        controllerPort: c.port,
        clock: deps.clock,
        transport: deps.transport,
        heartbeatIntervalMs: resolved.heartbeatIntervalMs,
        metadataFetchWaitMs: 5_000,
        retryBackoffMs: resolved.replicaFetchBackoffMs,
        logger,
        onMetadata: (image) => replicas.apply(image),
      });
      controlled = { replicas, channel };
    }
    broker = new Broker(resolved, listener, partitions, offsets, replication, controlled, deps.clock, deps.random, logger);
    replication?.run();
    if (controlled !== null) {
      controlled.replicas.attach(controlled.channel);
      controlled.channel.start();
    }
    return broker;
  }

  /**
   * Create a topic from inside the process (the CreateTopics API does the same for
   * clients). `internal` allows the broker's own `__` topics. Resolves once durable.
   */
  async createTopic(spec: TopicSpec, opts: { internal?: boolean } = {}): Promise<TopicSpec> {
    return await this.#partitions.createTopic(spec, opts);
  }

  /** The broker's topics, sorted by name. */
  topics(): TopicMetadata[] {
    return this.#partitions.topics();
  }

  /** Connections currently open. */
  get connectionCount(): number {
    return this.#connections.size;
  }

  /** What each open connection holds (answers not yet written, frames arriving), for tests and operators. */
  connectionStats(): ConnectionStats[] {
    return [...this.#connections].map((c) => c.stats);
  }

  /** Bytes of `queuedRequestBytesMax` taken by frames still arriving, the most ever taken, and frames waiting for room. */
  get queuedRequestBytes(): RequestBytesPoolStats {
    return this.#requestBytes.stats;
  }

  /** Long-polling fetches currently waiting for an append. */
  get parkedFetches(): number {
    return this.#handler.parkedFetches;
  }

  /** Graceful shutdown (see the file comment). Safe to call more than once. */
  close(): Promise<void> {
    this.#closing ??= this.#shutdown();
    return this.#closing;
  }

  #accept(link: ServerLink): ServerLinkHandlers {
    if (this.#closing !== null) return refuse(link);
    const max = this.#config.maxConnections;
    if (this.#connections.size >= max) {
      this.#logger(`refused connection from ${link.peer}: ${this.#connections.size} connections open (maxConnections ${max})`);
      return refuse(link);
    }
    const limits = {
      maxInFlight: this.#config.maxInFlightPerConnection,
      idleTimeoutMs: this.#config.idleTimeoutMs,
      responseBytesMax: this.#config.responseBytesMaxPerConnection,
      requestReceiveMsMax: this.#config.requestReceiveMsMax,
      responseBytesReserve: fetchResponseReserve(this.#config.fetchBytesMax),
    };
    const onClose = (c: BrokerConnection): void => {
      this.#connections.delete(c);
      if (this.#connections.size === 0) this.#onAllClosed?.();
    };
    const connection = new BrokerConnection(this.#nextConnectionId++, link, this.#handler, this.#clock, limits, this.#logger, onClose, this.#requestBytes);
    this.#connections.add(connection);
    return connection.handlers;
  }

  async #shutdown(): Promise<void> {
    const listenerClosed = this.#listener.close();
    const allClosed = new Promise<void>((resolve) => {
      this.#onAllClosed = resolve;
      if (this.#connections.size === 0) resolve();
    });
    for (const c of this.#connections) c.drain();
    this.#handler.beginShutdown();
    const deadlineMs = this.#config.shutdownDeadlineMs;
    const deadline = this.#clock.setTimeout(() => {
      for (const c of this.#connections) c.abort(`shutdown deadline of ${deadlineMs} ms passed with ${c.inFlight} requests in flight`);
    }, deadlineMs);
    await allClosed;
    this.#clock.clearTimeout(deadline);
    await listenerClosed;
    // Followers stop copying before the logs close; produces still waiting for the HW fail.
    await this.#replication?.stop();
    await this.#controlled?.channel.stop();
    await this.#controlled?.replicas.stop();
    try {
      await this.#partitions.close();
    } finally {
      await this.#offsets.close();
    }
  }
}

/**
 * What a request's answer may take while it is computed (`responseBytesMaxPerConnection`):
 * for a Fetch (v1: maxWaitMs i32, maxBytes i32, then its topics and partitions) the records
 * it may read, min(maxBytes, fetchBytesMax), plus room for the answer's headers (each
 * topic and partition comes back with at most twice the bytes it takes in the request);
 * 0 for every other API. A partition's first batch may still be larger than what is left
 * of the cap (it comes back whole); the answer is then counted as it is once finished.
 */
function fetchResponseReserve(fetchBytesMax: number): (header: RequestHeader, body: Buffer) => number {
  return (header, body) => {
    // Fetch v2 (phase 5): replicaId i32, maxWaitMs i32, then maxBytes i32.
    if (header.apiKey !== ApiKey.Fetch || body.length < 16) return 0;
    return Math.min(Math.max(body.readInt32BE(8), 0), fetchBytesMax) + FETCH_HEADERS_RESERVE_BYTES + 2 * body.length;
  };
}

/** Room for a Fetch answer's fixed fields (size, correlation id, error code and message, topic count) beyond `2 × request body`. */
const FETCH_HEADERS_RESERVE_BYTES = 16;


/** Where FindCoordinator sends clients: this broker, or in a cluster the first broker of the file. */
function coordinatorAddress(config: BrokerConfig, port: number): { nodeId: number; host: string; port: number } {
  const first = config.cluster?.file.brokers[0];
  return first === undefined ? { nodeId: 0, host: config.host, port } : { nodeId: first.id, host: first.host, port: first.port };
}

/** Phase 6: the cluster as this broker's copy of the metadata log has it. */
function controlledView(c: Controlled, config: BrokerConfig): ClusterView {
  const brokerId = config.controller?.brokerId ?? 0;
  const image = c.channel.image;
  return {
    brokerId,
    get brokers() {
      return [...image.brokers.values()].filter((b) => !b.fenced).map((b) => ({ nodeId: b.id, host: b.host, port: b.port }));
    },
    replicasOf: (topic, partition) => image.partition(topic, partition)?.replicas ?? null,
    partitionState: (topic, partition) => image.partition(topic, partition),
    followerCaughtUp: (partition) => c.replicas.onFollowerCaughtUp(partition),
    createTopics: async (req: CreateTopicsRequest): Promise<CreateTopicsResponse> => {
      let res: CreateTopicsResponse;
      try {
        res = await c.channel.createTopics(req);
      } catch (err) {
        return { errorCode: ErrorCode.NONE, errorMessage: null, topics: req.topics.map((t) => ({ name: t.name, errorCode: ErrorCode.BROKER_NOT_AVAILABLE, errorMessage: `the controller cannot be reached: ${err instanceof Error ? err.message : String(err)}` })) };
      }
      // Answer once this broker has the new topics, so the client can use them at once.
      const created = res.topics.filter((t) => t.errorCode === ErrorCode.NONE).map((t) => t.name);
      await c.replicas.waitForTopics(created, 10_000);
      return res;
    },
  };
}

/** What the request handlers need to know of the cluster. */
function clusterView(replication: ReplicaManager): ClusterView {
  return {
    brokerId: replication.config.brokerId,
    brokers: replication.config.cluster.brokers.map((b) => ({ nodeId: b.id, host: b.host, port: b.port })),
    replicasOf: (topic, partition) => replication.replicasOf(topic, partition),
  };
}
