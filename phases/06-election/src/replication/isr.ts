/**
 * The leader's bookkeeping of its followers, as pure functions: what a follower's fetch
 * tells the leader, where the high watermark may move, and who is in sync. No I/O, no
 * clock: the caller passes `nowMs` and acts on what comes back (the style of phase 4's
 * `groups/group.ts`), so the rules are table-tested here and driven by the simulator in
 * phase 7.
 *
 * The rules (Kafka's `Partition.updateFollowerFetchState`, `maybeIncrementLeaderHW`,
 * `maybeShrinkIsr`, `maybeExpandIsr`):
 *
 * - A follower fetches from `fetchOffset` only after every batch below it is fsynced in
 *   its own log, so its fetch offset is its *durable* log end offset. The leader never
 *   counts a follower's bytes as replicated before the follower says so this way.
 * - Caught up: a fetch at or past the leader's log end offset *now* means the follower
 *   was caught up now; a fetch at or past the leader's log end offset *at its previous
 *   fetch* means it was caught up then. A follower that stops fetching, or fetches but
 *   never catches up, stops advancing `lastCaughtUpTimeMs`, and that is what shrinks the
 *   ISR: a dead follower and a slow one look the same.
 * - High watermark = min(leader's durable LEO, the LEO of every other ISR member). It
 *   never moves back (a shrink can only raise it). Every LEO in the min is a batch
 *   boundary, so the high watermark is one too.
 * - Shrink: an ISR follower whose `lastCaughtUpTimeMs` is more than `replicaLagTimeMaxMs`
 *   ago leaves the ISR. The leader never leaves its own ISR.
 * - Expand: a follower outside the ISR rejoins, at one of its own fetches, once its LEO
 *   reaches the high watermark (it holds everything committed) and it is caught up.
 */

/** What the leader knows of one follower of one partition. */
export interface FollowerState {
  readonly replicaId: number;
  /** The follower's durable log end offset: the offset of its latest fetch (-1: never fetched). */
  readonly logEndOffset: number;
  /** When its latest fetch arrived (-1: never). */
  readonly lastFetchTimeMs: number;
  /** The last time it was known to hold everything the leader had (starts at the leader's start time). */
  readonly lastCaughtUpTimeMs: number;
  /** The leader's log end offset when that latest fetch arrived. */
  readonly lastFetchLeaderLogEndOffset: number;
}

/**
 * A follower the leader has not heard from yet, counted as caught up at `nowMs` (the ISR
 * starts full; a follower that never fetches leaves it after `replicaLagTimeMaxMs`).
 */
export function initialFollowerState(replicaId: number, nowMs: number): FollowerState {
  return { replicaId, logEndOffset: -1, lastFetchTimeMs: -1, lastCaughtUpTimeMs: nowMs, lastFetchLeaderLogEndOffset: -1 };
}

/** One follower fetch as the leader sees it. */
export interface FollowerFetch {
  /** Where the follower asks to read from: its durable log end offset. */
  readonly fetchOffset: number;
  readonly nowMs: number;
  /** The leader's log end offset when the fetch arrived. */
  readonly leaderLogEndOffset: number;
}

/**
 * The follower's state after a fetch.
 * @example
 * updateFollowerFetchState(s, { fetchOffset: 10, nowMs: 500, leaderLogEndOffset: 10 }).lastCaughtUpTimeMs // 500
 */
export function updateFollowerFetchState(state: FollowerState, fetch: FollowerFetch): FollowerState {
  let lastCaughtUpTimeMs = state.lastCaughtUpTimeMs;
  if (fetch.fetchOffset >= fetch.leaderLogEndOffset) lastCaughtUpTimeMs = Math.max(lastCaughtUpTimeMs, fetch.nowMs);
  else if (state.lastFetchTimeMs >= 0 && fetch.fetchOffset >= state.lastFetchLeaderLogEndOffset) {
    lastCaughtUpTimeMs = Math.max(lastCaughtUpTimeMs, state.lastFetchTimeMs);
  }
  return {
    replicaId: state.replicaId,
    logEndOffset: fetch.fetchOffset,
    lastFetchTimeMs: fetch.nowMs,
    lastCaughtUpTimeMs,
    lastFetchLeaderLogEndOffset: fetch.leaderLogEndOffset,
  };
}

/** The inputs of a high-watermark decision. */
export interface HighWatermarkInputs {
  /** The high watermark now. */
  readonly current: number;
  readonly leaderId: number;
  /** The leader's durable log end offset (everything below it is fsynced). */
  readonly leaderDurableLogEndOffset: number;
  /** The in-sync replicas, leader included. */
  readonly isr: readonly number[];
  readonly followers: ReadonlyMap<number, FollowerState>;
}

/**
 * Where the high watermark goes: the minimum durable LEO over the ISR, never below where
 * it already is. A follower in the ISR that has not fetched yet holds it where it is.
 * @example
 * nextHighWatermark({ current: 0, leaderId: 1, leaderDurableLogEndOffset: 10, isr: [1, 2], followers }) // follower 2's LEO, if below 10
 */
// #region next-high-watermark
export function nextHighWatermark(inputs: HighWatermarkInputs): number {
  let min = inputs.leaderDurableLogEndOffset;
  for (const id of inputs.isr) {
    if (id === inputs.leaderId) continue;
    const f = inputs.followers.get(id);
    const leo = f === undefined ? -1 : f.logEndOffset;
    if (leo < min) min = leo;
  }
  return Math.max(inputs.current, min);
}
// #endregion next-high-watermark

/**
 * The ISR after dropping followers that have not caught up within `replicaLagTimeMaxMs`.
 * Order is kept; the leader always stays.
 */
export function shrinkIsr(isr: readonly number[], leaderId: number, followers: ReadonlyMap<number, FollowerState>, nowMs: number, replicaLagTimeMaxMs: number): { isr: number[]; removed: number[] } {
  const kept: number[] = [];
  const removed: number[] = [];
  for (const id of isr) {
    const f = followers.get(id);
    const lagging = id !== leaderId && (f === undefined || nowMs - f.lastCaughtUpTimeMs > replicaLagTimeMaxMs);
    (lagging ? removed : kept).push(id);
  }
  return { isr: kept, removed };
}

/**
 * The ISR after admitting `candidate`, the follower that just fetched, if it is outside
 * the ISR, its durable LEO has reached the high watermark and it caught up within
 * `replicaLagTimeMaxMs` (Kafka's `isFollowerInSync`). Only the fetching follower is
 * considered: a dead follower's last known LEO may also be at the HW of an idle
 * partition, and re-admitting it would make acks=all wait for a broker that is gone.
 * `replicas` gives the order (assignment order), so the ISR stays sorted by it.
 */
export function expandIsr(
  isr: readonly number[],
  replicas: readonly number[],
  candidate: FollowerState,
  highWatermark: number,
  nowMs: number,
  replicaLagTimeMaxMs: number,
): { isr: number[]; added: number[] } {
  const inSync = candidate.logEndOffset >= highWatermark && nowMs - candidate.lastCaughtUpTimeMs <= replicaLagTimeMaxMs;
  if (isr.includes(candidate.replicaId) || !inSync || !replicas.includes(candidate.replicaId)) return { isr: [...isr], added: [] };
  const next = new Set([...isr, candidate.replicaId]);
  return { isr: replicas.filter((id) => next.has(id)), added: [candidate.replicaId] };
}
