/**
 * Heartbeat (api key 12), our version 0: "I am alive, in this generation." Sent every
 * `heartbeatIntervalMs` by the group consumer on its coordinator connection. A member
 * not heard from for its session timeout is removed and its partitions reassigned. The
 * answer is also how a member learns that the group is rebalancing: REBALANCE_IN_PROGRESS
 * (27) means "rejoin", ILLEGAL_GENERATION (22) and UNKNOWN_MEMBER_ID (25) mean "you were
 * left behind" (the member has been fenced and must rejoin; its uncommitted work is
 * redone by whoever owns the partitions now).
 *
 * Request body (v0): as SyncGroup's.
 *
 * | bytes | field      | type   |
 * | ----- | ---------- | ------ |
 * | 2+N   | groupId    | string |
 * | 4     | generation | i32    |
 * | 2+N   | memberId   | string |
 *
 * Response body (v0): the common prefix only (api.ts).
 */
import { type ApiCodec, type ResponseBase, decodeBareResponse, encodeBareResponse } from './api.ts';
import { type ByteReader, ByteWriter } from './bytes.ts';
import { ApiKey } from './header.ts';
import { type SyncGroupRequest, memberRequestBytes } from './sync-group.ts';

/** A Heartbeat request. */
export type HeartbeatRequest = SyncGroupRequest;

/** Heartbeat v0 codec. */
export const Heartbeat: ApiCodec<HeartbeatRequest, ResponseBase> = {
  apiKey: ApiKey.Heartbeat,
  name: 'Heartbeat',
  minVersion: 0,
  maxVersion: 0,

  encodeRequest(req) {
    return [new ByteWriter(memberRequestBytes(req)).string(req.groupId).i32(req.generation).string(req.memberId).finish()];
  },

  decodeRequest(r: ByteReader) {
    const groupId = r.string('groupId');
    const generation = r.i32('generation');
    const memberId = r.string('memberId');
    r.expectEnd('Heartbeat request');
    return { groupId, generation, memberId };
  },

  encodeResponse: encodeBareResponse,
  decodeResponse: decodeBareResponse,

  errorResponse(errorCode, errorMessage) {
    return { errorCode, errorMessage };
  },
};
