/**
 * The controller's decision rules, as pure functions: who leads a partition, what happens
 * to the partitions of a broker whose session expired (fencing) or that came back
 * (unfencing), whether a leader's ISR change is accepted, and the epoch check every
 * broker applies to a partition request. No I/O, no clock, no randomness: the controller
 * process reads its metadata log, calls these with what it knows and writes back what
 * they return, so the rules are table-tested here and replayed by the phase-7 simulator.
 *
 * The rules (Kafka's KRaft controller, `ReplicationControlManager` and
 * `PartitionChangeBuilder`, with `unclean.leader.election.enable=false`):
 *
 * - **Election from the ISR only.** The leader is the first replica in *assignment
 *   order* (the preferred leader first) that is in the ISR and eligible (registered and
 *   unfenced). A replica outside the ISR may lack committed records, so it is never
 *   elected, even if that leaves the partition offline: availability is given up for
 *   durability (no unclean election).
 * - **The ISR is never empty.** Fencing removes the broker from every ISR it is in,
 *   except when it is the last member: then it stays, and the partition goes offline
 *   (leader -1) if it led. The last ISR member is the only replica known to hold
 *   everything committed, so the partition waits for exactly that broker to return
 *   (KRaft does the same rather than empty the ISR).
 * - **Two epochs.** `leaderEpoch` goes up by one on every change of leader (to and from
 *   -1 included), so a deposed leader's requests are recognisably old (FENCED_LEADER_EPOCH)
 *   and a follower's truncation point is well defined. `partitionEpoch` goes up by one on
 *   every change of leader or ISR (Kafka's partition epoch, KIP-497), so an ISR change
 *   computed from an older state is refused (INVALID_UPDATE_VERSION).
 * - **AlterPartition.** Only the current leader, in its current leader epoch and from the
 *   current partition epoch, may change the ISR, and it may add only replicas that are
 *   registered, unfenced (KIP-841) and of the incarnation (broker epoch) it saw catch up
 *   (KIP-903): a follower that restarted and lost unflushed records must catch up again.
 * - **Maximal ISR.** The leader counts an expansion it proposed before the controller
 *   accepts it, and a shrink only after (Kafka's `PartitionState.maximalIsr`, KIP-497), so
 *   a leader cut off from the controller can never shrink the ISR to itself and commit
 *   alone.
 */
import { ErrorCode } from '../protocol/errors.ts';

/** A partition as the controller's metadata log records it. */
export interface PartitionState {
  readonly topic: string;
  readonly partition: number;
  /** Assignment order; the preferred leader first. Never changes in phase 6. */
  readonly replicas: readonly number[];
  /** In-sync replicas; never empty (a partition whose last ISR member is fenced keeps it, leaderless). */
  readonly isr: readonly number[];
  /** -1: no leader (offline). */
  readonly leader: number;
  /** +1 on every leader change (including to and from -1). Starts at 0 for a new topic. */
  readonly leaderEpoch: number;
  /** +1 on any change of leader or ISR (Kafka's partition epoch). Starts at 0. */
  readonly partitionEpoch: number;
}

/** What the controller knows of a broker. */
export interface BrokerState {
  readonly id: number;
  /** The epoch the controller gave this registration (a new one on every registration). */
  readonly brokerEpoch: number;
  /** Its session expired (or it has not heartbeated since registering): it may not lead or join an ISR. */
  readonly fenced: boolean;
}

/** No leader: the partition is offline. */
export const NO_LEADER = -1;

/** Whether a broker may lead or join an ISR now: registered and unfenced. */
export type IsEligible = (brokerId: number) => boolean;

/**
 * The leader a partition should have: the first replica in assignment order that is in
 * the ISR and eligible, or -1 if there is none. Never a replica outside the ISR (no
 * unclean election).
 * @example
 * electLeader([1, 2, 3], [3, 2], () => true)        // 2: assignment order, not ISR order
 * electLeader([1, 2, 3], [1, 3], (id) => id !== 1)  // 3
 * electLeader([1, 2, 3], [1], (id) => id !== 1)     // -1: 2 and 3 are eligible but not in the ISR
 */
export function electLeader(replicas: readonly number[], isr: readonly number[], isEligible: IsEligible): number {
  for (const id of replicas) if (isr.includes(id) && isEligible(id)) return id;
  return NO_LEADER;
}

/** `p` with a new leader and ISR, its epochs bumped as the rules say; null if nothing changed. */
function change(p: PartitionState, leader: number, isr: readonly number[]): PartitionState | null {
  const leaderChanged = leader !== p.leader;
  const isrChanged = isr.length !== p.isr.length || isr.some((id, i) => id !== p.isr[i]);
  if (!leaderChanged && !isrChanged) return null;
  return {
    ...p,
    isr: [...isr],
    leader,
    leaderEpoch: p.leaderEpoch + (leaderChanged ? 1 : 0),
    partitionEpoch: p.partitionEpoch + 1,
  };
}

/**
 * The partitions that change when broker `brokerId` is fenced (its session expired): it
 * leaves every ISR it is in, except as the last member (an ISR is never empty); where it
 * led, the first eligible replica of the new ISR in assignment order leads instead, or
 * nobody (leader -1) if there is none. Only changed partitions are returned, as new
 * objects; a partition whose ISR does not contain the broker is not.
 *
 * `brokerId` is never elected, whatever `isEligible` says of it (the caller may pass the
 * eligibility from before or after recording the fencing).
 * @example
 * const p = { topic: 't', partition: 0, replicas: [1, 2, 3], isr: [1, 2, 3], leader: 1, leaderEpoch: 4, partitionEpoch: 7 };
 * fenceBroker([p], 1, () => true) // [{ ...p, isr: [2, 3], leader: 2, leaderEpoch: 5, partitionEpoch: 8 }]
 * fenceBroker([p], 3, () => true) // [{ ...p, isr: [1, 2], partitionEpoch: 8 }]
 */
export function fenceBroker(partitions: readonly PartitionState[], brokerId: number, isEligible: IsEligible): PartitionState[] {
  const eligible: IsEligible = (id) => id !== brokerId && isEligible(id);
  const changed: PartitionState[] = [];
  for (const p of partitions) {
    if (!p.isr.includes(brokerId)) continue;
    const isr = p.isr.length === 1 ? p.isr : p.isr.filter((id) => id !== brokerId);
    const leader = p.leader === brokerId ? electLeader(p.replicas, isr, eligible) : p.leader;
    const next = change(p, leader, isr);
    if (next !== null) changed.push(next);
  }
  return changed;
}

/**
 * The partitions that change when broker `brokerId` is unfenced (it registered again, or
 * heartbeated after its registration): every offline partition (leader -1) whose ISR
 * contains it, if it is eligible, gets a leader again (`electLeader` over its ISR, so the
 * broker itself unless an ISR member earlier in assignment order is eligible too), with
 * both epochs +1. Only changed partitions are returned, as new objects. The broker rejoins
 * other ISRs only through their leaders' AlterPartition, once it has caught up.
 * @example
 * const p = { topic: 't', partition: 0, replicas: [1, 2], isr: [2], leader: -1, leaderEpoch: 5, partitionEpoch: 9 };
 * unfenceBroker([p], 2, () => true) // [{ ...p, leader: 2, leaderEpoch: 6, partitionEpoch: 10 }]
 * unfenceBroker([p], 1, () => true) // []: 1 is not in the ISR, it would be an unclean election
 */
export function unfenceBroker(partitions: readonly PartitionState[], brokerId: number, isEligible: IsEligible): PartitionState[] {
  if (!isEligible(brokerId)) return [];
  const changed: PartitionState[] = [];
  for (const p of partitions) {
    if (p.leader !== NO_LEADER || !p.isr.includes(brokerId)) continue;
    const next = change(p, electLeader(p.replicas, p.isr, isEligible), p.isr);
    if (next !== null) changed.push(next);
  }
  return changed;
}

/** One proposed ISR member and the broker epoch of the incarnation the leader saw catch up. */
export interface IsrMemberState {
  readonly id: number;
  readonly brokerEpoch: number;
}

/** A leader's request to change a partition's ISR (the fields the decision needs). */
export interface AlterPartitionRequest {
  /** The broker asking: must be the partition's leader. */
  readonly brokerId: number;
  /** Its registration epoch. */
  readonly brokerEpoch: number;
  /** The leader epoch it leads in. */
  readonly leaderEpoch: number;
  /** The partition epoch of the state it computed the change from. */
  readonly partitionEpoch: number;
  /** The ISR it proposes, with the incarnation of each member. */
  readonly newIsr: readonly IsrMemberState[];
}

/** The controller's answer to an AlterPartition: the next partition state, or why not. */
export type AlterPartitionDecision =
  | { readonly ok: true; readonly next: PartitionState }
  | { readonly ok: false; readonly errorCode: number; readonly message: string };

function refuse(errorCode: number, message: string): AlterPartitionDecision {
  return { ok: false, errorCode, message };
}

/**
 * The controller's check of a leader's ISR change (Kafka's AlterPartition, KIP-497 and
 * KIP-903), in this order:
 *
 * 1. the requester is registered (BROKER_ID_NOT_REGISTERED) with that broker epoch
 *    (STALE_BROKER_EPOCH);
 * 2. its leader epoch is the partition's: lower FENCED_LEADER_EPOCH, higher
 *    UNKNOWN_LEADER_EPOCH;
 * 3. it is the partition's leader (INVALID_REQUEST);
 * 4. its partition epoch is the partition's (INVALID_UPDATE_VERSION);
 * 5. the new ISR is not empty, has no duplicates, contains the leader and only replicas
 *    of the partition (INVALID_REQUEST);
 * 6. every other member is registered, unfenced (KIP-841), and of the broker epoch the
 *    leader named (KIP-903) (INELIGIBLE_REPLICA). The requester's own entry is not checked again: step 1
 *    did. A broker epoch of -1 is not a wildcard here (Kafka skips the check for -1 only
 *    for old request versions; this protocol has none).
 *
 * A fenced requester is not refused in step 1: fencing a leader always moves its
 * leadership away and bumps the leader epoch, so steps 2 and 3 refuse it anyway, with the
 * more telling FENCED_LEADER_EPOCH.
 *
 * On success `next` has the new ISR (ids in the request's order) and partition epoch +1;
 * leader and leader epoch are unchanged. A request that names the current ISR again is
 * accepted and bumps the partition epoch too (the caller may skip writing it).
 * @example
 * // p: replicas [1, 2, 3], isr [1, 2], leader 1, leaderEpoch 3, partitionEpoch 8; brokers 1..3 registered at epoch 10
 * validateAlterPartition(p, { brokerId: 1, brokerEpoch: 10, leaderEpoch: 3, partitionEpoch: 8,
 *   newIsr: [{ id: 1, brokerEpoch: 10 }, { id: 2, brokerEpoch: 10 }, { id: 3, brokerEpoch: 10 }] }, brokers)
 * // { ok: true, next: { ...p, isr: [1, 2, 3], partitionEpoch: 9 } }
 */
export function validateAlterPartition(current: PartitionState, req: AlterPartitionRequest, brokers: ReadonlyMap<number, BrokerState>): AlterPartitionDecision {
  const tp = `${current.topic}-${current.partition}`;
  // 1. The requester's registration.
  const requester = brokers.get(req.brokerId);
  if (requester === undefined) return refuse(ErrorCode.BROKER_ID_NOT_REGISTERED, `${tp}: broker ${req.brokerId} is not registered with the controller`);
  if (req.brokerEpoch !== requester.brokerEpoch) {
    return refuse(ErrorCode.STALE_BROKER_EPOCH, `${tp}: broker ${req.brokerId} sent broker epoch ${req.brokerEpoch}, but its registration has epoch ${requester.brokerEpoch}`);
  }
  // 2. The leader epoch.
  if (req.leaderEpoch < current.leaderEpoch) {
    return refuse(ErrorCode.FENCED_LEADER_EPOCH, `${tp}: leader epoch ${req.leaderEpoch} is older than the current ${current.leaderEpoch}`);
  }
  if (req.leaderEpoch > current.leaderEpoch) {
    return refuse(ErrorCode.UNKNOWN_LEADER_EPOCH, `${tp}: leader epoch ${req.leaderEpoch} is newer than the current ${current.leaderEpoch}`);
  }
  // 3. Only the leader changes the ISR.
  if (req.brokerId !== current.leader) {
    const leader = current.leader === NO_LEADER ? 'the partition has no leader' : `the leader is ${current.leader}`;
    return refuse(ErrorCode.INVALID_REQUEST, `${tp}: broker ${req.brokerId} is not the leader (${leader})`);
  }
  // 4. The partition epoch.
  if (req.partitionEpoch !== current.partitionEpoch) {
    return refuse(ErrorCode.INVALID_UPDATE_VERSION, `${tp}: partition epoch ${req.partitionEpoch} is not the current ${current.partitionEpoch}`);
  }
  // 5. The shape of the new ISR.
  const ids = req.newIsr.map((m) => m.id);
  if (ids.length === 0) return refuse(ErrorCode.INVALID_REQUEST, `${tp}: the proposed ISR is empty`);
  const duplicate = ids.find((id, i) => ids.indexOf(id) !== i);
  if (duplicate !== undefined) return refuse(ErrorCode.INVALID_REQUEST, `${tp}: the proposed ISR [${ids.join(', ')}] names broker ${duplicate} twice`);
  if (!ids.includes(current.leader)) {
    return refuse(ErrorCode.INVALID_REQUEST, `${tp}: the proposed ISR [${ids.join(', ')}] does not contain the leader ${current.leader}`);
  }
  const stranger = ids.find((id) => !current.replicas.includes(id));
  if (stranger !== undefined) {
    return refuse(ErrorCode.INVALID_REQUEST, `${tp}: the proposed ISR names broker ${stranger}, which is not a replica (replicas [${current.replicas.join(', ')}])`);
  }
  // 6. Every other member is eligible, in the incarnation the leader saw (KIP-903).
  for (const m of req.newIsr) {
    if (m.id === req.brokerId) continue;
    const b = brokers.get(m.id);
    if (b === undefined) return refuse(ErrorCode.INELIGIBLE_REPLICA, `${tp}: proposed ISR member ${m.id} is not registered`);
    if (b.fenced) return refuse(ErrorCode.INELIGIBLE_REPLICA, `${tp}: proposed ISR member ${m.id} is fenced`);
    if (m.brokerEpoch !== b.brokerEpoch) {
      return refuse(ErrorCode.INELIGIBLE_REPLICA, `${tp}: proposed ISR member ${m.id} has broker epoch ${m.brokerEpoch} in the request, but its registration has epoch ${b.brokerEpoch}`);
    }
  }
  return { ok: true, next: { ...current, replicas: [...current.replicas], isr: ids, partitionEpoch: current.partitionEpoch + 1 } };
}

/** The leader epoch of a request that does not check it (old clients). */
export const UNCHECKED_LEADER_EPOCH = -1;

/**
 * The broker-side epoch check of a partition request (Produce, Fetch, ListOffsets,
 * OffsetForLeaderEpoch; Kafka's `Partition.checkCurrentLeaderEpoch` then the leadership
 * check): a request epoch of -1 is unchecked, so only leadership matters; otherwise an
 * older epoch is FENCED_LEADER_EPOCH (the sender's metadata is stale: refresh), a newer
 * one UNKNOWN_LEADER_EPOCH (this broker's is stale: retry); then a broker that does not
 * lead is NOT_LEADER_OR_FOLLOWER; else NONE. Any other negative epoch counts as older.
 *
 * A follower's fetch goes to the leader like a consumer's, with the follower's view of
 * the leader epoch, so it takes the very same check with `isLeader` of the broker it asks
 * (no variant): a follower whose metadata is an epoch behind is told so (FENCED) and
 * refreshes before it fetches, or truncates, against the wrong leader's log.
 * @example
 * checkLeaderEpoch(5, 5, true)   // 0 (NONE)
 * checkLeaderEpoch(4, 5, true)   // 74 (FENCED_LEADER_EPOCH)
 * checkLeaderEpoch(6, 5, true)   // 75 (UNKNOWN_LEADER_EPOCH)
 * checkLeaderEpoch(-1, 5, false) // 6 (NOT_LEADER_OR_FOLLOWER)
 */
export function checkLeaderEpoch(requestEpoch: number, currentEpoch: number, isLeader: boolean): number {
  if (requestEpoch !== UNCHECKED_LEADER_EPOCH) {
    if (requestEpoch < currentEpoch) return ErrorCode.FENCED_LEADER_EPOCH;
    if (requestEpoch > currentEpoch) return ErrorCode.UNKNOWN_LEADER_EPOCH;
  }
  return isLeader ? ErrorCode.NONE : ErrorCode.NOT_LEADER_OR_FOLLOWER;
}

/**
 * The ISR a leader computes its high watermark over: the committed ISR (as the controller
 * last accepted it) plus the additions it has proposed and not yet heard back about, in
 * order of first appearance, without duplicates. An expansion counts at once (waiting
 * for one more replica is always safe); a shrink counts only once committed (a proposed
 * removal is simply not applied yet), so a leader cut off from the controller keeps
 * waiting for its old followers and never commits alone.
 * @example
 * maximalIsr([1, 2], [3])    // [1, 2, 3]
 * maximalIsr([1, 2], [2, 3]) // [1, 2, 3]
 */
export function maximalIsr(committedIsr: readonly number[], pendingAdditions: readonly number[]): number[] {
  return [...new Set([...committedIsr, ...pendingAdditions])];
}
