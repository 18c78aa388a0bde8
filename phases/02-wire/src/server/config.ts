/**
 * The broker's configuration: where it listens, where the log lives, and a named limit for
 * every resource a client can make it spend (TIGER_STYLE: put a limit on everything).
 * Each limit has a Kafka counterpart, named beside it; defaults follow Kafka's where that
 * makes sense for one process on a laptop. `resolveBrokerConfig` fills defaults and
 * rejects nonsense (a zero frame size, a negative timeout) before anything starts.
 */
import type { LogConfig } from '../log/log.ts';
import { checkIntegerSetting, InvalidConfigError } from '../log/errors.ts';

/** Everything `Broker.start` needs to know. */
export interface BrokerConfig {
  /** Interface to listen on; loopback unless told otherwise (course/architecture.md §5). */
  host: string;
  /** TCP port; 0 picks a free one (read it back from `Broker.port`). */
  port: number;
  /** Directory of the log. */
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
  /** Passed to `Log.open` (segment size, index interval, retention, batchBytesMax). */
  log?: Partial<LogConfig>;
}

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
  return config;
}

function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
