/**
 * Framing and headers, exactly Kafka's (request header v1, response header v0). A TCP
 * connection is a byte stream with no message boundaries, so every message is a *frame*:
 * an i32 size followed by that many bytes. A request frame starts with a header naming
 * the API, its version, a correlation id chosen by the client and the client's id; the
 * response frame starts with the same correlation id, which is how a client that sent
 * several requests before reading any answer (pipelining) pairs answers with requests.
 *
 * Request frame:
 *
 * | bytes | field          | type            | notes                                   |
 * | ----- | -------------- | --------------- | --------------------------------------- |
 * | 4     | size           | i32             | bytes after this field                  |
 * | 2     | apiKey         | i16             | 0 Produce, 1 Fetch, 2 ListOffsets, ...  |
 * | 2     | apiVersion     | i16             | version of the body layout              |
 * | 4     | correlationId  | i32             | echoed in the response                  |
 * | 2+N   | clientId       | nullable string | for logs; -1 = null; UTF-8 (else INVALID_REQUEST) |
 * | ...   | body           |                 | see the API's file                      |
 *
 * Response frame:
 *
 * | bytes | field          | type | notes                                                |
 * | ----- | -------------- | ---- | ---------------------------------------------------- |
 * | 4     | size           | i32  | bytes after this field                               |
 * | 4     | correlationId  | i32  | the request's                                        |
 * | ...   | body           |      | every body starts with errorCode i16, errorMessage  |
 */
import { ByteReader, ByteWriter, stringBytes } from './bytes.ts';

/** Kafka's API key numbers for the APIs this phase serves. */
export const ApiKey = {
  Produce: 0,
  Fetch: 1,
  ListOffsets: 2,
  Metadata: 3,
  OffsetCommit: 8,
  OffsetFetch: 9,
  FindCoordinator: 10,
  JoinGroup: 11,
  Heartbeat: 12,
  LeaveGroup: 13,
  SyncGroup: 14,
  DescribeGroups: 15,
  ListGroups: 16,
  ApiVersions: 18,
  CreateTopics: 19,
  /** Phase 6: a follower asks the leader where a leader epoch ends (KIP-101), to truncate to it. */
  OffsetForLeaderEpoch: 23,
  /** Phase 6: a leader proposes an ISR change to the controller. */
  AlterPartition: 56,
  /** Phase 6: a broker announces itself to the controller and gets its broker epoch. */
  BrokerRegistration: 62,
  /** Phase 6: a broker's lease on its registration, renewed every heartbeat interval. */
  BrokerHeartbeat: 63,
} as const;

/** Bytes of the size prefix in front of every frame. */
export const FRAME_SIZE_BYTES = 4;
/** Smallest request frame body: apiKey + apiVersion + correlationId + null clientId. */
export const REQUEST_HEADER_BYTES_MIN = 2 + 2 + 4 + 2;

/** The request header (Kafka's request header v1). */
export interface RequestHeader {
  apiKey: number;
  apiVersion: number;
  correlationId: number;
  clientId: string | null;
  /**
   * Set by `decodeRequestHeader` when the client id's bytes are not UTF-8 (`clientId` is
   * then null): the request is still answered, with its API's INVALID_REQUEST response.
   */
  clientIdProblem?: string;
}

/**
 * Encode a request frame: size prefix and header in one small buffer, followed by the body
 * chunks as they are (a produce request's record batches are not copied).
 * @example
 * socket.write(Buffer.concat(encodeRequestFrame({ apiKey: 18, apiVersion: 0, correlationId: 1, clientId: 'cli' }, [])));
 */
export function encodeRequestFrame(header: RequestHeader, body: readonly Buffer[]): Buffer[] {
  const headerBytes = REQUEST_HEADER_BYTES_MIN - 2 + stringBytes(header.clientId);
  const size = headerBytes + chunksBytes(body);
  const prefix = new ByteWriter(FRAME_SIZE_BYTES + headerBytes)
    .i32(size)
    .i16(header.apiKey)
    .i16(header.apiVersion)
    .i32(header.correlationId)
    .nullableString(header.clientId)
    .finish();
  return [prefix, ...body];
}

/**
 * Decode the header at the start of a request frame (the frame without its size prefix).
 * A client id that is not UTF-8 does not make the header undecodable (the request has
 * a correlation id and can be answered): it comes back as `clientIdProblem`.
 */
export function decodeRequestHeader(r: ByteReader): RequestHeader {
  const apiKey = r.i16('apiKey');
  const apiVersion = r.i16('apiVersion');
  const correlationId = r.i32('correlationId');
  let clientIdProblem: string | undefined;
  const clientId = r.nullableString('clientId', (problem) => {
    clientIdProblem = problem;
  });
  return clientIdProblem === undefined ? { apiKey, apiVersion, correlationId, clientId } : { apiKey, apiVersion, correlationId, clientId, clientIdProblem };
}

/** Encode a response frame: size prefix and correlation id, then the body chunks. */
export function encodeResponseFrame(correlationId: number, body: readonly Buffer[]): Buffer[] {
  const prefix = new ByteWriter(FRAME_SIZE_BYTES + 4).i32(4 + chunksBytes(body)).i32(correlationId).finish();
  return [prefix, ...body];
}

/** Decode the correlation id at the start of a response frame (without its size prefix). */
export function decodeResponseHeader(r: ByteReader): number {
  return r.i32('correlationId');
}

/** Total length of a list of chunks. */
export function chunksBytes(chunks: readonly Buffer[]): number {
  let n = 0;
  for (const c of chunks) n += c.length;
  return n;
}
