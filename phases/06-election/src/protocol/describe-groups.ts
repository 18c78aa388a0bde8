/**
 * DescribeGroups (api key 15), our version 0: one group in detail, for
 * `describe-group`: state, generation, members with their assignments, and per
 * partition the committed offset and the log end offset, whose difference is the lag
 * (how many records the group has yet to process). Kafka's DescribeGroups takes a list
 * of groups and leaves offsets to OffsetFetch; ours answers the learner's question in
 * one round trip.
 *
 * Request body (v0):
 *
 * | bytes | field   | type   |
 * | ----- | ------- | ------ |
 * | 2+N   | groupId | string |
 *
 * Response body (v0):
 *
 * | bytes | field          | type           | notes                                |
 * | ----- | -------------- | -------------- | ------------------------------------ |
 * | 2+2+N | errorCode, errorMessage |       | common prefix; 69 = no such group    |
 * | 2+N   | state          | string         |                                      |
 * | 4     | generation     | i32            |                                      |
 * | 2+N   | leaderId       | string         |                                      |
 * | 4     | memberCount    | i32            |                                      |
 * |       | per member:    |                |                                      |
 * | 2+N   | memberId       | string         |                                      |
 * | 2+N   | clientId       | string         |                                      |
 * | ...   | assignment     | partition list | group-fields.ts                      |
 * | 4     | partitionCount | i32            |                                      |
 * |       | per partition: |                |                                      |
 * | 2+N   | topic          | string         |                                      |
 * | 4     | partition      | i32            |                                      |
 * | 8     | committed      | i64            | -1 = nothing committed               |
 * | 8     | logEndOffset   | i64            | -1 = unknown                         |
 */
import { type ApiCodec, type ResponseBase, readResponsePrefix, responsePrefixBytes, writeResponsePrefix } from './api.ts';
import { type ByteReader, ByteWriter, stringBytes } from './bytes.ts';
import { partitionListBytes, readPartitionList, writePartitionList } from './group-fields.ts';
import { ApiKey } from './header.ts';
import type { TopicPartition } from '../topics/partition.ts';

/** A DescribeGroups request. */
export interface DescribeGroupsRequest {
  groupId: string;
}

/** One member of a described group. */
export interface DescribedMember {
  memberId: string;
  clientId: string;
  assignment: TopicPartition[];
}

/** Progress of the group on one partition. */
export interface PartitionProgress {
  topic: string;
  partition: number;
  committed: number;
  logEndOffset: number;
}

/** A DescribeGroups response. */
export interface DescribeGroupsResponse extends ResponseBase {
  state: string;
  generation: number;
  leaderId: string;
  members: DescribedMember[];
  partitions: PartitionProgress[];
}

/** DescribeGroups v0 codec. */
export const DescribeGroups: ApiCodec<DescribeGroupsRequest, DescribeGroupsResponse> = {
  apiKey: ApiKey.DescribeGroups,
  name: 'DescribeGroups',
  minVersion: 0,
  maxVersion: 0,

  encodeRequest(req) {
    return [new ByteWriter(stringBytes(req.groupId)).string(req.groupId).finish()];
  },

  decodeRequest(r: ByteReader) {
    const groupId = r.string('groupId');
    r.expectEnd('DescribeGroups request');
    return { groupId };
  },

  encodeResponse(res) {
    let size = responsePrefixBytes(res) + stringBytes(res.state) + 4 + stringBytes(res.leaderId) + 4 + 4;
    for (const m of res.members) size += stringBytes(m.memberId) + stringBytes(m.clientId) + partitionListBytes(m.assignment);
    for (const p of res.partitions) size += stringBytes(p.topic) + 4 + 8 + 8;
    const w = writeResponsePrefix(new ByteWriter(size), res).string(res.state).i32(res.generation).string(res.leaderId).i32(res.members.length);
    for (const m of res.members) writePartitionList(w.string(m.memberId).string(m.clientId), m.assignment);
    w.i32(res.partitions.length);
    for (const p of res.partitions) w.string(p.topic).i32(p.partition).i64(p.committed).i64(p.logEndOffset);
    return [w.finish()];
  },

  decodeResponse(r: ByteReader) {
    const { errorCode, errorMessage } = readResponsePrefix(r);
    const state = r.string('state');
    const generation = r.i32('generation');
    const leaderId = r.string('leaderId');
    const memberCount = r.arrayCount('memberCount', 2 + 2 + 4);
    const members: DescribedMember[] = [];
    for (let i = 0; i < memberCount; i++) {
      const memberId = r.string('memberId');
      const clientId = r.string('clientId');
      members.push({ memberId, clientId, assignment: readPartitionList(r, 'assignment') });
    }
    const partitionCount = r.arrayCount('partitionCount', 2 + 4 + 8 + 8);
    const partitions: PartitionProgress[] = [];
    for (let i = 0; i < partitionCount; i++) {
      const topic = r.string('topic');
      const partition = r.i32('partition');
      const committed = r.i64('committed');
      const logEndOffset = r.i64('logEndOffset');
      partitions.push({ topic, partition, committed, logEndOffset });
    }
    r.expectEnd('DescribeGroups response');
    return { errorCode, errorMessage, state, generation, leaderId, members, partitions };
  },

  errorResponse(errorCode, errorMessage) {
    return { errorCode, errorMessage, state: 'Dead', generation: -1, leaderId: '', members: [], partitions: [] };
  },
};
