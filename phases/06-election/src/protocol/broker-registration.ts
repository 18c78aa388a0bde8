/**
 * BrokerRegistration (api key 62, Kafka's number; our version 0), phase 6: a broker tells
 * the controller who it is and where clients reach it, and gets back its **broker epoch**,
 * the offset of its registration record in the controller's metadata log. Every later
 * heartbeat and ISR change carries that epoch, so a request from an older incarnation of
 * the same broker id (a process that was restarted, or a zombie) is refused with
 * STALE_BROKER_EPOCH. A broker registers fenced; its first heartbeat that shows it has
 * read the metadata log up to its own registration unfences it (KRaft does the same).
 *
 * Request body (v0):
 *
 * | bytes | field    | type   | notes                                 |
 * | ----- | -------- | ------ | ------------------------------------- |
 * | 4     | brokerId | i32    | >= 0                                  |
 * | 2+N   | host     | string | where clients connect                 |
 * | 4     | port     | i32    | in [1, 65535]                         |
 *
 * Response body (v0):
 *
 * | bytes | field       | type | notes                                             |
 * | ----- | ----------- | ---- | ------------------------------------------------- |
 * | 2+2+N | errorCode, errorMessage | | common prefix (api.ts)                    |
 * | 8     | brokerEpoch | i64  | the registration record's offset; -1 on error     |
 */
import { type ApiCodec, type ResponseBase, readResponsePrefix, responsePrefixBytes, writeResponsePrefix } from './api.ts';
import { type ByteReader, ByteWriter, stringBytes } from './bytes.ts';
import { ApiKey } from './header.ts';

/** A BrokerRegistration request. */
export interface BrokerRegistrationRequest {
  brokerId: number;
  host: string;
  port: number;
}

/** A BrokerRegistration response. */
export interface BrokerRegistrationResponse extends ResponseBase {
  brokerEpoch: number;
}

/** BrokerRegistration v0 codec. */
export const BrokerRegistration: ApiCodec<BrokerRegistrationRequest, BrokerRegistrationResponse> = {
  apiKey: ApiKey.BrokerRegistration,
  name: 'BrokerRegistration',
  minVersion: 0,
  maxVersion: 0,

  encodeRequest(req) {
    return [new ByteWriter(4 + stringBytes(req.host) + 4).i32(req.brokerId).string(req.host).i32(req.port).finish()];
  },

  decodeRequest(r: ByteReader) {
    const brokerId = r.i32('brokerId');
    const host = r.string('host');
    const port = r.i32('port');
    r.expectEnd('BrokerRegistration request');
    return { brokerId, host, port };
  },

  encodeResponse(res) {
    return [writeResponsePrefix(new ByteWriter(responsePrefixBytes(res) + 8), res).i64(res.brokerEpoch).finish()];
  },

  decodeResponse(r: ByteReader) {
    const { errorCode, errorMessage } = readResponsePrefix(r);
    const brokerEpoch = r.i64('brokerEpoch');
    r.expectEnd('BrokerRegistration response');
    return { errorCode, errorMessage, brokerEpoch };
  },

  errorResponse(errorCode, errorMessage) {
    return { errorCode, errorMessage, brokerEpoch: -1 };
  },
};
