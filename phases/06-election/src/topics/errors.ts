/**
 * The typed errors this phase adds: everything that can go wrong when a request names a
 * topic and a partition. They have the same shape as the log's errors (errors.ts): a
 * string `code` to branch on and Kafka's numeric `kafkaErrorCode`, which the server
 * puts on the wire unchanged and the client turns back into the same class, so a caller
 * catches `TopicExistsError` rather than parsing a message. A bad per-topic setting
 * reuses the log's `InvalidConfigError` (40) and a failed registry write its
 * `StorageError` (56).
 *
 * A message names what the client sent through {@link quoted}, never whole: a name may be
 * anything up to 32,767 bytes, and a message that quoted it whole would be longer than a
 * string on the wire may be, so the answer could not be sent at all (issue 12).
 */

/** Characters of a client's string that an error message quotes; the rest is cut. */
export const QUOTED_CHARS_MAX = 64;

/**
 * A string from a client as an error message shows it: JSON-quoted (so control characters
 * and quotes are visible) and, past {@link QUOTED_CHARS_MAX} characters, cut there with
 * its size after it. At most about 400 bytes, whatever was sent.
 * @example quoted('orders')          // '"orders"'
 * @example quoted('x'.repeat(32767)) // '"xxxx…x"… (32767 bytes)', 64 x's
 */
export function quoted(s: string): string {
  if (s.length <= QUOTED_CHARS_MAX) return JSON.stringify(s);
  return `${JSON.stringify(s.slice(0, QUOTED_CHARS_MAX))}… (${Buffer.byteLength(s, 'utf8')} bytes)`;
}

/** Kafka's numeric error codes for the conditions this phase adds. */
export const TOPIC_ERROR_CODES = {
  /** The topic, or that partition of it, does not exist (and was not auto-created). */
  UNKNOWN_TOPIC_OR_PARTITION: 3,
  /** A topic name that is illegal (characters, length, `.`/`..`) or reserved (`__`, for clients). */
  INVALID_TOPIC_EXCEPTION: 17,
  /** CreateTopics named a topic that exists already. */
  TOPIC_ALREADY_EXISTS: 36,
  /** A partition count below 1 or above the broker's limits. */
  INVALID_PARTITIONS: 37,
  /** A request the broker could serve but its policy refuses (for example more than `topicsMax` topics). */
  POLICY_VIOLATION: 44,
} as const;

/** The string codes of topic errors (Kafka's names). */
export type TopicErrorCode = keyof typeof TOPIC_ERROR_CODES | 'CORRUPT_REGISTRY';

/**
 * Base class of the errors about topics and partitions.
 * @example
 * try { await admin.createTopic({ name: 'orders', partitions: 3 }); }
 * catch (e) { if (e instanceof TopicError && e.code === 'TOPIC_ALREADY_EXISTS') { ... } }
 */
export class TopicError extends Error {
  /** Stable machine-readable code, e.g. `TOPIC_ALREADY_EXISTS`. */
  readonly code: TopicErrorCode;
  /** Kafka's numeric error code for the same condition, or null where none is sent. */
  readonly kafkaErrorCode: number | null;

  constructor(code: TopicErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
    this.kafkaErrorCode = code === 'CORRUPT_REGISTRY' ? null : TOPIC_ERROR_CODES[code];
  }
}

/** A topic name is illegal, or reserved for internal topics (INVALID_TOPIC_EXCEPTION, 17). */
export class InvalidTopicError extends TopicError {
  /** The rejected name, exactly as received (may contain anything). */
  readonly topic: string;
  constructor(topic: string, reason: string) {
    super('INVALID_TOPIC_EXCEPTION', `invalid topic name ${quoted(topic)}: ${reason}`);
    this.topic = topic;
  }
}

/** The topic, or that partition of it, does not exist (UNKNOWN_TOPIC_OR_PARTITION, 3). */
export class UnknownTopicOrPartitionError extends TopicError {
  /** The topic named in the request. */
  readonly topic: string;
  /** The partition named in the request, if one was. */
  readonly partition: number | undefined;
  constructor(topic: string, partition?: number) {
    super(
      'UNKNOWN_TOPIC_OR_PARTITION',
      partition === undefined ? `unknown topic ${quoted(topic)}` : `unknown topic or partition ${topic.length <= QUOTED_CHARS_MAX ? topic : quoted(topic)}-${partition}`,
    );
    this.topic = topic;
    this.partition = partition;
  }
}

/** CreateTopics named a topic that already exists (TOPIC_ALREADY_EXISTS, 36). */
export class TopicExistsError extends TopicError {
  /** The topic named in the request. */
  readonly topic: string;
  constructor(topic: string) {
    super('TOPIC_ALREADY_EXISTS', `topic ${quoted(topic)} already exists`);
    this.topic = topic;
  }
}

/** A partition count outside [1, limit], or over the broker's total (INVALID_PARTITIONS, 37). */
export class InvalidPartitionsError extends TopicError {
  constructor(message: string) {
    super('INVALID_PARTITIONS', message);
  }
}

/** The broker already holds `topicsMax` topics (POLICY_VIOLATION, 44). */
export class TopicLimitError extends TopicError {
  constructor(message: string) {
    super('POLICY_VIOLATION', message);
  }
}

/** The registry file on disk fails its CRC or does not decode. The broker refuses to
 * start rather than guess which topics existed. Never sent over the wire. */
export class CorruptRegistryError extends TopicError {
  constructor(path: string, reason: string) {
    super('CORRUPT_REGISTRY', `topic registry ${path} is corrupt: ${reason}`);
  }
}
