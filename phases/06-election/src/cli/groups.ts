/**
 * The client commands this phase adds, on the seams main.ts hands in:
 *
 *   consume --group G   join group G, print `<partition>\t<offset>\t<value>` per record,
 *                       commit as it goes; after `--max M` records (or on SIGINT/SIGTERM)
 *                       commit and leave the group
 *   groups              one line per group: `<group>\t<state>\t<members>`
 *   describe-group      the group's state, then one row per partition like Kafka's
 *                       `kafka-consumer-groups.sh --describe`: committed offset, log end
 *                       offset, lag, and the member that owns it
 *
 * `consume --group` extends phase 3's `consume` (clients.ts, unchanged) with the
 * option rather than editing it: `withGroupOption` wraps that command.
 *
 * Records go to stdout; narration (joins, assignments) goes to stderr, one line each,
 * so scripts and tests can follow the group's rebalances without parsing the records.
 */
import { Admin } from '../client/admin.ts';
import { BrokerPool } from '../client/brokers.ts';
import { Connection } from '../client/connection.ts';
import { throwIfError } from '../client/errors.ts';
import { GroupConsumer } from '../client/group-consumer.ts';
import { DescribeGroups } from '../protocol/describe-groups.ts';
import { FindCoordinator } from '../protocol/find-coordinator.ts';
import { type TopicPartition, tpKey } from '../topics/partition.ts';
import { ListGroups } from '../protocol/list-groups.ts';
import type { Seams } from '../seams/real.ts';
import { type ClientServers, SERVER_OPTIONS, clientServers, describeFailure, requireTopic } from './clients.ts';
import { type Command, type OptionValues, UsageError, announcePid, integerOption, writeOut } from './options.ts';

/** Options of `consume --group`. */
export interface GroupConsumeOptions {
  /** Where the brokers are: `--host`/`--port` or `--bootstrap-server`. */
  servers: ClientServers;
  topic: string;
  groupId: string;
  /** Stop (commit, leave) after this many records; undefined = until `signal`. */
  max: number | undefined;
  /** Where a partition with no committed offset starts. */
  fromLatest: boolean;
  sessionTimeoutMs: number | undefined;
  /** The clock and transport the consumer runs on. */
  seams: Seams;
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
  const probe = new Admin({ ...opts.seams, ...opts.servers, clientId: 'cli-consumer' });
  await probe.connect();
  try {
    await probe.describeTopic(opts.topic);
  } finally {
    await probe.disconnect();
  }
  const consumer = new GroupConsumer({
    ...opts.seams,
    ...opts.servers,
    groupId: opts.groupId,
    clientId: 'cli-consumer',
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
 * Run `use` on a connection to the coordinator of `groupId` (FindCoordinator on any
 * broker; in a phase-5 cluster, the cluster file's first broker).
 */
async function withCoordinator(seams: Seams, servers: ClientServers, groupId: string, clientId: string, use: (conn: Connection) => Promise<void>): Promise<void> {
  const pool = new BrokerPool({ client: { ...seams, ...servers, clientId }, kind: clientId });
  await pool.connect();
  try {
    const found = await (await pool.anyConnection()).request(FindCoordinator, { groupId });
    throwIfError(found);
    const conn = await Connection.connect({ ...seams, host: found.host, port: found.port, clientId });
    try {
      await use(conn);
    } finally {
      await conn.close();
    }
  } finally {
    await pool.close();
  }
}

/**
 * `groups` against a cluster: ListGroups on every broker (each coordinates its own
 * groups; in phase 5 the first broker has them all), merged by group id. A broker that
 * does not answer is named on stderr and skipped; if none answers, the error is thrown.
 */
async function listGroupsEverywhere(seams: Seams, servers: ClientServers, out: (line: string) => void, warn: (line: string) => void): Promise<void> {
  const pool = new BrokerPool({ client: { ...seams, ...servers, clientId: 'cli-groups' }, kind: 'cli-groups' });
  await pool.connect();
  try {
    await pool.metadata.allTopics(); // learn the brokers
    const lines = new Map<string, string>();
    const failures: unknown[] = [];
    for (const b of pool.metadata.brokers) {
      try {
        await listGroups(await pool.connectionTo(b.nodeId), (line) => void lines.set(line.split('\t')[0] ?? line, line));
      } catch (err) {
        failures.push(err);
        warn(`broker ${b.nodeId} did not answer ListGroups: ${describeFailure(err)}`);
      }
    }
    if (failures.length > 0 && failures.length === pool.metadata.brokers.length) throw failures[0];
    for (const id of [...lines.keys()].sort()) out(lines.get(id) ?? '');
  } finally {
    await pool.close();
  }
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

/**
 * `consume` with `--group` added: given the group, the command joins it
 * (`consumeWithGroup`); without, `--from-latest` and `--session-timeout-ms` are usage
 * errors and `consume` (phase 3's, from clients.ts) runs as before.
 * @example
 * const consume = withGroupOption(clientCommands(seams).consume, seams);
 */
export function withGroupOption(consume: Command, seams: Seams): Command {
  return {
    name: consume.name,
    usage: `${consume.usage}
  consume --topic T --group G [--max M] [--from-latest] [--session-timeout-ms N] [--port P] [--host H]
          [--bootstrap-server H:P,...]
                       join consumer group G and print its share of the records as
                       <partition><TAB><offset><TAB><value>, committing as it goes; after
                       M records (or on SIGINT/SIGTERM) commit and leave the group. A
                       partition with no committed offset starts at the earliest offset
                       (--from-latest: at the end). Joins and assignments go to stderr`,
    options: { ...consume.options, group: { type: 'string' }, 'from-latest': { type: 'boolean' }, 'session-timeout-ms': { type: 'string' } },
    async run(values) {
      if (values.group !== undefined) return await consumeAsMember(values, seams);
      for (const option of ['from-latest', 'session-timeout-ms']) {
        if (values[option] !== undefined) throw new UsageError(`--${option} needs --group`);
      }
      await consume.run(values);
    },
  };
}

/** `consume --group`: a group member; the group decides the partitions and where to start. */
async function consumeAsMember(values: OptionValues, seams: Seams): Promise<void> {
  for (const option of ['partition', 'from', 'follow']) {
    if (values[option] !== undefined) throw new UsageError(`--${option} cannot be used with --group: the group assigns partitions and remembers offsets`);
  }
  const groupId = values.group;
  if (typeof groupId !== 'string' || groupId === '') throw new UsageError('--group must not be empty');
  const stop = new AbortController();
  const abort = (): void => stop.abort();
  process.once('SIGINT', abort);
  process.once('SIGTERM', abort);
  // Once it has joined, it runs until stopped: say first which process to `kill` (or `kill -9`).
  let announced = false;
  try {
    await consumeWithGroup(
      {
        servers: clientServers(values),
        topic: requireTopic(values, 'consume'),
        groupId,
        max: integerOption(values, 'max', 0),
        fromLatest: values['from-latest'] === true,
        sessionTimeoutMs: integerOption(values, 'session-timeout-ms', 1),
        seams,
        signal: stop.signal,
      },
      (line) => writeOut(`${line}\n`),
      (line) => {
        if (!announced) announcePid();
        announced = true;
        process.stderr.write(`${line}\n`);
      },
    );
  } finally {
    process.off('SIGINT', abort);
    process.off('SIGTERM', abort);
  }
}

/** The two commands `groupCommands` makes. */
export interface GroupCommands {
  readonly groups: Command;
  readonly describeGroup: Command;
}

/**
 * `groups` and `describe-group`, reaching the broker through `seams`.
 * @example
 * const { groups, describeGroup } = groupCommands(realSeams());
 */
export function groupCommands(seams: Seams): GroupCommands {
  const groups: Command = {
    name: 'groups',
    usage: `  groups [--port P] [--host H] [--bootstrap-server H:P,...]
                       print one line per consumer group: <group><TAB><state><TAB><members>`,
    options: { ...SERVER_OPTIONS },
    async run(values) {
      const lines: string[] = [];
      await listGroupsEverywhere(seams, clientServers(values), (line) => void lines.push(line), (line) => process.stderr.write(`${line}\n`));
      if (lines.length > 0) await writeOut(`${lines.join('\n')}\n`);
    },
  };

  const describe: Command = {
    name: 'describe-group',
    usage: `  describe-group --group G [--port P] [--host H] [--bootstrap-server H:P,...]
                       print G's state and generation, then per partition its committed
                       offset, log end offset, lag and owner (kafka-consumer-groups.sh --describe)`,
    options: { ...SERVER_OPTIONS, group: { type: 'string' } },
    async run(values) {
      const groupId = values.group;
      if (typeof groupId !== 'string' || groupId === '') throw new UsageError('describe-group needs --group <group>');
      const servers = clientServers(values);
      const lines: string[] = [];
      await withCoordinator(seams, servers, groupId, 'cli-describe-group', (conn) => describeGroup(conn, groupId, (line) => void lines.push(line)));
      await writeOut(`${lines.join('\n')}\n`);
    },
  };

  return { groups, describeGroup: describe };
}
