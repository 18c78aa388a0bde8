/**
 * Phase 2 adapter: the first phase with a broker. Served mode starts
 * `node --import <tsx loader> phases/02-wire/src/main.ts serve --dir D --port 0` as its own process and
 * drives it with phase 2's own client library: one `Producer` (one TCP connection)
 * per benchmark producer, `send({ messages })` resolving once the broker has appended
 * and fsynced the batch. Lingering is left at its default (0): in the closed loop each
 * producer has one record outstanding, so every send is its own request.
 * Embedded mode opens phase 2's Log (phase 1's, re-exported) in-process.
 */
import { Consumer } from '../../../phases/02-wire/src/client/consumer.ts';
import { Producer } from '../../../phases/02-wire/src/client/producer.ts';
import { Log } from '../../../phases/02-wire/src/log/log.ts';
import { FsStorage } from '../../../phases/02-wire/src/seams/storage.ts';
import { realSeams } from '../../../phases/02-wire/src/seams/real.ts';
import { spawnPhaseBroker } from '../broker-process.ts';
import { benchConsumer, embeddedLog } from './common.ts';
import type { BenchConsumer, BenchProducer, EmbeddedLog, TargetAdapter } from './types.ts';

/** The phase-2 adapter. */
export const adapter: TargetAdapter = {
  key: 'phase02',
  phase: 2,
  label: 'phase 2 broker',
  ack: "after the broker's fsync (phase 2: one append + fsync per produce request)",
  startBroker: (dir) => spawnPhaseBroker('phases/02-wire/src/main.ts', dir),
  async createProducer(port): Promise<BenchProducer> {
    const producer = new Producer({ host: '127.0.0.1', port, clientId: 'bench', ...realSeams() });
    await producer.connect();
    return {
      send: async (values) => {
        await producer.send({ messages: values.map((value) => ({ value })) });
      },
      close: () => producer.disconnect(),
    };
  },
  async createConsumer(port): Promise<BenchConsumer> {
    const consumer = new Consumer({ host: '127.0.0.1', port, fromOffset: 0, maxWaitMs: 100, ...realSeams() });
    await consumer.connect();
    return benchConsumer(consumer);
  },
  async openEmbeddedLog(dir): Promise<EmbeddedLog> {
    return embeddedLog(await Log.open(new FsStorage(), dir));
  },
};
