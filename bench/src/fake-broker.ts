/**
 * A stand-in broker for testing the harness itself (`--phase fake`); it is not a
 * phase and its figures mean nothing about the course. It has the same CLI shape as
 * a phase broker (`serve --dir D --port P [--host H]`, prints `listening on H:P`,
 * exits on SIGTERM) and, like phase 2, makes each produce request durable with one
 * append + fdatasync at a time before acknowledging it.
 *
 * Frames (big-endian): [u32 length of the rest][u8 type][u32 correlation id][body].
 *   type 1 produce, body [u32 n] n × [u32 len][value]  → reply body [u32 base offset]
 *   type 2 fetch,   body [u32 offset]                 → reply body [u32 n] n × [u32 len][value]
 * A reply is [u32 length][u8 type][u32 correlation id][reply body].
 */
import { openSync, closeSync, writeSync, fdatasyncSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

const fetchRecordsMax = 500;

function frame(type: number, correlationId: number, body: Buffer): Buffer {
  const head = Buffer.alloc(9);
  head.writeUInt32BE(5 + body.length, 0);
  head.writeUInt8(type, 4);
  head.writeUInt32BE(correlationId, 5);
  return Buffer.concat([head, body]);
}

function main(): void {
  const { positionals, values } = parseArgs({
    allowPositionals: true,
    options: { dir: { type: 'string' }, port: { type: 'string', default: '0' }, host: { type: 'string', default: '127.0.0.1' } },
  });
  if (positionals[0] !== 'serve' || values.dir === undefined) {
    process.stderr.write('usage: fake-broker serve --dir D --port P\n');
    process.exit(2);
  }
  const fd = openSync(join(values.dir, 'fake.log'), 'a');
  const stored: Buffer[] = [];
  let chain = Promise.resolve();
  const handle = (socket: Socket, type: number, correlationId: number, body: Buffer): void => {
    if (type === 1) {
      const n = body.readUInt32BE(0);
      const records: Buffer[] = [];
      for (let i = 0, at = 4; i < n; i++) {
        const len = body.readUInt32BE(at);
        records.push(Buffer.from(body.subarray(at + 4, at + 4 + len)));
        at += 4 + len;
      }
      // One durable append at a time, like phase 2: write, fdatasync, then ack.
      chain = chain.then(() => {
        writeSync(fd, body);
        fdatasyncSync(fd);
        const base = Buffer.alloc(4);
        base.writeUInt32BE(stored.length, 0);
        stored.push(...records);
        socket.write(frame(1, correlationId, base));
      });
    } else {
      const offset = body.readUInt32BE(0);
      const slice = stored.slice(offset, offset + fetchRecordsMax);
      const parts: Buffer[] = [Buffer.alloc(4)];
      (parts[0] as Buffer).writeUInt32BE(slice.length, 0);
      for (const r of slice) {
        const len = Buffer.alloc(4);
        len.writeUInt32BE(r.length, 0);
        parts.push(len, r);
      }
      socket.write(frame(2, correlationId, Buffer.concat(parts)));
    }
  };
  const server = createServer((socket) => {
    let buf = Buffer.alloc(0);
    socket.on('error', () => socket.destroy());
    socket.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      while (buf.length >= 4 && buf.length >= 4 + buf.readUInt32BE(0)) {
        const len = buf.readUInt32BE(0);
        handle(socket, buf.readUInt8(4), buf.readUInt32BE(5), buf.subarray(9, 4 + len));
        buf = buf.subarray(4 + len);
      }
    });
  });
  server.listen(Number(values.port), values.host, () => {
    const a = server.address();
    if (a !== null && typeof a === 'object') process.stdout.write(`listening on ${values.host}:${a.port}\n`);
  });
  const shutdown = (): void => {
    server.close();
    closeSync(fd);
    process.exit(0);
  };
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);
}

main();
