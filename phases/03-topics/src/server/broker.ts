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
 */
import type { Clock } from '../seams/clock.ts';
import { PartitionManager, type TopicMetadata } from '../topics/partitions.ts';
import type { Storage } from '../seams/storage.ts';
import type { Listener, ServerLink, ServerLinkHandlers, Transport } from '../seams/transport.ts';
import { REQUEST_HEADER_BYTES_MIN } from '../protocol/header.ts';
import type { TopicSpec } from '../topics/registry.ts';
import { type BrokerConfig, resolveBrokerConfig } from './config.ts';
import { BrokerConnection } from './connection.ts';
import { RequestHandler } from './handlers.ts';

/**
 * The broker's surroundings: the seams it reaches the world through, and where log
 * lines go. Every seam is required: the CLI (or any user of `index.ts`, through `realSeams()`) passes the
 * real ones, a test or the simulator its own, and forgetting one is a type error rather
 * than a silent fall-back to real time, disk or sockets.
 */
export interface BrokerDeps {
  storage: Storage;
  clock: Clock;
  /** Accepts client connections (`listen`). */
  transport: Transport;
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
  readonly #handler: RequestHandler;
  readonly #clock: Clock;
  readonly #logger: (line: string) => void;
  readonly #connections = new Set<BrokerConnection>();
  #nextConnectionId = 1;
  #closing: Promise<void> | null = null;
  #onAllClosed: (() => void) | null = null;

  private constructor(config: BrokerConfig, listener: Listener, partitions: PartitionManager, clock: Clock, logger: (line: string) => void) {
    this.host = config.host;
    this.port = listener.port;
    this.#config = config;
    this.#listener = listener;
    this.#partitions = partitions;
    this.#clock = clock;
    this.#logger = logger;
    this.#handler = new RequestHandler(partitions, clock, {
      fetchWaitMsMax: config.fetchWaitMsMax,
      fetchBytesMax: config.fetchBytesMax,
      advertisedHost: config.host,
      advertisedPort: listener.port,
      logger,
      autoCreateTopics: config.autoCreateTopics,
      defaultPartitions: config.defaultPartitions,
    });
  }

  /**
   * Load the topic registry in `config.dir` and open (recovering) every partition's log,
   * then listen. Resolves once connections are accepted. Rejects on a bad config, a corrupt
   * registry, a log that fails to open, or a port in use.
   */
  static async start(config: Partial<BrokerConfig>, deps: BrokerDeps): Promise<Broker> {
    const resolved = resolveBrokerConfig(config);
    const logger = deps.logger ?? ((line: string) => process.stderr.write(`broker: ${line}\n`));
    const partitions = await PartitionManager.open(deps.storage, resolved.dir, {
      log: resolved.log ?? {},
      limits: resolved.topicLimits ?? {},
    });
    // Links accepted before the broker exists (none over TCP, where the listen callback
    // runs first) are refused rather than queued.
    let broker: Broker | null = null;
    const accept = (link: ServerLink): ServerLinkHandlers => (broker === null ? refuse(link) : broker.#accept(link));
    let listener: Listener;
    try {
      const options = { frameBytesMax: resolved.frameBytesMax, frameBytesMin: REQUEST_HEADER_BYTES_MIN, backlog: Math.max(511, resolved.maxConnections) };
      listener = await deps.transport.listen(resolved.host, resolved.port, options, accept);
    } catch (err) {
      await partitions.close();
      throw err;
    }
    broker = new Broker(resolved, listener, partitions, deps.clock, logger);
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
    };
    const connection = new BrokerConnection(this.#nextConnectionId++, link, this.#handler, this.#clock, limits, this.#logger, (c) => {
      this.#connections.delete(c);
      if (this.#connections.size === 0) this.#onAllClosed?.();
    });
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
    await this.#partitions.close();
  }
}

/** Close a link we will not serve; its events are ignored. */
function refuse(link: ServerLink): ServerLinkHandlers {
  link.abort();
  return { frame: () => {}, ended: () => {}, drained: () => {}, closed: () => {} };
}
