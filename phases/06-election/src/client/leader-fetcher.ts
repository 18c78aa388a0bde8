/**
 * Fetching partitions that live on different brokers (phase 5), shared by the Consumer
 * and the GroupConsumer: one Fetch per leader, all of them long polls at the same time,
 * each on the pool's connection to that leader (client/brokers.ts).
 *
 * `next()` hands out the partitions of whichever fetches came back first (at least one)
 * and leaves the others outstanding; their answers wait here for a later `next()`. This
 * is what Kafka's consumer does, and for the same reason phase 3 asks for all partitions
 * in one request: an idle broker's long poll must not hold up records another broker
 * has. A partition whose fetch is outstanding is not asked for again until it is back,
 * so an answer's offset is the one `next()` was given then; the caller drops it if its
 * position has moved since (a seek, a rebalance).
 *
 * Failures: a partition answered with NOT_LEADER_OR_FOLLOWER or UNKNOWN_TOPIC_OR_PARTITION,
 * or a fetch whose connection was lost or could not be opened, makes the partition's
 * metadata stale; it is asked for again after `retryBackoffMs`, with fresh metadata, up
 * to `retries` times in a row. Past that the partition's answer (or the connection's
 * error) reaches the caller, which throws it. Any other error reaches it at once.
 */
import type { Clock } from '../seams/clock.ts';
import { ErrorCode } from '../protocol/errors.ts';
import { Fetch, type FetchPartitionResult } from '../protocol/fetch.ts';
import { groupByTopic } from '../protocol/group-fields.ts';
import { tpKey } from '../topics/partition.ts';
import type { BrokerPool } from './brokers.ts';
import { ClientLimitError, brokerErrorFor, retryAdvice, throwIfError } from './errors.ts';

/** One partition to fetch, from an offset. */
export interface FetchWant {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
}

/** One partition's answer, with the offset that was asked for. */
export interface FetchOutcome {
  readonly want: FetchWant;
  readonly result: FetchPartitionResult;
}

/** Settings of a {@link LeaderFetcher}. */
export interface LeaderFetcherOptions {
  /** Soft cap on each partition's bytes in a fetch. */
  readonly partitionMaxBytes: number;
  /** Cap on one fetch's total bytes. */
  readonly fetchMaxBytes: number;
}

interface Failures {
  count: number;
  notBeforeMs: number;
}

/**
 * Leader-routed, concurrent fetches of a set of partitions.
 * @example
 * const fetcher = new LeaderFetcher(pool, clock, { partitionMaxBytes: 1 << 20, fetchMaxBytes: 50 << 20 });
 * for (const { want, result } of await fetcher.next([{ topic: 't', partition: 0, offset: 0 }], 500)) use(want, result);
 */
export class LeaderFetcher {
  readonly #pool: BrokerPool;
  readonly #clock: Clock;
  readonly #opts: LeaderFetcherOptions;
  /** Per broker with a fetch outstanding: the partitions in it. */
  readonly #outstanding = new Map<number, ReadonlySet<string>>();
  /** Answers not yet handed out. */
  #done: FetchOutcome[] = [];
  /** A fetch failed past its retry budget: the next `next()` throws this. */
  #error: unknown = null;
  readonly #failures = new Map<string, Failures>();
  #wake: (() => void)[] = [];

  constructor(pool: BrokerPool, clock: Clock, opts: LeaderFetcherOptions) {
    this.#pool = pool;
    this.#clock = clock;
    this.#opts = opts;
  }

  /** Partitions in a fetch that has not come back yet. */
  get outstanding(): number {
    let n = 0;
    for (const keys of this.#outstanding.values()) n += keys.size;
    return n;
  }

  /**
   * Fetch `wants` (those not already being fetched) from their leaders, each fetch held
   * by its broker up to `maxWaitMs`; resolve with the answers of the fetches that are
   * back, once at least one is (empty answers included: they carry the high watermark).
   * Resolves with [] when there is nothing to fetch. Rejects with an unknown topic's
   * error, or a failure past the retry budget.
   */
  async next(wants: readonly FetchWant[], maxWaitMs: number): Promise<FetchOutcome[]> {
    for (;;) {
      if (!this.#pool.connected) throw new ClientLimitError('fetch after disconnect()');
      if (this.#error !== null) {
        const err = this.#error;
        this.#error = null;
        throw err;
      }
      if (this.#done.length > 0) return this.#done.splice(0);
      const now = this.#clock.now();
      const busy = new Set<string>();
      for (const keys of this.#outstanding.values()) for (const k of keys) busy.add(k);
      const byLeader = new Map<number, FetchWant[]>();
      let backoffUntil = Number.POSITIVE_INFINITY;
      for (const want of wants) {
        const key = tpKey(want);
        if (busy.has(key)) continue;
        const failed = this.#failures.get(key);
        if (failed !== undefined && now < failed.notBeforeMs) {
          backoffUntil = Math.min(backoffUntil, failed.notBeforeMs);
          continue;
        }
        const leader = await this.#pool.leaderId(want.topic, want.partition);
        // One fetch per broker at a time: a second would wait behind the first's long poll.
        if (this.#outstanding.has(leader)) continue;
        byLeader.set(leader, [...(byLeader.get(leader) ?? []), want]);
      }
      for (const [nodeId, list] of byLeader) this.#start(nodeId, list, maxWaitMs);
      if (this.#outstanding.size > 0) {
        await new Promise<void>((resolve) => this.#wake.push(resolve));
      } else if (backoffUntil !== Number.POSITIVE_INFINITY) {
        await new Promise<void>((resolve) => this.#clock.setTimeout(resolve, Math.max(0, backoffUntil - this.#clock.now())));
      } else {
        return [];
      }
    }
  }

  #start(nodeId: number, list: readonly FetchWant[], maxWaitMs: number): void {
    this.#outstanding.set(nodeId, new Set(list.map(tpKey)));
    const run = async (): Promise<void> => {
      const conn = await this.#pool.connectionTo(nodeId);
      const res = await conn.request(
        Fetch,
        {
          maxWaitMs,
          maxBytes: Math.min(this.#opts.fetchMaxBytes, this.#opts.partitionMaxBytes * list.length),
          topics: groupByTopic(list).map(([topic, ws]) => ({
            topic,
            partitions: ws.map((w) => ({ partition: w.partition, offset: w.offset, maxBytes: this.#opts.partitionMaxBytes, currentLeaderEpoch: this.#pool.leaderEpochOf(topic, w.partition) })),
          })),
        },
        maxWaitMs,
      );
      throwIfError(res);
      for (const t of res.topics) {
        for (const result of t.partitions) {
          const want = list.find((w) => w.topic === t.topic && w.partition === result.partition);
          if (want === undefined) continue;
          const stale = result.errorCode === ErrorCode.NOT_LEADER_OR_FOLLOWER || result.errorCode === ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
          if (stale && this.#willRetry(want, brokerErrorFor(result.errorCode, result.errorMessage))) continue;
          if (result.errorCode === ErrorCode.NONE) this.#failures.delete(tpKey(want));
          this.#done.push({ want, result });
        }
      }
    };
    run()
      .catch((err: unknown) => {
        let retried = true;
        for (const want of list) retried = this.#willRetry(want, err) && retried;
        if (!retried) this.#error ??= err;
      })
      .finally(() => {
        this.#outstanding.delete(nodeId);
        for (const wake of this.#wake.splice(0)) wake();
      });
  }

  /** Count a failure of `want`; true if it will be fetched again (after the backoff, with fresh metadata). */
  #willRetry(want: FetchWant, err: unknown): boolean {
    const key = tpKey(want);
    const advice = retryAdvice(err);
    const failures = this.#failures.get(key) ?? { count: 0, notBeforeMs: 0 };
    failures.count++;
    if (!advice.retriable || failures.count > this.#pool.retries) {
      this.#failures.delete(key);
      return false;
    }
    if (advice.refreshMetadata) this.#pool.metadata.invalidate(want.topic);
    failures.notBeforeMs = this.#clock.now() + this.#pool.retryBackoffMs;
    this.#failures.set(key, failures);
    return true;
  }
}
