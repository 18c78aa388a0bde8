/**
 * The sticky assignor: which member of a consumer group reads which partition. The
 * group coordinator calls {@link assign} once per rebalance, when every member has
 * (re)joined, and hands the result to {@link cooperativeRound} (cooperative.ts), which
 * holds back the partitions that are still owned by someone else. The function is pure:
 * no I/O, no clock, no randomness, the same inputs always give the same assignment, so
 * the assignor is tested with properties and the phase-7 simulator can replay it.
 *
 * The rule, in the spirit of Kafka's `StickyAssignor` (KIP-54) for one subscription:
 *
 * 1. **Quotas.** With `n` partitions and `m` members, every member gets `floor(n/m)`
 *    partitions and `n mod m` of them get one more, so sizes differ by at most one.
 *    The extra slots go to the members that already own the most partitions (ties by
 *    member id), because that choice minimises how many partitions must be taken away.
 * 2. **Keep.** Every member keeps the partitions it already owns, up to its quota.
 *    A partition claimed by two members (possible only with stale claims) is kept by
 *    the first member in id order.
 * 3. **Fill.** Every partition left over (new, whose owner left, or taken from a member
 *    over its quota) goes to the member with the fewest partitions that is still under
 *    its quota (ties by member id), in partition order.
 *
 * So a partition changes owner only when its owner left the group or its owner holds
 * more than its quota, and the number that move is the least that balance allows.
 */
import assert from 'node:assert/strict';
import { type TopicPartition, tpKey } from '../topics/partition.ts';


/** Member id → the partitions that member owns (or is assigned). */
export type Assignment = Map<string, TopicPartition[]>;

/**
 * Total order on partitions: by topic, then partition number. Used everywhere an order
 * is needed so that results never depend on the order of `Map` insertion.
 */
export function compareTopicPartitions(a: TopicPartition, b: TopicPartition): number {
  if (a.topic !== b.topic) return a.topic < b.topic ? -1 : 1;
  return a.partition - b.partition;
}

/** Plain code-unit string order (not locale order), so results match on every machine. */
function compareIds(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Assign `partitions` to `members`, balanced to within one partition and moving as few
 * partitions as possible away from their current owners.
 *
 * @param members the member ids of the new generation (order irrelevant; duplicates ignored)
 * @param currentOwnership what each member owns now; entries for members not in
 *   `members` (they left) and partitions not in `partitions` (gone) are ignored
 * @param partitions every partition to hand out (duplicates ignored)
 * @returns an entry for every member (possibly empty), partitions sorted
 * @example
 * const owned = new Map([['a', [{ topic: 't', partition: 0 }, { topic: 't', partition: 1 }]]]);
 * assign(['a', 'b'], owned, [0, 1].map((p) => ({ topic: 't', partition: p })));
 * // a keeps one of its partitions, b gets the other: Map { a: [t:0], b: [t:1] }
 */
export function assign(
  members: readonly string[],
  currentOwnership: ReadonlyMap<string, readonly TopicPartition[]>,
  partitions: readonly TopicPartition[],
): Assignment {
  const memberIds = [...new Set(members)].sort(compareIds);
  const result: Assignment = new Map(memberIds.map((id) => [id, []]));
  if (memberIds.length === 0) return result;

  const byKey = new Map<string, TopicPartition>();
  for (const tp of partitions) byKey.set(tpKey(tp), { topic: tp.topic, partition: tp.partition });
  const allPartitions = [...byKey.values()].sort(compareTopicPartitions);

  // Valid claims: the member is still here, the partition still exists, nobody earlier
  // in id order claimed it already.
  const claimed = new Set<string>();
  const owned = new Map<string, TopicPartition[]>();
  for (const id of memberIds) {
    const mine: TopicPartition[] = [];
    for (const tp of [...(currentOwnership.get(id) ?? [])].sort(compareTopicPartitions)) {
      const key = tpKey(tp);
      const existing = byKey.get(key);
      if (existing === undefined || claimed.has(key)) continue;
      claimed.add(key);
      mine.push(existing);
    }
    owned.set(id, mine);
  }

  // #region quotas
  // Quotas: the `n mod m` extra slots go to the biggest current owners.
  const floor = Math.floor(allPartitions.length / memberIds.length);
  const extra = allPartitions.length % memberIds.length;
  const quota = new Map<string, number>();
  const bySize = [...memberIds].sort(
    (a, b) => (owned.get(b)?.length ?? 0) - (owned.get(a)?.length ?? 0) || compareIds(a, b),
  );
  bySize.forEach((id, rank) => quota.set(id, floor + (rank < extra ? 1 : 0)));

  // Keep what fits in the quota; everything else is up for grabs.
  const taken = new Set<string>();
  for (const id of memberIds) {
    const keep = (owned.get(id) ?? []).slice(0, quota.get(id) ?? 0);
    result.set(id, keep);
    for (const tp of keep) taken.add(tpKey(tp));
  }
  for (const tp of allPartitions) {
    if (taken.has(tpKey(tp))) continue;
    let best: string | undefined;
    for (const id of memberIds) {
      const size = result.get(id)?.length ?? 0;
      if (size >= (quota.get(id) ?? 0)) continue;
      if (best === undefined || size < (result.get(best)?.length ?? 0)) best = id;
    }
    // Quotas sum to the partition count, so some member always has room.
    assert(best !== undefined, 'assignor invariant: no member under its quota');
    result.get(best)?.push(tp);
  }
  for (const list of result.values()) list.sort(compareTopicPartitions);
  return result;
  // #endregion quotas
}
