/**
 * `failover-bench`: how long a partition is unavailable when its leader dies, measured on
 * a real cluster. It starts a controller and three brokers as child processes (this
 * command line's `controller` and `serve --controller`, data in a temporary directory),
 * creates a topic of one partition (replication factor 3, min.insync.replicas 2), and
 * produces acks=all records continuously from several concurrent sends. Each run kills
 * the partition's leader with SIGKILL and measures **from the kill to the first
 * acknowledgement of a send made after it** (which only a new leader can give: the old
 * one is dead; an answer already on its way when it died does not count), waits for the
 * controller to name a new leader in a higher epoch, then restarts the old leader and
 * waits for the ISR to be full again. At the end it waits for the leader's high watermark
 * to pass every acknowledged offset, reads the partition back and counts the
 * acknowledged records that are missing.
 *
 * What the time is made of: the controller notices the silent broker after its session
 * timeout (checked every quarter of it), elects and fsyncs the change; brokers learn it
 * on their metadata long poll; the producer's failed request is retried after its
 * backoff, on metadata it refreshes from a live broker.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Admin } from '../client/admin.ts';
import { Consumer } from '../client/consumer.ts';
import { Producer } from '../client/producer.ts';
import type { Seams } from '../seams/real.ts';
import { type Command, CommandError, integerOption, writeOut } from './options.ts';

const MAIN = fileURLToPath(new URL('../main.ts', import.meta.url));
const TOPIC = 'failover';
const BROKERS = 3;
/** Concurrent sends kept outstanding by the load. */
const LANES = 8;
/** How long one failover may take before the run is called failed. */
const FAILOVER_DEADLINE_MS = 30_000;

interface Child {
  readonly child: ChildProcess;
  readonly port: number;
}

/**
 * The `failover-bench` command.
 * @example
 * const cmd = failoverBenchCommand(realSeams());
 */
export function failoverBenchCommand(seams: Seams): Command {
  return {
    name: 'failover-bench',
    usage: `  failover-bench [--runs N] [--session-timeout-ms T]
                       a controller and 3 brokers as processes, acks=all load; N times: kill -9
                       the leader, time kill -> first acknowledgement, restart it, wait for a
                       full ISR; prints median, p90, max, and acknowledged records missing
                       (defaults: --runs 5, --session-timeout-ms 1000)`,
    options: { runs: { type: 'string' }, 'session-timeout-ms': { type: 'string' } },
    async run(values) {
      const runs = integerOption(values, 'runs', 1) ?? 5;
      const sessionMs = integerOption(values, 'session-timeout-ms', 10) ?? 1000;
      const dir = mkdtempSync(join(tmpdir(), 'failover-bench-'));
      const children: ChildProcess[] = [];
      const logs: string[] = [];
      const startChild = async (name: string, args: string[]): Promise<Child> => {
        const logPath = join(dir, `${name.replace(' ', '')}.log`);
        const fd = openSync(logPath, 'a');
        const child = spawn(process.execPath, [...process.execArgv, MAIN, ...args], { stdio: ['ignore', 'pipe', fd] });
        closeSync(fd);
        logs.push(logPath);
        children.push(child);
        const port = await new Promise<number>((resolve, reject) => {
          let buf = '';
          const timer = seams.clock.setTimeout(() => reject(new CommandError(`${name} did not start within 30 s`)), 30_000);
          child.stdout?.on('data', (d: Buffer) => {
            buf += d.toString();
            const m = /listening on [^\s:]+:(\d+)/.exec(buf);
            if (m !== null) {
              seams.clock.clearTimeout(timer);
              resolve(Number(m[1]));
            }
          });
          child.once('exit', () => reject(new CommandError(`${name} exited before it listened`)));
        });
        return { child, port };
      };
      const brokers = new Map<number, Child>();
      const alive = (c: Child): boolean => c.child.exitCode === null && c.child.signalCode === null;
      const bootstrap = (): { host: string; port: number }[] => [...brokers.values()].filter(alive).map((b) => ({ host: '127.0.0.1', port: b.port }));
      const say = (line: string): void => {
        process.stderr.write(`${line}\n`);
      };
      try {
        const controller = await startChild('controller', ['controller', '--dir', join(dir, 'controller'), '--port', '0', '--session-timeout-ms', String(sessionMs)]);
        const startBroker = async (id: number, port = 0): Promise<void> => {
          brokers.set(id, await startChild(`broker ${id}`, ['serve', '--controller', `127.0.0.1:${controller.port}`, '--id', String(id), '--dir', join(dir, `broker${id}`), '--port', String(port)]));
        };
        for (let id = 1; id <= BROKERS; id++) await startBroker(id);
        say(`controller and ${BROKERS} brokers started (session timeout ${sessionMs} ms); creating topic ${TOPIC} (RF ${BROKERS}, min.insync.replicas 2)`);
        const describe = async (): Promise<{ leaderId: number; leaderEpoch: number; isr: readonly number[] | null; highWatermark: number | null }> => {
          const a = new Admin({ ...seams, bootstrapServers: bootstrap(), retries: 0 });
          await a.connect();
          try {
            const [p] = await a.describePartitions(TOPIC);
            if (p === undefined) throw new CommandError(`topic ${TOPIC} has no partition`);
            return p;
          } finally {
            await a.disconnect();
          }
        };
        const waitFor = async (what: string, check: () => Promise<boolean>): Promise<void> => {
          const deadline = seams.clock.now() + FAILOVER_DEADLINE_MS;
          for (;;) {
            if (await check().catch(() => false)) return;
            if (seams.clock.now() > deadline) {
              // What each process said last: the reason is usually in there.
              for (const path of [...new Set(logs)]) process.stderr.write(`--- ${path}\n${readFileSync(path, 'utf8').split('\n').slice(-12).join('\n')}\n`);
              throw new CommandError(`${what}: not within ${FAILOVER_DEADLINE_MS} ms`);
            }
            await new Promise<void>((r) => seams.clock.setTimeout(r, 20));
          }
        };
        await waitFor('creating the topic', async () => {
          const a = new Admin({ ...seams, bootstrapServers: bootstrap(), retries: 0 });
          await a.connect();
          try {
            await a.createTopic({ topic: TOPIC, numPartitions: 1, configEntries: [{ name: 'replication.factor', value: String(BROKERS) }, { name: 'min.insync.replicas', value: '2' }] });
            return true;
          } finally {
            await a.disconnect();
          }
        });
        await waitFor('a full ISR', async () => ((await describe()).isr?.length ?? 0) === BROKERS);

        const producer = new Producer({ ...seams, bootstrapServers: bootstrap(), acks: -1, retries: 10_000, retryBackoffMs: 20, deliveryTimeoutMs: 60_000 });
        await producer.connect();
        const acked = new Map<number, string>();
        /** When each acknowledged send was made, and when it was acknowledged. */
        let acks: { sentMs: number; ackedMs: number }[] = [];
        let maxAckedOffset = -1;
        let failed = 0;
        let reused = 0;
        let seq = 0;
        let stopping = false;
        const lane = async (n: number): Promise<void> => {
          while (!stopping) {
            const value = `${n}-${seq++}`;
            const sentMs = seams.clock.now();
            try {
              const [r] = await producer.send({ topic: TOPIC, messages: [{ value, partition: 0 }] });
              if (r === undefined) continue;
              if (acked.has(r.offset)) reused++;
              acked.set(r.offset, value);
              maxAckedOffset = Math.max(maxAckedOffset, r.offset);
              acks.push({ sentMs, ackedMs: seams.clock.now() });
            } catch {
              failed++;
            }
          }
        };
        const lanes = Array.from({ length: LANES }, (_, n) => lane(n));
        const times: number[] = [];
        try {
          for (let run = 1; run <= runs; run++) {
            const before = acked.size;
            await waitFor('load before the kill', async () => acked.size >= before + 100);
            const { leaderId, leaderEpoch } = await describe();
            const victim = brokers.get(leaderId);
            if (victim === undefined) throw new CommandError(`leader ${leaderId} is not a broker this command started`);
            acks = [];
            const killedAtMs = seams.clock.now();
            victim.child.kill('SIGKILL');
            const firstAfter = (): { sentMs: number; ackedMs: number } | undefined => acks.find((a) => a.sentMs > killedAtMs);
            await waitFor('the first acknowledgement after the kill', async () => firstAfter() !== undefined).catch(async (err: unknown) => {
              const d = await describe().catch((e: unknown) => String(e));
              say(`producer: ${producer.inFlight} requests in flight, ${producer.bufferedBytes} bytes buffered, ${producer.requestsSent} sent, ${producer.requestsRetried} retried, ${producer.connectionCount} connections; partition: ${JSON.stringify(d)}`);
              throw err;
            });
            const failoverMs = (firstAfter() as { ackedMs: number }).ackedMs - killedAtMs;
            times.push(failoverMs);
            await waitFor('a new leader in a higher epoch', async () => {
              const d = await describe();
              return d.leaderId >= 0 && d.leaderId !== leaderId && d.leaderEpoch > leaderEpoch;
            });
            const after = await describe();
            say(`run ${run}: killed broker ${leaderId} (leader, epoch ${leaderEpoch}); broker ${after.leaderId} leads in epoch ${after.leaderEpoch}; first acknowledgement ${failoverMs} ms after the kill`);
            await new Promise<void>((resolve) => (alive(victim) ? victim.child.once('exit', () => resolve()) : resolve()));
            await startBroker(leaderId, victim.port);
            await waitFor('the old leader back in the ISR', async () => ((await describe()).isr?.length ?? 0) === BROKERS);
          }
        } finally {
          stopping = true;
          await Promise.all(lanes);
          await producer.disconnect();
        }
        // A new leader's HW catches up with what its predecessor acknowledged once the ISR has fetched it.
        await waitFor('the high watermark past every acknowledged offset', async () => ((await describe()).highWatermark ?? -1) > maxAckedOffset);
        const consumer = new Consumer({ ...seams, bootstrapServers: bootstrap(), topic: TOPIC, partition: 0, fromOffset: 0, maxWaitMs: 0, retries: 20 });
        await consumer.connect();
        const read = new Map<number, string>();
        try {
          while (!consumer.caughtUp) for (const r of await consumer.poll()) read.set(r.offset, r.value?.toString() ?? '');
        } finally {
          await consumer.disconnect();
        }
        const missing = [...acked].filter(([offset, value]) => read.get(offset) !== value).length;
        const sorted = [...times].sort((a, b) => a - b);
        const pick = (q: number): number => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] as number;
        await writeOut(
          [
            `failover (kill -9 of the leader -> first acknowledgement), ${runs} run(s), session timeout ${sessionMs} ms: median ${pick(0.5)} ms, p90 ${pick(0.9)} ms, max ${sorted[sorted.length - 1]} ms`,
            `acknowledged ${acked.size}, missing ${missing}, offsets acknowledged twice ${reused}, sends failed ${failed}`,
            '',
          ].join('\n'),
        );
        if (missing > 0 || reused > 0) throw new CommandError(`${missing} acknowledged record(s) missing, ${reused} offset(s) acknowledged twice`);
      } finally {
        for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
        await Promise.all(children.map((c) => (c.exitCode === null && c.signalCode === null ? new Promise((r) => c.once('exit', r)) : undefined)));
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}
