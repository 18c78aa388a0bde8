/**
 * Where a follower cuts its log before fetching from a new leader (KIP-101, refined by
 * KIP-279), as pure functions over the follower's {@link LeaderEpochCache} and the
 * leader's OffsetForLeaderEpoch answer. The fetcher does the I/O: it asks, calls
 * {@link truncationPoint}, and either truncates or asks again.
 *
 * Why not phase 5's rule (truncate to the high watermark): a follower's high watermark
 * lags the leader's, so a follower that restarts and cuts to it throws away records the
 * leader had already acknowledged; if that follower is then elected, they are lost
 * (KIP-101's first scenario). And after two failovers in a row two replicas can hold
 * *different* records at the same offsets, which the high watermark cannot see. Epochs
 * can: records of the same epoch at the same offset were written by the same leader, so
 * they are the same records.
 *
 * The protocol, for a follower whose latest epoch is e ({@link epochToAsk}):
 *
 * 1. It asks the leader for the end of e; the leader answers (e', end) with
 *    `endOffsetFor(e)`: e' is the largest epoch <= e the leader has, `end` where it ends
 *    in the leader's log.
 * 2. e' = e: both have epoch e, and the leader's epoch e ends at `end`: cut there (never
 *    past the follower's own end of e).
 * 3. e' < e (KIP-279): the leader never had epoch e, so the follower's records of every
 *    epoch above e' are not the leader's. If the follower has e' too, the two logs agree
 *    up to where the first of them moved past e': cut at min(end, the follower's own end
 *    of e'). If it does not have e', it cannot compare; it asks again about its largest
 *    epoch below e.
 * 4. The leader knows nothing at or below e (-1, -1), or the follower has no epochs (an
 *    empty log, or one written before epochs): fall back to the high watermark, the
 *    pre-KIP-101 rule.
 *
 * Before KIP-279 the leader answered step 1 with (e, start of its next epoch) even when it
 * never had e, and the follower kept its records of e at offsets where the leader had
 * others: the double-failover divergence tested in `test/truncation.test.ts` (scenario C).
 */
import type { EpochEndOffset, LeaderEpochCache } from './epoch-cache.ts';

/** What the follower does next: cut its log at `offset`, or ask the leader about `epoch`. */
export type TruncationDecision = { readonly kind: 'truncate'; readonly offset: number } | { readonly kind: 'ask-again'; readonly epoch: number };

/** The inputs of {@link truncationPoint}. */
export interface TruncationInput {
  /** The follower's own epoch cache. */
  readonly cache: LeaderEpochCache;
  /** The follower's log end offset. */
  readonly logEndOffset: number;
  /** The follower's high watermark (the fallback). */
  readonly highWatermark: number;
  /** The epoch the follower asked about. */
  readonly askedEpoch: number;
  /** The leader's answer, `leaderCache.endOffsetFor(askedEpoch, leaderLogEndOffset)`. */
  readonly leaderAnswer: EpochEndOffset;
}

/**
 * The epoch a follower asks the leader about first: its latest (-1 when it has none,
 * which makes the leader answer (-1, -1) and the follower fall back to its high watermark).
 * @example
 * epochToAsk(new LeaderEpochCache([{ epoch: 1, startOffset: 0 }, { epoch: 4, startOffset: 9 }])) // 4
 */
export function epochToAsk(cache: LeaderEpochCache): number {
  return cache.latestEpoch;
}

/**
 * Where the follower's own epoch `epoch` ends: the start offset of its first entry with a
 * larger epoch, or `logEndOffset` if there is none (`epoch` is its latest, or above it).
 * @example
 * const c = new LeaderEpochCache([{ epoch: 1, startOffset: 0 }, { epoch: 2, startOffset: 1 }]);
 * followerEndOfEpoch(c, 1, 2) // 1
 * followerEndOfEpoch(c, 2, 2) // 2
 * @throws RangeError if `epoch` is negative or `logEndOffset` is not a non-negative integer
 */
export function followerEndOfEpoch(cache: LeaderEpochCache, epoch: number, logEndOffset: number): number {
  if (!Number.isSafeInteger(epoch) || epoch < 0) throw new RangeError(`epoch must be a non-negative integer, got ${epoch}`);
  if (!Number.isSafeInteger(logEndOffset) || logEndOffset < 0) throw new RangeError(`logEndOffset must be a non-negative integer, got ${logEndOffset}`);
  const next = cache.entries.find((e) => e.epoch > epoch);
  return next === undefined ? logEndOffset : Math.min(next.startOffset, logEndOffset);
}

/**
 * Where the follower truncates, given the leader's answer about `askedEpoch` (see the
 * file comment for the rules). The offset returned is always within [0, logEndOffset].
 * @example
 * // Follower [1@0, 2@1] LEO 2 asked about 2; the leader never had 2, its epoch 1 ends at 2:
 * truncationPoint({ cache, logEndOffset: 2, highWatermark: 1, askedEpoch: 2, leaderAnswer: { epoch: 1, endOffset: 2 } })
 * // { kind: 'truncate', offset: 1 }: the follower's epoch 1 ended at 1; its offset 1 is not the leader's
 * @throws RangeError if the leader answered with an epoch above the one asked, or the
 *   follower asked about an epoch above its latest, or the offsets are not integers
 */
export function truncationPoint(input: TruncationInput): TruncationDecision {
  const { cache, logEndOffset, highWatermark, askedEpoch, leaderAnswer } = input;
  if (!Number.isSafeInteger(logEndOffset) || logEndOffset < 0) throw new RangeError(`logEndOffset must be a non-negative integer, got ${logEndOffset}`);
  if (!Number.isSafeInteger(highWatermark)) throw new RangeError(`highWatermark must be an integer, got ${highWatermark}`);
  if (!Number.isSafeInteger(askedEpoch) || askedEpoch < -1) throw new RangeError(`askedEpoch must be an integer >= -1, got ${askedEpoch}`);
  if (!Number.isSafeInteger(leaderAnswer.epoch) || !Number.isSafeInteger(leaderAnswer.endOffset)) {
    throw new RangeError(`the leader's answer must be integers, got (${leaderAnswer.epoch}, ${leaderAnswer.endOffset})`);
  }
  const clamp = (offset: number): number => Math.max(0, Math.min(offset, logEndOffset));
  const toHighWatermark: TruncationDecision = { kind: 'truncate', offset: clamp(highWatermark) };

  if (leaderAnswer.epoch === -1 || leaderAnswer.endOffset === -1 || askedEpoch === -1 || cache.latestEntry === undefined) return toHighWatermark;
  if (askedEpoch > cache.latestEpoch) throw new RangeError(`askedEpoch ${askedEpoch} is above the follower's latest epoch ${cache.latestEpoch}`);
  if (leaderAnswer.epoch > askedEpoch) throw new RangeError(`the leader answered epoch ${leaderAnswer.epoch} for epoch ${askedEpoch}: an answer is never above the epoch asked`);

  const answered = leaderAnswer.epoch;
  // e' = e, or e' < e and the follower has e': the logs agree up to where either left e'.
  // (For e' = e the follower's end of e is its LEO when e is its latest, as on the first
  // ask; after an ask-again it is where its next epoch starts.)
  if (answered === askedEpoch || cache.entries.some((e) => e.epoch === answered)) {
    return { kind: 'truncate', offset: clamp(Math.min(leaderAnswer.endOffset, followerEndOfEpoch(cache, answered, logEndOffset))) };
  }
  // e' < e and the follower never had e': compare an older epoch of ours instead.
  const older = cache.entries.filter((e) => e.epoch < askedEpoch).at(-1);
  return older === undefined ? toHighWatermark : { kind: 'ask-again', epoch: older.epoch };
}
