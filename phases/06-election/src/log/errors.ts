/**
 * Typed errors of the commit log. Everything below the CLI reports failure by
 * throwing one of these, never a bare `Error`, so a caller branches on `code`
 * (or `instanceof`) instead of parsing a message. Where Kafka has an error code
 * with the same meaning, the error carries it in `kafkaErrorCode`: phase 2 puts
 * that number on the wire unchanged, so a learner can look it up in Kafka's
 * protocol guide (`org.apache.kafka.common.protocol.Errors`).
 *
 * Programming mistakes (an invariant that cannot fail unless our own code is
 * wrong) are reported with `node:assert` instead: they are bugs, not conditions
 * a caller should handle.
 */

/**
 * Kafka's numeric error codes for the conditions the log can report. Each number is
 * defined once in the course: here for the log's conditions, in `topics/errors.ts` for
 * the topics' (phase 3); the wire's table (`protocol/errors.ts`, phase 2) takes these in
 * and adds the codes only the protocol has.
 */
export const KAFKA_ERROR_CODES = Object.freeze({
  /** The requested offset is below the log start offset or above the log end offset. */
  OFFSET_OUT_OF_RANGE: 1,
  /** A record batch failed its CRC, has the wrong magic byte, or its lengths disagree. */
  CORRUPT_MESSAGE: 2,
  /** A record batch is larger than the log's `batchBytesMax`. */
  MESSAGE_TOO_LARGE: 10,
  /** A setting with an unknown name or an out-of-range value. */
  INVALID_CONFIG: 40,
  /** The log's storage failed (for example fsync); the write was not acknowledged. */
  KAFKA_STORAGE_ERROR: 56,
  /** A record batch is well formed but breaks a rule (for example offsets not contiguous). */
  INVALID_RECORD: 87,
} as const);

/** The string codes our errors carry; Kafka's names where Kafka has the concept. */
export type LogErrorCode =
  | 'OFFSET_OUT_OF_RANGE'
  | 'CORRUPT_MESSAGE'
  | 'MESSAGE_TOO_LARGE'
  | 'INVALID_CONFIG'
  | 'KAFKA_STORAGE_ERROR'
  | 'INVALID_RECORD'
  | 'LOG_CLOSED'
  | 'APPEND_QUEUE_FULL';

/**
 * Base class of every error the log throws on purpose.
 * @example
 * try { await log.read(offset, 1 << 20); }
 * catch (e) { if (e instanceof LogError && e.code === 'OFFSET_OUT_OF_RANGE') resetTo(log.logStartOffset); }
 */
export class LogError extends Error {
  /** Stable machine-readable code, e.g. `CORRUPT_MESSAGE`. */
  readonly code: LogErrorCode;
  /** Kafka's numeric error code for the same condition, or null where Kafka has none. */
  readonly kafkaErrorCode: number | null;

  constructor(code: LogErrorCode, kafkaErrorCode: number | null, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
    this.kafkaErrorCode = kafkaErrorCode;
  }
}

/**
 * Bytes that should be a record batch are not one: too short, a length or count
 * that does not fit the bytes present, a bad CRC, offsets that are not contiguous.
 * Thrown by the decoders and by reads that meet a damaged batch; a damaged batch is
 * never returned to a caller.
 */
export class CorruptBatchError extends LogError {
  constructor(message: string, options?: ErrorOptions) {
    super('CORRUPT_MESSAGE', KAFKA_ERROR_CODES.CORRUPT_MESSAGE, message, options);
  }
}

/**
 * A read asked for an offset the log does not hold: below `logStartOffset`
 * (deleted by retention) or above `logEndOffset` (not written yet).
 */
export class OffsetOutOfRangeError extends LogError {
  /** The offset that was asked for. */
  readonly offset: number;
  /** The valid range at the time of the read: `[logStartOffset, logEndOffset]`. */
  readonly logStartOffset: number;
  readonly logEndOffset: number;

  constructor(offset: number, logStartOffset: number, logEndOffset: number) {
    super(
      'OFFSET_OUT_OF_RANGE',
      KAFKA_ERROR_CODES.OFFSET_OUT_OF_RANGE,
      `offset ${offset} is outside the log's range [${logStartOffset}, ${logEndOffset}]`,
    );
    this.offset = offset;
    this.logStartOffset = logStartOffset;
    this.logEndOffset = logEndOffset;
  }
}

/** A batch is larger than the configured `batchBytesMax`. */
export class RecordTooLargeError extends LogError {
  readonly sizeBytes: number;
  readonly batchBytesMax: number;

  constructor(sizeBytes: number, batchBytesMax: number) {
    super(
      'MESSAGE_TOO_LARGE',
      KAFKA_ERROR_CODES.MESSAGE_TOO_LARGE,
      `batch of ${sizeBytes} bytes exceeds batchBytesMax ${batchBytesMax}`,
    );
    this.sizeBytes = sizeBytes;
    this.batchBytesMax = batchBytesMax;
  }
}

/**
 * A well-formed batch or record that breaks a rule of this log: no records,
 * compressed or transactional batches (not supported), offset deltas that are not
 * 0..n-1, a field out of its range when encoding.
 */
export class InvalidRecordError extends LogError {
  constructor(message: string, options?: ErrorOptions) {
    super('INVALID_RECORD', KAFKA_ERROR_CODES.INVALID_RECORD, message, options);
  }
}

/** A configuration value is outside its allowed range. */
export class InvalidConfigError extends LogError {
  constructor(message: string) {
    super('INVALID_CONFIG', KAFKA_ERROR_CODES.INVALID_CONFIG, message);
  }
}

/**
 * The one bounds check of every setting in the course (log, broker, topic registry,
 * group coordinator, offsets store): `value` must be a safe integer in `[min, max]`.
 * Every config error therefore reads the same way and names the setting.
 * @throws InvalidConfigError otherwise
 * @example
 * checkIntegerSetting('appendQueueMax', 0, 1); // throws "appendQueueMax must be an integer >= 1, got 0"
 * checkIntegerSetting('port', 70000, 0, 65535); // throws "port must be an integer in [0, 65535], got 70000"
 */
export function checkIntegerSetting(name: string, value: unknown, min: number, max: number = Number.MAX_SAFE_INTEGER): void {
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= min && value <= max) return;
  const range = max === Number.MAX_SAFE_INTEGER ? `>= ${min}` : `in [${min}, ${max}]`;
  throw new InvalidConfigError(`${name} must be an integer ${range}, got ${String(value)}`);
}

/** The log was closed; open it again to use it. */
export class LogClosedError extends LogError {
  constructor(message = 'the log is closed') {
    super('LOG_CLOSED', null, message);
  }
}

/**
 * Too many appends are already waiting for their turn (`appendQueueMax`). The
 * append is refused at once, before it takes an offset, so the caller can back off
 * and retry; nothing about the log has changed. Without this bound a burst of
 * producers faster than the disk would grow the queue, and memory, without limit.
 */
export class AppendQueueFullError extends LogError {
  /** The bound that was reached. */
  readonly appendQueueMax: number;

  constructor(appendQueueMax: number) {
    super('APPEND_QUEUE_FULL', null, `${appendQueueMax} appends are already queued (appendQueueMax); try again later`);
    this.appendQueueMax = appendQueueMax;
  }
}

/**
 * The disk failed us: an I/O call threw, or an fsync failed. After an fsync
 * failure the log refuses every further append until it is reopened, because
 * the kernel may have dropped the dirty pages and a second fsync can "succeed"
 * without the data ever reaching the disk. The original error is in `cause`.
 */
export class StorageError extends LogError {
  constructor(message: string, options?: ErrorOptions) {
    super('KAFKA_STORAGE_ERROR', KAFKA_ERROR_CODES.KAFKA_STORAGE_ERROR, message, options);
  }
}
