/**
 * The `cluster` command, run as a learner runs it: it writes a cluster file, starts three
 * brokers as child processes, prints each one's id, pid and address, then the live
 * table (here as plain lines: stdout is a pipe). A broker killed with SIGKILL shows as
 * down and is not restarted; SIGTERM to the supervisor stops every broker and leaves no
 * process behind, checked pid by pid. The table's layout is checked on its own too.
 */
import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli, spawnCli, tempDir, waitFor, waitForExit } from '../../../shared/src/testing.ts';
import { clusterTable, type BrokerView } from '../src/cli/cluster.ts';
import { Producer } from '../src/client/producer.ts';
import { parseClusterFile } from '../src/replication/cluster-file.ts';
import { realClock } from '../src/seams/clock.ts';
import { seededRandom } from '../src/seams/random.ts';
import { tcpTransport } from '../src/seams/transport.ts';
import { MAIN } from './process-cluster.ts';

/** Whether a process with this pid exists (signal 0 checks without sending anything). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Wait until the supervisor's output matches `pattern`; on timeout, say what it did print. */
async function waitForOutput(text: () => string, pattern: RegExp, timeoutMs: number): Promise<void> {
  await waitFor(() => pattern.test(text()), timeoutMs, 50).catch((e: unknown) => {
    throw new Error(`${(e as Error).message}: no output matched ${pattern}; the last of stdout:\n${text().slice(-3000)}`);
  });
}

/** Collect a child's stdout as text, as it comes. */
function collect(child: ChildProcess): { text: () => string } {
  const chunks: string[] = [];
  child.stdout?.on('data', (b: Buffer) => chunks.push(b.toString()));
  return { text: () => chunks.join('') };
}

describe('cluster', () => {
  it('starts three brokers, prints their pids, addresses and a table with the full ISR, shows a killed broker as down, and SIGTERM leaves no process behind', async () => {
    const tmp = tempDir('cluster-cli-');
    const supervisor = spawnCli(MAIN, ['cluster', '--dir', tmp.path, '--base-port', '0', '--replica-lag-time-max-ms', '1000']);
    supervisor.stdin?.end();
    const out = collect(supervisor);
    const stderr: string[] = [];
    supervisor.stderr?.on('data', (b: Buffer) => stderr.push(b.toString()));
    const brokers = (): { id: number; pid: number; port: number }[] =>
      [...out.text().matchAll(/^broker (\d+): pid (\d+), listening on 127\.0\.0\.1:(\d+), /gm)].map((m) => ({ id: Number(m[1]), pid: Number(m[2]), port: Number(m[3]) }));
    try {
      await waitFor(() => brokers().length === 3, 40_000, 50).catch((e: unknown) => {
        throw new Error(`${(e as Error).message}; stdout: ${out.text()}; stderr: ${stderr.join('')}`);
      });
      expect(brokers().map((b) => b.id)).toEqual([1, 2, 3]);
      expect(new Set(brokers().map((b) => b.port)).size).toBe(3);
      // The cluster file it wrote names those ports.
      const file = parseClusterFile(JSON.parse(readFileSync(join(tmp.path, 'cluster.json'), 'utf8')));
      expect(file.brokers.map((b) => b.port)).toEqual(brokers().map((b) => b.port));
      expect(file.topics[0]?.replicas).toEqual([
        [1, 2, 3],
        [2, 3, 1],
        [3, 1, 2],
      ]);
      expect(out.text()).toMatch(/not restarted/);

      // A table line: partition 0, leader 1, replicas and ISR 1,2,3.
      await waitForOutput(out.text, /^demo-0\s+1\s+1,2,3\s+1,2,3\s+0\/0\s+0\/0\s+0\/0$/m, 20_000);

      // Records produced to partition 0's leader show up as every replica's own HW/LEO.
      const producer = new Producer({ port: brokers()[0]?.port ?? 0, clock: realClock, transport: tcpTransport, random: seededRandom(7), acks: -1 });
      await producer.connect();
      try {
        await producer.send({ topic: 'demo', messages: Array.from({ length: 10 }, (_, i) => ({ value: `v${i}`, partition: 0 })) });
      } finally {
        await producer.disconnect();
      }
      await waitForOutput(out.text, /^demo-0\s+1\s+1,2,3\s+1,2,3\s+10\/10\s+10\/10\s+10\/10$/m, 20_000);

      // kill -9 broker 3: reported, shown down, not restarted. (The ISR columns are the
      // brokers' own answers: partition 2, which broker 3 led, has nobody to report its ISR.)
      const victim = brokers()[2]?.pid ?? 0;
      process.kill(victim, 'SIGKILL');
      await waitForOutput(out.text, new RegExp(`^\\+[\\d.]+s broker 3 \\(pid ${victim}\\) exited: signal SIGKILL; not restarted$`, 'm'), 10_000);
      await waitForOutput(out.text, /^3\s+\d+\s+\S+\s+DOWN \(signal SIGKILL; not restarted\)$/m, 10_000);
      await waitForOutput(out.text, /^demo-0\s+1\s+1,2,3\s+[\d,]+\s+10\/10\s+10\/10\s+down$/m, 10_000);
      await waitForOutput(out.text, /^demo-2\s+3\s+3,1,2\s+\?\s+0\/0\s+0\/0\s+down$/m, 10_000);
      expect(alive(victim)).toBe(false);

      supervisor.kill('SIGTERM');
      const exit = await waitForExit(supervisor, 30_000);
      expect(exit.code).toBe(0);
      expect(out.text()).toMatch(/SIGTERM: stopping every broker/);
      expect(out.text()).toMatch(/broker 1 \(pid \d+\) stopped: exit code 0/);
      expect(out.text()).toMatch(/broker 2 \(pid \d+\) stopped: exit code 0/);
      for (const b of brokers()) expect(alive(b.pid), `broker ${b.id} (pid ${b.pid}) still running`).toBe(false);
    } finally {
      // Whatever happened above, nothing stays behind: the brokers by pid, then the supervisor.
      for (const b of brokers()) if (alive(b.pid)) process.kill(b.pid, 'SIGKILL');
      if (supervisor.exitCode === null && supervisor.signalCode === null) {
        supervisor.kill('SIGKILL');
        await waitForExit(supervisor, 10_000);
      }
      await waitFor(() => brokers().every((b) => !alive(b.pid)), 10_000);
      tmp.remove();
    }
  });

  it('refuses a cluster it cannot make with a usage error', async () => {
    const [rf, brokers] = await Promise.all([
      runCli(MAIN, ['cluster', '--brokers', '2', '--replication-factor', '3', '--base-port', '0']),
      runCli(MAIN, ['cluster', '--brokers', '17', '--base-port', '0']),
    ]);
    expect([rf.code, rf.stdout, rf.stderr]).toEqual([2, '', 'error: --replication-factor 3 needs at least that many brokers, got --brokers 2\n']);
    expect([brokers.code, brokers.stdout, brokers.stderr]).toEqual([2, '', 'error: --brokers 17: a cluster file holds at most 16 brokers\n']);
  });

  it('lays the table out per broker and per partition', () => {
    const topic = { name: 'demo', replicas: [[1, 2, 3], [2, 3, 1]] };
    const md = (id: number, parts: { isr: number[]; hw: number; leo: number }[]) => ({
      errorCode: 0,
      errorMessage: null,
      brokers: [],
      topics: [{ errorCode: 0, topic: 'demo', isInternal: false, configs: [], partitions: parts.map((x, p) => ({ partition: p, leaderId: topic.replicas[p]?.[0] ?? -1, leaderEpoch: -1, replicas: topic.replicas[p] ?? [], isr: x.isr, highWatermark: x.hw, logEndOffset: x.leo })) }],
    });
    const views: BrokerView[] = [
      { id: 1, host: '127.0.0.1', port: 9001, pid: 11, exited: null, error: null, metadata: md(1, [{ isr: [1, 2], hw: 5, leo: 7 }, { isr: [], hw: 3, leo: 3 }]) },
      { id: 2, host: '127.0.0.1', port: 9002, pid: 12, exited: null, error: 'request timed out', metadata: null },
      { id: 3, host: '127.0.0.1', port: 9003, pid: 13, exited: 'signal SIGKILL', error: null, metadata: null },
    ];
    expect(clusterTable(topic, views)).toEqual([
      'BROKER  PID  ADDRESS         STATE',
      '1       11   127.0.0.1:9001  up',
      '2       12   127.0.0.1:9002  up, not answering (request timed out)',
      '3       13   127.0.0.1:9003  DOWN (signal SIGKILL; not restarted)',
      'PARTITION  LEADER  REPLICAS  ISR  HW/LEO@1  HW/LEO@2  HW/LEO@3',
      'demo-0     1       1,2,3     1,2  5/7       ?         down',
      'demo-1     2       2,3,1     ?    3/3       ?         down',
    ]);
  });
});
