/**
 * Test plumbing for clusters of real broker processes: each broker is this phase's
 * `serve --cluster FILE --id N --dir D` in its own OS process on a free loopback port,
 * started the way a learner starts it (tsx's loader, one process, so the pid we hold is
 * the broker's). A test kills, stops and restarts brokers by pid, asks each broker for
 * Metadata over TCP (polling it is how a test waits for the ISR or the high watermark to
 * reach a state, never a sleep), and reads each replica's segment files from disk.
 *
 * `stopAll()` in a `finally` SIGCONTs and SIGKILLs every process the cluster ever
 * started that is still running, by pid, and waits for each to exit.
 */
import type { ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, spawnCli, waitFor, waitForExit, waitForLine } from '../../../shared/src/testing.ts';
import { Connection } from '../src/client/connection.ts';
import { type LogRecord, decodeBatch } from '../src/log/record-batch.ts';
import { Metadata, type PartitionMetadata } from '../src/protocol/metadata.ts';
import { splitBatches } from '../src/protocol/records.ts';
import { type ClusterFile, parseClusterFile } from '../src/replication/cluster-file.ts';
import { realClock } from '../src/seams/clock.ts';
import { tcpTransport } from '../src/seams/transport.ts';

/** This phase's CLI, found from this file so a later phase's copy runs its own. */
export const MAIN = fileURLToPath(new URL('../src/main.ts', import.meta.url));

/** How a test cluster is laid out and tuned. */
export interface ProcessClusterOptions {
  /** Data directories and the cluster file go here (brokerN/, cluster.json, brokerN.log). */
  readonly root: string;
  readonly topic: string;
  /** `replicas[p]`, leader first; the brokers are 1..max id. */
  readonly replicas: readonly (readonly number[])[];
  readonly minInsyncReplicas: number;
  readonly replicaLagTimeMaxMs: number;
  /** Extra `serve` options for every broker (e.g. `--replica-fetch-wait-ms 200`). */
  readonly serveArgs?: readonly string[];
}

interface Running {
  readonly child: ChildProcess;
  readonly output: string[];
}

/**
 * A cluster of broker processes.
 * @example
 * const cluster = await ProcessCluster.start({ root, topic: 't', replicas: [[1, 2, 3]], minInsyncReplicas: 2, replicaLagTimeMaxMs: 1000 });
 * try { ... } finally { await cluster.stopAll(); }
 */
export class ProcessCluster {
  readonly file: ClusterFile;
  readonly options: ProcessClusterOptions;
  readonly clusterPath: string;
  /** Every process ever started, so `stopAll` can reach each by pid. */
  readonly #all: ChildProcess[] = [];
  readonly #running = new Map<number, Running>();
  readonly #stopped = new Set<number>();
  readonly #connections = new Map<number, Connection>();

  private constructor(file: ClusterFile, options: ProcessClusterOptions) {
    this.file = file;
    this.options = options;
    this.clusterPath = join(options.root, 'cluster.json');
    writeFileSync(this.clusterPath, JSON.stringify(file));
  }

  /** Write the cluster file (brokers on free ports) and start every broker; resolves once all listen. */
  static async start(options: ProcessClusterOptions): Promise<ProcessCluster> {
    const ids = [...new Set(options.replicas.flat())].sort((a, b) => a - b);
    const ports = new Set<number>();
    while (ports.size < ids.length) ports.add(await freePort());
    const portList = [...ports];
    const file = parseClusterFile({
      brokers: ids.map((id, i) => ({ id, host: '127.0.0.1', port: portList[i] })),
      topics: [{ name: options.topic, replicas: options.replicas }],
      minInsyncReplicas: options.minInsyncReplicas,
      replicaLagTimeMaxMs: options.replicaLagTimeMaxMs,
    });
    const cluster = new ProcessCluster(file, options);
    try {
      await Promise.all(ids.map((id) => cluster.startBroker(id)));
    } catch (e) {
      await cluster.stopAll();
      throw e;
    }
    return cluster;
  }

  get brokerIds(): number[] {
    return this.file.brokers.map((b) => b.id);
  }

  port(id: number): number {
    const b = this.file.brokers.find((x) => x.id === id);
    if (b === undefined) throw new Error(`no broker ${id}`);
    return b.port;
  }

  dataDir(id: number): string {
    return join(this.options.root, `broker${id}`);
  }

  pid(id: number): number {
    const pid = this.#running.get(id)?.child.pid;
    if (pid === undefined) throw new Error(`broker ${id} is not running`);
    return pid;
  }

  isRunning(id: number): boolean {
    return this.#running.has(id);
  }

  /** What broker `id` printed on stdout and stderr so far (for failure messages). */
  output(id: number): string {
    return this.#running.get(id)?.output.join('') ?? '';
  }

  /** Start broker `id` on its data directory; resolves once it prints `listening on`. */
  async startBroker(id: number): Promise<void> {
    if (this.#running.has(id)) throw new Error(`broker ${id} is already running`);
    const args = ['serve', '--cluster', this.clusterPath, '--id', String(id), '--dir', this.dataDir(id), ...(this.options.serveArgs ?? [])];
    const child = spawnCli(MAIN, args);
    child.stdin?.end();
    this.#all.push(child);
    const output: string[] = [];
    child.stderr?.on('data', (b: Buffer) => output.push(b.toString()));
    this.#running.set(id, { child, output });
    child.once('exit', () => {
      if (this.#running.get(id)?.child === child) this.#running.delete(id);
      this.#stopped.delete(id);
      this.#dropConnection(id);
    });
    try {
      await waitForLine(child.stdout as NodeJS.ReadableStream, new RegExp(`^listening on 127\\.0\\.0\\.1:${this.port(id)}$`), 30_000);
    } catch (e) {
      throw new Error(`broker ${id} did not start: ${(e as Error).message}\n${output.join('')}`);
    }
    // Keep draining stdout so the broker never blocks on a full pipe.
    child.stdout?.resume();
  }

  /** Send `signal` to broker `id` by pid and wait for it to exit (SIGKILL by default). */
  async kill(id: number, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const running = this.#running.get(id);
    if (running === undefined) throw new Error(`broker ${id} is not running`);
    process.kill(this.pid(id), signal);
    await waitForExit(running.child, 15_000);
  }

  /** SIGSTOP broker `id` (freeze it: its sockets stay open, it answers nothing). */
  pause(id: number): void {
    process.kill(this.pid(id), 'SIGSTOP');
    this.#stopped.add(id);
  }

  /** SIGCONT broker `id` after `pause`. */
  resume(id: number): void {
    if (!this.#stopped.has(id)) return;
    process.kill(this.pid(id), 'SIGCONT');
    this.#stopped.delete(id);
  }

  /**
   * Broker `id`'s Metadata answer for partition `p` of the topic, over a kept
   * connection; null if it does not answer within `timeoutMs` (down, or frozen).
   */
  async partitionMetadata(id: number, p = 0, timeoutMs = 1000): Promise<PartitionMetadata | null> {
    if (!this.#running.has(id) || this.#stopped.has(id)) return null;
    try {
      let conn = this.#connections.get(id);
      if (conn === undefined || conn.isClosed) {
        conn = await Connection.connect({ port: this.port(id), clock: realClock, transport: tcpTransport, requestTimeoutMs: timeoutMs, clientId: 'test-metadata' });
        this.#connections.set(id, conn);
      }
      const res = await conn.request(Metadata, { topics: [this.options.topic], allowAutoTopicCreation: false });
      return res.topics[0]?.partitions.find((x) => x.partition === p) ?? null;
    } catch {
      this.#dropConnection(id);
      return null;
    }
  }

  /**
   * Wait until every replica of partition `p` is running, the leader reports the full
   * replica list as its ISR, and every replica reports the same high watermark and log
   * end offset (at least `atLeast`): the partition is fully replicated and quiet.
   * Resolves with that offset.
   */
  async waitConverged(p = 0, opts: { atLeast?: number; timeoutMs?: number } = {}): Promise<number> {
    const replicas = this.options.replicas[p] ?? [];
    let reached = -1;
    let last = '';
    try {
      await waitFor(
        async () => {
          const answers = await Promise.all(replicas.map((id) => this.partitionMetadata(id, p)));
          last = JSON.stringify(answers.map((a, i) => (a === null ? `${replicas[i]}: none` : `${replicas[i]}: isr ${a.isr} hw ${a.highWatermark} leo ${a.logEndOffset}`)));
          const leader = answers[0];
          if (leader === null || leader === undefined || leader.isr.length !== replicas.length) return false;
          const leo = leader.logEndOffset;
          if (leo < (opts.atLeast ?? 0)) return false;
          if (!answers.every((a) => a !== null && a.highWatermark === leo && a.logEndOffset === leo)) return false;
          reached = leo;
          return true;
        },
        opts.timeoutMs ?? 20_000,
        25,
      );
    } catch (e) {
      throw new Error(`partition ${p} did not converge: ${(e as Error).message}; last seen ${last}`);
    }
    return reached;
  }

  /** The leader's ISR of partition `p` as it reports it (null if it does not answer). */
  async isr(p = 0): Promise<number[] | null> {
    const leader = this.options.replicas[p]?.[0] ?? -1;
    return (await this.partitionMetadata(leader, p))?.isr ?? null;
  }

  /** The bytes of partition `p`'s segment files in broker `id`'s data directory, in offset order. */
  segmentBytes(id: number, p = 0): Buffer {
    const dir = join(this.dataDir(id), `${this.options.topic}-${p}`);
    const logs = readdirSync(dir).filter((f) => f.endsWith('.log')).sort();
    return Buffer.concat(logs.map((f) => readFileSync(join(dir, f))));
  }

  /** Partition `p`'s records as stored on broker `id`'s disk (decoded, each batch's CRC checked). */
  records(id: number, p = 0): LogRecord[] {
    return splitBatches(this.segmentBytes(id, p)).flatMap((b) => decodeBatch(b).records);
  }

  /** SIGCONT and SIGKILL every process this cluster started that still runs, by pid, and wait for each. */
  async stopAll(): Promise<void> {
    for (const conn of this.#connections.values()) await conn.close().catch(() => {});
    this.#connections.clear();
    for (const child of this.#all) {
      if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) continue;
      try {
        process.kill(child.pid, 'SIGCONT');
        process.kill(child.pid, 'SIGKILL');
      } catch {
        // exited meanwhile
      }
    }
    await Promise.all(this.#all.map((child) => waitForExit(child, 15_000)));
  }

  #dropConnection(id: number): void {
    const conn = this.#connections.get(id);
    this.#connections.delete(id);
    void conn?.close().catch(() => {});
  }
}

/** The byte position in a segment's bytes where offset `offset` would begin (the first batch at or past it). */
export function bytePositionOf(segment: Buffer, offset: number): number {
  let position = 0;
  for (const batch of splitBatches(segment)) {
    if (decodeBatch(batch).header.baseOffset >= offset) return position;
    position += batch.length;
  }
  return position;
}
