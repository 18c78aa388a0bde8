/**
 * CreateTopics (api key 19, as in Kafka), our version 0: create topics with a partition
 * count and optional per-topic settings. Each topic succeeds or fails on its own, so the
 * response carries an error per topic (TOPIC_ALREADY_EXISTS 36, INVALID_TOPIC_EXCEPTION
 * 17, INVALID_PARTITIONS 37, INVALID_CONFIG 40, ...); the common prefix reports only
 * request-level failures. A topic is acknowledged only once the registry that lists it
 * is durable (topics/registry.ts) and its partition logs exist.
 *
 * Settings travel as Kafka does them, as (name, value) string pairs with Kafka's topic
 * config names: `segment.bytes` and `retention.bytes`. Any other name is INVALID_CONFIG.
 *
 * Request body (v0):
 *
 * | bytes | field         | type            | notes                                      |
 * | ----- | ------------- | --------------- | ------------------------------------------ |
 * | 4     | topicCount    | i32             | >= 0                                       |
 * |       | per topic:    |                 |                                            |
 * | 2+N   | name          | string          | checked by the broker, never trusted       |
 * | 4     | numPartitions | i32             | >= 1                                       |
 * | 4     | configCount   | i32             | >= 0                                       |
 * |       | per config:   |                 |                                            |
 * | 2+N   | name          | string          | `segment.bytes` or `retention.bytes`       |
 * | 2+N   | value         | nullable string | decimal integer; null = broker default     |
 *
 * Response body (v0):
 *
 * | bytes | field         | type            | notes                                |
 * | ----- | ------------- | --------------- | ------------------------------------ |
 * | 2+2+N | errorCode, errorMessage |       | common prefix (api.ts)               |
 * | 4     | topicCount    | i32             | one entry per requested topic, in order |
 * |       | per topic:    |                 |                                      |
 * | 2+N   | name          | string          |                                      |
 * | 2     | errorCode     | i16             | 0 = created                          |
 * | 2+N   | errorMessage  | nullable string |                                      |
 */
import { type ApiCodec, type ResponseBase, readResponsePrefix, responsePrefixBytes, writeResponsePrefix } from './api.ts';
import { type ByteReader, ByteWriter, stringBytes } from './bytes.ts';
import { ErrorCode, ProtocolError } from './errors.ts';
import { ApiKey } from './header.ts';
import { quoted } from '../topics/errors.ts';

/** One topic setting as a Kafka-style (name, value) pair. */
export interface TopicConfigEntry {
  name: string;
  value: string | null;
}

/** One topic to create. */
export interface CreatableTopic {
  name: string;
  numPartitions: number;
  configs: TopicConfigEntry[];
}

/** A CreateTopics request. */
export interface CreateTopicsRequest {
  topics: CreatableTopic[];
}

/** The outcome for one topic. */
export interface CreateTopicResult {
  name: string;
  errorCode: number;
  errorMessage: string | null;
}

/** A CreateTopics response. */
export interface CreateTopicsResponse extends ResponseBase {
  topics: CreateTopicResult[];
}

/** Smallest encodings, for checking array counts against the bytes present. */
const TOPIC_BYTES_MIN = 2 + 4 + 4;
const CONFIG_BYTES_MIN = 2 + 2;
const RESULT_BYTES_MIN = 2 + 2 + 2;

/** CreateTopics v0 codec. */
export const CreateTopics: ApiCodec<CreateTopicsRequest, CreateTopicsResponse> = {
  apiKey: ApiKey.CreateTopics,
  name: 'CreateTopics',
  minVersion: 0,
  maxVersion: 0,

  encodeRequest(req) {
    let size = 4;
    for (const t of req.topics) {
      size += stringBytes(t.name) + 4 + 4;
      for (const c of t.configs) size += stringBytes(c.name) + stringBytes(c.value);
    }
    const w = new ByteWriter(size).i32(req.topics.length);
    for (const t of req.topics) {
      w.string(t.name).i32(t.numPartitions).i32(t.configs.length);
      for (const c of t.configs) w.string(c.name).nullableString(c.value);
    }
    return [w.finish()];
  },

  decodeRequest(r: ByteReader) {
    const count = r.arrayCount('topicCount', TOPIC_BYTES_MIN);
    const topics: CreatableTopic[] = [];
    for (let i = 0; i < count; i++) {
      const name = r.string('name');
      const numPartitions = r.i32('numPartitions');
      const configCount = r.arrayCount('configCount', CONFIG_BYTES_MIN);
      const configs: TopicConfigEntry[] = [];
      for (let j = 0; j < configCount; j++) configs.push({ name: r.string('configName'), value: r.nullableString('configValue') });
      topics.push({ name, numPartitions, configs });
    }
    r.expectEnd('CreateTopics request');
    return { topics };
  },

  encodeResponse(res) {
    let size = responsePrefixBytes(res) + 4;
    for (const t of res.topics) size += stringBytes(t.name) + 2 + stringBytes(t.errorMessage);
    const w = writeResponsePrefix(new ByteWriter(size), res).i32(res.topics.length);
    for (const t of res.topics) w.string(t.name).i16(t.errorCode).nullableString(t.errorMessage);
    return [w.finish()];
  },

  decodeResponse(r: ByteReader) {
    const { errorCode, errorMessage } = readResponsePrefix(r);
    const count = r.arrayCount('topicCount', RESULT_BYTES_MIN);
    const topics: CreateTopicResult[] = [];
    for (let i = 0; i < count; i++) {
      topics.push({ name: r.string('name'), errorCode: r.i16('errorCode'), errorMessage: r.nullableString('errorMessage') });
    }
    r.expectEnd('CreateTopics response');
    return { errorCode, errorMessage, topics };
  },

  errorResponse(errorCode, errorMessage) {
    return { errorCode, errorMessage, topics: [] };
  },
};

/** Per-topic settings in our names (topics/registry.ts's `TopicSpec` fields). */
export interface TopicSettings {
  segmentBytesMax?: number;
  retentionBytesMax?: number;
}

/** Kafka's topic config names and the setting each one sets. */
export const TOPIC_CONFIG_NAMES: Readonly<Record<string, keyof TopicSettings>> = {
  'segment.bytes': 'segmentBytesMax',
  'retention.bytes': 'retentionBytesMax',
};

/**
 * Turn (name, value) pairs into settings. An unknown name, a repeated one, or a value
 * that is not a decimal integer is a `ProtocolError` with INVALID_CONFIG (40); the range
 * of each value is the log's to check. A null value means "broker default".
 * @example
 * settingsFromConfigs([{ name: 'segment.bytes', value: '1048576' }]); // { segmentBytesMax: 1048576 }
 */
export function settingsFromConfigs(configs: readonly TopicConfigEntry[]): TopicSettings {
  const settings: TopicSettings = {};
  const seen = new Set<string>();
  for (const { name, value } of configs) {
    const key = TOPIC_CONFIG_NAMES[name];
    if (key === undefined || !Object.hasOwn(TOPIC_CONFIG_NAMES, name)) {
      throw new ProtocolError(`unknown topic config ${quoted(name)} (known: ${Object.keys(TOPIC_CONFIG_NAMES).join(', ')})`, ErrorCode.INVALID_CONFIG);
    }
    if (seen.has(name)) throw new ProtocolError(`topic config ${name} given twice`, ErrorCode.INVALID_CONFIG);
    seen.add(name);
    if (value === null) continue;
    const n = Number(value);
    if (!/^-?\d+$/.test(value) || !Number.isSafeInteger(n)) {
      throw new ProtocolError(`topic config ${name} must be a decimal integer, got ${quoted(value)}`, ErrorCode.INVALID_CONFIG);
    }
    settings[key] = n;
  }
  return settings;
}

/**
 * The (name, value) pairs for a topic's own settings (unset ones are left out).
 * @example
 * configsFromSettings({ segmentBytesMax: 4096 }); // [{ name: 'segment.bytes', value: '4096' }]
 */
export function configsFromSettings(settings: TopicSettings): TopicConfigEntry[] {
  const configs: TopicConfigEntry[] = [];
  for (const [name, key] of Object.entries(TOPIC_CONFIG_NAMES)) {
    const v = settings[key];
    if (v !== undefined) configs.push({ name, value: String(v) });
  }
  return configs;
}
