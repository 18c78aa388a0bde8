/**
 * The follower's fetch loop: one per leader broker this broker follows partitions of.
 * It asks the leader (Fetch v2, `replicaId` = this broker) for every such partition
 * from this copy's log end offset, appends what comes back exactly as stored, and asks
 * again. The offset of each fetch therefore means "everything below is fsynced here":
 * `Partition.appendReplicated` resolves only after the fsync, and the next fetch is built
 * only after that. The leader holds a fetch while it has nothing new (a long poll of at
 * most `fetchWaitMs`), so an idle follower costs one request per `fetchWaitMs`, and a
 * new record is copied as soon as it is appended.
 *
 * Broker-to-broker traffic goes through the Transport seam like any client's (the same
 * `Connection`), so phase 7 can run the whole cluster in one process. A lost connection
 * or a failed request waits `retryBackoffMs` on the Clock and starts over; a fetch that
 * fails for one partition (for example an unknown topic on a leader that has not created
 * it yet) is retried the same way without stopping the others.
 */
import { Connection } from '../client/connection.ts';
import { ErrorCode, errorName } from '../protocol/errors.ts';
import { Fetch, type FetchResponse, type FetchTopic } from '../protocol/fetch.ts';
import { splitBatches } from '../protocol/records.ts';
import type { Clock } from '../seams/clock.ts';
import type { Transport } from '../seams/transport.ts';
import type { Partition } from '../topics/partition.ts';
import type { ClusterBroker } from './cluster-file.ts';

/** Settings of a fetcher. */
export interface FetcherOptions {
  /** This broker, sent as the fetch's replicaId. */
  readonly brokerId: number;
  /** The broker to copy from. */
  readonly leader: ClusterBroker;
  /** The partitions this broker follows on that leader. */
  readonly partitions: readonly Partition[];
  readonly clock: Clock;
  readonly transport: Transport;
  /** How long the leader may hold an idle fetch (Kafka `replica.fetch.wait.max.ms`, 500 there). */
  readonly fetchWaitMs: number;
  /** Bytes asked per partition per fetch (Kafka `replica.fetch.max.bytes`). */
  readonly fetchBytesMax: number;
  /** Pause after a failure before trying again (Kafka `replica.fetch.backoff.ms`). */
  readonly retryBackoffMs: number;
  readonly logger: (line: string) => void;
}

/**
 * Copies partitions from one leader until stopped.
 * @example
 * const f = new ReplicaFetcher({ brokerId: 2, leader, partitions, clock, transport, fetchWaitMs: 100, fetchBytesMax: 1 << 20, retryBackoffMs: 100, logger });
 * f.start();
 * await f.stop();
 */
export class ReplicaFetcher {
  readonly #opts: FetcherOptions;
  #running = false;
  #connection: Connection | null = null;
  #loop: Promise<void> | null = null;
  #wake: (() => void) | null = null;
  /** Fetches answered (for tests and the cluster view). */
  fetches = 0;
  #lastProblem = '';
  /** The append of a fetch's batches, while one runs (stop waits for it). */
  #appending: Promise<void> | null = null;

  constructor(opts: FetcherOptions) {
    this.#opts = opts;
  }

  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#loop = this.#run();
  }

  /**
   * Stop fetching. Resolves once no append is running (the log may then close); it does
   * not wait for a connect or a fetch that a frozen leader never answers: the loop sees
   * it is stopped when that settles, and drops the connection.
   */
  async stop(): Promise<void> {
    this.#running = false;
    this.#wake?.();
    const conn = this.#connection;
    this.#connection = null;
    await conn?.close().catch(() => undefined);
    await this.#appending;
  }

  async #run(): Promise<void> {
    while (this.#running) {
      try {
        const conn = this.#connection ?? (await Connection.connect({
          host: this.#opts.leader.host,
          port: this.#opts.leader.port,
          clientId: `replica-${this.#opts.brokerId}`,
          clock: this.#opts.clock,
          transport: this.#opts.transport,
          // The leader holds the fetch up to fetchWaitMs; the answer must be allowed longer.
          requestTimeoutMs: this.#opts.fetchWaitMs + 30_000,
        }));
        if (!this.#running) {
          await conn.close().catch(() => undefined);
          return;
        }
        this.#connection = conn;
        await this.#fetchOnce(conn);
      } catch (err) {
        if (!this.#running) return;
        this.#report(`fetch from broker ${this.#opts.leader.id} failed: ${err instanceof Error ? err.message : String(err)}`);
        const conn = this.#connection;
        this.#connection = null;
        await conn?.close().catch(() => undefined);
        await this.#sleep(this.#opts.retryBackoffMs);
      }
    }
  }

  async #fetchOnce(conn: Connection): Promise<void> {
    const byTopic = new Map<string, FetchTopic>();
    for (const p of this.#opts.partitions) {
      let t = byTopic.get(p.topic);
      if (t === undefined) byTopic.set(p.topic, (t = { topic: p.topic, partitions: [] }));
      t.partitions.push({ partition: p.partition, offset: p.logEndOffset, maxBytes: this.#opts.fetchBytesMax });
    }
    const res = await conn.request(Fetch, {
      replicaId: this.#opts.brokerId,
      maxWaitMs: this.#opts.fetchWaitMs,
      maxBytes: this.#opts.fetchBytesMax * this.#opts.partitions.length,
      topics: [...byTopic.values()],
    });
    if (res.errorCode !== ErrorCode.NONE) throw new Error(`${errorName(res.errorCode)}: ${res.errorMessage ?? ''}`);
    if (!this.#running) return;
    this.fetches++;
    const appending = this.#appendAll(res);
    this.#appending = appending;
    try {
      await appending;
    } finally {
      this.#appending = null;
    }
  }

  /** Append every partition's batches from one fetch answer. */
  async #appendAll(res: FetchResponse): Promise<void> {
    let failed = false;
    for (const t of res.topics) {
      for (const r of t.partitions) {
        const p = this.#opts.partitions.find((x) => x.topic === t.topic && x.partition === r.partition);
        if (p === undefined) continue;
        if (r.errorCode !== ErrorCode.NONE) {
          failed = true;
          this.#report(`fetch of ${t.topic}-${r.partition} from broker ${this.#opts.leader.id}: ${errorName(r.errorCode)} ${r.errorMessage ?? ''}`);
          continue;
        }
        const batches = r.records.flatMap((chunk) => splitBatches(chunk));
        await p.appendReplicated(batches, r.highWatermark);
      }
    }
    if (failed) await this.#sleep(this.#opts.retryBackoffMs);
  }

  /** Log a problem once until it changes (a dead leader would otherwise fill the log). */
  #report(line: string): void {
    if (line === this.#lastProblem) return;
    this.#lastProblem = line;
    this.#opts.logger(line);
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = this.#opts.clock.setTimeout(() => {
        this.#wake = null;
        resolve();
      }, ms);
      this.#wake = () => {
        this.#opts.clock.clearTimeout(timer);
        this.#wake = null;
        resolve();
      };
    });
  }
}
