/**
 * Test plumbing shared by every phase: temporary directories that are always
 * removed, free loopback ports, running a phase's CLI as a subprocess the way a
 * learner would, and waiting on a condition with a deadline (never a bare sleep).
 *
 * This is not part of any lesson; phases import it only from their tests.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** Absolute path of the repository root. */
export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/**
 * tsx's loader, for `node --import <loader> entry.ts`. We start TypeScript entry points
 * this way rather than through the `tsx` binary, because that binary runs the program
 * in a child process of its own: a SIGKILL to the binary would leave the real program
 * running as an orphan. With the loader, the pid a test holds is the program's pid.
 */
export const tsxLoaderUrl = pathToFileURL(join(repoRoot, 'node_modules', 'tsx', 'dist', 'loader.mjs')).href;

/** A temporary directory and the function that removes it. */
export interface TempDir {
  readonly path: string;
  /** Remove the directory and everything in it; safe to call twice. */
  remove(): void;
}

/**
 * Create a fresh temporary directory under the OS temp dir.
 * @example
 * const dir = tempDir('log-');
 * try { ... } finally { dir.remove(); }
 */
export function tempDir(prefix = 'commitlog-'): TempDir {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

/** Ask the kernel for a free TCP port on 127.0.0.1 (bind to port 0, read it, close). */
export async function freePort(): Promise<number> {
  return await new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      if (address === null || typeof address === 'string') {
        server.close();
        reject(new Error('no address'));
        return;
      }
      const port = address.port;
      server.close(() => resolvePort(port));
    });
  });
}

/** What a finished subprocess left behind. */
export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  /** Written to stdin, which is then closed. */
  input?: string;
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Kill the process (SIGKILL) and reject after this long. Default 60 s. */
  timeoutMs?: number;
}

/**
 * Run a TypeScript entry point (for example `phases/01-log/src/main.ts`) under tsx to
 * completion and collect its output.
 * @example
 * const r = await runCli('phases/01-log/src/main.ts', ['read', '--dir', d]);
 */
export async function runCli(entry: string, args: readonly string[], opts: RunOptions = {}): Promise<CliResult> {
  const child = spawnCli(entry, args, opts);
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout?.on('data', (b: Buffer) => out.push(b));
  child.stderr?.on('data', (b: Buffer) => err.push(b));
  if (opts.input !== undefined) child.stdin?.end(opts.input);
  else child.stdin?.end();
  const timeoutMs = opts.timeoutMs ?? 60_000;
  return await new Promise((resolveRun, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${entry} ${args.join(' ')} did not finish within ${timeoutMs} ms`));
    }, timeoutMs);
    child.once('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolveRun({ code, signal, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') });
    });
  });
}

/**
 * Start a TypeScript entry point (with tsx's loader, in one process) with piped stdio;
 * the caller owns the process: its pid is the program's, so a signal reaches it directly.
 */
export function spawnCli(entry: string, args: readonly string[], opts: Omit<RunOptions, 'input' | 'timeoutMs'> = {}): ChildProcess {
  return spawn(process.execPath, ['--import', tsxLoaderUrl, resolve(repoRoot, entry), ...args], {
    cwd: opts.cwd ?? repoRoot,
    env: { ...process.env, ...opts.env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
}

/**
 * Resolve with the first line of the stream matching `pattern` (and its match).
 * Rejects when the stream ends or the deadline passes first.
 */
export async function waitForLine(
  stream: NodeJS.ReadableStream,
  pattern: RegExp,
  timeoutMs = 30_000,
): Promise<RegExpMatchArray> {
  return await new Promise((resolveLine, reject) => {
    let buffered = '';
    const onData = (chunk: Buffer | string): void => {
      buffered += chunk.toString();
      let nl: number;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        const m = line.match(pattern);
        if (m) {
          cleanup();
          resolveLine(m);
          return;
        }
      }
    };
    const onEnd = (): void => {
      cleanup();
      reject(new Error(`stream ended before a line matched ${pattern}`));
    };
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`no line matched ${pattern} within ${timeoutMs} ms`));
    }, timeoutMs);
    const cleanup = (): void => {
      clearTimeout(timer);
      stream.off('data', onData);
      stream.off('end', onEnd);
    };
    stream.on('data', onData);
    stream.on('end', onEnd);
  });
}

/** Resolve once the process has exited, with its exit code and signal. */
export async function waitForExit(child: ChildProcess, timeoutMs = 30_000): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  if (child.exitCode !== null || child.signalCode !== null) return { code: child.exitCode, signal: child.signalCode };
  return await new Promise((resolveExit, reject) => {
    const timer = setTimeout(() => reject(new Error(`process ${child.pid} did not exit within ${timeoutMs} ms`)), timeoutMs);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      resolveExit({ code, signal });
    });
  });
}

/** Kill a process (SIGKILL by default) if it is still running and wait for it to exit. */
export async function stopProcess(child: ChildProcess, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill(signal);
  await waitForExit(child);
}

/**
 * Poll `condition` until it returns true or the deadline passes (then reject).
 * For waiting on state that emits no event; polls every `intervalMs`.
 */
export async function waitFor(condition: () => boolean | Promise<boolean>, timeoutMs = 10_000, intervalMs = 10): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await condition()) return;
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/**
 * The seed for property tests: fixed in CI, overridable with FC_SEED to reproduce a
 * failure. fast-check prints the seed and path of any counterexample.
 */
export function propertySeed(): number {
  const fromEnv = process.env.FC_SEED;
  return fromEnv !== undefined && fromEnv !== '' ? Number(fromEnv) : 20261128;
}
