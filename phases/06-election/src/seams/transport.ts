/**
 * The Transport seam (course/architecture.md, "Seams"): "exchange whole frames with a
 * peer". Both ends of the wire go through it. A client `connect`s and gets a
 * `FrameLink`; a broker `listen`s and is handed a `ServerLink` per accepted peer. Neither
 * `Connection` nor `BrokerConnection` touches a socket, so the phase-7 simulator can run
 * clients and brokers in one process over in-memory links with delays, drops and
 * partitions, and the `wire-demo` command can wrap the real one to print every frame.
 * `tcpTransport` is the real implementation: node:net plus the shared `FrameDecoder`.
 *
 * Backpressure contract of a `ServerLink` (what `BrokerConnection` relies on):
 * - `pause()` stops frame delivery at once (frames already cut from the stream wait
 *   inside the link) and stops reading from the peer, so TCP's window closes and the
 *   peer's writes block; `resume()` delivers what waited, then reads again.
 * - `send` returns false once the link holds more than `ListenOptions.unsentBytesMax`
 *   unsent bytes (default: as much as the transport likes to buffer); it takes the frame
 *   anyway, `sendBlocked` stays true, and `drained` comes when it has written them all.
 *   `unsentBytes` says how many bytes `send` took that are not written yet: over TCP, not
 *   yet handed to the kernel (what the kernel holds is the OS's memory, bounded by its
 *   socket buffers, not ours).
 * - Frame progress: after each read from the peer that ends inside a frame (not while
 *   paused), `partialFrame(receivedBytes, frameBytes)` says how much of that frame the
 *   link holds and, once its four size bytes are here, how long it will be, so the
 *   broker can time a frame from its first byte and admit it by its size before the
 *   rest arrives. A frame that arrives whole in one read is never reported; the
 *   frame's own `frame` call ends it.
 * - `ended` means the peer half-closed: no more frames will come, answers still can go.
 * - `closed` comes once, last, whether the broker or the peer or an error closed it.
 */
import { type Socket, connect as netConnect } from 'node:net';
import { type AddressInfo, type Server, createServer } from 'node:net';
import { FrameDecoder } from '../protocol/frame-decoder.ts';

/** Callbacks a link delivers to. */
export interface FrameHandlers {
  /** A whole frame arrived (without its size prefix). */
  frame(frame: Buffer): void;
  /** The link is closed; `error` says why if it was not a clean close. Called once. */
  closed(error: Error | null): void;
}

/** An open link that carries whole frames. */
export interface FrameLink {
  /** Send one frame, given as chunks (size prefix included). Returns false when the link's buffer is full. */
  send(chunks: readonly Buffer[]): boolean;
  /** Close gracefully (half-close: the peer may still answer what it has); `closed` follows. */
  close(): void;
  /** Close now, dropping anything unsent or unread; `closed` follows. */
  abort(): void;
}

/** What a `ServerLink` delivers to the broker's side of one peer. */
export interface ServerLinkHandlers {
  /** A whole frame arrived (without its size prefix). Not called while paused. */
  frame(frame: Buffer): void;
  /**
   * A read from the peer ended inside a frame: `receivedBytes` of it are here (its size
   * field included), and it will be `frameBytes` long (its size field, what
   * `frameBytesMax` bounds) once those four bytes have arrived (null before). Called
   * after every such read, not while paused; the first call for a frame means it has
   * started, and `frame` (or `closed`) ends it. A frame that arrives whole in one read is
   * never reported.
   */
  partialFrame(receivedBytes: number, frameBytes: number | null): void;
  /** The peer ended its side: no frame follows the ones already delivered. */
  ended(): void;
  /** Everything `send` took has been written; `send` would now return true. */
  drained(): void;
  /**
   * The link is closed, by either side; called once, last. `error` says why when it was
   * not a clean close: a frame over the limit (a `ProtocolError`) or a socket error.
   */
  closed(error: Error | null): void;
}

/** The broker's end of one accepted peer. */
export interface ServerLink {
  /** The peer's address, for log lines (`127.0.0.1:53122`). */
  readonly peer: string;
  /** True from a `send` that returned false (more than `unsentBytesMax` unsent) until `drained`. */
  readonly sendBlocked: boolean;
  /** Bytes `send` took that are not written yet (over TCP: not yet handed to the kernel). */
  readonly unsentBytes: number;
  /** Send one frame, given as chunks (size prefix included). False: wait for `drained`. */
  send(chunks: readonly Buffer[]): boolean;
  /** Stop delivering frames and reading from the peer. */
  pause(): void;
  /** Deliver waiting frames, then read from the peer again. */
  resume(): void;
  /** End our side once every sent frame is written (the peer sees a clean close). */
  end(): void;
  /** Close now, dropping anything unsent or unread; `closed` follows. */
  abort(): void;
}

/**
 * Called for each accepted peer with its link; returns the handlers the link delivers
 * to. To refuse a peer, call `link.abort()` and return handlers that ignore everything.
 */
export type AcceptLink = (link: ServerLink) => ServerLinkHandlers;

/** Limits a listener applies to every link it accepts. */
export interface ListenOptions {
  /** Largest frame a peer may send (Kafka's `socket.request.max.bytes`); a larger one closes the link. */
  frameBytesMax: number;
  /** Smallest frame that can be valid (a request header is 10 bytes); a smaller one closes the link. */
  frameBytesMin: number;
  /** Connections the OS may queue before we accept them. */
  backlog: number;
  /**
   * Unsent bytes a link holds before `send` returns false and `drained` is owed. Default:
   * the transport's own (Node's writable high-water mark for TCP, `linkBytesMax` in
   * memory). The broker passes its `responseBytesMaxPerConnection`: a connection over that
   * budget because of bytes in the link then always has a `drained` coming.
   */
  unsentBytesMax?: number;
}

/** A listening endpoint. */
export interface Listener {
  readonly host: string;
  /** The real port, also when asked for port 0. */
  readonly port: number;
  /** Stop accepting; links already accepted stay open. Resolves once nothing more is accepted. */
  close(): Promise<void>;
}

/** Opens links, as a client (`connect`) or as a server (`listen`). */
export interface Transport {
  /** Connect; resolves when frames can be sent. */
  connect(host: string, port: number, handlers: FrameHandlers, options: { frameBytesMax: number }): Promise<FrameLink>;
  /** Listen on host:port; resolves once peers can connect. Rejects when the port is in use. */
  listen(host: string, port: number, options: ListenOptions, accept: AcceptLink): Promise<Listener>;
}

/**
 * Frames over TCP.
 * @example
 * const link = await tcpTransport.connect('127.0.0.1', 9092, { frame: onFrame, closed: onClosed }, { frameBytesMax: 1 << 26 });
 * const listener = await tcpTransport.listen('127.0.0.1', 0, { frameBytesMax: 1 << 20, frameBytesMin: 10, backlog: 511 }, accept);
 */
export const tcpTransport: Transport = {
  listen: listenTcp,
  connect(host, port, handlers, options) {
    return new Promise((resolve, reject) => {
      const socket: Socket = netConnect({ host, port, noDelay: true });
      const decoder = new FrameDecoder(options.frameBytesMax, 4);
      let connected = false;
      let closedError: Error | null = null;
      socket.once('connect', () => {
        connected = true;
        resolve({
          send(chunks) {
            if (socket.destroyed) return false;
            socket.cork();
            let ok = true;
            for (const c of chunks) ok = socket.write(c);
            socket.uncork();
            return ok;
          },
          close() {
            // A half-close: the broker answers what is in flight, then ends its side too.
            socket.end();
          },
          abort() {
            socket.destroy();
          },
        });
      });
      socket.on('data', (chunk: Buffer) => {
        decoder.push(chunk);
        try {
          for (let f = decoder.next(); f !== null; f = decoder.next()) handlers.frame(f);
        } catch (err) {
          closedError = err instanceof Error ? err : new Error(String(err));
          socket.destroy();
        }
      });
      socket.on('error', (err) => {
        closedError ??= err;
        if (!connected) reject(err);
      });
      socket.on('close', () => {
        if (connected) handlers.closed(closedError);
      });
    });
  },
};

/** `tcpTransport.listen`: a node:net server whose sockets become `ServerLink`s. */
async function listenTcp(host: string, port: number, options: ListenOptions, accept: AcceptLink): Promise<Listener> {
  // allowHalfOpen: a client that ends its side after its last request still gets its answers.
  const server: Server = createServer({ allowHalfOpen: true, pauseOnConnect: false });
  server.on('connection', (socket: Socket) => acceptTcp(socket, options, accept));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host, port, backlog: options.backlog }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  // After listening, an error on the listening socket is rare (fd exhaustion); accepted links are unaffected.
  server.on('error', () => {});
  return {
    host,
    port: (server.address() as AddressInfo).port,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/**
 * Wrap one accepted socket: cut frames with a `FrameDecoder`, deliver them unless paused,
 * report a read that ends inside a frame. `sendBlocked` is ours rather than node's
 * `writableNeedDrain`, so that it can follow `unsentBytesMax`: set when a `send` leaves
 * more than that unwritten, cleared (with `drained`) by the write callback that finds
 * nothing left to write.
 */
function acceptTcp(socket: Socket, options: ListenOptions, accept: AcceptLink): void {
  socket.setNoDelay(true);
  const decoder = new FrameDecoder(options.frameBytesMax, options.frameBytesMin);
  const unsentBytesMax = options.unsentBytesMax ?? socket.writableHighWaterMark;
  let paused = false;
  let ended = false;
  let endDelivered = false;
  let blocked = false;
  let closedError: Error | null = null;
  /** Called as each send's last chunk is handed to the kernel: drained once nothing is left. */
  const written = (err?: Error | null): void => {
    if (err || !blocked || socket.destroyed || socket.writableLength > 0) return;
    blocked = false;
    handlers.drained();
  };
  const link: ServerLink = {
    peer: `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}`,
    get sendBlocked() {
      return blocked;
    },
    get unsentBytes() {
      return socket.writableLength;
    },
    send(chunks) {
      if (socket.destroyed) return false;
      socket.cork();
      chunks.forEach((c, i) => (i === chunks.length - 1 ? socket.write(c, written) : socket.write(c)));
      socket.uncork();
      if (socket.writableLength > unsentBytesMax) blocked = true;
      return !blocked;
    },
    pause() {
      if (paused) return;
      paused = true;
      socket.pause();
    },
    resume() {
      if (!paused) return;
      paused = false;
      deliver();
      if (!paused) socket.resume();
    },
    end() {
      socket.end();
    },
    abort() {
      socket.destroy();
    },
  };
  const handlers = accept(link);
  /**
   * Hand out whole frames until paused or out of bytes; report a frame left incomplete;
   * then report the peer's end once.
   */
  const deliver = (): void => {
    while (!paused && !socket.destroyed) {
      let frame: Buffer | null;
      try {
        frame = decoder.next();
      } catch (err) {
        closedError = err instanceof Error ? err : new Error(String(err));
        socket.destroy();
        return;
      }
      if (frame === null) break;
      handlers.frame(frame);
    }
    if (!paused && !socket.destroyed && decoder.bufferedBytes > 0) handlers.partialFrame(decoder.bufferedBytes, decoder.nextFrameSize);
    if (ended && !endDelivered && !paused && !socket.destroyed) {
      endDelivered = true;
      handlers.ended();
    }
  };
  socket.on('data', (chunk: Buffer) => {
    decoder.push(chunk);
    deliver();
  });
  socket.on('end', () => {
    ended = true;
    deliver();
  });
  socket.on('error', (err) => {
    closedError ??= err;
  });
  socket.on('close', () => {
    decoder.clear();
    handlers.closed(closedError);
  });
}
