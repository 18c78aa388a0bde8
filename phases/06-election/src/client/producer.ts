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
 * - each batch goes to its partition's leader (phase 5: learned from Metadata, on the
 *   pool's one connection to that broker, client/brokers.ts); at most `maxInFlight`
 *   produce requests are outstanding per connection (Kafka
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
 * their order.
 *
 * Retries (phase 5). A batch that fails with an error `retryAdvice` (errors.ts) calls
 * retriable (NOT_LEADER_OR_FOLLOWER, UNKNOWN_TOPIC_OR_PARTITION, NOT_ENOUGH_REPLICAS,
 * BROKER_NOT_AVAILABLE, a lost or timed-out connection) is sent again after
 * `retryBackoffMs`, with fresh metadata where that can help, at most `retries` times,
 * and never after its `deliveryTimeoutMs` (Kafka `delivery.timeout.ms`, counted from
 * the send of its first record): then its sends fail with the last error (or
 * `DeliveryTimeoutError` if no attempt had failed yet). Retries never reorder a
 * partition: once one of its batches has failed, nothing more of that partition is sent
 * until every batch of it in flight has come back; the failed ones are then sent again,
 * in their original order, before any later batch. A failed batch behind which a later
 * batch of the same partition was acknowledged (only possible with NOT_ENOUGH_REPLICAS
 * and the ISR growing in between) is not retried, since a retry would land after it: it
 * fails with its error. A retry may write a batch twice: after a lost connection the
 * broker may have appended it before the link broke. Phase 8's idempotent producer
 * (producer ids and sequence numbers) lets the broker drop such a duplicate; until then
 * delivery with retries is at-least-once.
 */
import type { Clock, TimerHandle } from '../seams/clock.ts';
import { ErrorCode, ProtocolError } from '../protocol/errors.ts';
import { Produce } from '../protocol/produce.ts';
import type { Random } from '../seams/random.ts';
import { type RecordInput, encodeBatch } from '../log/record-batch.ts';
import { UnknownTopicOrPartitionError } from '../topics/errors.ts';
import { BrokerPool } from './brokers.ts';
import type { ClientOptions, Connection } from './connection.ts';
import { ClientLimitError, DeliveryTimeoutError, NotLeaderOrFollowerBrokerError, brokerErrorFor, retryAdvice } from './errors.ts';
import type { MetadataCache, TopicInfo } from './metadata.ts';
import { type KeylessPartitioner, RoundRobinPartitioner, StickyPartitioner, choosePartition } from './partitioner.ts';

/** Producer settings. */
export interface ProducerOptions extends ClientOptions {
  /** How long an open batch may wait for more records. Default 0 (send as soon as a request slot is free). */
  lingerMs?: number;
  /** Target encoded size of a batch. Default 16384 (Kafka's `batch.size`). */
  batchBytesMax?: number;
  /** Produce requests outstanding at once on each broker connection. Default 5 (Kafka's default). */
  maxInFlight?: number;
  /** Bytes of records accepted but not yet acknowledged. Default 32 MiB (Kafka's `buffer.memory`). */
  bufferBytesMax?: number;
  /**
   * -1 (`all`, the default, as Kafka 3): acknowledged once every in-sync replica holds the
   * batch durably (the high watermark passed it); refused with NOT_ENOUGH_REPLICAS while
   * the ISR is below the cluster's minInsyncReplicas. 1: after the leader's fsync.
   */
  acks?: number;
  /**
   * A send fails if its records are not acknowledged this long after the `send()` (Kafka
   * `delivery.timeout.ms`), retries included. Default 120 000. Each produce request asks
   * the broker to answer within the time left (and at most `requestTimeoutMs`).
   */
  deliveryTimeoutMs?: number;
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

/**
 * Where a batch is: collecting records (`open`), waiting to be sent (`ready`, in
 * `#ready`), sent (`in-flight`), failed and waiting for its partition's other in-flight
 * batches before being sent again (`retry`), or settled (`done`).
 */
type BatchState = 'open' | 'ready' | 'in-flight' | 'retry' | 'done';

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
  /** Its sends fail if it is not acknowledged by then: its first record's send + deliveryTimeoutMs. */
  readonly deadlineMs: number;
  state: BatchState;
  /** Its place among its partition's batches, in the order they closed (the order they must land in). */
  seq: number;
  /** Attempts that failed so far, and the last one's error. */
  failures: number;
  lastError: unknown;
  /** A retry waits for its backoff. */
  notBeforeMs: number;
  /** The encoded RecordBatch, kept for retries (the same bytes each time). */
  encoded: Buffer | null;
}

/** What keeps one partition's batches in order across retries. */
interface PartitionOrder {
  /** The next batch's `seq`. */
  nextSeq: number;
  /** Its batches in flight. */
  inFlight: number;
  /** Its batches that failed and wait for `inFlight` to reach 0 before being sent again. */
  readonly retry: Batch[];
  /** The highest `seq` acknowledged (-1: none); a failed batch below it cannot be retried in order. */
  ackedSeqMax: number;
}

/** Upper bound of a record's encoding beyond its key and value bytes (length, attributes, deltas, lengths, header count varints). */
const RECORD_OVERHEAD_BYTES_MAX = 5 + 1 + 5 + 5 + 5 + 5 + 1;
/** RecordBatch v2 header bytes (phase 1's BATCH_HEADER_BYTES). */
const BATCH_OVERHEAD_BYTES = 61;
/** Kafka's `delivery.timeout.ms` default. */
const DELIVERY_TIMEOUT_MS_DEFAULT = 120_000;

/**
 * A partitioning, batching, pipelining producer.
 * @example
 * const producer = new Producer({ bootstrapServers: [{ host: '127.0.0.1', port: 19092 }], lingerMs: 5, ...realSeams() });
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
  readonly #deliveryTimeoutMs: number;
  readonly #requestTimeoutMs: number;
  readonly #pool: BrokerPool;
  readonly #metadata: MetadataCache;
  readonly #sticky: KeylessPartitioner;
  /** The open batch of each partition, keyed by `topic NUL partition`; oldest first. */
  readonly #open = new Map<string, Batch>();
  /** Closed batches waiting to be sent, in the order they must go (retries at the front). */
  #ready: Batch[] = [];
  /** Every batch not yet settled (open, ready, in flight, waiting to retry). */
  readonly #live = new Set<Batch>();
  readonly #order = new Map<string, PartitionOrder>();
  /** Per topic: the sends waiting for its metadata, chained so they route in call order. */
  readonly #waiting = new Map<string, Promise<void>>();
  #waitingSends = 0;
  #inFlight = 0;
  readonly #inFlightByBroker = new Map<number, number>();
  #requestsSent = 0;
  #requestsRetried = 0;
  #bufferedBytes = 0;
  /** Topics whose metadata is being fetched for routing, brokers being connected to. */
  readonly #refreshing = new Set<string>();
  readonly #connecting = new Set<number>();
  /** A broker we failed to connect to is not tried again before this time. */
  readonly #brokerBackoffUntil = new Map<number, number>();
  /** One timer for the next linger or backoff to end, one for the next delivery deadline. */
  #wakeTimer: TimerHandle | null = null;
  #wakeAtMs = Number.POSITIVE_INFINITY;
  #expiryTimer: TimerHandle | null = null;
  #expiryAtMs = Number.POSITIVE_INFINITY;
  #draining = false;
  #drainAgain = false;
  /**
   * The earliest time a batch the last drain held back *for time* (a retry's backoff, an
   * open batch's linger) may go: the wake timer is armed for exactly that, even if the
   * moment has already come while the drain ran.
   */
  #heldUntilMs = Number.POSITIVE_INFINITY;
  #flushing = 0;
  #idleWaiters: (() => void)[] = [];

  constructor(opts: ProducerOptions) {
    this.#opts = opts;
    this.#clock = opts.clock;
    this.#lingerMs = opts.lingerMs ?? 0;
    this.#batchBytesMax = opts.batchBytesMax ?? 16_384;
    this.#maxInFlight = opts.maxInFlight ?? 5;
    this.#bufferBytesMax = opts.bufferBytesMax ?? 32 * 1024 * 1024;
    this.#deliveryTimeoutMs = opts.deliveryTimeoutMs ?? DELIVERY_TIMEOUT_MS_DEFAULT;
    this.#requestTimeoutMs = opts.requestTimeoutMs ?? 30_000;
    for (const [name, v, min] of [
      ['lingerMs', this.#lingerMs, 0],
      ['batchBytesMax', this.#batchBytesMax, 1],
      ['maxInFlight', this.#maxInFlight, 1],
      ['bufferBytesMax', this.#bufferBytesMax, 1],
      ['deliveryTimeoutMs', this.#deliveryTimeoutMs, 1],
    ] as const) {
      if (!Number.isInteger(v) || v < min) throw new RangeError(`Producer: ${name} must be an integer >= ${min}, got ${v}`);
    }
    this.#pool = new BrokerPool({
      client: opts,
      kind: 'producer',
      // One more than the produce requests: the metadata cache sends one request at a time.
      limits: { maxInFlight: this.#maxInFlight + 1 },
      metadata: { maxAgeMs: opts.metadataMaxAgeMs, allowAutoTopicCreation: opts.allowAutoTopicCreation ?? true },
    });
    this.#metadata = this.#pool.metadata;
    this.#sticky = opts.keylessPartitioner === 'round-robin' ? new RoundRobinPartitioner() : new StickyPartitioner(opts.random);
  }

  /** Connect to a bootstrap broker (and check it speaks Produce and Metadata). */
  async connect(): Promise<void> {
    await this.#pool.connect();
  }

  /** Bytes of records accepted by `send()` and not yet acknowledged or failed. */
  get bufferedBytes(): number {
    return this.#bufferedBytes;
  }

  /** Produce requests currently awaiting an answer. */
  get inFlight(): number {
    return this.#inFlight;
  }

  /** Produce requests sent so far (one batch, one fsync on the leader, each; retries count again). */
  get requestsSent(): number {
    return this.#requestsSent;
  }

  /** Produce requests that were retries of a failed attempt (Kafka's `record-retry-total`, per batch). */
  get requestsRetried(): number {
    return this.#requestsRetried;
  }

  /** Broker connections open now (at most one per broker of the cluster). */
  get connectionCount(): number {
    return this.#pool.connectionCount;
  }

  /**
   * Send messages to a topic; resolves with one `{ partition, offset }` per message, in
   * order, once all are durable on the broker. Rejects if any of them failed (the others
   * may have landed), or at once if the topic is unknown or illegal, or a message names a
   * partition the topic does not have (then nothing was sent).
   */
  send(req: ProducerRecord): Promise<RecordMetadata[]> {
    if (!this.#pool.connected) return Promise.reject(new ClientLimitError('Producer.send before connect() (or after disconnect())'));
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
    const deadlineMs = timestamp + this.#deliveryTimeoutMs;
    return new Promise<RecordMetadata[]>((resolve, reject) => {
      const call: SendCall = { results: new Array<RecordMetadata>(n), remaining: n, settled: false, resolve, reject };
      const route = (info: TopicInfo): void => {
        if (explicitMax >= info.partitions) throw new UnknownTopicOrPartitionError(topic, explicitMax);
        for (let i = 0; i < n; i++) {
          const m = req.messages[i] as ProducerMessage;
          this.#route(topic, info.partitions, m.partition, records[i] as RecordInput, sizes[i] as number, call, i, deadlineMs);
        }
        this.#drain();
      };
      // Fast path: metadata is cached and no earlier send to this topic is still waiting.
      const cached = this.#waiting.has(topic) ? undefined : this.#metadata.cached(topic);
      if (cached !== undefined && explicitMax < cached.partitions) {
        route(cached);
        return;
      }
      // Slow path: wait for metadata, behind earlier waiting sends to this topic, but not past the delivery timeout.
      this.#waitingSends++;
      const previous = this.#waiting.get(topic) ?? Promise.resolve();
      const next: Promise<void> = previous
        .then(async () => {
          let info = await this.#beforeDeadline(this.#metadata.topic(topic), deadlineMs, topic);
          if (explicitMax >= info.partitions) {
            // A partition we have not heard of: the topic may have more than we cached.
            this.#metadata.invalidate(topic);
            info = await this.#beforeDeadline(this.#metadata.topic(topic), deadlineMs, topic);
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

  /**
   * Send everything collected now, ignoring `lingerMs`, and wait until every send so far
   * is settled: acknowledged, or failed (at the latest at its delivery timeout).
   */
  async flush(): Promise<void> {
    this.#flushing++;
    try {
      this.#drain();
      while (this.#live.size > 0 || this.#waitingSends > 0) {
        await new Promise<void>((resolve) => this.#idleWaiters.push(resolve));
      }
    } finally {
      this.#flushing--;
    }
  }

  /**
   * Flush, then close the connections (dropping, rather than waiting on, any that still
   * carry a request whose sends already failed at their delivery timeout).
   */
  async disconnect(): Promise<void> {
    if (!this.#pool.connected) return;
    await this.flush();
    for (const timer of [this.#wakeTimer, this.#expiryTimer]) if (timer !== null) this.#clock.clearTimeout(timer);
    this.#wakeTimer = null;
    this.#expiryTimer = null;
    this.#wakeAtMs = Number.POSITIVE_INFINITY;
    this.#expiryAtMs = Number.POSITIVE_INFINITY;
    await this.#pool.close({ abortBusy: true });
  }

  /** The topic metadata this producer has cached (or fetches now). */
  async topicMetadata(topic: string): Promise<TopicInfo> {
    return await this.#metadata.topic(topic);
  }

  /** `promise`, or a DeliveryTimeoutError if it has not settled by `deadlineMs`. */
  #beforeDeadline<T>(promise: Promise<T>, deadlineMs: number, topic: string): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const timer = this.#clock.setTimeout(
        () => reject(new DeliveryTimeoutError(`no metadata for topic ${JSON.stringify(topic)} within deliveryTimeoutMs ${this.#deliveryTimeoutMs}`)),
        Math.max(0, deadlineMs - this.#clock.now()),
      );
      promise.then(
        (v) => {
          this.#clock.clearTimeout(timer);
          resolve(v);
        },
        (err: unknown) => {
          this.#clock.clearTimeout(timer);
          reject(err);
        },
      );
    });
  }

  /** Choose the record's partition and add it to that partition's open batch. */
  #route(topic: string, numPartitions: number, explicit: number | undefined, record: RecordInput, size: number, call: SendCall, index: number, deadlineMs: number): void {
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
    this.#append(topic, partition, numPartitions, record, size, call, index, deadlineMs);
  }

  // #region per-partition
  #append(topic: string, partition: number, numPartitions: number, record: RecordInput, size: number, call: SendCall, index: number, deadlineMs: number): void {
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
        deadlineMs,
        state: 'open',
        seq: -1,
        failures: 0,
        lastError: null,
        notBeforeMs: 0,
        encoded: null,
      };
      this.#open.set(key, batch);
      this.#live.add(batch);
      if (deadlineMs < this.#expiryAtMs) this.#armExpiry(deadlineMs);
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
    batch.seq = this.#orderOf(batch).nextSeq++;
    batch.state = 'ready';
    this.#ready.push(batch);
    return batch;
  }
  // #endregion per-partition

  #orderOf(batch: Batch): PartitionOrder {
    const key = batchKey(batch.topic, batch.partition);
    let order = this.#order.get(key);
    if (order === undefined) {
      order = { nextSeq: 0, inFlight: 0, retry: [], ackedSeqMax: -1 };
      this.#order.set(key, order);
    }
    return order;
  }

  /** Wake `flush()` callers to re-check whether everything is settled. */
  #wakeIfIdle(): void {
    if (this.#live.size === 0) for (const wake of this.#idleWaiters.splice(0)) wake();
  }

  /**
   * Send what can be sent: ready batches in order, then open batches whose linger is
   * over (all of them while flushing), each to its partition's leader while that
   * connection has a request slot free. A partition holds back everything behind a batch
   * it cannot send yet (no slot, no route, a backoff, a retry pending), so its batches
   * always go in order. Re-entrant calls (a batch settling synchronously) run another pass.
   */
  #drain(): void {
    if (this.#draining) {
      this.#drainAgain = true;
      return;
    }
    this.#draining = true;
    this.#heldUntilMs = Number.POSITIVE_INFINITY;
    try {
      do {
        this.#drainAgain = false;
        this.#drainOnce();
      } while (this.#drainAgain);
    } finally {
      this.#draining = false;
    }
    this.#armWake();
  }

  #drainOnce(): void {
    const now = this.#clock.now();
    const held = new Set<string>();
    for (let i = 0; i < this.#ready.length; ) {
      const batch = this.#ready[i] as Batch;
      const key = batchKey(batch.topic, batch.partition);
      if (held.has(key) || this.#orderOf(batch).retry.length > 0 || now < batch.notBeforeMs) {
        if (now < batch.notBeforeMs) this.#heldUntilMs = Math.min(this.#heldUntilMs, batch.notBeforeMs);
        held.add(key);
        i++;
        continue;
      }
      const route = this.#routeNow(batch.topic, batch.partition);
      if ('error' in route) {
        this.#ready.splice(i, 1);
        this.#finish(batch, route.error, -1);
        continue;
      }
      if (route.conn === null || this.#brokerInFlight(route.nodeId) >= this.#maxInFlight) {
        held.add(key);
        i++;
        continue;
      }
      this.#ready.splice(i, 1);
      this.#sendBatch(batch, route.nodeId, route.conn);
    }
    for (const open of [...this.#open.values()]) {
      if (this.#flushing === 0 && now < open.readyAtMs) {
        this.#heldUntilMs = Math.min(this.#heldUntilMs, open.readyAtMs);
        continue;
      }
      const key = batchKey(open.topic, open.partition);
      // Its partition cannot send now: the batch keeps collecting records meanwhile.
      if (held.has(key) || this.#orderOf(open).retry.length > 0) continue;
      const route = this.#routeNow(open.topic, open.partition);
      if (!('error' in route) && route.conn !== null && this.#brokerInFlight(route.nodeId) >= this.#maxInFlight) continue;
      this.#close(open);
      if ('error' in route || route.conn === null) {
        // Not routable yet (or ever): it waits in #ready, where its attempts are counted.
        held.add(key);
        if ('error' in route) this.#drainAgain = true;
        continue;
      }
      this.#ready.pop();
      this.#sendBatch(open, route.nodeId, route.conn);
    }
  }

  /**
   * Where a partition's batches go now: its leader and the open connection to it, or
   * `conn` null while either is being found out (a Metadata request or a connect is then
   * under way, and a drain follows it), or the error that makes the partition unroutable.
   */
  #routeNow(topic: string, partition: number): { nodeId: number; conn: Connection | null } | { error: unknown } {
    const partitions = this.#metadata.partitionsOf(topic, { evenIfOld: true });
    if (partitions === undefined) {
      this.#refreshRoute(topic);
      return { nodeId: -1, conn: null };
    }
    const p = partitions.find((x) => x.partition === partition);
    if (p === undefined) return { error: new UnknownTopicOrPartitionError(topic, partition) };
    if (p.leaderId < 0) return { error: new NotLeaderOrFollowerBrokerError(ErrorCode.NOT_LEADER_OR_FOLLOWER, `${topic}-${partition} has no leader`, true) };
    const conn = this.#pool.openConnection(p.leaderId);
    if (conn === undefined) this.#connectTo(p.leaderId);
    return { nodeId: p.leaderId, conn: conn ?? null };
  }

  /** Fetch a topic's metadata for routing (once at a time); a failure counts against its waiting batches. */
  #refreshRoute(topic: string): void {
    if (this.#refreshing.has(topic)) return;
    this.#refreshing.add(topic);
    this.#metadata
      .topic(topic)
      .then(
        () => undefined,
        (err: unknown) => this.#routeFailed((b) => b.topic === topic, err),
      )
      .finally(() => {
        this.#refreshing.delete(topic);
        this.#drain();
      });
  }

  /** Open the connection to a broker (once at a time, not again before its backoff ends). */
  #connectTo(nodeId: number): void {
    if (this.#connecting.has(nodeId)) return;
    const retryAtMs = this.#brokerBackoffUntil.get(nodeId) ?? 0;
    if (this.#clock.now() < retryAtMs) {
      this.#wakeAt(retryAtMs);
      return;
    }
    this.#connecting.add(nodeId);
    this.#pool
      .connectionTo(nodeId)
      .then(
        () => this.#brokerBackoffUntil.delete(nodeId),
        (err: unknown) => {
          this.#brokerBackoffUntil.set(nodeId, this.#clock.now() + this.#pool.retryBackoffMs);
          const led = new Set(this.#ready.filter((b) => this.#metadata.leaderOf(b.topic, b.partition, { evenIfOld: true }) === nodeId));
          this.#routeFailed((b) => led.has(b), err);
          // The leader may have moved (from phase 6 on it can): look again before the next try.
          for (const b of led) this.#metadata.invalidate(b.topic);
        },
      )
      .finally(() => {
        this.#connecting.delete(nodeId);
        this.#drain();
      });
  }

  /** Count a failed attempt to route against every ready batch `match` picks; fail those out of budget. */
  #routeFailed(match: (b: Batch) => boolean, err: unknown): void {
    const now = this.#clock.now();
    const retriable = retryAdvice(err).retriable;
    this.#ready = this.#ready.filter((b) => {
      if (!match(b)) return true;
      b.failures++;
      b.lastError = err;
      if (retriable && b.failures <= this.#pool.retries && now < b.deadlineMs) {
        b.notBeforeMs = now + this.#pool.retryBackoffMs;
        return true;
      }
      this.#finish(b, err, -1);
      return false;
    });
  }

  #brokerInFlight(nodeId: number): number {
    return this.#inFlightByBroker.get(nodeId) ?? 0;
  }

  #sendBatch(batch: Batch, nodeId: number, conn: Connection): void {
    const order = this.#orderOf(batch);
    let encoded = batch.encoded;
    if (encoded === null) {
      try {
        encoded = encodeBatch(batch.records, { baseTimestamp: batch.records[0]?.timestamp });
      } catch (err) {
        this.#finish(batch, err, -1);
        return;
      }
      batch.encoded = encoded;
    }
    batch.state = 'in-flight';
    order.inFlight++;
    this.#inFlight++;
    this.#inFlightByBroker.set(nodeId, this.#brokerInFlight(nodeId) + 1);
    this.#requestsSent++;
    if (batch.failures > 0) this.#requestsRetried++;
    // The broker may hold an acks=all produce until the ISR has it: no longer than the delivery timeout leaves.
    const timeoutMs = Math.max(1, Math.min(this.#requestTimeoutMs, batch.deadlineMs - this.#clock.now()));
    const req = { acks: this.#opts.acks ?? -1, timeoutMs, topic: batch.topic, partition: batch.partition, currentLeaderEpoch: this.#pool.leaderEpochOf(batch.topic, batch.partition), records: [encoded] };
    conn.request(Produce, req).then(
      (res) => {
        if (res.errorCode !== ErrorCode.NONE) this.#answered(batch, nodeId, brokerErrorFor(res.errorCode, res.errorMessage), -1);
        else if (res.lastOffset - res.baseOffset + 1 !== batch.records.length) {
          this.#answered(batch, nodeId, new ProtocolError(`broker acknowledged ${res.lastOffset - res.baseOffset + 1} records for a batch of ${batch.records.length}`), -1);
        } else this.#answered(batch, nodeId, null, res.baseOffset);
      },
      (err: unknown) => this.#answered(batch, nodeId, err, -1),
    );
  }

  /** A produce request came back (answered, or failed on the connection). */
  #answered(batch: Batch, nodeId: number, err: unknown, baseOffset: number): void {
    const order = this.#orderOf(batch);
    order.inFlight--;
    this.#inFlight--;
    this.#inFlightByBroker.set(nodeId, this.#brokerInFlight(nodeId) - 1);
    if (err === null) {
      order.ackedSeqMax = Math.max(order.ackedSeqMax, batch.seq);
      // (A batch whose delivery timeout passed in flight is settled already: it landed after all.)
      if (batch.state !== 'done') this.#finish(batch, null, baseOffset);
    } else {
      const advice = retryAdvice(err);
      // Our metadata was wrong (or the topic is gone, or the link): ask again before the next send.
      if (advice.refreshMetadata) this.#metadata.invalidate(batch.topic);
      if (batch.state !== 'done') {
        batch.failures++;
        batch.lastError = err;
        if (advice.retriable && batch.failures <= this.#pool.retries && this.#clock.now() < batch.deadlineMs) {
          // Hold the partition until all of its in-flight batches are back, then resend in order.
          batch.state = 'retry';
          order.retry.push(batch);
        } else this.#finish(batch, err, -1);
      }
    }
    if (order.inFlight === 0 && order.retry.length > 0) this.#releaseRetries(order);
    this.#drain();
  }

  /**
   * Every in-flight batch of the partition is back: put the failed ones at the front of
   * the ready queue, in their original order, after the backoff. One behind which a later
   * batch was acknowledged fails instead: sent again, it would land after that batch.
   */
  #releaseRetries(order: PartitionOrder): void {
    const notBeforeMs = this.#clock.now() + this.#pool.retryBackoffMs;
    const resend: Batch[] = [];
    for (const b of order.retry.splice(0).sort((x, y) => x.seq - y.seq)) {
      if (order.ackedSeqMax > b.seq) {
        this.#finish(b, b.lastError, -1);
        continue;
      }
      b.state = 'ready';
      b.notBeforeMs = notBeforeMs;
      resend.push(b);
    }
    this.#ready.unshift(...resend);
  }

  /** Settle a batch's sends: with offsets from `baseOffset`, or failed with `err`. Once. */
  #finish(batch: Batch, err: unknown, baseOffset: number): void {
    if (batch.state === 'done') return;
    batch.state = 'done';
    this.#live.delete(batch);
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
    this.#wakeIfIdle();
  }

  /** Arm the wake timer for the next linger or backoff to end (drain then runs again). */
  #armWake(): void {
    if (this.#live.size === 0) return;
    // Not recomputed from a fresh `now`: a batch held because its time had not come when
    // the drain looked must get its wake even if that time passed while the drain ran
    // (comparing with a later clock reading here once left it held with no timer at all).
    let atMs = this.#heldUntilMs;
    const now = this.#clock.now();
    for (const until of this.#brokerBackoffUntil.values()) if (until > now) atMs = Math.min(atMs, until);
    if (atMs !== Number.POSITIVE_INFINITY) this.#wakeAt(atMs);
  }

  #wakeAt(atMs: number): void {
    if (this.#wakeTimer !== null && this.#wakeAtMs <= atMs) return;
    if (this.#wakeTimer !== null) this.#clock.clearTimeout(this.#wakeTimer);
    this.#wakeAtMs = atMs;
    this.#wakeTimer = this.#clock.setTimeout(() => {
      this.#wakeTimer = null;
      this.#wakeAtMs = Number.POSITIVE_INFINITY;
      this.#drain();
    }, Math.max(0, atMs - this.#clock.now()));
  }

  #armExpiry(atMs: number): void {
    if (this.#expiryTimer !== null) this.#clock.clearTimeout(this.#expiryTimer);
    this.#expiryAtMs = atMs;
    this.#expiryTimer = this.#clock.setTimeout(() => {
      this.#expiryTimer = null;
      this.#expiryAtMs = Number.POSITIVE_INFINITY;
      this.#expire();
    }, Math.max(0, atMs - this.#clock.now()));
  }

  /**
   * Fail every batch whose delivery timeout has passed, wherever it is, with its last
   * error (or DeliveryTimeoutError). One in flight stays counted in flight until its
   * answer comes (and is then ignored): it may still land.
   */
  #expire(): void {
    const now = this.#clock.now();
    let next = Number.POSITIVE_INFINITY;
    for (const b of [...this.#live]) {
      if (now < b.deadlineMs) {
        next = Math.min(next, b.deadlineMs);
        continue;
      }
      const where = b.state === 'in-flight' ? 'its produce request is still unanswered and may yet land' : 'never acknowledged';
      const err = b.lastError ?? new DeliveryTimeoutError(`${b.topic}-${b.partition}: ${b.records.length} record(s) not acknowledged within deliveryTimeoutMs ${this.#deliveryTimeoutMs} (${where})`);
      if (b.state === 'open') this.#open.delete(batchKey(b.topic, b.partition));
      if (b.state === 'ready') this.#ready.splice(this.#ready.indexOf(b), 1);
      if (b.state === 'retry') {
        const order = this.#orderOf(b);
        order.retry.splice(order.retry.indexOf(b), 1);
      }
      this.#finish(b, err, -1);
    }
    if (next !== Number.POSITIVE_INFINITY) this.#armExpiry(next);
    this.#drain();
  }
}

function toBuffer(v: Buffer | string | null | undefined): Buffer | null {
  if (v === null || v === undefined) return null;
  return typeof v === 'string' ? Buffer.from(v, 'utf8') : v;
}

function batchKey(topic: string, partition: number): string {
  return `${topic}\u0000${partition}`;
}
