/**
 * One client connection on the broker: frames in from a `ServerLink` (the Transport
 * seam, which cuts them from the byte stream), requests to the `RequestHandler`,
 * responses back in request order.
 *
 * Backpressure, per connection:
 * - at most `maxInFlight` requests are dispatched and unanswered. At the bound the link
 *   is paused: the kernel's receive buffer fills, TCP's window closes, and the client's
 *   writes block, instead of the broker queueing unbounded work in memory. Below the bound
 *   reading resumes. A client that does not read its responses gets the same treatment
 *   (a blocked send counts as "not answered yet").
 * - frames over `frameBytesMax` close the connection (the stream cannot be resynchronised);
 *   the link enforces it and reports it in `closed`.
 * - no bytes and nothing in flight for `idleTimeoutMs` closes the connection.
 *
 * Pipelining: requests are dispatched in arrival order, but finish in any order (a long
 * poll waits while a ListOffsets is instant). Each gets a slot in a FIFO; a finished
 * response waits in its slot until every earlier one has been written. Kafka gives the
 * same guarantee: responses on a connection come back in request order.
 *
 * Closing: `abort` (protocol violation, idle, shutdown deadline) closes the link at
 * once with a logged reason; `drain` (graceful shutdown) stops taking new requests, writes
 * the answers to those in flight, then ends the link. A client that half-closes (ends
 * its side after its last request) still gets an answer to every whole request it sent.
 */
import type { Clock, TimerHandle } from '../seams/clock.ts';
import type { ServerLink, ServerLinkHandlers } from '../seams/transport.ts';
import { ByteReader } from '../protocol/bytes.ts';
import { decodeRequestHeader, encodeResponseFrame } from '../protocol/header.ts';
import type { RequestHandler, ResponseBody } from './handlers.ts';

/** Limits applied to one connection (from `BrokerConfig`). */
export interface ConnectionLimits {
  maxInFlight: number;
  idleTimeoutMs: number;
}

interface Slot {
  readonly correlationId: number;
  response: Buffer[] | null;
}

type State = 'open' | 'draining' | 'closed';

/**
 * The broker's side of one connection.
 * @example
 * transport.listen(host, port, options, (link) => new BrokerConnection(1, link, handler, clock, limits, log, onClose).handlers);
 */
export class BrokerConnection {
  /** Broker-local id, used in log lines. */
  readonly id: number;
  /** What the link delivers to: give these back from the listener's accept callback. */
  readonly handlers: ServerLinkHandlers;
  readonly #link: ServerLink;
  readonly #handler: RequestHandler;
  readonly #clock: Clock;
  readonly #limits: ConnectionLimits;
  readonly #logger: (line: string) => void;
  readonly #onClose: (c: BrokerConnection) => void;
  /** Frames delivered while the in-flight bound was reached, dispatched as slots free up. */
  readonly #waiting: Buffer[] = [];
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
    link: ServerLink,
    handler: RequestHandler,
    clock: Clock,
    limits: ConnectionLimits,
    logger: (line: string) => void,
    onClose: (c: BrokerConnection) => void,
  ) {
    this.id = id;
    this.#link = link;
    this.#handler = handler;
    this.#clock = clock;
    this.#limits = limits;
    this.#logger = logger;
    this.#onClose = onClose;
    this.#peer = link.peer;
    this.#lastActivityMs = clock.now();
    this.handlers = {
      frame: (frame) => this.#onFrame(frame),
      drained: () => this.#pump(),
      ended: () => {
        this.#peerEnded = true;
        this.#pump();
      },
      closed: (error) => {
        if (error !== null && this.#state !== 'closed') {
          const reason = error.name === 'ProtocolError' ? error.message : `socket error: ${error.message}`;
          this.#logger(`connection ${this.id} from ${this.#peer} closed: ${reason}`);
        }
        this.#onClosed();
      },
    };
    this.#armIdleTimer(limits.idleTimeoutMs);
  }

  /** Requests dispatched and not yet written back. */
  get inFlight(): number {
    return this.#slots.length;
  }

  /** Stop taking requests; answer those in flight, then end the link. */
  drain(): void {
    if (this.#state !== 'open') return;
    this.#state = 'draining';
    this.#waiting.length = 0;
    this.#setReading(true); // keep reading (and discarding) so closing does not send a reset
    this.#flush();
  }

  /** Close now, with the reason in the broker's log. In-flight requests go unanswered. */
  abort(reason: string): void {
    if (this.#state === 'closed') return;
    this.#logger(`connection ${this.id} from ${this.#peer} closed: ${reason}`);
    this.#state = 'closed';
    this.#waiting.length = 0;
    this.#link.abort();
  }

  #onFrame(frame: Buffer): void {
    this.#lastActivityMs = this.#clock.now();
    if (this.#state !== 'open') return;
    this.#waiting.push(frame);
    this.#pump();
  }

  /** Dispatch waiting frames while under the in-flight bound, then pause or resume reading. */
  #pump(): void {
    while (this.#state === 'open' && this.#slots.length < this.#limits.maxInFlight) {
      const frame = this.#waiting.shift();
      if (frame === undefined) break;
      this.#dispatch(frame);
    }
    if (this.#state !== 'open') return;
    if (this.#peerEnded && this.#slots.length === 0 && this.#waiting.length === 0) {
      // Every whole request is answered (the loop stopped for lack of a frame): done.
      this.#state = 'draining';
      this.#link.end();
      return;
    }
    this.#setReading(this.#slots.length < this.#limits.maxInFlight && !this.#link.sendBlocked);
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
      wrote = true;
      this.#link.send(head.response);
      this.#slots.shift();
    }
    if (wrote) this.#lastActivityMs = this.#clock.now();
    if (this.#state === 'draining' && this.#slots.length === 0) this.#link.end();
  }

  #setReading(reading: boolean): void {
    if (reading && this.#paused) {
      this.#paused = false;
      this.#link.resume();
    } else if (!reading && !this.#paused) {
      this.#paused = true;
      this.#link.pause();
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
