/**
 * The client's exceptions. A response with a non-zero error code becomes a `BrokerError`
 * subclass chosen by the code, so callers write `catch (e) { if (e instanceof
 * OffsetOutOfRangeBrokerError) ... }` instead of comparing numbers; failures of the link
 * itself (closed, timed out) have their own classes. KafkaJS does the same with its
 * `KafkaJSProtocolError` and a `type` field; we keep the `type` (Kafka's error name) too.
 */
import { ErrorCode, errorName } from '../protocol/errors.ts';

/** A broker answered with an error code. `type` is Kafka's name for the code. */
export class BrokerError extends Error {
  /** The i16 error code from the response. */
  readonly errorCode: number;
  /** Kafka's name for the code, e.g. 'OFFSET_OUT_OF_RANGE'. */
  readonly type: string;
  /** Whether sending the same request again may succeed. */
  readonly retriable: boolean;

  constructor(errorCode: number, message: string | null, retriable = false) {
    const type = errorName(errorCode);
    super(message === null || message === '' ? type : `${type}: ${message}`);
    this.name = new.target.name;
    this.errorCode = errorCode;
    this.type = type;
    this.retriable = retriable;
  }
}

/** OFFSET_OUT_OF_RANGE (1): the offset is before the log start or after the log end. */
export class OffsetOutOfRangeBrokerError extends BrokerError {}
/** CORRUPT_MESSAGE (2): a batch failed its CRC or its lengths disagree. */
export class CorruptMessageBrokerError extends BrokerError {}
/** BROKER_NOT_AVAILABLE (8): the broker is shutting down. */
export class BrokerNotAvailableError extends BrokerError {}
/** MESSAGE_TOO_LARGE (10): a batch is larger than the broker accepts. */
export class MessageTooLargeBrokerError extends BrokerError {}
/** UNSUPPORTED_VERSION (35): the broker does not speak this API version. */
export class UnsupportedVersionBrokerError extends BrokerError {}
/** INVALID_REQUEST (42) or INVALID_REQUIRED_ACKS (21): the request broke a rule of the protocol. */
export class InvalidRequestBrokerError extends BrokerError {}
/** KAFKA_STORAGE_ERROR (56): the broker's disk failed; the write was not acknowledged. */
export class StorageBrokerError extends BrokerError {}
/** INVALID_RECORD (87): a batch is well formed but breaks a rule. */
export class InvalidRecordBrokerError extends BrokerError {}
/** UNKNOWN_TOPIC_OR_PARTITION (3): no such topic or partition on this broker (retriable: metadata may be stale). */
export class UnknownTopicOrPartitionBrokerError extends BrokerError {}
/** INVALID_TOPIC_EXCEPTION (17): an illegal topic name, or an internal (`__`) topic a client may not write. */
export class InvalidTopicBrokerError extends BrokerError {}
/** TOPIC_ALREADY_EXISTS (36): CreateTopics named an existing topic. */
export class TopicExistsBrokerError extends BrokerError {}
/** INVALID_PARTITIONS (37): a partition count out of range. */
export class InvalidPartitionsBrokerError extends BrokerError {}
/** INVALID_CONFIG (40): an unknown topic setting or a value out of range. */
export class InvalidConfigBrokerError extends BrokerError {}
/** POLICY_VIOLATION (44): the broker refuses, e.g. it holds `topicsMax` topics already. */
export class PolicyViolationBrokerError extends BrokerError {}
/** THROTTLING_QUOTA_EXCEEDED (89): the broker is at capacity (append queue full); retry later. */
export class ThrottledBrokerError extends BrokerError {}
/** NOT_LEADER_OR_FOLLOWER (6): this broker does not lead the partition (phase 5); clients refresh metadata and retry. */
export class NotLeaderOrFollowerBrokerError extends BrokerError {}
/** REQUEST_TIMED_OUT (7): acks=all, and the ISR did not all hold the batch within the request's timeout; the leader has it (phase 5). */
export class RequestTimedOutBrokerError extends BrokerError {}
/** NOT_ENOUGH_REPLICAS (19): acks=all refused before appending, the ISR is below minInsyncReplicas (phase 5). */
export class NotEnoughReplicasBrokerError extends BrokerError {}
/** NOT_ENOUGH_REPLICAS_AFTER_APPEND (20): acks=all, the batch is in the leader's log, but the ISR shrank below minInsyncReplicas before it was acknowledged (phase 5). */
export class NotEnoughReplicasAfterAppendBrokerError extends BrokerError {}

/**
 * The exception for an error code (UNKNOWN_SERVER_ERROR and codes this client does not
 * know become a plain `BrokerError`).
 * @example throw brokerErrorFor(res.errorCode, res.errorMessage);
 */
export function brokerErrorFor(errorCode: number, message: string | null): BrokerError {
  switch (errorCode) {
    case ErrorCode.OFFSET_OUT_OF_RANGE:
      return new OffsetOutOfRangeBrokerError(errorCode, message);
    case ErrorCode.CORRUPT_MESSAGE:
      return new CorruptMessageBrokerError(errorCode, message);
    case ErrorCode.BROKER_NOT_AVAILABLE:
      return new BrokerNotAvailableError(errorCode, message, true);
    case ErrorCode.MESSAGE_TOO_LARGE:
      return new MessageTooLargeBrokerError(errorCode, message);
    case ErrorCode.UNSUPPORTED_VERSION:
      return new UnsupportedVersionBrokerError(errorCode, message);
    case ErrorCode.INVALID_REQUEST:
    case ErrorCode.INVALID_REQUIRED_ACKS:
      return new InvalidRequestBrokerError(errorCode, message);
    case ErrorCode.KAFKA_STORAGE_ERROR:
      return new StorageBrokerError(errorCode, message, true);
    case ErrorCode.INVALID_RECORD:
      return new InvalidRecordBrokerError(errorCode, message);
    case ErrorCode.UNKNOWN_TOPIC_OR_PARTITION:
      return new UnknownTopicOrPartitionBrokerError(errorCode, message, true);
    case ErrorCode.INVALID_TOPIC_EXCEPTION:
      return new InvalidTopicBrokerError(errorCode, message);
    case ErrorCode.TOPIC_ALREADY_EXISTS:
      return new TopicExistsBrokerError(errorCode, message);
    case ErrorCode.INVALID_PARTITIONS:
      return new InvalidPartitionsBrokerError(errorCode, message);
    case ErrorCode.INVALID_CONFIG:
      return new InvalidConfigBrokerError(errorCode, message);
    case ErrorCode.POLICY_VIOLATION:
      return new PolicyViolationBrokerError(errorCode, message);
    case ErrorCode.THROTTLING_QUOTA_EXCEEDED:
      return new ThrottledBrokerError(errorCode, message, true);
    case ErrorCode.NOT_LEADER_OR_FOLLOWER:
    // Phase 6: the leader epoch the client named is older (or newer) than the broker's: its metadata is stale (or the broker's).
    case ErrorCode.FENCED_LEADER_EPOCH:
    case ErrorCode.UNKNOWN_LEADER_EPOCH:
      return new NotLeaderOrFollowerBrokerError(errorCode, message, true);
    case ErrorCode.REQUEST_TIMED_OUT:
      return new RequestTimedOutBrokerError(errorCode, message, true);
    case ErrorCode.NOT_ENOUGH_REPLICAS:
      return new NotEnoughReplicasBrokerError(errorCode, message, true);
    case ErrorCode.NOT_ENOUGH_REPLICAS_AFTER_APPEND:
      return new NotEnoughReplicasAfterAppendBrokerError(errorCode, message, true);
    default:
      return new BrokerError(errorCode, message);
  }
}

/** Throw the matching `BrokerError` unless the response's error code is NONE. */
export function throwIfError(res: { errorCode: number; errorMessage: string | null }): void {
  if (res.errorCode !== ErrorCode.NONE) throw brokerErrorFor(res.errorCode, res.errorMessage);
}

/**
 * The connection closed (or failed, or could not be opened) before the answer arrived;
 * the request may or may not have been applied.
 */
export class ConnectionClosedError extends Error {
  /** Stable string code. */
  readonly code = 'CONNECTION_CLOSED';
  /** Kafka's name for the condition (its client raises NetworkException, code 13). */
  readonly type = 'NETWORK_EXCEPTION';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ConnectionClosedError';
  }
}

/** No answer within the request timeout; the connection is closed, since later answers would be out of step. */
export class RequestTimeoutError extends Error {
  /** Stable string code. */
  readonly code = 'REQUEST_TIMEOUT';
  /** Kafka's name for the condition (its client raises TimeoutException, code 7). */
  readonly type = 'REQUEST_TIMED_OUT';
  constructor(message: string) {
    super(message);
    this.name = 'RequestTimeoutError';
  }
}

/**
 * A producer's record was not acknowledged within `deliveryTimeoutMs` (Kafka
 * `delivery.timeout.ms`) and no attempt had failed with an error of its own (otherwise
 * the send fails with that last error). It may still have landed: a request can be
 * answered after the client stopped waiting.
 */
export class DeliveryTimeoutError extends Error {
  /** Stable string code. */
  readonly code = 'DELIVERY_TIMEOUT';
  /** Kafka's name for the condition (its producer raises TimeoutException, code 7). */
  readonly type = 'REQUEST_TIMED_OUT';
  constructor(message: string) {
    super(`REQUEST_TIMED_OUT: ${message}`);
    this.name = 'DeliveryTimeoutError';
  }
}

/**
 * Kafka's name for what went wrong (`NOT_ENOUGH_REPLICAS`, `NETWORK_EXCEPTION`, …), for
 * a broker error or a failure of the link; null for anything else.
 * @example kafkaErrorName(new NotEnoughReplicasBrokerError(19, null)) // 'NOT_ENOUGH_REPLICAS'
 */
export function kafkaErrorName(err: unknown): string | null {
  if (err instanceof BrokerError || err instanceof ConnectionClosedError || err instanceof RequestTimeoutError || err instanceof DeliveryTimeoutError) return err.type;
  return null;
}

/** What a client should do about a failed request (see {@link retryAdvice}). */
export interface RetryAdvice {
  /** Sending it again (within the retry budget) may succeed. */
  readonly retriable: boolean;
  /** Ask for fresh Metadata first: the partition's leader, or the broker, may be elsewhere. */
  readonly refreshMetadata: boolean;
}

/**
 * Whether a request that failed with `err` is worth sending again (phase 5), as Kafka's
 * clients decide: NOT_LEADER_OR_FOLLOWER, UNKNOWN_TOPIC_OR_PARTITION (the metadata was
 * stale), BROKER_NOT_AVAILABLE (it is shutting down) and a lost or timed-out connection
 * refresh metadata and retry; NOT_ENOUGH_REPLICAS (refused before appending) retries
 * after the backoff, as the ISR may grow back. Everything else is final: a broker's
 * REQUEST_TIMED_OUT or NOT_ENOUGH_REPLICAS_AFTER_APPEND means the leader holds the batch
 * already (a retry would write it twice; Kafka retries them, and phase 8's idempotent
 * producer makes that safe), throttling and storage errors are the caller's to handle,
 * and client-side limits are bugs or backpressure. (`BrokerError.retriable` keeps
 * Kafka's classification; this is the stricter policy our clients follow.)
 */
export function retryAdvice(err: unknown): RetryAdvice {
  if (
    err instanceof NotLeaderOrFollowerBrokerError ||
    err instanceof UnknownTopicOrPartitionBrokerError ||
    err instanceof BrokerNotAvailableError ||
    err instanceof ConnectionClosedError ||
    err instanceof RequestTimeoutError
  ) {
    return { retriable: true, refreshMetadata: true };
  }
  if (err instanceof NotEnoughReplicasBrokerError) return { retriable: true, refreshMetadata: false };
  return { retriable: false, refreshMetadata: false };
}

/** A client-side limit was hit (too many requests in flight, producer buffer full); nothing was sent. */
export class ClientLimitError extends Error {
  /** Stable string code. */
  readonly code = 'CLIENT_LIMIT';
  constructor(message: string) {
    super(message);
    this.name = 'ClientLimitError';
  }
}
