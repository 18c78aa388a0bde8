/**
 * The public API of phase 6, in one import: phases 1–5 (log, wire, broker, clients,
 * topics, groups, seams, replication) plus the controller: its process, metadata log
 * records and their replay, the pure election, fencing, AlterPartition and assignment
 * rules, the leader-epoch cache and the truncation rules, and the broker's side (the
 * controller channel, controller-driven replication, the epoch-aware fetcher).
 * @example
 * import { Producer, realSeams } from './index.ts';
 * const producer = new Producer({ bootstrapServers: [{ host: '127.0.0.1', port: 19092 }], acks: -1, ...realSeams() });
 * await producer.connect();
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
export { BROKER_DEFAULTS, type BrokerConfig, FETCH_PARTITION_OVERHEAD_BYTES, resolveBrokerConfig } from './server/config.ts';
export { type ClientOptions, Connection, type ConnectionOptions } from './client/connection.ts';
export type { ApiCodec, ResponseBase } from './protocol/api.ts';
export { ByteReader, ByteWriter, type FieldTrace } from './protocol/bytes.ts';
export type { ApiVersionRange } from './protocol/api-versions.ts';
export { BrokerError, ClientLimitError, ConnectionClosedError, RequestTimeoutError } from './client/errors.ts';
export { Producer, type ProducerMessage, type ProducerOptions, type RecordMetadata } from './client/producer.ts';
export { Consumer, type ConsumerOptions, type FetchResult } from './client/consumer.ts';

// Phase 3: topics and partitions.
export { Admin, type AdminOptions, type CreateTopicOutcome, type NewTopic } from './client/admin.ts';
export type { TopicInfo } from './client/metadata.ts';
export type { CreatableTopic, CreateTopicResult, CreateTopicsRequest, CreateTopicsResponse, TopicConfigEntry } from './protocol/create-topics.ts';
export { type ConsumedRecord } from './client/consumer.ts';
export { type ProducerRecord } from './client/producer.ts';
export { partitionForKey } from './client/murmur2.ts';
export { type KeylessPartitioner, RoundRobinPartitioner, StickyPartitioner } from './client/partitioner.ts';
export { Partition, type PartitionAppendResult, type TopicPartition, tpKey } from './topics/partition.ts';
export { PartitionManager, type PartitionManagerConfig, type TopicMetadata } from './topics/partitions.ts';
export { DEFAULT_REGISTRY_LIMITS, type RegistryLimits, type TopicSpec } from './topics/registry.ts';
export { isInternalTopic, TOPIC_NAME_LENGTH_MAX, topicNameProblem, validateTopicName } from './topics/names.ts';
export {
  CorruptRegistryError,
  InvalidPartitionsError,
  InvalidTopicError,
  TOPIC_ERROR_CODES,
  TopicError,
  type TopicErrorCode,
  TopicExistsError,
  TopicLimitError,
  UnknownTopicOrPartitionError,
} from './topics/errors.ts';

// Phase 4: consumer groups and durable committed offsets.
export { type EachBatchPayload, type EachMessagePayload, GroupConsumer, type GroupConsumerOptions, type GroupJoinEvent, type RunOptions } from './client/group-consumer.ts';
export { type CommitOffset, GroupMember, type GroupMemberOptions, type Membership } from './client/group-member.ts';
export { assign, type Assignment, compareTopicPartitions } from './groups/assignor.ts';
export {
  type CoordinatorConfig,
  type CoordinatorDeps,
  defaultCoordinatorConfig,
  type FetchedOffset,
  GroupCoordinator,
  type GroupDetails,
  memberMetadataBytes,
  type GroupListing,
  type JoinRequest,
  type JoinResult,
  type PartitionResult,
  resolveCoordinatorConfig,
  type SyncResult,
} from './groups/coordinator.ts';
export { CorruptOffsetsError, type OffsetCommitValue } from './groups/offsets-records.ts';
export type { GroupDescription, GroupState, MemberDescription } from './groups/group.ts';
export {
  defaultOffsetsStoreConfig,
  OFFSETS_DIR,
  OffsetsStore,
  type OffsetsStoreConfig,
  type OffsetsStoreStats,
  type OffsetToCommit,
  resolveOffsetsStoreConfig,
  type StoredOffset,
} from './groups/offsets-store.ts';

// Phase 5, the client side: bootstrap servers, leaders from Metadata, one connection per broker, bounded retries.
export { bootstrapAddresses, RETRY_DEFAULTS, type ServerAddress } from './client/connection.ts';
export { BrokerPool, type BrokerPoolOptions } from './client/brokers.ts';
export { type FetchOutcome, type FetchWant, LeaderFetcher, type LeaderFetcherOptions } from './client/leader-fetcher.ts';
export type { PartitionDescription } from './client/admin.ts';
export {
  DeliveryTimeoutError,
  kafkaErrorName,
  NotEnoughReplicasAfterAppendBrokerError,
  NotEnoughReplicasBrokerError,
  NotLeaderOrFollowerBrokerError,
  RequestTimedOutBrokerError,
  retryAdvice,
  type RetryAdvice,
} from './client/errors.ts';

// Phase 5, the broker side: replication with a fixed leader.
export {
  CLUSTER_LIMITS,
  type ClusterBroker,
  type ClusterFile,
  ClusterFileError,
  type ClusterTopic,
  generateClusterFile,
  parseClusterFile,
} from './replication/cluster-file.ts';
export {
  expandIsr,
  type FollowerFetch,
  type FollowerState,
  type HighWatermarkInputs,
  initialFollowerState,
  nextHighWatermark,
  shrinkIsr,
  updateFollowerFetchState,
} from './replication/isr.ts';
export { type ControlledIsr, type LeaderChange, LeaderReplica, type ReplicaAssignment } from './replication/leader.ts';
export { type FetcherOptions, ReplicaFetcher } from './replication/fetcher.ts';
export { CHECKPOINT_FILE, type CheckpointEntry, decodeCheckpoint, encodeCheckpoint, readCheckpoint, writeCheckpoint } from './replication/checkpoint.ts';
export { ReplicaManager, type ReplicationConfig, type ReplicationDeps } from './replication/replica-manager.ts';
export { type PartitionRole } from './topics/partition.ts';
export { CONSUMER_REPLICA_ID } from './protocol/fetch.ts';
export type { ClusterView } from './server/handlers.ts';
export { MetadataCache, type MetadataCacheOptions } from './client/metadata.ts';
export type { FetchPartition, FetchPartitionResult, FetchRequest, FetchResponse, FetchTopic, FetchTopicResult } from './protocol/fetch.ts';
export type { BrokerAddress, MetadataRequest, MetadataResponse, PartitionMetadata, TopicMetadata as MetadataTopic } from './protocol/metadata.ts';

// Phase 6: the controller, its metadata log and its rules.
export { CONTROLLER_DEFAULTS, Controller, type ControllerConfig, type ControllerDeps, METADATA_TOPIC, replay } from './controller/controller.ts';
export { type BrokerInfo, MetadataImage, type TopicInfo as MetadataTopicInfo } from './controller/image.ts';
export {
  type FenceBrokerRecord,
  METADATA_LOG_DIR,
  type MetadataRecord,
  type PartitionRecord,
  type RegisterBrokerRecord,
  type TopicRecord,
  type UnfenceBrokerRecord,
  decodeMetadataRecord,
  encodeMetadataRecord,
  partitionRecord,
} from './controller/records.ts';
export {
  type AlterPartitionDecision,
  type AlterPartitionRequest as AlterPartitionProposal,
  type BrokerState,
  type IsEligible,
  type IsrMemberState,
  NO_LEADER,
  type PartitionState,
  UNCHECKED_LEADER_EPOCH,
  checkLeaderEpoch,
  electLeader,
  fenceBroker,
  maximalIsr,
  unfenceBroker,
  validateAlterPartition,
} from './controller/election.ts';
export { type AssignmentArgument, AssignmentRangeError, assignReplicas } from './controller/assignment.ts';
// Phase 6: leader epochs on the broker.
export {
  EPOCH_CHECKPOINT_FILE,
  type EpochEndOffset,
  type EpochEntry,
  LeaderEpochCache,
  decodeEpochCheckpoint,
  encodeEpochCheckpoint,
  readEpochCheckpoint,
  writeEpochCheckpoint,
} from './replication/epoch-cache.ts';
export { type TruncationDecision, type TruncationInput, epochToAsk, followerEndOfEpoch, truncationPoint } from './replication/truncation.ts';
export { ControllerChannel, type ControllerChannelOptions } from './replication/controller-channel.ts';
export { type ControlledReplicationConfig, type ControlledReplicationDeps, ControlledReplicas } from './replication/controlled-replicas.ts';
export { EpochFetcher, type EpochFetcherOptions, type FollowedPartition } from './replication/epoch-fetcher.ts';
// Phase 6 on the wire: the controller's APIs and OffsetForLeaderEpoch.
export { AlterPartition, type AlterPartitionRequest, type AlterPartitionResponse, type IsrMember } from './protocol/alter-partition.ts';
export { BrokerHeartbeat, type BrokerHeartbeatRequest, type BrokerHeartbeatResponse } from './protocol/broker-heartbeat.ts';
export { BrokerRegistration, type BrokerRegistrationRequest, type BrokerRegistrationResponse } from './protocol/broker-registration.ts';
export * from './protocol/offset-for-leader-epoch.ts';
