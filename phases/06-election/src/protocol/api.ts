/**
 * What every API's codec looks like, and the two fields every response body starts with.
 * Each API (Produce, Fetch, ...) lives in its own file with its byte layout in the header
 * comment and exports one `ApiCodec`: encoders return a list of chunks (so record batches
 * travel without being copied), decoders read from a bounds-checked `ByteReader` and end
 * with `expectEnd`, so trailing bytes are an error.
 *
 * Common response prefix (every response body, every API):
 *
 * | bytes | field        | type            | notes                                  |
 * | ----- | ------------ | --------------- | -------------------------------------- |
 * | 2     | errorCode    | i16             | 0 = NONE, Kafka's numbers (errors.ts)  |
 * | 2+N   | errorMessage | nullable string | human-readable detail; null on success |
 *
 * Because the prefix is shared, a response to a request the broker could not route (an
 * unknown api key) can be just the prefix, and any client can still read what went wrong.
 */
import { ByteReader, ByteWriter, stringBytes } from './bytes.ts';

/** Fields every response carries first. */
export interface ResponseBase {
  errorCode: number;
  errorMessage: string | null;
}

/** Encoder/decoder pair for one API (one key; this phase speaks only version 0 of each). */
export interface ApiCodec<Req, Res extends ResponseBase> {
  readonly apiKey: number;
  readonly name: string;
  readonly minVersion: number;
  readonly maxVersion: number;
  encodeRequest(req: Req): Buffer[];
  decodeRequest(r: ByteReader): Req;
  encodeResponse(res: Res): Buffer[];
  decodeResponse(r: ByteReader): Res;
  /** A complete response carrying only an error (other fields at their "unknown" values). */
  errorResponse(errorCode: number, errorMessage: string | null): Res;
}

/** Bytes taken by the common response prefix. */
export function responsePrefixBytes(res: ResponseBase): number {
  return 2 + stringBytes(res.errorMessage);
}

/** Write the common response prefix. */
export function writeResponsePrefix(w: ByteWriter, res: ResponseBase): ByteWriter {
  return w.i16(res.errorCode).nullableString(res.errorMessage);
}

/** Read the common response prefix. */
export function readResponsePrefix(r: ByteReader): ResponseBase {
  const errorCode = r.i16('errorCode');
  const errorMessage = r.nullableString('errorMessage');
  return { errorCode, errorMessage };
}

/** Encode a body that is only the common prefix (the answer to an unknown api key). */
export function encodeBareResponse(res: ResponseBase): Buffer[] {
  return [writeResponsePrefix(new ByteWriter(responsePrefixBytes(res)), res).finish()];
}

/** Decode a body that is only the common prefix. */
export function decodeBareResponse(r: ByteReader): ResponseBase {
  const res = readResponsePrefix(r);
  r.expectEnd('bare error response');
  return res;
}
