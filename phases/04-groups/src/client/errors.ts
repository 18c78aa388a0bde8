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
    default:
      return new BrokerError(errorCode, message);
  }
}

/** Throw the matching `BrokerError` unless the response's error code is NONE. */
export function throwIfError(res: { errorCode: number; errorMessage: string | null }): void {
  if (res.errorCode !== ErrorCode.NONE) throw brokerErrorFor(res.errorCode, res.errorMessage);
}

/** The connection closed (or failed) before the answer arrived; the request may or may not have been applied. */
export class ConnectionClosedError extends Error {
  /** Stable string code. */
  readonly code = 'CONNECTION_CLOSED';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ConnectionClosedError';
  }
}

/** No answer within the request timeout; the connection is closed, since later answers would be out of step. */
export class RequestTimeoutError extends Error {
  /** Stable string code. */
  readonly code = 'REQUEST_TIMEOUT';
  constructor(message: string) {
    super(message);
    this.name = 'RequestTimeoutError';
  }
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
