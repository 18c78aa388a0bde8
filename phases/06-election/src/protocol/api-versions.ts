/**
 * ApiVersions (api key 18), version 0: which APIs, in which versions, this broker speaks.
 * A client sends it first on every connection and then only uses versions both sides
 * know, which is how Kafka lets brokers and clients of different releases talk: a later
 * phase adds an API (or Kafka's own Produce versions) and old clients keep working. Our
 * v0 body is Kafka's ApiVersions v0 plus our error message field.
 *
 * Request body (v0): empty.
 *
 * Response body (v0):
 *
 * | bytes | field      | type | notes                          |
 * | ----- | ---------- | ---- | ------------------------------ |
 * | 2+2+N | errorCode, errorMessage |  | common prefix (api.ts) |
 * | 4     | apiCount   | i32  | >= 0                           |
 * |       | per API:   |      |                                |
 * | 2     | apiKey     | i16  |                                |
 * | 2     | minVersion | i16  |                                |
 * | 2     | maxVersion | i16  |                                |
 */
import { type ApiCodec, type ResponseBase, readResponsePrefix, responsePrefixBytes, writeResponsePrefix } from './api.ts';
import { type ByteReader, ByteWriter } from './bytes.ts';
import { ApiKey } from './header.ts';

/** The versions of one API a broker supports. */
export interface ApiVersionRange {
  apiKey: number;
  minVersion: number;
  maxVersion: number;
}

/** An ApiVersions request (no fields in v0). */
export type ApiVersionsRequest = Record<string, never>;

/** An ApiVersions response. */
export interface ApiVersionsResponse extends ResponseBase {
  apis: ApiVersionRange[];
}

const API_BYTES = 2 + 2 + 2;

/** ApiVersions v0 codec. */
export const ApiVersions: ApiCodec<ApiVersionsRequest, ApiVersionsResponse> = {
  apiKey: ApiKey.ApiVersions,
  name: 'ApiVersions',
  minVersion: 0,
  maxVersion: 0,

  encodeRequest() {
    return [];
  },

  decodeRequest(r: ByteReader) {
    r.expectEnd('ApiVersions request');
    return {};
  },

  encodeResponse(res) {
    const w = new ByteWriter(responsePrefixBytes(res) + 4 + API_BYTES * res.apis.length);
    writeResponsePrefix(w, res).i32(res.apis.length);
    for (const a of res.apis) w.i16(a.apiKey).i16(a.minVersion).i16(a.maxVersion);
    return [w.finish()];
  },

  decodeResponse(r: ByteReader) {
    const { errorCode, errorMessage } = readResponsePrefix(r);
    const count = r.arrayCount('apiCount', API_BYTES);
    const apis: ApiVersionRange[] = [];
    for (let i = 0; i < count; i++) {
      const apiKey = r.i16('apiKey');
      const minVersion = r.i16('minVersion');
      const maxVersion = r.i16('maxVersion');
      apis.push({ apiKey, minVersion, maxVersion });
    }
    r.expectEnd('ApiVersions response');
    return { errorCode, errorMessage, apis };
  },

  errorResponse(errorCode, errorMessage) {
    return { errorCode, errorMessage, apis: [] };
  },
};
