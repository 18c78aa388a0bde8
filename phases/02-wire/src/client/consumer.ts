/**
 * The consumer: read records from an offset, in order, with a fetch loop. Each Fetch
 * returns whole stored batches; the consumer decodes them with phase 1's `decodeBatch`
 * (which checks each CRC again: the bytes crossed a network) and drops records before the
 * requested offset, since the first batch may start earlier. When the consumer is caught
 * up, the broker holds the fetch for up to `maxWaitMs` and answers as soon as a record
 * arrives (long poll), so following the log costs no busy loop.
 *
 * The consumer's position is the offset of the next record it will hand out. It starts at
 * `fromOffset`, or at the log start offset (ListOffsets earliest) if none is given. There
 * are no consumer groups or committed offsets yet (phase 4).
 */
import { Fetch } from '../protocol/fetch.ts';
import { EARLIEST_TIMESTAMP, ListOffsets } from '../protocol/list-offsets.ts';
import { splitBatches } from '../protocol/records.ts';
import { type LogRecord, decodeBatch } from '../log/record-batch.ts';
import { type ClientOptions, Connection } from './connection.ts';
import { ClientLimitError, throwIfError } from './errors.ts';

/** Consumer settings. */
export interface ConsumerOptions extends ClientOptions {
  /** First offset to read; default: the log start offset. */
  fromOffset?: number;
  /** Soft cap on the bytes of one fetch (at least one batch always comes back). Default 1 MiB. */
  maxBytes?: number;
  /** How long the broker may hold a fetch when there is nothing new. Default 500 ms. */
  maxWaitMs?: number;
}

/** One fetch's outcome. */
export interface FetchResult {
  /** Records at or after the requested offset. */
  records: LogRecord[];
  /** The log's high watermark (= log end offset until phase 5) when the broker answered. */
  highWatermark: number;
  logStartOffset: number;
  /** Where the next fetch should start. */
  nextOffset: number;
}

/**
 * A fetch-loop consumer.
 * @example
 * const consumer = new Consumer({ port: 9092, fromOffset: 0, ...realSeams() });
 * await consumer.connect();
 * const records = await consumer.fetch(0);
 * await consumer.disconnect();
 */
export class Consumer {
  readonly #opts: ConsumerOptions;
  readonly #maxBytes: number;
  readonly #maxWaitMs: number;
  #conn: Connection | null = null;
  #position = 0;
  #running = false;

  constructor(opts: ConsumerOptions) {
    this.#opts = opts;
    this.#maxBytes = opts.maxBytes ?? 1024 * 1024;
    this.#maxWaitMs = opts.maxWaitMs ?? 500;
    if (!Number.isInteger(this.#maxBytes) || this.#maxBytes < 1) throw new RangeError(`Consumer: maxBytes must be >= 1, got ${this.#maxBytes}`);
    if (!Number.isInteger(this.#maxWaitMs) || this.#maxWaitMs < 0) throw new RangeError(`Consumer: maxWaitMs must be >= 0, got ${this.#maxWaitMs}`);
  }

  /** Connect, and find the start position if `fromOffset` was not given. */
  async connect(): Promise<void> {
    if (this.#conn !== null) return;
    this.#conn = await Connection.connectClient(this.#opts, 'consumer');
    this.#position = this.#opts.fromOffset ?? (await this.listOffset(EARLIEST_TIMESTAMP));
  }

  /** Offset of the next record `run` will deliver. */
  get position(): number {
    return this.#position;
  }

  /** Move the position (the next `run` iteration reads from here). */
  seek(offset: number): void {
    if (!Number.isSafeInteger(offset) || offset < 0) throw new RangeError(`Consumer.seek: bad offset ${offset}`);
    this.#position = offset;
  }

  /** ListOffsets: -2 (EARLIEST_TIMESTAMP) gives the log start offset, -1 (LATEST_TIMESTAMP) the log end offset. */
  async listOffset(timestamp: number): Promise<number> {
    const res = await this.#connection().request(ListOffsets, { timestamp });
    throwIfError(res);
    return res.offset;
  }

  /** One fetch from `offset`: the records at or after it (empty if none arrived within `maxWaitMs`). */
  async fetch(offset: number): Promise<LogRecord[]> {
    return (await this.fetchResult(offset)).records;
  }

  /** One fetch, with the log's watermarks (to tell whether the consumer is caught up). */
  async fetchResult(offset: number, maxWaitMs = this.#maxWaitMs): Promise<FetchResult> {
    const res = await this.#connection().request(Fetch, { offset, maxBytes: this.#maxBytes, maxWaitMs }, maxWaitMs);
    throwIfError(res);
    const records: LogRecord[] = [];
    for (const chunk of res.records) {
      for (const batch of splitBatches(chunk)) {
        for (const record of decodeBatch(batch).records) if (record.offset >= offset) records.push(record);
      }
    }
    const last = records[records.length - 1];
    return { records, highWatermark: res.highWatermark, logStartOffset: res.logStartOffset, nextOffset: last === undefined ? offset : last.offset + 1 };
  }

  /**
   * Fetch from the position, hand each record to `eachMessage` (awaited, in order), advance,
   * repeat. Resolves when `disconnect()` is called; rejects if a fetch or `eachMessage` fails.
   */
  async run(opts: { eachMessage(m: LogRecord): Promise<void> | void }): Promise<void> {
    this.#running = true;
    try {
      while (this.#running) {
        let result: FetchResult;
        try {
          result = await this.fetchResult(this.#position);
        } catch (err) {
          if (!this.#running) return; // disconnect() closed the connection under the fetch
          throw err;
        }
        for (const record of result.records) {
          await opts.eachMessage(record);
          this.#position = record.offset + 1;
          if (!this.#running) return;
        }
      }
    } finally {
      this.#running = false;
    }
  }

  /** Stop `run` and close the connection. */
  async disconnect(): Promise<void> {
    this.#running = false;
    const conn = this.#conn;
    this.#conn = null;
    await conn?.close();
  }

  #connection(): Connection {
    if (this.#conn === null) throw new ClientLimitError('Consumer used before connect() (or after disconnect())');
    return this.#conn;
  }
}
