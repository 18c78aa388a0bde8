/**
 * The client's end of one broker connection: encodes requests with fresh correlation ids,
 * sends them without waiting for earlier answers (pipelining), and pairs each response
 * with its request. The broker answers in request order, so pending requests form a FIFO;
 * the correlation id is the check that both sides still agree which answer is which (a
 * mismatch means the stream is out of step and the connection is closed, as Kafka's
 * `NetworkClient` does).
 *
 * On connect the client sends ApiVersions and remembers the broker's answer; a request for
 * an API the broker does not list fails locally with `UnsupportedVersionBrokerError`.
 *
 * Limits: at most `maxInFlight` unanswered requests (a request beyond fails with
 * `ClientLimitError`; Producer and Consumer stay below it), responses up to
 * `frameBytesMax`, and `requestTimeoutMs` for an answer. A timeout closes the connection,
 * since the answer may still come and every later one would be paired wrongly.
 */
import type { Clock, TimerHandle } from '../seams/clock.ts';
import type { ApiCodec, ResponseBase } from '../protocol/api.ts';
import { ApiVersions, type ApiVersionRange } from '../protocol/api-versions.ts';
import { ByteReader } from '../protocol/bytes.ts';
import { ErrorCode } from '../protocol/errors.ts';
import { decodeResponseHeader, encodeRequestFrame } from '../protocol/header.ts';
import { ClientLimitError, ConnectionClosedError, RequestTimeoutError, UnsupportedVersionBrokerError, throwIfError } from './errors.ts';
import type { FrameLink, Transport } from '../seams/transport.ts';

/** Where a broker listens. */
export interface ServerAddress {
  readonly host: string;
  readonly port: number;
}

/**
 * What every client (producer, consumer, admin …) is given: where the brokers are, the
 * seams it reaches them through, and its name in the broker's logs. The seams are
 * required: `realSeams()` (seams/real.ts) gives the real ones, a test or the simulator
 * its own.
 *
 * Where: `bootstrapServers` (Kafka's `bootstrap.servers`), or `host` and `port` as the
 * shorthand for a single one. The client connects to the first of them that answers,
 * asks it for Metadata, and from then on talks to each partition's leader at the address
 * the cluster advertises (phase 5), whichever broker it bootstrapped from.
 */
export interface ClientOptions {
  /** Default 127.0.0.1. Ignored when `bootstrapServers` is given. */
  host?: string;
  /** The one broker to bootstrap from; required unless `bootstrapServers` is given. */
  port?: number;
  /** Brokers to bootstrap from, tried in order (phase 5); any one of a cluster will do. */
  bootstrapServers?: readonly ServerAddress[];
  /** Sent in every request header; shows up in broker logs. Default: the client's kind (`producer`, …). */
  clientId?: string;
  /** Time allowed for each answer (plus the long-poll wait for fetches). Default 30 s. */
  requestTimeoutMs?: number;
  /**
   * How many times a request that failed for a reason a retry can fix (this broker does
   * not lead the partition, the connection was lost, …) is sent again, after refreshing
   * metadata (phase 5). Default 5. Kafka's producer default is effectively unbounded
   * (2^31 - 1, bounded by `delivery.timeout.ms`); a small count keeps a dead leader's
   * failure quick and visible in this course.
   */
  retries?: number;
  /** Pause before each retry (Kafka `retry.backoff.ms`). Default 100. */
  retryBackoffMs?: number;
  /** The Clock seam: request timeouts, linger, polling. */
  clock: Clock;
  /** The Transport seam: how frames reach the broker. */
  transport: Transport;
}

/** Defaults of the retry settings every client shares. */
export const RETRY_DEFAULTS = Object.freeze({ retries: 5, retryBackoffMs: 100 });

/**
 * The addresses a client bootstraps from: `bootstrapServers`, or the `host`/`port` shorthand.
 * @throws RangeError if neither is given, or `bootstrapServers` is empty
 * @example bootstrapAddresses({ port: 9092, ...realSeams() }) // [{ host: '127.0.0.1', port: 9092 }]
 */
export function bootstrapAddresses(opts: Pick<ClientOptions, 'host' | 'port' | 'bootstrapServers'>): ServerAddress[] {
  if (opts.bootstrapServers !== undefined) {
    if (opts.bootstrapServers.length === 0) throw new RangeError('bootstrapServers must name at least one broker');
    return opts.bootstrapServers.map((a) => ({ host: a.host, port: a.port }));
  }
  if (opts.port === undefined) throw new RangeError('a client needs port (and host) or bootstrapServers');
  return [{ host: opts.host ?? '127.0.0.1', port: opts.port }];
}

/** How to reach one broker and the client-side limits of one connection. */
export interface ConnectionOptions extends Omit<ClientOptions, 'clientId' | 'port' | 'bootstrapServers' | 'retries' | 'retryBackoffMs'> {
  port: number;
  /** Sent in every request header; null sends none. */
  clientId?: string | null;
  /** Largest accepted response frame. Default 64 MiB. */
  frameBytesMax?: number;
  /** Unanswered requests at most. Default 1024. */
  maxInFlight?: number;
}

interface Pending {
  readonly correlationId: number;
  readonly deadlineMs: number;
  decode(r: ByteReader): void;
  fail(err: Error): void;
}

/**
 * A pipelining protocol connection.
 * @example
 * const conn = await Connection.connect({ port: 9092, ...realSeams() });
 * const res = await conn.request(ListOffsets, { timestamp: LATEST_TIMESTAMP });
 * await conn.close();
 */
export class Connection {
  readonly #clock: Clock;
  readonly #clientId: string | null;
  readonly #requestTimeoutMs: number;
  readonly #maxInFlight: number;
  readonly #pending: Pending[] = [];
  #link: FrameLink | null = null;
  #versions = new Map<number, ApiVersionRange>();
  #nextCorrelationId = 0;
  #timer: TimerHandle | null = null;
  #closedError: Error | null = null;
  #closed: Promise<void>;
  #markClosed: () => void = () => {};

  private constructor(opts: ConnectionOptions) {
    this.#clock = opts.clock;
    this.#clientId = opts.clientId ?? null;
    this.#requestTimeoutMs = opts.requestTimeoutMs ?? 30_000;
    this.#maxInFlight = opts.maxInFlight ?? 1024;
    this.#closed = new Promise((resolve) => (this.#markClosed = resolve));
  }

  /** Connect and exchange ApiVersions. Rejects if the broker is unreachable or lacks an API we need. */
  static async connect(opts: ConnectionOptions): Promise<Connection> {
    const conn = new Connection(opts);
    const host = opts.host ?? '127.0.0.1';
    conn.#link = await opts.transport.connect(
      host,
      opts.port,
      { frame: (f) => conn.#onFrame(f), closed: (e) => conn.#onClosed(e) },
      { frameBytesMax: opts.frameBytesMax ?? 64 * 1024 * 1024 },
    );
    try {
      const res = await conn.#send(ApiVersions, {}, 0);
      throwIfError(res);
      conn.#versions = new Map(res.apis.map((a) => [a.apiKey, a]));
    } catch (err) {
      await conn.close();
      throw err;
    }
    return conn;
  }

  /**
   * Connect on behalf of a client to `address`: its seams, id (default `defaultClientId`)
   * and request timeout, plus this connection's own limits. The one place clients build a
   * connection from their options (client/brokers.ts picks the address).
   */
  static async connectClient(
    opts: ClientOptions,
    defaultClientId: string,
    limits: { maxInFlight?: number; frameBytesMax?: number },
    address: ServerAddress,
  ): Promise<Connection> {
    return await Connection.connect({
      host: address.host,
      port: address.port,
      clientId: opts.clientId ?? defaultClientId,
      clock: opts.clock,
      transport: opts.transport,
      requestTimeoutMs: opts.requestTimeoutMs,
      ...limits,
    });
  }

  /** The broker's ApiVersions answer. */
  get apiVersions(): readonly ApiVersionRange[] {
    return [...this.#versions.values()];
  }

  /** Requests sent and not yet answered. */
  get inFlight(): number {
    return this.#pending.length;
  }

  /** Whether the connection has closed (requests now fail with `ConnectionClosedError`). */
  get isClosed(): boolean {
    return this.#closedError !== null;
  }

  /**
   * Send a request and resolve with the decoded response (error codes are in the response;
   * see `throwIfError`). `waitMs` extends the timeout for requests the broker may hold
   * (a long-polling fetch).
   */
  request<Req, Res extends ResponseBase>(api: ApiCodec<Req, Res>, req: Req, waitMs = 0): Promise<Res> {
    const range = this.#versions.get(api.apiKey);
    if (range === undefined || range.minVersion > api.minVersion || range.maxVersion < api.minVersion) {
      // Each phase moves some APIs to a new version, so this is what a client meets when
      // the broker on its port belongs to another phase (one left running, say).
      const serves = range === undefined ? 'not at all' : `only v${range.minVersion}${range.maxVersion === range.minVersion ? '' : `-v${range.maxVersion}`}`;
      const message = `the broker does not support ${api.name} v${api.minVersion} (it serves ${serves}): is a broker of another phase running on this port?`;
      return Promise.reject(new UnsupportedVersionBrokerError(ErrorCode.UNSUPPORTED_VERSION, message));
    }
    return this.#send(api, req, waitMs);
  }

  /** Half-close: the broker answers what is in flight and closes; resolves once closed. */
  async close(): Promise<void> {
    if (this.#closedError === null) this.#link?.close();
    await this.#closed;
  }

  /**
   * Close now: pending requests fail with `ConnectionClosedError` and nothing more is
   * read. For a client giving up on answers it no longer waits for (a producer whose
   * delivery timeout passed), where `close()` would wait for a broker that may never answer.
   */
  async abort(): Promise<void> {
    this.#fail(new ConnectionClosedError('connection aborted by the client'));
    await this.#closed;
  }

  #send<Req, Res extends ResponseBase>(api: ApiCodec<Req, Res>, req: Req, waitMs: number): Promise<Res> {
    if (this.#closedError !== null) return Promise.reject(this.#closedError);
    if (this.#pending.length >= this.#maxInFlight) {
      return Promise.reject(new ClientLimitError(`${this.#pending.length} requests in flight (maxInFlight ${this.#maxInFlight})`));
    }
    const correlationId = this.#nextCorrelationId;
    this.#nextCorrelationId = correlationId === 0x7fff_ffff ? 0 : correlationId + 1;
    const frame = encodeRequestFrame({ apiKey: api.apiKey, apiVersion: api.minVersion, correlationId, clientId: this.#clientId }, api.encodeRequest(req));
    return new Promise<Res>((resolve, reject) => {
      this.#pending.push({
        correlationId,
        deadlineMs: this.#clock.now() + this.#requestTimeoutMs + waitMs,
        decode: (r) => resolve(api.decodeResponse(r)),
        fail: reject,
      });
      this.#timer ??= this.#clock.setTimeout(() => this.#checkTimeout(), this.#requestTimeoutMs + waitMs);
      this.#link?.send(frame);
    });
  }

  // #region correlation
  #onFrame(frame: Buffer): void {
    const r = new ByteReader(frame);
    const head = this.#pending.shift();
    try {
      const correlationId = decodeResponseHeader(r);
      if (head === undefined || head.correlationId !== correlationId) {
        throw new ConnectionClosedError(`response correlation id ${correlationId} does not match the oldest request (${head?.correlationId ?? 'none'})`);
      }
    } catch (err) {
      head?.fail(err instanceof Error ? err : new Error(String(err)));
      this.#fail(new ConnectionClosedError('connection out of step with the broker; closed', { cause: err }));
      return;
    }
    try {
      head.decode(r);
    } catch (err) {
      head.fail(err instanceof Error ? err : new Error(String(err)));
    }
    if (this.#pending.length === 0 && this.#timer !== null) {
      this.#clock.clearTimeout(this.#timer);
      this.#timer = null;
    }
  }
  // #endregion correlation

  /** One timer for the whole connection, armed for the oldest request's deadline. */
  #checkTimeout(): void {
    this.#timer = null;
    const head = this.#pending[0];
    if (head === undefined) return;
    const now = this.#clock.now();
    if (now >= head.deadlineMs) {
      this.#fail(new RequestTimeoutError(`no response to request ${head.correlationId} within its timeout; connection closed`));
    } else {
      this.#timer = this.#clock.setTimeout(() => this.#checkTimeout(), head.deadlineMs - now);
    }
  }

  /** Fail every pending request with `err` and drop the link. */
  #fail(err: Error): void {
    this.#closedError ??= err;
    for (const p of this.#pending.splice(0)) p.fail(err);
    this.#link?.abort();
  }

  #onClosed(error: Error | null): void {
    const err = new ConnectionClosedError(
      error === null ? 'connection closed by the broker' : `connection lost: ${error.message}`,
      error === null ? undefined : { cause: error },
    );
    this.#closedError ??= err;
    for (const p of this.#pending.splice(0)) p.fail(this.#closedError);
    if (this.#timer !== null) this.#clock.clearTimeout(this.#timer);
    this.#timer = null;
    this.#markClosed();
  }
}
