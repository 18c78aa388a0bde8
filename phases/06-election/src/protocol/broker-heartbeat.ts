/**
 * BrokerHeartbeat (api key 63, Kafka's number; our version 0), phase 6: a registered
 * broker renews its lease every `heartbeatIntervalMs`. The controller fences a broker it
 * has not heard from for `sessionTimeoutMs`: it takes it out of every ISR and elects new
 * leaders for the partitions it led. The heartbeat also says how far the broker has read
 * the metadata log (`metadataOffset`): a fenced broker is unfenced only once it has read
 * up to its own registration, so it never serves with metadata older than itself.
 *
 * Request body (v0):
 *
 * | bytes | field          | type | notes                                              |
 * | ----- | -------------- | ---- | -------------------------------------------------- |
 * | 4     | brokerId       | i32  |                                                    |
 * | 8     | brokerEpoch    | i64  | from BrokerRegistration                            |
 * | 8     | metadataOffset | i64  | the next metadata-log offset this broker will read |
 *
 * Response body (v0):
 *
 * | bytes | field    | type | notes                                                    |
 * | ----- | -------- | ---- | -------------------------------------------------------- |
 * | 2+2+N | errorCode, errorMessage | | STALE_BROKER_EPOCH, BROKER_ID_NOT_REGISTERED: register again |
 * | 1     | isFenced | i8   | 1 while the controller keeps this broker fenced          |
 */
import { type ApiCodec, type ResponseBase, readResponsePrefix, responsePrefixBytes, writeResponsePrefix } from './api.ts';
import { type ByteReader, ByteWriter } from './bytes.ts';
import { ApiKey } from './header.ts';

/** A BrokerHeartbeat request. */
export interface BrokerHeartbeatRequest {
  brokerId: number;
  brokerEpoch: number;
  metadataOffset: number;
}

/** A BrokerHeartbeat response. */
export interface BrokerHeartbeatResponse extends ResponseBase {
  isFenced: boolean;
}

/** BrokerHeartbeat v0 codec. */
export const BrokerHeartbeat: ApiCodec<BrokerHeartbeatRequest, BrokerHeartbeatResponse> = {
  apiKey: ApiKey.BrokerHeartbeat,
  name: 'BrokerHeartbeat',
  minVersion: 0,
  maxVersion: 0,

  encodeRequest(req) {
    return [new ByteWriter(4 + 8 + 8).i32(req.brokerId).i64(req.brokerEpoch).i64(req.metadataOffset).finish()];
  },

  decodeRequest(r: ByteReader) {
    const brokerId = r.i32('brokerId');
    const brokerEpoch = r.i64('brokerEpoch');
    const metadataOffset = r.i64('metadataOffset');
    r.expectEnd('BrokerHeartbeat request');
    return { brokerId, brokerEpoch, metadataOffset };
  },

  encodeResponse(res) {
    return [writeResponsePrefix(new ByteWriter(responsePrefixBytes(res) + 1), res).i8(res.isFenced ? 1 : 0).finish()];
  },

  decodeResponse(r: ByteReader) {
    const { errorCode, errorMessage } = readResponsePrefix(r);
    const fenced = r.i8('isFenced');
    r.expectEnd('BrokerHeartbeat response');
    return { errorCode, errorMessage, isFenced: fenced !== 0 };
  },

  errorResponse(errorCode, errorMessage) {
    return { errorCode, errorMessage, isFenced: true };
  },
};
