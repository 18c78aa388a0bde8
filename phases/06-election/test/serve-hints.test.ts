/**
 * What a newcomer meets when something is already there: `serve` says its own pid
 * (the process the chapters' `kill` commands mean), a port in use is one line naming
 * `--port` and a broker still running (and creates nothing on disk), `--fresh` starts
 * the data directory again (the default one always; a `--dir` only if all in it is
 * this course's), and a client facing a broker of another phase says so.
 * Later phases carry this file unchanged: it names no phase-specific command.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { type Server, createServer } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TempDir, freePort, runCli, spawnCli, stopProcess, tempDir, waitForExit, waitForLine } from '../../../shared/src/testing.ts';
import { Connection } from '../src/client/connection.ts';
import { APIS } from '../src/protocol/apis.ts';
import { ApiVersions } from '../src/protocol/api-versions.ts';
import { encodeResponseFrame } from '../src/protocol/header.ts';
import { realSeams } from '../src/seams/real.ts';

/** This phase's CLI, found from this file so a later phase's copy runs its own. */
const MAIN = fileURLToPath(new URL('../src/main.ts', import.meta.url));

/** Start `serve` with `args` and `env`, wait for "listening on", stop it with SIGTERM; its stderr lines. */
async function serveOnce(args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<{ pid: number | undefined; err: string[] }> {
  const child = spawnCli(MAIN, ['serve', '--port', '0', ...args], { env });
  const err: string[] = [];
  child.stderr?.on('data', (b: Buffer) => err.push(...b.toString('utf8').split('\n').filter((l) => l !== '')));
  try {
    await waitForLine(child.stdout as NodeJS.ReadableStream, /^listening on /);
    child.kill('SIGTERM');
    expect((await waitForExit(child)).code).toBe(0);
  } finally {
    await stopProcess(child);
  }
  return { pid: child.pid, err };
}

describe('what serve and the clients say', () => {
  let tmp: TempDir;
  beforeAll(() => {
    tmp = tempDir('serve-hints-');
  });
  afterAll(() => tmp.remove());

  it('serve prints its own pid first, on stderr', async () => {
    const { pid, err } = await serveOnce(['--dir', join(tmp.path, 'pid')]);
    expect(err[0]).toBe(`pid ${pid}`);
  });

  it('a port in use: one line naming --port and a broker still running, exit 1, and --dir is not created', async () => {
    const port = await freePort();
    const squatter: Server = createServer();
    await new Promise<void>((resolve) => squatter.listen(port, '127.0.0.1', resolve));
    try {
      const dir = join(tmp.path, 'never');
      const r = await runCli(MAIN, ['serve', '--dir', dir, '--port', String(port)]);
      expect(r.code).toBe(1);
      expect(r.stdout).toBe('');
      expect(r.stderr).toBe(
        `error: cannot start the broker: 127.0.0.1:${port} is already in use; is a broker (of this phase or another) still running? Stop it, or pick another port with --port\n`,
      );
      expect(existsSync(dir)).toBe(false);
    } finally {
      await new Promise<void>((resolve) => squatter.close(() => resolve()));
    }
  });

  it('--fresh empties the default data directory whatever it holds, and a --dir only if it is all ours', async () => {
    // The default directory lives in the OS temp folder: point TMPDIR at ours.
    const env = { TMPDIR: join(tmp.path, 'os-tmp') };
    mkdirSync(env.TMPDIR);
    const help = await runCli(MAIN, ['--help'], { env });
    const defaultDir = /Defaults: --dir (\S+),/.exec(help.stdout)?.[1] ?? '';
    expect(defaultDir.startsWith(env.TMPDIR)).toBe(true);
    // Records from an earlier run, and something else besides.
    expect((await runCli(MAIN, ['append', '--dir', defaultDir], { input: 'old\n' })).code).toBe(0);
    writeFileSync(join(defaultDir, 'notes.txt'), 'x\n');
    await serveOnce(['--fresh'], env);
    expect(existsSync(join(defaultDir, 'notes.txt'))).toBe(false);
    expect((await runCli(MAIN, ['read', '--dir', defaultDir])).stdout).toBe('');

    // A --dir of ours (a log) is emptied; one holding anything else is refused and left whole.
    const ours = join(tmp.path, 'ours');
    expect((await runCli(MAIN, ['append', '--dir', ours], { input: 'old\n' })).code).toBe(0);
    await serveOnce(['--dir', ours, '--fresh']);
    expect((await runCli(MAIN, ['read', '--dir', ours])).stdout).toBe('');
    await serveOnce(['--dir', ours, '--fresh']); // and again, on what the broker itself left there
    const theirs = join(tmp.path, 'theirs');
    expect((await runCli(MAIN, ['append', '--dir', theirs], { input: 'old\n' })).code).toBe(0);
    writeFileSync(join(theirs, 'thesis.tex'), 'x\n');
    const refused = await runCli(MAIN, ['serve', '--dir', theirs, '--port', '0', '--fresh']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toBe(`error: --fresh removes only what this course writes, and ${join(theirs, 'thesis.tex')} is not; remove ${theirs} yourself, or pick another --dir\n`);
    expect(existsSync(join(theirs, 'thesis.tex'))).toBe(true);
    expect((await runCli(MAIN, ['read', '--dir', theirs])).stdout).toBe('0\told\n');
  });

  it("a client facing a broker that serves other versions (another phase's) says so", async () => {
    // A broker whose ApiVersions lists every API one version above this phase's.
    const other: Server = createServer((socket) => {
      socket.once('data', (frame: Buffer) => {
        const correlationId = frame.readInt32BE(8);
        const apis = APIS.map((api) => ({ apiKey: api.apiKey, minVersion: api.minVersion + 1, maxVersion: api.minVersion + 1 }));
        socket.write(Buffer.concat(encodeResponseFrame(correlationId, ApiVersions.encodeResponse({ errorCode: 0, errorMessage: null, apis }))));
      });
      socket.on('error', () => undefined);
    });
    await new Promise<void>((resolve) => other.listen(0, '127.0.0.1', resolve));
    try {
      const address = other.address();
      if (address === null || typeof address === 'string') throw new Error('no port');
      const conn = await Connection.connect({ ...realSeams(), port: address.port });
      try {
        const api = APIS[0];
        if (api === undefined) throw new Error('no APIs');
        await expect(conn.request(api, {} as never)).rejects.toThrow(
          `the broker does not support ${api.name} v${api.minVersion} (it serves only v${api.minVersion + 1}): is a broker of another phase running on this port?`,
        );
      } finally {
        await conn.close();
      }
    } finally {
      await new Promise<void>((resolve) => other.close(() => resolve()));
    }
  });
});
