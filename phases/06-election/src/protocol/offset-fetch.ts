/**
 * OffsetFetch (api key 9), our version 0: "where did this group get to?" A group
 * consumer asks for the partitions it has just been assigned and starts each one at the
 * committed offset (or, with none, at the earliest or latest offset: KafkaJS's
 * `fromBeginning`). Reading needs no membership; `describe-group` uses it too.
 *
 * Request body (v0):
 *
 * | bytes | field      | type           | notes                                        |
 * | ----- | ---------- | -------------- | -------------------------------------------- |
 * | 2+N   | groupId    | string         |                                              |
 * | 1     | all        | i8             | 1 = every committed partition; list ignored  |
 * | ...   | partitions | partition list | group-fields.ts                              |
 *
 * Response body (v0):
 *
 * | bytes | field          | type   | notes                                   |
 * | ----- | -------------- | ------ | --------------------------------------- |
 * | 2+2+N | errorCode, errorMessage |  | common prefix (api.ts)              |
 * | 4     | count          | i32    | one entry per partition (flat)          |
 * |       | per partition: |        |                                         |
 * | 2+N   | topic          | string |                                         |
 * | 4     | partition      | i32    |                                         |
 * | 8     | offset         | i64    | committed offset; -1 = none             |
 * | 2+N   | metadata       | string | from the commit; '' if none             |
 */
import { type ApiCodec, type ResponseBase, readResponsePrefix, responsePrefixBytes, writeResponsePrefix } from './api.ts';
import { type ByteReader, ByteWriter, stringBytes } from './bytes.ts';
import { partitionListBytes, readPartitionList, writePartitionList } from './group-fields.ts';
import { ApiKey } from './header.ts';
import type { TopicPartition } from '../topics/partition.ts';

/** An OffsetFetch request; `partitions` null means all the group has committed. */
export interface OffsetFetchRequest {
  groupId: string;
  partitions: TopicPartition[] | null;
}

/** One committed offset (-1 = nothing committed). */
export interface FetchedOffsetEntry {
  topic: string;
  partition: number;
  offset: number;
  metadata: string;
}

/** An OffsetFetch response. */
export interface OffsetFetchResponse extends ResponseBase {
  offsets: FetchedOffsetEntry[];
}

/** OffsetFetch v0 codec. */
export const OffsetFetch: ApiCodec<OffsetFetchRequest, OffsetFetchResponse> = {
  apiKey: ApiKey.OffsetFetch,
  name: 'OffsetFetch',
  minVersion: 0,
  maxVersion: 0,

  encodeRequest(req) {
    const list = req.partitions ?? [];
    const w = new ByteWriter(stringBytes(req.groupId) + 1 + partitionListBytes(list)).string(req.groupId).i8(req.partitions === null ? 1 : 0);
    writePartitionList(w, list);
    return [w.finish()];
  },

  decodeRequest(r: ByteReader) {
    const groupId = r.string('groupId');
    const all = r.i8('all');
    const list = readPartitionList(r, 'partitions');
    r.expectEnd('OffsetFetch request');
    return { groupId, partitions: all === 1 ? null : list };
  },

  encodeResponse(res) {
    let size = responsePrefixBytes(res) + 4;
    for (const o of res.offsets) size += stringBytes(o.topic) + 4 + 8 + stringBytes(o.metadata);
    const w = writeResponsePrefix(new ByteWriter(size), res).i32(res.offsets.length);
    for (const o of res.offsets) w.string(o.topic).i32(o.partition).i64(o.offset).string(o.metadata);
    return [w.finish()];
  },

  decodeResponse(r: ByteReader) {
    const { errorCode, errorMessage } = readResponsePrefix(r);
    const count = r.arrayCount('count', 2 + 4 + 8 + 2);
    const offsets: FetchedOffsetEntry[] = [];
    for (let i = 0; i < count; i++) {
      const topic = r.string('topic');
      const partition = r.i32('partition');
      const offset = r.i64('offset');
      const metadata = r.string('metadata');
      offsets.push({ topic, partition, offset, metadata });
    }
    r.expectEnd('OffsetFetch response');
    return { errorCode, errorMessage, offsets };
  },

  errorResponse(errorCode, errorMessage) {
    return { errorCode, errorMessage, offsets: [] };
  },
};
