/**
 * The producer: `send()` records, get back their offsets once the broker has made them
 * durable. The API is KafkaJS's shape (`producer.send({ messages: [{ key, value }] })`);
 * the batching is Kafka's Java producer:
 *
 * - records collect in an open batch; it is sent when it reaches `batchBytesMax` (Kafka
 *   `batch.size`) or when it is `lingerMs` old (Kafka `linger.ms`), whichever comes first;
 * - at most `maxInFlight` produce requests are outstanding on the connection (Kafka
 *   `max.in.flight.requests.per.connection`); while all are busy, records keep joining
 *   the open batch, so batches grow by themselves under load even with `lingerMs` 0;
 * - records waiting in the producer are bounded by `bufferBytesMax` (Kafka
 *   `buffer.memory`); a `send()` that would exceed it fails at once with
 *   `ClientLimitError` rather than queueing without limit.
 *
 * Each batch is one RecordBatch v2 (phase 1's `encodeBatch`) carried by one Produce
 * request; the broker appends it atomically, so its records get contiguous offsets and a
 * batch's result is just its base offset. Requests on one connection are answered in
 * order, so the offsets of successive `send()`s ascend. A failed request fails every
 * `send()` with a record in it (no retries in this phase: phase 8 makes them safe).
 */
import type { Clock, TimerHandle } from '../seams/clock.ts';
import { ErrorCode, ProtocolError } from '../protocol/errors.ts';
import { Produce } from '../protocol/produce.ts';
import { type RecordInput, encodeBatch } from '../log/record-batch.ts';
import { type ClientOptions, Connection } from './connection.ts';
import { ClientLimitError, brokerErrorFor } from './errors.ts';

/** Producer settings. */
export interface ProducerOptions extends ClientOptions {
  /** How long an open batch may wait for more records. Default 0 (send as soon as a request slot is free). */
  lingerMs?: number;
  /** Target encoded size of a batch. Default 16384 (Kafka's `batch.size`). */
  batchBytesMax?: number;
  /** Produce requests outstanding at once. Default 5 (Kafka's default). */
  maxInFlight?: number;
  /** Bytes of records accepted but not yet acknowledged. Default 32 MiB (Kafka's `buffer.memory`). */
  bufferBytesMax?: number;
  /** -1 or 1; both mean "after fsync" until replication (phase 5). Default -1. */
  acks?: number;
}

/** One message to send; strings are encoded as UTF-8. */
export interface ProducerMessage {
  key?: Buffer | string | null;
  value: Buffer | string | null;
}

/** Where a sent message landed. */
export interface RecordMetadata {
  offset: number;
}

/** One `send()` call waiting for its records' offsets. */
interface SendCall {
  readonly results: RecordMetadata[];
  remaining: number;
  settled: boolean;
  readonly resolve: (r: RecordMetadata[]) => void;
  readonly reject: (e: unknown) => void;
}

interface Batch {
  readonly records: RecordInput[];
  /** For record i: the send() call it belongs to, and its index there. */
  readonly owners: SendCall[];
  readonly ownerIndexes: number[];
  bytes: number;
  readonly readyAtMs: number;
}

/** Upper bound of a record's encoding beyond its key and value bytes (length, attributes, deltas, lengths, header count varints). */
const RECORD_OVERHEAD_BYTES_MAX = 5 + 1 + 5 + 5 + 5 + 5 + 1;
/** RecordBatch v2 header bytes (phase 1's BATCH_HEADER_BYTES). */
const BATCH_OVERHEAD_BYTES = 61;

/**
 * A batching, pipelining producer.
 * @example
 * const producer = new Producer({ port: 9092, lingerMs: 5, ...realSeams() });
 * await producer.connect();
 * const [{ offset }] = await producer.send({ messages: [{ value: 'hello' }] });
 * await producer.disconnect();
 */
export class Producer {
  readonly #opts: ProducerOptions;
  readonly #clock: Clock;
  readonly #lingerMs: number;
  readonly #batchBytesMax: number;
  readonly #maxInFlight: number;
  readonly #bufferBytesMax: number;
  #conn: Connection | null = null;
  #open: Batch | null = null;
  #ready: Batch[] = [];
  #inFlight = 0;
  #requestsSent = 0;
  #bufferedBytes = 0;
  #lingerTimer: TimerHandle | null = null;
  #flushing = 0;
  #idleWaiters: (() => void)[] = [];

  constructor(opts: ProducerOptions) {
    this.#opts = opts;
    this.#clock = opts.clock;
    this.#lingerMs = opts.lingerMs ?? 0;
    this.#batchBytesMax = opts.batchBytesMax ?? 16_384;
    this.#maxInFlight = opts.maxInFlight ?? 5;
    this.#bufferBytesMax = opts.bufferBytesMax ?? 32 * 1024 * 1024;
    for (const [name, v, min] of [
      ['lingerMs', this.#lingerMs, 0],
      ['batchBytesMax', this.#batchBytesMax, 1],
      ['maxInFlight', this.#maxInFlight, 1],
      ['bufferBytesMax', this.#bufferBytesMax, 1],
    ] as const) {
      if (!Number.isInteger(v) || v < min) throw new RangeError(`Producer: ${name} must be an integer >= ${min}, got ${v}`);
    }
  }

  /** Connect to the broker (and check it speaks Produce v0). */
  async connect(): Promise<void> {
    if (this.#conn !== null) return;
    this.#conn = await Connection.connectClient(this.#opts, 'producer', { maxInFlight: this.#maxInFlight + 1 });
  }

  /** Bytes of records accepted by `send()` and not yet acknowledged or failed. */
  get bufferedBytes(): number {
    return this.#bufferedBytes;
  }

  /** Produce requests currently awaiting an answer. */
  get inFlight(): number {
    return this.#inFlight;
  }

  /** Produce requests sent so far (one batch, one fsync on the broker, each). */
  get requestsSent(): number {
    return this.#requestsSent;
  }

  /**
   * Send messages; resolves with one `{ offset }` per message, in order, once all are
   * durable on the broker. Rejects if any of them failed (the others may have landed).
   */
  send(req: { messages: readonly ProducerMessage[] }): Promise<RecordMetadata[]> {
    if (this.#conn === null) return Promise.reject(new ClientLimitError('Producer.send before connect() (or after disconnect())'));
    const n = req.messages.length;
    if (n === 0) return Promise.resolve([]);
    const timestamp = this.#clock.now();
    const records: RecordInput[] = [];
    const sizes: number[] = [];
    let bytes = 0;
    for (const m of req.messages) {
      const key = toBuffer(m.key);
      const value = toBuffer(m.value);
      const size = RECORD_OVERHEAD_BYTES_MAX + (key?.length ?? 0) + (value?.length ?? 0);
      records.push({ key, value, timestamp });
      sizes.push(size);
      bytes += size;
    }
    if (this.#bufferedBytes + bytes > this.#bufferBytesMax) {
      return Promise.reject(
        new ClientLimitError(`producer buffer full: ${this.#bufferedBytes} + ${bytes} bytes > bufferBytesMax ${this.#bufferBytesMax}`),
      );
    }
    this.#bufferedBytes += bytes;
    return new Promise<RecordMetadata[]>((resolve, reject) => {
      const call: SendCall = { results: new Array<RecordMetadata>(n), remaining: n, settled: false, resolve, reject };
      for (let i = 0; i < n; i++) this.#append(records[i] as RecordInput, sizes[i] as number, call, i);
      this.#drain();
    });
  }

  /** Send everything collected now, ignoring `lingerMs`, and wait until all of it is answered. */
  async flush(): Promise<void> {
    this.#flushing++;
    try {
      this.#drain();
      while (this.#open !== null || this.#ready.length > 0 || this.#inFlight > 0) {
        await new Promise<void>((resolve) => this.#idleWaiters.push(resolve));
      }
    } finally {
      this.#flushing--;
    }
  }

  /** Flush, then close the connection. */
  async disconnect(): Promise<void> {
    if (this.#conn === null) return;
    await this.flush();
    const conn = this.#conn;
    this.#conn = null;
    if (this.#lingerTimer !== null) this.#clock.clearTimeout(this.#lingerTimer);
    this.#lingerTimer = null;
    await conn.close();
  }

  #append(record: RecordInput, size: number, call: SendCall, index: number): void {
    let batch = this.#open;
    if (batch !== null && batch.records.length > 0 && batch.bytes + size > this.#batchBytesMax) {
      this.#ready.push(batch);
      batch = null;
    }
    if (batch === null) {
      batch = { records: [], owners: [], ownerIndexes: [], bytes: BATCH_OVERHEAD_BYTES, readyAtMs: this.#clock.now() + this.#lingerMs };
    }
    batch.records.push(record);
    batch.owners.push(call);
    batch.ownerIndexes.push(index);
    batch.bytes += size;
    if (batch.bytes >= this.#batchBytesMax) {
      this.#ready.push(batch);
      this.#open = null;
    } else {
      this.#open = batch;
    }
  }

  /** Send ready batches while request slots are free; arm the linger timer for the open one. */
  #drain(): void {
    while (this.#inFlight < this.#maxInFlight) {
      let batch = this.#ready.shift();
      if (batch === undefined && this.#open !== null && (this.#flushing > 0 || this.#clock.now() >= this.#open.readyAtMs)) {
        batch = this.#open;
        this.#open = null;
      }
      if (batch === undefined) break;
      this.#sendBatch(batch);
    }
    if (this.#open !== null && this.#lingerTimer === null && this.#inFlight < this.#maxInFlight) {
      this.#lingerTimer = this.#clock.setTimeout(() => {
        this.#lingerTimer = null;
        this.#drain();
      }, this.#open.readyAtMs - this.#clock.now());
    }
  }

  #sendBatch(batch: Batch): void {
    const conn = this.#conn;
    this.#inFlight++;
    this.#requestsSent++;
    const settle = (err: unknown, baseOffset: number): void => {
      this.#inFlight--;
      this.#bufferedBytes -= batch.bytes - BATCH_OVERHEAD_BYTES;
      for (let i = 0; i < batch.records.length; i++) {
        const call = batch.owners[i] as SendCall;
        if (call.settled) continue;
        if (err !== null) {
          call.settled = true;
          call.reject(err);
          continue;
        }
        call.results[batch.ownerIndexes[i] as number] = { offset: baseOffset + i };
        if (--call.remaining === 0) {
          call.settled = true;
          call.resolve(call.results);
        }
      }
      this.#drain();
      if (this.#inFlight === 0) for (const wake of this.#idleWaiters.splice(0)) wake();
    };
    if (conn === null) {
      settle(new ClientLimitError('producer disconnected'), -1);
      return;
    }
    let encoded: Buffer;
    try {
      encoded = encodeBatch(batch.records, { baseTimestamp: batch.records[0]?.timestamp });
    } catch (err) {
      settle(err, -1);
      return;
    }
    conn.request(Produce, { acks: this.#opts.acks ?? -1, timeoutMs: this.#opts.requestTimeoutMs ?? 30_000, records: [encoded] }).then(
      (res) => {
        if (res.errorCode !== ErrorCode.NONE) settle(brokerErrorFor(res.errorCode, res.errorMessage), -1);
        else if (res.lastOffset - res.baseOffset + 1 !== batch.records.length) {
          settle(new ProtocolError(`broker acknowledged ${res.lastOffset - res.baseOffset + 1} records for a batch of ${batch.records.length}`), -1);
        } else settle(null, res.baseOffset);
      },
      (err: unknown) => settle(err, -1),
    );
  }
}

function toBuffer(v: Buffer | string | null | undefined): Buffer | null {
  if (v === null || v === undefined) return null;
  return typeof v === 'string' ? Buffer.from(v, 'utf8') : v;
}
