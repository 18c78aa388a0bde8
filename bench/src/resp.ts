/**
 * A minimal RESP2 client over node:net, just enough to drive Redis Streams as the
 * peer: commands are encoded as arrays of bulk strings, any number may be written
 * before the replies come back (pipelining), and replies are matched to commands in
 * order (Redis answers each connection's commands in order).
 *
 * Wire layout (RESP2): a command is `*<n>\r\n` then n × `$<len>\r\n<bytes>\r\n`.
 * Replies start with a type byte: `+` simple string, `-` error, `:` integer,
 * `$` bulk string (`$-1` = null), `*` array (`*-1` = null), each line ending `\r\n`.
 */
import { connect as netConnect, type Socket } from 'node:net';

/** A decoded reply. */
export type RespValue = string | number | Buffer | null | RespValue[];

/** An error reply (`-ERR ...`) from the server. */
export class RespError extends Error {
  readonly code = 'RESP_ERROR';
}

/** Encode one command as a RESP array of bulk strings. */
export function encodeCommand(args: readonly (string | Buffer)[]): Buffer {
  const parts: Buffer[] = [Buffer.from(`*${args.length}\r\n`)];
  for (const a of args) {
    const b = typeof a === 'string' ? Buffer.from(a) : a;
    parts.push(Buffer.from(`$${b.length}\r\n`), b, Buffer.from('\r\n'));
  }
  return Buffer.concat(parts);
}

const incomplete = Symbol('incomplete');
type Parsed = { value: RespValue | RespError; next: number } | typeof incomplete;

function parseAt(buf: Buffer, pos: number): Parsed {
  const eol = buf.indexOf('\r\n', pos);
  if (eol < 0) return incomplete;
  const type = String.fromCharCode(buf[pos] ?? 0);
  const line = buf.toString('utf8', pos + 1, eol);
  const after = eol + 2;
  switch (type) {
    case '+':
      return { value: line, next: after };
    case '-':
      return { value: new RespError(line), next: after };
    case ':':
      return { value: Number(line), next: after };
    case '$': {
      const len = Number(line);
      if (len < 0) return { value: null, next: after };
      if (buf.length < after + len + 2) return incomplete;
      return { value: buf.subarray(after, after + len), next: after + len + 2 };
    }
    case '*': {
      const n = Number(line);
      if (n < 0) return { value: null, next: after };
      const items: RespValue[] = [];
      let at = after;
      for (let i = 0; i < n; i++) {
        const item = parseAt(buf, at);
        if (item === incomplete) return incomplete;
        if (item.value instanceof RespError) return item; // nested errors do not occur in the commands we send
        items.push(item.value);
        at = item.next;
      }
      return { value: items, next: at };
    }
    default:
      throw new RespError(`protocol error: unexpected type byte ${JSON.stringify(type)}`);
  }
}

/** Incremental reply parser: feed bytes as they arrive, get whole replies out. */
export class RespParser {
  private buf: Buffer = Buffer.alloc(0);

  /** Append bytes and return every reply completed by them, in order. */
  push(chunk: Buffer): Array<RespValue | RespError> {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    const out: Array<RespValue | RespError> = [];
    let pos = 0;
    for (;;) {
      const r = parseAt(this.buf, pos);
      if (r === incomplete) break;
      out.push(r.value);
      pos = r.next;
    }
    this.buf = this.buf.subarray(pos);
    return out;
  }
}

/** One pipelined connection. */
export class RespConnection {
  private readonly parser = new RespParser();
  private readonly waiting: Array<{ resolve: (v: RespValue) => void; reject: (e: Error) => void }> = [];
  private closedError: Error | null = null;

  private constructor(private readonly socket: Socket) {
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => {
      let replies: Array<RespValue | RespError>;
      try {
        replies = this.parser.push(chunk);
      } catch (e) {
        this.failAll(e instanceof Error ? e : new Error(String(e)));
        socket.destroy();
        return;
      }
      for (const r of replies) {
        const w = this.waiting.shift();
        if (!w) continue;
        if (r instanceof RespError) w.reject(r);
        else w.resolve(r);
      }
    });
    socket.on('error', (e) => this.failAll(e));
    socket.on('close', () => this.failAll(new Error('connection closed')));
  }

  /** Connect to host:port. */
  static async connect(port: number, host = '127.0.0.1'): Promise<RespConnection> {
    const socket = netConnect({ port, host });
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    return new RespConnection(socket);
  }

  private failAll(e: Error): void {
    this.closedError ??= e;
    for (const w of this.waiting.splice(0)) w.reject(e);
  }

  /** Send several commands in one write; resolves with their replies in order. */
  async pipeline(commands: ReadonlyArray<readonly (string | Buffer)[]>): Promise<RespValue[]> {
    if (this.closedError) throw this.closedError;
    const replies = commands.map(
      () => new Promise<RespValue>((resolve, reject) => this.waiting.push({ resolve, reject })),
    );
    this.socket.write(Buffer.concat(commands.map(encodeCommand)));
    return await Promise.all(replies);
  }

  /** Send one command. */
  async command(args: readonly (string | Buffer)[]): Promise<RespValue> {
    const [reply] = await this.pipeline([args]);
    return reply ?? null;
  }

  /** Close the connection. */
  async close(): Promise<void> {
    if (this.socket.destroyed) return;
    await new Promise<void>((resolve) => {
      this.socket.once('close', () => resolve());
      this.socket.end();
    });
  }
}
