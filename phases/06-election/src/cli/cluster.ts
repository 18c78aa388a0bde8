/**
 * `cluster`: a whole phase-5 cluster on one machine, for trying replication by hand. It
 * writes a cluster file (topic `demo`, leaders rotating over the brokers) into `--dir`,
 * starts each broker as its own OS process (this command line's `serve --cluster FILE
 * --id N --dir D/brokerN`, under the same loader this process runs under), prints each
 * broker's id, pid and address, then a live table built from Metadata answers of every
 * broker: per partition the leader, replicas and ISR (as the leader knows it), and the
 * high watermark and log end offset of every replica (each broker reports its own).
 *
 * On a terminal the table is redrawn in place about twice a second; otherwise (a pipe, a
 * file, a test) it is printed as plain lines whenever it changes, and at least every few
 * seconds. Each broker's own output goes to `D/brokerN.log`, so it never tears the table.
 *
 * The supervisor notices a broker exiting (`kill -9` one to see replication at work) and
 * shows it as down; it does not restart it, so what happens next is replication's doing,
 * not ours. Ctrl-C, SIGTERM or SIGHUP stops every broker that is still running, by pid,
 * with SIGTERM (a graceful shutdown), and waits for each to exit (SIGKILL after a
 * deadline, or at once on a second signal); when every broker has exited on its own,
 * `cluster` exits with status 1. The brokers run in their own process group, so a
 * terminal's Ctrl-C reaches only the supervisor and each broker is stopped exactly once.
 * If the supervisor itself is killed with SIGKILL, nothing can stop the brokers for it:
 * the pids it printed are what to `kill` then.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync, writeSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Connection } from '../client/connection.ts';
import { Metadata, type MetadataResponse } from '../protocol/metadata.ts';
import { CLUSTER_LIMITS, type ClusterFile, type ClusterTopic, ClusterFileError, generateClusterFile, parseClusterFile } from '../replication/cluster-file.ts';
import type { Clock, TimerHandle } from '../seams/clock.ts';
import type { Seams } from '../seams/real.ts';
import { mkdirDurable } from '../seams/storage.ts';
import { type Command, CommandError, UsageError, firstLine, integerOption, writeOut } from './options.ts';

/** This phase's command line, which each broker process runs as `serve --cluster`. */
const MAIN = fileURLToPath(new URL('../main.ts', import.meta.url));
/** The one topic a generated cluster file names. */
export const CLUSTER_TOPIC = 'demo';
/** How often the table is refreshed from Metadata. */
const REFRESH_MS = 500;
/** How long one broker may take to answer Metadata before the table shows it as not answering. */
const METADATA_TIMEOUT_MS = 1000;
/** Without a terminal the table is printed when it changes, and at least this often. */
const PLAIN_REPRINT_MS = 5000;
/** How long a broker may take to print `listening on`. */
const START_TIMEOUT_MS = 30_000;
/** After SIGTERM, how long a broker may take to shut down before SIGKILL (serve's own deadline is 10 s). */
const STOP_DEADLINE_MS = 15_000;
/** Events kept under the table on a terminal. */
const EVENTS_SHOWN = 6;

/** What the table knows of one broker process. */
export interface BrokerView {
  readonly id: number;
  readonly host: string;
  readonly port: number;
  readonly pid: number;
  /** Null while it runs; else how it ended (`exit code 1`, `signal SIGKILL`). */
  readonly exited: string | null;
  /** Its last Metadata answer, or null if it gave none at the last refresh. */
  readonly metadata: MetadataResponse | null;
  /** Why the last refresh got no answer from it. */
  readonly error: string | null;
}

const pad = (rows: readonly string[][]): string[] => {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)));
  return rows.map((row) => row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i] ?? 0))).join('  '));
};

/**
 * The table's lines: one per broker (pid, address, state), then one per partition:
 * leader, replicas, the ISR as the leader reports it (`?` when the leader does not
 * answer), and each broker's `HW/LEO` of its own replica (`-` not a replica, `down`,
 * `?` no answer).
 * @example clusterTable(file.topics[0], views) // ['BROKER  PID ...', ...]
 */
export function clusterTable(topic: ClusterTopic, brokers: readonly BrokerView[]): string[] {
  const brokerRows = brokers.map((b) => [
    String(b.id),
    String(b.pid),
    `${b.host}:${b.port}`,
    b.exited !== null ? `DOWN (${b.exited}; not restarted)` : b.metadata === null ? `up, not answering${b.error === null ? '' : ` (${b.error})`}` : 'up',
  ]);
  const partitionRows = topic.replicas.map((replicas, p) => {
    const leaderId = replicas[0] as number;
    const answer = (b: BrokerView) => b.metadata?.topics.find((t) => t.topic === topic.name)?.partitions.find((x) => x.partition === p);
    const leader = brokers.find((b) => b.id === leaderId);
    const leaderAnswer = leader === undefined ? undefined : answer(leader);
    const cells = brokers.map((b) => {
      if (!replicas.includes(b.id)) return '-';
      if (b.exited !== null) return 'down';
      const a = answer(b);
      return a === undefined ? '?' : `${a.highWatermark}/${a.logEndOffset}`;
    });
    return [`${topic.name}-${p}`, String(leaderId), replicas.join(','), leaderAnswer === undefined ? '?' : leaderAnswer.isr.join(','), ...cells];
  });
  return [
    ...pad([['BROKER', 'PID', 'ADDRESS', 'STATE'], ...brokerRows]),
    ...pad([['PARTITION', 'LEADER', 'REPLICAS', 'ISR', ...brokers.map((b) => `HW/LEO@${b.id}`)], ...partitionRows]),
  ];
}

/** One broker process and what the supervisor knows of it. */
interface BrokerProcess {
  readonly id: number;
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

/**
 * The `cluster` command; `defaultDir` holds the cluster file and the brokers' data
 * directories unless `--dir` says otherwise.
 * @example
 * const cluster = clusterCommand(realSeams(), '/tmp/commitlog-05-cluster');
 */
export function clusterCommand(seams: Seams, defaultDir: string): Command {
  return {
    name: 'cluster',
    usage: `  cluster [--brokers 3] [--dir D] [--base-port P] [--partitions N] [--replication-factor R]
          [--min-insync-replicas M] [--replica-lag-time-max-ms N]
                       write a cluster file (topic ${CLUSTER_TOPIC}, N partitions, default 3) into D and
                       start that many brokers, each its own process (serve --cluster, data in
                       D/brokerN, output in D/brokerN.log) on ports P, P+1, … (default 19092;
                       0: ports the OS picks); print each broker's id, pid and address, then a
                       live table: leader, ISR, HW/LEO of every replica. A broker that dies
                       is shown down and not restarted. Ctrl-C stops every broker.
                       Defaults: --dir ${defaultDir}, R = min(3, brokers), M = min(2, R),
                       lag 2000 ms`,
    options: {
      brokers: { type: 'string' },
      dir: { type: 'string' },
      'base-port': { type: 'string' },
      partitions: { type: 'string' },
      'replication-factor': { type: 'string' },
      'min-insync-replicas': { type: 'string' },
      'replica-lag-time-max-ms': { type: 'string' },
    },
    async run(values) {
      const brokers = integerOption(values, 'brokers', 1) ?? 3;
      if (brokers > CLUSTER_LIMITS.brokersMax) throw new UsageError(`--brokers ${brokers}: a cluster file holds at most ${CLUSTER_LIMITS.brokersMax} brokers`);
      const dir = typeof values.dir === 'string' && values.dir !== '' ? values.dir : defaultDir;
      const basePort = integerOption(values, 'base-port', 0) ?? 19092;
      if (basePort > 0 && basePort + brokers - 1 > 65_535) throw new UsageError(`--base-port ${basePort} leaves no room for ${brokers} brokers below port 65535`);
      const partitions = integerOption(values, 'partitions', 1) ?? 3;
      const replicationFactor = integerOption(values, 'replication-factor', 1) ?? Math.min(3, brokers);
      if (replicationFactor > brokers) throw new UsageError(`--replication-factor ${replicationFactor} needs at least that many brokers, got --brokers ${brokers}`);
      const minInsyncReplicas = integerOption(values, 'min-insync-replicas', 1) ?? Math.min(2, replicationFactor);
      if (minInsyncReplicas > replicationFactor) throw new UsageError(`--min-insync-replicas ${minInsyncReplicas} is more than the replication factor ${replicationFactor}`);
      let file: ClusterFile;
      try {
        file = generateClusterFile({
          brokers,
          basePort: basePort === 0 ? 1 : basePort,
          topic: CLUSTER_TOPIC,
          partitions,
          replicationFactor,
          minInsyncReplicas,
          replicaLagTimeMaxMs: integerOption(values, 'replica-lag-time-max-ms', 1),
        });
        if (basePort === 0) {
          const ports = await freePorts(brokers);
          file = parseClusterFile({ ...file, brokers: file.brokers.map((b, i) => ({ ...b, port: ports[i] })) });
        }
      } catch (e) {
        if (e instanceof ClusterFileError) throw new UsageError(`cannot make that cluster: ${e.problems.join('; ')}`);
        throw e;
      }
      await runCluster(seams, file, dir);
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

/** Write `text` to `path` atomically: a temporary file, fsync, rename, directory fsync. */
async function writeFileAtomically(storage: Seams['storage'], dir: string, name: string, text: string): Promise<void> {
  const tmp = join(dir, `${name}.tmp`);
  if (await storage.exists(tmp)) await storage.remove(tmp);
  const f = await storage.openFile(tmp, { create: true });
  try {
    await f.append(Buffer.from(text, 'utf8'));
    await f.sync();
  } finally {
    await f.close();
  }
  await storage.rename(tmp, join(dir, name));
  await storage.syncDir(dir);
}

/**
 * The Node flags this process runs under (tsx's loader: `--import tsx`, or its full URL
 * when started by `npm run phase` or a test), minus debugger flags, so each broker runs
 * exactly as this command line does; `--import tsx` if there are none.
 */
function nodeFlags(): string[] {
  const flags = process.execArgv.filter((f) => !f.startsWith('--inspect'));
  return flags.length > 0 ? flags : ['--import', 'tsx'];
}

/** The last lines of a broker's log, for an error message. */
function logTail(path: string, lines = 5): string {
  try {
    return readFileSync(path, 'utf8').trimEnd().split('\n').slice(-lines).join(' | ');
  } catch {
    return '';
  }
}

/** Start broker `id` and resolve once it prints `listening on`; rejects (and kills it) if it does not. */
async function startBroker(clock: Clock, file: ClusterFile, clusterPath: string, dir: string, id: number): Promise<BrokerProcess> {
  const me = file.brokers.find((b) => b.id === id);
  if (me === undefined) throw new Error(`no broker ${id}`);
  const logPath = join(dir, `broker${id}.log`);
  const logFd = openSync(logPath, 'a');
  // The broker's bounds follow the cluster file: an idle follower fetch is held below half the lag time.
  const fetchWaitMs = Math.min(500, Math.floor((file.replicaLagTimeMaxMs - 1) / 4));
  const args = [...nodeFlags(), MAIN, 'serve', '--cluster', clusterPath, '--id', String(id), '--dir', join(dir, `broker${id}`), '--replica-fetch-wait-ms', String(fetchWaitMs)];
  // detached: its own process group, so a terminal's Ctrl-C reaches only us; we stop it.
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', logFd], detached: true });
  const pid = child.pid;
  if (pid === undefined) {
    closeSync(logFd);
    throw new CommandError(`cannot start broker ${id}`);
  }
  const exitedPromise = new Promise<string>((resolveExit) => {
    child.once('exit', (code, signal) => resolveExit(signal !== null ? `signal ${signal}` : `exit code ${code ?? '?'}`));
  });
  // 'close' comes after the child's stdout has ended, so nothing is written to the log after this.
  child.once('close', () => closeSync(logFd));
  const proc: BrokerProcess = { id, host: me.host, port: me.port, child, pid, exitedPromise, exited: null, conn: null, metadata: null, error: null };
  void exitedPromise.then((how) => (proc.exited = how));
  const stdout = child.stdout;
  if (stdout === null) throw new CommandError(`broker ${id} has no stdout`);
  let buffered = '';
  const listening = new Promise<void>((resolveListening, reject) => {
    stdout.setEncoding('utf8');
    stdout.on('data', (chunk: string) => {
      writeSync(logFd, chunk);
      buffered += chunk;
      if (/^listening on \S+$/m.test(buffered)) {
        buffered = '';
        resolveListening();
      } else if (buffered.length > 64 * 1024) buffered = buffered.slice(-1024);
    });
    void exitedPromise.then((how) => reject(new CommandError(`broker ${id} exited (${how}) before listening: ${logTail(logPath)}`)));
  });
  let timer: TimerHandle | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = clock.setTimeout(() => reject(new CommandError(`broker ${id} did not print "listening on" within ${START_TIMEOUT_MS} ms: ${logTail(logPath)}`)), START_TIMEOUT_MS);
  });
  try {
    await Promise.race([listening, deadline]);
  } catch (e) {
    if (proc.exited === null) process.kill(pid, 'SIGKILL');
    await exitedPromise;
    throw e;
  } finally {
    if (timer !== undefined) clock.clearTimeout(timer);
  }
  return proc;
}

/** Ask one broker for the topic's metadata over a kept connection; remember the answer or the failure. */
async function refreshBroker(seams: Seams, b: BrokerProcess, topic: string): Promise<void> {
  if (b.exited !== null) {
    b.metadata = null;
    return;
  }
  try {
    b.conn ??= await Connection.connect({ host: b.host, port: b.port, clientId: 'cli-cluster', clock: seams.clock, transport: seams.transport, requestTimeoutMs: METADATA_TIMEOUT_MS });
    b.metadata = await b.conn.request(Metadata, { topics: [topic], allowAutoTopicCreation: false });
    b.error = null;
  } catch (e) {
    b.metadata = null;
    b.error = firstLine(e);
    const conn = b.conn;
    b.conn = null;
    await conn?.close().catch(() => {});
  }
}

/** SIGTERM every broker still running, wait for each, SIGKILL whoever outlasts the deadline (or a second signal). */
async function stopAll(procs: readonly BrokerProcess[], clock: Clock, now: () => string, hurry: Promise<void>): Promise<void> {
  const running = procs.filter((b) => b.exited === null);
  for (const b of running) {
    try {
      process.kill(b.pid, 'SIGTERM');
    } catch {
      // exited meanwhile; its exit event comes anyway
    }
  }
  let timer: TimerHandle | undefined;
  const deadline = new Promise<void>((resolveDeadline) => (timer = clock.setTimeout(resolveDeadline, STOP_DEADLINE_MS)));
  await Promise.race([Promise.all(running.map((b) => b.exitedPromise)), deadline, hurry]);
  if (timer !== undefined) clock.clearTimeout(timer);
  for (const b of running) {
    if (b.exited !== null) continue;
    await writeOut(`${now()} broker ${b.id} (pid ${b.pid}) still running: SIGKILL\n`);
    try {
      process.kill(b.pid, 'SIGKILL');
    } catch {
      // exited meanwhile
    }
  }
  for (const b of running) await writeOut(`${now()} broker ${b.id} (pid ${b.pid}) stopped: ${await b.exitedPromise}\n`);
}

/** Start the cluster `file` describes in `dir`, show the table until a signal (or every broker exited), stop it. */
async function runCluster(seams: Seams, file: ClusterFile, dir: string): Promise<void> {
  const { clock } = seams;
  const topic = file.topics[0] as ClusterTopic;
  const rf = topic.replicas[0]?.length ?? 0;
  const startedMs = clock.now();
  const now = (): string => `+${((clock.now() - startedMs) / 1000).toFixed(1)}s`;
  const tty = process.stdout.isTTY === true;
  const procs: BrokerProcess[] = [];

  // Signals first: from here on a signal means "stop every broker", never an exit that
  // leaves them running. A second signal means "now" (SIGKILL instead of waiting).
  let requestStop: (why: string) => void = () => {};
  const stopRequested = new Promise<string>((resolveStop) => (requestStop = resolveStop));
  let hurry: () => void = () => {};
  const hurried = new Promise<void>((resolveHurry) => (hurry = resolveHurry));
  let signals = 0;
  const onSignal = (signal: NodeJS.Signals): void => {
    signals++;
    if (signals === 1) requestStop(signal);
    else hurry();
  };
  // Any other way out of this process (main.ts exits on a closed stdout, say) still stops them.
  const onExit = (): void => {
    for (const b of procs) {
      if (b.exited !== null) continue;
      try {
        process.kill(b.pid, 'SIGTERM');
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
      await writeFileAtomically(seams.storage, dir, 'cluster.json', `${JSON.stringify(file, null, 2)}\n`);
    } catch (e) {
      throw new CommandError(`cannot write the cluster file in ${dir}: ${firstLine(e)}`);
    }
    const clusterPath = join(dir, 'cluster.json');
    await writeOut(
      `cluster file ${clusterPath}: ${file.brokers.length} brokers, topic ${topic.name} with ${topic.replicas.length} partitions, ` +
        `replication factor ${rf}, minInsyncReplicas ${file.minInsyncReplicas}, replicaLagTimeMaxMs ${file.replicaLagTimeMaxMs}\n`,
    );
    const started = await Promise.allSettled(file.brokers.map((b) => startBroker(clock, file, clusterPath, dir, b.id)));
    for (const r of started) if (r.status === 'fulfilled') procs.push(r.value);
    const failed = started.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed !== undefined) throw failed.reason;
    for (const b of procs) {
      await writeOut(`broker ${b.id}: pid ${b.pid}, listening on ${b.host}:${b.port}, data in ${join(dir, `broker${b.id}`)}, output in ${join(dir, `broker${b.id}.log`)}\n`);
    }
    await writeOut('a broker that exits is shown down and not restarted; Ctrl-C stops them all\n');

    const events: string[] = [];
    for (const b of procs) {
      void b.exitedPromise.then(async (how) => {
        if (signals > 0) return;
        const line = `${now()} broker ${b.id} (pid ${b.pid}) exited: ${how}; not restarted`;
        events.push(line);
        if (events.length > EVENTS_SHOWN) events.shift();
        if (!tty) await writeOut(`${line}\n`);
      });
    }
    const allExited = Promise.all(procs.map((b) => b.exitedPromise)).then(() => 'every broker exited');

    let drawn = 0;
    let lastPrinted = '';
    let lastPrintedMs = -Infinity;
    const draw = async (): Promise<void> => {
      const header = `${topic.name}: ${topic.replicas.length} partitions, replication factor ${rf}, minInsyncReplicas ${file.minInsyncReplicas} (${now()}, every ${REFRESH_MS} ms)`;
      const lines = clusterTable(topic, procs);
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

    // The refresh loop: ask every broker at once, draw, wait out the rest of the interval.
    let stopping = false;
    let wake: (() => void) | null = null;
    let wakeTimer: TimerHandle | null = null;
    const loop = async (): Promise<void> => {
      while (!stopping) {
        const begun = clock.now();
        await Promise.all(procs.map((b) => refreshBroker(seams, b, topic.name)));
        if (stopping) return;
        await draw();
        await new Promise<void>((resolveWait) => {
          wake = resolveWait;
          wakeTimer = clock.setTimeout(resolveWait, Math.max(0, REFRESH_MS - (clock.now() - begun)));
        });
      }
    };
    const looping = loop();
    const why = await Promise.race([stopRequested, allExited]);
    stopping = true;
    if (wakeTimer !== null) clock.clearTimeout(wakeTimer);
    (wake as (() => void) | null)?.();
    await looping;
    if (why === 'every broker exited') {
      await draw();
      throw new CommandError('every broker has exited; nothing left to supervise');
    }
    await writeOut(`${now()} ${why}: stopping every broker (SIGTERM, then waiting for each to exit)\n`);
  } finally {
    for (const b of procs) await b.conn?.close().catch(() => {});
    await stopAll(procs, clock, now, hurried);
    for (const s of SIGNALS) process.off(s, onSignal);
    process.off('exit', onExit);
  }
}
