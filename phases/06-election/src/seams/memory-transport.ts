/**
 * An in-memory network for the Transport seam (course/architecture.md, "Seams"): the
 * real broker and the real clients talk over it in one process, with no socket, no
 * timer and no real time involved. One `MemoryTransport` is one virtual network; any
 * number of brokers (`listen`) and clients (`connect`) can share it, which is what the
 * phase-7 simulator (planned) needs to run a whole cluster in one process.
 *
 * The model:
 * - An address is the exact pair `host:port` (no wildcard or alias: a listener on
 *   `0.0.0.0` is not reached by a connect to `127.0.0.1`). `listen` on a taken address
 *   rejects with `code` 'EADDRINUSE'; port 0 takes the next free port counting up from
 *   `EPHEMERAL_PORT_FIRST` (40000), so the same program gets the same ports every run.
 *   `connect` to an address nobody listens on rejects with `code` 'ECONNREFUSED'.
 *   `Listener.close()` frees the address; links it accepted stay open. `backlog` is
 *   ignored: every connect is accepted (the broker applies `maxConnections` itself).
 * - A link is two one-way pipes (client to server, server to client). `send` copies the
 *   frame's chunks into one buffer (as the kernel copies what is written to a socket, so
 *   the two ends never share memory) and appends it to its pipe. Nothing is delivered
 *   inside `send`: delivery runs in tasks handed to the `schedule` option (default
 *   `queueMicrotask`), at most one pending task per pipe, and each task takes the oldest
 *   item of its pipe. So every pipe is FIFO whatever order a scheduler runs tasks in,
 *   while the two pipes of a link, and different links, interleave as the scheduler
 *   decides.
 * - The receiving end feeds what it takes to a `FrameDecoder`, exactly as `tcpTransport`
 *   does with what it reads: the client side with the connect's `frameBytesMax` (and the
 *   4-byte minimum of a response header), the server side with the listener's
 *   `frameBytesMax` and `frameBytesMin`. A frame outside the limits closes the link:
 *   the receiving end gets `closed(ProtocolError)`, the sender `closed` with a reset.
 *   Bytes need not be whole frames: a sender may split or join frames across `send`s.
 * - Backpressure: bytes count as unsent from `send` until the receiving end takes them,
 *   which a paused `ServerLink` does not do, like a TCP window that closed. Once more
 *   than `linkBytesMax` bytes are unsent in one direction (from the server end: more
 *   than the listener's `unsentBytesMax`, if that is smaller), `send` returns false (it
 *   still takes the frame) and keeps returning false, with `sendBlocked` true, until the
 *   pipe is empty again; then the server end gets `drained`. `ServerLink.unsentBytes` is
 *   what its pipe holds. A client end has no `drained` in the seam, only `send`'s result.
 * - Frame progress: after a delivery task that leaves part of a frame in the server
 *   end's decoder, the server end gets `partialFrame`, as over TCP. Every client in
 *   `src/` sends each frame in one `send`, so over this network it never sees one; a
 *   test that splits a frame across sends does.
 * - `pause()` stops delivery at once (frames the decoder already holds wait there, the
 *   rest wait in the pipe); `resume()` schedules delivery of what waited (TCP's
 *   `resume()` delivers the cut frames synchronously; here it is a scheduled task too).
 * - Closing, as TCP with the broker's `allowHalfOpen` and a client socket without it:
 *   `FrameLink.close()` and `ServerLink.end()` queue an end-of-stream behind the frames
 *   already sent (both are idempotent). The server end gets `ended` when it takes the
 *   client's end-of-stream (not while paused), after every earlier frame; it can still
 *   send. A client end that takes the server's end-of-stream ends its own side at once.
 *   An end is `closed(null)` once it has taken the peer's end-of-stream and its own
 *   pipe holds nothing but its own end-of-stream. `send` after `close()`/`end()` fails
 *   the link with `code` 'ERR_STREAM_WRITE_AFTER_END' (as a socket does).
 * - `abort()` (either end), a frame outside the limits, a client `frame` handler that
 *   throws (as in `tcpTransport`'s client) and `resetAll()` kill the link: both pipes are
 *   emptied (unsent and undelivered frames are dropped) and each end not yet closed gets
 *   `closed`: the end that aborted with null (or the error that made it abort), the
 *   other with a `MemoryNetworkError` of `code` 'ECONNRESET'. An exception from a server
 *   handler is not caught, as in `tcpTransport`'s server.
 * - `closed` is always delivered from a scheduled task, never inside a call on the link,
 *   comes once per end, and is the last event that end gets.
 *
 * Test hooks: `resetAll()` kills every open link (the network crashed, listeners stay),
 * `openLinks` counts links with an end not yet closed, and each `ServerLink.peer` is
 * `memory:<n>`, n counting links from 1 in the order they are accepted.
 */
import { FrameDecoder } from '../protocol/frame-decoder.ts';
import type { AcceptLink, FrameHandlers, FrameLink, ListenOptions, Listener, ServerLink, ServerLinkHandlers, Transport } from './transport.ts';

/** Default bound on the unsent bytes of one direction of a link: 1 MiB. */
export const LINK_BYTES_MAX_DEFAULT = 1024 * 1024;
/** The first port `listen(host, 0)` hands out; later ones count up from here (wrapping to it after 65535). */
export const EPHEMERAL_PORT_FIRST = 40_000;
const PORT_MAX = 65_535;
/** Smallest frame the client end accepts: a response header (correlation id), as in `tcpTransport`. */
const CLIENT_FRAME_BYTES_MIN = 4;

/** Settings of one virtual network. */
export interface MemoryTransportOptions {
  /**
   * Runs the network's work later: every frame delivery, `ended`, `drained` and `closed`
   * happens inside a function given to it. Default `queueMicrotask`; the phase-7
   * simulator passes its own (seeded) scheduler.
   */
  schedule?: (fn: () => void) => void;
  /** Unsent bytes one direction of a link holds before `send` returns false. Default `LINK_BYTES_MAX_DEFAULT`. */
  linkBytesMax?: number;
}

/** The `code`s a `MemoryNetworkError` carries: node's for the same situations. */
export type MemoryNetworkErrorCode = 'EADDRINUSE' | 'ECONNREFUSED' | 'ECONNRESET' | 'ERR_STREAM_WRITE_AFTER_END';

/** A failure of the virtual network; `code` is what node's error would carry. */
export class MemoryNetworkError extends Error {
  /** As node's `err.code`: 'EADDRINUSE', 'ECONNREFUSED', 'ECONNRESET' or 'ERR_STREAM_WRITE_AFTER_END'. */
  readonly code: MemoryNetworkErrorCode;

  constructor(code: MemoryNetworkErrorCode, message: string) {
    super(message);
    this.name = 'MemoryNetworkError';
    this.code = code;
  }
}

/** What an end delivers to (the client's `FrameHandlers` padded with no-ops). */
interface EndEvents {
  frame(frame: Buffer): void;
  partialFrame(receivedBytes: number, frameBytes: number | null): void;
  ended(): void;
  drained(): void;
  closed(error: Error | null): void;
}

const IGNORE: EndEvents = { frame: () => {}, partialFrame: () => {}, ended: () => {}, drained: () => {}, closed: () => {} };

/** Marks the end of a pipe's stream (the sender's `close()`/`end()`). */
const END_OF_STREAM = Symbol('end of stream');

/** One direction of a link: what the sender wrote and the receiver has not taken yet. */
class Pipe {
  /** Frames (as sent, one copied buffer per `send`) and at most one end-of-stream, last. */
  readonly items: (Buffer | typeof END_OF_STREAM)[] = [];
  /** Unsent bytes past which `send` returns false. */
  readonly bytesMax: number;
  unsentBytes = 0;
  /** `send` returned false; cleared (with `drained`) when the pipe empties. */
  needDrain = false;
  /** The sender ended its side. */
  endSent = false;
  /** The receiver took the end-of-stream. */
  endTaken = false;
  /** A delivery task for this pipe is pending. */
  scheduled = false;

  constructor(bytesMax: number) {
    this.bytesMax = bytesMax;
  }
}

/** One end of a link. */
class End {
  readonly side: 'client' | 'server';
  readonly decoder: FrameDecoder;
  /** The pipe this end receives from. */
  readonly inbound: Pipe;
  /** The pipe this end sends into. */
  readonly outbound: Pipe;
  events: EndEvents;
  paused = false;
  /** `closed` is scheduled: nothing else is delivered to this end. */
  closed = false;

  constructor(side: 'client' | 'server', decoder: FrameDecoder, inbound: Pipe, outbound: Pipe, events: EndEvents) {
    this.side = side;
    this.decoder = decoder;
    this.inbound = inbound;
    this.outbound = outbound;
    this.events = events;
  }
}

/** What a link needs from its network. */
interface Network {
  readonly schedule: (fn: () => void) => void;
  readonly linkBytesMax: number;
  /** Both ends are closed: the network stops counting the link. */
  forget(link: MemoryLink): void;
}

/** One connection: two ends, two pipes. */
class MemoryLink {
  /** `memory:<n>`, the server end's `peer`. */
  readonly name: string;
  readonly clientLink: FrameLink;
  readonly serverLink: ServerLink;
  readonly #net: Network;
  readonly #client: End;
  readonly #server: End;
  /** Aborted or reset: both pipes are empty for good. */
  #dead = false;

  constructor(id: number, net: Network, handlers: FrameHandlers, clientFrameBytesMax: number, listen: ListenOptions) {
    this.name = `memory:${id}`;
    this.#net = net;
    const toServer = new Pipe(net.linkBytesMax);
    const toClient = new Pipe(Math.min(net.linkBytesMax, listen.unsentBytesMax ?? Number.POSITIVE_INFINITY));
    const clientEvents: EndEvents = { frame: (f) => handlers.frame(f), partialFrame: () => {}, ended: () => {}, drained: () => {}, closed: (e) => handlers.closed(e) };
    this.#client = new End('client', new FrameDecoder(clientFrameBytesMax, CLIENT_FRAME_BYTES_MIN), toClient, toServer, clientEvents);
    this.#server = new End('server', new FrameDecoder(listen.frameBytesMax, listen.frameBytesMin), toServer, toClient, IGNORE);
    const client = this.#client;
    const server = this.#server;
    this.clientLink = {
      send: (chunks) => this.#send(client, chunks),
      close: () => this.#endSide(client),
      abort: () => this.#abort(client, null),
    };
    this.serverLink = {
      peer: this.name,
      get sendBlocked() {
        return server.outbound.needDrain;
      },
      get unsentBytes() {
        return server.outbound.unsentBytes;
      },
      send: (chunks) => this.#send(server, chunks),
      pause: () => {
        server.paused = true;
      },
      resume: () => this.#resume(server),
      end: () => this.#endSide(server),
      abort: () => this.#abort(server, null),
    };
  }

  /** The handlers `accept` returned for the server end. */
  attachServer(events: ServerLinkHandlers): void {
    this.#server.events = events;
  }

  /** Kill the link as a network failure would: both ends get a reset. */
  reset(): void {
    if (this.#dead) return;
    this.#kill();
    for (const end of [this.#client, this.#server]) {
      if (!end.closed) this.#close(end, new MemoryNetworkError('ECONNRESET', `read ECONNRESET (${this.name}: the network was reset)`));
    }
  }

  #peerOf(end: End): End {
    return end === this.#client ? this.#server : this.#client;
  }

  #send(end: End, chunks: readonly Buffer[]): boolean {
    if (this.#dead || end.closed) return false;
    const out = end.outbound;
    if (out.endSent) {
      this.#abort(end, new MemoryNetworkError('ERR_STREAM_WRITE_AFTER_END', `write after end (${this.name}, ${end.side} side)`));
      return false;
    }
    let bytes = 0;
    for (const c of chunks) bytes += c.length;
    if (bytes > 0) {
      out.items.push(Buffer.concat(chunks, bytes));
      out.unsentBytes += bytes;
      if (out.unsentBytes > out.bytesMax) out.needDrain = true;
      this.#schedule(this.#peerOf(end));
    }
    return !out.needDrain;
  }

  #resume(end: End): void {
    if (!end.paused) return;
    end.paused = false;
    // The decoder may hold frames even when the pipe is empty: always deliver once.
    if (!this.#dead && !end.closed) this.#schedule(end);
  }

  /** `close()` / `end()`: queue the end-of-stream behind everything sent. */
  #endSide(end: End): void {
    if (this.#dead || end.closed || end.outbound.endSent) return;
    end.outbound.endSent = true;
    end.outbound.items.push(END_OF_STREAM);
    this.#schedule(this.#peerOf(end));
    this.#closeIfDone(end);
  }

  #abort(end: End, error: Error | null): void {
    if (this.#dead || end.closed) return;
    this.#kill();
    this.#close(end, error);
    const peer = this.#peerOf(end);
    if (!peer.closed) this.#close(peer, new MemoryNetworkError('ECONNRESET', `read ECONNRESET (${this.name}: the ${end.side} side aborted)`));
  }

  /** Empty both pipes for good. */
  #kill(): void {
    this.#dead = true;
    for (const end of [this.#client, this.#server]) {
      end.inbound.items.length = 0;
      end.inbound.unsentBytes = 0;
      end.inbound.needDrain = false;
      end.decoder.clear();
    }
  }

  /** Make sure a delivery task for `receiver`'s inbound pipe is pending. */
  #schedule(receiver: End): void {
    const pipe = receiver.inbound;
    if (pipe.scheduled) return;
    pipe.scheduled = true;
    this.#net.schedule(() => this.#deliver(receiver));
  }

  /**
   * A delivery task: hand out frames the decoder holds, then take the pipe's oldest item;
   * report a frame left incomplete (to a server end).
   */
  #deliver(receiver: End): void {
    const pipe = receiver.inbound;
    pipe.scheduled = false;
    if (!this.#handOut(receiver)) return;
    const item = pipe.items.shift();
    if (item === undefined) {
      this.#reportPartial(receiver);
      return;
    }
    if (item === END_OF_STREAM) {
      pipe.endTaken = true;
      if (receiver.side === 'server') receiver.events.ended();
      else this.#endSide(receiver); // a client socket does not stay half-open: it ends its side too
      this.#closeIfDone(receiver);
      return;
    }
    pipe.unsentBytes -= item.length;
    receiver.decoder.push(item);
    if (pipe.unsentBytes === 0) {
      const sender = this.#peerOf(receiver);
      const wasBlocked = pipe.needDrain;
      pipe.needDrain = false;
      if (wasBlocked && !sender.closed) sender.events.drained();
      this.#closeIfDone(sender);
    }
    if (!this.#handOut(receiver)) return;
    this.#reportPartial(receiver);
    if (pipe.items.length > 0 && !this.#dead && !receiver.closed) this.#schedule(receiver);
  }

  /** After a delivery that left part of a frame in a server end's decoder: `partialFrame`. */
  #reportPartial(receiver: End): void {
    if (receiver.side !== 'server' || this.#dead || receiver.closed || receiver.paused) return;
    const held = receiver.decoder.bufferedBytes;
    if (held > 0) receiver.events.partialFrame(held, receiver.decoder.nextFrameSize);
  }

  /**
   * Deliver every whole frame the decoder holds. True when none is left and the end can
   * take more; false when it is paused, closed or the link died (a frame outside the
   * limits kills it here).
   */
  #handOut(receiver: End): boolean {
    for (;;) {
      if (this.#dead || receiver.closed || receiver.paused) return false;
      let frame: Buffer | null;
      try {
        frame = receiver.decoder.next();
      } catch (err) {
        this.#abort(receiver, toError(err));
        return false;
      }
      if (frame === null) return true;
      if (receiver.side === 'server') {
        receiver.events.frame(frame);
        continue;
      }
      try {
        receiver.events.frame(frame);
      } catch (err) {
        this.#abort(receiver, toError(err));
        return false;
      }
    }
  }

  /** Closed cleanly: took the peer's end-of-stream and sent all of its own bytes. */
  #closeIfDone(end: End): void {
    if (this.#dead || end.closed) return;
    if (end.inbound.endTaken && end.outbound.endSent && end.outbound.unsentBytes === 0) this.#close(end, null);
  }

  /** Schedule `closed` for `end`; from now on it gets nothing else. */
  #close(end: End, error: Error | null): void {
    end.closed = true;
    this.#net.schedule(() => end.events.closed(error));
    if (this.#client.closed && this.#server.closed) this.#net.forget(this);
  }
}

interface ListenerState {
  readonly key: string;
  readonly options: ListenOptions;
  readonly accept: AcceptLink;
}

/**
 * A virtual network implementing the Transport seam in memory (see the file comment for
 * the model).
 * @example
 * const network = new MemoryTransport();
 * const broker = await Broker.start({ dir: '/log', port: 0 }, { ...realSeams(), storage: new MemoryStorage(), transport: network });
 * const producer = new Producer({ ...realSeams(), transport: network, port: broker.port });
 */
export class MemoryTransport implements Transport {
  readonly #schedule: (fn: () => void) => void;
  readonly #linkBytesMax: number;
  readonly #listeners = new Map<string, ListenerState>();
  readonly #links = new Set<MemoryLink>();
  readonly #network: Network;
  #nextPort = EPHEMERAL_PORT_FIRST;
  #nextLinkId = 1;

  constructor(options: MemoryTransportOptions = {}) {
    this.#schedule = options.schedule ?? ((fn) => queueMicrotask(fn));
    this.#linkBytesMax = options.linkBytesMax ?? LINK_BYTES_MAX_DEFAULT;
    if (!Number.isSafeInteger(this.#linkBytesMax) || this.#linkBytesMax < 0) {
      throw new RangeError(`MemoryTransport: linkBytesMax must be an integer >= 0, got ${this.#linkBytesMax}`);
    }
    this.#network = {
      schedule: this.#schedule,
      linkBytesMax: this.#linkBytesMax,
      forget: (link) => this.#links.delete(link),
    };
  }

  /** Unsent bytes one direction of a link holds before `send` returns false. */
  get linkBytesMax(): number {
    return this.#linkBytesMax;
  }

  /** Links with at least one end not yet closed. */
  get openLinks(): number {
    return this.#links.size;
  }

  /**
   * Listen on `host:port` (port 0: the next free port from `EPHEMERAL_PORT_FIRST` up).
   * Rejects with `code` 'EADDRINUSE' when the address is taken.
   */
  listen(host: string, port: number, options: ListenOptions, accept: AcceptLink): Promise<Listener> {
    if (!isPort(port)) return Promise.reject(badPort(port));
    const chosen = port === 0 ? this.#freePort(host) : port;
    const key = address(host, chosen ?? 0);
    if (chosen === null || this.#listeners.has(key)) {
      return Promise.reject(new MemoryNetworkError('EADDRINUSE', `listen EADDRINUSE: address already in use ${key}`));
    }
    const state: ListenerState = { key, options, accept };
    this.#listeners.set(key, state);
    const listeners = this.#listeners;
    return Promise.resolve({
      host,
      port: chosen,
      close(): Promise<void> {
        if (listeners.get(key) === state) listeners.delete(key);
        return Promise.resolve();
      },
    });
  }

  /**
   * Connect to `host:port`; resolves (in a scheduled task) with the client end, after the
   * listener's `accept` has been given the server end. Rejects with `code` 'ECONNREFUSED'
   * when nobody listens there by then.
   */
  connect(host: string, port: number, handlers: FrameHandlers, options: { frameBytesMax: number }): Promise<FrameLink> {
    if (!isPort(port)) return Promise.reject(badPort(port));
    return new Promise<FrameLink>((resolve, reject) => {
      this.#schedule(() => {
        const key = address(host, port);
        const listener = this.#listeners.get(key);
        if (listener === undefined) {
          reject(new MemoryNetworkError('ECONNREFUSED', `connect ECONNREFUSED ${key}`));
          return;
        }
        const link = new MemoryLink(this.#nextLinkId++, this.#network, handlers, options.frameBytesMax, listener.options);
        this.#links.add(link);
        // Resolve first, so the client's continuation is queued before anything accept
        // schedules (a refusal's `closed`): over TCP, too, `connect` comes before `close`.
        resolve(link.clientLink);
        link.attachServer(listener.accept(link.serverLink));
      });
    });
  }

  /**
   * The network crashes: every open link dies at once, both ends get `closed` with a
   * `code` 'ECONNRESET' error, frames in flight are lost. Listeners keep listening.
   * Returns how many links were open.
   */
  resetAll(): number {
    const links = [...this.#links];
    for (const link of links) link.reset();
    return links.length;
  }

  /** The next port from `#nextPort` up (wrapping) not taken on `host`; null when all are. */
  #freePort(host: string): number | null {
    for (let tries = 0; tries <= PORT_MAX - EPHEMERAL_PORT_FIRST; tries++) {
      const port = this.#nextPort;
      this.#nextPort = port >= PORT_MAX ? EPHEMERAL_PORT_FIRST : port + 1;
      if (!this.#listeners.has(address(host, port))) return port;
    }
    return null;
  }
}

function address(host: string, port: number): string {
  return `${host}:${port}`;
}

function isPort(port: number): boolean {
  return Number.isInteger(port) && port >= 0 && port <= PORT_MAX;
}

function badPort(port: number): RangeError {
  return new RangeError(`MemoryTransport: port must be an integer from 0 to ${PORT_MAX}, got ${port}`);
}

function toError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}
