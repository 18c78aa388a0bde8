/**
 * Fetch (api key 1), our version 0: read stored batches from an offset. The broker returns
 * the batches as they sit on disk (the first one may start before the requested offset;
 * the client skips those records, as Kafka's consumers do). When the offset is the log end
 * offset there is nothing to return yet, and the broker holds the request for up to
 * `maxWaitMs` (a long poll), answering as soon as an append lands, so a consumer that is
 * caught up costs one request per `maxWaitMs` instead of a busy loop.
 *
 * Request body (v0):
 *
 * | bytes | field     | type | notes                                                         |
 * | ----- | --------- | ---- | ------------------------------------------------------------- |
 * | 8     | offset    | i64  | first offset wanted, in [logStartOffset, logEndOffset]        |
 * | 4     | maxBytes  | i32  | > 0; soft limit: at least one batch is returned if any exists |
 * | 4     | maxWaitMs | i32  | >= 0; long-poll time when nothing is there yet (capped)       |
 *
 * Response body (v0):
 *
 * | bytes | field          | type  | notes                                                  |
 * | ----- | -------------- | ----- | ------------------------------------------------------ |
 * | 2+2+N | errorCode, errorMessage |  | common prefix (api.ts)                           |
 * | 8     | highWatermark  | i64   | offset after the last readable record (= log end offset until phase 5); -1 if unknown |
 * | 8     | logStartOffset | i64   | first offset still stored; -1 if unknown               |
 * | 4     | length         | i32   | bytes of records, >= 0                                 |
 * | N     | records        | bytes | whole RecordBatch v2s, back to back, as stored         |
 */
import { type ApiCodec, type ResponseBase, readResponsePrefix, responsePrefixBytes, writeResponsePrefix } from './api.ts';
import { type ByteReader, ByteWriter } from './bytes.ts';
import { ApiKey, chunksBytes } from './header.ts';

/** A Fetch request. */
export interface FetchRequest {
  offset: number;
  maxBytes: number;
  maxWaitMs: number;
}

/** A Fetch response. */
export interface FetchResponse extends ResponseBase {
  highWatermark: number;
  logStartOffset: number;
  /** Stored batches; the broker sends one chunk per batch, a decoder returns one view. */
  records: readonly Buffer[];
}

/** Fetch v0 codec. */
export const Fetch: ApiCodec<FetchRequest, FetchResponse> = {
  apiKey: ApiKey.Fetch,
  name: 'Fetch',
  minVersion: 0,
  maxVersion: 0,

  encodeRequest(req) {
    return [new ByteWriter(8 + 4 + 4).i64(req.offset).i32(req.maxBytes).i32(req.maxWaitMs).finish()];
  },

  decodeRequest(r: ByteReader) {
    const offset = r.i64('offset');
    const maxBytes = r.i32('maxBytes');
    const maxWaitMs = r.i32('maxWaitMs');
    r.expectEnd('Fetch request');
    return { offset, maxBytes, maxWaitMs };
  },

  encodeResponse(res) {
    const w = new ByteWriter(responsePrefixBytes(res) + 8 + 8 + 4);
    writeResponsePrefix(w, res).i64(res.highWatermark).i64(res.logStartOffset).i32(chunksBytes(res.records));
    return [w.finish(), ...res.records];
  },

  decodeResponse(r: ByteReader) {
    const { errorCode, errorMessage } = readResponsePrefix(r);
    const highWatermark = r.i64('highWatermark');
    const logStartOffset = r.i64('logStartOffset');
    const records = r.bytes('records');
    r.expectEnd('Fetch response');
    return { errorCode, errorMessage, highWatermark, logStartOffset, records: records.length > 0 ? [records] : [] };
  },

  errorResponse(errorCode, errorMessage) {
    return { errorCode, errorMessage, highWatermark: -1, logStartOffset: -1, records: [] };
  },
};
