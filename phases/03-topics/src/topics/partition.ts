/**
 * One partition of one topic on this broker, and the name of a partition everywhere.
 *
 * `TopicPartition` is the one type for "partition p of topic t" (Kafka's
 * `TopicPartition`), and `tpKey` the one way to turn it into a map key. `Partition` is
 * what the request handlers talk to: Produce appends through it, Fetch and ListOffsets
 * read through it, Metadata reports it. It owns the partition's phase-1 `Log`.
 *
 * The high watermark is the offset below which records are committed: what a consumer
 * may see. With one copy of each partition, a record is committed as soon as it is
 * durable in that copy, so here it is the log end offset (appends are acknowledged only
 * after fsync, and a fetch never reads past the durable end). Phase 5 keeps several
 * copies; it gives `Partition` a role (leader or follower), an in-sync replica set and a
 * high watermark of its own that lags the log end offset, without changing the handlers.
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

  constructor(tp: TopicPartition, log: Log) {
    this.topic = tp.topic;
    this.partition = tp.partition;
    this.log = log;
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
      takeBrokerOwnedFields(batch);
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
   * batch when any is there), never past the high watermark.
   * @throws OffsetOutOfRangeError outside `[logStartOffset, highWatermark]`
   */
  async read(offset: number, maxBytes: number): Promise<Buffer[]> {
    return await this.log.read(offset, maxBytes);
  }

  /** Whether a fetch from `offset` would return something now (records, or an out-of-range error). */
  readableFrom(offset: number): boolean {
    return offset !== this.highWatermark;
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
function takeBrokerOwnedFields(batch: Buffer): void {
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
  stampPartitionLeaderEpoch(batch, NO_PARTITION_LEADER_EPOCH);
}
