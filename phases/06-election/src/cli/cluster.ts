/**
 * `cluster`: a whole phase-6 cluster on one machine, for trying leader election by hand.
 * It starts this command line's `controller` as one OS process (metadata log in
 * `D/controller`), then N brokers as N more (`serve --controller H:P --id N --dir
 * D/brokerN --port P`), all under the same loader this process runs under, and prints
 * each one's pid and address, and for each broker the `serve` line that restarts it by
 * hand. Once all N brokers are registered with the controller it creates topic `demo`
 * through a broker (CreateTopics: 3 partitions, replication factor min(3, N),
 * min.insync.replicas min(2, N)); the controller assigns the replicas and elects every
 * partition's first replica leader, in epoch 0.
 *
 * Then a live table, built from Metadata answers: one line per process (the controller
 * and each broker: pid, address, up, fenced, not answering or down), and one per
 * partition: its leader and leader epoch, replicas and ISR as the controller has them
 * (the controller answers Metadata too; if it does not, as the brokers last heard them
 * from it), and each broker's own replica's high watermark and log end offset (`HW/LEO`).
 * Whenever the controller's answer shows a partition with another leader or epoch, or
 * another ISR, an event line says so: `demo-1: leader 3 -> 1, epoch 0 -> 1; ISR 3,1,2 -> 1,2`.
 * So do the controller fencing or unfencing a broker, and a process exiting.
 *
 * What to try: `kill -9` the pid of a partition's leader. Its row shows DOWN; within the
 * controller's session timeout (1 s) it stops heartbeating and is fenced, the controller
 * elects the next in-sync replica, the partition's epoch rises by one, and the ISR
 * shrinks to the survivors. Produce to `demo` meanwhile (`produce --topic demo --port P`
 * of a live broker, acks=all) and the HW keeps rising on the survivors only. Then restart
 * the killed broker by hand with the `serve` line printed for it (same id, data directory
 * and port): it registers again, truncates its log by leader epoch, catches up and
 * rejoins the ISR; its row then says it was restarted by hand (the supervisor never
 * restarts anything itself, so what happens is election's doing, not ours). Killing the
 * controller stops elections: the table falls back on the brokers' last view.
 *
 * On a terminal the table is redrawn in place about twice a second, the last events
 * under it; otherwise (a pipe, a file, a test) it is printed as plain lines whenever it
 * changes, and at least every few seconds, and each event as a line as it happens. Each
 * child's own output goes to `D/controller.log` and `D/brokerN.log`, so it never tears
 * the table.
 *
 * Ctrl-C, SIGTERM or SIGHUP stops every child that is still running, by pid, with
 * SIGTERM (a graceful shutdown): the brokers first, then the controller, waiting for each
 * to exit (SIGKILL after a deadline, or at once on a second signal). When every broker
 * has exited on its own, `cluster` stops the controller and exits with status 1. The
 * children run in their own process groups, so a terminal's Ctrl-C reaches only the
 * supervisor and each child is stopped exactly once. If the supervisor itself is killed
 * with SIGKILL, nothing can stop the children for it: the pids it printed are what to
 * `kill` then. The data stays in `D`: run `cluster` on the same `D` again and the
 * controller replays its metadata log (topic `demo` is then kept as it is).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync, writeSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Admin } from '../client/admin.ts';
import { Connection } from '../client/connection.ts';
import { BrokerError, TopicExistsBrokerError } from '../client/errors.ts';
import { Metadata, type MetadataResponse, type PartitionMetadata } from '../protocol/metadata.ts';
import { CLUSTER_LIMITS } from '../replication/cluster-file.ts';
import type { Clock, TimerHandle } from '../seams/clock.ts';
import type { Seams } from '../seams/real.ts';
import { mkdirDurable } from '../seams/storage.ts';
import { type Command, CommandError, UsageError, firstLine, integerOption, writeOut } from './options.ts';

/** This phase's command line, which each child process runs (`controller`, `serve --controller`). */
const MAIN = fileURLToPath(new URL('../main.ts', import.meta.url));
/** The phase number, for the `npm run phase N -- serve ...` lines (null: print a `node` line instead). */
const PHASE = ((): string | null => {
  const m = /[\\/]phases[\\/](\d+)-[^\\/]+[\\/]src[\\/]main\.ts$/.exec(MAIN);
  return m === null ? null : String(Number(m[1]));
})();
/** The one topic the command creates. */
export const CLUSTER_TOPIC = 'demo';
/** At most this many brokers (as phase 5's cluster file). */
const BROKERS_MAX = CLUSTER_LIMITS.brokersMax;
/** How often the table is refreshed from Metadata. */
const REFRESH_MS = 500;
/** How long one process may take to answer Metadata before the table shows it as not answering. */
const METADATA_TIMEOUT_MS = 1000;
/** Without a terminal the table is printed when it changes, and at least this often. */
const PLAIN_REPRINT_MS = 5000;
/** How long a child may take to print `listening on`. */
const START_TIMEOUT_MS = 30_000;
/** How long the brokers may take to register, and CreateTopics to succeed. */
const TOPIC_DEADLINE_MS = 30_000;
/** Pause between two registration checks, or two CreateTopics tries. */
const TOPIC_RETRY_MS = 200;
/** After SIGTERM, how long a child may take to shut down before SIGKILL (serve's own deadline is 10 s). */
const STOP_DEADLINE_MS = 15_000;
/** Events kept under the table on a terminal. */
const EVENTS_SHOWN = 8;

/** What the table knows of one process: the controller, or a broker. */
export interface ProcessView {
  readonly host: string;
  readonly port: number;
  readonly pid: number;
  /** Null while it runs; else how it ended (`exit code 1`, `signal SIGKILL`). */
  readonly exited: string | null;
  /** Its last Metadata answer (from whatever answers at its address), or null if none at the last refresh. */
  readonly metadata: MetadataResponse | null;
  /** Why the last refresh got no answer from it. */
  readonly error: string | null;
}

/** A broker process, as the table knows it. */
export interface BrokerView extends ProcessView {
  readonly id: number;
}

/** The partitions of `topic` as one answer has them, or null if it does not describe the topic. */
function partitionsIn(md: MetadataResponse | null, topic: string): readonly PartitionMetadata[] | null {
  const t = md?.topics.find((x) => x.topic === topic);
  return t === undefined || t.errorCode !== 0 ? null : [...t.partitions].sort((a, b) => a.partition - b.partition);
}

/**
 * Leader, epoch, replicas and ISR of every partition of `topic`, and whose answer they
 * come from: the controller's if it answers; else the broker whose copy of the metadata
 * log is furthest along (the highest epochs); null if nobody describes the topic.
 * @example partitionStates('demo', controller, brokers) // { partitions: [...], source: null }
 */
export function partitionStates(topic: string, controller: ProcessView, brokers: readonly BrokerView[]): { partitions: readonly PartitionMetadata[]; source: string | null } | null {
  const fromController = partitionsIn(controller.metadata, topic);
  if (fromController !== null) return { partitions: fromController, source: null };
  let best: { partitions: readonly PartitionMetadata[]; source: string; epochs: number } | null = null;
  for (const b of brokers) {
    const partitions = partitionsIn(b.metadata, topic);
    if (partitions === null) continue;
    const epochs = partitions.reduce((sum, p) => sum + p.leaderEpoch, 0);
    if (best === null || epochs > best.epochs) best = { partitions, source: `broker ${b.id}`, epochs };
  }
  return best === null ? null : { partitions: best.partitions, source: best.source };
}

const pad = (rows: readonly string[][]): string[] => {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)));
  return rows.map((row) => row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i] ?? 0))).join('  '));
};

/** A leader id as the table and the events show it: `none` for an offline partition. */
const leaderText = (id: number): string => (id < 0 ? 'none' : String(id));

/** One process's STATE cell. `fenced`: the controller answers and does not count this broker as unfenced. */
function stateText(p: ProcessView, fenced: boolean): string {
  const answering = p.metadata !== null;
  if (p.exited !== null) return answering ? `restarted by hand${fenced ? ', fenced' : ''} (our pid exited: ${p.exited})` : `DOWN (${p.exited}; not restarted)`;
  if (!answering) return `up, not answering${p.error === null ? '' : ` (${p.error})`}`;
  return fenced ? 'up, fenced' : 'up';
}

/**
 * The table's lines: one per process (pid, address, state), then one per partition:
 * leader, leader epoch, replicas and ISR (the controller's; a last line says so when they
 * are a broker's instead), and each broker's `HW/LEO` of its own replica (`-` not a
 * replica, `none` a replica it does not hold yet, `down`, `?` no answer).
 * @example clusterTable('demo', controllerView, brokerViews) // ['PROCESS     PID ...', ...]
 */
export function clusterTable(topic: string, controller: ProcessView, brokers: readonly BrokerView[]): string[] {
  const unfenced = controller.metadata === null ? null : new Set(controller.metadata.brokers.map((b) => b.nodeId));
  const processRows = [
    ['controller', String(controller.pid), `${controller.host}:${controller.port}`, stateText(controller, false)],
    ...brokers.map((b) => [`broker ${b.id}`, String(b.pid), `${b.host}:${b.port}`, stateText(b, unfenced !== null && !unfenced.has(b.id))]),
  ];
  const lines = pad([['PROCESS', 'PID', 'ADDRESS', 'STATE'], ...processRows]);
  const states = partitionStates(topic, controller, brokers);
  if (states === null) return [...lines, `${topic}: no answer describes it yet`];
  const partitionRows = states.partitions.map((p) => {
    const cells = brokers.map((b) => {
      if (!p.replicas.includes(b.id)) return '-';
      const own = partitionsIn(b.metadata, topic)?.find((x) => x.partition === p.partition);
      if (b.metadata === null) return b.exited !== null ? 'down' : '?';
      if (own === undefined) return '?';
      return own.highWatermark < 0 ? 'none' : `${own.highWatermark}/${own.logEndOffset}`;
    });
    return [`${topic}-${p.partition}`, leaderText(p.leaderId), String(p.leaderEpoch), p.replicas.join(','), p.isr.join(','), ...cells];
  });
  return [
    ...lines,
    ...pad([['PARTITION', 'LEADER', 'EPOCH', 'REPLICAS', 'ISR', ...brokers.map((b) => `HW/LEO@${b.id}`)], ...partitionRows]),
    ...(states.source === null ? [] : [`(leader, epoch and ISR as ${states.source} last heard them: the controller does not answer)`]),
  ];
}

/**
 * What changed between two answers about `topic`'s partitions: one line per partition
 * with another leader or epoch (`demo-1: leader 3 -> 1, epoch 0 -> 1`), its ISR change
 * added (`; ISR 3,1,2 -> 1,2`), or another ISR alone (`demo-1: ISR 1,2 -> 1,2,3`).
 * Partitions new in `after` are not reported.
 * @example partitionChanges('demo', before, after) // ['demo-1: leader 3 -> 1, epoch 0 -> 1; ISR 3,1,2 -> 1,2']
 */
export function partitionChanges(topic: string, before: readonly PartitionMetadata[], after: readonly PartitionMetadata[]): string[] {
  const lines: string[] = [];
  for (const p of after) {
    const q = before.find((x) => x.partition === p.partition);
    if (q === undefined) continue;
    const parts: string[] = [];
    if (q.leaderId !== p.leaderId || q.leaderEpoch !== p.leaderEpoch) parts.push(`leader ${leaderText(q.leaderId)} -> ${leaderText(p.leaderId)}, epoch ${q.leaderEpoch} -> ${p.leaderEpoch}`);
    if (q.isr.join(',') !== p.isr.join(',')) parts.push(`ISR ${q.isr.join(',')} -> ${p.isr.join(',')}`);
    if (parts.length > 0) lines.push(`${topic}-${p.partition}: ${parts.join('; ')}`);
  }
  return lines;
}

/** One child process (the controller or a broker) and what the supervisor knows of it. */
interface ChildView extends ProcessView {
  /** `controller` or `broker N`. */
  readonly name: string;
  readonly host: string;
  readonly port: number;
  readonly child: ChildProcess;
  readonly pid: number;
  readonly exitedPromise: Promise<string>;
  exited: string | null;
  conn: Connection | null;
  metadata: MetadataResponse | null;
  error: string | null;
}

interface BrokerChild extends ChildView {
  readonly id: number;
  readonly dataDir: string;
  /** The command line that restarts it by hand, as printed. */
  readonly restartLine: string;
}

/** What `run` hands to `runCluster`. */
interface ClusterPlan {
  readonly dir: string;
  readonly brokers: number;
  /** The controller's port, then each broker's. */
  readonly ports: readonly number[];
  readonly partitions: number;
  readonly replicationFactor: number;
  readonly minInsyncReplicas: number;
  readonly sessionTimeoutMs: number | undefined;
}

/**
 * The `cluster` command; `defaultDir` holds the controller's and the brokers' data
 * directories unless `--dir` says otherwise.
 * @example
 * const cluster = clusterCommand(realSeams(), '/tmp/commitlog-06-cluster');
 */
export function clusterCommand(seams: Seams, defaultDir: string): Command {
  return {
    name: 'cluster',
    usage: `  cluster [--brokers 3] [--dir D] [--base-port P] [--partitions N] [--replication-factor R]
          [--min-insync-replicas M] [--session-timeout-ms N]
                       start a controller (data in D/controller) and that many brokers (serve
                       --controller, data in D/brokerN), each its own process, output in
                       D/<name>.log; the controller on port P, broker N on P+N (default: ports
                       the OS picks); once every broker is registered, create topic ${CLUSTER_TOPIC}
                       (N partitions, default 3). Prints each one's pid and address, the serve
                       line that restarts a broker by hand, then a live table: leader, epoch,
                       ISR, HW/LEO of every replica, and an event line per election or ISR
                       change. A process that dies is shown down and not restarted. Ctrl-C
                       stops every one. Defaults: --dir ${defaultDir},
                       R = min(3, brokers), M = min(2, R), the controller's session timeout`,
    options: {
      brokers: { type: 'string' },
      dir: { type: 'string' },
      'base-port': { type: 'string' },
      partitions: { type: 'string' },
      'replication-factor': { type: 'string' },
      'min-insync-replicas': { type: 'string' },
      'session-timeout-ms': { type: 'string' },
    },
    async run(values) {
      const brokers = integerOption(values, 'brokers', 1) ?? 3;
      if (brokers > BROKERS_MAX) throw new UsageError(`--brokers ${brokers}: a cluster has at most ${BROKERS_MAX} brokers`);
      const dir = resolve(typeof values.dir === 'string' && values.dir !== '' ? values.dir : defaultDir);
      const basePort = integerOption(values, 'base-port', 0) ?? 0;
      if (basePort > 0 && basePort + brokers > 65_535) throw new UsageError(`--base-port ${basePort} leaves no room for a controller and ${brokers} brokers below port 65535`);
      const partitions = integerOption(values, 'partitions', 1) ?? 3;
      if (partitions > 1000) throw new UsageError(`--partitions ${partitions}: a topic has at most 1000 partitions`);
      const replicationFactor = integerOption(values, 'replication-factor', 1) ?? Math.min(3, brokers);
      if (replicationFactor > brokers) throw new UsageError(`--replication-factor ${replicationFactor} needs at least that many brokers, got --brokers ${brokers}`);
      const minInsyncReplicas = integerOption(values, 'min-insync-replicas', 1) ?? Math.min(2, replicationFactor);
      if (minInsyncReplicas > replicationFactor) throw new UsageError(`--min-insync-replicas ${minInsyncReplicas} is more than the replication factor ${replicationFactor}`);
      const sessionTimeoutMs = integerOption(values, 'session-timeout-ms', 10);
      const ports = basePort === 0 ? await freePorts(brokers + 1) : Array.from({ length: brokers + 1 }, (_, i) => basePort + i);
      await runCluster(seams, { dir, brokers, ports, partitions, replicationFactor, minInsyncReplicas, sessionTimeoutMs });
    },
  };
}

/** `count` distinct ports the OS says are free now (each bound to port 0, read, closed). */
async function freePorts(count: number): Promise<number[]> {
  const ports = new Set<number>();
  while (ports.size < count) {
    ports.add(
      await new Promise<number>((resolvePort, reject) => {
        const server = createServer();
        server.once('error', reject);
        server.listen(0, '127.0.0.1', () => {
          const address = server.address();
          const port = typeof address === 'object' && address !== null ? address.port : 0;
          server.close(() => resolvePort(port));
        });
      }),
    );
  }
  return [...ports];
}

/**
 * The Node flags this process runs under (tsx's loader: `--import tsx`, or its full URL
 * when started by `npm run phase` or a test), minus debugger flags, so each child runs
 * exactly as this command line does; `--import tsx` if there are none.
 */
function nodeFlags(): string[] {
  const flags = process.execArgv.filter((f) => !f.startsWith('--inspect'));
  return flags.length > 0 ? flags : ['--import', 'tsx'];
}

/** A word as a POSIX shell reads it back unchanged. */
function shellWord(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`;
}

/** The line a learner types to run this phase's command line with `args`. */
function commandLine(args: readonly string[]): string {
  const words = args.map(shellWord).join(' ');
  return PHASE === null ? `node --import tsx ${shellWord(MAIN)} ${words}` : `npm run phase ${PHASE} -- ${words}`;
}

/** The last lines of a child's log, for an error message. */
function logTail(path: string, lines = 5): string {
  try {
    return readFileSync(path, 'utf8').trimEnd().split('\n').slice(-lines).join(' | ');
  } catch {
    return '';
  }
}

/**
 * Start one child (`args` after main.ts), its output appended to `logPath`, and resolve
 * once it prints `listening on H:P`; rejects (and kills it) if it does not.
 */
async function startChild(clock: Clock, name: string, args: readonly string[], logPath: string): Promise<ChildView> {
  const logFd = openSync(logPath, 'a');
  // detached: its own process group, so a terminal's Ctrl-C reaches only us; we stop it.
  const child = spawn(process.execPath, [...nodeFlags(), MAIN, ...args], { stdio: ['ignore', 'pipe', logFd], detached: true });
  const pid = child.pid;
  if (pid === undefined) {
    closeSync(logFd);
    throw new CommandError(`cannot start ${name}`);
  }
  const exitedPromise = new Promise<string>((resolveExit) => {
    child.once('exit', (code, signal) => resolveExit(signal !== null ? `signal ${signal}` : `exit code ${code ?? '?'}`));
  });
  // 'close' comes after the child's stdout has ended, so nothing is written to the log after this.
  child.once('close', () => closeSync(logFd));
  const stdout = child.stdout;
  if (stdout === null) throw new CommandError(`${name} has no stdout`);
  let buffered = '';
  let exited: string | null = null;
  void exitedPromise.then((how) => (exited = how));
  const listening = new Promise<{ host: string; port: number }>((resolveListening, reject) => {
    stdout.setEncoding('utf8');
    let seen = false;
    stdout.on('data', (chunk: string) => {
      writeSync(logFd, chunk);
      if (seen) return;
      buffered += chunk;
      const m = /^listening on (\S+):(\d+)$/m.exec(buffered);
      if (m !== null) {
        seen = true;
        buffered = '';
        resolveListening({ host: m[1] as string, port: Number(m[2]) });
      } else if (buffered.length > 64 * 1024) buffered = buffered.slice(-1024);
    });
    void exitedPromise.then((how) => reject(new CommandError(`${name} exited (${how}) before listening: ${logTail(logPath)}`)));
  });
  let timer: TimerHandle | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = clock.setTimeout(() => reject(new CommandError(`${name} did not print "listening on" within ${START_TIMEOUT_MS} ms: ${logTail(logPath)}`)), START_TIMEOUT_MS);
  });
  let address: { host: string; port: number };
  try {
    address = await Promise.race([listening, deadline]);
  } catch (e) {
    if (exited === null) process.kill(pid, 'SIGKILL');
    await exitedPromise;
    throw e;
  } finally {
    if (timer !== undefined) clock.clearTimeout(timer);
  }
  const view: ChildView = { name, host: address.host, port: address.port, child, pid, exitedPromise, exited, conn: null, metadata: null, error: null };
  void exitedPromise.then((how) => {
    // What it answered before it died says nothing of what answers at its address now.
    view.exited = how;
    view.metadata = null;
    const conn = view.conn;
    view.conn = null;
    void conn?.close().catch(() => {});
  });
  return view;
}

/**
 * Ask whatever answers at one child's address (the child, or after it exited, a process
 * restarted there by hand) for the topic's metadata over a kept connection; remember the
 * answer or the failure.
 */
async function refresh(seams: Seams, p: ChildView, topic: string): Promise<void> {
  const exitedBefore = p.exited !== null;
  try {
    p.conn ??= await Connection.connect({ host: p.host, port: p.port, clientId: 'cli-cluster', clock: seams.clock, transport: seams.transport, requestTimeoutMs: METADATA_TIMEOUT_MS });
    const answer = await p.conn.request(Metadata, { topics: [topic], allowAutoTopicCreation: false });
    // An answer sent before the child died is not one from a process restarted in its place.
    p.metadata = p.exited !== null && !exitedBefore ? null : answer;
    p.error = null;
  } catch (e) {
    p.metadata = null;
    p.error = firstLine(e);
    const conn = p.conn;
    p.conn = null;
    await conn?.close().catch(() => {});
  }
}

/** SIGTERM each of `procs` still running, wait for each, SIGKILL whoever outlasts the deadline (or a second signal). */
async function stopGroup(procs: readonly ChildView[], clock: Clock, now: () => string, hurry: Promise<void>): Promise<void> {
  const running = procs.filter((p) => p.exited === null);
  for (const p of running) {
    try {
      process.kill(p.pid, 'SIGTERM');
    } catch {
      // exited meanwhile; its exit event comes anyway
    }
  }
  let timer: TimerHandle | undefined;
  const deadline = new Promise<void>((resolveDeadline) => (timer = clock.setTimeout(resolveDeadline, STOP_DEADLINE_MS)));
  await Promise.race([Promise.all(running.map((p) => p.exitedPromise)), deadline, hurry]);
  if (timer !== undefined) clock.clearTimeout(timer);
  for (const p of running) {
    if (p.exited !== null) continue;
    await writeOut(`${now()} ${p.name} (pid ${p.pid}) still running: SIGKILL\n`);
    try {
      process.kill(p.pid, 'SIGKILL');
    } catch {
      // exited meanwhile
    }
  }
  for (const p of running) await writeOut(`${now()} ${p.name} (pid ${p.pid}) stopped: ${await p.exitedPromise}\n`);
}

/** Resolve after `ms`, or at once when `cancel` settles. */
async function pause(clock: Clock, ms: number, cancel: Promise<unknown>): Promise<void> {
  let timer: TimerHandle | undefined;
  await Promise.race([new Promise<void>((r) => (timer = clock.setTimeout(r, ms))), cancel]);
  if (timer !== undefined) clock.clearTimeout(timer);
}

/**
 * Wait until the controller counts every broker of `procs` as registered and unfenced,
 * then create the topic through a broker, retrying while the controller answers
 * INVALID_REPLICATION_FACTOR (too few unfenced brokers yet); all within TOPIC_DEADLINE_MS.
 * Resolves with what happened, or null if `cancel` (a signal, every broker exiting) came first.
 */
async function createTopic(seams: Seams, plan: ClusterPlan, controller: ChildView, procs: readonly BrokerChild[], cancel: Promise<unknown>): Promise<string | null> {
  const { clock } = seams;
  let cancelled = false;
  void cancel.then(() => (cancelled = true));
  const deadlineMs = clock.now() + TOPIC_DEADLINE_MS;
  const ids = procs.map((b) => b.id);
  let registered: number[] = [];
  for (;;) {
    await refresh(seams, controller, CLUSTER_TOPIC);
    if (cancelled) return null;
    registered = controller.metadata?.brokers.map((b) => b.nodeId) ?? [];
    if (ids.every((id) => registered.includes(id))) break;
    if (clock.now() > deadlineMs) {
      throw new CommandError(`the brokers did not all register with the controller within ${TOPIC_DEADLINE_MS} ms (unfenced: ${registered.join(',') || 'none'}${controller.error === null ? '' : `; controller: ${controller.error}`}); see ${join(plan.dir, '*.log')}`);
    }
    await pause(clock, TOPIC_RETRY_MS, cancel);
  }
  const via = procs.find((b) => b.exited === null) ?? procs[0];
  if (via === undefined) throw new CommandError('no broker to create the topic through');
  const admin = new Admin({ ...seams, bootstrapServers: [{ host: via.host, port: via.port }], clientId: 'cli-cluster', retries: 0 });
  try {
    await admin.connect();
    for (;;) {
      try {
        await admin.createTopic({
          topic: CLUSTER_TOPIC,
          numPartitions: plan.partitions,
          configEntries: [
            { name: 'replication.factor', value: String(plan.replicationFactor) },
            { name: 'min.insync.replicas', value: String(plan.minInsyncReplicas) },
          ],
        });
        return `created topic ${CLUSTER_TOPIC} through broker ${via.id}: ${plan.partitions} partitions, replication factor ${plan.replicationFactor}, min.insync.replicas ${plan.minInsyncReplicas}`;
      } catch (e) {
        if (e instanceof TopicExistsBrokerError) return `topic ${CLUSTER_TOPIC} exists already (an earlier run in ${plan.dir}): kept as it is`;
        const retry = e instanceof BrokerError && e.type === 'INVALID_REPLICATION_FACTOR';
        if (!retry) throw new CommandError(`cannot create topic ${CLUSTER_TOPIC} through broker ${via.id}: ${firstLine(e)}`);
        if (clock.now() > deadlineMs) throw new CommandError(`cannot create topic ${CLUSTER_TOPIC} within ${TOPIC_DEADLINE_MS} ms: ${firstLine(e)}`);
      }
      await pause(clock, TOPIC_RETRY_MS, cancel);
      if (cancelled) return null;
    }
  } finally {
    await admin.disconnect().catch(() => {});
  }
}

/** Start the controller and the brokers `plan` describes, create the topic, show the table until a signal (or every broker exited), stop them. */
async function runCluster(seams: Seams, plan: ClusterPlan): Promise<void> {
  const { clock } = seams;
  const { dir } = plan;
  const startedMs = clock.now();
  const now = (): string => `+${((clock.now() - startedMs) / 1000).toFixed(1)}s`;
  const tty = process.stdout.isTTY === true;
  let controller: ChildView | null = null;
  const procs: BrokerChild[] = [];
  const children = (): ChildView[] => [...procs, ...(controller === null ? [] : [controller])];

  // Signals first: from here on a signal means "stop every child", never an exit that
  // leaves them running. A second signal means "now" (SIGKILL instead of waiting).
  let requestStop: (why: string) => void = () => {};
  const stopRequested = new Promise<string>((resolveStop) => (requestStop = resolveStop));
  let hurry: () => void = () => {};
  const hurried = new Promise<void>((resolveHurry) => (hurry = resolveHurry));
  let signals = 0;
  /** Set once we stop the children ourselves: their exits are then no events. */
  let stoppingAll = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    signals++;
    if (signals === 1) requestStop(signal);
    else hurry();
  };
  // Any other way out of this process (main.ts exits on a closed stdout, say) still stops them.
  const onExit = (): void => {
    for (const p of children()) {
      if (p.exited !== null) continue;
      try {
        process.kill(p.pid, 'SIGTERM');
      } catch {
        // already gone
      }
    }
  };
  const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
  for (const s of SIGNALS) process.on(s, onSignal);
  process.on('exit', onExit);

  try {
    try {
      await mkdirDurable(seams.storage, dir);
    } catch (e) {
      throw new CommandError(`cannot create ${dir}: ${firstLine(e)}`);
    }
    const [controllerPort, ...brokerPorts] = plan.ports;
    await writeOut(
      `cluster in ${dir}: a controller and ${plan.brokers} broker${plan.brokers === 1 ? '' : 's'}; topic ${CLUSTER_TOPIC}: ${plan.partitions} partitions, ` +
        `replication factor ${plan.replicationFactor}, min.insync.replicas ${plan.minInsyncReplicas}\n`,
    );
    const controllerDir = join(dir, 'controller');
    const controllerArgs = ['controller', '--dir', controllerDir, '--port', String(controllerPort), ...(plan.sessionTimeoutMs === undefined ? [] : ['--session-timeout-ms', String(plan.sessionTimeoutMs)])];
    controller = await startChild(clock, 'controller', controllerArgs, join(dir, 'controller.log'));
    const c: ChildView = controller;
    await writeOut(`controller: pid ${c.pid}, listening on ${c.host}:${c.port}, metadata log in ${controllerDir}, output in ${join(dir, 'controller.log')}\n`);

    const started = await Promise.allSettled(
      brokerPorts.map(async (port, i): Promise<BrokerChild> => {
        const id = i + 1;
        const dataDir = join(dir, `broker${id}`);
        const args = ['serve', '--controller', `${c.host}:${c.port}`, '--id', String(id), '--dir', dataDir, '--port', String(port)];
        const view = await startChild(clock, `broker ${id}`, args, join(dir, `broker${id}.log`));
        return Object.assign(view, { id, dataDir, restartLine: commandLine(args) });
      }),
    );
    for (const r of started) if (r.status === 'fulfilled') procs.push(r.value);
    const failed = started.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed !== undefined) throw failed.reason;
    for (const b of procs) {
      await writeOut(`broker ${b.id}: pid ${b.pid}, listening on ${b.host}:${b.port}, data in ${b.dataDir}, output in ${join(dir, `broker${b.id}.log`)}\n`);
      await writeOut(`  restart it by hand: ${b.restartLine}\n`);
    }

    const events: string[] = [];
    const event = async (line: string): Promise<void> => {
      const stamped = `${now()} ${line}`;
      events.push(stamped);
      if (events.length > EVENTS_SHOWN) events.shift();
      if (!tty) await writeOut(`${stamped}\n`);
    };
    for (const p of children()) {
      void p.exitedPromise.then(async (how) => {
        if (signals > 0 || stoppingAll) return;
        const after = p === c ? 'not restarted; no elections until one is back' : 'not restarted';
        await event(`${p.name} (pid ${p.pid}) exited: ${how}; ${after}`);
      });
    }
    const allExited = Promise.all(procs.map((b) => b.exitedPromise)).then(() => 'every broker exited');

    const cancelled = Promise.race([stopRequested, allExited]);
    const created = await createTopic(seams, plan, c, procs, cancelled);
    if (created !== null) {
      await writeOut(`${created}\n`);
      await writeOut('kill -9 a leader\'s pid to see an election: the epoch rises, the ISR shrinks; a process that exits is not restarted; Ctrl-C stops them all\n');
    }

    let drawn = 0;
    let lastPrinted = '';
    let lastPrintedMs = -Infinity;
    const draw = async (): Promise<void> => {
      const states = partitionStates(CLUSTER_TOPIC, c, procs);
      const first = states?.partitions[0];
      const rf = first?.replicas.length ?? plan.replicationFactor;
      const minIsr = c.metadata?.topics.find((t) => t.topic === CLUSTER_TOPIC)?.configs.find((x) => x.name === 'min.insync.replicas')?.value ?? String(plan.minInsyncReplicas);
      const header = `${CLUSTER_TOPIC}: ${states?.partitions.length ?? plan.partitions} partitions, replication factor ${rf}, min.insync.replicas ${minIsr} (${now()}, every ${REFRESH_MS} ms)`;
      const lines = clusterTable(CLUSTER_TOPIC, c, procs);
      if (tty) {
        // Back to the top of the last drawing, then overwrite it line by line.
        const text = [header, ...lines, ...events].map((l) => `${l}\x1b[K`).join('\n');
        await writeOut(`${drawn > 0 ? `\x1b[${drawn}F` : ''}${text}\n\x1b[J`);
        drawn = 1 + lines.length + events.length;
        return;
      }
      const body = lines.join('\n');
      if (body === lastPrinted && clock.now() - lastPrintedMs < PLAIN_REPRINT_MS) return;
      lastPrinted = body;
      lastPrintedMs = clock.now();
      await writeOut(`${header}\n${body}\n`);
    };

    // What the controller said last, to report what it changed since.
    let lastPartitions: readonly PartitionMetadata[] | null = null;
    let lastUnfenced: Set<number> | null = null;
    const noteChanges = async (): Promise<void> => {
      if (c.metadata === null) return;
      const unfenced = new Set(c.metadata.brokers.map((b) => b.nodeId));
      if (lastUnfenced !== null) {
        for (const b of procs) {
          if (lastUnfenced.has(b.id) && !unfenced.has(b.id)) await event(`broker ${b.id}: fenced by the controller`);
          if (!lastUnfenced.has(b.id) && unfenced.has(b.id)) await event(`broker ${b.id}: unfenced by the controller`);
        }
      }
      lastUnfenced = unfenced;
      const partitions = partitionsIn(c.metadata, CLUSTER_TOPIC);
      if (partitions === null) return;
      if (lastPartitions !== null) for (const line of partitionChanges(CLUSTER_TOPIC, lastPartitions, partitions)) await event(line);
      lastPartitions = partitions;
    };

    // The refresh loop: ask every process at once, note what changed, draw, wait out the rest of the interval.
    let stopping = false;
    let wake: (() => void) | null = null;
    let wakeTimer: TimerHandle | null = null;
    const loop = async (): Promise<void> => {
      while (!stopping) {
        const begun = clock.now();
        await Promise.all(children().map((p) => refresh(seams, p, CLUSTER_TOPIC)));
        if (stopping) return;
        await noteChanges();
        await draw();
        await new Promise<void>((resolveWait) => {
          wake = resolveWait;
          wakeTimer = clock.setTimeout(resolveWait, Math.max(0, REFRESH_MS - (clock.now() - begun)));
        });
      }
    };
    const looping = created === null ? Promise.resolve() : loop();
    const why = await cancelled;
    stopping = true;
    if (wakeTimer !== null) clock.clearTimeout(wakeTimer);
    (wake as (() => void) | null)?.();
    await looping;
    if (why === 'every broker exited') {
      await draw();
      throw new CommandError('every broker has exited; nothing left to supervise');
    }
    await writeOut(`${now()} ${why}: stopping every broker, then the controller (SIGTERM, then waiting for each to exit)\n`);
  } finally {
    stoppingAll = true;
    for (const p of children()) await p.conn?.close().catch(() => {});
    await stopGroup(procs, clock, now, hurried);
    if (controller !== null) await stopGroup([controller], clock, now, hurried);
    for (const s of SIGNALS) process.off(s, onSignal);
    process.off('exit', onExit);
  }
}
