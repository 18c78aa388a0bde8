/**
 * One client connection on the broker: bytes in, frames out of the `FrameDecoder`,
 * requests to the `RequestHandler`, responses back in request order.
 *
 * Backpressure, per connection:
 * - at most `maxInFlight` requests are dispatched and unanswered. At the bound the socket
 *   is paused: the kernel's receive buffer fills, TCP's window closes, and the client's
 *   writes block, instead of the broker queueing unbounded work in memory. Below the bound
 *   reading resumes. A client that does not read its responses gets the same treatment
 *   (the socket's write buffer counts as "not answered yet").
 * - frames over `frameBytesMax` close the connection (the stream cannot be resynchronised).
 * - no bytes and nothing in flight for `idleTimeoutMs` closes the connection.
 *
 * Pipelining: requests are dispatched in arrival order, but finish in any order (a long
 * poll waits while a ListOffsets is instant). Each gets a slot in a FIFO; a finished
 * response waits in its slot until every earlier one has been written. Kafka gives the
 * same guarantee: responses on a connection come back in request order.
 *
 * Closing: `abort` (protocol violation, idle, shutdown deadline) destroys the socket at
 * once with a logged reason; `drain` (graceful shutdown) stops taking new requests, writes
 * the answers to those in flight, then ends the socket. A client that half-closes (ends
 * its side after its last request) still gets an answer to every whole request it sent.
 */
import type { Socket } from 'node:net';
import type { Clock, TimerHandle } from '../seams/clock.ts';
import { ByteReader } from '../protocol/bytes.ts';
import { FrameDecoder } from '../protocol/frame-decoder.ts';
import { REQUEST_HEADER_BYTES_MIN, decodeRequestHeader, encodeResponseFrame } from '../protocol/header.ts';
import type { RequestHandler, ResponseBody } from './handlers.ts';

/** Limits applied to one connection (from `BrokerConfig`). */
export interface ConnectionLimits {
  maxInFlight: number;
  frameBytesMax: number;
  idleTimeoutMs: number;
}

interface Slot {
  readonly correlationId: number;
  response: Buffer[] | null;
}

type State = 'open' | 'draining' | 'closed';

/**
 * The broker's side of one TCP connection.
 * @example
 * server.on('connection', (socket) => new BrokerConnection(1, socket, handler, clock, limits, log, onClose));
 */
export class BrokerConnection {
  /** Broker-local id, used in log lines. */
  readonly id: number;
  readonly #socket: Socket;
  readonly #handler: RequestHandler;
  readonly #clock: Clock;
  readonly #limits: ConnectionLimits;
  readonly #logger: (line: string) => void;
  readonly #onClose: (c: BrokerConnection) => void;
  readonly #decoder: FrameDecoder;
  readonly #slots: Slot[] = [];
  readonly #peer: string;
  #state: State = 'open';
  /** The client ended its side: no more bytes will come. */
  #peerEnded = false;
  #paused = false;
  #lastActivityMs: number;
  #idleTimer: TimerHandle | null = null;

  constructor(
    id: number,
    socket: Socket,
    handler: RequestHandler,
    clock: Clock,
    limits: ConnectionLimits,
    logger: (line: string) => void,
    onClose: (c: BrokerConnection) => void,
  ) {
    this.id = id;
    this.#socket = socket;
    this.#handler = handler;
    this.#clock = clock;
    this.#limits = limits;
    this.#logger = logger;
    this.#onClose = onClose;
    this.#peer = `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}`;
    this.#decoder = new FrameDecoder(limits.frameBytesMax, REQUEST_HEADER_BYTES_MIN);
    this.#lastActivityMs = clock.now();
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    socket.on('drain', () => this.#pump());
    socket.on('end', () => {
      this.#peerEnded = true;
      this.#pump();
    });
    socket.on('error', (err) => this.abort(`socket error: ${err.message}`));
    socket.on('close', () => this.#onClosed());
    this.#armIdleTimer(limits.idleTimeoutMs);
  }

  /** Requests dispatched and not yet written back. */
  get inFlight(): number {
    return this.#slots.length;
  }

  /** Stop taking requests; answer those in flight, then end the socket. */
  drain(): void {
    if (this.#state !== 'open') return;
    this.#state = 'draining';
    this.#decoder.clear();
    this.#setReading(true); // keep reading (and discarding) so closing does not send a reset
    this.#flush();
  }

  /** Close now, with the reason in the broker's log. In-flight requests go unanswered. */
  abort(reason: string): void {
    if (this.#state === 'closed') return;
    this.#logger(`connection ${this.id} from ${this.#peer} closed: ${reason}`);
    this.#state = 'closed';
    this.#decoder.clear();
    this.#socket.destroy();
  }

  #onData(chunk: Buffer): void {
    this.#lastActivityMs = this.#clock.now();
    if (this.#state !== 'open') return;
    this.#decoder.push(chunk);
    this.#pump();
  }

  /** Dispatch buffered frames while under the in-flight bound, then pause or resume reading. */
  #pump(): void {
    while (this.#state === 'open' && this.#slots.length < this.#limits.maxInFlight) {
      let frame: Buffer | null;
      try {
        frame = this.#decoder.next();
      } catch (err) {
        this.abort(err instanceof Error ? err.message : String(err));
        return;
      }
      if (frame === null) break;
      this.#dispatch(frame);
    }
    if (this.#state !== 'open') return;
    if (this.#peerEnded && this.#slots.length === 0) {
      // Every whole request is answered (the loop stopped for lack of a frame): done.
      this.#state = 'draining';
      this.#socket.end();
      return;
    }
    this.#setReading(this.#slots.length < this.#limits.maxInFlight && !this.#socket.writableNeedDrain);
  }

  #dispatch(frame: Buffer): void {
    const reader = new ByteReader(frame);
    let header;
    try {
      header = decodeRequestHeader(reader);
    } catch (err) {
      // Without a header there is no correlation id to answer to: close, say why.
      this.abort(`undecodable request header: ${err instanceof Error ? err.message : String(err)}`);
      return;
    }
    const slot: Slot = { correlationId: header.correlationId, response: null };
    this.#slots.push(slot);
    let body: ResponseBody;
    try {
      body = this.#handler.handle(header, reader);
    } catch (err) {
      this.abort(`request handler failed: ${err instanceof Error ? err.message : String(err)}`);
      return;
    }
    if (Array.isArray(body)) {
      slot.response = encodeResponseFrame(slot.correlationId, body);
      this.#flush();
      return;
    }
    body.then(
      (b) => {
        slot.response = encodeResponseFrame(slot.correlationId, b);
        this.#flush();
        this.#pump();
      },
      (err: unknown) => this.abort(`request handler failed: ${err instanceof Error ? err.message : String(err)}`),
    );
  }

  /** Write every finished response at the head of the FIFO (in request order). */
  #flush(): void {
    if (this.#state === 'closed') return;
    let wrote = false;
    for (let head = this.#slots[0]; head?.response; head = this.#slots[0]) {
      if (!wrote) this.#socket.cork();
      wrote = true;
      for (const chunk of head.response) this.#socket.write(chunk);
      this.#slots.shift();
    }
    if (wrote) {
      this.#socket.uncork();
      this.#lastActivityMs = this.#clock.now();
    }
    if (this.#state === 'draining' && this.#slots.length === 0) this.#socket.end();
  }

  #setReading(reading: boolean): void {
    if (reading && this.#paused) {
      this.#paused = false;
      this.#socket.resume();
    } else if (!reading && !this.#paused) {
      this.#paused = true;
      this.#socket.pause();
    }
  }

  /** One timer per connection, re-armed when it fires, instead of a reset on every read. */
  #armIdleTimer(ms: number): void {
    this.#idleTimer = this.#clock.setTimeout(() => this.#checkIdle(), ms);
  }

  #checkIdle(): void {
    this.#idleTimer = null;
    if (this.#state === 'closed') return;
    const idleTimeoutMs = this.#limits.idleTimeoutMs;
    if (this.#slots.length > 0) {
      this.#armIdleTimer(idleTimeoutMs); // a long poll in flight is not idleness
      return;
    }
    const idleMs = this.#clock.now() - this.#lastActivityMs;
    if (idleMs >= idleTimeoutMs) this.abort(`idle for ${idleMs} ms (idleTimeoutMs ${idleTimeoutMs})`);
    else this.#armIdleTimer(idleTimeoutMs - idleMs);
  }

  #onClosed(): void {
    this.#state = 'closed';
    if (this.#idleTimer !== null) this.#clock.clearTimeout(this.#idleTimer);
    this.#idleTimer = null;
    this.#onClose(this);
  }
}
