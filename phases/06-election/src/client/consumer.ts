/**
 * The consumer: read records of a topic from an offset, in order, with a fetch loop. It
 * reads one partition (`partition` given) or every partition of the topic (the partition
 * count comes from Metadata). Each Fetch asks for all of its partitions at once and
 * returns whole stored batches per partition; the consumer decodes them with phase 1's
 * `decodeBatch` (which checks each CRC again: the bytes crossed a network) and drops
 * records before the requested offset, since the first batch may start earlier. When
 * every partition is caught up, the broker holds the fetch for up to `maxWaitMs` and
 * answers as soon as a record arrives on any of them (long poll), so following a topic
 * costs no busy loop.
 *
 * Order: within a partition, records come in offset order; across partitions there is no
 * order at all (records of different partitions were appended independently). That is
 * the deal partitions make: a key's records share a partition, so per-key order holds.
 *
 * The consumer keeps a position per partition: the offset of the next record it will
 * hand out. Each starts at `fromOffset`, or at the partition's log start offset
 * (ListOffsets earliest) if none is given. There are no consumer groups or committed
 * offsets yet (phase 4).
 *
 * In a cluster (phase 5) each partition is read from its leader: ListOffsets and Fetch
 * go to the broker the metadata names, one Fetch per leader at a time
 * (client/leader-fetcher.ts), and `poll` returns as soon as one of them answers.
 * NOT_LEADER_OR_FOLLOWER or a lost connection refreshes the metadata and tries again,
 * within the `retries` budget (client/brokers.ts). A consumer sees only records below
 * the high watermark: the leader serves nothing that is not on every in-sync replica.
 */
import { Fetch, type FetchPartitionResult } from '../protocol/fetch.ts';
import { EARLIEST_TIMESTAMP, ListOffsets } from '../protocol/list-offsets.ts';
import { splitBatches } from '../protocol/records.ts';
import { type LogRecord, decodeBatch } from '../log/record-batch.ts';
import { UnknownTopicOrPartitionError } from '../topics/errors.ts';
import { BrokerPool } from './brokers.ts';
import type { ClientOptions } from './connection.ts';
import { ClientLimitError, throwIfError } from './errors.ts';
import { LeaderFetcher } from './leader-fetcher.ts';

/** Consumer settings. */
export interface ConsumerOptions extends ClientOptions {
  /** The topic to read. */
  topic: string;
  /** Read only this partition; default: every partition of the topic. */
  partition?: number;
  /** First offset to read in each partition; default: each partition's log start offset. */
  fromOffset?: number;
  /** Soft cap on the bytes of one fetch, and of each partition in it (at least one batch always comes back). Default 1 MiB. */
  maxBytes?: number;
  /** How long the broker may hold a fetch when there is nothing new. Default 500 ms. */
  maxWaitMs?: number;
}

/** A record as the consumer hands it out: where it came from, and the record. */
export interface ConsumedRecord extends LogRecord {
  topic: string;
  partition: number;
}

/** One partition's fetch outcome. */
export interface FetchResult {
  /** Records at or after the requested offset. */
  records: ConsumedRecord[];
  /** The partition's high watermark (= log end offset until phase 5) when the broker answered. */
  highWatermark: number;
  logStartOffset: number;
  /** Where the next fetch should start. */
  nextOffset: number;
}

/**
 * A fetch-loop consumer of one topic.
 * @example
 * const consumer = new Consumer({ port: 9092, topic: 'orders', ...realSeams() });
 * await consumer.connect();
 * const records = await consumer.poll(); // from every partition, each from its position
 * await consumer.disconnect();
 */
export class Consumer {
  readonly #opts: ConsumerOptions;
  readonly #maxBytes: number;
  readonly #maxWaitMs: number;
  #pool: BrokerPool | null = null;
  #fetcher: LeaderFetcher | null = null;
  /** Position of each partition read, in partition order. */
  readonly #positions = new Map<number, number>();
  /** Last high watermark seen per partition. */
  readonly #highWatermarks = new Map<number, number>();
  /** Which partition goes first in the next poll, so no partition is always last. */
  #firstIndex = 0;
  #running = false;

  constructor(opts: ConsumerOptions) {
    this.#opts = opts;
    this.#maxBytes = opts.maxBytes ?? 1024 * 1024;
    this.#maxWaitMs = opts.maxWaitMs ?? 500;
    if (!Number.isInteger(this.#maxBytes) || this.#maxBytes < 1) throw new RangeError(`Consumer: maxBytes must be >= 1, got ${this.#maxBytes}`);
    if (!Number.isInteger(this.#maxWaitMs) || this.#maxWaitMs < 0) throw new RangeError(`Consumer: maxWaitMs must be >= 0, got ${this.#maxWaitMs}`);
  }

  /** Connect, learn the topic's partitions, and find each start position if `fromOffset` was not given. */
  async connect(): Promise<void> {
    if (this.#pool !== null) return;
    const pool = new BrokerPool({ client: this.#opts, kind: 'consumer' });
    await pool.connect();
    this.#pool = pool;
    this.#fetcher = new LeaderFetcher(pool, this.#opts.clock, { partitionMaxBytes: this.#maxBytes, fetchMaxBytes: this.#maxBytes });
    try {
      const { partitions } = await pool.metadata.topic(this.#opts.topic);
      const wanted = this.#opts.partition;
      if (wanted !== undefined && (!Number.isSafeInteger(wanted) || wanted < 0 || wanted >= partitions)) {
        throw new UnknownTopicOrPartitionError(this.#opts.topic, wanted);
      }
      const read = wanted === undefined ? Array.from({ length: partitions }, (_, p) => p) : [wanted];
      // Pipelined: one round trip for all start positions.
      const starts = await Promise.all(read.map((p) => this.#opts.fromOffset ?? this.listOffset(EARLIEST_TIMESTAMP, p)));
      read.forEach((p, i) => this.#positions.set(p, starts[i] as number));
    } catch (err) {
      await this.disconnect();
      throw err;
    }
  }

  /** The partitions this consumer reads. */
  get partitions(): readonly number[] {
    return [...this.#positions.keys()];
  }

  /** Offset of the next record `run` will deliver, for a consumer of one partition. */
  get position(): number {
    return this.positionOf(this.#onlyPartition('position'));
  }

  /** Offset of the next record of `partition` that `poll` or `run` will deliver. */
  positionOf(partition: number): number {
    const position = this.#positions.get(partition);
    if (position === undefined) throw new RangeError(`Consumer: partition ${partition} is not read by this consumer`);
    return position;
  }

  /** Move the position of `partition` (default: every partition read) to `offset`. */
  seek(offset: number, partition?: number): void {
    if (!Number.isSafeInteger(offset) || offset < 0) throw new RangeError(`Consumer.seek: bad offset ${offset}`);
    for (const p of partition === undefined ? this.partitions : [partition]) {
      this.positionOf(p);
      this.#positions.set(p, offset);
    }
  }

  /**
   * ListOffsets for one partition (default: the only one read): -2 (EARLIEST_TIMESTAMP)
   * gives the log start offset, -1 (LATEST_TIMESTAMP) the log end offset.
   */
  async listOffset(timestamp: number, partition = this.#onlyPartition('listOffset')): Promise<number> {
    const topic = this.#opts.topic;
    return await this.#connection().leaderRequest(topic, partition, async (conn) => {
      const res = await conn.request(ListOffsets, { topic, partition, timestamp, currentLeaderEpoch: this.#connection().leaderEpochOf(topic, partition) });
      throwIfError(res);
      return res.offset;
    });
  }

  /** One fetch of one partition (default: the only one read) from `offset`: the records at or after it. */
  async fetch(offset: number, partition?: number): Promise<ConsumedRecord[]> {
    return (await this.fetchResult(offset, this.#maxWaitMs, partition)).records;
  }

  /** One fetch of one partition, with its watermarks (to tell whether the consumer is caught up). */
  async fetchResult(offset: number, maxWaitMs = this.#maxWaitMs, partition = this.#onlyPartition('fetchResult')): Promise<FetchResult> {
    const topic = this.#opts.topic;
    return await this.#connection().leaderRequest(topic, partition, async (conn) => {
      const res = await conn.request(
        Fetch,
        { maxWaitMs, maxBytes: this.#maxBytes, topics: [{ topic, partitions: [{ partition, offset, maxBytes: this.#maxBytes, currentLeaderEpoch: this.#connection().leaderEpochOf(topic, partition) }] }] },
        maxWaitMs,
      );
      throwIfError(res);
      const result = res.topics[0]?.partitions[0];
      if (result === undefined || result.partition !== partition) throw new ClientLimitError(`Fetch answered without partition ${topic}-${partition}`);
      return this.#decode(result, offset);
    });
  }

  /**
   * Fetch every partition read, each from its position, from its leader (one Fetch per
   * leader, all at once); resolves with the records of the fetches that answered first
   * and advances those partitions' positions past them (the others' answers come with a
   * later poll). Records of one partition are in offset order; partitions follow each
   * other (no order between them). Empty if nothing arrived within `maxWaitMs`.
   */
  async poll(maxWaitMs = this.#maxWaitMs): Promise<ConsumedRecord[]> {
    const topic = this.#opts.topic;
    const order = this.partitions;
    if (order.length === 0 || this.#fetcher === null) throw new ClientLimitError('Consumer.poll before connect()');
    const rotated = [...order.slice(this.#firstIndex % order.length), ...order.slice(0, this.#firstIndex % order.length)];
    this.#firstIndex++;
    const wants = rotated.map((partition) => ({ topic, partition, offset: this.positionOf(partition) }));
    const outcomes = await this.#fetcher.next(wants, maxWaitMs);
    const records: ConsumedRecord[] = [];
    for (const { want, result } of outcomes) {
      // A position moved by seek() since the fetch was sent wins over what it returned.
      if (this.#positions.get(want.partition) !== want.offset) continue;
      const fetched = this.#decode(result, want.offset);
      this.#positions.set(want.partition, fetched.nextOffset);
      records.push(...fetched.records);
    }
    return records;
  }

  /**
   * Whether every partition read has been fetched up to the high watermark the broker last
   * reported for it (false until each partition has been fetched once).
   */
  get caughtUp(): boolean {
    for (const [p, position] of this.#positions) {
      const hw = this.#highWatermarks.get(p);
      if (hw === undefined || position < hw) return false;
    }
    return true;
  }

  /**
   * Poll, hand each record to `eachMessage` (awaited, in order per partition), advance,
   * repeat. Resolves when `disconnect()` is called; rejects if a fetch or `eachMessage` fails.
   */
  async run(opts: { eachMessage(m: ConsumedRecord): Promise<void> | void }): Promise<void> {
    this.#running = true;
    try {
      while (this.#running) {
        let records: ConsumedRecord[];
        try {
          records = await this.poll();
        } catch (err) {
          if (!this.#running) return; // disconnect() closed the connection under the fetch
          throw err;
        }
        for (const record of records) {
          await opts.eachMessage(record);
          if (!this.#running) return;
        }
      }
    } finally {
      this.#running = false;
    }
  }

  /** Broker connections open now (at most one per broker of the cluster). */
  get connectionCount(): number {
    return this.#pool?.connectionCount ?? 0;
  }

  /** Stop `run` and close the connections. */
  async disconnect(): Promise<void> {
    this.#running = false;
    const pool = this.#pool;
    this.#pool = null;
    this.#fetcher = null;
    await pool?.close();
  }

  /** Decode one partition's batches, dropping records before `offset`; throw its error if it has one. */
  #decode(result: FetchPartitionResult, offset: number): FetchResult {
    throwIfError(result);
    const topic = this.#opts.topic;
    const records: ConsumedRecord[] = [];
    for (const chunk of result.records) {
      for (const batch of splitBatches(chunk)) {
        for (const record of decodeBatch(batch).records) if (record.offset >= offset) records.push({ topic, partition: result.partition, ...record });
      }
    }
    this.#highWatermarks.set(result.partition, result.highWatermark);
    const last = records[records.length - 1];
    return { records, highWatermark: result.highWatermark, logStartOffset: result.logStartOffset, nextOffset: last === undefined ? offset : last.offset + 1 };
  }

  #onlyPartition(what: string): number {
    const partitions = this.partitions;
    const [only] = partitions;
    if (partitions.length !== 1 || only === undefined) {
      throw new RangeError(`Consumer.${what}: this consumer reads ${partitions.length} partitions; name one`);
    }
    return only;
  }

  #connection(): BrokerPool {
    if (this.#pool === null) throw new ClientLimitError('Consumer used before connect() (or after disconnect())');
    return this.#pool;
  }
}
