/**
 * ListGroups (api key 16), our version 0: every group this coordinator knows (with
 * members now, or with committed offsets or a recorded generation from before).
 *
 * Request body (v0): empty.
 *
 * Response body (v0):
 *
 * | bytes | field      | type   | notes                                        |
 * | ----- | ---------- | ------ | -------------------------------------------- |
 * | 2+2+N | errorCode, errorMessage |  | common prefix (api.ts)                   |
 * | 4     | count      | i32    |                                              |
 * |       | per group: |        |                                              |
 * | 2+N   | groupId    | string |                                              |
 * | 2+N   | state      | string | Empty, PreparingRebalance, CompletingRebalance, Stable |
 * | 4     | members    | i32    |                                              |
 */
import { type ApiCodec, type ResponseBase, readResponsePrefix, responsePrefixBytes, writeResponsePrefix } from './api.ts';
import { type ByteReader, ByteWriter, stringBytes } from './bytes.ts';
import { ApiKey } from './header.ts';

/** One group in the listing. */
export interface ListedGroup {
  groupId: string;
  state: string;
  members: number;
}

/** A ListGroups response. */
export interface ListGroupsResponse extends ResponseBase {
  groups: ListedGroup[];
}

/** ListGroups v0 codec. */
export const ListGroups: ApiCodec<Record<string, never>, ListGroupsResponse> = {
  apiKey: ApiKey.ListGroups,
  name: 'ListGroups',
  minVersion: 0,
  maxVersion: 0,

  encodeRequest() {
    return [];
  },

  decodeRequest(r: ByteReader) {
    r.expectEnd('ListGroups request');
    return {};
  },

  encodeResponse(res) {
    let size = responsePrefixBytes(res) + 4;
    for (const g of res.groups) size += stringBytes(g.groupId) + stringBytes(g.state) + 4;
    const w = writeResponsePrefix(new ByteWriter(size), res).i32(res.groups.length);
    for (const g of res.groups) w.string(g.groupId).string(g.state).i32(g.members);
    return [w.finish()];
  },

  decodeResponse(r: ByteReader) {
    const { errorCode, errorMessage } = readResponsePrefix(r);
    const count = r.arrayCount('count', 2 + 2 + 4);
    const groups: ListedGroup[] = [];
    for (let i = 0; i < count; i++) {
      const groupId = r.string('groupId');
      const state = r.string('state');
      const members = r.i32('members');
      groups.push({ groupId, state, members });
    }
    r.expectEnd('ListGroups response');
    return { errorCode, errorMessage, groups };
  },

  errorResponse(errorCode, errorMessage) {
    return { errorCode, errorMessage, groups: [] };
  },
};
