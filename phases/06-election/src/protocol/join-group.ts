/**
 * JoinGroup (api key 11), our version 0: "I am (or want to be) a member of this group;
 * here is what I subscribe to and what I still own." The coordinator holds the request
 * until the join phase of the rebalance ends (every member rejoined, or the rebalance
 * timeout passed), then answers every member at once with the new generation. An empty
 * `memberId` asks the coordinator for a new one. `owned` is KIP-429's owned-partitions
 * list: with it the coordinator never hands a partition to a new owner while the old one
 * still consumes it (groups/cooperative.ts).
 *
 * Kafka's JoinGroup carries opaque per-protocol metadata that only the group leader
 * decodes; ours names the fields directly, because our coordinator does the assignment.
 *
 * Request body (v0):
 *
 * | bytes | field              | type           | notes                                     |
 * | ----- | ------------------ | -------------- | ----------------------------------------- |
 * | 2+N   | groupId            | string         |                                           |
 * | 4     | sessionTimeoutMs   | i32            | no heartbeat for this long → removed      |
 * | 4     | rebalanceTimeoutMs | i32            | longest wait for members to rejoin        |
 * | 2+N   | memberId           | string         | '' for a new member                       |
 * | ...   | topics             | string array   | subscription (group-fields.ts)            |
 * | ...   | owned              | partition list | what the member still consumes            |
 *
 * Response body (v0):
 *
 * | bytes | field      | type         | notes                                   |
 * | ----- | ---------- | ------------ | --------------------------------------- |
 * | 2+2+N | errorCode, errorMessage |  | common prefix (api.ts)              |
 * | 4     | generation | i32          | -1 on error                             |
 * | 2+N   | memberId   | string       | the member's id from now on             |
 * | 2+N   | leaderId   | string       | informational (the coordinator assigns) |
 * | ...   | members    | string array | every member of the generation          |
 */
import { type ApiCodec, type ResponseBase, readResponsePrefix, responsePrefixBytes, writeResponsePrefix } from './api.ts';
import { type ByteReader, ByteWriter, stringBytes } from './bytes.ts';
import { partitionListBytes, readPartitionList, readStringArray, stringArrayBytes, writePartitionList, writeStringArray } from './group-fields.ts';
import { ApiKey } from './header.ts';
import type { TopicPartition } from '../topics/partition.ts';

/** A JoinGroup request. */
export interface JoinGroupRequest {
  groupId: string;
  sessionTimeoutMs: number;
  rebalanceTimeoutMs: number;
  memberId: string;
  topics: string[];
  owned: TopicPartition[];
}

/** A JoinGroup response. */
export interface JoinGroupResponse extends ResponseBase {
  generation: number;
  memberId: string;
  leaderId: string;
  members: string[];
}

/** JoinGroup v0 codec. */
export const JoinGroup: ApiCodec<JoinGroupRequest, JoinGroupResponse> = {
  apiKey: ApiKey.JoinGroup,
  name: 'JoinGroup',
  minVersion: 0,
  maxVersion: 0,

  encodeRequest(req) {
    const size = stringBytes(req.groupId) + 4 + 4 + stringBytes(req.memberId) + stringArrayBytes(req.topics) + partitionListBytes(req.owned);
    const w = new ByteWriter(size).string(req.groupId).i32(req.sessionTimeoutMs).i32(req.rebalanceTimeoutMs).string(req.memberId);
    writeStringArray(w, req.topics);
    writePartitionList(w, req.owned);
    return [w.finish()];
  },

  decodeRequest(r: ByteReader) {
    const groupId = r.string('groupId');
    const sessionTimeoutMs = r.i32('sessionTimeoutMs');
    const rebalanceTimeoutMs = r.i32('rebalanceTimeoutMs');
    const memberId = r.string('memberId');
    const topics = readStringArray(r, 'topics');
    const owned = readPartitionList(r, 'owned');
    r.expectEnd('JoinGroup request');
    return { groupId, sessionTimeoutMs, rebalanceTimeoutMs, memberId, topics, owned };
  },

  encodeResponse(res) {
    const size = responsePrefixBytes(res) + 4 + stringBytes(res.memberId) + stringBytes(res.leaderId) + stringArrayBytes(res.members);
    const w = writeResponsePrefix(new ByteWriter(size), res).i32(res.generation).string(res.memberId).string(res.leaderId);
    writeStringArray(w, res.members);
    return [w.finish()];
  },

  decodeResponse(r: ByteReader) {
    const { errorCode, errorMessage } = readResponsePrefix(r);
    const generation = r.i32('generation');
    const memberId = r.string('memberId');
    const leaderId = r.string('leaderId');
    const members = readStringArray(r, 'members');
    r.expectEnd('JoinGroup response');
    return { errorCode, errorMessage, generation, memberId, leaderId, members };
  },

  errorResponse(errorCode, errorMessage) {
    return { errorCode, errorMessage, generation: -1, memberId: '', leaderId: '', members: [] };
  },
};
