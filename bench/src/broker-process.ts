/**
 * Start a target server (a phase's broker, the fake, or redis-server) as its own OS
 * process and wait until it says it is accepting connections; stop it again.
 *
 * Phase brokers are started exactly as a learner would start them:
 * `node --import <tsx loader> phases/0N-x/src/main.ts serve --dir D --port 0`, which prints
 * `listening on <host>:<port>` once it accepts. The port is read from that line.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { processTreeCpuMs, processTreePids } from './proc-cpu.ts';
import { repoRoot, tsxLoaderUrl } from './paths.ts';
import type { BrokerHandle } from './adapters/types.ts';

/** How to start one server process. */
export interface SpawnSpec {
  /** Executable path. */
  readonly command: string;
  readonly args: readonly string[];
  /** A line on stdout matching this means ready; group 1 (if present) is the port. */
  readonly readyPattern: RegExp;
  /** Port to report if the pattern has no port group. */
  readonly port?: number;
  /** Give up waiting for the ready line after this long. */
  readonly readyTimeoutMs?: number;
  /** Wait this long after SIGTERM before SIGKILL. */
  readonly stopDeadlineMs?: number;
}

/** Start a phase broker under tsx's loader: `node --import tsx <entry> serve --dir <dir> --port 0`. */
export async function spawnPhaseBroker(entry: string, dir: string): Promise<BrokerHandle> {
  return await spawnServer({
    command: process.execPath,
    args: ['--import', tsxLoaderUrl, entry, 'serve', '--dir', dir, '--port', '0', '--host', '127.0.0.1'],
    readyPattern: /listening on [^\s:]+:(\d+)/,
  });
}

function exited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

async function waitExit(child: ChildProcess, timeoutMs: number): Promise<boolean> {
  if (exited(child)) return true;
  return await new Promise((resolveExit) => {
    const timer = setTimeout(() => resolveExit(false), timeoutMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolveExit(true);
    });
  });
}

/** Spawn `spec`, wait for its ready line, and return a handle to measure and stop it. */
export async function spawnServer(spec: SpawnSpec): Promise<BrokerHandle> {
  const child = spawn(spec.command, [...spec.args], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
  const pid = child.pid;
  if (pid === undefined) throw new Error(`could not start ${spec.command}`);
  const stderrTail: string[] = [];
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (chunk: string) => {
    stderrTail.push(chunk);
    if (stderrTail.length > 20) stderrTail.shift();
  });
  const port = await new Promise<number>((resolveReady, reject) => {
    let buffered = '';
    const timer = setTimeout(() => fail(new Error(`no ready line within ${spec.readyTimeoutMs ?? 30_000} ms`)), spec.readyTimeoutMs ?? 30_000);
    const fail = (e: Error): void => {
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(new Error(`${spec.command} ${spec.args.join(' ')}: ${e.message}\n${stderrTail.join('')}`));
    };
    child.once('error', fail);
    child.once('exit', (code, signal) => fail(new Error(`exited (${code ?? signal}) before it was ready`)));
    child.stdout?.setEncoding('utf8');
    child.stdout?.on('data', (chunk: string) => {
      buffered += chunk;
      const lines = buffered.split('\n');
      buffered = lines.pop() ?? '';
      for (const line of lines) {
        const m = spec.readyPattern.exec(line);
        if (!m) continue;
        clearTimeout(timer);
        child.removeAllListeners('exit');
        child.removeAllListeners('error');
        resolveReady(m[1] !== undefined ? Number(m[1]) : (spec.port ?? 0));
        return;
      }
    });
  });
  // Keep draining stdout so a chatty server never blocks on a full pipe.
  child.stdout?.resume();
  return {
    port,
    pid,
    cpuTimeMs: () => processTreeCpuMs(pid),
    stop: async () => {
      if (exited(child)) return;
      const tree = processTreePids(pid);
      child.kill('SIGTERM');
      if (await waitExit(child, spec.stopDeadlineMs ?? 10_000)) return;
      // Graceful shutdown did not finish: kill the tree we started, by pid.
      for (const p of tree) {
        try {
          process.kill(p, 'SIGKILL');
        } catch {
          // already gone
        }
      }
      await waitExit(child, 5_000);
    },
  };
}
