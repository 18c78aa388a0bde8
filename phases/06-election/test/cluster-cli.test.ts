/**
 * The `cluster` command, run as a learner runs it: it starts a controller and three
 * `serve --controller` brokers as child processes, prints each one's pid and address and
 * the `serve` line that restarts a broker by hand, creates topic `demo` once the brokers
 * are registered, then the live table (here as plain lines: stdout is a pipe). A
 * partition's leader killed with SIGKILL shows as down and is not restarted; the
 * controller elects another leader in a higher epoch and the ISR shrinks, which the table
 * and an event line show. The printed `serve` line brings the broker back into the ISR.
 * SIGTERM to the supervisor stops every child and leaves no process behind, checked pid
 * by pid. The table's layout and the event lines are checked on their own too.
 */
import type { ChildProcess } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { runCli, spawnCli, tempDir, waitFor, waitForExit, waitForLine } from '../../../shared/src/testing.ts';
import { type BrokerView, type ProcessView, clusterTable, partitionChanges } from '../src/cli/cluster.ts';
import { Producer } from '../src/client/producer.ts';
import type { MetadataResponse, PartitionMetadata } from '../src/protocol/metadata.ts';
import { realSeams } from '../src/seams/real.ts';
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
async function waitForOutput(text: () => string, pattern: RegExp, timeoutMs: number): Promise<RegExpMatchArray> {
  let match: RegExpMatchArray | null = null;
  await waitFor(() => (match = pattern.exec(text())) !== null, timeoutMs, 50).catch((e: unknown) => {
    throw new Error(`${(e as Error).message}: no output matched ${pattern}; the last of stdout:\n${text().slice(-3000)}`);
  });
  return match as unknown as RegExpMatchArray;
}

/** Collect a child's stdout as text, as it comes. */
function collect(child: ChildProcess): { text: () => string } {
  const chunks: string[] = [];
  child.stdout?.on('data', (b: Buffer) => chunks.push(b.toString()));
  return { text: () => chunks.join('') };
}

/** One partition line of the table, as printed. */
interface PartitionLine {
  readonly partition: number;
  readonly leader: number;
  readonly epoch: number;
  readonly replicas: number[];
  readonly isr: number[];
  readonly cells: string[];
}

/** Every partition line printed so far, in order. */
function partitionLines(text: string): PartitionLine[] {
  return [...text.matchAll(/^demo-(\d+)\s+(\d+)\s+(\d+)\s+([\d,]+)\s+([\d,]+)\s+(\S+)\s+(\S+)\s+(\S+)$/gm)].map((m) => ({
    partition: Number(m[1]),
    leader: Number(m[2]),
    epoch: Number(m[3]),
    replicas: (m[4] as string).split(',').map(Number),
    isr: (m[5] as string).split(',').map(Number),
    cells: [m[6] as string, m[7] as string, m[8] as string],
  }));
}

describe('cluster', () => {
  it('starts a controller and three brokers, creates demo, shows a new leader in a higher epoch when the leader is killed, takes the broker back when restarted by its printed line, and SIGTERM leaves no process behind', async () => {
    const tmp = tempDir('cluster-cli-');
    const supervisor = spawnCli(MAIN, ['cluster', '--dir', tmp.path]);
    supervisor.stdin?.end();
    const out = collect(supervisor);
    const stderr: string[] = [];
    supervisor.stderr?.on('data', (b: Buffer) => stderr.push(b.toString()));
    const controller = (): { pid: number; port: number } | undefined => {
      const m = /^controller: pid (\d+), listening on 127\.0\.0\.1:(\d+), /m.exec(out.text());
      return m === null ? undefined : { pid: Number(m[1]), port: Number(m[2]) };
    };
    const brokers = (): { id: number; pid: number; port: number; restart: string }[] =>
      [...out.text().matchAll(/^broker (\d+): pid (\d+), listening on 127\.0\.0\.1:(\d+), .*\n {2}restart it by hand: npm run phase 6 -- (.*)$/gm)].map((m) => ({
        id: Number(m[1]),
        pid: Number(m[2]),
        port: Number(m[3]),
        restart: m[4] as string,
      }));
    const pids = (): number[] => [...(controller() === undefined ? [] : [controller()?.pid as number]), ...brokers().map((b) => b.pid)];
    let byHand: ChildProcess | null = null;
    try {
      await waitFor(() => brokers().length === 3, 40_000, 50).catch((e: unknown) => {
        throw new Error(`${(e as Error).message}; stdout: ${out.text()}; stderr: ${stderr.join('')}`);
      });
      const c = controller();
      if (c === undefined) throw new Error(`no controller line: ${out.text()}`);
      expect(brokers().map((b) => b.id)).toEqual([1, 2, 3]);
      expect(new Set([c.port, ...brokers().map((b) => b.port)]).size).toBe(4);
      for (const b of brokers()) expect(b.restart).toBe(`serve --controller 127.0.0.1:${c.port} --id ${b.id} --dir ${tmp.path}/broker${b.id} --port ${b.port}`);
      await waitForOutput(out.text, /^created topic demo through broker \d: 3 partitions, replication factor 3, min\.insync\.replicas 2$/m, 40_000);

      // The table: every process up, every partition with a leader in epoch 0 and the full ISR.
      await waitForOutput(out.text, new RegExp(`^controller\\s+${c.pid}\\s+127\\.0\\.0\\.1:${c.port}\\s+up$`, 'm'), 20_000);
      await waitFor(() => [0, 1, 2].every((p) => partitionLines(out.text()).some((l) => l.partition === p && l.epoch === 0 && l.isr.length === 3 && l.cells.every((x) => x === '0/0'))), 20_000, 50);
      const first = partitionLines(out.text()).find((l) => l.partition === 0 && l.epoch === 0);
      if (first === undefined) throw new Error('no line for demo-0');
      expect(first.leader).toBe(first.replicas[0]);
      expect([...first.replicas].sort()).toEqual([1, 2, 3]);

      // Records produced to partition 0 (acks=all) show up as every replica's own HW/LEO.
      const producer = new Producer({ ...realSeams(), bootstrapServers: brokers().map((b) => ({ host: '127.0.0.1', port: b.port })), acks: -1 });
      await producer.connect();
      try {
        await producer.send({ topic: 'demo', messages: Array.from({ length: 10 }, (_, i) => ({ value: `v${i}`, partition: 0 })) });
      } finally {
        await producer.disconnect();
      }
      await waitForOutput(out.text, /^demo-0\s+\d+\s+0\s+[\d,]+\s+[\d,]+\s+10\/10\s+10\/10\s+10\/10$/m, 20_000);

      // kill -9 partition 0's leader by its printed pid: shown down, not restarted; the
      // controller fences it, elects another replica in a higher epoch, shrinks the ISR.
      const leader = first.leader;
      const victim = brokers().find((b) => b.id === leader);
      if (victim === undefined) throw new Error(`leader ${leader} is not a broker the command printed`);
      const killedAt = out.text().length;
      const since = (): string => out.text().slice(killedAt);
      process.kill(victim.pid, 'SIGKILL');
      await waitForOutput(since, new RegExp(`^\\+[\\d.]+s broker ${leader} \\(pid ${victim.pid}\\) exited: signal SIGKILL; not restarted$`, 'm'), 10_000);
      await waitForOutput(since, new RegExp(`^broker ${leader}\\s+${victim.pid}\\s+\\S+\\s+DOWN \\(signal SIGKILL; not restarted\\)$`, 'm'), 10_000);
      const elected = await waitForOutput(since, new RegExp(`^\\+[\\d.]+s demo-0: leader ${leader} -> (\\d+), epoch 0 -> (\\d+); ISR [\\d,]+ -> ([\\d,]+)$`, 'm'), 20_000);
      const newLeader = Number(elected[1]);
      expect(newLeader).not.toBe(leader);
      expect(Number(elected[2])).toBeGreaterThan(0);
      expect(elected[3]?.split(',').map(Number)).not.toContain(leader);
      await waitFor(() => partitionLines(since()).some((l) => l.partition === 0 && l.leader === newLeader && l.epoch > 0 && !l.isr.includes(leader) && l.cells[leader - 1] === 'down'), 10_000, 50);
      expect(alive(victim.pid)).toBe(false);

      // The serve line it printed restarts the broker by hand: it rejoins demo-0's ISR.
      const restartedAt = out.text().length;
      byHand = spawnCli(MAIN, victim.restart.split(' '));
      byHand.stdin?.end();
      await waitForLine(byHand.stdout as NodeJS.ReadableStream, new RegExp(`^listening on 127\\.0\\.0\\.1:${victim.port}$`), 30_000);
      byHand.stdout?.resume();
      await waitForOutput(() => out.text().slice(restartedAt), new RegExp(`^broker ${leader}\\s+${victim.pid}\\s+\\S+\\s+restarted by hand \\(our pid exited: signal SIGKILL\\)$`, 'm'), 20_000);
      await waitFor(() => partitionLines(out.text().slice(restartedAt)).some((l) => l.partition === 0 && l.isr.length === 3 && l.cells.every((x) => x === '10/10')), 30_000, 50);
      byHand.kill('SIGTERM');
      expect((await waitForExit(byHand, 30_000)).code).toBe(0);

      supervisor.kill('SIGTERM');
      const exit = await waitForExit(supervisor, 40_000);
      expect(exit.code, stderr.join('')).toBe(0);
      expect(out.text()).toMatch(/SIGTERM: stopping every broker, then the controller/);
      for (const b of brokers()) if (b.id !== leader) expect(out.text()).toMatch(new RegExp(`^\\+[\\d.]+s broker ${b.id} \\(pid ${b.pid}\\) stopped: exit code 0$`, 'm'));
      expect(out.text()).toMatch(new RegExp(`^\\+[\\d.]+s controller \\(pid ${c.pid}\\) stopped: exit code 0$`, 'm'));
      for (const pid of pids()) expect(alive(pid), `pid ${pid} still running`).toBe(false);
    } finally {
      // Whatever happened above, nothing stays behind: every child by pid, then the supervisor.
      for (const pid of pids()) if (alive(pid)) process.kill(pid, 'SIGKILL');
      if (byHand !== null && byHand.exitCode === null && byHand.signalCode === null) {
        byHand.kill('SIGKILL');
        await waitForExit(byHand, 10_000);
      }
      if (supervisor.exitCode === null && supervisor.signalCode === null) {
        supervisor.kill('SIGKILL');
        await waitForExit(supervisor, 10_000);
      }
      await waitFor(() => pids().every((pid) => !alive(pid)), 10_000);
      tmp.remove();
    }
  });

  it('refuses a cluster it cannot make with a usage error', async () => {
    const [rf, brokers, ports] = await Promise.all([
      runCli(MAIN, ['cluster', '--brokers', '2', '--replication-factor', '3']),
      runCli(MAIN, ['cluster', '--brokers', '17']),
      runCli(MAIN, ['cluster', '--brokers', '8', '--base-port', '65530']),
    ]);
    expect([rf.code, rf.stdout, rf.stderr]).toEqual([2, '', 'error: --replication-factor 3 needs at least that many brokers, got --brokers 2\n']);
    expect([brokers.code, brokers.stdout, brokers.stderr]).toEqual([2, '', 'error: --brokers 17: a cluster has at most 16 brokers\n']);
    expect([ports.code, ports.stdout, ports.stderr]).toEqual([2, '', 'error: --base-port 65530 leaves no room for a controller and 8 brokers below port 65535\n']);
  });

  const part = (partition: number, leaderId: number, leaderEpoch: number, replicas: number[], isr: number[], hw = -1, leo = -1): PartitionMetadata => ({ partition, leaderId, leaderEpoch, replicas, isr, highWatermark: hw, logEndOffset: leo });
  const md = (unfenced: number[], partitions: PartitionMetadata[]): MetadataResponse => ({
    errorCode: 0,
    errorMessage: null,
    brokers: unfenced.map((id) => ({ nodeId: id, host: '127.0.0.1', port: 9000 + id })),
    topics: [{ errorCode: 0, topic: 'demo', isInternal: false, configs: [], partitions }],
  });

  it('lays the table out per process and per partition, with the controller\'s leader, epoch and ISR', () => {
    const controller: ProcessView = { host: '127.0.0.1', port: 9000, pid: 10, exited: null, error: null, metadata: md([1, 2], [part(0, 1, 3, [1, 2, 3], [1, 2]), part(1, -1, 2, [3, 1, 2], [3])]) };
    const brokers: BrokerView[] = [
      { id: 1, host: '127.0.0.1', port: 9001, pid: 11, exited: null, error: null, metadata: md([1, 2], [part(0, 1, 3, [1, 2, 3], [1, 2], 5, 7), part(1, -1, 2, [3, 1, 2], [3], 3, 3)]) },
      { id: 2, host: '127.0.0.1', port: 9002, pid: 12, exited: null, error: 'request timed out', metadata: null },
      { id: 3, host: '127.0.0.1', port: 9003, pid: 13, exited: 'signal SIGKILL', error: 'connect ECONNREFUSED', metadata: null },
      { id: 4, host: '127.0.0.1', port: 9004, pid: 14, exited: 'signal SIGKILL', error: null, metadata: md([1, 2], [part(0, 1, 3, [1, 2, 3], [1, 2]), part(1, -1, 2, [3, 1, 2], [3])]) },
    ];
    expect(clusterTable('demo', controller, brokers)).toEqual([
      'PROCESS     PID  ADDRESS         STATE',
      'controller  10   127.0.0.1:9000  up',
      'broker 1    11   127.0.0.1:9001  up',
      'broker 2    12   127.0.0.1:9002  up, not answering (request timed out)',
      'broker 3    13   127.0.0.1:9003  DOWN (signal SIGKILL; not restarted)',
      'broker 4    14   127.0.0.1:9004  restarted by hand, fenced (our pid exited: signal SIGKILL)',
      'PARTITION  LEADER  EPOCH  REPLICAS  ISR  HW/LEO@1  HW/LEO@2  HW/LEO@3  HW/LEO@4',
      'demo-0     1       3      1,2,3     1,2  5/7       ?         down      -',
      'demo-1     none    2      3,1,2     3    3/3       ?         down      -',
    ]);
  });

  it('falls back on the brokers\' view (the furthest along) when the controller does not answer, and says so', () => {
    const controller: ProcessView = { host: '127.0.0.1', port: 9000, pid: 10, exited: 'signal SIGKILL', error: 'connect ECONNREFUSED', metadata: null };
    const brokers: BrokerView[] = [
      { id: 1, host: '127.0.0.1', port: 9001, pid: 11, exited: null, error: null, metadata: md([1, 2], [part(0, 1, 0, [1, 2], [1, 2], 4, 4)]) },
      { id: 2, host: '127.0.0.1', port: 9002, pid: 12, exited: null, error: null, metadata: md([2], [part(0, 2, 1, [1, 2], [2], 4, 4)]) },
    ];
    expect(clusterTable('demo', controller, brokers)).toEqual([
      'PROCESS     PID  ADDRESS         STATE',
      'controller  10   127.0.0.1:9000  DOWN (signal SIGKILL; not restarted)',
      'broker 1    11   127.0.0.1:9001  up',
      'broker 2    12   127.0.0.1:9002  up',
      'PARTITION  LEADER  EPOCH  REPLICAS  ISR  HW/LEO@1  HW/LEO@2',
      'demo-0     2       1      1,2       2    4/4       4/4',
      '(leader, epoch and ISR as broker 2 last heard them: the controller does not answer)',
    ]);
    const nobody: BrokerView[] = brokers.map((b) => ({ ...b, metadata: null }));
    expect(clusterTable('demo', controller, nobody).at(-1)).toBe('demo: no answer describes it yet');
  });

  it('reports each partition whose leader, epoch or ISR changed', () => {
    const before = [part(0, 3, 0, [3, 1, 2], [3, 1, 2]), part(1, 1, 0, [1, 2, 3], [1, 2, 3]), part(2, 2, 0, [2, 3, 1], [2, 3, 1])];
    const after = [part(0, 1, 1, [3, 1, 2], [1, 2]), part(1, 1, 0, [1, 2, 3], [1, 2]), part(2, 2, 0, [2, 3, 1], [2, 3, 1]), part(3, 1, 0, [1], [1])];
    expect(partitionChanges('demo', before, after)).toEqual(['demo-0: leader 3 -> 1, epoch 0 -> 1; ISR 3,1,2 -> 1,2', 'demo-1: ISR 1,2,3 -> 1,2']);
    expect(partitionChanges('demo', [part(0, 2, 4, [2], [2])], [part(0, -1, 5, [2], [2])])).toEqual(['demo-0: leader 2 -> none, epoch 4 -> 5']);
  });
});
