/**
 * A client's view of the cluster (phase 5): the connections it holds, one per broker it
 * needs, and the metadata that says which broker leads each partition. Producer,
 * Consumer, Admin and GroupConsumer each own one pool.
 *
 * - `connect()` bootstraps: it tries the bootstrap addresses in order and keeps the
 *   first connection that completes ApiVersions. Metadata requests go to whichever
 *   connection is alive (`anyConnection`), since every broker can answer them.
 * - Requests for a partition go to its leader, on the pool's one connection to that
 *   broker (`connectionTo`), opened on first use at the address the cluster advertises.
 *   The bootstrap connection is reused as that broker's connection when its address is
 *   the advertised one (or when the cluster has a single broker), so a client holds at
 *   most one connection per broker of the cluster. (If it bootstrapped through another
 *   name for a broker, `localhost` for `127.0.0.1`, it cannot tell which broker that is,
 *   and keeps the bootstrap connection for metadata only: one more.) A group member
 *   adds its own connection to the coordinator (group-member.ts).
 * - `leaderRequest` sends one request to a partition's leader and, if it fails with an
 *   error `retryAdvice` (errors.ts) calls retriable (NOT_LEADER_OR_FOLLOWER, a lost
 *   connection, …), refreshes the metadata, waits `retryBackoffMs`, and sends it again,
 *   at most `retries` times, then fails with the last error. In phase 5 leaders are
 *   fixed (the first replica of the cluster file), so a retry finds the same leader: it
 *   helps across a restart or a stale cache, and a dead leader fails after the budget.
 *   Phase 6 elects a new leader, and the same loop then finds it.
 */
import type { Clock } from '../seams/clock.ts';
import { UnknownTopicOrPartitionError } from '../topics/errors.ts';
import { type ClientOptions, Connection, RETRY_DEFAULTS, type ServerAddress, bootstrapAddresses } from './connection.ts';
import { BrokerError, ClientLimitError, ConnectionClosedError, NotLeaderOrFollowerBrokerError, retryAdvice } from './errors.ts';
import { ErrorCode } from '../protocol/errors.ts';
import { MetadataCache, type MetadataCacheOptions } from './metadata.ts';

/** What a {@link BrokerPool} is built from. */
export interface BrokerPoolOptions {
  /** The client's options: where to bootstrap, seams, id, timeouts, retry budget. */
  readonly client: ClientOptions;
  /** The client id when `client.clientId` is not set: `producer`, `consumer`, … */
  readonly kind: string;
  /** Limits of each connection. */
  readonly limits?: { maxInFlight?: number; frameBytesMax?: number };
  /** Settings of the metadata cache (its retry budget is the client's). */
  readonly metadata?: Omit<MetadataCacheOptions, 'retries' | 'retryBackoffMs'>;
}

const messageOf = (err: unknown): string => (err instanceof Error ? err.message : String(err)).split('\n')[0] ?? '';
const sameAddress = (a: ServerAddress, b: ServerAddress): boolean => a.host === b.host && a.port === b.port;

/**
 * The connections and metadata of one client.
 * @example
 * const pool = new BrokerPool({ client: { bootstrapServers: [{ host: '127.0.0.1', port: 19092 }], ...realSeams() }, kind: 'consumer' });
 * await pool.connect();
 * const offset = await pool.leaderRequest('t', 0, async (conn) => (await conn.request(ListOffsets, { topic: 't', partition: 0, timestamp: -1 })).offset);
 * await pool.close();
 */
export class BrokerPool {
  /** Topic metadata and broker addresses, fetched through {@link anyConnection}. */
  readonly metadata: MetadataCache;
  /** Retries of one request (ClientOptions.retries). */
  readonly retries: number;
  /** Pause before each retry (ClientOptions.retryBackoffMs). */
  readonly retryBackoffMs: number;
  readonly #opts: BrokerPoolOptions;
  readonly #clock: Clock;
  readonly #bootstrapAddresses: ServerAddress[];
  #bootstrap: { conn: Connection; address: ServerAddress } | null = null;
  /** Whether the bootstrap connection serves as some broker's connection already. */
  #bootstrapAdopted = false;
  /** `connect()` succeeded once (later connections are opened on demand). */
  #connectedOnce = false;
  readonly #byNode = new Map<number, Connection>();
  readonly #connecting = new Map<number, Promise<Connection>>();
  #closed = false;

  constructor(opts: BrokerPoolOptions) {
    this.#opts = opts;
    this.#clock = opts.client.clock;
    this.#bootstrapAddresses = bootstrapAddresses(opts.client);
    this.retries = opts.client.retries ?? RETRY_DEFAULTS.retries;
    this.retryBackoffMs = opts.client.retryBackoffMs ?? RETRY_DEFAULTS.retryBackoffMs;
    for (const [name, v] of [['retries', this.retries], ['retryBackoffMs', this.retryBackoffMs]] as const) {
      if (!Number.isSafeInteger(v) || v < 0) throw new RangeError(`${opts.kind}: ${name} must be an integer >= 0, got ${v}`);
    }
    this.metadata = new MetadataCache(() => this.anyConnection(), this.#clock, { ...opts.metadata, retries: this.retries, retryBackoffMs: this.retryBackoffMs });
  }

  /**
   * Connect to the first bootstrap address that answers (each is tried once, in order).
   * Rejects with the connect error when there is one address, else with a
   * ConnectionClosedError naming each address and why it failed.
   */
  async connect(): Promise<void> {
    if (this.#bootstrap !== null) return;
    this.#closed = false;
    const failures: string[] = [];
    let last: unknown = null;
    for (const address of this.#bootstrapAddresses) {
      try {
        this.#bootstrap = { conn: await this.#open(address), address };
        this.#connectedOnce = true;
        return;
      } catch (err) {
        if (err instanceof BrokerError) throw err; // it answered, and refused us: another would too
        last = err;
        failures.push(`${address.host}:${address.port} (${messageOf(err)})`);
      }
    }
    if (this.#bootstrapAddresses.length === 1) throw last;
    throw new ConnectionClosedError(`no bootstrap server answered: ${failures.join(', ')}`, { cause: last });
  }

  /** Whether `connect()` succeeded and `close()` has not been called. */
  get connected(): boolean {
    return this.#connectedOnce && !this.#closed;
  }

  /** Open connections the pool holds (at most one per broker, see the file comment). */
  get connectionCount(): number {
    return this.#liveConnections().length;
  }

  /** The open connection to broker `nodeId`, if the pool has one (no request, no connect). */
  openConnection(nodeId: number): Connection | undefined {
    const conn = this.#byNode.get(nodeId);
    if (conn !== undefined && !conn.isClosed) return conn;
    if (conn !== undefined) this.#byNode.delete(nodeId);
    const adopted = this.#adoptBootstrap(nodeId);
    return adopted ?? undefined;
  }

  /**
   * The connection to broker `nodeId`, opened at its advertised address if the pool has
   * none. Rejects with ConnectionClosedError if the broker cannot be reached (or is not
   * in the metadata), which `retryAdvice` calls retriable.
   */
  connectionTo(nodeId: number): Promise<Connection> {
    try {
      this.#checkOpen();
    } catch (err) {
      return Promise.reject(err);
    }
    const open = this.openConnection(nodeId);
    if (open !== undefined) return Promise.resolve(open);
    const pending = this.#connecting.get(nodeId);
    if (pending !== undefined) return pending;
    const address = this.metadata.broker(nodeId);
    if (address === undefined) {
      return Promise.reject(new ConnectionClosedError(`broker ${nodeId} is not among the brokers the cluster advertises`));
    }
    const connecting = this.#open(address).then(
      (conn) => {
        this.#connecting.delete(nodeId);
        if (this.#closed) {
          void conn.close();
          throw new ClientLimitError(`${this.#opts.kind} closed while connecting to broker ${nodeId}`);
        }
        this.#byNode.set(nodeId, conn);
        return conn;
      },
      (err: unknown) => {
        this.#connecting.delete(nodeId);
        if (err instanceof BrokerError) throw err;
        throw new ConnectionClosedError(`cannot connect to broker ${nodeId} at ${address.host}:${address.port}: ${messageOf(err)}`, { cause: err });
      },
    );
    this.#connecting.set(nodeId, connecting);
    return connecting;
  }

  /**
   * A live connection to any broker, for requests every broker can answer (Metadata,
   * FindCoordinator): the bootstrap connection while it is open, else any open one,
   * else a new one to a known broker or a bootstrap address. Rejects with
   * ConnectionClosedError when none can be reached.
   */
  async anyConnection(): Promise<Connection> {
    this.#checkOpen();
    if (this.#bootstrap !== null && !this.#bootstrap.conn.isClosed) return this.#bootstrap.conn;
    const open = this.#liveConnections()[0];
    if (open !== undefined) return open;
    const failures: string[] = [];
    for (const b of this.metadata.brokers) {
      try {
        return await this.connectionTo(b.nodeId);
      } catch (err) {
        if (err instanceof ClientLimitError) throw err;
        failures.push(messageOf(err));
      }
    }
    for (const address of this.#bootstrapAddresses) {
      try {
        const conn = await this.#open(address);
        this.#bootstrap = { conn, address };
        this.#bootstrapAdopted = false;
        return conn;
      } catch (err) {
        failures.push(`${address.host}:${address.port}: ${messageOf(err)}`);
      }
    }
    throw new ConnectionClosedError(`no broker reachable: ${failures.join('; ')}`);
  }

  /**
   * The leader of a partition, from the cached metadata or one Metadata request. Rejects
   * with the topic's error (unknown, invalid), UnknownTopicOrPartitionError for a
   * partition the topic does not have, NotLeaderOrFollowerBrokerError if it has no leader.
   */
  async leaderId(topic: string, partition: number): Promise<number> {
    let leader = this.metadata.leaderOf(topic, partition);
    if (leader === undefined) {
      const info = await this.metadata.topic(topic);
      if (!Number.isSafeInteger(partition) || partition < 0 || partition >= info.partitions) throw new UnknownTopicOrPartitionError(topic, partition);
      leader = this.metadata.leaderOf(topic, partition, { evenIfOld: true }) ?? -1;
    }
    if (leader < 0) throw new NotLeaderOrFollowerBrokerError(ErrorCode.NOT_LEADER_OR_FOLLOWER, `${topic}-${partition} has no leader`, true);
    return leader;
  }

  /**
   * Run `attempt` on the connection to the partition's leader; while it fails with a
   * retriable error (errors.ts `retryAdvice`), refresh the topic's metadata if advised,
   * wait `retryBackoffMs` and try again, at most `retries` more times. Errors of the
   * metadata lookup itself (an unknown topic) are not retried. Reads (ListOffsets,
   * Fetch) are safe to repeat; a Produce sent this way could be written twice (the
   * producer has its own loop, producer.ts).
   */
  async leaderRequest<T>(topic: string, partition: number, attempt: (conn: Connection, nodeId: number) => Promise<T>): Promise<T> {
    for (let n = 0; ; n++) {
      const nodeId = await this.leaderId(topic, partition);
      try {
        return await attempt(await this.connectionTo(nodeId), nodeId);
      } catch (err) {
        const advice = retryAdvice(err);
        if (!advice.retriable || n >= this.retries || this.#closed) throw err;
        if (advice.refreshMetadata) this.metadata.invalidate(topic);
        await this.backoff();
      }
    }
  }

  /**
   * Phase 6: the leader epoch the cached metadata gives a partition (-1 if unknown), sent
   * with each request to its leader: a broker in another epoch says so (FENCED_LEADER_EPOCH
   * or UNKNOWN_LEADER_EPOCH) instead of serving it, and the client refreshes its metadata.
   */
  leaderEpochOf(topic: string, partition: number): number {
    return this.metadata.partitionsOf(topic, { evenIfOld: true })?.find((p) => p.partition === partition)?.leaderEpoch ?? -1;
  }

  /** Wait `retryBackoffMs` on the Clock. */
  backoff(): Promise<void> {
    return new Promise((resolve) => this.#clock.setTimeout(resolve, this.retryBackoffMs));
  }

  /**
   * Close every connection: gracefully (the broker answers what is in flight), or, with
   * `abortBusy`, by dropping those that still have requests pending (answers nobody
   * waits for any more, from a broker that may never send them).
   */
  async close(opts: { abortBusy?: boolean } = {}): Promise<void> {
    this.#closed = true;
    const all = new Set<Connection>(this.#byNode.values());
    if (this.#bootstrap !== null) all.add(this.#bootstrap.conn);
    this.#byNode.clear();
    this.#bootstrap = null;
    this.#bootstrapAdopted = false;
    await Promise.all([...all].map((c) => (opts.abortBusy === true && c.inFlight > 0 ? c.abort() : c.close())));
  }

  #checkOpen(): void {
    if (!this.#connectedOnce || this.#closed) throw new ClientLimitError(`${this.#opts.kind} used before connect() (or after disconnect())`);
  }

  /**
   * The bootstrap connection, as broker `nodeId`'s, if it is that broker: the address
   * it was opened at is the one the broker advertises, or the cluster has one broker.
   */
  #adoptBootstrap(nodeId: number): Connection | null {
    const b = this.#bootstrap;
    if (b === null || b.conn.isClosed || this.#bootstrapAdopted) return null;
    const advertised = this.metadata.broker(nodeId);
    if (advertised === undefined) return null;
    if (!sameAddress(b.address, advertised) && this.metadata.brokers.length !== 1) return null;
    this.#bootstrapAdopted = true;
    this.#byNode.set(nodeId, b.conn);
    return b.conn;
  }

  #liveConnections(): Connection[] {
    const all = new Set<Connection>();
    if (this.#bootstrap !== null && !this.#bootstrap.conn.isClosed) all.add(this.#bootstrap.conn);
    for (const c of this.#byNode.values()) if (!c.isClosed) all.add(c);
    return [...all];
  }

  #open(address: ServerAddress): Promise<Connection> {
    return Connection.connectClient(this.#opts.client, this.#opts.kind, this.#opts.limits ?? {}, address);
  }
}
