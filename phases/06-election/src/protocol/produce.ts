/**
 * Produce (api key 0), our version 2: append record batches to one partition of a topic.
 * The records field holds one or more RecordBatch v2 exactly as phase 1 stores them on
 * disk, so the broker validates the bytes (magic, lengths, CRC), stamps the base offset in
 * place and appends them without decoding a single record. The response comes only after
 * the batches are durable (fsync).
 *
 * Version 1 (phase 3) adds the topic and partition in front of the records: a broker now
 * holds many logs, and the client (its partitioner) decides which one a batch goes to.
 * One request carries batches for one partition; Kafka's Produce nests topics and
 * partitions so one request can carry batches for many (an exercise in the writeup).
 * Version 0 (phase 2, one log) is no longer served: ApiVersions says so.
 *
 * Version 2 (phase 6) adds `currentLeaderEpoch` right after `partition`: the leader epoch
 * the producer believes the partition's leader has (from Metadata v3); -1 means "not
 * checked". Kafka's Produce carries no leader epoch: it relies on NOT_LEADER_OR_FOLLOWER,
 * which a broker can answer only once it knows it is no longer the leader. We send it so
 * that a producer that believes in an old leader is told FENCED_LEADER_EPOCH (its
 * metadata is stale: refresh it and go to the new leader), and so that a deposed leader
 * that has not yet heard of its deposition refuses a producer that has: the producer's
 * epoch is newer than any the broker knows, and it answers UNKNOWN_LEADER_EPOCH instead
 * of appending records the new leader will never have.
 *
 * Request body (v2):
 *
 * | bytes | field              | type   | notes                                                         |
 * | ----- | ------------------ | ------ | ------------------------------------------------------------- |
 * | 2     | acks               | i16    | -1 (all) or 1 (leader); both mean "after fsync" until phase 5 |
 * | 4     | timeoutMs          | i32    | >= 0; how long replication may take (unused until phase 5)    |
 * | 2+N   | topic              | string | an existing topic (UNKNOWN_TOPIC_OR_PARTITION otherwise)      |
 * | 4     | partition          | i32    | in [0, partitions of the topic)                               |
 * | 4     | currentLeaderEpoch | i32    | the leader epoch the producer knows; -1 not checked (v2)      |
 * | 4     | length             | i32    | bytes of records, >= 0                                        |
 * | N     | records            | bytes  | one or more RecordBatch v2, back to back                      |
 *
 * Response body (v2, unchanged from v0):
 *
 * | bytes | field          | type | notes                                             |
 * | ----- | -------------- | ---- | ------------------------------------------------- |
 * | 2+2+N | errorCode, errorMessage |  | common prefix (api.ts)                      |
 * | 8     | baseOffset     | i64  | offset of the first record; -1 on error           |
 * | 8     | lastOffset     | i64  | offset of the last record; -1 on error            |
 * | 8     | logStartOffset | i64  | first offset still stored; -1 if unknown          |
 */
import { type ApiCodec, type ResponseBase, readResponsePrefix, responsePrefixBytes, writeResponsePrefix } from './api.ts';
import { type ByteReader, ByteWriter, stringBytes } from './bytes.ts';
import { NO_LEADER_EPOCH } from './fetch.ts';
import { ApiKey, chunksBytes } from './header.ts';

/** A Produce request: acknowledgement mode, timeout, the partition, and the batches' bytes. */
export interface ProduceRequest {
  acks: number;
  timeoutMs: number;
  topic: string;
  partition: number;
  /** The leader epoch the producer believes is current (Produce v2); -1 (the default) skips the check. */
  currentLeaderEpoch?: number;
  /** RecordBatch v2 bytes, possibly split over several chunks; on the wire they are one field. */
  records: readonly Buffer[];
}

/** A Produce response. */
export interface ProduceResponse extends ResponseBase {
  baseOffset: number;
  lastOffset: number;
  logStartOffset: number;
}

/** Produce v2 codec. */
export const Produce: ApiCodec<ProduceRequest, ProduceResponse> = {
  apiKey: ApiKey.Produce,
  name: 'Produce',
  minVersion: 2,
  maxVersion: 2,

  encodeRequest(req) {
    const fixed = new ByteWriter(2 + 4 + stringBytes(req.topic) + 4 + 4 + 4)
      .i16(req.acks)
      .i32(req.timeoutMs)
      .string(req.topic)
      .i32(req.partition)
      .i32(req.currentLeaderEpoch ?? NO_LEADER_EPOCH)
      .i32(chunksBytes(req.records))
      .finish();
    return [fixed, ...req.records];
  },

  decodeRequest(r: ByteReader) {
    const acks = r.i16('acks');
    const timeoutMs = r.i32('timeoutMs');
    const topic = r.string('topic');
    const partition = r.i32('partition');
    const currentLeaderEpoch = r.i32('currentLeaderEpoch');
    const records = r.bytes('records');
    r.expectEnd('Produce request');
    return { acks, timeoutMs, topic, partition, currentLeaderEpoch, records: [records] };
  },

  encodeResponse(res) {
    const w = new ByteWriter(responsePrefixBytes(res) + 8 + 8 + 8);
    writeResponsePrefix(w, res).i64(res.baseOffset).i64(res.lastOffset).i64(res.logStartOffset);
    return [w.finish()];
  },

  decodeResponse(r: ByteReader) {
    const { errorCode, errorMessage } = readResponsePrefix(r);
    const baseOffset = r.i64('baseOffset');
    const lastOffset = r.i64('lastOffset');
    const logStartOffset = r.i64('logStartOffset');
    r.expectEnd('Produce response');
    return { errorCode, errorMessage, baseOffset, lastOffset, logStartOffset };
  },

  errorResponse(errorCode, errorMessage) {
    return { errorCode, errorMessage, baseOffset: -1, lastOffset: -1, logStartOffset: -1 };
  },
};
