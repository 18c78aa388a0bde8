/**
 * Fetch (api key 1), our version 3: read stored batches from several partitions at once.
 * For each partition the broker returns the batches as they sit on disk (the first one
 * may start before the requested offset; the client skips those records, as Kafka's
 * consumers do). When no requested partition has anything new, the broker holds the
 * request for up to `maxWaitMs` (a long poll), answering as soon as an append lands on
 * any of them, so a consumer that is caught up costs one request per `maxWaitMs` instead
 * of a busy loop.
 *
 * Version 1 (phase 3) names topics and partitions, nested as in Kafka's Fetch, and why
 * several partitions per request rather than one: responses on a connection come back in
 * request order, so a consumer that long-polled each partition with its own request would
 * wait behind an idle partition's poll while another partition had data (head-of-line
 * blocking). One request over all its partitions waits only when all of them are idle.
 * Each partition succeeds or fails on its own (errorCode per partition); the common prefix
 * reports only request-level failures.
 *
 * Version 2 (phase 5) adds `replicaId` in front, as Kafka's Fetch has it: -1 for a
 * consumer, the broker id for a follower copying the partition. A consumer reads only
 * below the high watermark; a follower reads up to the leader's log end offset, and the
 * offset it asks for tells the leader everything below it is durable in the follower.
 *
 * Version 3 (phase 6) adds, per partition right after `partition`, `currentLeaderEpoch`:
 * the leader epoch the fetcher believes the partition's leader has (from Metadata v3, or,
 * for a follower, from the controller that made it a follower), as Kafka's Fetch v9 has
 * it in the same place (KIP-320). A leader that is on a newer epoch answers that
 * partition FENCED_LEADER_EPOCH (the fetcher's metadata is stale: refresh it); one on an
 * older epoch answers UNKNOWN_LEADER_EPOCH (it has not yet heard of the election the
 * fetcher knows about, and must not serve it). -1 means "not checked" (Kafka's consumers
 * before KIP-320). The three fixed fields stay first: the broker reads `maxBytes` at
 * byte 8 of the body before decoding it (server/broker.ts, `fetchResponseReserve`).
 *
 * Request body (v3):
 *
 * | bytes | field              | type   | notes                                                   |
 * | ----- | ------------------ | ------ | ------------------------------------------------------- |
 * | 4     | replicaId          | i32    | -1 consumer; >= 0 the follower's broker id (phase 5)    |
 * | 4     | maxWaitMs          | i32    | >= 0; long-poll time when nothing is there yet (capped) |
 * | 4     | maxBytes           | i32    | > 0; soft limit over all partitions (see below)         |
 * | 4     | topicCount         | i32    | >= 0                                                    |
 * |       | per topic:         |        |                                                         |
 * | 2+N   | topic              | string |                                                         |
 * | 4     | partitionCount     | i32    | >= 0                                                    |
 * |       | per partition:     |        |                                                         |
 * | 4     | partition          | i32    |                                                         |
 * | 4     | currentLeaderEpoch | i32    | the leader epoch the fetcher knows; -1 not checked (v3) |
 * | 8     | offset             | i64    | first offset wanted, in [logStartOffset, logEndOffset]  |
 * | 4     | partitionMaxBytes  | i32    | > 0; soft limit for this partition                      |
 *
 * The limits are soft as in Kafka: a partition with data returns at least one whole batch
 * even if it is larger, so a consumer can always make progress; partitions after the
 * total is used up return no records (and no error) this time.
 *
 * Response body (v1 to v3, unchanged):
 *
 * | bytes | field          | type            | notes                                            |
 * | ----- | -------------- | --------------- | ------------------------------------------------ |
 * | 2+2+N | errorCode, errorMessage |        | common prefix (api.ts)                           |
 * | 4     | topicCount     | i32             | the request's topics, in order                   |
 * |       | per topic:     |                 |                                                  |
 * | 2+N   | topic          | string          |                                                  |
 * | 4     | partitionCount | i32             | the request's partitions, in order               |
 * |       | per partition: |                 |                                                  |
 * | 4     | partition      | i32             |                                                  |
 * | 2     | errorCode      | i16             | e.g. UNKNOWN_TOPIC_OR_PARTITION, OFFSET_OUT_OF_RANGE |
 * | 2+N   | errorMessage   | nullable string |                                                  |
 * | 8     | highWatermark  | i64             | offset below which records are committed (consumers read only below it); -1 if unknown |
 * | 8     | logStartOffset | i64             | first offset still stored; -1 if unknown         |
 * | 4     | length         | i32             | bytes of records, >= 0                           |
 * | N     | records        | bytes           | whole RecordBatch v2s, back to back, as stored   |
 */
import { type ApiCodec, type ResponseBase, readResponsePrefix, responsePrefixBytes, writeResponsePrefix } from './api.ts';
import { type ByteReader, ByteWriter, stringBytes } from './bytes.ts';
import { ApiKey, chunksBytes } from './header.ts';

/** One partition to read, and from where. */
export interface FetchPartition {
  partition: number;
  /** The leader epoch the fetcher believes is current (Fetch v3); -1 (the default) skips the check. */
  currentLeaderEpoch?: number;
  offset: number;
  maxBytes: number;
}

/** The partitions to read of one topic. */
export interface FetchTopic {
  topic: string;
  partitions: FetchPartition[];
}

/** Who a fetch is from: a consumer (Kafka's -1). */
export const CONSUMER_REPLICA_ID = -1;

/** A `currentLeaderEpoch` that asks for no check (Kafka's -1), sent when a request leaves it out. */
export const NO_LEADER_EPOCH = -1;

/** A Fetch request. */
export interface FetchRequest {
  /** -1 (the default) for a consumer; the follower's broker id for a replica fetch. */
  replicaId?: number;
  maxWaitMs: number;
  maxBytes: number;
  topics: FetchTopic[];
}

/** What one partition returned. */
export interface FetchPartitionResult {
  partition: number;
  errorCode: number;
  errorMessage: string | null;
  highWatermark: number;
  logStartOffset: number;
  /** Stored batches; the broker sends one chunk per batch, a decoder returns one view. */
  records: readonly Buffer[];
}

/** What one topic's partitions returned. */
export interface FetchTopicResult {
  topic: string;
  partitions: FetchPartitionResult[];
}

/** A Fetch response. */
export interface FetchResponse extends ResponseBase {
  topics: FetchTopicResult[];
}

/** Smallest encodings, for checking array counts against the bytes present. */
const TOPIC_BYTES_MIN = 2 + 4;
const PARTITION_REQUEST_BYTES = 4 + 4 + 8 + 4;
const PARTITION_RESULT_BYTES_MIN = 4 + 2 + 2 + 8 + 8 + 4;

/** Fetch v3 codec. */
export const Fetch: ApiCodec<FetchRequest, FetchResponse> = {
  apiKey: ApiKey.Fetch,
  name: 'Fetch',
  minVersion: 3,
  maxVersion: 3,

  encodeRequest(req) {
    let size = 4 + 4 + 4 + 4;
    for (const t of req.topics) size += stringBytes(t.topic) + 4 + t.partitions.length * PARTITION_REQUEST_BYTES;
    const w = new ByteWriter(size).i32(req.replicaId ?? CONSUMER_REPLICA_ID).i32(req.maxWaitMs).i32(req.maxBytes).i32(req.topics.length);
    for (const t of req.topics) {
      w.string(t.topic).i32(t.partitions.length);
      for (const p of t.partitions) w.i32(p.partition).i32(p.currentLeaderEpoch ?? NO_LEADER_EPOCH).i64(p.offset).i32(p.maxBytes);
    }
    return [w.finish()];
  },

  decodeRequest(r: ByteReader) {
    const replicaId = r.i32('replicaId');
    const maxWaitMs = r.i32('maxWaitMs');
    const maxBytes = r.i32('maxBytes');
    const topicCount = r.arrayCount('topicCount', TOPIC_BYTES_MIN);
    const topics: FetchTopic[] = [];
    for (let i = 0; i < topicCount; i++) {
      const topic = r.string('topic');
      const partitionCount = r.arrayCount('partitionCount', PARTITION_REQUEST_BYTES);
      const partitions: FetchPartition[] = [];
      for (let j = 0; j < partitionCount; j++) {
        const partition = r.i32('partition');
        const currentLeaderEpoch = r.i32('currentLeaderEpoch');
        partitions.push({ partition, currentLeaderEpoch, offset: r.i64('offset'), maxBytes: r.i32('partitionMaxBytes') });
      }
      topics.push({ topic, partitions });
    }
    r.expectEnd('Fetch request');
    return { replicaId, maxWaitMs, maxBytes, topics };
  },

  encodeResponse(res) {
    // Fixed fields go into small buffers; the stored batches follow as they are (no copy).
    const head = writeResponsePrefix(new ByteWriter(responsePrefixBytes(res) + 4), res).i32(res.topics.length).finish();
    const chunks: Buffer[] = [head];
    for (const t of res.topics) {
      chunks.push(new ByteWriter(stringBytes(t.topic) + 4).string(t.topic).i32(t.partitions.length).finish());
      for (const p of t.partitions) {
        const fixed = new ByteWriter(4 + 2 + stringBytes(p.errorMessage) + 8 + 8 + 4)
          .i32(p.partition)
          .i16(p.errorCode)
          .nullableString(p.errorMessage)
          .i64(p.highWatermark)
          .i64(p.logStartOffset)
          .i32(chunksBytes(p.records))
          .finish();
        chunks.push(fixed, ...p.records);
      }
    }
    return chunks;
  },

  decodeResponse(r: ByteReader) {
    const { errorCode, errorMessage } = readResponsePrefix(r);
    const topicCount = r.arrayCount('topicCount', TOPIC_BYTES_MIN);
    const topics: FetchTopicResult[] = [];
    for (let i = 0; i < topicCount; i++) {
      const topic = r.string('topic');
      const partitionCount = r.arrayCount('partitionCount', PARTITION_RESULT_BYTES_MIN);
      const partitions: FetchPartitionResult[] = [];
      for (let j = 0; j < partitionCount; j++) {
        const partition = r.i32('partition');
        const partitionErrorCode = r.i16('errorCode');
        const partitionErrorMessage = r.nullableString('errorMessage');
        const highWatermark = r.i64('highWatermark');
        const logStartOffset = r.i64('logStartOffset');
        const records = r.bytes('records');
        partitions.push({
          partition,
          errorCode: partitionErrorCode,
          errorMessage: partitionErrorMessage,
          highWatermark,
          logStartOffset,
          records: records.length > 0 ? [records] : [],
        });
      }
      topics.push({ topic, partitions });
    }
    r.expectEnd('Fetch response');
    return { errorCode, errorMessage, topics };
  },

  errorResponse(errorCode, errorMessage) {
    return { errorCode, errorMessage, topics: [] };
  },
};

/**
 * A partition result that carries only an error (watermarks unknown unless given).
 * @example fetchPartitionError(3, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, 'unknown topic or partition t-3')
 */
export function fetchPartitionError(partition: number, errorCode: number, errorMessage: string | null, highWatermark = -1, logStartOffset = -1): FetchPartitionResult {
  return { partition, errorCode, errorMessage, highWatermark, logStartOffset, records: [] };
}
