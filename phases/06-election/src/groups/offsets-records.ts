/**
 * The records of the internal `__consumer_offsets` log: what a committed offset and a
 * group's generation look like as the key and value of an ordinary RecordBatch v2
 * record. The offsets store (offsets-store.ts) appends them and replays them on start;
 * the latest record for a key wins, and a record with a null value (a tombstone)
 * deletes the key, exactly like a Kafka compacted topic.
 *
 * Keys (the first i16 says which kind, as in Kafka's `GroupCoordinatorRecordSerde`):
 *
 * | bytes | field     | type   | notes                                        |
 * | ----- | --------- | ------ | -------------------------------------------- |
 * | 2     | version   | i16    | 1 = offset commit key (Kafka's OffsetCommitKey v1) |
 * | 2+N   | group     | string |                                              |
 * | 2+N   | topic     | string |                                              |
 * | 4     | partition | i32    |                                              |
 *
 * | bytes | field     | type   | notes                                        |
 * | ----- | --------- | ------ | -------------------------------------------- |
 * | 2     | version   | i16    | 2 = group key (Kafka's GroupMetadataKey)      |
 * | 2+N   | group     | string |                                              |
 *
 * Values:
 *
 * | bytes | field             | type   | notes                                 |
 * | ----- | ----------------- | ------ | ------------------------------------- |
 * | 2     | version           | i16    | 0 (Kafka's OffsetCommitValue v0)       |
 * | 8     | offset            | i64    | the next offset the group will read    |
 * | 2+N   | metadata          | string | free text from the committing client   |
 * | 8     | commitTimestampMs | i64    | broker time of the commit              |
 *
 * | bytes | field      | type | notes                                           |
 * | ----- | ---------- | ---- | ----------------------------------------------- |
 * | 2     | version    | i16  | 0 (ours: Kafka's GroupMetadataValue also lists members) |
 * | 4     | generation | i32  | the group's latest generation                   |
 */
import { ByteReader, ByteWriter, stringBytes } from '../protocol/bytes.ts';
import { ProtocolError } from '../protocol/errors.ts';

/** Key version of an offset commit (Kafka uses 0 and 1 for the same layout). */
export const OFFSET_KEY_VERSION = 1;
/** Key version of a group's metadata. */
export const GROUP_KEY_VERSION = 2;

/** A committed offset as stored. */
export interface OffsetCommitValue {
  /** The next offset to consume (last processed + 1), as in Kafka. */
  readonly offset: number;
  /** Free text the client attached to the commit. */
  readonly metadata: string;
  /** Broker clock time of the commit. */
  readonly commitTimestampMs: number;
}

/** A record of the offsets log, decoded: its key fields and its value (null = tombstone). */
export type OffsetsRecord =
  | { readonly kind: 'offset'; readonly groupId: string; readonly topic: string; readonly partition: number; readonly value: OffsetCommitValue | null }
  | { readonly kind: 'group'; readonly groupId: string; readonly value: { readonly generation: number } | null };

/** The bytes of a stored record do not decode: the store refuses to start rather than
 * guess which offsets were committed. */
export class CorruptOffsetsError extends Error {
  /** Stable machine-readable code. */
  readonly code = 'CORRUPT_OFFSETS';
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'CorruptOffsetsError';
  }
}

/**
 * A string that names a record's key uniquely, for the store's in-memory map. Not stored.
 * @example keyId({ kind: 'group', groupId: 'g', value: null }) // 'group\u0000g'
 */
export function keyId(record: OffsetsRecord): string {
  return record.kind === 'group' ? `group\u0000${record.groupId}` : `offset\u0000${record.groupId}\u0000${record.topic}\u0000${record.partition}`;
}

/**
 * Encode a record's key and value for `Log.append`.
 * @example
 * encodeOffsetsRecord({ kind: 'group', groupId: 'g', value: { generation: 3 } });
 * // { key: <00 02 00 01 67>, value: <00 00 00 00 00 03> }
 */
export function encodeOffsetsRecord(record: OffsetsRecord): { key: Buffer; value: Buffer | null } {
  if (record.kind === 'group') {
    const { groupId, value: v } = record;
    const key = new ByteWriter(2 + stringBytes(groupId)).i16(GROUP_KEY_VERSION).string(groupId).finish();
    return { key, value: v === null ? null : new ByteWriter(2 + 4).i16(0).i32(v.generation).finish() };
  }
  const { groupId, topic, partition, value: v } = record;
  const key = new ByteWriter(2 + stringBytes(groupId) + stringBytes(topic) + 4)
    .i16(OFFSET_KEY_VERSION)
    .string(groupId)
    .string(topic)
    .i32(partition)
    .finish();
  if (v === null) return { key, value: null };
  const value = new ByteWriter(2 + 8 + stringBytes(v.metadata) + 8).i16(0).i64(v.offset).string(v.metadata).i64(v.commitTimestampMs).finish();
  return { key, value };
}

/**
 * Decode a stored record; throws {@link CorruptOffsetsError} for anything that does not
 * follow the layouts above (unknown versions included).
 */
export function decodeOffsetsRecord(key: Buffer | null, value: Buffer | null): OffsetsRecord {
  if (key === null) throw new CorruptOffsetsError('offsets record without a key');
  try {
    const k = new ByteReader(key);
    const version = k.i16('keyVersion');
    if (version === GROUP_KEY_VERSION) {
      const groupId = k.string('group');
      k.expectEnd('group key');
      if (value === null) return { kind: 'group', groupId, value: null };
      const v = new ByteReader(value);
      expectVersion(v.i16('valueVersion'), 'group value');
      const generation = v.i32('generation');
      v.expectEnd('group value');
      return { kind: 'group', groupId, value: { generation } };
    }
    if (version === 0 || version === OFFSET_KEY_VERSION) {
      const groupId = k.string('group');
      const topic = k.string('topic');
      const partition = k.i32('partition');
      k.expectEnd('offset key');
      if (value === null) return { kind: 'offset', groupId, topic, partition, value: null };
      const v = new ByteReader(value);
      expectVersion(v.i16('valueVersion'), 'offset value');
      const offset = v.i64('offset');
      const metadata = v.string('metadata');
      const commitTimestampMs = v.i64('commitTimestamp');
      v.expectEnd('offset value');
      return { kind: 'offset', groupId, topic, partition, value: { offset, metadata, commitTimestampMs } };
    }
    throw new CorruptOffsetsError(`unknown offsets key version ${version}`);
  } catch (e) {
    if (e instanceof ProtocolError) throw new CorruptOffsetsError(`undecodable offsets record: ${e.message}`, { cause: e });
    throw e;
  }
}

function expectVersion(version: number, what: string): void {
  if (version !== 0) throw new CorruptOffsetsError(`unknown ${what} version ${version}`);
}
