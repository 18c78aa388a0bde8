/**
 * Adapter for the phases with topics (phase 3 on). Served mode starts
 * `node --import <tsx loader> phases/0N-name/src/main.ts serve --auto-create-topics --default-partitions 1` as
 * its own process and drives it with that phase's own client library: one `Producer`
 * (one TCP connection) per benchmark producer, sending to the one-partition topic
 * `bench`, so the workload is the same single log phase 2 serves and the figures
 * compare across phases. `send()` resolves once the broker has appended and fsynced.
 * Embedded mode opens the phase's Log in-process.
 *
 * The phase's modules are loaded from its folder at run time; their types are phase
 * 3's, which later phases keep (a later phase that changes this client API gets its
 * own adapter).
 */
import { pathToFileURL } from 'node:url';
import { spawnServer } from '../broker-process.ts';
import { repoRoot, tsxLoaderUrl } from '../paths.ts';
import { benchConsumer, embeddedLog, topicProducer } from './common.ts';
import type { BenchConsumer, BenchProducer, EmbeddedLog, TargetAdapter } from './types.ts';

type ProducerModule = typeof import('../../../phases/03-topics/src/client/producer.ts');
type ConsumerModule = typeof import('../../../phases/03-topics/src/client/consumer.ts');
type LogModule = typeof import('../../../phases/03-topics/src/log/log.ts');
type StorageModule = typeof import('../../../phases/03-topics/src/seams/storage.ts');
type SeamsModule = typeof import('../../../phases/03-topics/src/seams/real.ts');

/** The topic every benchmark producer writes to: auto-created with one partition. */
export const BENCH_TOPIC = 'bench';

/**
 * Build the adapter for a phase with topics.
 * @param phase phase number (3, 4, ...)
 * @param folder phase folder relative to the repo root, e.g. `phases/03-topics`
 */
export async function topicsAdapter(phase: number, folder: string): Promise<TargetAdapter> {
  const src = `${repoRoot}/${folder}/src`;
  const load = async (file: string): Promise<unknown> => await import(pathToFileURL(`${src}/${file}`).href);
  const { Producer } = (await load('client/producer.ts')) as ProducerModule;
  const { Consumer } = (await load('client/consumer.ts')) as ConsumerModule;
  const { Log } = (await load('log/log.ts')) as LogModule;
  const { FsStorage } = (await load('seams/storage.ts')) as StorageModule;
  const { realSeams } = (await load('seams/real.ts')) as SeamsModule;
  const key = `phase${String(phase).padStart(2, '0')}`;
  return {
    key,
    phase,
    label: `phase ${phase} broker`,
    ack: `after the broker's fsync (phase ${phase}: one append + fsync per produce request, topic '${BENCH_TOPIC}' with 1 partition)`,
    startBroker: (dir) =>
      spawnServer({
        command: process.execPath,
        args: ['--import', tsxLoaderUrl, `${src}/main.ts`, 'serve', '--dir', dir, '--port', '0', '--host', '127.0.0.1', '--auto-create-topics', '--default-partitions', '1'],
        readyPattern: /listening on [^\s:]+:(\d+)/,
      }),
    createProducer: (port): Promise<BenchProducer> => topicProducer(new Producer({ host: '127.0.0.1', port, clientId: 'bench', ...realSeams() }), BENCH_TOPIC),
    async createConsumer(port): Promise<BenchConsumer> {
      const consumer = new Consumer({ host: '127.0.0.1', port, topic: BENCH_TOPIC, partition: 0, fromOffset: 0, maxWaitMs: 100, ...realSeams() });
      await consumer.connect();
      return benchConsumer(consumer);
    },
    async openEmbeddedLog(dir): Promise<EmbeddedLog> {
      return embeddedLog(await Log.open(new FsStorage(), dir));
    },
  };
}
