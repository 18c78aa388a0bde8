/**
 * The Transport seam, client side (DESIGN §3): "connect to host:port and exchange whole
 * frames". `Connection` speaks the protocol on top of a `FrameLink` and never touches a
 * socket, so the phase-7 simulator can hand it an in-memory link with delays, drops and
 * partitions, and the `demo` command can wrap the real one to print every frame.
 * `tcpTransport` is the real implementation: node:net plus the shared `FrameDecoder`.
 */
import { type Socket, connect as netConnect } from 'node:net';
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

/** Opens links. */
export interface Transport {
  /** Connect; resolves when frames can be sent. */
  connect(host: string, port: number, handlers: FrameHandlers, options: { frameBytesMax: number }): Promise<FrameLink>;
}

/**
 * Frames over TCP.
 * @example
 * const link = await tcpTransport.connect('127.0.0.1', 9092, { frame: onFrame, closed: onClosed }, { frameBytesMax: 1 << 26 });
 */
export const tcpTransport: Transport = {
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
