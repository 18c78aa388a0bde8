/**
 * The cluster file: which brokers exist and where each replicated topic's partitions
 * live. Every broker of a phase-5 cluster reads the same file; the leader of partition p
 * is `replicas[p][0]`, fixed for the life of the cluster (phase 6 makes it electable).
 *
 * ```json
 * { "brokers": [{ "id": 1, "host": "127.0.0.1", "port": 19092 }, …],
 *   "topics": [{ "name": "t", "replicas": [[1, 2, 3], [2, 3, 1]] }],
 *   "minInsyncReplicas": 2, "replicaLagTimeMaxMs": 2000 }
 * ```
 *
 * `parseClusterFile` checks all of it and says exactly what is wrong, one problem per
 * line, so a typo never starts a cluster that disagrees with itself.
 */
import { topicNameProblem } from '../topics/names.ts';

/** One broker of the cluster. */
export interface ClusterBroker {
  readonly id: number;
  readonly host: string;
  readonly port: number;
}

/** A replicated topic: `replicas[p]` lists partition p's brokers, leader first. */
export interface ClusterTopic {
  readonly name: string;
  readonly replicas: readonly (readonly number[])[];
}

/** The whole file. */
export interface ClusterFile {
  readonly brokers: readonly ClusterBroker[];
  readonly topics: readonly ClusterTopic[];
  /** acks=all is refused with NOT_ENOUGH_REPLICAS while the ISR is smaller (Kafka `min.insync.replicas`). */
  readonly minInsyncReplicas: number;
  /** A follower that has not caught up for this long leaves the ISR (Kafka `replica.lag.time.max.ms`). */
  readonly replicaLagTimeMaxMs: number;
}

/** Bounds on what a cluster file may ask for. */
export const CLUSTER_LIMITS = Object.freeze({
  brokersMax: 16,
  topicsMax: 100,
  partitionsPerTopicMax: 100,
  replicaLagTimeMaxMsMax: 3_600_000,
});

/** A cluster file that is not valid; `problems` has one line per mistake. */
export class ClusterFileError extends Error {
  readonly problems: readonly string[];
  constructor(problems: readonly string[]) {
    super(`bad cluster file: ${problems.join('; ')}`);
    this.name = 'ClusterFileError';
    this.problems = problems;
  }
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isInt = (v: unknown, min: number, max: number): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= min && v <= max;

/**
 * Validate parsed JSON as a cluster file.
 * @throws ClusterFileError listing every problem found
 * @example parseClusterFile(JSON.parse(text)).brokers.length
 */
export function parseClusterFile(data: unknown): ClusterFile {
  const problems: string[] = [];
  if (!isRecord(data)) throw new ClusterFileError(['the file must hold a JSON object']);
  const brokers: ClusterBroker[] = [];
  if (!Array.isArray(data.brokers) || data.brokers.length === 0) problems.push('"brokers" must be a non-empty array');
  else if (data.brokers.length > CLUSTER_LIMITS.brokersMax) problems.push(`"brokers" has ${data.brokers.length} entries, at most ${CLUSTER_LIMITS.brokersMax} allowed`);
  else {
    data.brokers.forEach((b: unknown, i: number) => {
      if (!isRecord(b)) return void problems.push(`brokers[${i}] must be an object {id, host, port}`);
      const bad: string[] = [];
      if (!isInt(b.id, 0, 2 ** 31 - 1)) bad.push('id must be an integer >= 0');
      if (typeof b.host !== 'string' || b.host === '') bad.push('host must be a non-empty string');
      if (!isInt(b.port, 1, 65_535)) bad.push('port must be an integer in [1, 65535]');
      if (bad.length > 0) return void problems.push(`brokers[${i}]: ${bad.join(', ')}`);
      brokers.push({ id: b.id as number, host: b.host as string, port: b.port as number });
    });
    const seenIds = new Set<number>();
    const seenAddresses = new Set<string>();
    for (const b of brokers) {
      if (seenIds.has(b.id)) problems.push(`broker id ${b.id} appears twice`);
      seenIds.add(b.id);
      const address = `${b.host}:${b.port}`;
      if (seenAddresses.has(address)) problems.push(`address ${address} is given to two brokers`);
      seenAddresses.add(address);
    }
  }
  const ids = new Set(brokers.map((b) => b.id));

  const minInsyncReplicas = data.minInsyncReplicas ?? 1;
  if (!isInt(minInsyncReplicas, 1, CLUSTER_LIMITS.brokersMax)) problems.push(`"minInsyncReplicas" must be an integer >= 1, got ${JSON.stringify(data.minInsyncReplicas)}`);
  const replicaLagTimeMaxMs = data.replicaLagTimeMaxMs ?? 2000;
  if (!isInt(replicaLagTimeMaxMs, 1, CLUSTER_LIMITS.replicaLagTimeMaxMsMax)) {
    problems.push(`"replicaLagTimeMaxMs" must be an integer in [1, ${CLUSTER_LIMITS.replicaLagTimeMaxMsMax}], got ${JSON.stringify(data.replicaLagTimeMaxMs)}`);
  }

  const topics: ClusterTopic[] = [];
  const rawTopics = data.topics ?? [];
  if (!Array.isArray(rawTopics)) problems.push('"topics" must be an array');
  else if (rawTopics.length > CLUSTER_LIMITS.topicsMax) problems.push(`"topics" has ${rawTopics.length} entries, at most ${CLUSTER_LIMITS.topicsMax} allowed`);
  else {
    const names = new Set<string>();
    rawTopics.forEach((t: unknown, i: number) => {
      if (!isRecord(t)) return void problems.push(`topics[${i}] must be an object {name, replicas}`);
      const nameProblem = typeof t.name === 'string' ? topicNameProblem(t.name) : 'must be a string';
      const label = typeof t.name === 'string' ? `topic ${JSON.stringify(t.name)}` : `topics[${i}]`;
      if (nameProblem !== null) return void problems.push(`${label}: name ${nameProblem}`);
      const name = t.name as string;
      if (names.has(name)) problems.push(`${label} appears twice`);
      names.add(name);
      if (!Array.isArray(t.replicas) || t.replicas.length === 0) return void problems.push(`${label}: "replicas" must be a non-empty array, one list per partition`);
      if (t.replicas.length > CLUSTER_LIMITS.partitionsPerTopicMax) return void problems.push(`${label}: ${t.replicas.length} partitions, at most ${CLUSTER_LIMITS.partitionsPerTopicMax} allowed`);
      const replicas: number[][] = [];
      t.replicas.forEach((list: unknown, p: number) => {
        if (!Array.isArray(list) || list.length === 0 || !list.every((x) => isInt(x, 0, 2 ** 31 - 1))) {
          return void problems.push(`${label} partition ${p}: replicas must be a non-empty list of broker ids`);
        }
        const nums = list as number[];
        for (const id of nums) if (!ids.has(id)) problems.push(`${label} partition ${p}: unknown broker id ${id}`);
        if (new Set(nums).size !== nums.length) problems.push(`${label} partition ${p}: a broker is listed twice in [${nums.join(',')}]`);
        if (brokers.length > 0 && nums.length > brokers.length) problems.push(`${label} partition ${p}: replication factor ${nums.length} > ${brokers.length} brokers`);
        if (typeof minInsyncReplicas === 'number' && minInsyncReplicas > nums.length) {
          problems.push(`${label} partition ${p}: minInsyncReplicas ${minInsyncReplicas} > replication factor ${nums.length}`);
        }
        replicas.push([...nums]);
      });
      topics.push({ name, replicas });
    });
  }
  if (problems.length > 0) throw new ClusterFileError(problems);
  return { brokers, topics, minInsyncReplicas: minInsyncReplicas as number, replicaLagTimeMaxMs: replicaLagTimeMaxMs as number };
}

/**
 * A cluster file for `brokers` brokers on consecutive ports from `basePort`, with one
 * topic whose partitions' leaders rotate over the brokers (as Kafka's assignment does).
 * @example generateClusterFile({ brokers: 3, basePort: 19092, topic: 'demo', partitions: 3 })
 */
export function generateClusterFile(opts: { brokers: number; basePort: number; topic: string; partitions: number; replicationFactor?: number; minInsyncReplicas?: number; replicaLagTimeMaxMs?: number; host?: string }): ClusterFile {
  const rf = opts.replicationFactor ?? Math.min(3, opts.brokers);
  const brokers = Array.from({ length: opts.brokers }, (_, i) => ({ id: i + 1, host: opts.host ?? '127.0.0.1', port: opts.basePort + i }));
  const replicas = Array.from({ length: opts.partitions }, (_, p) => Array.from({ length: rf }, (_, r) => ((p + r) % opts.brokers) + 1));
  return parseClusterFile({
    brokers,
    topics: [{ name: opts.topic, replicas }],
    minInsyncReplicas: opts.minInsyncReplicas ?? Math.min(2, rf),
    replicaLagTimeMaxMs: opts.replicaLagTimeMaxMs ?? 2000,
  });
}
