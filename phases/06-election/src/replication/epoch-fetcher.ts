/**
 * The follower's loop under a controller (phase 6): phase 5's fetcher, plus the step that
 * makes an elected leader safe. Before it copies anything from a new leader, the follower
 * asks it, for each partition, where the follower's own latest leader epoch ends
 * (OffsetForLeaderEpoch), and truncates its log there (`truncation.ts`: KIP-101, and
 * KIP-279's second question when the leader never had that epoch). Only then does it
 * fetch, and every fetch names the leader epoch it follows (`currentLeaderEpoch`): a
 * leader in another epoch answers FENCED_LEADER_EPOCH or UNKNOWN_LEADER_EPOCH and the
 * follower waits for the metadata log to catch up, rather than copying from a deposed
 * leader. Batches are appended exactly as stored and fsynced before the next fetch, so
 * the fetch offset still means "durable below here"; a batch of a newer epoch starts
 * that epoch in the follower's cache too (`Partition.appendReplicated`).
 */
import { Connection } from '../client/connection.ts';
import { ErrorCode, errorName } from '../protocol/errors.ts';
import { Fetch, type FetchResponse } from '../protocol/fetch.ts';
import { OffsetForLeaderEpoch } from '../protocol/offset-for-leader-epoch.ts';
import { splitBatches } from '../protocol/records.ts';
import type { Clock } from '../seams/clock.ts';
import type { Transport } from '../seams/transport.ts';
import type { Partition } from '../topics/partition.ts';
import type { LeaderEpochCache } from './epoch-cache.ts';
import { epochToAsk, truncationPoint } from './truncation.ts';

/** One partition this fetcher copies, and the leader epoch it follows. */
export interface FollowedPartition {
  readonly partition: Partition;
  readonly leaderEpoch: number;
}

/** Settings of a fetcher. */
export interface EpochFetcherOptions {
  readonly brokerId: number;
  readonly leader: { readonly id: number; readonly host: string; readonly port: number };
  readonly partitions: readonly FollowedPartition[];
  readonly clock: Clock;
  readonly transport: Transport;
  readonly fetchWaitMs: number;
  readonly fetchBytesMax: number;
  readonly retryBackoffMs: number;
  readonly logger: (line: string) => void;
}

/** Most OffsetForLeaderEpoch questions for one partition before giving up for a backoff (KIP-279 asks a second time at most per epoch). */
const TRUNCATION_ROUNDS_MAX = 32;

/**
 * Truncates, then copies partitions from one leader until stopped.
 * @example
 * const f = new EpochFetcher({ brokerId: 2, leader, partitions, ... });
 * f.start();
 * await f.stop();
 */
export class EpochFetcher {
  readonly #opts: EpochFetcherOptions;
  #running = false;
  #connection: Connection | null = null;
  #loop: Promise<void> | null = null;
  #wake: (() => void) | null = null;
  #busy: Promise<void> | null = null;
  #lastProblem = '';
  /** Partitions not yet truncated against this leader. */
  readonly #untruncated: Set<Partition>;

  constructor(opts: EpochFetcherOptions) {
    this.#opts = opts;
    this.#untruncated = new Set(opts.partitions.map((p) => p.partition));
  }

  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#loop = this.#run();
  }

  /** Stop; resolves once no truncation or append is running. */
  async stop(): Promise<void> {
    this.#running = false;
    this.#wake?.();
    const conn = this.#connection;
    this.#connection = null;
    await conn?.abort().catch(() => undefined);
    await this.#busy;
    await this.#loop?.catch(() => undefined);
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
          requestTimeoutMs: this.#opts.fetchWaitMs + 30_000,
        }));
        if (!this.#running) {
          await conn.abort().catch(() => undefined);
          return;
        }
        this.#connection = conn;
        if (this.#untruncated.size > 0) await this.#guard(this.#truncateAll(conn));
        else await this.#fetchOnce(conn);
      } catch (err) {
        if (!this.#running) return;
        this.#report(`fetch from broker ${this.#opts.leader.id} failed: ${err instanceof Error ? err.message : String(err)}`);
        const conn = this.#connection;
        this.#connection = null;
        await conn?.abort().catch(() => undefined);
        await this.#sleep(this.#opts.retryBackoffMs);
      }
    }
  }

  async #guard(work: Promise<void>): Promise<void> {
    this.#busy = work;
    try {
      await work;
    } finally {
      this.#busy = null;
    }
  }

  /** Ask the leader where each partition's latest epoch ends, and cut the log there. */
  async #truncateAll(conn: Connection): Promise<void> {
    for (const f of this.#opts.partitions) {
      const p = f.partition;
      if (!this.#untruncated.has(p) || !this.#running) continue;
      const cache = p.epochCache as LeaderEpochCache;
      let asked = epochToAsk(cache);
      for (let round = 0; round < TRUNCATION_ROUNDS_MAX; round++) {
        const res = await conn.request(OffsetForLeaderEpoch, {
          replicaId: this.#opts.brokerId,
          topics: [{ topic: p.topic, partitions: [{ partition: p.partition, currentLeaderEpoch: f.leaderEpoch, leaderEpoch: asked }] }],
        });
        const answer = res.topics[0]?.partitions[0];
        const code = answer?.errorCode ?? res.errorCode;
        if (code !== ErrorCode.NONE || answer === undefined) {
          this.#report(`OffsetForLeaderEpoch ${p.topic}-${p.partition} from broker ${this.#opts.leader.id}: ${errorName(code)} ${answer?.errorMessage ?? res.errorMessage ?? ''}`);
          await this.#sleep(this.#opts.retryBackoffMs);
          return;
        }
        const decision = truncationPoint({ cache, logEndOffset: p.logEndOffset, highWatermark: p.highWatermark, askedEpoch: asked, leaderAnswer: { epoch: answer.leaderEpoch, endOffset: answer.endOffset } });
        if (decision.kind === 'ask-again') {
          asked = decision.epoch;
          continue;
        }
        if (decision.offset < p.logEndOffset) {
          this.#opts.logger(`${p.topic}-${p.partition}: truncating from ${p.logEndOffset} to ${decision.offset} (leader ${this.#opts.leader.id}'s epoch ${answer.leaderEpoch} ends at ${answer.endOffset})`);
          await p.log.truncateTo(decision.offset);
        }
        if (cache.truncateFromEnd(p.logEndOffset)) await p.saveEpochs();
        this.#untruncated.delete(p);
        break;
      }
    }
  }

  async #fetchOnce(conn: Connection): Promise<void> {
    const byTopic = new Map<string, { topic: string; partitions: { partition: number; offset: number; maxBytes: number; currentLeaderEpoch: number }[] }>();
    for (const f of this.#opts.partitions) {
      const p = f.partition;
      let t = byTopic.get(p.topic);
      if (t === undefined) byTopic.set(p.topic, (t = { topic: p.topic, partitions: [] }));
      t.partitions.push({ partition: p.partition, offset: p.logEndOffset, maxBytes: this.#opts.fetchBytesMax, currentLeaderEpoch: f.leaderEpoch });
    }
    const res = await conn.request(Fetch, {
      replicaId: this.#opts.brokerId,
      maxWaitMs: this.#opts.fetchWaitMs,
      maxBytes: this.#opts.fetchBytesMax * this.#opts.partitions.length,
      topics: [...byTopic.values()],
    });
    if (res.errorCode !== ErrorCode.NONE) throw new Error(`${errorName(res.errorCode)}: ${res.errorMessage ?? ''}`);
    if (!this.#running) return;
    await this.#guard(this.#appendAll(res));
  }

  async #appendAll(res: FetchResponse): Promise<void> {
    let failed = false;
    for (const t of res.topics) {
      for (const r of t.partitions) {
        const f = this.#opts.partitions.find((x) => x.partition.topic === t.topic && x.partition.partition === r.partition);
        if (f === undefined || !this.#running) continue;
        if (r.errorCode !== ErrorCode.NONE) {
          failed = true;
          this.#report(`fetch of ${t.topic}-${r.partition} from broker ${this.#opts.leader.id}: ${errorName(r.errorCode)} ${r.errorMessage ?? ''}`);
          continue;
        }
        const batches = r.records.flatMap((chunk) => splitBatches(chunk));
        await f.partition.appendReplicated(batches, r.highWatermark);
      }
    }
    if (failed) await this.#sleep(this.#opts.retryBackoffMs);
  }

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
