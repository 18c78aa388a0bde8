/**
 * Cooperative (incremental) rebalancing, as in Kafka's KIP-429: the step between the
 * assignor's target and what members are actually told. The coordinator calls
 * {@link cooperativeRound} right after {@link assign} (assignor.ts) at the end of every
 * join phase. Pure, like the assignor.
 *
 * The assignor says where every partition *should* be. Handing that out directly
 * would be unsafe: a partition moving from A to B would be consumed by both until A
 * noticed, because A learns of the move at the same time as B. The eager protocol
 * avoids that by making every member drop everything before it rejoins (the whole group
 * stops). The cooperative protocol instead splits a move into two rebalances:
 *
 * - round 1: B's assignment *leaves out* every partition that another member still
 *   owns; A is told its new (smaller) assignment, so it revokes the difference (commits
 *   its offsets, stops fetching) and rejoins reporting the smaller ownership;
 * - round 2: the partitions A gave up are owned by nobody, so B is assigned them.
 *
 * Members keep consuming every partition they keep throughout, and no partition is
 * ever in two members' assignments in the same generation, nor assigned to one member
 * while another still owns it.
 */
import { type Assignment } from './assignor.ts';
import { tpKey, type TopicPartition } from '../topics/partition.ts';

/** What one cooperative round tells the members. */
export interface CooperativeRound {
  /** Per member: what it may consume in the new generation (target minus partitions
   * another member still owns). Every member of `target` has an entry. */
  readonly assignment: Assignment;
  /** Per member: what it owns now and must give up before rejoining (owned minus
   * target). Only members with something to revoke have an entry. */
  readonly revoked: Assignment;
  /** Partitions the target gives to someone but that were held back this round because
   * their old owner still owns them; non-empty means a follow-up rebalance is needed. */
  readonly pending: TopicPartition[];
}

/**
 * Turn the assignor's `target` into this round's assignment, given what members own.
 *
 * @param target the assignor's result: every member of the new generation → partitions
 * @param owned what each member owns now; entries of members absent from `target` are
 *   ignored (they left the group, so what they owned is free)
 * @example
 * const target = new Map([['a', [t0]], ['b', [t1]]]);
 * const owned = new Map([['a', [t0, t1]]]);
 * cooperativeRound(target, owned);
 * // assignment: a → [t0], b → [] ; revoked: a → [t1] ; pending: [t1]
 */
// #region round
export function cooperativeRound(
  target: Assignment,
  owned: ReadonlyMap<string, readonly TopicPartition[]>,
): CooperativeRound {
  const ownerOf = new Map<string, string>();
  for (const [member, partitions] of owned) {
    if (!target.has(member)) continue;
    for (const tp of partitions) ownerOf.set(tpKey(tp), member);
  }
  const assignment: Assignment = new Map();
  const revoked: Assignment = new Map();
  const pending: TopicPartition[] = [];
  for (const [member, partitions] of target) {
    const mine: TopicPartition[] = [];
    for (const tp of partitions) {
      const owner = ownerOf.get(tpKey(tp));
      if (owner === undefined || owner === member) mine.push(tp);
      else pending.push(tp);
    }
    assignment.set(member, mine);
    const keep = new Set(partitions.map(tpKey));
    const drop = (owned.get(member) ?? []).filter((tp) => !keep.has(tpKey(tp)));
    if (drop.length > 0) revoked.set(member, drop);
  }
  return { assignment, revoked, pending };
}
// #endregion round
