/**
 * The broker's request handlers: decoded request in, response out, no sockets in sight.
 * `RequestHandler.handle` routes a request by api key, decodes its body (a malformed body
 * becomes an INVALID_REQUEST response, the connection lives on), runs the API against the
 * log and encodes the answer. It never rejects: every failure is a response with an error
 * code (server/error-codes.ts).
 *
 * Ordering obligations, written where they are kept:
 * - Produce calls `Log.appendBatch` synchronously, before its first `await`, for every
 *   batch of the request. The connection dispatches requests in the order they arrived,
 *   and the log appends in call order, so pipelined produce requests get ascending offsets
 *   and the batches of one request get contiguous ones.
 * - Produce answers only after `appendBatch` resolved, which is after fsync: an
 *   acknowledged record survives a crash. Long-polling fetches are woken only then too.
 *
 * What a produced batch may carry: the broker owns the partition leader epoch (stamped
 * -1, Kafka's "unset", until phase 6 has leaders with epochs), and refuses a batch that
 * sets a producer id, epoch or sequence (phase 8's idempotent producer) or the
 * LogAppendTime timestamp type with INVALID_RECORD (87), the code Kafka's broker uses for
 * a batch that breaks one of its rules; the log itself (phase 1) stores whatever intact
 * batch it is given, so this is checked here, where client bytes come in.
 */
import type { Clock } from '../seams/clock.ts';
import { InvalidRecordError, OffsetOutOfRangeError, RecordTooLargeError } from '../log/errors.ts';
import type { Log } from '../log/log.ts';
import {
  NO_PARTITION_LEADER_EPOCH,
  NO_PRODUCER_EPOCH,
  NO_PRODUCER_ID,
  NO_SEQUENCE,
  readBatchHeader,
  stampPartitionLeaderEpoch,
  validateBatch,
  verifyBatchCrc,
} from '../log/record-batch.ts';
import { type ApiCodec, type ResponseBase, encodeBareResponse } from '../protocol/api.ts';
import { ApiVersions, type ApiVersionsResponse } from '../protocol/api-versions.ts';
import { apiByKey, supportedVersions } from '../protocol/apis.ts';
import type { ByteReader } from '../protocol/bytes.ts';
import { ErrorCode } from '../protocol/errors.ts';
import { Fetch, type FetchRequest, type FetchResponse } from '../protocol/fetch.ts';
import { ApiKey, type RequestHeader } from '../protocol/header.ts';
import { EARLIEST_TIMESTAMP, LATEST_TIMESTAMP, ListOffsets, type ListOffsetsRequest, type ListOffsetsResponse } from '../protocol/list-offsets.ts';
import { Metadata, type MetadataResponse } from '../protocol/metadata.ts';
import { Produce, type ProduceRequest, type ProduceResponse } from '../protocol/produce.ts';
import { splitBatches } from '../protocol/records.ts';
import { AppendNotifier } from './append-notifier.ts';
import { errorCodeFor, errorMessageFor } from './error-codes.ts';

/** What the handlers need from the broker around them. */
export interface HandlerOptions {
  /** Cap on a Fetch's long-poll wait. */
  fetchWaitMsMax: number;
  /** Cap on the bytes one Fetch reads, whatever the client asks for. */
  fetchBytesMax: number;
  /** Address announced in Metadata. */
  advertisedHost: string;
  advertisedPort: number;
  /** Where unexpected errors (bugs) are reported. */
  logger: (line: string) => void;
}

/** An encoded response body, now or later. */
export type ResponseBody = Buffer[] | Promise<Buffer[]>;

/**
 * Runs requests against one log.
 * @example
 * const handler = new RequestHandler(log, realClock, { fetchWaitMsMax: 30_000, fetchBytesMax: 8 << 20, advertisedHost: '127.0.0.1', advertisedPort: 9092, logger: console.error });
 * const body = await handler.handle(header, reader);
 */
export class RequestHandler {
  readonly #log: Log;
  readonly #options: HandlerOptions;
  readonly #appends: AppendNotifier;
  #shuttingDown = false;

  constructor(log: Log, clock: Clock, options: HandlerOptions) {
    this.#log = log;
    this.#options = options;
    this.#appends = new AppendNotifier(clock);
  }

  /** Long-polling fetches currently parked (for tests and the demo). */
  get parkedFetches(): number {
    return this.#appends.size;
  }

  /** Stop taking writes and answer every parked fetch now. */
  beginShutdown(): void {
    this.#shuttingDown = true;
    this.#appends.notifyAll();
  }

  /**
   * Handle one request whose header is decoded; `body` is positioned at the request body
   * and ends at the end of the frame. Resolves to the encoded response body; never rejects.
   */
  handle(header: RequestHeader, body: ByteReader): ResponseBody {
    const api = apiByKey(header.apiKey);
    if (api === undefined) {
      return encodeBareResponse({
        errorCode: ErrorCode.INVALID_REQUEST,
        errorMessage: `unknown api key ${header.apiKey}; ApiVersions lists the supported ones`,
      });
    }
    if (header.apiVersion < api.minVersion || header.apiVersion > api.maxVersion) {
      const message = `${api.name} v${header.apiVersion} is not supported (versions ${api.minVersion}-${api.maxVersion})`;
      // Like Kafka, an unsupported ApiVersions request still gets the list, so the client can pick a version.
      if (api.apiKey === ApiKey.ApiVersions) return ApiVersions.encodeResponse(this.#apiVersions(ErrorCode.UNSUPPORTED_VERSION, message));
      return api.encodeResponse(api.errorResponse(ErrorCode.UNSUPPORTED_VERSION, message));
    }
    // Answered like any other malformed field: the request's own error response.
    if (header.clientIdProblem !== undefined) return api.encodeResponse(api.errorResponse(ErrorCode.INVALID_REQUEST, header.clientIdProblem));
    switch (header.apiKey) {
      case ApiKey.Produce:
        return this.#run(Produce, body, (req) => this.#produce(req));
      case ApiKey.Fetch:
        return this.#run(Fetch, body, (req) => this.#fetch(req));
      case ApiKey.ListOffsets:
        return this.#run(ListOffsets, body, (req) => this.#listOffsets(req));
      case ApiKey.Metadata:
        return this.#run(Metadata, body, () => this.#metadata());
      case ApiKey.ApiVersions:
        return this.#run(ApiVersions, body, () => this.#apiVersions(ErrorCode.NONE, null));
      default:
        return encodeBareResponse({ errorCode: ErrorCode.UNKNOWN_SERVER_ERROR, errorMessage: `${api.name} has no handler` });
    }
  }

  /** Decode, run, encode; turn every exception into an error response of the same API. */
  #run<Req, Res extends ResponseBase>(api: ApiCodec<Req, Res>, body: ByteReader, run: (req: Req) => Res | Promise<Res>): ResponseBody {
    const fail = (err: unknown): Buffer[] => {
      const errorCode = errorCodeFor(err);
      if (errorCode === ErrorCode.UNKNOWN_SERVER_ERROR) {
        this.#options.logger(`${api.name} failed unexpectedly: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
      }
      return api.encodeResponse(api.errorResponse(errorCode, errorMessageFor(err)));
    };
    let result: Res | Promise<Res>;
    try {
      result = run(api.decodeRequest(body));
    } catch (err) {
      return fail(err);
    }
    if (result instanceof Promise) return result.then((res) => api.encodeResponse(res), fail);
    return api.encodeResponse(result);
  }

  // #region produce
  #produce(req: ProduceRequest): ProduceResponse | Promise<ProduceResponse> {
    if (req.acks !== -1 && req.acks !== 1) {
      return Produce.errorResponse(ErrorCode.INVALID_REQUIRED_ACKS, `acks must be -1 or 1, got ${req.acks}`);
    }
    if (req.timeoutMs < 0) return Produce.errorResponse(ErrorCode.INVALID_REQUEST, `timeoutMs must be >= 0, got ${req.timeoutMs}`);
    if (this.#shuttingDown) return Produce.errorResponse(ErrorCode.BROKER_NOT_AVAILABLE, 'broker is shutting down');
    const batches: Buffer[] = [];
    for (const chunk of req.records) for (const batch of splitBatches(chunk)) batches.push(batch);
    if (batches.length === 0) return Produce.errorResponse(ErrorCode.INVALID_REQUEST, 'Produce request carries no record batch');
    // `appendBatch` checks size, structure and CRC itself. With several batches, check them all
    // first, so a request with one bad batch appends none of them; and every batch for the
    // fields only the broker may set, before any is appended.
    for (const batch of batches) {
      if (batches.length > 1) {
        if (batch.length > this.#log.config.batchBytesMax) throw new RecordTooLargeError(batch.length, this.#log.config.batchBytesMax);
        validateBatch(batch);
      }
      takeBrokerOwnedFields(batch);
    }
    const appends = batches.map((batch) => this.#log.appendBatch(batch));
    return this.#acknowledge(appends);
  }

  async #acknowledge(appends: Promise<{ baseOffset: number; lastOffset: number }>[]): Promise<ProduceResponse> {
    try {
      const results = await Promise.all(appends);
      const first = results[0];
      const last = results[results.length - 1];
      if (first === undefined || last === undefined) throw new Error('acknowledge: no appends');
      return {
        errorCode: ErrorCode.NONE,
        errorMessage: null,
        baseOffset: first.baseOffset,
        lastOffset: last.lastOffset,
        logStartOffset: this.#log.logStartOffset,
      };
    } finally {
      this.#appends.notifyAll();
    }
  }
  // #endregion produce

  #fetch(req: FetchRequest): FetchResponse | Promise<FetchResponse> {
    if (req.maxBytes <= 0) return Fetch.errorResponse(ErrorCode.INVALID_REQUEST, `maxBytes must be > 0, got ${req.maxBytes}`);
    if (req.maxWaitMs < 0) return Fetch.errorResponse(ErrorCode.INVALID_REQUEST, `maxWaitMs must be >= 0, got ${req.maxWaitMs}`);
    const waitMs = Math.min(req.maxWaitMs, this.#options.fetchWaitMsMax);
    if (req.offset === this.#log.logEndOffset && waitMs > 0 && !this.#shuttingDown) {
      return this.#appends.wait(waitMs).then(() => this.#read(req));
    }
    return this.#read(req);
  }

  async #read(req: FetchRequest): Promise<FetchResponse> {
    try {
      // The client's maxBytes is untrusted: without the cap, one request could make the
      // broker read up to 2 GiB into memory.
      const records = await this.#log.read(req.offset, Math.min(req.maxBytes, this.#options.fetchBytesMax));
      return {
        errorCode: ErrorCode.NONE,
        errorMessage: null,
        highWatermark: this.#log.logEndOffset,
        logStartOffset: this.#log.logStartOffset,
        records,
      };
    } catch (err) {
      if (!(err instanceof OffsetOutOfRangeError)) throw err;
      // Tell the consumer where the log is, so it can reset its position without another request.
      return {
        ...Fetch.errorResponse(ErrorCode.OFFSET_OUT_OF_RANGE, errorMessageFor(err)),
        highWatermark: this.#log.logEndOffset,
        logStartOffset: this.#log.logStartOffset,
      };
    }
  }

  #listOffsets(req: ListOffsetsRequest): ListOffsetsResponse {
    if (req.timestamp === EARLIEST_TIMESTAMP) return { errorCode: ErrorCode.NONE, errorMessage: null, offset: this.#log.logStartOffset };
    if (req.timestamp === LATEST_TIMESTAMP) return { errorCode: ErrorCode.NONE, errorMessage: null, offset: this.#log.logEndOffset };
    return ListOffsets.errorResponse(
      ErrorCode.INVALID_REQUEST,
      `timestamp ${req.timestamp}: only ${EARLIEST_TIMESTAMP} (earliest) and ${LATEST_TIMESTAMP} (latest) are supported`,
    );
  }

  #metadata(): MetadataResponse {
    const { advertisedHost: host, advertisedPort: port } = this.#options;
    return { errorCode: ErrorCode.NONE, errorMessage: null, brokers: [{ nodeId: 0, host, port }] };
  }

  #apiVersions(errorCode: number, errorMessage: string | null): ApiVersionsResponse {
    return { errorCode, errorMessage, apis: supportedVersions() };
  }
}

/** Attributes bit 3, the timestamp type: set means LogAppendTime (log/record-batch.ts). */
const LOG_APPEND_TIME_FLAG = 0x08;

/**
 * Refuse a produced batch that sets what no phase up to this one gives meaning to, and
 * stamp the fields the broker owns, whatever the client sent (see the file comment). A
 * damaged batch (bad CRC) is left as it is, for the log's validation to report as
 * CORRUPT_MESSAGE: its header fields are not what the producer wrote.
 * @throws InvalidRecordError (INVALID_RECORD, 87) for a producer id, epoch or sequence, or LogAppendTime
 */
function takeBrokerOwnedFields(batch: Buffer): void {
  if (!verifyBatchCrc(batch)) return;
  const h = readBatchHeader(batch);
  if (h.producerId !== NO_PRODUCER_ID || h.producerEpoch !== NO_PRODUCER_EPOCH || h.baseSequence !== NO_SEQUENCE) {
    throw new InvalidRecordError(
      `producerId ${h.producerId}, producerEpoch ${h.producerEpoch}, baseSequence ${h.baseSequence}: idempotent producers are not supported (phase 8); send -1 for each`,
    );
  }
  if ((h.attributes & LOG_APPEND_TIME_FLAG) !== 0) {
    throw new InvalidRecordError('the LogAppendTime timestamp type is not supported: the broker keeps the producer\'s CreateTime timestamps');
  }
  stampPartitionLeaderEpoch(batch, NO_PARTITION_LEADER_EPOCH);
}
