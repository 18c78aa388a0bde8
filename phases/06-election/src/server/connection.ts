/**
 * One client connection on the broker: frames in from a `ServerLink` (the Transport
 * seam, which cuts them from the byte stream), requests to the `RequestHandler`,
 * responses back in request order.
 *
 * Backpressure, per connection:
 * - at most `maxInFlight` requests are dispatched and unanswered. At the bound the link
 *   is paused: the kernel's receive buffer fills, TCP's window closes, and the client's
 *   writes block, instead of the broker queueing unbounded work in memory. Below the bound
 *   reading resumes.
 * - at most `responseBytesMax` bytes of answers held: those handed to the link and not yet
 *   written (`ServerLink.unsentBytes`), those finished behind an earlier one, and for each
 *   request still being computed what `responseBytesReserve` holds back for it (a Fetch's
 *   cap). Over it, nothing more is dispatched and the link is paused, until `drained` or an
 *   answer is finished. A request is dispatched only while the sum is at most the bound,
 *   so the answers held stay within the bound plus one answer. The link's `send` blocks
 *   at most at the same bound (`unsentBytesMax`), so "over because of bytes in the link"
 *   always has a `drained` coming. This is what stops a client that never reads: a slot
 *   is freed when its answer is handed to the link, so the in-flight bound alone let such
 *   a client make the broker compute and hold `maxInFlight` answers at a time, again and
 *   again as the kernel took some (issue 12, attack 1).
 * - frames over `frameBytesMax` close the connection (the stream cannot be resynchronised);
 *   the link enforces it and reports it in `closed`.
 * - a frame still arriving (`partialFrame`) must be admitted by its size to the broker's
 *   `RequestBytesPool` (`queuedRequestBytesMax`, shared by all connections) before more of
 *   it is read; one that does not fit waits with the link paused. And it must be whole
 *   within `requestReceiveMsMax` of its first byte, else the connection is closed (a
 *   slowloris, attack 4). That clock stops while the broker itself holds the frame back
 *   (in flight at the bound, waiting for the pool) and restarts when it lets go.
 * - nothing in flight and no complete request or answer for `idleTimeoutMs` closes the
 *   connection; bytes of an unfinished frame are not activity.
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
import { FRAME_SIZE_BYTES, type RequestHeader, chunksBytes, decodeRequestHeader, encodeResponseFrame } from '../protocol/header.ts';
import type { ResponseBody } from './handlers.ts';

/**
 * What a connection hands each request to: the broker's `RequestHandler`, or (phase 6)
 * the controller's. Never rejects: every failure is an encoded error response.
 */
export interface RequestRouter {
  handle(header: RequestHeader, body: ByteReader): ResponseBody;
}

/** Limits applied to one connection (from `BrokerConfig`). */
export interface ConnectionLimits {
  maxInFlight: number;
  idleTimeoutMs: number;
  /** `responseBytesMaxPerConnection`; the link's `unsentBytesMax` must not be larger. */
  responseBytesMax: number;
  /** `requestReceiveMsMax`. */
  requestReceiveMsMax: number;
  /**
   * Bytes to count against `responseBytesMax` for a request's answer while it is computed
   * (`body` is the request after its header): a Fetch's cap plus its headers; 0 for a
   * request whose answer is small.
   */
  responseBytesReserve(header: RequestHeader, body: Buffer): number;
}

/** A connection's frame waiting for room in the pool; `admit` runs once its bytes are taken. */
interface PoolWaiter {
  readonly bytes: number;
  readonly admit: () => void;
}

/** What `RequestBytesPool` reports (`Broker.queuedRequestBytes`). */
export interface RequestBytesPoolStats {
  /** `queuedRequestBytesMax`. */
  readonly maxBytes: number;
  /** Bytes taken by frames admitted and still arriving. */
  readonly usedBytes: number;
  /** The most `usedBytes` has been. */
  readonly peakBytes: number;
  /** Frames waiting to be admitted. */
  readonly waiting: number;
}

/**
 * The broker-wide budget for request frames still arriving (`queuedRequestBytesMax`),
 * like the memory pool behind Kafka's `queued.max.request.bytes`: a frame takes its size
 * from it once its size field has arrived, and gives it back when it is whole (or its
 * connection closes). A frame that does not fit, or arrives while others wait, waits in
 * arrival order; frames are admitted in that order as bytes come back. `usedBytes` never
 * exceeds `maxBytes`, except for a lone frame larger than it (the broker's config refuses
 * a `queuedRequestBytesMax` below `frameBytesMax`, so that cannot happen).
 * @example
 * const pool = new RequestBytesPool(64 << 20);
 * if (pool.take(size, admit)) readOn(); else waitForAdmit();
 */
export class RequestBytesPool {
  readonly #maxBytes: number;
  readonly #waiters: PoolWaiter[] = [];
  #usedBytes = 0;
  #peakBytes = 0;

  constructor(maxBytes: number) {
    this.#maxBytes = maxBytes;
  }

  get stats(): RequestBytesPoolStats {
    return { maxBytes: this.#maxBytes, usedBytes: this.#usedBytes, peakBytes: this.#peakBytes, waiting: this.#waiters.length };
  }

  /** Take `bytes` now and return true, or queue `admit` (called once they are taken) and return false. */
  take(bytes: number, admit: () => void): boolean {
    if (this.#waiters.length === 0 && this.#fits(bytes)) {
      this.#use(bytes);
      return true;
    }
    this.#waiters.push({ bytes, admit });
    return false;
  }

  /**
   * Stop waiting (the connection closed or is draining). True if it was still waiting;
   * false if it has just been admitted (its bytes are taken: `release` them).
   */
  withdraw(admit: () => void): boolean {
    const i = this.#waiters.findIndex((w) => w.admit === admit);
    if (i < 0) return false;
    this.#waiters.splice(i, 1);
    this.#admitWaiting();
    return true;
  }

  /** Give back what `take` (or an `admit`) took; admits waiting frames in order while they fit. */
  release(bytes: number): void {
    this.#usedBytes -= bytes;
    this.#admitWaiting();
  }

  #fits(bytes: number): boolean {
    return this.#usedBytes + bytes <= this.#maxBytes || this.#usedBytes === 0;
  }

  #use(bytes: number): void {
    this.#usedBytes += bytes;
    this.#peakBytes = Math.max(this.#peakBytes, this.#usedBytes);
  }

  #admitWaiting(): void {
    const admitted: PoolWaiter[] = [];
    for (let w = this.#waiters[0]; w !== undefined && this.#fits(w.bytes); w = this.#waiters[0]) {
      this.#waiters.shift();
      this.#use(w.bytes);
      admitted.push(w);
    }
    // After the bookkeeping: an admitted connection resumes reading, which may release or take again.
    for (const w of admitted) w.admit();
  }
}

interface Slot {
  readonly correlationId: number;
  response: Buffer[] | null;
  /** Bytes of `response` once it is finished. */
  bytes: number;
  /** What `responseBytesReserve` counted for the answer until it is finished. */
  reserved: number;
}

/** What one connection holds and why it is or is not being read (`Broker.connectionStats()`). */
export interface ConnectionStats {
  readonly id: number;
  readonly peer: string;
  /** Requests dispatched whose answer is not handed to the link yet. */
  readonly inFlight: number;
  /** Bytes of answers finished and not yet written to the peer: in the link, or waiting behind an earlier answer. */
  readonly responseBytesHeld: number;
  /** The most `responseBytesHeld` has been, measured each time answers were finished or handed to the link. */
  readonly responseBytesHeldPeak: number;
  /** Bytes counted for answers still being computed (`ConnectionLimits.responseBytesReserve`). */
  readonly responseBytesReserved: number;
  /** Whole requests received and not yet dispatched. */
  readonly waiting: number;
  /** Bytes of the frame still arriving, as the link last reported them (0 between frames). */
  readonly partialFrameBytes: number;
  /** Bytes that frame holds in the `RequestBytesPool` (0: not admitted, or none arriving). */
  readonly queuedRequestBytes: number;
  /** The frame still arriving waits for room in the pool. */
  readonly awaitingRequestBytes: boolean;
  /** The broker reads from the link now (not paused). */
  readonly reading: boolean;
}

/** Close a link we will not serve; its events are ignored (the broker and the controller refuse this way). */
export function refuse(link: ServerLink): ServerLinkHandlers {
  link.abort();
  return { frame: () => {}, partialFrame: () => {}, ended: () => {}, drained: () => {}, closed: () => {} };
}

type State = 'open' | 'draining' | 'closed';

/**
 * The broker's side of one connection.
 * @example
 * transport.listen(host, port, options, (link) => new BrokerConnection(1, link, handler, clock, limits, log, onClose, pool).handlers);
 */
export class BrokerConnection {
  /** Broker-local id, used in log lines. */
  readonly id: number;
  /** What the link delivers to: give these back from the listener's accept callback. */
  readonly handlers: ServerLinkHandlers;
  readonly #link: ServerLink;
  readonly #handler: RequestRouter;
  readonly #clock: Clock;
  readonly #limits: ConnectionLimits;
  readonly #logger: (line: string) => void;
  readonly #onClose: (c: BrokerConnection) => void;
  readonly #pool: RequestBytesPool;
  /** Frames delivered while a bound was reached (in flight, answer bytes), dispatched as it frees up. */
  readonly #waiting: Buffer[] = [];
  readonly #slots: Slot[] = [];
  readonly #peer: string;
  #state: State = 'open';
  /** The client ended its side: no more bytes will come. */
  #peerEnded = false;
  #paused = false;
  #lastActivityMs: number;
  #idleTimer: TimerHandle | null = null;
  /** Bytes of finished answers waiting in `#slots` behind an unfinished one. */
  #queuedBytes = 0;
  #heldPeak = 0;
  /** What `responseBytesReserve` counted for the answers still being computed. */
  #reservedBytes = 0;
  /** The frame still arriving: bytes here, as the link last said (0 between frames). */
  #partialBytes = 0;
  /** What that frame took from the pool (0: nothing), or waits to take. */
  #poolBytes = 0;
  #awaitingPool = false;
  /** When the receive clock of the frame still arriving started; null while it does not run. */
  #frameStartedMs: number | null = null;
  #receiveTimer: TimerHandle | null = null;
  /** The pool let the waiting frame in (a stable function, so that `withdraw` can find it). */
  readonly #admitted = (): void => {
    if (!this.#awaitingPool) return; // withdrawn meanwhile, its bytes given back
    this.#awaitingPool = false;
    this.#pump();
  };

  constructor(
    id: number,
    link: ServerLink,
    handler: RequestRouter,
    clock: Clock,
    limits: ConnectionLimits,
    logger: (line: string) => void,
    onClose: (c: BrokerConnection) => void,
    pool: RequestBytesPool,
  ) {
    this.id = id;
    this.#link = link;
    this.#handler = handler;
    this.#clock = clock;
    this.#limits = limits;
    this.#logger = logger;
    this.#onClose = onClose;
    this.#pool = pool;
    this.#peer = link.peer;
    this.#lastActivityMs = clock.now();
    this.handlers = {
      frame: (frame) => this.#onFrame(frame),
      partialFrame: (receivedBytes, frameBytes) => this.#onPartialFrame(receivedBytes, frameBytes),
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

  /** What the connection holds now (see `ConnectionStats`). */
  get stats(): ConnectionStats {
    return {
      id: this.id,
      peer: this.#peer,
      inFlight: this.#slots.length,
      responseBytesHeld: this.#responseBytesHeld(),
      responseBytesHeldPeak: this.#heldPeak,
      responseBytesReserved: this.#reservedBytes,
      waiting: this.#waiting.length,
      partialFrameBytes: this.#partialBytes,
      queuedRequestBytes: this.#awaitingPool ? 0 : this.#poolBytes,
      awaitingRequestBytes: this.#awaitingPool,
      reading: !this.#paused,
    };
  }

  #responseBytesHeld(): number {
    return this.#link.unsentBytes + this.#queuedBytes;
  }

  /** Stop taking requests; answer those in flight, then end the link. */
  drain(): void {
    if (this.#state !== 'open') return;
    this.#state = 'draining';
    this.#waiting.length = 0;
    this.#leavePool(); // frames arriving now are read and dropped, not admitted
    this.#setReading(true); // keep reading (and discarding) so closing does not send a reset
    this.#flush();
  }

  /** Close now, with the reason in the broker's log. In-flight requests go unanswered. */
  abort(reason: string): void {
    if (this.#state === 'closed') return;
    this.#logger(`connection ${this.id} from ${this.#peer} closed: ${reason}`);
    this.#state = 'closed';
    this.#waiting.length = 0;
    this.#leavePool();
    this.#link.abort();
  }

  // #region backpressure
  #onFrame(frame: Buffer): void {
    this.#frameDone();
    this.#lastActivityMs = this.#clock.now();
    if (this.#state !== 'open') return;
    this.#waiting.push(frame);
    this.#pump();
  }

  /** Dispatch waiting frames while under every bound, then pause or resume reading. */
  #pump(): void {
    while (this.#state === 'open' && this.#mayDispatch()) {
      const frame = this.#waiting.shift();
      if (frame === undefined) break;
      this.#dispatch(frame);
    }
    if (this.#state !== 'open') return;
    if (this.#peerEnded && this.#slots.length === 0 && this.#waiting.length === 0) {
      // Every whole request is answered (the loop stopped for lack of a frame): done.
      this.#state = 'draining';
      this.#leavePool();
      this.#link.end();
      return;
    }
    this.#setReading(this.#mayDispatch() && !this.#awaitingPool);
    this.#runReceiveClock();
  }

  /** In flight under the bound, the link not blocked, answers held plus reserved at most the budget. */
  #mayDispatch(): boolean {
    return (
      this.#slots.length < this.#limits.maxInFlight &&
      !this.#link.sendBlocked &&
      this.#responseBytesHeld() + this.#reservedBytes <= this.#limits.responseBytesMax
    );
  }
  // #endregion backpressure

  /** The link holds part of a frame: admit it to the pool by its size, time it from its first byte. */
  #onPartialFrame(receivedBytes: number, frameBytes: number | null): void {
    this.#partialBytes = receivedBytes;
    if (this.#state === 'open' && frameBytes !== null && this.#poolBytes === 0) {
      this.#poolBytes = frameBytes;
      this.#awaitingPool = true;
      if (this.#pool.take(frameBytes, this.#admitted)) this.#awaitingPool = false;
    }
    this.#pump();
  }

  /** The frame that was arriving is whole: it leaves the pool and its clock stops. */
  #frameDone(): void {
    this.#partialBytes = 0;
    this.#frameStartedMs = null;
    this.#leavePool();
  }

  /** Give back what the arriving frame holds in the pool, or stop waiting for room. */
  #leavePool(): void {
    const bytes = this.#poolBytes;
    const awaiting = this.#awaitingPool;
    this.#poolBytes = 0;
    this.#awaitingPool = false;
    // A waiter the pool has just admitted (its `admit` not yet run) is no longer queued: give its bytes back.
    if (bytes > 0 && !(awaiting && this.#pool.withdraw(this.#admitted))) this.#pool.release(bytes);
  }

  // #region dispatch
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
    const reserved = Math.max(0, this.#limits.responseBytesReserve(header, frame.subarray(reader.position)));
    const slot: Slot = { correlationId: header.correlationId, response: null, bytes: 0, reserved };
    this.#reservedBytes += reserved;
    this.#slots.push(slot);
    let body: ResponseBody;
    try {
      body = this.#handler.handle(header, reader);
    } catch (err) {
      this.abort(`request handler failed: ${err instanceof Error ? err.message : String(err)}`);
      return;
    }
    if (Array.isArray(body)) {
      this.#finish(slot, body);
      this.#flush();
      return;
    }
    body.then(
      (b) => {
        this.#finish(slot, b);
        this.#flush();
        this.#pump();
      },
      (err: unknown) => this.abort(`request handler failed: ${err instanceof Error ? err.message : String(err)}`),
    );
  }
  // #endregion dispatch

  /** A request's answer is computed: it counts as held instead of reserved. */
  #finish(slot: Slot, body: Buffer[]): void {
    slot.response = encodeResponseFrame(slot.correlationId, body);
    slot.bytes = chunksBytes(slot.response);
    this.#queuedBytes += slot.bytes;
    this.#reservedBytes -= slot.reserved;
    slot.reserved = 0;
  }

  // #region flush
  /** Write every finished response at the head of the FIFO (in request order). */
  #flush(): void {
    if (this.#state === 'closed') return;
    let wrote = false;
    for (let head = this.#slots[0]; head?.response; head = this.#slots[0]) {
      wrote = true;
      this.#queuedBytes -= head.bytes;
      this.#link.send(head.response);
      this.#slots.shift();
    }
    this.#heldPeak = Math.max(this.#heldPeak, this.#responseBytesHeld());
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
  // #endregion flush

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

  /**
   * The receive clock runs while a frame is arriving and only the peer can finish it: not
   * while requests in flight are at the bound or the frame waits for the pool (then the
   * broker holds it back), and it starts again from zero when the broker lets go. One
   * timer, re-armed when it fires, as for idleness.
   */
  #runReceiveClock(): void {
    const heldBack = this.#slots.length >= this.#limits.maxInFlight || this.#awaitingPool;
    if (this.#state !== 'open' || this.#partialBytes === 0 || heldBack) {
      this.#frameStartedMs = null;
      return;
    }
    if (this.#frameStartedMs !== null) return;
    this.#frameStartedMs = this.#clock.now();
    this.#receiveTimer ??= this.#clock.setTimeout(() => this.#checkReceive(), this.#limits.requestReceiveMsMax);
  }

  #checkReceive(): void {
    this.#receiveTimer = null;
    if (this.#state !== 'open' || this.#frameStartedMs === null) return;
    const max = this.#limits.requestReceiveMsMax;
    const elapsedMs = this.#clock.now() - this.#frameStartedMs;
    if (elapsedMs < max) {
      this.#receiveTimer = this.#clock.setTimeout(() => this.#checkReceive(), max - elapsedMs);
      return;
    }
    const size = this.#poolBytes > 0 ? `of ${this.#poolBytes + FRAME_SIZE_BYTES} ` : '';
    this.abort(`request frame incomplete after ${elapsedMs} ms (requestReceiveMsMax ${max}): ${this.#partialBytes} ${size}bytes arrived`);
  }

  #onClosed(): void {
    this.#state = 'closed';
    if (this.#idleTimer !== null) this.#clock.clearTimeout(this.#idleTimer);
    this.#idleTimer = null;
    if (this.#receiveTimer !== null) this.#clock.clearTimeout(this.#receiveTimer);
    this.#receiveTimer = null;
    this.#leavePool();
    this.#onClose(this);
  }
}
