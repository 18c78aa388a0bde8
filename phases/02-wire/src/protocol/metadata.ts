/**
 * Metadata (api key 3), our version 0: which brokers exist and where to reach them. In
 * this phase there is one broker and one log, so the answer is a single entry; phase 3
 * adds topics and their partitions, and phase 5 more brokers. A client bootstraps from any
 * address it was given and then uses the advertised host and port, as Kafka clients do.
 *
 * Request body (v0): empty.
 *
 * Response body (v0):
 *
 * | bytes | field        | type   | notes                         |
 * | ----- | ------------ | ------ | ----------------------------- |
 * | 2+2+N | errorCode, errorMessage |  | common prefix (api.ts) |
 * | 4     | brokerCount  | i32    | >= 0                          |
 * |       | per broker:  |        |                               |
 * | 4     | nodeId       | i32    |                               |
 * | 2+N   | host         | string |                               |
 * | 4     | port         | i32    |                               |
 */
import { type ApiCodec, type ResponseBase, readResponsePrefix, responsePrefixBytes, writeResponsePrefix } from './api.ts';
import { type ByteReader, ByteWriter, stringBytes } from './bytes.ts';
import { ApiKey } from './header.ts';

/** A Metadata request (no fields in v0). */
export type MetadataRequest = Record<string, never>;

/** One broker's advertised address. */
export interface BrokerAddress {
  nodeId: number;
  host: string;
  port: number;
}

/** A Metadata response. */
export interface MetadataResponse extends ResponseBase {
  brokers: BrokerAddress[];
}

/** Smallest encoding of one broker entry (empty host). */
const BROKER_BYTES_MIN = 4 + 2 + 4;

/** Metadata v0 codec. */
export const Metadata: ApiCodec<MetadataRequest, MetadataResponse> = {
  apiKey: ApiKey.Metadata,
  name: 'Metadata',
  minVersion: 0,
  maxVersion: 0,

  encodeRequest() {
    return [];
  },

  decodeRequest(r: ByteReader) {
    r.expectEnd('Metadata request');
    return {};
  },

  encodeResponse(res) {
    let size = responsePrefixBytes(res) + 4;
    for (const b of res.brokers) size += 4 + stringBytes(b.host) + 4;
    const w = writeResponsePrefix(new ByteWriter(size), res).i32(res.brokers.length);
    for (const b of res.brokers) w.i32(b.nodeId).string(b.host).i32(b.port);
    return [w.finish()];
  },

  decodeResponse(r: ByteReader) {
    const { errorCode, errorMessage } = readResponsePrefix(r);
    const count = r.arrayCount('brokerCount', BROKER_BYTES_MIN);
    const brokers: BrokerAddress[] = [];
    for (let i = 0; i < count; i++) {
      const nodeId = r.i32('nodeId');
      const host = r.string('host');
      const port = r.i32('port');
      brokers.push({ nodeId, host, port });
    }
    r.expectEnd('Metadata response');
    return { errorCode, errorMessage, brokers };
  },

  errorResponse(errorCode, errorMessage) {
    return { errorCode, errorMessage, brokers: [] };
  },
};
