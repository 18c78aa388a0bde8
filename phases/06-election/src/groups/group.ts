/**
 * One consumer group as a deterministic state machine, in the style of etcd's raft
 * package: the caller (coordinator.ts) feeds it requests and clock ticks, each with the
 * current time, and acts on the {@link GroupReady} it returns. It does no I/O, owns no
 * timer and reads no clock; it says when it next wants a tick ({@link Group.nextDeadlineMs}).
 *
 * States (Kafka's names):
 *
 *   Empty ──join──▶ PreparingRebalance ──all joined / rebalance timeout──▶ CompletingRebalance
 *                        ▲                                                   │ all synced
 *                        └──── join, leave, session expiry, follow-up ◀── Stable
 *
 * - PreparingRebalance (the join phase): every member must (re)join; its JoinGroup is
 *   held until the phase ends, when all have joined or the rebalance timeout passed
 *   (members that did not rejoin are removed).
 * - At the end of the join phase the generation goes up by one and the coordinator
 *   computes the assignment itself (sticky assignor + cooperative round), as KIP-848
 *   does; in Kafka's classic protocol the group leader computes it and sends it in
 *   SyncGroup. Each member fetches its part with SyncGroup.
 * - CompletingRebalance: assignments exist, not every member has fetched its part yet.
 *   Stable: every member has. If the cooperative round held partitions back (they were
 *   still owned by a member that must first revoke them), the group starts the
 *   follow-up rebalance at once.
 *
 * Fencing: every SyncGroup, Heartbeat and OffsetCommit carries (member id, generation).
 * Unknown member → UNKNOWN_MEMBER_ID (25); a generation other than the current one →
 * ILLEGAL_GENERATION (22); a commit from a member that has joined the new generation
 * but not yet received its assignment → REBALANCE_IN_PROGRESS (27), which is also the
 * heartbeat's way of saying "rejoin". A zombie (a member the group removed, or one still
 * living in an old generation) therefore cannot move the group's offsets.
 *
 * Ordering obligation on the caller: a {@link GroupReady} with `persistGeneration` must
 * have that generation durably recorded BEFORE its responses are sent, so a generation
 * number is never handed out twice, even across a broker restart.
 */
import assert from 'node:assert/strict';
import { ErrorCode } from '../protocol/errors.ts';
import { assign, compareTopicPartitions } from './assignor.ts';
import { tpKey, type TopicPartition } from '../topics/partition.ts';
import { cooperativeRound } from './cooperative.ts';

/** The error numbers the state machine answers with: Kafka's, from protocol/errors.ts,
 * since its responses go onto the wire unchanged. */
export const GroupError = {
  NONE: ErrorCode.NONE,
  ILLEGAL_GENERATION: ErrorCode.ILLEGAL_GENERATION,
  INCONSISTENT_GROUP_PROTOCOL: ErrorCode.INCONSISTENT_GROUP_PROTOCOL,
  UNKNOWN_MEMBER_ID: ErrorCode.UNKNOWN_MEMBER_ID,
  INVALID_SESSION_TIMEOUT: ErrorCode.INVALID_SESSION_TIMEOUT,
  REBALANCE_IN_PROGRESS: ErrorCode.REBALANCE_IN_PROGRESS,
  GROUP_MAX_SIZE_REACHED: ErrorCode.GROUP_MAX_SIZE_REACHED,
} as const;

/** One of the numbers in {@link GroupError}. */
export type GroupErrorCode = (typeof GroupError)[keyof typeof GroupError];

/** Kafka's group states. */
export type GroupState = 'Empty' | 'PreparingRebalance' | 'CompletingRebalance' | 'Stable';

/** Limits and timing rules of a group. */
export interface GroupConfig {
  /** Smallest session timeout a member may ask for (Kafka: group.min.session.timeout.ms). */
  sessionTimeoutMsMin: number;
  /** Largest session timeout a member may ask for (Kafka: group.max.session.timeout.ms). */
  sessionTimeoutMsMax: number;
  /** Largest rebalance timeout a member may ask for (how long a join phase may wait). */
  rebalanceTimeoutMsMax: number;
  /** Most members in one group (Kafka: group.max.size); one more → GROUP_MAX_SIZE_REACHED. */
  membersMax: number;
  /** How long the first join phase of an empty group waits for more members
   * (Kafka: group.initial.rebalance.delay.ms); 0 completes at once. */
  initialRebalanceDelayMs: number;
}

/** Defaults: small timeouts suit a teaching broker on one machine. */
export const defaultGroupConfig: GroupConfig = {
  sessionTimeoutMsMin: 100,
  sessionTimeoutMsMax: 300_000,
  rebalanceTimeoutMsMax: 300_000,
  membersMax: 1000,
  initialRebalanceDelayMs: 0,
};

/** A request or a tick fed to {@link Group.handle}. `token` names the request so the
 * caller can route the response, which may come back from a later call. */
export type GroupInput =
  | {
      readonly type: 'join';
      readonly token: number;
      /** '' for a new member; the coordinator then makes up an id. */
      readonly memberId: string;
      readonly clientId: string;
      /** The topics this member subscribes to; all members of a group must agree. */
      readonly topics: readonly string[];
      /** What the member still consumes (KIP-429's owned partitions). */
      readonly owned: readonly TopicPartition[];
      readonly sessionTimeoutMs: number;
      readonly rebalanceTimeoutMs: number;
      /** The bytes of metadata the caller accounts to this member (coordinator.ts counts its
       * client id and subscription); 0 if not given. The group keeps the sum ({@link Group.metadataBytes}). */
      readonly metadataBytes?: number;
    }
  | { readonly type: 'sync'; readonly token: number; readonly memberId: string; readonly generation: number }
  | { readonly type: 'heartbeat'; readonly token: number; readonly memberId: string; readonly generation: number }
  | { readonly type: 'leave'; readonly token: number; readonly memberId: string }
  /** Only the fencing check of an OffsetCommit: the caller stores the offsets if NONE. */
  | { readonly type: 'commit'; readonly token: number; readonly memberId: string; readonly generation: number }
  | { readonly type: 'tick' };

// #region ready
/** A response to one request, routed by `token`. */
export type GroupResponse =
  | {
      readonly type: 'join';
      readonly token: number;
      readonly error: number;
      readonly generation: number;
      readonly memberId: string;
      readonly leaderId: string;
      readonly members: readonly string[];
    }
  | { readonly type: 'sync'; readonly token: number; readonly error: number; readonly assignment: readonly TopicPartition[] }
  | { readonly type: 'heartbeat'; readonly token: number; readonly error: number }
  | { readonly type: 'leave'; readonly token: number; readonly error: number }
  | { readonly type: 'commit'; readonly token: number; readonly error: number };

/**
 * What the caller must do after one input, in this order:
 * 1. if `persistGeneration` is set, record it durably (coordinator → offsets store);
 * 2. then send `responses` (possibly to requests made by earlier inputs).
 */
export interface GroupReady {
  readonly persistGeneration?: number;
  readonly responses: GroupResponse[];
}
// #endregion ready

/** One member, as `describe()` shows it. */
export interface MemberDescription {
  readonly memberId: string;
  readonly clientId: string;
  readonly topics: readonly string[];
  /** What the member is assigned in the current generation. */
  readonly assignment: readonly TopicPartition[];
}

/** A group's state, for DescribeGroups. */
export interface GroupDescription {
  readonly groupId: string;
  readonly state: GroupState;
  readonly generation: number;
  readonly leaderId: string;
  readonly members: readonly MemberDescription[];
}

interface Member {
  readonly memberId: string;
  clientId: string;
  topics: string[];
  sessionTimeoutMs: number;
  rebalanceTimeoutMs: number;
  lastHeardMs: number;
  /** What the coordinator believes the member may be consuming: its assignments, minus
   * what it reported as given up when it last rejoined. Never handed to another member. */
  owned: TopicPartition[];
  /** What it was assigned in the current generation. */
  assignment: TopicPartition[];
  /** The JoinGroup being held until the join phase ends. */
  joinToken: number | null;
  /** Has fetched its assignment of the current generation. */
  synced: boolean;
  /** What its last JoinGroup said its metadata takes (`metadataBytes` of the input). */
  metadataBytes: number;
}

/** Options a {@link Group} needs from its environment (read-only queries). */
export interface GroupDeps {
  /** Number of partitions of a topic, or undefined if there is no such topic. */
  partitionsOf(topic: string): number | undefined;
  /** A fresh member id for a joining client; must never repeat (coordinator.ts draws
   * it from the Random seam). */
  newMemberId(clientId: string): string;
  /** Limits and timing; defaults in {@link defaultGroupConfig}. */
  config?: Partial<GroupConfig>;
  /** The last generation recorded for this group (offsets store), so numbers continue
   * after a restart. */
  generation?: number;
}

/**
 * One consumer group's membership and rebalance protocol.
 * @example
 * const g = new Group('g', { partitionsOf: () => 4, newMemberId: (c) => `${c}-1` });
 * const r = g.handle({ type: 'join', token: 1, memberId: '', clientId: 'c', topics: ['t'],
 *   owned: [], sessionTimeoutMs: 10_000, rebalanceTimeoutMs: 10_000 }, 0);
 * // r.persistGeneration === 1; r.responses[0] is the join response (generation 1)
 */
export class Group {
  /** The group id. */
  readonly groupId: string;
  readonly #deps: GroupDeps;
  readonly #config: GroupConfig;
  readonly #members = new Map<string, Member>();
  #state: GroupState = 'Empty';
  #generation: number;
  #leaderId = '';
  /** Join phase: completes when all members rejoined, or at this deadline. */
  #joinDeadlineMs = 0;
  /** Join phase of a group that was empty: not before this time. */
  #joinNotBeforeMs = 0;
  /** The last cooperative round held partitions back: rebalance again once all synced. */
  #followUpPending = false;
  /** The sum of the members' `metadataBytes`. */
  #metadataBytes = 0;

  constructor(groupId: string, deps: GroupDeps) {
    this.groupId = groupId;
    this.#deps = deps;
    this.#config = { ...defaultGroupConfig, ...deps.config };
    this.#generation = deps.generation ?? 0;
  }

  /** Current state. */
  get state(): GroupState {
    return this.#state;
  }

  /** Current generation (0 before the first rebalance ever). */
  get generation(): number {
    return this.#generation;
  }

  /** Number of members. */
  get size(): number {
    return this.#members.size;
  }

  /** The metadata bytes all members hold together (the sum of their joins' `metadataBytes`). */
  get metadataBytes(): number {
    return this.#metadataBytes;
  }

  /** The metadata bytes one member holds; 0 for an id that is not a member. */
  memberMetadataBytes(memberId: string): number {
    return this.#members.get(memberId)?.metadataBytes ?? 0;
  }

  /**
   * Feed one input at time `nowMs`; returns what to persist and which responses to send.
   * Synchronous requests are answered in the same call; JoinGroup is answered when the
   * join phase ends, by whichever call ends it.
   */
  handle(input: GroupInput, nowMs: number): GroupReady {
    const out: Mutable = { responses: [] };
    switch (input.type) {
      case 'join':
        this.#join(input, nowMs, out);
        break;
      case 'sync':
        this.#sync(input, nowMs, out);
        break;
      case 'heartbeat':
        out.responses.push({ type: 'heartbeat', token: input.token, error: this.#heartbeat(input, nowMs) });
        break;
      case 'leave':
        this.#leave(input, nowMs, out);
        break;
      case 'commit':
        out.responses.push({ type: 'commit', token: input.token, error: this.#checkCommit(input, nowMs) });
        break;
      case 'tick':
        break;
    }
    this.#expire(nowMs, out);
    this.#maybeCompleteJoin(nowMs, out);
    return out;
  }

  /** The earliest time at which a tick could change something, or null if none. */
  nextDeadlineMs(): number | null {
    let next: number | null = null;
    const consider = (t: number): void => {
      if (next === null || t < next) next = t;
    };
    if (this.#state === 'PreparingRebalance') {
      consider(this.#allJoined() ? this.#joinNotBeforeMs : Math.max(this.#joinNotBeforeMs, this.#joinDeadlineMs));
    }
    for (const m of this.#members.values()) {
      if (m.joinToken === null) consider(m.lastHeardMs + m.sessionTimeoutMs);
    }
    return next;
  }

  /** A snapshot for DescribeGroups. */
  describe(): GroupDescription {
    return {
      groupId: this.groupId,
      state: this.#state,
      generation: this.#generation,
      leaderId: this.#leaderId,
      members: [...this.#members.values()].map((m) => ({
        memberId: m.memberId,
        clientId: m.clientId,
        topics: [...m.topics],
        assignment: [...m.assignment],
      })),
    };
  }

  #join(input: Extract<GroupInput, { type: 'join' }>, nowMs: number, out: Mutable): void {
    const reject = (error: GroupErrorCode): void => {
      out.responses.push({ type: 'join', token: input.token, error, generation: -1, memberId: input.memberId, leaderId: '', members: [] });
    };
    const { sessionTimeoutMsMin, sessionTimeoutMsMax, rebalanceTimeoutMsMax } = this.#config;
    const inRange = (ms: number, min: number, max: number): boolean => Number.isSafeInteger(ms) && ms >= min && ms <= max;
    if (!inRange(input.sessionTimeoutMs, sessionTimeoutMsMin, sessionTimeoutMsMax) || !inRange(input.rebalanceTimeoutMs, 1, rebalanceTimeoutMsMax)) {
      reject(GroupError.INVALID_SESSION_TIMEOUT);
      return;
    }
    const topics = [...new Set(input.topics)].sort();
    const others = [...this.#members.values()].filter((m) => m.memberId !== input.memberId);
    const first = others[0];
    if (topics.length === 0 || (first !== undefined && first.topics.join(',') !== topics.join(','))) {
      reject(GroupError.INCONSISTENT_GROUP_PROTOCOL);
      return;
    }
    let member: Member | undefined;
    if (input.memberId === '') {
      if (this.#members.size >= this.#config.membersMax) {
        reject(GroupError.GROUP_MAX_SIZE_REACHED);
        return;
      }
      let memberId = this.#deps.newMemberId(input.clientId);
      for (let attempt = 1; this.#members.has(memberId); attempt++) {
        assert(attempt < 100, 'newMemberId keeps returning ids already in use');
        memberId = this.#deps.newMemberId(input.clientId);
      }
      member = {
        memberId,
        clientId: input.clientId,
        topics,
        sessionTimeoutMs: input.sessionTimeoutMs,
        rebalanceTimeoutMs: input.rebalanceTimeoutMs,
        lastHeardMs: nowMs,
        owned: [],
        assignment: [],
        joinToken: null,
        synced: false,
        metadataBytes: input.metadataBytes ?? 0,
      };
      this.#members.set(memberId, member);
      this.#metadataBytes += member.metadataBytes;
    } else {
      member = this.#members.get(input.memberId);
      if (member === undefined) {
        reject(GroupError.UNKNOWN_MEMBER_ID);
        return;
      }
      // A member can only give partitions up by rejoining, never claim new ones.
      const reported = new Set(input.owned.map(tpKey));
      member.owned = member.owned.filter((tp) => reported.has(tpKey(tp)));
      member.clientId = input.clientId;
      member.topics = topics;
      member.sessionTimeoutMs = input.sessionTimeoutMs;
      member.rebalanceTimeoutMs = input.rebalanceTimeoutMs;
      this.#metadataBytes += (input.metadataBytes ?? 0) - member.metadataBytes;
      member.metadataBytes = input.metadataBytes ?? 0;
      member.lastHeardMs = nowMs;
      if (member.joinToken !== null) {
        // A retried JoinGroup replaces the one being held.
        out.responses.push({ type: 'join', token: member.joinToken, error: GroupError.REBALANCE_IN_PROGRESS, generation: -1, memberId: member.memberId, leaderId: '', members: [] });
      }
    }
    member.joinToken = input.token;
    this.#startRebalance(nowMs);
  }

  #sync(input: Extract<GroupInput, { type: 'sync' }>, nowMs: number, out: Mutable): void {
    const error = this.#fence(input.memberId, input.generation, nowMs);
    const member = this.#members.get(input.memberId);
    if (error !== GroupError.NONE || member === undefined) {
      out.responses.push({ type: 'sync', token: input.token, error, assignment: [] });
      return;
    }
    if (this.#state === 'PreparingRebalance') {
      out.responses.push({ type: 'sync', token: input.token, error: GroupError.REBALANCE_IN_PROGRESS, assignment: [] });
      return;
    }
    member.synced = true;
    out.responses.push({ type: 'sync', token: input.token, error: GroupError.NONE, assignment: [...member.assignment] });
    if (this.#state === 'CompletingRebalance' && [...this.#members.values()].every((m) => m.synced)) {
      this.#state = 'Stable';
      if (this.#followUpPending) this.#startRebalance(nowMs);
    }
  }

  #heartbeat(input: Extract<GroupInput, { type: 'heartbeat' }>, nowMs: number): GroupErrorCode {
    const error = this.#fence(input.memberId, input.generation, nowMs);
    if (error !== GroupError.NONE) return error;
    return this.#state === 'PreparingRebalance' ? GroupError.REBALANCE_IN_PROGRESS : GroupError.NONE;
  }

  #leave(input: Extract<GroupInput, { type: 'leave' }>, nowMs: number, out: Mutable): void {
    const member = this.#members.get(input.memberId);
    if (member === undefined) {
      out.responses.push({ type: 'leave', token: input.token, error: GroupError.UNKNOWN_MEMBER_ID });
      return;
    }
    this.#remove(member, out);
    out.responses.push({ type: 'leave', token: input.token, error: GroupError.NONE });
    if (this.#members.size > 0) this.#startRebalance(nowMs);
  }

  // #region fence
  #checkCommit(input: Extract<GroupInput, { type: 'commit' }>, nowMs: number): GroupErrorCode {
    const error = this.#fence(input.memberId, input.generation, nowMs);
    if (error !== GroupError.NONE) return error;
    // Joined the new generation but does not know its assignment yet (Kafka rejects
    // commits in CompletingRebalance for the same reason). During PreparingRebalance
    // commits of the current generation are fine: that is when members commit what they
    // are about to give up.
    const member = this.#members.get(input.memberId);
    if (this.#state === 'CompletingRebalance' && member?.synced !== true) return GroupError.REBALANCE_IN_PROGRESS;
    return GroupError.NONE;
  }

  /** Member and generation check shared by sync, heartbeat and commit; counts as a
   * sign of life for a known member. */
  #fence(memberId: string, generation: number, nowMs: number): GroupErrorCode {
    const member = this.#members.get(memberId);
    if (member === undefined) return GroupError.UNKNOWN_MEMBER_ID;
    member.lastHeardMs = nowMs;
    if (generation !== this.#generation) return GroupError.ILLEGAL_GENERATION;
    return GroupError.NONE;
  }
  // #endregion fence

  #startRebalance(nowMs: number): void {
    if (this.#state === 'PreparingRebalance') return;
    this.#joinNotBeforeMs = this.#state === 'Empty' ? nowMs + this.#config.initialRebalanceDelayMs : nowMs;
    let rebalanceTimeoutMs = 0;
    for (const m of this.#members.values()) rebalanceTimeoutMs = Math.max(rebalanceTimeoutMs, m.rebalanceTimeoutMs);
    this.#joinDeadlineMs = nowMs + rebalanceTimeoutMs;
    this.#followUpPending = false;
    this.#state = 'PreparingRebalance';
  }

  #allJoined(): boolean {
    for (const m of this.#members.values()) if (m.joinToken === null) return false;
    return true;
  }

  /** Session expiry: a member not heard from within its session timeout is removed.
   * A member whose JoinGroup is being held is waiting on us, not dead; the join
   * phase's own deadline bounds that wait. */
  #expire(nowMs: number, out: Mutable): void {
    let removed = false;
    for (const m of [...this.#members.values()]) {
      if (m.joinToken === null && nowMs >= m.lastHeardMs + m.sessionTimeoutMs) {
        this.#remove(m, out);
        removed = true;
      }
    }
    if (removed) {
      if (this.#members.size > 0) this.#startRebalance(nowMs);
      else this.#state = 'Empty';
    }
  }

  #remove(member: Member, out: Mutable): void {
    this.#members.delete(member.memberId);
    this.#metadataBytes -= member.metadataBytes;
    if (member.joinToken !== null) {
      out.responses.push({ type: 'join', token: member.joinToken, error: GroupError.UNKNOWN_MEMBER_ID, generation: -1, memberId: member.memberId, leaderId: '', members: [] });
    }
    if (this.#leaderId === member.memberId) this.#leaderId = '';
    if (this.#members.size === 0) this.#state = 'Empty';
  }

  // #region complete-join
  #maybeCompleteJoin(nowMs: number, out: Mutable): void {
    if (this.#state !== 'PreparingRebalance' || nowMs < this.#joinNotBeforeMs) return;
    if (!this.#allJoined() && nowMs < this.#joinDeadlineMs) return;
    // Members that did not rejoin in time are out; what they owned is free again.
    for (const m of [...this.#members.values()]) if (m.joinToken === null) this.#remove(m, out);
    if (this.#members.size === 0) return;

    this.#generation += 1;
    out.persistGeneration = this.#generation;
    const members = [...this.#members.values()];
    const memberIds = members.map((m) => m.memberId);
    if (!this.#members.has(this.#leaderId)) this.#leaderId = memberIds[0] ?? '';

    const partitions: TopicPartition[] = [];
    for (const topic of members[0]?.topics ?? []) {
      const count = this.#deps.partitionsOf(topic) ?? 0;
      for (let partition = 0; partition < count; partition++) partitions.push({ topic, partition });
    }
    const owned = new Map(members.map((m) => [m.memberId, m.owned]));
    const round = cooperativeRound(assign(memberIds, owned, partitions), owned);
    this.#followUpPending = round.pending.length > 0;
    this.#state = 'CompletingRebalance';
    for (const m of members) {
      m.assignment = round.assignment.get(m.memberId) ?? [];
      const mine = new Map([...m.owned, ...m.assignment].map((tp) => [tpKey(tp), tp]));
      m.owned = [...mine.values()].sort(compareTopicPartitions);
      m.synced = false;
      m.lastHeardMs = nowMs;
      const token = m.joinToken;
      m.joinToken = null;
      if (token !== null) {
        out.responses.push({ type: 'join', token, error: GroupError.NONE, generation: this.#generation, memberId: m.memberId, leaderId: this.#leaderId, members: memberIds });
      }
    }
  }
  // #endregion complete-join
}

interface Mutable {
  persistGeneration?: number;
  responses: GroupResponse[];
}
