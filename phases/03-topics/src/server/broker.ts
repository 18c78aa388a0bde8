/**
 * The broker process's core: opens its topics (the registry and every partition's log),
 * listens on TCP, accepts connections up to `maxConnections`, and shuts down gracefully.
 * Data flows socket → `BrokerConnection` (framing, ordering, backpressure) →
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
import { type AddressInfo, type Server, type Socket, createServer } from 'node:net';
import { type Clock, realClock } from '../seams/clock.ts';
import { PartitionManager, type TopicMetadata } from '../topics/partitions.ts';
import { FsStorage, type Storage } from '../seams/storage.ts';
import type { TopicSpec } from '../topics/registry.ts';
import { type BrokerConfig, resolveBrokerConfig } from './config.ts';
import { BrokerConnection } from './connection.ts';
import { RequestHandler } from './handlers.ts';

/** The broker's replaceable surroundings: the Storage and Clock seams, and where log lines go. */
export interface BrokerDeps {
  storage?: Storage;
  clock?: Clock;
  /** One line per event worth telling an operator (refused connection, closed with a reason). Default: stderr. */
  logger?: (line: string) => void;
}

/**
 * A running broker serving topics over TCP.
 * @example
 * const broker = await Broker.start({ dir: '/tmp/data', port: 0 });
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
  readonly #server: Server;
  readonly #partitions: PartitionManager;
  readonly #handler: RequestHandler;
  readonly #clock: Clock;
  readonly #logger: (line: string) => void;
  readonly #connections = new Set<BrokerConnection>();
  #nextConnectionId = 1;
  #closing: Promise<void> | null = null;
  #onAllClosed: (() => void) | null = null;

  private constructor(config: BrokerConfig, server: Server, partitions: PartitionManager, clock: Clock, logger: (line: string) => void) {
    const address = server.address() as AddressInfo;
    this.host = config.host;
    this.port = address.port;
    this.#config = config;
    this.#server = server;
    this.#partitions = partitions;
    this.#clock = clock;
    this.#logger = logger;
    this.#handler = new RequestHandler(partitions, clock, {
      fetchWaitMsMax: config.fetchWaitMsMax,
      fetchBytesMax: config.fetchBytesMax,
      advertisedHost: config.host,
      advertisedPort: address.port,
      logger,
      autoCreateTopics: config.autoCreateTopics,
      defaultPartitions: config.defaultPartitions,
    });
    server.on('connection', (socket: Socket) => this.#accept(socket));
    server.on('error', (err) => logger(`listener error: ${err.message}`));
  }

  /**
   * Load the topic registry in `config.dir` and open (recovering) every partition's log,
   * then listen. Resolves once connections are accepted. Rejects on a bad config, a corrupt
   * registry, a log that fails to open, or a port in use.
   */
  static async start(config: Partial<BrokerConfig>, deps: BrokerDeps = {}): Promise<Broker> {
    const resolved = resolveBrokerConfig(config);
    const logger = deps.logger ?? ((line: string) => process.stderr.write(`broker: ${line}\n`));
    const partitions = await PartitionManager.open(deps.storage ?? new FsStorage(), resolved.dir, {
      log: resolved.log ?? {},
      limits: resolved.topicLimits ?? {},
    });
    const server = createServer({ allowHalfOpen: true, pauseOnConnect: false });
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen({ host: resolved.host, port: resolved.port, backlog: Math.max(511, resolved.maxConnections) }, () => {
          server.off('error', reject);
          resolve();
        });
      });
    } catch (err) {
      await partitions.close();
      throw err;
    }
    return new Broker(resolved, server, partitions, deps.clock ?? realClock, logger);
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

  #accept(socket: Socket): void {
    if (this.#closing !== null) {
      socket.destroy();
      return;
    }
    const max = this.#config.maxConnections;
    if (this.#connections.size >= max) {
      this.#logger(`refused connection from ${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}: ${this.#connections.size} connections open (maxConnections ${max})`);
      socket.destroy();
      return;
    }
    const limits = {
      maxInFlight: this.#config.maxInFlightPerConnection,
      frameBytesMax: this.#config.frameBytesMax,
      idleTimeoutMs: this.#config.idleTimeoutMs,
    };
    const connection = new BrokerConnection(this.#nextConnectionId++, socket, this.#handler, this.#clock, limits, this.#logger, (c) => {
      this.#connections.delete(c);
      if (this.#connections.size === 0) this.#onAllClosed?.();
    });
    this.#connections.add(connection);
  }

  async #shutdown(): Promise<void> {
    const listenerClosed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
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
