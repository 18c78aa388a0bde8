/**
 * The CLI commands this phase adds, called by main.ts with parsed options:
 *
 *   consume --group G   join group G, print `<partition>\t<offset>\t<value>` per record,
 *                       commit as it goes; after `--max M` records (or on SIGINT/SIGTERM)
 *                       commit and leave the group
 *   groups              one line per group: `<group>\t<state>\t<members>`
 *   describe-group      the group's state, then one row per partition like Kafka's
 *                       `kafka-consumer-groups.sh --describe`: committed offset, log end
 *                       offset, lag, and the member that owns it
 *
 * Records go to stdout; narration (joins, assignments) goes to stderr, one line each,
 * so scripts and tests can follow the group's rebalances without parsing the records.
 */
import type { Clock } from '../seams/clock.ts';
import { Connection } from '../client/connection.ts';
import { throwIfError } from '../client/errors.ts';
import { GroupConsumer } from '../client/group-consumer.ts';
import { MetadataCache } from '../client/metadata.ts';
import { DescribeGroups } from '../protocol/describe-groups.ts';
import { type TopicPartition, tpKey } from '../topics/partition.ts';
import { ListGroups } from '../protocol/list-groups.ts';
import { realSeams } from '../seams/real.ts';

/** Options of `consume --group`. */
export interface GroupConsumeOptions {
  host: string;
  port: number;
  topic: string;
  groupId: string;
  /** Stop (commit, leave) after this many records; undefined = until `signal`. */
  max: number | undefined;
  /** Where a partition with no committed offset starts. */
  fromLatest: boolean;
  sessionTimeoutMs: number | undefined;
  clock: Clock;
  /** Aborted on SIGINT/SIGTERM: commit and leave, exit 0. */
  signal: AbortSignal;
}

const formatPartitions = (list: readonly TopicPartition[]): string => (list.length === 0 ? '(none)' : list.map((p) => `${p.topic}-${p.partition}`).join(' '));

/**
 * `consume --group`: run a group consumer until `max` records or the signal.
 * @example
 * await consumeWithGroup({ host: '127.0.0.1', port: 9092, topic: 't', groupId: 'g', max: 10, ... }, console.log, console.error);
 */
export async function consumeWithGroup(opts: GroupConsumeOptions, out: (line: string) => Promise<void> | void, say: (line: string) => void): Promise<void> {
  // A group subscribed to a missing topic would wait, assigned nothing, forever (KafkaJS
  // does the same). A command line should say so instead, like plain `consume` does:
  // UNKNOWN_TOPIC_OR_PARTITION, exit 1, before joining (and creating) the group.
  const probe = await Connection.connect({ ...realSeams(), host: opts.host, port: opts.port, clientId: 'cli-consumer' });
  try {
    await new MetadataCache(() => probe, opts.clock).topic(opts.topic);
  } finally {
    await probe.close();
  }
  const consumer = new GroupConsumer({ ...realSeams(),
    host: opts.host,
    port: opts.port,
    groupId: opts.groupId,
    clientId: 'cli-consumer',
    clock: opts.clock,
    ...(opts.sessionTimeoutMs === undefined ? {} : { sessionTimeoutMs: opts.sessionTimeoutMs }),
  });
  await consumer.connect();
  consumer.subscribe({ topic: opts.topic, fromBeginning: !opts.fromLatest });
  consumer.on('group.join', (e) => {
    if (e.lost) say(`lost our partitions (removed from the group); rejoined as ${e.memberId}`);
    if (e.revoked.length > 0) say(`revoked ${formatPartitions(e.revoked)} (committed first)`);
    say(`joined group ${e.groupId} generation ${e.generation} as ${e.memberId}: assigned ${formatPartitions(e.assignment)}`);
  });
  const stop = (): void => consumer.stop();
  opts.signal.addEventListener('abort', stop, { once: true });
  if (opts.signal.aborted) stop();
  let seen = 0;
  try {
    if (opts.max !== 0) {
      await consumer.run({
        autoCommitIntervalMs: 200,
        eachMessage: async ({ partition, message }) => {
          await out(`${partition}\t${message.offset}\t${message.value === null ? 'null' : message.value.toString('utf8')}`);
          seen += 1;
          if (opts.max !== undefined && seen >= opts.max) consumer.stop();
        },
      });
    }
  } finally {
    opts.signal.removeEventListener('abort', stop);
    await consumer.disconnect();
  }
  say(`consumed ${seen} records; committed and left group ${opts.groupId}`);
}

/** `groups`: one line per group, `<group>\t<state>\t<members>`. */
export async function listGroups(conn: Connection, out: (line: string) => void): Promise<void> {
  const res = await conn.request(ListGroups, {});
  throwIfError(res);
  for (const g of res.groups) out(`${g.groupId}\t${g.state}\t${g.members}`);
}

/**
 * `describe-group`: a summary line, then a table with one row per partition (those
 * assigned to a member, and those with a committed offset), like Kafka's
 * `kafka-consumer-groups.sh --describe`. `-` marks "nothing committed" / "no owner".
 */
export async function describeGroup(conn: Connection, groupId: string, out: (line: string) => void): Promise<void> {
  const res = await conn.request(DescribeGroups, { groupId });
  throwIfError(res);
  out(`group ${groupId}: state ${res.state}, generation ${res.generation}, ${res.members.length} member(s)`);
  const owner = new Map<string, { memberId: string; clientId: string }>();
  for (const m of res.members) for (const tp of m.assignment) owner.set(tpKey(tp), m);
  const rows = [['TOPIC', 'PARTITION', 'CURRENT-OFFSET', 'LOG-END-OFFSET', 'LAG', 'CONSUMER-ID', 'CLIENT-ID']];
  for (const p of res.partitions) {
    const o = owner.get(tpKey(p));
    const committed = p.committed >= 0 ? String(p.committed) : '-';
    const lag = p.logEndOffset >= 0 && p.committed >= 0 ? String(p.logEndOffset - p.committed) : '-';
    rows.push([p.topic, String(p.partition), committed, p.logEndOffset >= 0 ? String(p.logEndOffset) : '-', lag, o?.memberId ?? '-', o?.clientId ?? '-']);
  }
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
  for (const r of rows) out(r.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ').trimEnd());
}
