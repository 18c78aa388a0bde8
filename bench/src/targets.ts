/**
 * Starting and stopping what a scenario measures: a phase broker (through its
 * adapter, with a fresh data directory) or the redis peer, each wrapped as a
 * ServedTarget and always stopped and cleaned up afterwards, even on Ctrl-C.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { BrokerHandle, TargetAdapter } from './adapters/types.ts';
import { withCleanup } from './cleanup.ts';
import { redisMissingMessage, startRedis } from './redis-peer.ts';
import type { ServedTarget } from './served.ts';

/** Start `adapter`'s broker with a fresh data dir under `dataDir`, run `body`, stop it, remove the dir. */
export async function withBroker<T>(adapter: TargetAdapter, dataDir: string, body: (target: ServedTarget, broker: BrokerHandle) => Promise<T>): Promise<T> {
  if (!adapter.startBroker) throw new Error(`${adapter.label} has no broker to serve`);
  const dir = mkdtempSync(join(dataDir, `bench-${adapter.key}-`));
  let broker: BrokerHandle | null = null;
  return await withCleanup(
    async () => {
      await broker?.stop();
      rmSync(dir, { recursive: true, force: true });
    },
    async () => {
      broker = await adapter.startBroker?.(dir) ?? null;
      if (!broker) throw new Error('no broker');
      const b = broker;
      const target: ServedTarget = { key: adapter.key, label: adapter.label, phase: adapter.phase, port: b.port, ack: adapter.ack, cpuTimeMs: () => b.cpuTimeMs() };
      return await body(target, b);
    },
  );
}

/** Start the redis peer, run `body`, stop it; if redis-server is missing, say how to install it and return null. */
export async function withRedis<T>(dataDir: string, body: (target: ServedTarget) => Promise<T>, say: (line: string) => void): Promise<T | null> {
  const redis = await startRedis(dataDir);
  if (redis === null) {
    say(redisMissingMessage);
    return null;
  }
  return await withCleanup(
    () => redis.stop(),
    async () => body({
      key: 'redis', label: `redis ${redis.version} XADD`, phase: null, port: redis.port,
      ack: 'after the AOF fsync (appendfsync always)', cpuTimeMs: () => redis.cpuTimeMs(),
    }),
  );
}
