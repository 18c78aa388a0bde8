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
  /** The broker is shutting down (or its log is closed); retry against a running broker. */
  BROKER_NOT_AVAILABLE: 8,
  /** Produce `acks` other than -1 or 1. */
  INVALID_REQUIRED_ACKS: 21,
  /** The broker does not speak this version of this API (see ApiVersions). */
  UNSUPPORTED_VERSION: 35,
  /** The request could not be decoded, or a field is out of its allowed range. */
  INVALID_REQUEST: 42,
  /** The broker is at a capacity limit (its log's append queue is full); retry later. */
  THROTTLING_QUOTA_EXCEEDED: 89,
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
