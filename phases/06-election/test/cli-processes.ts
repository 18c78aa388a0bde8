/**
 * Test plumbing for tests that run this phase's CLI as separate OS processes (a controller,
 * brokers): start one and wait for its `listening on H:P` line, collect what they print on
 * stderr, and stop every process started (by pid, SIGKILL) and remove every temporary
 * directory afterwards.
 */
import type { ChildProcess } from 'node:child_process';
import { spawnCli, stopProcess, tempDir, type TempDir, waitForLine } from '../../../shared/src/testing.ts';

/** The processes and directories one test file uses. */
export interface CliProcesses {
  /** Start `main` with `args`; resolves once it listens, with its port. Its stderr goes to `output`. */
  start(args: readonly string[], output: string[]): Promise<{ child: ChildProcess; port: number }>;
  /** A temporary directory removed by `cleanup`. */
  tempDir(prefix: string): TempDir;
  /** Stop every process started and remove every directory (call in `afterEach`). */
  cleanup(): Promise<void>;
}

/**
 * @example
 * const procs = cliProcesses(MAIN);
 * afterEach(() => procs.cleanup());
 */
export function cliProcesses(main: string): CliProcesses {
  const children: ChildProcess[] = [];
  const dirs: TempDir[] = [];
  return {
    async start(args, output) {
      const child = spawnCli(main, args);
      children.push(child);
      child.stderr?.on('data', (d: Buffer) => output.push(d.toString()));
      const m = await waitForLine(child.stdout as NodeJS.ReadableStream, /^listening on 127\.0\.0\.1:(\d+)$/, 30_000);
      return { child, port: Number(m[1]) };
    },
    tempDir(prefix) {
      const d = tempDir(prefix);
      dirs.push(d);
      return d;
    },
    async cleanup() {
      for (const child of children.splice(0)) await stopProcess(child);
      for (const d of dirs.splice(0)) d.remove();
    },
  };
}
