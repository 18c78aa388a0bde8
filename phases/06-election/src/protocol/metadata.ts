/**
 * Metadata (api key 3), our version 3: which brokers exist and where to reach them, and,
 * since phase 3, which topics exist, how many partitions each has, and which broker
 * leads each partition. Version 2 (phase 5) adds, per partition, its replicas and
 * in-sync replicas (as the answering broker knows them: the leader knows the ISR, a
 * follower reports `isr` empty), and the answering broker's own replica's high
 * watermark and log end offset (-1 when it holds no replica), which is what
 * `describe-topic` and `cluster` show. Version 3 (phase 6) adds, per partition, the leader
 * epoch right after the leader: the number the controller bumps every time it elects a
 * leader, so a client can tell which of two answers about a partition's leader is the
 * newer one, and send the epoch back with its Produce and Fetch (FENCED_LEADER_EPOCH
 * tells it its metadata is stale). Kafka's Metadata has it since v7, in the same place.
 * A client bootstraps from any address it was given and then uses the advertised host
 * and port, as Kafka clients do. This is also how a client describes a topic: the
 * per-topic settings set at creation come back as (name, value) pairs.
 *
 * A request may name the topics it wants (unknown ones come back with
 * UNKNOWN_TOPIC_OR_PARTITION, illegal names with INVALID_TOPIC_EXCEPTION) or ask for all
 * of them (topicCount -1). With `allowAutoTopicCreation` set, a missing topic with a legal
 * name is created with the broker's default partition count, but only if the broker's
 * `autoCreateTopics` is on (off by default; Kafka: `auto.create.topics.enable`).
 *
 * Request body (v1 to v3, unchanged):
 *
 * | bytes | field                  | type   | notes                                  |
 * | ----- | ---------------------- | ------ | -------------------------------------- |
 * | 4     | topicCount             | i32    | -1 = every topic; else >= 0            |
 * | 2+N   | topic                  | string | per topic                              |
 * | 1     | allowAutoTopicCreation | i8     | 0 or 1                                 |
 *
 * Response body (v3):
 *
 * | bytes | field          | type            | notes                                   |
 * | ----- | -------------- | --------------- | --------------------------------------- |
 * | 2+2+N | errorCode, errorMessage |        | common prefix (api.ts)                  |
 * | 4     | brokerCount    | i32             | >= 0                                    |
 * |       | per broker:    |                 |                                         |
 * | 4     | nodeId         | i32             |                                         |
 * | 2+N   | host           | string          |                                         |
 * | 4     | port           | i32             |                                         |
 * | 4     | topicCount     | i32             | >= 0                                    |
 * |       | per topic:     |                 |                                         |
 * | 2     | errorCode      | i16             | 0, 3 (unknown) or 17 (illegal name)     |
 * | 2+N   | topic          | string          |                                         |
 * | 1     | isInternal     | i8              | 1 for `__` topics                       |
 * | 4     | partitionCount | i32             | 0 on error                              |
 * |       | per partition: |                 |                                         |
 * | 4     | partition      | i32             |                                         |
 * | 4     | leaderId       | i32             | nodeId of the partition's leader (-1: none) |
 * | 4     | leaderEpoch    | i32             | the leader's epoch; -1 if unknown (v3)   |
 * | 4+4N  | replicas       | i32 array       | broker ids, leader first (v2)            |
 * | 4+4N  | isr            | i32 array       | in-sync replicas; empty if unknown here (v2) |
 * | 8     | highWatermark  | i64             | of this broker's replica; -1 if none (v2) |
 * | 8     | logEndOffset   | i64             | of this broker's replica; -1 if none (v2) |
 * | 4     | configCount    | i32             | the topic's own settings                |
 * |       | per config:    |                 |                                         |
 * | 2+N   | name           | string          | `segment.bytes`, `retention.bytes`      |
 * | 2+N   | value          | nullable string |                                         |
 */
import { type ApiCodec, type ResponseBase, readResponsePrefix, responsePrefixBytes, writeResponsePrefix } from './api.ts';
import { type ByteReader, ByteWriter, stringBytes } from './bytes.ts';
import type { TopicConfigEntry } from './create-topics.ts';
import { ProtocolError } from './errors.ts';
import { ApiKey } from './header.ts';

/** A Metadata request: the topics wanted (null = all), and whether missing ones may be created. */
export interface MetadataRequest {
  topics: string[] | null;
  allowAutoTopicCreation: boolean;
}

/** One broker's advertised address. */
export interface BrokerAddress {
  nodeId: number;
  host: string;
  port: number;
}

/** One partition: its number, the broker that leads it, and its replicas. */
export interface PartitionMetadata {
  partition: number;
  leaderId: number;
  /** The epoch `leaderId` leads in (bumped at every election); -1 if unknown (Metadata v3). */
  leaderEpoch: number;
  /** Broker ids holding a copy, leader first. */
  replicas: number[];
  /** The in-sync replicas, as the answering broker knows them (empty: it does not know). */
  isr: number[];
  /** The answering broker's replica: its high watermark, or -1 if it holds none. */
  highWatermark: number;
  /** The answering broker's replica: its log end offset, or -1 if it holds none. */
  logEndOffset: number;
}

/** One topic, or the error for a topic the request named. */
export interface TopicMetadata {
  errorCode: number;
  topic: string;
  isInternal: boolean;
  partitions: PartitionMetadata[];
  configs: TopicConfigEntry[];
}

/** A Metadata response. */
export interface MetadataResponse extends ResponseBase {
  brokers: BrokerAddress[];
  topics: TopicMetadata[];
}

/** Smallest encodings, for checking array counts against the bytes present. */
const BROKER_BYTES_MIN = 4 + 2 + 4;
const TOPIC_NAME_BYTES_MIN = 2;
const TOPIC_BYTES_MIN = 2 + 2 + 1 + 4 + 4;
const PARTITION_BYTES_MIN = 4 + 4 + 4 + 4 + 4 + 8 + 8;
const CONFIG_BYTES_MIN = 2 + 2;

/** Metadata v3 codec. */
export const Metadata: ApiCodec<MetadataRequest, MetadataResponse> = {
  apiKey: ApiKey.Metadata,
  name: 'Metadata',
  minVersion: 3,
  maxVersion: 3,

  encodeRequest(req) {
    let size = 4 + 1;
    for (const t of req.topics ?? []) size += stringBytes(t);
    const w = new ByteWriter(size).i32(req.topics === null ? -1 : req.topics.length);
    for (const t of req.topics ?? []) w.string(t);
    return [w.i8(req.allowAutoTopicCreation ? 1 : 0).finish()];
  },

  decodeRequest(r: ByteReader) {
    const count = r.nullableArrayCount('topicCount', TOPIC_NAME_BYTES_MIN);
    let topics: string[] | null = null;
    if (count !== null) {
      topics = [];
      for (let i = 0; i < count; i++) topics.push(r.string('topic'));
    }
    const auto = r.i8('allowAutoTopicCreation');
    if (auto !== 0 && auto !== 1) throw new ProtocolError(`allowAutoTopicCreation must be 0 or 1, got ${auto}`);
    r.expectEnd('Metadata request');
    return { topics, allowAutoTopicCreation: auto === 1 };
  },

  encodeResponse(res) {
    let size = responsePrefixBytes(res) + 4 + 4;
    for (const b of res.brokers) size += 4 + stringBytes(b.host) + 4;
    for (const t of res.topics) {
      size += 2 + stringBytes(t.topic) + 1 + 4 + 4;
      for (const p of t.partitions) size += PARTITION_BYTES_MIN + 4 * (p.replicas.length + p.isr.length);
      for (const c of t.configs) size += stringBytes(c.name) + stringBytes(c.value);
    }
    const w = writeResponsePrefix(new ByteWriter(size), res).i32(res.brokers.length);
    for (const b of res.brokers) w.i32(b.nodeId).string(b.host).i32(b.port);
    w.i32(res.topics.length);
    for (const t of res.topics) {
      w.i16(t.errorCode).string(t.topic).i8(t.isInternal ? 1 : 0).i32(t.partitions.length);
      for (const p of t.partitions) {
        w.i32(p.partition).i32(p.leaderId).i32(p.leaderEpoch).i32(p.replicas.length);
        for (const id of p.replicas) w.i32(id);
        w.i32(p.isr.length);
        for (const id of p.isr) w.i32(id);
        w.i64(p.highWatermark).i64(p.logEndOffset);
      }
      w.i32(t.configs.length);
      for (const c of t.configs) w.string(c.name).nullableString(c.value);
    }
    return [w.finish()];
  },

  decodeResponse(r: ByteReader) {
    const { errorCode, errorMessage } = readResponsePrefix(r);
    const brokerCount = r.arrayCount('brokerCount', BROKER_BYTES_MIN);
    const brokers: BrokerAddress[] = [];
    for (let i = 0; i < brokerCount; i++) {
      const nodeId = r.i32('nodeId');
      const host = r.string('host');
      const port = r.i32('port');
      brokers.push({ nodeId, host, port });
    }
    const topicCount = r.arrayCount('topicCount', TOPIC_BYTES_MIN);
    const topics: TopicMetadata[] = [];
    for (let i = 0; i < topicCount; i++) {
      const topicErrorCode = r.i16('errorCode');
      const topic = r.string('topic');
      const isInternal = r.i8('isInternal') !== 0;
      const partitionCount = r.arrayCount('partitionCount', PARTITION_BYTES_MIN);
      const partitions: PartitionMetadata[] = [];
      for (let j = 0; j < partitionCount; j++) {
        const partition = r.i32('partition');
        const leaderId = r.i32('leaderId');
        const leaderEpoch = r.i32('leaderEpoch');
        const replicas = readIds(r, 'replicas');
        const isr = readIds(r, 'isr');
        partitions.push({ partition, leaderId, leaderEpoch, replicas, isr, highWatermark: r.i64('highWatermark'), logEndOffset: r.i64('logEndOffset') });
      }
      const configCount = r.arrayCount('configCount', CONFIG_BYTES_MIN);
      const configs: TopicConfigEntry[] = [];
      for (let j = 0; j < configCount; j++) configs.push({ name: r.string('configName'), value: r.nullableString('configValue') });
      topics.push({ errorCode: topicErrorCode, topic, isInternal, partitions, configs });
    }
    r.expectEnd('Metadata response');
    return { errorCode, errorMessage, brokers, topics };
  },

  errorResponse(errorCode, errorMessage) {
    return { errorCode, errorMessage, brokers: [], topics: [] };
  },
};

/** An i32 array of broker ids, its count checked against the bytes present. */
function readIds(r: ByteReader, field: string): number[] {
  const count = r.arrayCount(`${field}Count`, 4);
  const ids: number[] = [];
  for (let i = 0; i < count; i++) ids.push(r.i32(field));
  return ids;
}
