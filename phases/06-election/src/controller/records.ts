/**
 * The controller's metadata log: what happened to the cluster, as records in a phase-1
 * `Log` (`<dir>/__cluster_metadata-0/`, KRaft's name for the same idea). Every decision
 * of the controller (a broker registered, fenced or unfenced; a topic created; a
 * partition's leader or ISR changed) is a record, and takes effect only once its batch is
 * fsynced: the controller's state, and every broker's copy of it, is the log replayed
 * (`image.ts`). A decision and its consequences go into one batch, so a crash keeps all
 * of them or none: fencing a broker and electing new leaders for its partitions is one
 * atomic append.
 *
 * Each record's key is its type and its value is the record as JSON (KRaft encodes its
 * records in a binary schema; JSON keeps `dump` readable and costs nothing that matters
 * at the controller's write rate). A broker's epoch is not stored in its registration
 * record: it is that record's offset, which the log assigns.
 *
 * | type              | fields                                                               |
 * | ----------------- | -------------------------------------------------------------------- |
 * | `register-broker` | id, host, port (the broker epoch is the record's offset; registers fenced) |
 * | `fence-broker`    | id, brokerEpoch                                                      |
 * | `unfence-broker`  | id, brokerEpoch                                                      |
 * | `topic`           | name, partitions, configs (pairs of name and value)                  |
 * | `partition`       | topic, partition, replicas, isr, leader, leaderEpoch, partitionEpoch (the whole new state) |
 */
import { CorruptBatchError } from '../log/errors.ts';
import type { LogRecord, RecordInput } from '../log/record-batch.ts';
import type { PartitionState } from './election.ts';

/** A broker announced itself (fenced until its first heartbeat shows it caught up). */
export interface RegisterBrokerRecord {
  readonly type: 'register-broker';
  readonly id: number;
  readonly host: string;
  readonly port: number;
}

/** A broker's lease ended (or it registered again as a new incarnation). */
export interface FenceBrokerRecord {
  readonly type: 'fence-broker';
  readonly id: number;
  readonly brokerEpoch: number;
}

/** A registered broker caught up with the metadata log and may lead and follow again. */
export interface UnfenceBrokerRecord {
  readonly type: 'unfence-broker';
  readonly id: number;
  readonly brokerEpoch: number;
}

/** A topic was created (its partitions follow as `partition` records in the same batch). */
export interface TopicRecord {
  readonly type: 'topic';
  readonly name: string;
  readonly partitions: number;
  readonly configs: readonly (readonly [string, string])[];
}

/** A partition's whole new state. */
export interface PartitionRecord extends PartitionState {
  readonly type: 'partition';
}

/** One record of the metadata log. */
export type MetadataRecord = RegisterBrokerRecord | FenceBrokerRecord | UnfenceBrokerRecord | TopicRecord | PartitionRecord;

/** The log's directory name under the controller's data directory. */
export const METADATA_LOG_DIR = '__cluster_metadata-0';

/** A metadata record as a log record (key: its type; value: JSON). */
export function encodeMetadataRecord(record: MetadataRecord): RecordInput {
  return { key: Buffer.from(record.type, 'utf8'), value: Buffer.from(JSON.stringify(record), 'utf8') };
}

const isInt = (v: unknown, min = 0): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= min;
const isIntArray = (v: unknown): v is number[] => Array.isArray(v) && v.every((x) => isInt(x));

/**
 * A log record back as a metadata record, checked field by field.
 * @throws CorruptBatchError for a record this controller did not write (the log's CRC
 *   already rules out damaged bytes, so this is a version mismatch or a bug)
 */
export function decodeMetadataRecord(record: LogRecord): MetadataRecord {
  const bad = (why: string): never => {
    throw new CorruptBatchError(`metadata record at offset ${record.offset}: ${why}`);
  };
  if (record.value === null) return bad('no value');
  let v: unknown;
  try {
    v = JSON.parse(record.value.toString('utf8'));
  } catch {
    return bad('value is not JSON');
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return bad('value is not an object');
  const r = v as Record<string, unknown>;
  if (record.key?.toString('utf8') !== r.type) bad(`key ${JSON.stringify(record.key?.toString('utf8'))} does not match type ${JSON.stringify(r.type)}`);
  switch (r.type) {
    case 'register-broker':
      if (!isInt(r.id) || typeof r.host !== 'string' || !isInt(r.port, 1)) bad('register-broker needs id, host, port');
      return { type: 'register-broker', id: r.id as number, host: r.host as string, port: r.port as number };
    case 'fence-broker':
    case 'unfence-broker':
      if (!isInt(r.id) || !isInt(r.brokerEpoch)) bad(`${r.type} needs id, brokerEpoch`);
      return { type: r.type, id: r.id as number, brokerEpoch: r.brokerEpoch as number };
    case 'topic': {
      const configs = r.configs;
      if (typeof r.name !== 'string' || !isInt(r.partitions, 1) || !Array.isArray(configs)) bad('topic needs name, partitions, configs');
      const pairs = (configs as unknown[]).map((c) => {
        if (!Array.isArray(c) || c.length !== 2 || typeof c[0] !== 'string' || typeof c[1] !== 'string') return bad('topic configs must be [name, value] pairs');
        return [c[0], c[1]] as const;
      });
      return { type: 'topic', name: r.name as string, partitions: r.partitions as number, configs: pairs };
    }
    case 'partition':
      if (typeof r.topic !== 'string' || !isInt(r.partition) || !isIntArray(r.replicas) || !isIntArray(r.isr) || !isInt(r.leader, -1) || !isInt(r.leaderEpoch) || !isInt(r.partitionEpoch)) {
        bad('partition needs topic, partition, replicas, isr, leader, leaderEpoch, partitionEpoch');
      }
      return {
        type: 'partition',
        topic: r.topic as string,
        partition: r.partition as number,
        replicas: r.replicas as number[],
        isr: r.isr as number[],
        leader: r.leader as number,
        leaderEpoch: r.leaderEpoch as number,
        partitionEpoch: r.partitionEpoch as number,
      };
    default:
      return bad(`unknown type ${JSON.stringify(r.type)}`);
  }
}

/** A partition state as its record. */
export function partitionRecord(p: PartitionState): PartitionRecord {
  return {
    type: 'partition',
    topic: p.topic,
    partition: p.partition,
    replicas: [...p.replicas],
    isr: [...p.isr],
    leader: p.leader,
    leaderEpoch: p.leaderEpoch,
    partitionEpoch: p.partitionEpoch,
  };
}
