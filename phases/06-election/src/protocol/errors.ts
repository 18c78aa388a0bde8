/**
 * Error codes on the wire and the protocol's own exception. Every response body starts
 * with an `errorCode` (i16); the numbers are Kafka's wherever the meaning is the same, so a
 * learner who later reads Kafka's `Errors.java` meets old friends. Inside the process,
 * errors are typed exceptions; at the wire boundary they become one of these numbers (the
 * broker's `server/error-codes.ts` maps storage errors, the client's `client/errors.ts`
 * maps numbers back to exception classes). `ProtocolError` is the only exception any
 * decoder in `protocol/` throws, whatever bytes it is fed.
 */
import { KAFKA_ERROR_CODES } from '../log/errors.ts';
import { TOPIC_ERROR_CODES } from '../topics/errors.ts';

/**
 * Kafka's error code numbers for the errors this broker can report: the log's and the
 * topics' (defined with their meaning in `log/errors.ts` and `topics/errors.ts`, so each
 * number is written once), then the ones only the protocol has.
 */
export const ErrorCode = {
  /** The server hit an error it has no better code for (a bug); the message says what. */
  UNKNOWN_SERVER_ERROR: -1,
  NONE: 0,
  ...KAFKA_ERROR_CODES,
  ...TOPIC_ERROR_CODES,
  /** This broker does not lead the partition (phase 5): refresh metadata and ask the leader. */
  NOT_LEADER_OR_FOLLOWER: 6,
  /** acks=all: the leader stored the batch but not every ISR member had it within the request's timeout (phase 5). */
  REQUEST_TIMED_OUT: 7,
  /** The broker is shutting down (or its log is closed); retry against a running broker. */
  BROKER_NOT_AVAILABLE: 8,
  /** An OffsetCommit's metadata string is longer than the broker allows. */
  OFFSET_METADATA_TOO_LARGE: 12,
  /** The group coordinator cannot serve the request now (shutting down, or it could not
   * record a new generation); retry. */
  COORDINATOR_NOT_AVAILABLE: 15,
  /** acks=all refused before appending: the ISR is smaller than minInsyncReplicas (phase 5). */
  NOT_ENOUGH_REPLICAS: 19,
  /** acks=all: the batch is committed, but the ISR had shrunk below minInsyncReplicas by then (phase 5). */
  NOT_ENOUGH_REPLICAS_AFTER_APPEND: 20,
  /** Produce `acks` other than -1 or 1. */
  INVALID_REQUIRED_ACKS: 21,
  /** A group request names a generation other than the group's current one (a zombie). */
  ILLEGAL_GENERATION: 22,
  /** A JoinGroup subscribes to other topics than the group's members (or to none). */
  INCONSISTENT_GROUP_PROTOCOL: 23,
  /** The group id is empty or too long. */
  INVALID_GROUP_ID: 24,
  /** The coordinator does not know this member id (never joined, left, or expired). */
  UNKNOWN_MEMBER_ID: 25,
  /** A JoinGroup's session or rebalance timeout is outside the broker's range. */
  INVALID_SESSION_TIMEOUT: 26,
  /** The group is rebalancing: rejoin (heartbeat), or collect the assignment first (commit). */
  REBALANCE_IN_PROGRESS: 27,
  /** A committed offset is negative or not a safe integer. */
  INVALID_COMMIT_OFFSET_SIZE: 28,
  /** The broker does not speak this version of this API (see ApiVersions). */
  UNSUPPORTED_VERSION: 35,
  /** The request could not be decoded, or a field is out of its allowed range. */
  INVALID_REQUEST: 42,
  /** DescribeGroups named a group the coordinator has never heard of. */
  GROUP_ID_NOT_FOUND: 69,
  /** The group already has as many members as the broker allows. */
  GROUP_MAX_SIZE_REACHED: 81,
  /** The broker is at a capacity limit (its log's append queue is full); retry later. */
  THROTTLING_QUOTA_EXCEEDED: 89,
  /** CreateTopics asked for more replicas than there are brokers to hold them (phase 6). */
  INVALID_REPLICATION_FACTOR: 38,
  /** The broker's registration epoch in the request is not its current one (phase 6): an old incarnation. */
  STALE_BROKER_EPOCH: 77,
  /** The request's leader epoch is older than the partition's (phase 6): the sender was deposed. */
  FENCED_LEADER_EPOCH: 74,
  /** The request's leader epoch is newer than the broker knows (phase 6): its metadata lags; retry. */
  UNKNOWN_LEADER_EPOCH: 75,
  /** An ISR change proposes a replica that is fenced, or registered with another epoch (phase 6). */
  INELIGIBLE_REPLICA: 107,
  /** An ISR change was computed from an older partition state (its partition epoch is stale) (phase 6). */
  INVALID_UPDATE_VERSION: 95,
  /** The controller has not heard of this broker, or it is fenced (phase 6). */
  BROKER_ID_NOT_REGISTERED: 102,
} as const;

/** One of the numbers in `ErrorCode`. */
export type ErrorCodeNumber = (typeof ErrorCode)[keyof typeof ErrorCode];

/**
 * The name of an error code (`2` → `'CORRUPT_MESSAGE'`), or `'UNKNOWN_ERROR_<n>'`.
 * @example errorName(ErrorCode.OFFSET_OUT_OF_RANGE) // 'OFFSET_OUT_OF_RANGE'
 */
export function errorName(errorCode: number): string {
  for (const [name, value] of Object.entries(ErrorCode)) if (value === errorCode) return name;
  return `UNKNOWN_ERROR_${errorCode}`;
}

/**
 * Bytes that do not follow the protocol: a truncated field, a length or count larger than
 * the bytes present, trailing bytes, a frame over the size limit. `errorCode` is what the
 * broker answers with when it can still answer (INVALID_REQUEST unless said otherwise).
 */
export class ProtocolError extends Error {
  /** Stable string code, like the phase-1 errors. */
  readonly code = 'PROTOCOL_ERROR';
  /** The wire error code a response to the offending request carries. */
  readonly errorCode: number;

  constructor(message: string, errorCode: number = ErrorCode.INVALID_REQUEST) {
    super(message);
    this.name = 'ProtocolError';
    this.errorCode = errorCode;
  }
}
