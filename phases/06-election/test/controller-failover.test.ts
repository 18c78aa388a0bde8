/**
 * The controller is a single point of failure for decisions, not for data: killed with
 * SIGKILL under acks=all load, the brokers keep serving (leaders lead, followers follow,
 * acknowledgements continue); restarted on its directory, it replays its metadata log and
 * gives every broker a full session before fencing any, and the next election uses a
 * higher leader epoch than any before: no epoch goes back across the restart. Every part
 * is its own OS process over TCP; waits are on Metadata answers and acknowledgement
 * counts, never on time.
 */
import type { ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { waitFor, waitForExit } from '../../../shared/src/testing.ts';
import { cliProcesses } from './cli-processes.ts';
import { Admin, type PartitionDescription } from '../src/client/admin.ts';
import { Producer } from '../src/client/producer.ts';
import { realSeams } from '../src/seams/real.ts';

const MAIN = fileURLToPath(new URL('../src/main.ts', import.meta.url));
const TOPIC = 'orders';

const procs = cliProcesses(MAIN);
afterEach(() => procs.cleanup());
const start = procs.start;

describe('the controller killed under load', () => {
  it('kill -9 the controller: acks continue; restarted, it fences nobody at once, and the next election gets a higher epoch than any before', async () => {
    const root = procs.tempDir('controller-failover-');
    const logs: string[] = [];
    const controllerArgs = (port: number): string[] => ['controller', '--dir', `${root.path}/controller`, '--port', String(port), '--session-timeout-ms', '1000'];
    let controller = await start(controllerArgs(0), logs);
    const controllerPort = controller.port;
    const brokers = new Map<number, { child: ChildProcess; port: number }>();
    for (const id of [1, 2, 3]) {
      brokers.set(id, await start(['serve', '--controller', `127.0.0.1:${controllerPort}`, '--id', String(id), '--dir', `${root.path}/broker${id}`, '--port', '0'], logs));
    }
    const bootstrap = (): { host: string; port: number }[] => [...brokers.values()].filter((b) => b.child.exitCode === null && b.child.signalCode === null).map((b) => ({ host: '127.0.0.1', port: b.port }));
    const describePartitions = async (): Promise<PartitionDescription[]> => {
      const a = new Admin({ ...realSeams(), bootstrapServers: bootstrap(), retries: 0 });
      await a.connect();
      try {
        return await a.describePartitions(TOPIC);
      } finally {
        await a.disconnect();
      }
    };
    await waitFor(async () => {
      const a = new Admin({ ...realSeams(), bootstrapServers: bootstrap(), retries: 0 });
      await a.connect();
      try {
        await a.createTopic({ topic: TOPIC, numPartitions: 2, configEntries: [{ name: 'replication.factor', value: '3' }, { name: 'min.insync.replicas', value: '2' }] });
        return true;
      } catch (err) {
        if (err instanceof Error && /replication factor/.test(err.message)) return false;
        throw err;
      } finally {
        await a.disconnect();
      }
    }, 20_000, 200);
    await waitFor(async () => (await describePartitions().catch(() => [])).every((p) => p.isr?.length === 3), 20_000, 100);
    const epochsBefore = (await describePartitions()).map((p) => p.leaderEpoch);

    const producer = new Producer({ ...realSeams(), bootstrapServers: bootstrap(), acks: -1, retries: 1000, retryBackoffMs: 50, deliveryTimeoutMs: 60_000 });
    await producer.connect();
    let acked = 0;
    let stopping = false;
    const lanes = [0, 1, 2, 3].map(async (lane) => {
      for (let n = 0; !stopping; n++) {
        await producer.send({ topic: TOPIC, messages: [{ key: `k${lane}-${n}`, value: `v${lane}-${n}` }] }).then(
          () => acked++,
          () => undefined,
        );
      }
    });
    try {
      await waitFor(() => acked >= 50, 30_000, 20);
      // The controller dies: data keeps flowing.
      controller.child.kill('SIGKILL');
      await waitForExit(controller.child);
      const atKill = acked;
      await waitFor(() => acked >= atKill + 200, 30_000, 20);
      expect((await describePartitions()).map((p) => p.leaderEpoch)).toEqual(epochsBefore);

      // It comes back on the same directory and port: it replays its log, fences nobody for a session.
      controller = await start(controllerArgs(controllerPort), logs);
      const atRestart = acked;
      await waitFor(() => acked >= atRestart + 200, 30_000, 20);
      expect(logs.join('')).not.toMatch(/fencing it/);
      expect((await describePartitions()).map((p) => p.leaderEpoch)).toEqual(epochsBefore);

      // An election after the restart: the leader of partition 0 is killed; its new epoch is above every epoch before.
      const [p0] = await describePartitions();
      if (p0 === undefined) throw new Error('no partition 0');
      const victim = brokers.get(p0.leaderId);
      if (victim === undefined) throw new Error(`leader ${p0.leaderId} is not ours`);
      victim.child.kill('SIGKILL');
      await waitForExit(victim.child);
      await waitFor(async () => {
        const [now] = await describePartitions().catch(() => []);
        return now !== undefined && now.leaderId >= 0 && now.leaderId !== p0.leaderId;
      }, 20_000, 100);
      const [after] = await describePartitions();
      expect(after?.leaderEpoch).toBeGreaterThan(Math.max(...epochsBefore));
      const atElection = acked;
      await waitFor(() => acked >= atElection + 50, 30_000, 20);
    } catch (err) {
      throw new Error(`${String(err)}\n${logs.join('').split('\n').slice(-40).join('\n')}`);
    } finally {
      stopping = true;
      await Promise.all(lanes);
      await producer.disconnect();
    }
  }, 120_000);
});
