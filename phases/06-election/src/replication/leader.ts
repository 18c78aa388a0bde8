/**
 * The leader's side of one replicated partition: the followers' fetch state, the ISR,
 * the high watermark, and the produce requests with acks=all waiting for it. The rules
 * are the pure functions of `isr.ts`; this class holds their state and says what changed,
 * so the caller (the request handlers, the broker's ISR timer) can wake whoever waits.
 *
 * Ordering obligations, kept here:
 * - The leader's own log end offset counts only once durable: `Log.logEndOffset` moves
 *   after the fsync, so the HW never counts a record the leader could lose.
 * - A follower's LEO counts only from its fetch offset, which it sends after fsyncing
 *   everything below it (`fetcher.ts`), so the HW is below every ISR member's durable
 *   end: an acknowledged acks=all record is on disk on every ISR member.
 * - The HW never moves back; an acks=all produce resolves once the HW passes its last
 *   offset (Kafka's DelayedProduce), or times out; the records stay in the log either way.
 *
 * Phase 6, `controlled`: the ISR belongs to the controller. The leader starts from the
 * ISR the metadata log gives it and never changes it itself: a follower that caught up
 * becomes a *pending addition* (the caller proposes it with AlterPartition), a lagging
 * one a proposed removal; `setCommittedIsr` applies what the controller accepted. The HW
 * is computed over the maximal ISR, committed members plus pending additions, and a
 * removal counts only once committed, so a leader cut off from the controller can never
 * shrink the ISR to itself and commit alone. A follower joins only once its LEO reaches
 * both the HW and the offset where this leader's epoch began, so it holds everything this
 * leader may have acknowledged.
 */
import type { Clock, TimerHandle } from '../seams/clock.ts';
import { type FollowerState, expandIsr, initialFollowerState, nextHighWatermark, shrinkIsr, updateFollowerFetchState } from './isr.ts';

/** How a partition is replicated (from the cluster file). */
export interface ReplicaAssignment {
  /** This broker. */
  readonly brokerId: number;
  /** The partition's replicas, leader first. */
  readonly replicas: readonly number[];
  readonly minInsyncReplicas: number;
  readonly replicaLagTimeMaxMs: number;
}

/** What a call changed. */
export interface LeaderChange {
  readonly highWatermarkMoved: boolean;
  /** Followers that joined (+) or left (-) the ISR; in controlled mode, proposed to the controller. */
  readonly isrAdded: readonly number[];
  readonly isrRemoved: readonly number[];
}

/** Phase 6: the ISR comes from the controller (see the file comment). */
export interface ControlledIsr {
  /** The committed ISR from the metadata log. */
  readonly isr: readonly number[];
  /** The log end offset when this leader's epoch began: a follower must reach it to join. */
  readonly leaderEpochStartOffset: number;
}

interface Waiter {
  readonly offset: number;
  readonly resolve: (committed: boolean) => void;
  readonly timer: TimerHandle;
}

/**
 * Leader state of one partition.
 * @example
 * const leader = new LeaderReplica(assignment, clock, log.logEndOffset, checkpointedHw);
 * leader.onFollowerFetch(2, fetchOffset, log.logEndOffset);
 * if (await leader.waitForHighWatermark(lastOffset + 1, 30_000)) ack();
 */
export class LeaderReplica {
  readonly assignment: ReplicaAssignment;
  readonly #clock: Clock;
  #isr: number[];
  #highWatermark: number;
  readonly #followers = new Map<number, FollowerState>();
  #waiters: Waiter[] = [];
  /** Phase 6: null when this leader owns its ISR (phase 5's fixed leader). */
  readonly #controlled: { readonly leaderEpochStartOffset: number; readonly pending: Set<number> } | null;

  constructor(assignment: ReplicaAssignment, clock: Clock, startHighWatermark: number, controlled?: ControlledIsr) {
    this.assignment = assignment;
    this.#clock = clock;
    const now = clock.now();
    // Phase 5: the ISR starts full; a follower that never fetches leaves it after replicaLagTimeMaxMs.
    // Phase 6: it starts as the controller recorded it, and every follower counts as caught up now.
    this.#isr = controlled === undefined ? [...assignment.replicas] : assignment.replicas.filter((id) => controlled.isr.includes(id));
    for (const id of assignment.replicas) if (id !== assignment.brokerId) this.#followers.set(id, initialFollowerState(id, now));
    this.#highWatermark = startHighWatermark;
    this.#controlled = controlled === undefined ? null : { leaderEpochStartOffset: controlled.leaderEpochStartOffset, pending: new Set() };
  }

  /** Phase 6: followers proposed for the ISR and not yet accepted by the controller. */
  get pendingAdditions(): readonly number[] {
    return this.#controlled === null ? [] : [...this.#controlled.pending];
  }

  /** The committed ISR plus pending additions: what the HW is computed over. */
  get maximalIsr(): readonly number[] {
    if (this.#controlled === null) return this.#isr;
    const pending = this.#controlled.pending;
    return this.assignment.replicas.filter((id) => this.#isr.includes(id) || pending.has(id));
  }

  /**
   * Phase 6: the controller committed `isr` (from the metadata log or an AlterPartition
   * answer). Pending additions it now holds are no longer pending; the HW may move.
   */
  setCommittedIsr(isr: readonly number[], leaderLogEndOffset: number): LeaderChange {
    const before = this.#isr;
    this.#isr = this.assignment.replicas.filter((id) => isr.includes(id));
    if (this.#controlled !== null) for (const id of this.#isr) this.#controlled.pending.delete(id);
    return {
      highWatermarkMoved: this.#advance(leaderLogEndOffset),
      isrAdded: this.#isr.filter((id) => !before.includes(id)),
      isrRemoved: before.filter((id) => !this.#isr.includes(id)),
    };
  }

  /** Phase 6: a proposed addition was refused or abandoned; it no longer counts. */
  dropPending(id: number): void {
    this.#controlled?.pending.delete(id);
  }

  get highWatermark(): number {
    return this.#highWatermark;
  }

  get isr(): readonly number[] {
    return this.#isr;
  }

  /** What the leader knows of each follower (for describe and tests). */
  get followers(): ReadonlyMap<number, FollowerState> {
    return this.#followers;
  }

  /** True when acks=all may be accepted now (ISR at least minInsyncReplicas). */
  get enoughReplicas(): boolean {
    return this.#isr.length >= this.assignment.minInsyncReplicas;
  }

  /** A follower fetched from `fetchOffset` (everything below it is durable there). */
  onFollowerFetch(replicaId: number, fetchOffset: number, leaderLogEndOffset: number): LeaderChange {
    const state = this.#followers.get(replicaId);
    if (state === undefined) return NO_CHANGE;
    this.#followers.set(replicaId, updateFollowerFetchState(state, { fetchOffset, nowMs: this.#clock.now(), leaderLogEndOffset }));
    const moved = this.#advance(leaderLogEndOffset);
    const fetched = this.#followers.get(replicaId) as FollowerState;
    if (this.#controlled !== null) {
      // Propose, do not apply: the follower counts for the HW from now on (it holds everything below its fetch offset).
      const c = this.#controlled;
      if (c.pending.has(replicaId) || fetched.logEndOffset < c.leaderEpochStartOffset) return { highWatermarkMoved: moved, isrAdded: [], isrRemoved: [] };
      const { added } = expandIsr(this.maximalIsr, this.assignment.replicas, fetched, this.#highWatermark, this.#clock.now(), this.assignment.replicaLagTimeMaxMs);
      for (const id of added) c.pending.add(id);
      return { highWatermarkMoved: moved, isrAdded: added, isrRemoved: [] };
    }
    const { isr, added } = expandIsr(this.#isr, this.assignment.replicas, fetched, this.#highWatermark, this.#clock.now(), this.assignment.replicaLagTimeMaxMs);
    this.#isr = isr;
    // A follower joining never lowers the HW (it holds everything below it), but may let it move.
    const movedAgain = added.length > 0 && this.#advance(leaderLogEndOffset);
    return { highWatermarkMoved: moved || movedAgain, isrAdded: added, isrRemoved: [] };
  }

  /** The leader's durable log end offset moved (an append was fsynced). */
  onLocalAppend(leaderLogEndOffset: number): LeaderChange {
    return { highWatermarkMoved: this.#advance(leaderLogEndOffset), isrAdded: [], isrRemoved: [] };
  }

  /** Drop followers that have not caught up within replicaLagTimeMaxMs; the HW may then move. */
  maybeShrinkIsr(leaderLogEndOffset: number): LeaderChange {
    const { isr, removed } = shrinkIsr(this.#isr, this.assignment.brokerId, this.#followers, this.#clock.now(), this.assignment.replicaLagTimeMaxMs);
    if (removed.length === 0) return NO_CHANGE;
    // Phase 6: a proposal for the controller; nothing changes until it is committed.
    if (this.#controlled !== null) return { highWatermarkMoved: false, isrAdded: [], isrRemoved: removed };
    this.#isr = isr;
    return { highWatermarkMoved: this.#advance(leaderLogEndOffset), isrAdded: [], isrRemoved: removed };
  }

  /**
   * Resolve true once the HW reaches `offset`, or false after `timeoutMs`. Waiters are
   * bounded by the produce requests in flight (the connections' in-flight limit).
   */
  waitForHighWatermark(offset: number, timeoutMs: number): Promise<boolean> {
    if (this.#highWatermark >= offset) return Promise.resolve(true);
    return new Promise((resolve) => {
      const waiter: Waiter = {
        offset,
        resolve,
        timer: this.#clock.setTimeout(() => {
          this.#waiters = this.#waiters.filter((w) => w !== waiter);
          resolve(false);
        }, timeoutMs),
      };
      this.#waiters.push(waiter);
    });
  }

  /** Fail every waiter (shutdown): their records may or may not be committed. */
  abandonWaiters(): void {
    for (const w of this.#waiters) {
      this.#clock.clearTimeout(w.timer);
      w.resolve(false);
    }
    this.#waiters = [];
  }

  #advance(leaderLogEndOffset: number): boolean {
    const next = nextHighWatermark({
      current: this.#highWatermark,
      leaderId: this.assignment.brokerId,
      leaderDurableLogEndOffset: leaderLogEndOffset,
      isr: this.maximalIsr,
      followers: this.#followers,
    });
    if (next === this.#highWatermark) return false;
    this.#highWatermark = next;
    const still: Waiter[] = [];
    for (const w of this.#waiters) {
      if (w.offset <= next) {
        this.#clock.clearTimeout(w.timer);
        w.resolve(true);
      } else still.push(w);
    }
    this.#waiters = still;
    return true;
  }
}

const NO_CHANGE: LeaderChange = Object.freeze({ highWatermarkMoved: false, isrAdded: [], isrRemoved: [] });
