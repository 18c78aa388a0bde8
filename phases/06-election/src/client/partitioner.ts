/**
 * Where a produced record goes. The producer asks this module for a partition for every
 * record before it is added to a per-partition batch; the decision is pure apart from
 * the sticky choice, which is per-producer state held in a {@link StickyPartitioner}
 * object (never module state) and drawn from the Random seam.
 *
 * The rule, in order, as in Kafka's Java producer:
 * 1. an explicit `partition` on the record wins (it must exist, else
 *    UnknownTopicOrPartitionError);
 * 2. a record with a key goes to `toPositive(murmur2(key)) % numPartitions`, so every
 *    record with that key lands on one partition and keeps its order there;
 * 3. a keyless record goes to the topic's current *sticky* partition, which changes only
 *    when a batch for it is sent (KIP-480). Round robin per record would spread keyless
 *    records as well, but it cuts every linger window into `numPartitions` small
 *    batches; sticking to one partition per batch keeps batches large, and the random
 *    switch after each batch spreads load over time.
 */
import { randomInt, type Random } from '../seams/random.ts';
import { UnknownTopicOrPartitionError } from '../topics/errors.ts';
import { partitionForKey } from './murmur2.ts';

/**
 * Where keyless records go: a partition for the next record of `topic`, and a hook
 * called whenever a batch for one of its partitions is closed (full, or sent).
 */
export interface KeylessPartitioner {
  partition(topic: string, numPartitions: number): number;
  onNewBatch(topic: string, sentPartition: number, numPartitions: number): void;
}

/**
 * The sticky partition of each topic, for keyless records (KIP-480). One instance per
 * producer. `partition()` returns the current choice (choosing one at random the first
 * time); `onNewBatch()` is called when a batch for that partition has been sent, and
 * moves the topic to a different partition chosen at random.
 */
export class StickyPartitioner implements KeylessPartitioner {
  readonly #random: Random;
  readonly #current = new Map<string, number>();

  /** @param random the Random seam; pass `seededRandom(seed)` in tests. */
  constructor(random: Random) {
    this.#random = random;
  }

  // #region sticky
  /**
   * The current sticky partition of `topic` (in [0, numPartitions)).
   * @example
   * const sticky = new StickyPartitioner(seededRandom(1));
   * sticky.partition('logs', 6) === sticky.partition('logs', 6); // true until onNewBatch
   */
  partition(topic: string, numPartitions: number): number {
    const current = this.#current.get(topic);
    // A topic whose partition count changed under us (metadata refresh) gets a fresh choice.
    if (current !== undefined && current < numPartitions) return current;
    const chosen = randomInt(this.#random, numPartitions);
    this.#current.set(topic, chosen);
    return chosen;
  }

  /**
   * A batch for `topic`'s partition `sentPartition` has been sent. If that was the sticky
   * partition, switch to another one (uniformly among the others), so that the next
   * batch of keyless records goes elsewhere. A batch of keyed records on another
   * partition does not move the sticky partition.
   */
  onNewBatch(topic: string, sentPartition: number, numPartitions: number): void {
    const current = this.#current.get(topic);
    if (current !== sentPartition) return;
    if (numPartitions <= 1) return;
    // Pick among the other numPartitions-1 partitions without a retry loop.
    const other = randomInt(this.#random, numPartitions - 1);
    this.#current.set(topic, other >= sentPartition ? other + 1 : other);
  }
  // #endregion sticky
}

/**
 * Kafka's partitioner before KIP-480, for comparison (`measure` runs both): keyless
 * records go to the partitions in turn, one record each. Load spreads evenly, but every
 * linger window's records are cut into `numPartitions` small batches, so there are more
 * requests (and, here, more fsyncs) for the same records.
 */
export class RoundRobinPartitioner implements KeylessPartitioner {
  readonly #next = new Map<string, number>();

  /** The next partition in turn for `topic`. */
  partition(topic: string, numPartitions: number): number {
    const p = (this.#next.get(topic) ?? 0) % numPartitions;
    this.#next.set(topic, p + 1);
    return p;
  }

  /** Batches do not matter to round robin. */
  onNewBatch(): void {}
}

// #region choose
/** What the partitioner needs to know about one record. */
export interface PartitionInput {
  readonly topic: string;
  readonly key?: Buffer | null;
  readonly partition?: number | undefined;
}

/**
 * Choose the partition of one record: explicit, else key hash, else sticky.
 * @example
 * choosePartition({ topic: 't', key: Buffer.from('k') }, 3, sticky); // murmur2('k') % 3
 * choosePartition({ topic: 't', partition: 2 }, 3, sticky);           // 2
 */
export function choosePartition(record: PartitionInput, numPartitions: number, sticky: KeylessPartitioner): number {
  if (!Number.isSafeInteger(numPartitions) || numPartitions <= 0) throw new RangeError(`bad partition count ${numPartitions}`);
  if (record.partition !== undefined) {
    const p = record.partition;
    if (!Number.isSafeInteger(p) || p < 0 || p >= numPartitions) throw new UnknownTopicOrPartitionError(record.topic, p);
    return p;
  }
  if (record.key !== undefined && record.key !== null) return partitionForKey(record.key, numPartitions);
  return sticky.partition(record.topic, numPartitions);
}
// #endregion choose
