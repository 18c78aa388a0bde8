/**
 * Phase 6 adapter: a cluster under a controller. Served mode starts the controller and
 * three brokers, each its own OS process (`... phases/06-election/src/main.ts controller`
 * and `serve --controller H:P --id N`), creates topic `bench` (one partition, replication
 * factor 3, min.insync.replicas 2) through a broker once all three are registered, and
 * hands the harness the port of that partition's elected leader. Producers bootstrap
 * from it with phase 6's own client library and send to partition 0 with acks=all: the
 * same single log as phase 5's acks=all row, now with an elected leader and epochs. The
 * CPU time reported is that of all four processes.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Admin } from '../../../phases/06-election/src/client/admin.ts';
import { Consumer } from '../../../phases/06-election/src/client/consumer.ts';
import { Producer } from '../../../phases/06-election/src/client/producer.ts';
import { Log } from '../../../phases/06-election/src/log/log.ts';
import { FsStorage } from '../../../phases/06-election/src/seams/storage.ts';
import { realSeams } from '../../../phases/06-election/src/seams/real.ts';
import { spawnServer } from '../broker-process.ts';
import { repoRoot, tsxLoaderUrl } from '../paths.ts';
import { benchConsumer, embeddedLog, topicProducer } from './common.ts';
import type { BenchConsumer, BenchProducer, BrokerHandle, EmbeddedLog, TargetAdapter } from './types.ts';

/** The replicated topic every benchmark producer writes to. */
export const BENCH_TOPIC = 'bench';
/** Brokers of the benchmark cluster. */
export const CLUSTER_BROKERS = 3;
const ENTRY = join(repoRoot, 'phases/06-election/src/main.ts');

/** Start the controller and every broker, create the topic, and return the partition leader's port. */
async function startCluster(dir: string): Promise<BrokerHandle> {
  const handles: BrokerHandle[] = [];
  try {
    mkdirSync(join(dir, 'controller'), { recursive: true });
    const controller = await spawnServer({
      command: process.execPath,
      args: ['--import', tsxLoaderUrl, ENTRY, 'controller', '--dir', join(dir, 'controller'), '--port', '0'],
      readyPattern: /listening on [^\s:]+:(\d+)/,
    });
    handles.push(controller);
    const ports = new Map<number, number>();
    for (let id = 1; id <= CLUSTER_BROKERS; id++) {
      const data = join(dir, `broker${id}`);
      mkdirSync(data, { recursive: true });
      const h = await spawnServer({
        command: process.execPath,
        args: ['--import', tsxLoaderUrl, ENTRY, 'serve', '--controller', `127.0.0.1:${controller.port}`, '--id', String(id), '--dir', data, '--port', '0'],
        readyPattern: /listening on [^\s:]+:(\d+)/,
      });
      handles.push(h);
      ports.set(id, h.port);
    }
    const bootstrapServers = [...ports.values()].map((port) => ({ host: '127.0.0.1', port }));
    const admin = new Admin({ bootstrapServers, clientId: 'bench', retries: 20, ...realSeams() });
    await admin.connect();
    let leaderId = -1;
    try {
      // Until every broker has registered, the controller refuses replication factor 3.
      const deadline = Date.now() + 30_000;
      for (;;) {
        try {
          await admin.createTopic({ topic: BENCH_TOPIC, numPartitions: 1, configEntries: [{ name: 'replication.factor', value: String(CLUSTER_BROKERS) }, { name: 'min.insync.replicas', value: '2' }] });
          break;
        } catch (err) {
          if (Date.now() > deadline || !(err instanceof Error) || !/replication factor/.test(err.message)) throw err;
          await new Promise((r) => setTimeout(r, 200));
        }
      }
      for (;;) {
        const [p] = await admin.describePartitions(BENCH_TOPIC);
        if (p !== undefined && p.leaderId >= 0 && (p.isr?.length ?? 0) === CLUSTER_BROKERS) {
          leaderId = p.leaderId;
          break;
        }
        if (Date.now() > deadline) throw new Error('the bench topic never got a full ISR');
        await new Promise((r) => setTimeout(r, 100));
      }
    } finally {
      await admin.disconnect();
    }
    const port = ports.get(leaderId);
    if (port === undefined) throw new Error(`leader ${leaderId} is not one of the brokers started`);
    return {
      port,
      pid: controller.pid,
      cpuTimeMs: () => handles.reduce((sum, h) => sum + h.cpuTimeMs(), 0),
      stop: async () => {
        await Promise.all(handles.slice(1).map((h) => h.stop()));
        await controller.stop();
      },
    };
  } catch (err) {
    await Promise.all(handles.map((h) => h.stop()));
    throw err;
  }
}

/** The phase-6 adapter: acks=all, the producer's default. */
export const adapter: TargetAdapter = {
  key: 'phase06',
  phase: 6,
  label: `phase 6 cluster (controller + ${CLUSTER_BROKERS} brokers, acks=all)`,
  ack: `once the high watermark passes the batch: the elected leader and both followers have fsynced it (phase 6, a controller and ${CLUSTER_BROKERS} broker processes, RF 3, min.insync.replicas 2, topic '${BENCH_TOPIC}' with 1 partition)`,
  startBroker: startCluster,
  createProducer: (port): Promise<BenchProducer> => topicProducer(new Producer({ bootstrapServers: [{ host: '127.0.0.1', port }], clientId: 'bench', acks: -1, ...realSeams() }), BENCH_TOPIC),
  async createConsumer(port): Promise<BenchConsumer> {
    const consumer = new Consumer({ bootstrapServers: [{ host: '127.0.0.1', port }], topic: BENCH_TOPIC, partition: 0, fromOffset: 0, maxWaitMs: 100, ...realSeams() });
    await consumer.connect();
    return benchConsumer(consumer);
  },
  async openEmbeddedLog(dir): Promise<EmbeddedLog> {
    return embeddedLog(await Log.open(new FsStorage(), dir));
  },
};
