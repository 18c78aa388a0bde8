/**
 * Where typed exceptions become wire error codes. Inside the broker a failure is a typed
 * exception (phase 1's `LogError`s, or a `ProtocolError` from a decoder); at the protocol
 * boundary it becomes an i16 code plus a message, and the connection lives on. Phase 1's
 * errors already carry Kafka's number (`kafkaErrorCode`), which goes on the wire as is; a
 * closed log means the broker is going away (BROKER_NOT_AVAILABLE), a full append queue
 * that it is at capacity (THROTTLING_QUOTA_EXCEEDED, retriable). Phase 3's topic errors
 * (`TopicError`: unknown topic or partition, illegal name, ...) carry Kafka's number the
 * same way. Anything else is a bug and goes out as UNKNOWN_SERVER_ERROR (and into the
 * broker's log).
 */
import { AppendQueueFullError, LogClosedError, LogError } from '../log/errors.ts';
import { ErrorCode, ProtocolError } from '../protocol/errors.ts';
import { TopicError } from '../topics/errors.ts';

/**
 * The wire error code for an exception.
 * @example errorCodeFor(new CorruptBatchError('CRC mismatch')) // ErrorCode.CORRUPT_MESSAGE
 */
export function errorCodeFor(err: unknown): number {
  if (err instanceof ProtocolError) return err.errorCode;
  if (err instanceof LogClosedError) return ErrorCode.BROKER_NOT_AVAILABLE;
  if (err instanceof AppendQueueFullError) return ErrorCode.THROTTLING_QUOTA_EXCEEDED;
  if (err instanceof LogError && err.kafkaErrorCode !== null) return err.kafkaErrorCode;
  if (err instanceof TopicError && err.kafkaErrorCode !== null) return err.kafkaErrorCode;
  return ErrorCode.UNKNOWN_SERVER_ERROR;
}

/** The message that goes with the code: the exception's own message. */
export function errorMessageFor(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
