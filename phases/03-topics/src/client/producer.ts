/**
 * The producer: `send()` records to a topic, get back the partition and offset of each
 * once the broker has made them durable. The API is KafkaJS's shape
 * (`producer.send({ topic, messages: [{ key, value, partition? }] })`); the routing and
 * batching are Kafka's Java producer:
 *
 * - each record is routed to a partition first (client/partitioner.ts): the explicit
 *   `partition` if given, else murmur2 of the key, else the topic's sticky partition
 *   (KIP-480), which moves when a batch for it is sent. The partition count comes from a
 *   Metadata request (client/metadata.ts), cached; a send that names a partition the
 *   cache does not know, or a broker answering UNKNOWN_TOPIC_OR_PARTITION, refreshes it;
 * - records collect in one open batch *per partition*;
 *   a batch is sent when it reaches `batchBytesMax` (Kafka
 *   `batch.size`) or when it is `lingerMs` old (Kafka `linger.ms`), whichever comes first;
 * - at most `maxInFlight` produce requests are outstanding on the connection (Kafka
 *   `max.in.flight.requests.per.connection`); while all are busy, records keep joining
 *   the open batch, so batches grow by themselves under load even with `lingerMs` 0;
 * - records waiting in the producer are bounded by `bufferBytesMax` (Kafka
 *   `buffer.memory`); a `send()` that would exceed it fails at once with
 *   `ClientLimitError` rather than queueing without limit.
 *
 * Each batch is one RecordBatch v2 (phase 1's `encodeBatch`) carried by one Produce
 * request to its partition; the broker appends it atomically, so its records get
 * contiguous offsets and a batch's result is just its base offset. Requests on one
 * connection are answered in order and sends to one topic are routed in call order (a
 * send that waits for metadata holds back later sends to that topic), so within a
 * partition the offsets of successive `send()`s ascend: records with the same key keep
 * their order. A failed request fails every `send()` with a record in it (no retries in
 * this phase: phase 8 makes them safe).
 */
import type { Clock, TimerHandle } from '../seams/clock.ts';
import { ErrorCode, ProtocolError } from '../protocol/errors.ts';
import { Produce } from '../protocol/produce.ts';
import type { Random } from '../seams/random.ts';
import { type RecordInput, encodeBatch } from '../log/record-batch.ts';
import { UnknownTopicOrPartitionError } from '../topics/errors.ts';
import { type ClientOptions, Connection } from './connection.ts';
import { ClientLimitError, brokerErrorFor } from './errors.ts';
import { MetadataCache, type TopicInfo } from './metadata.ts';
import { type KeylessPartitioner, RoundRobinPartitioner, StickyPartitioner, choosePartition } from './partitioner.ts';

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
  /** Refresh cached topic metadata this old (Kafka `metadata.max.age.ms`). Default 300 000. */
  metadataMaxAgeMs?: number;
  /** Ask the broker to create a missing topic (it does only if its `autoCreateTopics` is on). Default true, as Kafka's producer. */
  allowAutoTopicCreation?: boolean;
  /** The Random seam, for the sticky partitioner's choices. */
  random: Random;
  /** Keyless records: 'sticky' (KIP-480, the default) or 'round-robin' (one record per partition in turn, for comparison). */
  keylessPartitioner?: 'sticky' | 'round-robin';
}

/** One message to send; strings are encoded as UTF-8. */
export interface ProducerMessage {
  key?: Buffer | string | null;
  value: Buffer | string | null;
  /** Send to this partition, whatever the key (it must exist). */
  partition?: number;
}

/** What `send()` takes: a topic and its messages. */
export interface ProducerRecord {
  topic: string;
  messages: readonly ProducerMessage[];
}

/** Where a sent message landed. */
export interface RecordMetadata {
  partition: number;
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

/** The records waiting for (or in) one Produce request to one partition. */
interface Batch {
  readonly topic: string;
  readonly partition: number;
  /** The topic's partition count when the batch was opened (for the sticky partitioner). */
  readonly numPartitions: number;
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
 * A partitioning, batching, pipelining producer.
 * @example
 * const producer = new Producer({ port: 9092, lingerMs: 5, ...realSeams() });
 * await producer.connect();
 * const [{ partition, offset }] = await producer.send({ topic: 'orders', messages: [{ key: 'user-42', value: 'hello' }] });
 * await producer.disconnect();
 */
export class Producer {
  readonly #opts: ProducerOptions;
  readonly #clock: Clock;
  readonly #lingerMs: number;
  readonly #batchBytesMax: number;
  readonly #maxInFlight: number;
  readonly #bufferBytesMax: number;
  readonly #metadata: MetadataCache;
  readonly #sticky: KeylessPartitioner;
  #conn: Connection | null = null;
  /** The open batch of each partition, keyed by `topic NUL partition`; oldest first. */
  readonly #open = new Map<string, Batch>();
  #ready: Batch[] = [];
  /** Per topic: the sends waiting for its metadata, chained so they route in call order. */
  readonly #waiting = new Map<string, Promise<void>>();
  #waitingSends = 0;
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
    this.#metadata = new MetadataCache(() => this.#connection(), this.#clock, {
      maxAgeMs: opts.metadataMaxAgeMs,
      allowAutoTopicCreation: opts.allowAutoTopicCreation ?? true,
    });
    this.#sticky = opts.keylessPartitioner === 'round-robin' ? new RoundRobinPartitioner() : new StickyPartitioner(opts.random);
  }

  /** Connect to the broker (and check it speaks Produce v1 and Metadata v1). */
  async connect(): Promise<void> {
    if (this.#conn !== null) return;
    // One more than the produce requests: the metadata cache sends one request at a time.
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
   * Send messages to a topic; resolves with one `{ partition, offset }` per message, in
   * order, once all are durable on the broker. Rejects if any of them failed (the others
   * may have landed), or at once if the topic is unknown or illegal, or a message names a
   * partition the topic does not have (then nothing was sent).
   */
  send(req: ProducerRecord): Promise<RecordMetadata[]> {
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
    const topic = req.topic;
    let explicitMax = -1;
    for (const m of req.messages) {
      if (m.partition === undefined) continue;
      if (!Number.isSafeInteger(m.partition) || m.partition < 0) return Promise.reject(new UnknownTopicOrPartitionError(topic, m.partition));
      explicitMax = Math.max(explicitMax, m.partition);
    }
    this.#bufferedBytes += bytes;
    return new Promise<RecordMetadata[]>((resolve, reject) => {
      const call: SendCall = { results: new Array<RecordMetadata>(n), remaining: n, settled: false, resolve, reject };
      const route = (info: TopicInfo): void => {
        if (explicitMax >= info.partitions) throw new UnknownTopicOrPartitionError(topic, explicitMax);
        for (let i = 0; i < n; i++) {
          const m = req.messages[i] as ProducerMessage;
          this.#route(topic, info.partitions, m.partition, records[i] as RecordInput, sizes[i] as number, call, i);
        }
        this.#drain();
      };
      // Fast path: metadata is cached and no earlier send to this topic is still waiting.
      const cached = this.#waiting.has(topic) ? undefined : this.#metadata.cached(topic);
      if (cached !== undefined && explicitMax < cached.partitions) {
        route(cached);
        return;
      }
      // Slow path: wait for metadata, behind earlier waiting sends to this topic.
      this.#waitingSends++;
      const previous = this.#waiting.get(topic) ?? Promise.resolve();
      const next: Promise<void> = previous
        .then(async () => {
          let info = await this.#metadata.topic(topic);
          if (explicitMax >= info.partitions) {
            // A partition we have not heard of: the topic may have more than we cached.
            this.#metadata.invalidate(topic);
            info = await this.#metadata.topic(topic);
          }
          route(info);
        })
        .catch((err: unknown) => {
          // Nothing of this send was batched: release its buffer bytes and fail it.
          this.#bufferedBytes -= bytes;
          call.settled = true;
          reject(err);
        })
        .finally(() => {
          this.#waitingSends--;
          if (this.#waiting.get(topic) === next) this.#waiting.delete(topic);
          this.#wakeIfIdle();
        });
      this.#waiting.set(topic, next);
    });
  }

  /** Send everything collected now, ignoring `lingerMs`, and wait until all of it is answered. */
  async flush(): Promise<void> {
    this.#flushing++;
    try {
      this.#drain();
      while (this.#open.size > 0 || this.#ready.length > 0 || this.#inFlight > 0 || this.#waitingSends > 0) {
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

  /** The topic metadata this producer has cached (or fetches now). */
  async topicMetadata(topic: string): Promise<TopicInfo> {
    return await this.#metadata.topic(topic);
  }

  #connection(): Connection {
    if (this.#conn === null) throw new ClientLimitError('Producer used before connect() (or after disconnect())');
    return this.#conn;
  }

  /** Choose the record's partition and add it to that partition's open batch. */
  #route(topic: string, numPartitions: number, explicit: number | undefined, record: RecordInput, size: number, call: SendCall, index: number): void {
    let partition = choosePartition({ topic, key: record.key, partition: explicit }, numPartitions, this.#sticky);
    if (explicit === undefined && (record.key === null || record.key === undefined)) {
      // KIP-480: a keyless record that would start a new batch on the sticky partition
      // closes the full one and goes to the next sticky partition instead.
      const open = this.#open.get(batchKey(topic, partition));
      if (open !== undefined && open.records.length > 0 && open.bytes + size > this.#batchBytesMax) {
        this.#close(open);
        partition = this.#sticky.partition(topic, numPartitions);
      }
    }
    this.#append(topic, partition, numPartitions, record, size, call, index);
  }

  // #region per-partition
  #append(topic: string, partition: number, numPartitions: number, record: RecordInput, size: number, call: SendCall, index: number): void {
    const key = batchKey(topic, partition);
    let batch = this.#open.get(key);
    if (batch !== undefined && batch.records.length > 0 && batch.bytes + size > this.#batchBytesMax) {
      this.#close(batch);
      batch = undefined;
    }
    if (batch === undefined) {
      batch = {
        topic,
        partition,
        numPartitions,
        records: [],
        owners: [],
        ownerIndexes: [],
        bytes: BATCH_OVERHEAD_BYTES,
        readyAtMs: this.#clock.now() + this.#lingerMs,
      };
      this.#open.set(key, batch);
    }
    batch.records.push(record);
    batch.owners.push(call);
    batch.ownerIndexes.push(index);
    batch.bytes += size;
    if (batch.bytes >= this.#batchBytesMax) this.#close(batch);
  }

  /** A batch stops taking records: it is ready to send, and its partition stops being sticky. */
  #close(batch: Batch): Batch {
    this.#open.delete(batchKey(batch.topic, batch.partition));
    this.#sticky.onNewBatch(batch.topic, batch.partition, batch.numPartitions);
    this.#ready.push(batch);
    return batch;
  }
  // #endregion per-partition

  /** Wake `flush()` callers to re-check whether everything is answered. */
  #wakeIfIdle(): void {
    if (this.#inFlight === 0) for (const wake of this.#idleWaiters.splice(0)) wake();
  }

  /** Send ready batches while request slots are free; arm the linger timer for the oldest open one. */
  #drain(): void {
    while (this.#inFlight < this.#maxInFlight) {
      let batch = this.#ready.shift();
      if (batch === undefined) {
        for (const open of this.#open.values()) {
          if (this.#flushing > 0 || this.#clock.now() >= open.readyAtMs) {
            batch = this.#close(open);
            this.#ready.shift();
            break;
          }
        }
      }
      if (batch === undefined) break;
      this.#sendBatch(batch);
    }
    if (this.#open.size > 0 && this.#lingerTimer === null && this.#inFlight < this.#maxInFlight) {
      let readyAtMs = Number.POSITIVE_INFINITY;
      for (const open of this.#open.values()) readyAtMs = Math.min(readyAtMs, open.readyAtMs);
      this.#lingerTimer = this.#clock.setTimeout(() => {
        this.#lingerTimer = null;
        this.#drain();
      }, readyAtMs - this.#clock.now());
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
        call.results[batch.ownerIndexes[i] as number] = { partition: batch.partition, offset: baseOffset + i };
        if (--call.remaining === 0) {
          call.settled = true;
          call.resolve(call.results);
        }
      }
      this.#drain();
      this.#wakeIfIdle();
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
    const req = { acks: this.#opts.acks ?? -1, timeoutMs: this.#opts.requestTimeoutMs ?? 30_000, topic: batch.topic, partition: batch.partition, records: [encoded] };
    conn.request(Produce, req).then(
      (res) => {
        // Our metadata was wrong (or the topic is gone): ask again before the next send.
        if (res.errorCode === ErrorCode.UNKNOWN_TOPIC_OR_PARTITION) this.#metadata.invalidate(batch.topic);
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

function batchKey(topic: string, partition: number): string {
  return `${topic}\u0000${partition}`;
}
