/**
 * The peer: a redis-server of our own, configured as a durable append-only log —
 * `--appendonly yes --appendfsync always` (Redis fsyncs the AOF before it sends the
 * replies of each event-loop round, so an acknowledged XADD is on disk), no RDB
 * snapshots (`--save ''`) and no AOF rewrite, on a free loopback port with a
 * temporary directory that is removed when it stops. The load generator drives it
 * with XADD through resp.ts (see adapters/redis.ts).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { spawnServer } from './broker-process.ts';
import type { BrokerHandle } from './adapters/types.ts';

/** The message printed when redis-server is not installed. */
export const redisMissingMessage = 'redis-server not found: apt-get install -y redis-server';

/** Full path of redis-server on PATH, or null. */
export function findRedisServer(): string | null {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir === '') continue;
    const candidate = join(dir, 'redis-server');
    if (existsSync(candidate)) return candidate;
  }
  return null;
}

/** `redis-server --version`, e.g. "7.0.15", or "unknown". */
export function redisVersion(bin: string): string {
  try {
    const out = execFileSync(bin, ['--version'], { encoding: 'utf8' });
    return /v=(\S+)/.exec(out)?.[1] ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

/** A free TCP port on 127.0.0.1 (bind port 0, read it, release it). */
export async function freePort(): Promise<number> {
  return await new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => (port > 0 ? resolve(port) : reject(new Error('no port'))));
    });
  });
}

/** A running redis peer. */
export interface RedisPeer extends BrokerHandle {
  readonly version: string;
  readonly dir: string;
}

/** Start redis-server, or return null if it is not installed. */
export async function startRedis(dataDir = tmpdir()): Promise<RedisPeer | null> {
  const bin = findRedisServer();
  if (bin === null) return null;
  const dir = mkdtempSync(join(dataDir, 'bench-redis-'));
  const port = await freePort();
  try {
    const handle = await spawnServer({
      command: bin,
      args: [
        '--port', String(port), '--bind', '127.0.0.1', '--dir', dir,
        '--appendonly', 'yes', '--appendfsync', 'always', '--save', '',
        '--auto-aof-rewrite-percentage', '0', '--daemonize', 'no', '--logfile', '', '--maxclients', '10000',
      ],
      readyPattern: /Ready to accept connections/,
      port,
      readyTimeoutMs: 15_000,
    });
    return {
      ...handle,
      version: redisVersion(bin),
      dir,
      stop: async () => {
        await handle.stop();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
}
