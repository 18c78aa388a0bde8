/**
 * AlterPartition (api key 56, Kafka's number; our version 0), phase 6: the leader of a
 * partition asks the controller to change its ISR. The leader never changes the ISR on
 * its own authority: a shrink counts only once the controller has written it to the
 * metadata log, and an expansion names the broker epoch of the follower incarnation that
 * caught up (KIP-903), so a follower that restarted meanwhile is not added by mistake.
 * The request carries the leader epoch and partition epoch the leader computed it from;
 * the controller refuses a stale one (FENCED_LEADER_EPOCH, INVALID_UPDATE_VERSION), which
 * is what stops a deposed leader, cut off from the cluster, from shrinking the ISR to
 * itself and committing alone.
 *
 * Request body (v0):
 *
 * | bytes | field          | type   | notes                                           |
 * | ----- | -------------- | ------ | ----------------------------------------------- |
 * | 4     | brokerId       | i32    | the leader asking                               |
 * | 8     | brokerEpoch    | i64    | its registration epoch                          |
 * | 2+N   | topic          | string |                                                 |
 * | 4     | partition      | i32    |                                                 |
 * | 4     | leaderEpoch    | i32    | the epoch it leads in                           |
 * | 4     | partitionEpoch | i32    | the partition state it changed                  |
 * | 4     | isrCount       | i32    | >= 1, then per member:                          |
 * | 4     | id             | i32    |                                                 |
 * | 8     | brokerEpoch    | i64    | of that member's incarnation, always checked    |
 *
 * Response body (v0): the partition as the controller now has it (the new state on
 * success; the current one on a refusal, so the leader can catch up).
 *
 * | bytes | field          | type      | notes                                    |
 * | ----- | -------------- | --------- | ---------------------------------------- |
 * | 2+2+N | errorCode, errorMessage |  | common prefix (api.ts)                   |
 * | 4     | leader         | i32       | -1 if none or unknown                    |
 * | 4     | leaderEpoch    | i32       | -1 if unknown                            |
 * | 4+4N  | isr            | i32 array |                                          |
 * | 4     | partitionEpoch | i32       | -1 if unknown                            |
 */
import { type ApiCodec, type ResponseBase, readResponsePrefix, responsePrefixBytes, writeResponsePrefix } from './api.ts';
import { type ByteReader, ByteWriter, stringBytes } from './bytes.ts';
import { ApiKey } from './header.ts';

/** One proposed ISR member and the incarnation the leader saw. */
export interface IsrMember {
  id: number;
  brokerEpoch: number;
}

/** An AlterPartition request. */
export interface AlterPartitionRequest {
  brokerId: number;
  brokerEpoch: number;
  topic: string;
  partition: number;
  leaderEpoch: number;
  partitionEpoch: number;
  newIsr: IsrMember[];
}

/** An AlterPartition response. */
export interface AlterPartitionResponse extends ResponseBase {
  leader: number;
  leaderEpoch: number;
  isr: number[];
  partitionEpoch: number;
}

const MEMBER_BYTES = 4 + 8;

/** AlterPartition v0 codec. */
export const AlterPartition: ApiCodec<AlterPartitionRequest, AlterPartitionResponse> = {
  apiKey: ApiKey.AlterPartition,
  name: 'AlterPartition',
  minVersion: 0,
  maxVersion: 0,

  encodeRequest(req) {
    const w = new ByteWriter(4 + 8 + stringBytes(req.topic) + 4 + 4 + 4 + 4 + req.newIsr.length * MEMBER_BYTES)
      .i32(req.brokerId)
      .i64(req.brokerEpoch)
      .string(req.topic)
      .i32(req.partition)
      .i32(req.leaderEpoch)
      .i32(req.partitionEpoch)
      .i32(req.newIsr.length);
    for (const m of req.newIsr) w.i32(m.id).i64(m.brokerEpoch);
    return [w.finish()];
  },

  decodeRequest(r: ByteReader) {
    const brokerId = r.i32('brokerId');
    const brokerEpoch = r.i64('brokerEpoch');
    const topic = r.string('topic');
    const partition = r.i32('partition');
    const leaderEpoch = r.i32('leaderEpoch');
    const partitionEpoch = r.i32('partitionEpoch');
    const count = r.arrayCount('isrCount', MEMBER_BYTES);
    const newIsr: IsrMember[] = [];
    for (let i = 0; i < count; i++) newIsr.push({ id: r.i32('id'), brokerEpoch: r.i64('brokerEpoch') });
    r.expectEnd('AlterPartition request');
    return { brokerId, brokerEpoch, topic, partition, leaderEpoch, partitionEpoch, newIsr };
  },

  encodeResponse(res) {
    const w = new ByteWriter(responsePrefixBytes(res) + 4 + 4 + 4 + res.isr.length * 4 + 4);
    writeResponsePrefix(w, res).i32(res.leader).i32(res.leaderEpoch).i32(res.isr.length);
    for (const id of res.isr) w.i32(id);
    return [w.i32(res.partitionEpoch).finish()];
  },

  decodeResponse(r: ByteReader) {
    const { errorCode, errorMessage } = readResponsePrefix(r);
    const leader = r.i32('leader');
    const leaderEpoch = r.i32('leaderEpoch');
    const count = r.arrayCount('isrCount', 4);
    const isr: number[] = [];
    for (let i = 0; i < count; i++) isr.push(r.i32('isr'));
    const partitionEpoch = r.i32('partitionEpoch');
    r.expectEnd('AlterPartition response');
    return { errorCode, errorMessage, leader, leaderEpoch, isr, partitionEpoch };
  },

  errorResponse(errorCode, errorMessage) {
    return { errorCode, errorMessage, leader: -1, leaderEpoch: -1, isr: [], partitionEpoch: -1 };
  },
};
