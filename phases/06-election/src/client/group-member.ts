/**
 * The client's side of the group protocol: one member of one consumer group. The group
 * consumer (group-consumer.ts) owns one and asks it to join, to commit and to leave;
 * this file speaks FindCoordinator, JoinGroup, SyncGroup, Heartbeat, OffsetCommit,
 * OffsetFetch and LeaveGroup on a connection of its own to the coordinator, as Kafka's
 * Java consumer does: a JoinGroup may be held by the broker for a whole rebalance, and
 * heartbeats must not queue behind long-polling fetches (responses on one connection
 * come back in request order).
 *
 * Heartbeats run in the background on the Clock, every `heartbeatIntervalMs`, one at a
 * time, except while a join is in progress. Their answer is how the member learns
 * about rebalances: REBALANCE_IN_PROGRESS (27) sets {@link GroupMember.rejoinNeeded};
 * ILLEGAL_GENERATION (22) or UNKNOWN_MEMBER_ID (25) mean the group went on without us
 * (our session expired), so the partitions we held are *lost*: someone else may own
 * them already, and we must stop without committing (Kafka's `onPartitionsLost`).
 */
import type { Clock, TimerHandle } from '../seams/clock.ts';
import { ErrorCode } from '../protocol/errors.ts';
import { FindCoordinator } from '../protocol/find-coordinator.ts';
import { type TopicPartition, tpKey } from '../topics/partition.ts';
import { Heartbeat } from '../protocol/heartbeat.ts';
import { JoinGroup } from '../protocol/join-group.ts';
import { LeaveGroup } from '../protocol/leave-group.ts';
import { OffsetCommit } from '../protocol/offset-commit.ts';
import { OffsetFetch } from '../protocol/offset-fetch.ts';
import { SyncGroup } from '../protocol/sync-group.ts';
import { type ClientOptions, Connection } from './connection.ts';
import { ClientLimitError, brokerErrorFor, throwIfError } from './errors.ts';

/** Membership settings; names and defaults close to KafkaJS's. */
export interface GroupMemberOptions extends Omit<ClientOptions, 'host' | 'port' | 'bootstrapServers'> {
  groupId: string;
  /** The coordinator removes us after this long without a heartbeat. Default 10 s. */
  sessionTimeoutMs?: number;
  /** How long the coordinator waits for us to rejoin during a rebalance; also bounds
   * how long one batch of processing may take before we are left behind. Default 60 s. */
  rebalanceTimeoutMs?: number;
  /** Time between heartbeats. Default: a third of the session timeout, at most 3 s. */
  heartbeatIntervalMs?: number;
  /** Attempts of one join (retriable errors in between) before giving up. Default 20. */
  joinAttemptsMax?: number;
}

/** The outcome of a join: our place in the new generation. */
export interface Membership {
  readonly generation: number;
  readonly memberId: string;
  readonly assignment: readonly TopicPartition[];
  /** We had been removed from the group before this join: whatever we owned before
   * may already belong to someone else (and our claims were ignored). */
  readonly lost: boolean;
}

/** An offset to commit: the next offset to consume on that partition. */
export interface CommitOffset {
  topic: string;
  partition: number;
  offset: number;
}

/** Pause the caller for `ms` on the Clock (retry backoff; never used to synchronise). */
function backoff(clock: Clock, ms: number): Promise<void> {
  return new Promise((resolve) => clock.setTimeout(resolve, ms));
}

/**
 * One member of a consumer group.
 * @example
 * const member = await GroupMember.connect(bootstrapConnection, { groupId: 'g', ...realSeams() });
 * const { assignment } = await member.join(['orders'], []);
 * await member.commit([{ topic: 'orders', partition: 0, offset: 42 }]);
 * await member.leave();
 */
export class GroupMember {
  /** The group id. */
  readonly groupId: string;
  readonly #opts: GroupMemberOptions;
  readonly #clock: Clock;
  readonly #conn: Connection;
  readonly #sessionTimeoutMs: number;
  readonly #rebalanceTimeoutMs: number;
  readonly #heartbeatIntervalMs: number;
  #memberId = '';
  #generation = -1;
  #joining = false;
  #rejoinNeeded = true;
  #lost = false;
  #heartbeatTimer: TimerHandle | null = null;
  #closed = false;
  /** Last heartbeat failure other than a group error (e.g. connection lost). */
  #heartbeatError: Error | null = null;

  private constructor(conn: Connection, opts: GroupMemberOptions) {
    this.groupId = opts.groupId;
    this.#opts = opts;
    this.#clock = opts.clock;
    this.#conn = conn;
    this.#sessionTimeoutMs = opts.sessionTimeoutMs ?? 10_000;
    this.#rebalanceTimeoutMs = opts.rebalanceTimeoutMs ?? 60_000;
    this.#heartbeatIntervalMs = opts.heartbeatIntervalMs ?? Math.min(3000, Math.floor(this.#sessionTimeoutMs / 3));
    if (!(this.#heartbeatIntervalMs > 0 && this.#heartbeatIntervalMs < this.#sessionTimeoutMs)) {
      throw new RangeError(`heartbeatIntervalMs (${this.#heartbeatIntervalMs}) must be in (0, sessionTimeoutMs)`);
    }
  }

  /**
   * Ask `bootstrap` which broker coordinates the group (FindCoordinator) and open a
   * connection of our own to it. In a phase-5 cluster every broker answers with the
   * first broker of the cluster file, which coordinates every group.
   */
  static async connect(bootstrap: Connection, opts: GroupMemberOptions): Promise<GroupMember> {
    const found = await bootstrap.request(FindCoordinator, { groupId: opts.groupId });
    throwIfError(found);
    // requestTimeoutMs also bounds JoinGroup, on top of its rebalance timeout.
    const conn = await Connection.connectClient(opts, 'consumer', {}, { host: found.host, port: found.port });
    return new GroupMember(conn, opts);
  }

  /** Our member id ('' before the first join). */
  get memberId(): string {
    return this.#memberId;
  }

  /** Our generation (-1 before the first join). */
  get generation(): number {
    return this.#generation;
  }

  /** The group is rebalancing (or we were never in it): call {@link join}. */
  get rejoinNeeded(): boolean {
    return this.#rejoinNeeded;
  }

  /** Heartbeats found that we were removed from the group: our partitions are lost. */
  get lost(): boolean {
    return this.#lost;
  }

  /** A heartbeat failed for a reason other than the group protocol (the connection). */
  get heartbeatError(): Error | null {
    return this.#heartbeatError;
  }

  /** Ask for a rebalance at the next {@link join} (KIP-429: after revoking partitions). */
  requestRejoin(): void {
    this.#rejoinNeeded = true;
  }

  /**
   * JoinGroup then SyncGroup, retrying on the protocol's retriable answers, until we are
   * in a generation and know our assignment. `owned` is what we still consume.
   */
  async join(topics: readonly string[], owned: readonly TopicPartition[]): Promise<Membership> {
    this.#joining = true;
    this.#stopHeartbeats();
    let lost = this.#lost;
    try {
      for (let attempt = 1; ; attempt++) {
        if (this.#closed) throw new ClientLimitError('group member is closed');
        if (attempt > (this.#opts.joinAttemptsMax ?? 20)) throw new ClientLimitError(`could not join group ${this.groupId} in ${attempt - 1} attempts`);
        const joined = await this.#conn.request(
          JoinGroup,
          {
            groupId: this.groupId,
            sessionTimeoutMs: this.#sessionTimeoutMs,
            rebalanceTimeoutMs: this.#rebalanceTimeoutMs,
            memberId: this.#memberId,
            topics: [...topics],
            owned: lost ? [] : [...owned],
          },
          this.#rebalanceTimeoutMs,
        );
        if (joined.errorCode === ErrorCode.UNKNOWN_MEMBER_ID) {
          // The coordinator forgot us (session expired, broker restarted): start afresh.
          lost = lost || this.#memberId !== '';
          this.#memberId = '';
          continue;
        }
        if (joined.errorCode === ErrorCode.REBALANCE_IN_PROGRESS || joined.errorCode === ErrorCode.COORDINATOR_NOT_AVAILABLE) {
          await backoff(this.#clock, 50);
          continue;
        }
        throwIfError(joined);
        this.#memberId = joined.memberId;
        this.#generation = joined.generation;
        const synced = await this.#conn.request(SyncGroup, { groupId: this.groupId, generation: joined.generation, memberId: joined.memberId });
        if (synced.errorCode === ErrorCode.UNKNOWN_MEMBER_ID) {
          lost = true;
          this.#memberId = '';
          continue;
        }
        // Another rebalance began before we collected our part: join again.
        if (synced.errorCode === ErrorCode.REBALANCE_IN_PROGRESS || synced.errorCode === ErrorCode.ILLEGAL_GENERATION) continue;
        throwIfError(synced);
        this.#rejoinNeeded = false;
        this.#lost = false;
        return { generation: joined.generation, memberId: joined.memberId, assignment: synced.assignment, lost };
      }
    } finally {
      this.#joining = false;
      this.#scheduleHeartbeat();
    }
  }

  /**
   * OffsetCommit in our generation. Resolves with the group-level outcome: NONE (0),
   * or the fencing error (22, 25, 27) the coordinator answered for every partition;
   * other errors throw. Nothing is retried: the next commit carries newer offsets anyway.
   */
  async commit(offsets: readonly CommitOffset[]): Promise<number> {
    if (offsets.length === 0) return ErrorCode.NONE;
    if (this.#memberId === '') return ErrorCode.UNKNOWN_MEMBER_ID;
    const res = await this.#conn.request(OffsetCommit, {
      groupId: this.groupId,
      generation: this.#generation,
      memberId: this.#memberId,
      offsets: offsets.map((o) => ({ ...o, metadata: '' })),
    });
    throwIfError(res);
    for (const r of res.results) {
      if (r.errorCode === ErrorCode.NONE) continue;
      if (r.errorCode === ErrorCode.REBALANCE_IN_PROGRESS || r.errorCode === ErrorCode.ILLEGAL_GENERATION || r.errorCode === ErrorCode.UNKNOWN_MEMBER_ID) {
        // During a join these are expected (the generation is changing under us); outside
        // one they are news, read exactly as a heartbeat's answer would be.
        if (!this.#joining) this.#onGroupError(r.errorCode);
        return r.errorCode;
      }
      throw brokerErrorFor(r.errorCode, `commit of ${r.topic}-${r.partition} refused`);
    }
    return ErrorCode.NONE;
  }

  /** OffsetFetch: committed offset per partition (-1 where nothing is committed). */
  async committed(partitions: readonly TopicPartition[]): Promise<Map<string, number>> {
    const res = await this.#conn.request(OffsetFetch, { groupId: this.groupId, partitions: [...partitions] });
    throwIfError(res);
    return new Map(res.offsets.map((o) => [tpKey(o), o.offset]));
  }

  /** LeaveGroup (if we are in the group) and close the connection. */
  async leave(): Promise<void> {
    this.#stopHeartbeats();
    this.#closed = true;
    try {
      if (this.#memberId !== '' && !this.#conn.isClosed) {
        const res = await this.#conn.request(LeaveGroup, { groupId: this.groupId, memberId: this.#memberId });
        if (res.errorCode !== ErrorCode.UNKNOWN_MEMBER_ID) throwIfError(res);
      }
    } finally {
      this.#memberId = '';
      await this.#conn.close();
    }
  }

  /**
   * React to a group error from a heartbeat or a commit; false if `errorCode` is not
   * one. 27: rejoin. 22 or 25: we were left behind, our partitions are lost (and with
   * 25 our member id is gone too).
   */
  #onGroupError(errorCode: number): boolean {
    if (errorCode === ErrorCode.NONE) return true;
    if (errorCode === ErrorCode.REBALANCE_IN_PROGRESS) {
      this.#rejoinNeeded = true;
      return true;
    }
    if (errorCode !== ErrorCode.ILLEGAL_GENERATION && errorCode !== ErrorCode.UNKNOWN_MEMBER_ID) return false;
    this.#rejoinNeeded = true;
    this.#lost = true;
    if (errorCode === ErrorCode.UNKNOWN_MEMBER_ID) this.#memberId = '';
    return true;
  }

  #stopHeartbeats(): void {
    if (this.#heartbeatTimer !== null) this.#clock.clearTimeout(this.#heartbeatTimer);
    this.#heartbeatTimer = null;
  }

  #scheduleHeartbeat(): void {
    this.#stopHeartbeats();
    if (this.#closed || this.#joining || this.#memberId === '') return;
    this.#heartbeatTimer = this.#clock.setTimeout(() => {
      this.#heartbeatTimer = null;
      void this.#heartbeat();
    }, this.#heartbeatIntervalMs);
  }

  async #heartbeat(): Promise<void> {
    if (this.#closed || this.#joining) return;
    const generation = this.#generation;
    try {
      const res = await this.#conn.request(Heartbeat, { groupId: this.groupId, generation, memberId: this.#memberId });
      // A join that started meanwhile makes this answer stale.
      if (this.#joining || generation !== this.#generation) return;
      if (!this.#onGroupError(res.errorCode)) throwIfError(res);
    } catch (err) {
      if (!this.#closed) this.#heartbeatError = err instanceof Error ? err : new Error(String(err));
      return;
    }
    this.#scheduleHeartbeat();
  }
}
