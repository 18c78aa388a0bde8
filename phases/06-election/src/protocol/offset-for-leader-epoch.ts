/**
 * OffsetForLeaderEpoch (api key 23, Kafka's number; our version 0), phase 6: a follower
 * asks the leader where a leader epoch ends in the leader's log (KIP-101, refined by
 * KIP-279), so that it can cut its own log exactly where the two stop agreeing instead of
 * at its high watermark. Records of the same epoch at the same offset were written by the
 * same leader, so they are the same records; past the end of an epoch the leader has, the
 * follower's records are not the leader's. A follower asks before it first fetches from a
 * new leader, then truncates (replication/truncation.ts decides where).
 *
 * The leader answers each partition with `LeaderEpochCache.endOffsetFor` (Kafka's
 * `endOffsetFor`, replication/epoch-cache.ts): the largest epoch <= the one asked that
 * its log has, and where that epoch ends there (the start offset of the next epoch, or
 * the log end offset for the latest; an epoch older than all of them comes back as
 * asked, ending where the first one starts). (-1, -1) means it cannot say (asked -1, an
 * epoch above its latest, or no epochs at all): the follower falls back to its high
 * watermark. The answer is (epoch, end) rather than Kafka's pre-KIP-279 end alone, so
 * that a follower whose epoch the leader never had can tell, and compare the epoch below
 * it instead (the double-failover divergence).
 *
 * `currentLeaderEpoch` is the epoch the follower believes the leader has, as in Kafka's
 * v2 (KIP-320): a leader on a newer epoch answers that partition FENCED_LEADER_EPOCH (the
 * follower heard of an old election only), one on an older epoch UNKNOWN_LEADER_EPOCH (the
 * follower knows of a newer election than the leader does); -1 is not checked. The
 * layout is Kafka's v3 (replicaId in front) with two changes: no throttle time, and an
 * error message per partition beside the error code, as our other APIs have.
 *
 * Request body (v0):
 *
 * | bytes | field              | type   | notes                                                         |
 * | ----- | ------------------ | ------ | ------------------------------------------------------------- |
 * | 4     | replicaId          | i32    | the follower's broker id; -1 for a consumer or debugging      |
 * | 4     | topicCount         | i32    | >= 0                                                          |
 * |       | per topic:         |        |                                                               |
 * | 2+N   | topic              | string |                                                               |
 * | 4     | partitionCount     | i32    | >= 0                                                          |
 * |       | per partition:     |        |                                                               |
 * | 4     | partition          | i32    |                                                               |
 * | 4     | currentLeaderEpoch | i32    | the epoch the follower believes the leader has; -1 unchecked  |
 * | 4     | leaderEpoch        | i32    | the epoch asked about: the follower's latest, or an older one |
 *
 * Response body (v0):
 *
 * | bytes | field          | type            | notes                                                         |
 * | ----- | -------------- | --------------- | ------------------------------------------------------------- |
 * | 2+2+N | errorCode, errorMessage |        | common prefix (api.ts)                                        |
 * | 4     | topicCount     | i32             | the request's topics, in order                                |
 * |       | per topic:     |                 |                                                               |
 * | 2+N   | topic          | string          |                                                               |
 * | 4     | partitionCount | i32             | the request's partitions, in order                            |
 * |       | per partition: |                 |                                                               |
 * | 2     | errorCode      | i16             | e.g. NOT_LEADER_OR_FOLLOWER, FENCED_LEADER_EPOCH              |
 * | 2+N   | errorMessage   | nullable string |                                                               |
 * | 4     | partition      | i32             |                                                               |
 * | 4     | leaderEpoch    | i32             | the largest epoch <= the one asked the leader has; -1 if none |
 * | 8     | endOffset      | i64             | where that epoch ends in the leader's log; -1 if none         |
 */
import { type ApiCodec, type ResponseBase, readResponsePrefix, responsePrefixBytes, writeResponsePrefix } from './api.ts';
import { type ByteReader, ByteWriter, stringBytes } from './bytes.ts';
import { ApiKey } from './header.ts';

/** One partition asked about: the epoch the follower believes current, and the epoch whose end it wants. */
export interface OffsetForLeaderEpochPartition {
  partition: number;
  /** The leader epoch the follower believes the leader has; -1 skips the check. */
  currentLeaderEpoch: number;
  /** The epoch asked about. */
  leaderEpoch: number;
}

/** The partitions asked about of one topic. */
export interface OffsetForLeaderEpochTopic {
  topic: string;
  partitions: OffsetForLeaderEpochPartition[];
}

/** An OffsetForLeaderEpoch request. */
export interface OffsetForLeaderEpochRequest {
  /** The follower's broker id; -1 for a consumer or a debugging tool. */
  replicaId: number;
  topics: OffsetForLeaderEpochTopic[];
}

/** The leader's answer for one partition. */
export interface OffsetForLeaderEpochPartitionResult {
  partition: number;
  errorCode: number;
  errorMessage: string | null;
  /** The largest epoch <= the one asked that the leader's log has; -1 if none. */
  leaderEpoch: number;
  /** Where that epoch ends in the leader's log; -1 if none. */
  endOffset: number;
}

/** The answers for one topic's partitions. */
export interface OffsetForLeaderEpochTopicResult {
  topic: string;
  partitions: OffsetForLeaderEpochPartitionResult[];
}

/** An OffsetForLeaderEpoch response. */
export interface OffsetForLeaderEpochResponse extends ResponseBase {
  topics: OffsetForLeaderEpochTopicResult[];
}

/** Smallest encodings, for checking array counts against the bytes present. */
const TOPIC_BYTES_MIN = 2 + 4;
const PARTITION_REQUEST_BYTES = 4 + 4 + 4;
const PARTITION_RESULT_BYTES_MIN = 2 + 2 + 4 + 4 + 8;

/**
 * OffsetForLeaderEpoch v0 codec. In `APIS` only together with the broker's handler:
 * ApiVersions (built from `APIS`) must not announce an API the broker cannot serve.
 */
export const OffsetForLeaderEpoch: ApiCodec<OffsetForLeaderEpochRequest, OffsetForLeaderEpochResponse> = {
  apiKey: ApiKey.OffsetForLeaderEpoch,
  name: 'OffsetForLeaderEpoch',
  minVersion: 0,
  maxVersion: 0,

  encodeRequest(req) {
    let size = 4 + 4;
    for (const t of req.topics) size += stringBytes(t.topic) + 4 + t.partitions.length * PARTITION_REQUEST_BYTES;
    const w = new ByteWriter(size).i32(req.replicaId).i32(req.topics.length);
    for (const t of req.topics) {
      w.string(t.topic).i32(t.partitions.length);
      for (const p of t.partitions) w.i32(p.partition).i32(p.currentLeaderEpoch).i32(p.leaderEpoch);
    }
    return [w.finish()];
  },

  decodeRequest(r: ByteReader) {
    const replicaId = r.i32('replicaId');
    const topicCount = r.arrayCount('topicCount', TOPIC_BYTES_MIN);
    const topics: OffsetForLeaderEpochTopic[] = [];
    for (let i = 0; i < topicCount; i++) {
      const topic = r.string('topic');
      const partitionCount = r.arrayCount('partitionCount', PARTITION_REQUEST_BYTES);
      const partitions: OffsetForLeaderEpochPartition[] = [];
      for (let j = 0; j < partitionCount; j++) {
        const partition = r.i32('partition');
        const currentLeaderEpoch = r.i32('currentLeaderEpoch');
        const leaderEpoch = r.i32('leaderEpoch');
        partitions.push({ partition, currentLeaderEpoch, leaderEpoch });
      }
      topics.push({ topic, partitions });
    }
    r.expectEnd('OffsetForLeaderEpoch request');
    return { replicaId, topics };
  },

  encodeResponse(res) {
    let size = responsePrefixBytes(res) + 4;
    for (const t of res.topics) {
      size += stringBytes(t.topic) + 4;
      for (const p of t.partitions) size += PARTITION_RESULT_BYTES_MIN - 2 + stringBytes(p.errorMessage);
    }
    const w = writeResponsePrefix(new ByteWriter(size), res).i32(res.topics.length);
    for (const t of res.topics) {
      w.string(t.topic).i32(t.partitions.length);
      for (const p of t.partitions) w.i16(p.errorCode).nullableString(p.errorMessage).i32(p.partition).i32(p.leaderEpoch).i64(p.endOffset);
    }
    return [w.finish()];
  },

  decodeResponse(r: ByteReader) {
    const { errorCode, errorMessage } = readResponsePrefix(r);
    const topicCount = r.arrayCount('topicCount', TOPIC_BYTES_MIN);
    const topics: OffsetForLeaderEpochTopicResult[] = [];
    for (let i = 0; i < topicCount; i++) {
      const topic = r.string('topic');
      const partitionCount = r.arrayCount('partitionCount', PARTITION_RESULT_BYTES_MIN);
      const partitions: OffsetForLeaderEpochPartitionResult[] = [];
      for (let j = 0; j < partitionCount; j++) {
        const partitionErrorCode = r.i16('errorCode');
        const partitionErrorMessage = r.nullableString('errorMessage');
        const partition = r.i32('partition');
        const leaderEpoch = r.i32('leaderEpoch');
        const endOffset = r.i64('endOffset');
        partitions.push({ partition, errorCode: partitionErrorCode, errorMessage: partitionErrorMessage, leaderEpoch, endOffset });
      }
      topics.push({ topic, partitions });
    }
    r.expectEnd('OffsetForLeaderEpoch response');
    return { errorCode, errorMessage, topics };
  },

  errorResponse(errorCode, errorMessage) {
    return { errorCode, errorMessage, topics: [] };
  },
};

/**
 * A partition answer that carries only an error (epoch and end offset unknown, -1).
 * @example offsetForLeaderEpochPartitionError(0, ErrorCode.NOT_LEADER_OR_FOLLOWER, 'broker 2 does not lead t-0')
 */
export function offsetForLeaderEpochPartitionError(partition: number, errorCode: number, errorMessage: string | null): OffsetForLeaderEpochPartitionResult {
  return { partition, errorCode, errorMessage, leaderEpoch: -1, endOffset: -1 };
}
