/**
 * FindCoordinator (api key 10), our version 0: which broker coordinates this group? A
 * group consumer asks first and then sends every group request (join, sync, heartbeat,
 * leave, commit, fetch offsets) to that broker. Kafka hashes the group id to a
 * `__consumer_offsets` partition and answers with that partition's leader; with one
 * broker the answer is always the broker asked, but the client already follows the
 * answer, so phase 5's cluster needs no client change.
 *
 * Request body (v0):
 *
 * | bytes | field   | type   | notes        |
 * | ----- | ------- | ------ | ------------ |
 * | 2+N   | groupId | string | non-empty    |
 *
 * Response body (v0):
 *
 * | bytes | field   | type   | notes                              |
 * | ----- | ------- | ------ | ---------------------------------- |
 * | 2+2+N | errorCode, errorMessage |  | common prefix (api.ts) |
 * | 4     | nodeId  | i32    | -1 on error                        |
 * | 2+N   | host    | string | '' on error                        |
 * | 4     | port    | i32    | -1 on error                        |
 */
import { type ApiCodec, type ResponseBase, readResponsePrefix, responsePrefixBytes, writeResponsePrefix } from './api.ts';
import { type ByteReader, ByteWriter, stringBytes } from './bytes.ts';
import { ApiKey } from './header.ts';

/** A FindCoordinator request. */
export interface FindCoordinatorRequest {
  groupId: string;
}

/** A FindCoordinator response: the coordinator's advertised address. */
export interface FindCoordinatorResponse extends ResponseBase {
  nodeId: number;
  host: string;
  port: number;
}

/** FindCoordinator v0 codec. */
export const FindCoordinator: ApiCodec<FindCoordinatorRequest, FindCoordinatorResponse> = {
  apiKey: ApiKey.FindCoordinator,
  name: 'FindCoordinator',
  minVersion: 0,
  maxVersion: 0,

  encodeRequest(req) {
    return [new ByteWriter(stringBytes(req.groupId)).string(req.groupId).finish()];
  },

  decodeRequest(r: ByteReader) {
    const groupId = r.string('groupId');
    r.expectEnd('FindCoordinator request');
    return { groupId };
  },

  encodeResponse(res) {
    const w = new ByteWriter(responsePrefixBytes(res) + 4 + stringBytes(res.host) + 4);
    writeResponsePrefix(w, res).i32(res.nodeId).string(res.host).i32(res.port);
    return [w.finish()];
  },

  decodeResponse(r: ByteReader) {
    const { errorCode, errorMessage } = readResponsePrefix(r);
    const nodeId = r.i32('nodeId');
    const host = r.string('host');
    const port = r.i32('port');
    r.expectEnd('FindCoordinator response');
    return { errorCode, errorMessage, nodeId, host, port };
  },

  errorResponse(errorCode, errorMessage) {
    return { errorCode, errorMessage, nodeId: -1, host: '', port: -1 };
  },
};
