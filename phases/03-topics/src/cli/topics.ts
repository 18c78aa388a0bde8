/**
 * Phase 3's topic commands, talking to a broker as an admin client:
 *
 *   create-topic  create a topic with N partitions (CreateTopics)
 *   topics        list the broker's topics, partitions and settings (Metadata)
 *
 * and `dump`'s view of a broker's data directory: the topic registry, then every
 * partition's log (main.ts hands `DATA_DIR_DUMP` to phase 1's `logCommands`).
 */
import { Admin } from '../client/admin.ts';
import { dumpLines } from '../demos/dump.ts';
import { dumpDataDirLines, isDataDir } from '../demos/topics-dump.ts';
import type { Seams } from '../seams/real.ts';
import { clientAddress } from './clients.ts';
import type { DumpFormat } from './log.ts';
import { type Command, UsageError, integerOption, writeOut } from './options.ts';

/** `dump` since phase 3: a broker's data directory (it has a topic registry), or one log directory (from `append`). */
export const DATA_DIR_DUMP: DumpFormat = {
  usage: `  dump --dir D         print segments, index entries, batches and records, like
                       kafka-dump-log.sh; changes nothing on disk. On a broker's
                       --dir: the topic registry, then every partition`,
  async *lines(storage, dir) {
    const dataDir = await isDataDir(storage, dir);
    yield* dataDir ? dumpDataDirLines(storage, dir) : dumpLines(storage, dir);
  },
};

/** The two commands `topicCommands` makes. */
export interface TopicCommands {
  readonly createTopic: Command;
  readonly topics: Command;
}

/**
 * `create-topic` and `topics`, reaching the broker through `seams`.
 * @example
 * const { createTopic, topics } = topicCommands(realSeams());
 */
export function topicCommands(seams: Seams): TopicCommands {
  const createTopic: Command = {
    name: 'create-topic',
    usage: `  create-topic --name T --partitions N [--segment-bytes N] [--retention-bytes N] [--port P] [--host H]
                       create topic T with N partitions (and its own segment size and
                       retention, Kafka's segment.bytes and retention.bytes;
                       write --retention-bytes=-1 for unlimited)`,
    options: {
      port: { type: 'string' },
      host: { type: 'string' },
      name: { type: 'string' },
      partitions: { type: 'string' },
      'segment-bytes': { type: 'string' },
      'retention-bytes': { type: 'string' },
    },
    async run(values) {
      const name = values.name;
      if (typeof name !== 'string') throw new UsageError('create-topic needs --name <topic>');
      const numPartitions = integerOption(values, 'partitions', 1);
      if (numPartitions === undefined) throw new UsageError('create-topic needs --partitions <count>');
      const segmentBytesMax = integerOption(values, 'segment-bytes', 1);
      const retentionText = values['retention-bytes'];
      // -1 (unlimited) is a legal retention, so this one option takes a sign.
      let retentionBytesMax: number | undefined;
      if (typeof retentionText === 'string') {
        retentionBytesMax = Number(retentionText);
        if (!/^-?\d+$/.test(retentionText) || !Number.isSafeInteger(retentionBytesMax) || retentionBytesMax < -1) {
          throw new UsageError(`--retention-bytes must be -1 (unlimited) or an integer >= 0, got '${retentionText}'`);
        }
      }
      const admin = new Admin({ ...seams, ...clientAddress(values), clientId: 'cli-create-topic' });
      await admin.connect();
      try {
        await admin.createTopic({ topic: name, numPartitions, segmentBytesMax, retentionBytesMax });
      } finally {
        await admin.disconnect();
      }
      process.stderr.write(`created topic ${name} with ${numPartitions} partition${numPartitions === 1 ? '' : 's'}\n`);
    },
  };

  const topics: Command = {
    name: 'topics',
    usage: `  topics [--port P] [--host H]
                       print one line per topic: <topic><TAB><partitions>[<TAB>settings]`,
    options: { port: { type: 'string' }, host: { type: 'string' } },
    async run(values) {
      const admin = new Admin({ ...seams, ...clientAddress(values), clientId: 'cli-topics' });
      await admin.connect();
      try {
        const list = await admin.listTopics();
        const out = list.map((t) => {
          const settings = t.configs.map((c) => `${c.name}=${c.value ?? 'default'}`).join(',');
          return `${t.topic}\t${t.partitions}${settings === '' ? '' : `\t${settings}`}`;
        });
        if (out.length > 0) await writeOut(`${out.join('\n')}\n`);
      } finally {
        await admin.disconnect();
      }
    },
  };

  return { createTopic, topics };
}
