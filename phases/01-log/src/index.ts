/**
 * The public API of phase 1, in one import: the Log, the Storage seam and its two
 * implementations, the Random seam, the RecordBatch v2 codec, and the typed errors. Later phases
 * (the wire server, topics, replication) build on these names.
 * @example
 * import { Log, FsStorage } from './index.ts';
 * const log = await Log.open(new FsStorage(), '/tmp/log');
 */
export {
  AppendQueueFullError,
  CorruptBatchError,
  InvalidConfigError,
  InvalidRecordError,
  KAFKA_ERROR_CODES,
  LogClosedError,
  LogError,
  type LogErrorCode,
  OffsetOutOfRangeError,
  RecordTooLargeError,
  StorageError,
} from './log/errors.ts';
export {
  type AppendResult,
  DEFAULT_LOG_CONFIG,
  Log,
  type LogConfig,
  resolveLogConfig,
  type ScannedBatch,
  type SegmentInfo,
} from './log/log.ts';
export { type CrashOptions, MemoryStorage } from './seams/memory-storage.ts';
export { realSeams, type Seams } from './seams/real.ts';
export { type Random, randomInt, realRandom, seededRandom } from './seams/random.ts';
export { INDEX_ENTRY_BYTES, type IndexEntry } from './log/offset-index.ts';
export {
  BATCH_HEADER_BYTES,
  type BatchHeader,
  batchLastOffset,
  batchSizeBytes,
  checkBatchHeader,
  decodeBatch,
  encodeBatch,
  type EncodeOptions,
  type Header,
  LOG_OVERHEAD,
  type LogRecord,
  MAGIC_V2,
  NO_PARTITION_LEADER_EPOCH,
  NO_PRODUCER_EPOCH,
  NO_PRODUCER_ID,
  NO_SEQUENCE,
  NO_TIMESTAMP,
  type RecordInput,
  readBatchHeader,
  stampBaseOffset,
  stampPartitionLeaderEpoch,
  validateBatch,
  verifyBatchCrc,
} from './log/record-batch.ts';
export type { RecoveryReport } from './log/recovery.ts';
export { FsStorage, mkdirDurable, type Storage, type StorageFile } from './seams/storage.ts';
