/**
 * OffsetCommit (api key 8), our version 0: "the group has processed everything before
 * these offsets." The committed offset is the *next* offset to read (last processed + 1),
 * as in Kafka. The commit carries the member id and generation: the coordinator rejects
 * a commit from a member it does not know (UNKNOWN_MEMBER_ID, 25), from another
 * generation (ILLEGAL_GENERATION, 22: the zombie consumer), or from a member that has not
 * yet collected its assignment (REBALANCE_IN_PROGRESS, 27). Accepted offsets are
 * answered only after they are fsynced in `__consumer_offsets`.
 *
 * Request body (v0):
 *
 * | bytes | field          | type   | notes                                  |
 * | ----- | -------------- | ------ | -------------------------------------- |
 * | 2+N   | groupId        | string |                                        |
 * | 4     | generation     | i32    |                                        |
 * | 2+N   | memberId       | string |                                        |
 * | 4     | topicCount     | i32    |                                        |
 * |       | per topic:     |        |                                        |
 * | 2+N   | topic          | string |                                        |
 * | 4     | partitionCount | i32    |                                        |
 * |       | per partition: |        |                                        |
 * | 4     | partition      | i32    |                                        |
 * | 8     | offset         | i64    | next offset to consume, >= 0           |
 * | 2+N   | metadata       | string | free text, at most 4096 bytes          |
 *
 * Response body (v0):
 *
 * | bytes | field          | type   | notes                          |
 * | ----- | -------------- | ------ | ------------------------------ |
 * | 2+2+N | errorCode, errorMessage |  | common prefix (api.ts)     |
 * | 4     | topicCount     | i32    |                                |
 * |       | per topic:     |        |                                |
 * | 2+N   | topic          | string |                                |
 * | 4     | partitionCount | i32    |                                |
 * |       | per partition: |        |                                |
 * | 4     | partition      | i32    |                                |
 * | 2     | errorCode      | i16    | 0, or why this one was refused |
 */
import { type ApiCodec, type ResponseBase, readResponsePrefix, responsePrefixBytes, writeResponsePrefix } from './api.ts';
import { type ByteReader, ByteWriter, stringBytes } from './bytes.ts';
import { groupByTopic } from './group-fields.ts';
import { ApiKey } from './header.ts';

/** One offset to commit. */
export interface OffsetCommitPartition {
  topic: string;
  partition: number;
  offset: number;
  metadata: string;
}

/** An OffsetCommit request. */
export interface OffsetCommitRequest {
  groupId: string;
  generation: number;
  memberId: string;
  offsets: OffsetCommitPartition[];
}

/** The outcome for one partition. */
export interface OffsetCommitResult {
  topic: string;
  partition: number;
  errorCode: number;
}

/** An OffsetCommit response. */
export interface OffsetCommitResponse extends ResponseBase {
  results: OffsetCommitResult[];
}

/** OffsetCommit v0 codec. */
export const OffsetCommit: ApiCodec<OffsetCommitRequest, OffsetCommitResponse> = {
  apiKey: ApiKey.OffsetCommit,
  name: 'OffsetCommit',
  minVersion: 0,
  maxVersion: 0,

  encodeRequest(req) {
    const grouped = groupByTopic(req.offsets);
    let size = stringBytes(req.groupId) + 4 + stringBytes(req.memberId) + 4;
    for (const [topic, parts] of grouped) {
      size += stringBytes(topic) + 4;
      for (const p of parts) size += 4 + 8 + stringBytes(p.metadata);
    }
    const w = new ByteWriter(size).string(req.groupId).i32(req.generation).string(req.memberId).i32(grouped.length);
    for (const [topic, parts] of grouped) {
      w.string(topic).i32(parts.length);
      for (const p of parts) w.i32(p.partition).i64(p.offset).string(p.metadata);
    }
    return [w.finish()];
  },

  decodeRequest(r: ByteReader) {
    const groupId = r.string('groupId');
    const generation = r.i32('generation');
    const memberId = r.string('memberId');
    const offsets: OffsetCommitPartition[] = [];
    const topics = r.arrayCount('topicCount', 2 + 4);
    for (let t = 0; t < topics; t++) {
      const topic = r.string('topic');
      const count = r.arrayCount('partitionCount', 4 + 8 + 2);
      for (let i = 0; i < count; i++) {
        const partition = r.i32('partition');
        const offset = r.i64('offset');
        const metadata = r.string('metadata');
        offsets.push({ topic, partition, offset, metadata });
      }
    }
    r.expectEnd('OffsetCommit request');
    return { groupId, generation, memberId, offsets };
  },

  encodeResponse(res) {
    const grouped = groupByTopic(res.results);
    let size = responsePrefixBytes(res) + 4;
    for (const [topic, parts] of grouped) size += stringBytes(topic) + 4 + parts.length * (4 + 2);
    const w = writeResponsePrefix(new ByteWriter(size), res).i32(grouped.length);
    for (const [topic, parts] of grouped) {
      w.string(topic).i32(parts.length);
      for (const p of parts) w.i32(p.partition).i16(p.errorCode);
    }
    return [w.finish()];
  },

  decodeResponse(r: ByteReader) {
    const { errorCode, errorMessage } = readResponsePrefix(r);
    const results: OffsetCommitResult[] = [];
    const topics = r.arrayCount('topicCount', 2 + 4);
    for (let t = 0; t < topics; t++) {
      const topic = r.string('topic');
      const count = r.arrayCount('partitionCount', 4 + 2);
      for (let i = 0; i < count; i++) results.push({ topic, partition: r.i32('partition'), errorCode: r.i16('errorCode') });
    }
    r.expectEnd('OffsetCommit response');
    return { errorCode, errorMessage, results };
  },

  errorResponse(errorCode, errorMessage) {
    return { errorCode, errorMessage, results: [] };
  },
};
