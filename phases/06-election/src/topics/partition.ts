/**
 * One partition of one topic on this broker, and the name of a partition everywhere.
 *
 * `TopicPartition` is the one type for "partition p of topic t" (Kafka's
 * `TopicPartition`), and `tpKey` the one way to turn it into a map key. `Partition` is
 * what the request handlers talk to: Produce appends through it, Fetch and ListOffsets
 * read through it, Metadata reports it. It owns the partition's phase-1 `Log`.
 *
 * The high watermark is the offset below which records are committed: what a consumer
 * may see. A partition has one of three roles:
 *
 * - `single`: the only copy (phases 2–4, and a broker run without a cluster file). A
 *   record is committed once durable here, so the high watermark is the log end offset.
 * - `leader` (phase 5): the copy producers and consumers talk to. Its `LeaderReplica`
 *   (replication/leader.ts) tracks the followers and the ISR; the high watermark is the
 *   least durable log end offset over the ISR, and lags this log's end.
 * - `follower` (phase 5): a copy fed by the leader through `appendReplicated`, batches
 *   exactly as the leader stored them. It serves no client; its high watermark is what
 *   the leader last said, capped by its own log end offset.
 *
 * Reads for consumers stop at the high watermark, so a consumer never sees a record that
 * could still be lost; reads for followers go to the log end offset.
 *
 * What a produced batch may carry: the partition owns the leader epoch field (stamped -1,
 * Kafka's "unset", until phase 6 gives partitions leaders with epochs), and refuses a
 * batch that sets a producer id, epoch or sequence (phase 8's idempotent producer) or the
 * LogAppendTime timestamp type, with INVALID_RECORD (87), the code Kafka's broker uses for
 * a batch that breaks one of its rules. The log (phase 1) stores whatever intact batch it
 * is given, so this is checked here, on the produce path, not in the log.
 */
import { InvalidRecordError, RecordTooLargeError } from '../log/errors.ts';
import type { AppendResult, Log } from '../log/log.ts';
import {
  NO_PARTITION_LEADER_EPOCH,
  NO_PRODUCER_EPOCH,
  NO_PRODUCER_ID,
  NO_SEQUENCE,
  readBatchHeader,
  stampPartitionLeaderEpoch,
  validateBatch,
  verifyBatchCrc,
} from '../log/record-batch.ts';
import type { LeaderEpochCache } from '../replication/epoch-cache.ts';
import type { LeaderReplica } from '../replication/leader.ts';

/** A partition of a topic, by name and number. */
export interface TopicPartition {
  readonly topic: string;
  readonly partition: number;
}

/**
 * The map key of a partition. Topic names cannot contain `:`, so the key is unambiguous.
 * @example tpKey({ topic: 'orders', partition: 2 }); // 'orders:2'
 */
export function tpKey(tp: TopicPartition): string {
  return `${tp.topic}:${tp.partition}`;
}

/** Where a produce request's batches landed. */
export interface PartitionAppendResult {
  /** Offset of the first record of the first batch. */
  baseOffset: number;
  /** Offset of the last record of the last batch. */
  lastOffset: number;
  /** The partition's log start offset after the append. */
  logStartOffset: number;
}

/** What a partition is on this broker. */
export type PartitionRole = 'single' | 'leader' | 'follower';

/**
 * A partition on this broker: its log and the offsets the protocol reports.
 * @example
 * const p = new Partition({ topic: 'orders', partition: 0 }, log);
 * await p.appendBatches([batch]);
 * const batches = await p.read(p.logStartOffset, 1 << 20);
 */
export class Partition implements TopicPartition {
  readonly topic: string;
  readonly partition: number;
  /** The partition's log. The handlers use it only through this object. */
  readonly log: Log;

  #leader: LeaderReplica | null = null;
  #follower: { leaderId: number; highWatermark: number } | null = null;
  /** Phase 6: the leader epoch this broker last learned for the partition (-1: none, a phase-5 cluster). */
  #leaderEpoch = -1;
  /** Phase 6: the partition has no leader (the controller took it offline): nobody serves it. */
  #offline = false;
  /** Phase 6: where each leader epoch began in this log; null where epochs are not kept. */
  #epochCache: LeaderEpochCache | null = null;
  /** Phase 6: persists the epoch cache after a follower learned a new epoch from a batch. */
  #saveEpochs: (() => Promise<void>) | null = null;

  constructor(tp: TopicPartition, log: Log) {
    this.topic = tp.topic;
    this.partition = tp.partition;
    this.log = log;
  }

  /** Lead this partition, with `replica` tracking its followers (phase 5). */
  becomeLeader(replica: LeaderReplica): void {
    this.#leader = replica;
    this.#follower = null;
    this.#offline = false;
  }

  /** Follow `leaderId`'s copy, starting from a high watermark of `highWatermark` (phase 5). */
  becomeFollower(leaderId: number, highWatermark: number): void {
    this.#leader = null;
    this.#offline = false;
    this.#follower = { leaderId, highWatermark };
  }

  /**
   * Phase 6: keep leader epochs for this partition: `cache` is where each began in this
   * log, `save` writes it durably (the replica manager's checkpoint).
   */
  attachEpochs(cache: LeaderEpochCache, save: () => Promise<void>): void {
    this.#epochCache = cache;
    this.#saveEpochs = save;
  }

  /** Phase 6: write the epoch cache durably (its checkpoint file); nothing where epochs are not kept. */
  async saveEpochs(): Promise<void> {
    await this.#saveEpochs?.();
  }

  /** Phase 6: the leader-epoch cache, or null where epochs are not kept. */
  get epochCache(): LeaderEpochCache | null {
    return this.#epochCache;
  }

  /** Phase 6: the leader epoch this broker believes in for the partition (-1: unknown). */
  get leaderEpoch(): number {
    return this.#leaderEpoch;
  }

  /** Phase 6: record the leader epoch from the metadata log (never goes back). */
  setLeaderEpoch(epoch: number): void {
    if (epoch < this.#leaderEpoch) throw new RangeError(`${this.topic}-${this.partition}: leader epoch ${epoch} after ${this.#leaderEpoch}`);
    this.#leaderEpoch = epoch;
  }

  /** Phase 6: nobody leads the partition; this broker neither serves nor copies it. */
  goOffline(): void {
    this.#leader = null;
    this.#offline = true;
    const hw = this.highWatermark;
    this.#follower = { leaderId: -1, highWatermark: hw };
  }

  /** Phase 6: the controller took the partition offline. */
  get offline(): boolean {
    return this.#offline;
  }

  get role(): PartitionRole {
    return this.#leader !== null ? 'leader' : this.#follower !== null ? 'follower' : 'single';
  }

  /** The leader's replica state, when this broker leads the partition. */
  get leaderReplica(): LeaderReplica | null {
    return this.#leader;
  }

  /** The broker this follower copies from, or null when this broker is not a follower. */
  get followedLeaderId(): number | null {
    return this.#follower?.leaderId ?? null;
  }

  /** The first offset still in the log. */
  get logStartOffset(): number {
    return this.log.logStartOffset;
  }

  /** The offset the next record will get. */
  get logEndOffset(): number {
    return this.log.logEndOffset;
  }

  // #region partition
  /**
   * The end of what is committed and may be read: the log end offset while there is one
   * copy (see the file comment). Fetch reports it and reads below it; ListOffsets
   * "latest" returns it.
   */
  get highWatermark(): number {
    if (this.#leader !== null) return this.#leader.highWatermark;
    if (this.#follower !== null) return Math.min(this.#follower.highWatermark, this.log.logEndOffset);
    return this.log.logEndOffset;
  }

  /**
   * Append a produce request's batches, in order. With several batches, all are checked
   * first (size, structure, CRC), so a request with one bad batch appends none of them;
   * every batch is checked for the fields only the broker may set (see the file comment)
   * before any is appended. Resolves once every batch is durable; the appends start
   * synchronously, so two calls made in order land in that order.
   */
  appendBatches(batches: readonly Buffer[]): Promise<PartitionAppendResult> {
    for (const batch of batches) {
      if (batches.length > 1) {
        if (batch.length > this.log.config.batchBytesMax) throw new RecordTooLargeError(batch.length, this.log.config.batchBytesMax);
        validateBatch(batch);
      }
      takeBrokerOwnedFields(batch, this.#leader !== null ? this.#leaderEpoch : NO_PARTITION_LEADER_EPOCH);
    }
    const appends: Promise<AppendResult>[] = batches.map((batch) => this.log.appendBatch(batch));
    return this.#settle(appends);
  }

  async #settle(appends: Promise<AppendResult>[]): Promise<PartitionAppendResult> {
    const results = await Promise.all(appends);
    const first = results[0];
    const last = results[results.length - 1];
    if (first === undefined || last === undefined) throw new RangeError('appendBatches: no batches');
    return { baseOffset: first.baseOffset, lastOffset: last.lastOffset, logStartOffset: this.log.logStartOffset };
  }
  // #endregion partition

  /**
   * Stored batches from the one holding `offset`, up to about `maxBytes` (at least one
   * batch when any is there), none at or past `upTo`: the high watermark for a consumer
   * (the default), the log end offset for a follower.
   * @throws OffsetOutOfRangeError outside `[logStartOffset, logEndOffset]`
   */
  async read(offset: number, maxBytes: number, upTo: number = this.highWatermark): Promise<Buffer[]> {
    if (offset >= upTo && offset <= this.log.logEndOffset) return [];
    const batches = await this.log.read(offset, maxBytes);
    // The high watermark lies on a batch boundary, so whole batches are cut.
    return batches.filter((b) => readBatchHeader(b).baseOffset < upTo);
  }

  /** Whether a fetch from `offset` up to `upTo` would return something now (records, or an out-of-range error). */
  readableFrom(offset: number, upTo: number = this.highWatermark): boolean {
    return offset < upTo || offset > this.log.logEndOffset || offset < this.log.logStartOffset;
  }

  /**
   * Append batches copied from the leader, as they are (offsets, timestamps and CRC the
   * leader's), then take the leader's high watermark, capped by this log's end. Each
   * batch must start exactly at this log's end: a gap or an overlap means the two copies
   * disagree, and nothing is appended. Resolves once every batch is durable (fsynced),
   * which is what lets the next fetch offset say "durable below here".
   */
  async appendReplicated(batches: readonly Buffer[], leaderHighWatermark: number): Promise<void> {
    if (this.#follower === null) throw new InvalidRecordError(`${this.topic}-${this.partition} is not a follower here`);
    let next = this.log.logEndOffset;
    for (const b of batches) {
      const header = readBatchHeader(b);
      if (header.baseOffset !== next) throw new InvalidRecordError(`replicated batch at offset ${header.baseOffset}, expected ${next} (${this.topic}-${this.partition})`);
      next = header.baseOffset + header.lastOffsetDelta + 1;
    }
    for (const b of batches) {
      await this.log.appendBatch(b);
      // Phase 6: a batch of a newer epoch starts that epoch here too, durably before the next fetch.
      const epoch = readBatchHeader(b).partitionLeaderEpoch;
      if (this.#epochCache !== null && epoch > this.#epochCache.latestEpoch) {
        this.#epochCache.assign(epoch, readBatchHeader(b).baseOffset);
        await this.saveEpochs();
      }
    }
    this.#follower.highWatermark = Math.max(this.#follower.highWatermark, Math.min(leaderHighWatermark, this.log.logEndOffset));
  }
}

/** Attributes bit 3, the timestamp type: set means LogAppendTime (log/record-batch.ts). */
const LOG_APPEND_TIME_FLAG = 0x08;

/**
 * Refuse a produced batch that sets what no phase up to this one gives meaning to, and
 * stamp the fields the broker owns, whatever the client sent (see the file comment). A
 * damaged batch (bad CRC) is left as it is, for the log's validation to report as
 * CORRUPT_MESSAGE: its header fields are not what the producer wrote.
 * @throws InvalidRecordError (INVALID_RECORD, 87) for a producer id, epoch or sequence, or LogAppendTime
 */
function takeBrokerOwnedFields(batch: Buffer, leaderEpoch: number): void {
  if (!verifyBatchCrc(batch)) return;
  const h = readBatchHeader(batch);
  if (h.producerId !== NO_PRODUCER_ID || h.producerEpoch !== NO_PRODUCER_EPOCH || h.baseSequence !== NO_SEQUENCE) {
    throw new InvalidRecordError(
      `producerId ${h.producerId}, producerEpoch ${h.producerEpoch}, baseSequence ${h.baseSequence}: idempotent producers are not supported (phase 8); send -1 for each`,
    );
  }
  if ((h.attributes & LOG_APPEND_TIME_FLAG) !== 0) {
    throw new InvalidRecordError('the LogAppendTime timestamp type is not supported: the broker keeps the producer\'s CreateTime timestamps');
  }
  // Phase 6: the leader's epoch (-1 outside a controlled cluster); outside the CRC, so stamping keeps it valid.
  stampPartitionLeaderEpoch(batch, leaderEpoch);
}
