/**
 * ListOffsets (api key 2), our version 2: where does a partition's log start, where does
 * it end? Version 1 (phase 3) names the topic and partition; version 0 asked about the
 * broker's one log.
 * A consumer asks this before its first fetch ("start from the beginning" or "only new
 * records"). The special timestamps are Kafka's: -2 means the earliest offset (log start
 * offset), -1 the latest (log end offset, the offset the next record will get). Looking
 * up a real timestamp needs a time index, which this course does not build; the broker
 * answers INVALID_REQUEST.
 *
 * Version 2 (phase 6) adds `currentLeaderEpoch` right after `partition`, where Kafka's
 * ListOffsets v4 has it (KIP-320): the leader epoch the consumer believes the partition's
 * leader has (from Metadata v3); -1 means "not checked". Offsets are answered by the
 * leader, and "latest" is its high watermark: a consumer asking a deposed leader would
 * start from an offset the new leader may never reach. With the epoch, a leader on a
 * newer epoch answers FENCED_LEADER_EPOCH (the consumer's metadata is stale) and one on
 * an older epoch UNKNOWN_LEADER_EPOCH (it has not yet heard it was deposed). Kafka's v4
 * response also returns the leader epoch of the offset found; ours does not (yet).
 *
 * Request body (v2):
 *
 * | bytes | field              | type   | notes                                                    |
 * | ----- | ------------------ | ------ | -------------------------------------------------------- |
 * | 2+N   | topic              | string |                                                          |
 * | 4     | partition          | i32    |                                                          |
 * | 4     | currentLeaderEpoch | i32    | the leader epoch the consumer knows; -1 not checked (v2) |
 * | 8     | timestamp          | i64    | -2 earliest, -1 latest                                   |
 *
 * Response body (v2, unchanged from v0):
 *
 * | bytes | field  | type | notes                                     |
 * | ----- | ------ | ---- | ----------------------------------------- |
 * | 2+2+N | errorCode, errorMessage |  | common prefix (api.ts)      |
 * | 8     | offset | i64  | the requested offset; -1 on error         |
 */
import { type ApiCodec, type ResponseBase, readResponsePrefix, responsePrefixBytes, writeResponsePrefix } from './api.ts';
import { type ByteReader, ByteWriter, stringBytes } from './bytes.ts';
import { NO_LEADER_EPOCH } from './fetch.ts';
import { ApiKey } from './header.ts';

/** Kafka's special ListOffsets timestamp for the log end offset. */
export const LATEST_TIMESTAMP = -1;
/** Kafka's special ListOffsets timestamp for the log start offset. */
export const EARLIEST_TIMESTAMP = -2;

/** A ListOffsets request. */
export interface ListOffsetsRequest {
  topic: string;
  partition: number;
  /** The leader epoch the consumer believes is current (ListOffsets v2); -1 (the default) skips the check. */
  currentLeaderEpoch?: number;
  timestamp: number;
}

/** A ListOffsets response. */
export interface ListOffsetsResponse extends ResponseBase {
  offset: number;
}

/** ListOffsets v2 codec. */
export const ListOffsets: ApiCodec<ListOffsetsRequest, ListOffsetsResponse> = {
  apiKey: ApiKey.ListOffsets,
  name: 'ListOffsets',
  minVersion: 2,
  maxVersion: 2,

  encodeRequest(req) {
    const w = new ByteWriter(stringBytes(req.topic) + 4 + 4 + 8).string(req.topic).i32(req.partition);
    return [w.i32(req.currentLeaderEpoch ?? NO_LEADER_EPOCH).i64(req.timestamp).finish()];
  },

  decodeRequest(r: ByteReader) {
    const topic = r.string('topic');
    const partition = r.i32('partition');
    const currentLeaderEpoch = r.i32('currentLeaderEpoch');
    const timestamp = r.i64('timestamp');
    r.expectEnd('ListOffsets request');
    return { topic, partition, currentLeaderEpoch, timestamp };
  },

  encodeResponse(res) {
    const w = new ByteWriter(responsePrefixBytes(res) + 8);
    writeResponsePrefix(w, res).i64(res.offset);
    return [w.finish()];
  },

  decodeResponse(r: ByteReader) {
    const { errorCode, errorMessage } = readResponsePrefix(r);
    const offset = r.i64('offset');
    r.expectEnd('ListOffsets response');
    return { errorCode, errorMessage, offset };
  },

  errorResponse(errorCode, errorMessage) {
    return { errorCode, errorMessage, offset: -1 };
  },
};
