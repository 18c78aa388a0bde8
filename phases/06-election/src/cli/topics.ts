/**
 * Phase 3's topic commands, talking to a broker as an admin client:
 *
 *   create-topic    create a topic with N partitions (CreateTopics)
 *   topics          list the broker's topics, partitions and settings (Metadata)
 *   describe-topic  (phase 5) one line per partition: leader, replicas, ISR, HW, LEO
 *
 * and `dump`'s view of a broker's data directory: the topic registry, then every
 * partition's log (main.ts hands `DATA_DIR_DUMP` to phase 1's `logCommands`).
 */
import { Admin, type PartitionDescription } from '../client/admin.ts';
import { dumpLines } from '../demos/dump.ts';
import { dumpDataDirLines, isDataDir } from '../demos/topics-dump.ts';
import type { Seams } from '../seams/real.ts';
import { SERVER_OPTIONS, clientServers, describeFailure, requireTopic } from './clients.ts';
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

/** The commands `topicCommands` makes. */
export interface TopicCommands {
  readonly createTopic: Command;
  readonly topics: Command;
  readonly describeTopic: Command;
}

/**
 * `describe-topic`'s output: one tab-separated line per partition, in the shape of
 * `kafka-topics.sh --describe` plus the leader's high watermark and log end offset. A
 * value the leader could not be asked for is `-`; a partition without a leader says
 * `Leader: none`, as Kafka does. Under a controller (phase 6) the leader epoch follows the
 * leader (`LeaderEpoch: e`), and an offline partition says `Leader: -1`.
 * @example
 * describeTopicLines('t', [{ partition: 0, leaderId: 1, leaderEpoch: -1, replicas: [1, 2, 3], isr: [1, 2], highWatermark: 5, logEndOffset: 7, error: null }])
 * // ['Topic: t\tPartition: 0\tLeader: 1\tReplicas: 1,2,3\tIsr: 1,2\tHighWatermark: 5\tLogEndOffset: 7']
 */
export function describeTopicLines(topic: string, partitions: readonly PartitionDescription[]): string[] {
  return partitions.map((p) =>
    [
      `Topic: ${topic}`,
      `Partition: ${p.partition}`,
      // Phase 6 (epochs known): Kafka's -1 for an offline partition, then the leader epoch.
      ...(p.leaderEpoch >= 0 ? [`Leader: ${p.leaderId}`, `LeaderEpoch: ${p.leaderEpoch}`] : [`Leader: ${p.leaderId < 0 ? 'none' : p.leaderId}`]),
      `Replicas: ${p.replicas.join(',')}`,
      `Isr: ${p.isr === null ? '-' : p.isr.join(',')}`,
      `HighWatermark: ${p.highWatermark ?? '-'}`,
      `LogEndOffset: ${p.logEndOffset ?? '-'}`,
    ].join('\t'),
  );
}

/**
 * `create-topic` and `topics`, reaching the broker through `seams`.
 * @example
 * const { createTopic, topics } = topicCommands(realSeams());
 */
export function topicCommands(seams: Seams): TopicCommands {
  const createTopic: Command = {
    name: 'create-topic',
    usage: `  create-topic --name T --partitions N [--replication-factor R] [--min-insync-replicas M]
          [--segment-bytes N] [--retention-bytes N] [--port P] [--host H] [--bootstrap-server H:P,...]
                       create topic T with N partitions (and its own segment size and
                       retention, Kafka's segment.bytes and retention.bytes;
                       write --retention-bytes=-1 for unlimited). Under a controller
                       (phase 6) R replicas each (default min(3, brokers)) and acks=all
                       needing M in sync (default 1). A phase-5 cluster refuses: its
                       topics are the cluster file's`,
    options: {
      ...SERVER_OPTIONS,
      name: { type: 'string' },
      partitions: { type: 'string' },
      'segment-bytes': { type: 'string' },
      'retention-bytes': { type: 'string' },
      'replication-factor': { type: 'string' },
      'min-insync-replicas': { type: 'string' },
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
      // Phase 6: carried as topic configs; the controller takes the replication factor and keeps min.insync.replicas.
      const configEntries: { name: string; value: string }[] = [];
      const rf = integerOption(values, 'replication-factor', 1);
      if (rf !== undefined) configEntries.push({ name: 'replication.factor', value: String(rf) });
      const minIsr = integerOption(values, 'min-insync-replicas', 1);
      if (minIsr !== undefined) configEntries.push({ name: 'min.insync.replicas', value: String(minIsr) });
      if (rf !== undefined && minIsr !== undefined && minIsr > rf) throw new UsageError(`--min-insync-replicas ${minIsr} cannot exceed --replication-factor ${rf}`);
      const admin = new Admin({ ...seams, ...clientServers(values), clientId: 'cli-create-topic' });
      await admin.connect();
      try {
        await admin.createTopic({ topic: name, numPartitions, segmentBytesMax, retentionBytesMax, ...(configEntries.length > 0 ? { configEntries } : {}) });
      } finally {
        await admin.disconnect();
      }
      process.stderr.write(`created topic ${name} with ${numPartitions} partition${numPartitions === 1 ? '' : 's'}\n`);
    },
  };

  const topics: Command = {
    name: 'topics',
    usage: `  topics [--port P] [--host H] [--bootstrap-server H:P,...]
                       print one line per topic: <topic><TAB><partitions>[<TAB>settings]`,
    options: { ...SERVER_OPTIONS },
    async run(values) {
      const admin = new Admin({ ...seams, ...clientServers(values), clientId: 'cli-topics' });
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

  const describeTopic: Command = {
    name: 'describe-topic',
    usage: `  describe-topic --topic T [--bootstrap-server H:P,...] [--port P] [--host H]
                       print one line per partition, as kafka-topics.sh --describe:
                       Topic: T<TAB>Partition: p<TAB>Leader: n<TAB>Replicas: 1,2,3<TAB>
                       Isr: 1,2<TAB>HighWatermark: h<TAB>LogEndOffset: e, the ISR, HW and
                       LEO as the partition's leader reports them (- if it cannot be reached)`,
    options: { ...SERVER_OPTIONS, topic: { type: 'string' } },
    async run(values) {
      const topic = requireTopic(values, 'describe-topic');
      const admin = new Admin({ ...seams, ...clientServers(values), clientId: 'cli-describe-topic' });
      await admin.connect();
      let partitions: PartitionDescription[];
      try {
        partitions = await admin.describePartitions(topic);
      } finally {
        await admin.disconnect();
      }
      const lines = describeTopicLines(topic, partitions);
      if (lines.length > 0) await writeOut(`${lines.join('\n')}\n`);
      // A leader that did not answer: its partitions show '-', and stderr says why.
      const unreachable = new Map<string, number[]>();
      for (const p of partitions) if (p.error !== null) unreachable.set(describeFailure(p.error), [...(unreachable.get(describeFailure(p.error)) ?? []), p.partition]);
      for (const [why, list] of unreachable) process.stderr.write(`partitions ${list.join(',')}: no answer from the leader: ${why}\n`);
    },
  };

  return { createTopic, topics, describeTopic };
}
