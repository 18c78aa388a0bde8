/**
 * Phase 5 adapter: a replicated cluster. Served mode starts three brokers, each its own
 * OS process (`node --import <tsx loader> phases/05-replication/src/main.ts serve
 * --cluster FILE --id N --dir D/brokerN`), from a cluster file written here: free
 * loopback ports, one topic `bench` with one partition on replicas [1, 2, 3] (broker 1
 * leads), minInsyncReplicas 2. Producers bootstrap from broker 1 with phase 5's own
 * client library and send to partition 0, so the workload is the same single log the
 * earlier phases serve, now copied to two followers.
 *
 * Two targets: `acks=all` (acknowledged once the high watermark passes the batch, that
 * is once every ISR member has fsynced it) and `acks=1` (after the leader's fsync). The
 * broker CPU time reported is that of all three processes.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Consumer } from '../../../phases/05-replication/src/client/consumer.ts';
import { Producer } from '../../../phases/05-replication/src/client/producer.ts';
import { Log } from '../../../phases/05-replication/src/log/log.ts';
import { FsStorage } from '../../../phases/05-replication/src/seams/storage.ts';
import { realSeams } from '../../../phases/05-replication/src/seams/real.ts';
import { spawnServer } from '../broker-process.ts';
import { repoRoot, tsxLoaderUrl } from '../paths.ts';
import { freePort } from '../redis-peer.ts';
import { benchConsumer, embeddedLog, topicProducer } from './common.ts';
import type { BenchConsumer, BenchProducer, BrokerHandle, EmbeddedLog, TargetAdapter } from './types.ts';

/** The replicated topic every benchmark producer writes to. */
export const BENCH_TOPIC = 'bench';
/** Brokers of the benchmark cluster; broker 1 leads partition 0. */
export const CLUSTER_BROKERS = 3;
const ENTRY = join(repoRoot, 'phases/05-replication/src/main.ts');

/** Write the cluster file and start every broker; the handle's port is broker 1's (the leader). */
async function startCluster(dir: string): Promise<BrokerHandle> {
  const ids = Array.from({ length: CLUSTER_BROKERS }, (_, i) => i + 1);
  const brokers = [];
  for (const id of ids) brokers.push({ id, host: '127.0.0.1', port: await freePort() });
  const clusterPath = join(dir, 'cluster.json');
  writeFileSync(clusterPath, `${JSON.stringify({ brokers, topics: [{ name: BENCH_TOPIC, replicas: [ids] }], minInsyncReplicas: 2, replicaLagTimeMaxMs: 10_000 }, null, 2)}\n`);
  const handles: BrokerHandle[] = [];
  try {
    for (const id of ids) {
      const data = join(dir, `broker${id}`);
      mkdirSync(data, { recursive: true });
      handles.push(
        await spawnServer({
          command: process.execPath,
          args: ['--import', tsxLoaderUrl, ENTRY, 'serve', '--cluster', clusterPath, '--id', String(id), '--dir', data],
          readyPattern: /listening on [^\s:]+:(\d+)/,
        }),
      );
    }
  } catch (err) {
    await Promise.all(handles.map((h) => h.stop()));
    throw err;
  }
  const leader = handles[0] as BrokerHandle;
  return {
    port: leader.port,
    pid: leader.pid,
    cpuTimeMs: () => handles.reduce((sum, h) => sum + h.cpuTimeMs(), 0),
    stop: async () => {
      await Promise.all(handles.map((h) => h.stop()));
    },
  };
}

/** The phase-5 adapter for one acks setting. */
function clusterAdapter(acks: -1 | 1): TargetAdapter {
  const name = acks === -1 ? 'acks=all' : 'acks=1';
  return {
    key: acks === -1 ? 'phase05' : 'phase05-acks1',
    phase: 5,
    label: `phase 5 cluster (${CLUSTER_BROKERS} brokers, ${name})`,
    ack:
      acks === -1
        ? `once the high watermark passes the batch: the leader and both followers have fsynced it (phase 5, ${CLUSTER_BROKERS} broker processes, RF 3, minInsync 2, topic '${BENCH_TOPIC}' with 1 partition)`
        : `after the leader's fsync, before any follower has it (phase 5, ${CLUSTER_BROKERS} broker processes, RF 3, topic '${BENCH_TOPIC}' with 1 partition)`,
    startBroker: startCluster,
    createProducer: (port): Promise<BenchProducer> => topicProducer(new Producer({ bootstrapServers: [{ host: '127.0.0.1', port }], clientId: 'bench', acks, ...realSeams() }), BENCH_TOPIC),
    async createConsumer(port): Promise<BenchConsumer> {
      const consumer = new Consumer({ bootstrapServers: [{ host: '127.0.0.1', port }], topic: BENCH_TOPIC, partition: 0, fromOffset: 0, maxWaitMs: 100, ...realSeams() });
      await consumer.connect();
      return benchConsumer(consumer);
    },
    async openEmbeddedLog(dir): Promise<EmbeddedLog> {
      return embeddedLog(await Log.open(new FsStorage(), dir));
    },
  };
}

/** acks=all: the default of phase 5's producer, as of Kafka 3's. */
export const adapter = clusterAdapter(-1);
/** acks=1: the leader's fsync only. */
export const acksOneAdapter = clusterAdapter(1);
