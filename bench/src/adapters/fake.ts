/**
 * Adapter for the harness's own stand-in broker (fake-broker.ts), used to test the
 * harness end to end without any phase. Selected with `--phase fake`; never part of
 * the default choice or of `--all-phases`.
 */
import { openSync, closeSync, writeSync, fdatasyncSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { spawnPhaseBroker } from '../broker-process.ts';
import type { BenchConsumer, BenchProducer, TargetAdapter } from './types.ts';

class FakeConnection {
  private buf = Buffer.alloc(0);
  private nextId = 0;
  private readonly waiting = new Map<number, { resolve: (b: Buffer) => void; reject: (e: Error) => void }>();

  constructor(private readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.buf = Buffer.concat([this.buf, chunk]);
      while (this.buf.length >= 4 && this.buf.length >= 4 + this.buf.readUInt32BE(0)) {
        const len = this.buf.readUInt32BE(0);
        const id = this.buf.readUInt32BE(5);
        const body = this.buf.subarray(9, 4 + len);
        this.buf = this.buf.subarray(4 + len);
        this.waiting.get(id)?.resolve(body);
        this.waiting.delete(id);
      }
    });
    const fail = (e: Error): void => {
      for (const w of this.waiting.values()) w.reject(e);
      this.waiting.clear();
    };
    socket.on('error', fail);
    socket.on('close', () => fail(new Error('connection closed')));
  }

  static async open(port: number): Promise<FakeConnection> {
    const socket = connect({ port, host: '127.0.0.1' });
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    socket.setNoDelay(true);
    return new FakeConnection(socket);
  }

  request(type: number, body: Buffer): Promise<Buffer> {
    const id = this.nextId++;
    const head = Buffer.alloc(9);
    head.writeUInt32BE(5 + body.length, 0);
    head.writeUInt8(type, 4);
    head.writeUInt32BE(id, 5);
    const reply = new Promise<Buffer>((resolve, reject) => this.waiting.set(id, { resolve, reject }));
    this.socket.write(Buffer.concat([head, body]));
    return reply;
  }

  async close(): Promise<void> {
    this.socket.end();
    this.socket.destroy();
  }
}

function encodeValues(values: readonly Buffer[]): Buffer {
  const parts: Buffer[] = [Buffer.alloc(4)];
  (parts[0] as Buffer).writeUInt32BE(values.length, 0);
  for (const v of values) {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(v.length, 0);
    parts.push(len, v);
  }
  return Buffer.concat(parts);
}

/** The fake target adapter. */
export const adapter: TargetAdapter = {
  key: 'fake',
  phase: null,
  ack: 'after fdatasync, one request at a time',
  label: 'fake broker (harness self-test)',
  startBroker: (dir) => spawnPhaseBroker('bench/src/fake-broker.ts', dir),
  async createProducer(port): Promise<BenchProducer> {
    const conn = await FakeConnection.open(port);
    return { send: async (values) => void (await conn.request(1, encodeValues(values))), close: () => conn.close() };
  },
  async createConsumer(port): Promise<BenchConsumer> {
    const conn = await FakeConnection.open(port);
    return {
      fetch: async (offset) => {
        const req = Buffer.alloc(4);
        req.writeUInt32BE(offset, 0);
        const body = await conn.request(2, req);
        const n = body.readUInt32BE(0);
        let bytes = 0;
        for (let i = 0, at = 4; i < n; i++) {
          const len = body.readUInt32BE(at);
          bytes += len;
          at += 4 + len;
        }
        return { records: n, valueBytes: bytes, nextOffset: offset + n };
      },
      close: () => conn.close(),
    };
  },
  async openEmbeddedLog(dir) {
    const fd = openSync(join(dir, 'fake.log'), 'a');
    let chain = Promise.resolve();
    return {
      append: (values) => (chain = chain.then(() => {
        writeSync(fd, encodeValues(values));
        fdatasyncSync(fd);
      })),
      close: async () => {
        await chain;
        closeSync(fd);
      },
    };
  },
};
