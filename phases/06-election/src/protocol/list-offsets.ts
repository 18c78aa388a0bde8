/**
 * ListOffsets (api key 2), our version 1: where does a partition's log start, where does
 * it end? Version 1 (phase 3) names the topic and partition; version 0 asked about the
 * broker's one log.
 * A consumer asks this before its first fetch ("start from the beginning" or "only new
 * records"). The special timestamps are Kafka's: -2 means the earliest offset (log start
 * offset), -1 the latest (log end offset, the offset the next record will get). Looking
 * up a real timestamp needs a time index, which this course does not build; the broker
 * answers INVALID_REQUEST.
 *
 * Request body (v1):
 *
 * | bytes | field     | type   | notes                              |
 * | ----- | --------- | ------ | ---------------------------------- |
 * | 2+N   | topic     | string |                                    |
 * | 4     | partition | i32    |                                    |
 * | 8     | timestamp | i64    | -2 earliest, -1 latest             |
 *
 * Response body (v1, unchanged from v0):
 *
 * | bytes | field  | type | notes                                     |
 * | ----- | ------ | ---- | ----------------------------------------- |
 * | 2+2+N | errorCode, errorMessage |  | common prefix (api.ts)      |
 * | 8     | offset | i64  | the requested offset; -1 on error         |
 */
import { type ApiCodec, type ResponseBase, readResponsePrefix, responsePrefixBytes, writeResponsePrefix } from './api.ts';
import { type ByteReader, ByteWriter, stringBytes } from './bytes.ts';
import { ApiKey } from './header.ts';

/** Kafka's special ListOffsets timestamp for the log end offset. */
export const LATEST_TIMESTAMP = -1;
/** Kafka's special ListOffsets timestamp for the log start offset. */
export const EARLIEST_TIMESTAMP = -2;

/** A ListOffsets request. */
export interface ListOffsetsRequest {
  topic: string;
  partition: number;
  timestamp: number;
}

/** A ListOffsets response. */
export interface ListOffsetsResponse extends ResponseBase {
  offset: number;
}

/** ListOffsets v1 codec. */
export const ListOffsets: ApiCodec<ListOffsetsRequest, ListOffsetsResponse> = {
  apiKey: ApiKey.ListOffsets,
  name: 'ListOffsets',
  minVersion: 1,
  maxVersion: 1,

  encodeRequest(req) {
    return [new ByteWriter(stringBytes(req.topic) + 4 + 8).string(req.topic).i32(req.partition).i64(req.timestamp).finish()];
  },

  decodeRequest(r: ByteReader) {
    const topic = r.string('topic');
    const partition = r.i32('partition');
    const timestamp = r.i64('timestamp');
    r.expectEnd('ListOffsets request');
    return { topic, partition, timestamp };
  },

  encodeResponse(res) {
    const w = new ByteWriter(responsePrefixBytes(res) + 8);
    writeResponsePrefix(w, res).i64(res.offset);
    return [w.finish()];
  },

  decodeResponse(r: ByteReader) {
    const { errorCode, errorMessage } = readResponsePrefix(r);
    const offset = r.i64('offset');
    r.expectEnd('ListOffsets response');
    return { errorCode, errorMessage, offset };
  },

  errorResponse(errorCode, errorMessage) {
    return { errorCode, errorMessage, offset: -1 };
  },
};
