/**
 * The `controller` command as a real OS process over TCP: it prints `listening on H:P`,
 * registers brokers (played here by connections), fences one that goes silent, and,
 * killed with SIGKILL and restarted on the same directory, replays its metadata log:
 * every broker epoch, leader epoch and partition epoch is where it was, and the next
 * registration gets a higher epoch than any before. Bad options exit 2 in one line.
 */
import type { ChildProcess } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { fileURLToPath } from 'node:url';
import { runCli, spawnCli, stopProcess, tempDir, type TempDir, waitFor, waitForExit, waitForLine } from '../../../shared/src/testing.ts';
import { Connection } from '../src/client/connection.ts';
import { BrokerHeartbeat } from '../src/protocol/broker-heartbeat.ts';
import { BrokerRegistration } from '../src/protocol/broker-registration.ts';
import { CreateTopics } from '../src/protocol/create-topics.ts';
import { ErrorCode } from '../src/protocol/errors.ts';
import { Metadata, type MetadataResponse } from '../src/protocol/metadata.ts';
import { realClock } from '../src/seams/clock.ts';
import { tcpTransport } from '../src/seams/transport.ts';

const MAIN = fileURLToPath(new URL('../src/main.ts', import.meta.url));
const children: ChildProcess[] = [];
const dirs: TempDir[] = [];
const conns: Connection[] = [];
afterEach(async () => {
  for (const c of conns.splice(0)) await c.abort();
  for (const child of children.splice(0)) await stopProcess(child);
  for (const d of dirs.splice(0)) d.remove();
});

async function startController(dir: string, extra: string[] = []): Promise<{ child: ChildProcess; port: number }> {
  const child = spawnCli(MAIN, ['controller', '--dir', dir, '--port', '0', ...extra]);
  children.push(child);
  const m = await waitForLine(child.stdout as NodeJS.ReadableStream, /^listening on 127\.0\.0\.1:(\d+)$/);
  return { child, port: Number(m[1]) };
}

async function connect(port: number): Promise<Connection> {
  const conn = await Connection.connect({ port, clock: realClock, transport: tcpTransport, clientId: 'test' });
  conns.push(conn);
  return conn;
}

async function metadata(conn: Connection): Promise<MetadataResponse> {
  return await conn.request(Metadata, { topics: null, allowAutoTopicCreation: false });
}

describe('controller process', () => {
  it('registers, fences a silent broker, and after kill -9 and a restart replays every epoch and never reuses one', async () => {
    const dir = tempDir('controller-proc-');
    dirs.push(dir);
    const first = await startController(dir.path, ['--session-timeout-ms', '1500']);
    const conn = await connect(first.port);
    const epochs = new Map<number, number>();
    for (const id of [1, 2, 3]) {
      const reg = await conn.request(BrokerRegistration, { brokerId: id, host: '127.0.0.1', port: 29_090 + id });
      expect(reg.errorCode, reg.errorMessage ?? '').toBe(ErrorCode.NONE);
      epochs.set(id, reg.brokerEpoch);
      const hb = await conn.request(BrokerHeartbeat, { brokerId: id, brokerEpoch: reg.brokerEpoch, metadataOffset: reg.brokerEpoch + 1 });
      expect(hb.isFenced).toBe(false);
    }
    const created = await conn.request(CreateTopics, { topics: [{ name: 'orders', numPartitions: 3, configs: [] }] });
    expect(created.topics[0]?.errorCode).toBe(ErrorCode.NONE);
    const before = (await metadata(conn)).topics[0]?.partitions ?? [];
    expect(before.map((p) => p.leaderId).sort()).toEqual([1, 2, 3]);

    // Brokers 2 and 3 keep their leases; broker 1 goes silent and is fenced within a few session timeouts.
    let fenced = false;
    await waitFor(async () => {
      for (const id of [2, 3]) await conn.request(BrokerHeartbeat, { brokerId: id, brokerEpoch: epochs.get(id) as number, metadataOffset: 1_000_000 });
      const md = await metadata(conn);
      fenced = !md.brokers.some((b) => b.nodeId === 1);
      return fenced && (md.topics[0]?.partitions.every((p) => p.leaderId !== 1 && !p.isr.includes(1)) ?? false);
    }, 15_000, 200);
    const afterFence = (await metadata(conn)).topics[0]?.partitions ?? [];

    // kill -9 the controller, restart it on the same directory.
    first.child.kill('SIGKILL');
    await waitForExit(first.child);
    const second = await startController(dir.path, ['--session-timeout-ms', '1500']);
    const conn2 = await connect(second.port);
    const replayed = (await metadata(conn2)).topics[0]?.partitions ?? [];
    expect(replayed).toEqual(afterFence);
    // The old epochs are still the registered ones (a heartbeat with them is accepted) ...
    const hb = await conn2.request(BrokerHeartbeat, { brokerId: 2, brokerEpoch: epochs.get(2) as number, metadataOffset: 1_000_000 });
    expect(hb.errorCode).toBe(ErrorCode.NONE);
    // ... and a new registration gets an epoch above all of them.
    const again = await conn2.request(BrokerRegistration, { brokerId: 1, host: '127.0.0.1', port: 29_091 });
    expect(again.brokerEpoch).toBeGreaterThan(Math.max(...epochs.values()));
  }, 60_000);

  it('refuses bad options in one line with exit status 2', async () => {
    const r = await runCli(MAIN, ['controller', '--session-timeout-ms', '5']);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/^error: .*session-timeout-ms/);
  });
});
