/**
 * Which brokers hold the replicas of a new topic's partitions, and in which order (the
 * first one is the preferred leader). The controller calls {@link assignReplicas} when it
 * creates a topic; the function is pure, and the two random choices Kafka makes
 * (`startIndex` and `shift`) come in as parameters, drawn by the caller from the Random
 * seam, so a seeded run (and the phase-7 simulator) places every replica the same way.
 *
 * The algorithm is Kafka's rack-unaware placement (`AdminUtils.assignReplicasToBrokersRackUnaware`,
 * which KRaft's `StripedReplicaPlacer` refines with racks and fencing):
 *
 * - **Leaders round-robin.** With the brokers sorted, partition `p`'s first replica is
 *   broker `(p + startIndex) mod n`, so leadership is spread evenly: every broker leads
 *   `floor(P/n)` or `ceil(P/n)` of the `P` partitions.
 * - **Followers at a shift.** The other replicas follow the first at the distances
 *   `1 + (shift + j) mod (n - 1)`, `j = 0 .. rf-2`: consecutive distances, none zero and
 *   none repeated, so the `rf` brokers are distinct.
 * - **The shift moves every `n` partitions.** After each full round of `n` partitions the
 *   shift grows by one, so the next round pairs leaders with different followers: when
 *   one broker dies, its followers' extra load is spread over several brokers instead of
 *   falling on one neighbour.
 *
 * In every full round each broker holds exactly `rf` replicas; only the last, partial
 * round of `P mod n` partitions is uneven, so the replica counts of two brokers differ by
 * at most `min(rf, P mod n)` (zero when `n` divides `P`).
 */

/** Which argument of {@link assignReplicas} was out of range. */
export type AssignmentArgument = 'partitions' | 'replicationFactor' | 'brokerIds' | 'startIndex' | 'shift';

/**
 * An argument of {@link assignReplicas} out of range. Still a `RangeError`; `argument`
 * tells the caller which error code to answer with (INVALID_PARTITIONS for `partitions`,
 * INVALID_REPLICATION_FACTOR for `replicationFactor`; the others are caller bugs).
 */
export class AssignmentRangeError extends RangeError {
  readonly argument: AssignmentArgument;
  constructor(argument: AssignmentArgument, message: string) {
    super(message);
    this.name = 'AssignmentRangeError';
    this.argument = argument;
  }
}

/**
 * The replica lists of a new topic's partitions, the preferred leader first.
 *
 * @param brokerIds the registered, unfenced brokers (any order; sorted ascending here)
 * @param partitions how many partitions, at least 1 (the caller applies its own upper limit)
 * @param replicationFactor replicas per partition, 1 to the number of brokers
 * @param startIndex the first partition's leader, as an index into the sorted brokers: an integer in [0, n)
 * @param shift the first round's follower shift: an integer in [0, n)
 * @returns `result[p]` is partition `p`'s replicas, `replicationFactor` distinct brokers
 * @throws AssignmentRangeError (a RangeError) naming the numbers: a partition count or
 *   replication factor out of range (the caller answers INVALID_PARTITIONS or
 *   INVALID_REPLICATION_FACTOR), duplicate broker ids, or a `startIndex`/`shift` outside
 *   [0, n) (caller bugs)
 * @example
 * assignReplicas([3, 1, 2], 4, 2, 0, 0) // [[1, 2], [2, 3], [3, 1], [1, 3]]
 */
export function assignReplicas(brokerIds: readonly number[], partitions: number, replicationFactor: number, startIndex: number, shift: number): number[][] {
  const brokers = [...brokerIds].sort((a, b) => a - b);
  const n = brokers.length;
  if (!Number.isSafeInteger(partitions) || partitions < 1) throw new AssignmentRangeError('partitions', `partitions must be an integer of at least 1, got ${partitions}`);
  if (!Number.isSafeInteger(replicationFactor) || replicationFactor < 1 || replicationFactor > n) {
    throw new AssignmentRangeError('replicationFactor', `replication factor must be an integer from 1 to the number of available brokers (${n}), got ${replicationFactor}`);
  }
  const duplicate = brokers.find((id, i) => i > 0 && brokers[i - 1] === id);
  if (duplicate !== undefined) throw new AssignmentRangeError('brokerIds', `broker ${duplicate} is listed twice in [${brokerIds.join(', ')}]`);
  for (const [name, value] of [['startIndex', startIndex], ['shift', shift]] as const) {
    if (!Number.isSafeInteger(value) || value < 0 || value >= n) throw new AssignmentRangeError(name, `${name} must be an integer in [0, ${n}), got ${value}`);
  }

  const at = (i: number): number => {
    const id = brokers[i];
    if (id === undefined) throw new RangeError(`broker index ${i} out of range`); // unreachable: every index is mod n
    return id;
  };
  const result: number[][] = [];
  let nextReplicaShift = shift;
  for (let p = 0; p < partitions; p++) {
    if (p > 0 && p % n === 0) nextReplicaShift += 1;
    const first = (p + startIndex) % n;
    const replicas = [at(first)];
    for (let j = 0; j < replicationFactor - 1; j++) replicas.push(at((first + 1 + ((nextReplicaShift + j) % (n - 1))) % n));
    result.push(replicas);
  }
  return result;
}
