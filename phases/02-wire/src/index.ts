/**
 * The public API of phase 2, in one import: phase 1's log, storage and codec, plus the
 * wire protocol's error codes, the TCP broker, the producer and consumer clients, and
 * the Clock and Transport seams (with `realSeams()`, the one place the real seams are
 * chosen).
 * @example
 * import { Broker, Producer, realSeams } from './index.ts';
 * const broker = await Broker.start({ dir: '/tmp/log', port: 9092 }, realSeams());
 * const producer = new Producer({ port: broker.port, ...realSeams() });
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

// Phase 2: the wire protocol, the broker and its clients, and the Clock and Transport seams.
export { type Clock, ManualClock, realClock, type TimerHandle } from './seams/clock.ts';
export {
  type AcceptLink,
  type FrameHandlers,
  type FrameLink,
  type Listener,
  type ListenOptions,
  type ServerLink,
  type ServerLinkHandlers,
  tcpTransport,
  type Transport,
} from './seams/transport.ts';
export { ErrorCode, type ErrorCodeNumber, errorName, ProtocolError } from './protocol/errors.ts';
export { Broker, type BrokerDeps } from './server/broker.ts';
export type { ConnectionStats, RequestBytesPoolStats } from './server/connection.ts';
export { BROKER_DEFAULTS, type BrokerConfig, resolveBrokerConfig } from './server/config.ts';
export { type ClientOptions, Connection, type ConnectionOptions } from './client/connection.ts';
export type { ApiCodec, ResponseBase } from './protocol/api.ts';
export { ByteReader, ByteWriter, type FieldTrace } from './protocol/bytes.ts';
export type { ApiVersionRange } from './protocol/api-versions.ts';
export { BrokerError, ClientLimitError, ConnectionClosedError, RequestTimeoutError } from './client/errors.ts';
export { Producer, type ProducerMessage, type ProducerOptions, type RecordMetadata } from './client/producer.ts';
export { Consumer, type ConsumerOptions, type FetchResult } from './client/consumer.ts';
