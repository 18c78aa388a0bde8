/**
 * LeaveGroup (api key 13), our version 0: "I am going away." Sent by
 * `consumer.disconnect()` after its final commit, so the group rebalances at once
 * instead of waiting a whole session timeout for the member's heartbeats to stop.
 *
 * Request body (v0):
 *
 * | bytes | field    | type   |
 * | ----- | -------- | ------ |
 * | 2+N   | groupId  | string |
 * | 2+N   | memberId | string |
 *
 * Response body (v0): the common prefix only (api.ts).
 */
import { type ApiCodec, type ResponseBase, decodeBareResponse, encodeBareResponse } from './api.ts';
import { type ByteReader, ByteWriter, stringBytes } from './bytes.ts';
import { ApiKey } from './header.ts';

/** A LeaveGroup request. */
export interface LeaveGroupRequest {
  groupId: string;
  memberId: string;
}

/** LeaveGroup v0 codec. */
export const LeaveGroup: ApiCodec<LeaveGroupRequest, ResponseBase> = {
  apiKey: ApiKey.LeaveGroup,
  name: 'LeaveGroup',
  minVersion: 0,
  maxVersion: 0,

  encodeRequest(req) {
    return [new ByteWriter(stringBytes(req.groupId) + stringBytes(req.memberId)).string(req.groupId).string(req.memberId).finish()];
  },

  decodeRequest(r: ByteReader) {
    const groupId = r.string('groupId');
    const memberId = r.string('memberId');
    r.expectEnd('LeaveGroup request');
    return { groupId, memberId };
  },

  encodeResponse: encodeBareResponse,
  decodeResponse: decodeBareResponse,

  errorResponse(errorCode, errorMessage) {
    return { errorCode, errorMessage };
  },
};
