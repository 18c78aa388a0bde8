/**
 * Topic names: the one piece of client input that becomes a path on disk. A topic's
 * partition `p` lives in the directory `<dir>/<topic>-<p>/`, so a name like `../x` or
 * `a/b` would let a client write outside the data directory. Every name is checked
 * here, before the registry or the filesystem sees it, against Kafka's own rule:
 * 1 to 249 characters from `[A-Za-z0-9._-]`, and not `.` or `..`.
 *
 * Names beginning with `__` are reserved for topics the broker itself owns (phase 4's
 * `__consumer_offsets`): clients can read them but cannot create them or produce to them.
 */
import { InvalidTopicError } from './errors.ts';

/** Longest topic name, in characters (all ASCII, so also bytes). Kafka's limit: 255 (a
 * typical filename limit) minus room for `-<partition>` and the suffixes Kafka adds to
 * partition directories when it deletes or moves them. */
export const TOPIC_NAME_LENGTH_MAX = 249;

/** Prefix of internal topics, which clients may not create or produce to. */
export const INTERNAL_TOPIC_PREFIX = '__';

const LEGAL = /^[A-Za-z0-9._-]+$/;

/**
 * Why `name` is not a legal topic name, or `null` if it is. Pure; never touches disk.
 * @example
 * topicNameProblem('orders');   // null
 * topicNameProblem('../etc');   // 'may only contain ASCII letters, digits, ".", "_" and "-"'
 */
export function topicNameProblem(name: string): string | null {
  if (name.length === 0) return 'must not be empty';
  if (name.length > TOPIC_NAME_LENGTH_MAX) return `longer than ${TOPIC_NAME_LENGTH_MAX} characters (${name.length})`;
  if (name === '.' || name === '..') return `"${name}" names a directory, not a topic`;
  if (!LEGAL.test(name)) return 'may only contain ASCII letters, digits, ".", "_" and "-"';
  return null;
}

/**
 * Throw {@link InvalidTopicError} unless `name` is a legal topic name.
 * @example
 * validateTopicName('orders'); // ok
 * validateTopicName('a/b');    // throws InvalidTopicError
 */
export function validateTopicName(name: string): void {
  const problem = topicNameProblem(name);
  if (problem !== null) throw new InvalidTopicError(name, problem);
}

/**
 * Whether `name` is reserved for the broker's own topics (starts with `__`).
 * @example
 * isInternalTopic('__consumer_offsets'); // true
 * isInternalTopic('_orders');            // false
 */
export function isInternalTopic(name: string): boolean {
  return name.startsWith(INTERNAL_TOPIC_PREFIX);
}

/**
 * The directory name of one partition: `<topic>-<partition>`, as Kafka names them.
 * The caller must have validated `topic`; this asserts it, because a bad name here
 * would be a path traversal.
 * @example
 * partitionDirName('orders', 2); // 'orders-2'
 */
export function partitionDirName(topic: string, partition: number): string {
  validateTopicName(topic);
  if (!Number.isSafeInteger(partition) || partition < 0) throw new RangeError(`bad partition ${partition}`);
  return `${topic}-${partition}`;
}
