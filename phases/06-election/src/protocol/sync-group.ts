/**
 * SyncGroup (api key 14), our version 0: "what is my assignment in this generation?"
 * In Kafka's classic protocol the group leader computes everyone's assignment and sends
 * it in its SyncGroup, and the others' SyncGroups wait for it; our coordinator computes
 * the assignment itself when the join phase ends (as KIP-848 does), so SyncGroup only
 * collects it. A member that knows its assignment may commit in that generation.
 *
 * Request body (v0):
 *
 * | bytes | field      | type   | notes                          |
 * | ----- | ---------- | ------ | ------------------------------ |
 * | 2+N   | groupId    | string |                                |
 * | 4     | generation | i32    | from the JoinGroup response    |
 * | 2+N   | memberId   | string |                                |
 *
 * Response body (v0):
 *
 * | bytes | field      | type           | notes                     |
 * | ----- | ---------- | -------------- | ------------------------- |
 * | 2+2+N | errorCode, errorMessage |   | common prefix (api.ts)    |
 * | ...   | assignment | partition list | group-fields.ts           |
 */
import { type ApiCodec, type ResponseBase, readResponsePrefix, responsePrefixBytes, writeResponsePrefix } from './api.ts';
import { type ByteReader, ByteWriter, stringBytes } from './bytes.ts';
import { partitionListBytes, readPartitionList, writePartitionList } from './group-fields.ts';
import { ApiKey } from './header.ts';
import type { TopicPartition } from '../topics/partition.ts';

/** A SyncGroup request (also the body of Heartbeat). */
export interface SyncGroupRequest {
  groupId: string;
  generation: number;
  memberId: string;
}

/** A SyncGroup response. */
export interface SyncGroupResponse extends ResponseBase {
  assignment: TopicPartition[];
}

/** Encoded size of a (groupId, generation, memberId) body. */
export function memberRequestBytes(req: SyncGroupRequest): number {
  return stringBytes(req.groupId) + 4 + stringBytes(req.memberId);
}

/** SyncGroup v0 codec. */
export const SyncGroup: ApiCodec<SyncGroupRequest, SyncGroupResponse> = {
  apiKey: ApiKey.SyncGroup,
  name: 'SyncGroup',
  minVersion: 0,
  maxVersion: 0,

  encodeRequest(req) {
    return [new ByteWriter(memberRequestBytes(req)).string(req.groupId).i32(req.generation).string(req.memberId).finish()];
  },

  decodeRequest(r: ByteReader) {
    const groupId = r.string('groupId');
    const generation = r.i32('generation');
    const memberId = r.string('memberId');
    r.expectEnd('SyncGroup request');
    return { groupId, generation, memberId };
  },

  encodeResponse(res) {
    const w = writeResponsePrefix(new ByteWriter(responsePrefixBytes(res) + partitionListBytes(res.assignment)), res);
    writePartitionList(w, res.assignment);
    return [w.finish()];
  },

  decodeResponse(r: ByteReader) {
    const { errorCode, errorMessage } = readResponsePrefix(r);
    const assignment = readPartitionList(r, 'assignment');
    r.expectEnd('SyncGroup response');
    return { errorCode, errorMessage, assignment };
  },

  errorResponse(errorCode, errorMessage) {
    return { errorCode, errorMessage, assignment: [] };
  },
};
