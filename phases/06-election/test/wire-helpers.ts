/**
 * Test plumbing for this phase's network tests: a broker on a free loopback port in a
 * temporary directory (removed on stop), with its log lines captured; and a raw protocol
 * client that sends arbitrary bytes and reads whole response frames, for the tests that
 * must misbehave in ways the real client never would.
 *
 * Since phase 3 every request names a topic and partition: each test broker starts with
 * topic `TOPIC` of one partition (phase 2's single log), and `onTopic`, `fetchOne` and
 * `partitionOf` address it, so the phase-2 tests read as before.
 */
import { type Socket, connect } from 'node:net';
import { join } from 'node:path';
import { afterEach } from 'vitest';
import { type TempDir, tempDir } from '../../../shared/src/testing.ts';
import type { ApiCodec, ResponseBase } from '../src/protocol/api.ts';
import { ByteReader } from '../src/protocol/bytes.ts';
import type { FetchPartitionResult, FetchRequest, FetchResponse } from '../src/protocol/fetch.ts';
import { FrameDecoder } from '../src/protocol/frame-decoder.ts';
import { decodeResponseHeader, encodeRequestFrame } from '../src/protocol/header.ts';
import { Broker, type BrokerDeps } from '../src/server/broker.ts';
import type { BrokerConfig } from '../src/server/config.ts';
import { realSeams } from '../src/seams/real.ts';

/** The topic every test broker starts with: one partition, like phase 2's single log. */
export const TOPIC = 'test';

/** A request addressed to partition 0 of `TOPIC`. */
export function onTopic<T extends object>(req: T): T & { topic: string; partition: number } {
  return { topic: TOPIC, partition: 0, ...req };
}

/** A Fetch of one partition (default: partition 0 of `TOPIC`), shaped like phase 2's. */
export function fetchOne(req: { offset: number; maxBytes: number; maxWaitMs: number }, partition = 0, topic = TOPIC): FetchRequest {
  return { maxWaitMs: req.maxWaitMs, maxBytes: req.maxBytes, topics: [{ topic, partitions: [{ partition, offset: req.offset, maxBytes: req.maxBytes }] }] };
}

/** The one partition of a Fetch response; a request-level error comes back in the same shape. */
export function partitionOf(res: FetchResponse): FetchPartitionResult {
  const result = res.topics[0]?.partitions[0];
  if (result !== undefined && res.errorCode === 0) return result;
  return { partition: -1, errorCode: res.errorCode, errorMessage: res.errorMessage, highWatermark: -1, logStartOffset: -1, records: [] };
}

/** A broker started for one test. */
export interface TestBroker {
  readonly broker: Broker;
  readonly port: number;
  readonly dir: string;
  /** Lines the broker logged (refused connections, close reasons). */
  readonly logs: string[];
  /** Close the broker gracefully and remove its directory. */
  stop(): Promise<void>;
}

/** Start a broker on 127.0.0.1, port 0, in a fresh temporary directory, with topic `TOPIC` (1 partition). */
export async function startBroker(config: Partial<BrokerConfig> = {}, deps: Partial<BrokerDeps> = {}): Promise<TestBroker> {
  const tmp: TempDir = tempDir('wire-');
  const logs: string[] = [];
  const dir = join(tmp.path, 'log');
  try {
    const broker = await Broker.start({ dir, port: 0, ...config }, { ...realSeams(), logger: (line) => logs.push(line), ...deps });
    if (broker.topics().every((t) => t.name !== TOPIC)) await broker.createTopic({ name: TOPIC, partitions: 1 });
    return {
      broker,
      port: broker.port,
      dir,
      logs,
      async stop() {
        try {
          await broker.close();
        } finally {
          tmp.remove();
        }
      },
    };
  } catch (err) {
    tmp.remove();
    throw err;
  }
}

/** A protocol client with no manners: sends any bytes, reads whole frames. */
export class RawClient {
  readonly socket: Socket;
  readonly #decoder = new FrameDecoder(64 * 1024 * 1024, 4);
  readonly #frames: Buffer[] = [];
  #waiter: (() => void) | null = null;
  #closed = false;
  /** Resolves when the socket has closed. */
  readonly closed: Promise<void>;

  private constructor(socket: Socket) {
    this.socket = socket;
    this.closed = new Promise((resolve) => socket.once('close', () => resolve()));
    socket.on('data', (chunk: Buffer) => {
      this.#decoder.push(chunk);
      for (let f = this.#decoder.next(); f !== null; f = this.#decoder.next()) this.#frames.push(f);
      this.#wake();
    });
    socket.on('error', () => undefined); // a reset is an expected outcome in these tests; `closed` reports it
    socket.on('close', () => {
      this.#closed = true;
      this.#wake();
    });
  }

  /** Connect to 127.0.0.1:port. */
  static async connect(port: number): Promise<RawClient> {
    return await new Promise((resolve, reject) => {
      const socket = connect({ host: '127.0.0.1', port });
      socket.once('connect', () => resolve(new RawClient(socket)));
      socket.once('error', reject);
    });
  }

  /** Whether the socket has closed. */
  get isClosed(): boolean {
    return this.#closed;
  }

  /** Write raw bytes. */
  send(bytes: Buffer | readonly Buffer[]): void {
    this.socket.write(Buffer.isBuffer(bytes) ? bytes : Buffer.concat(bytes));
  }

  /** Send a well-formed request for `api` with the given correlation id. */
  sendRequest<Req, Res extends ResponseBase>(api: ApiCodec<Req, Res>, req: Req, correlationId: number, apiVersion = api.minVersion): void {
    this.send(encodeRequestFrame({ apiKey: api.apiKey, apiVersion, correlationId, clientId: 'raw' }, api.encodeRequest(req)));
  }

  /** The next response frame (without size prefix); rejects if the socket closes first or after `timeoutMs`. */
  async nextFrame(timeoutMs = 10_000): Promise<Buffer> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const f = this.#frames.shift();
      if (f !== undefined) return f;
      if (this.#closed) throw new Error('connection closed before a response frame arrived');
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no response frame within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.#waiter = () => {
          clearTimeout(t);
          resolve();
        };
      });
    }
  }

  /** Read the next response and decode it as `api`'s response. */
  async nextResponse<Req, Res extends ResponseBase>(api: ApiCodec<Req, Res>): Promise<{ correlationId: number; res: Res }> {
    const r = new ByteReader(await this.nextFrame());
    const correlationId = decodeResponseHeader(r);
    return { correlationId, res: api.decodeResponse(r) };
  }

  /** Frames received and not yet read. */
  get bufferedFrames(): number {
    return this.#frames.length;
  }

  /** Close and wait for the close. */
  async close(): Promise<void> {
    this.socket.destroy();
    await this.closed;
  }

  #wake(): void {
    const w = this.#waiter;
    this.#waiter = null;
    w?.();
  }
}

/** Per-test resources: everything made through these helpers is closed after each test, newest first. */
export interface TestResources {
  /** Run `fn` after the current test (cleanups run in reverse order of registration). */
  defer(...fns: (() => Promise<unknown> | unknown)[]): void;
  /** `startBroker`, stopped after the test. */
  broker(config?: Partial<BrokerConfig>, deps?: Partial<BrokerDeps>): Promise<TestBroker>;
  /** `RawClient.connect`, closed after the test. */
  raw(port: number): Promise<RawClient>;
}

/**
 * Register an `afterEach` that releases what the returned helpers create. Call once at the
 * top of a test file.
 * @example
 * const t = testResources();
 * it('...', async () => { const b = await t.broker(); const c = await t.raw(b.port); });
 */
export function testResources(): TestResources {
  const cleanups: (() => Promise<unknown> | unknown)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });
  const defer = (...fns: (() => Promise<unknown> | unknown)[]): void => {
    cleanups.push(...fns);
  };
  return {
    defer,
    async broker(config = {}, deps = {}) {
      const b = await startBroker(config, deps);
      defer(() => b.stop());
      return b;
    },
    async raw(port) {
      const c = await RawClient.connect(port);
      defer(() => c.close());
      return c;
    },
  };
}
