/**
 * The phase-2 command line, driven as a learner drives it: `serve` in one process,
 * `produce` and `consume` in others, `demo` on its own, `dump` on the broker's directory
 * afterwards. Each tsx start costs about a second, so the cases share one broker and run
 * independent commands concurrently. Since phase 3 the commands name a topic (the broker
 * auto-creates it, with one partition: phase 2's single log) and the hex demo is
 * `wire-demo`; topics-cli.test.ts covers phase 3's own commands.
 */
import { once } from 'node:events';
import { type Socket, connect } from 'node:net';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TempDir, freePort, runCli, spawnCli, stopProcess, tempDir, waitForExit, waitForLine } from '../../../shared/src/testing.ts';

/** This phase's CLI, found from this file so a later phase's copy runs its own. */
const MAIN = fileURLToPath(new URL('../src/main.ts', import.meta.url));
const TOPIC = ['--topic', 'wire'];

describe('phase 2 CLI', () => {
  let tmp: TempDir;
  let dir: string;
  let serve: ChildProcess;
  let port: number;

  beforeAll(async () => {
    tmp = tempDir('wire-cli-');
    dir = join(tmp.path, 'log');
    serve = spawnCli(MAIN, ['serve', '--dir', dir, '--port', '0', '--auto-create-topics']);
    const [, listening] = await waitForLine(serve.stdout as NodeJS.ReadableStream, /^listening on 127\.0\.0\.1:(\d+)$/);
    port = Number(listening);
  });

  afterAll(async () => {
    await stopProcess(serve);
    tmp.remove();
  });

  it('produce prints each line\'s offset in input order; consume prints them back and exits when caught up', async () => {
    const lines = Array.from({ length: 500 }, (_, i) => `line-${i}`);
    const produced = await runCli(MAIN, ['produce', '--port', String(port), ...TOPIC], { input: `${lines.join('\n')}\n` });
    expect(produced.stderr).toMatch(/^500 records acknowledged in \d+ produce requests?, \d+ ms from connect \(\d+ records\/s\)\n$/);
    expect(produced.code).toBe(0);
    expect(produced.stdout).toBe(`${lines.map((_, i) => `0\t${i}`).join('\n')}\n`);

    const [all, window] = await Promise.all([
      runCli(MAIN, ['consume', '--port', String(port), ...TOPIC]),
      runCli(MAIN, ['consume', '--port', String(port), ...TOPIC, '--from', '498', '--max', '1']),
    ]);
    expect(all.code).toBe(0);
    expect(all.stdout).toBe(`${lines.map((l, i) => `${i}\t${l}`).join('\n')}\n`);
    expect(window.stdout).toBe('498\tline-498\n');
  });

  it('consume --follow prints records as they arrive until SIGINT', async () => {
    const follower = spawnCli(MAIN, ['consume', '--port', String(port), ...TOPIC, '--from', '500', '--follow']);
    try {
      const produced = await runCli(MAIN, ['produce', '--port', String(port), ...TOPIC], { input: 'followed\n' });
      expect(produced.stdout).toBe('0\t500\n');
      await waitForLine(follower.stdout as NodeJS.ReadableStream, /^500\tfollowed$/);
      follower.kill('SIGINT');
      expect((await waitForExit(follower)).code).toBe(0);
    } finally {
      await stopProcess(follower);
    }
  });

  it('reports a broker error or an unreachable broker in one line with exit status 1', async () => {
    const closedPort = await freePort();
    const [outOfRange, unreachable, badOption] = await Promise.all([
      runCli(MAIN, ['consume', '--port', String(port), ...TOPIC, '--from', '999999']),
      runCli(MAIN, ['produce', '--port', String(closedPort), ...TOPIC], { input: 'x\n' }),
      runCli(MAIN, ['serve', '--max-connections', 'many']),
    ]);
    expect([outOfRange.code, outOfRange.stdout]).toEqual([1, '']);
    expect(outOfRange.stderr).toMatch(/^error: OFFSET_OUT_OF_RANGE: offset 999999 is outside the log's range \[0, \d+\]\n$/);
    expect(unreachable.code).toBe(1);
    expect(unreachable.stderr).toMatch(/^error: connect ECONNREFUSED 127\.0\.0\.1:\d+\n$/);
    expect(badOption.code).toBe(2);
    expect(badOption.stderr).toMatch(/--max-connections must be an integer/);
  });

  it('refuses a hostile-client bound out of range as a usage error (exit status 2), before it listens', async () => {
    const serveWith = (...limit: string[]) => runCli(MAIN, ['serve', '--dir', join(tmp.path, 'never'), '--port', '0', ...limit]);
    const [budget, receive, queued] = await Promise.all([
      serveWith('--response-bytes-max-per-connection', '0'),
      serveWith('--request-receive-ms-max', 'soon'),
      serveWith('--queued-request-bytes-max', '1000'), // below the default frameBytesMax
    ]);
    expect([budget.code, budget.stdout, budget.stderr]).toEqual([2, '', 'error: responseBytesMaxPerConnection must be an integer >= 1, got 0\n']);
    expect([receive.code, receive.stderr]).toEqual([2, "error: --request-receive-ms-max must be an integer >= 0, got 'soon'\n"]);
    expect([queued.code, queued.stderr]).toEqual([2, 'error: queuedRequestBytesMax (1000) must be at least frameBytesMax (8388608), or a frame that large could never be admitted\n']);
  });

  it('wire-demo runs a broker, shows named frames in hex and shuts down cleanly', async () => {
    const demo = await runCli(MAIN, ['wire-demo']);
    expect(demo.stderr).toBe('');
    expect(demo.code).toBe(0);
    expect(demo.stdout).toMatch(/→ request {2}Produce, \d+ bytes\n {4}00 00 00 [0-9a-f]{2} +size +\d+\n {4}00 00 +apiKey +0 \(Produce\)/);
    expect(demo.stdout).toMatch(/← response Fetch/);
    expect(demo.stdout).toMatch(/the parked fetch returned 3=delta/);
    expect(demo.stdout).toMatch(/Done: the broker closed cleanly\./);
  });

  it('SIGINT stops serve with status 0 without waiting for an idle client or the shutdown deadline', async () => {
    const other = spawnCli(MAIN, ['serve', '--dir', join(tmp.path, 'sigint'), '--port', '0', '--shutdown-deadline-ms', '600000']);
    let idle: Socket | undefined;
    try {
      const [, listening] = await waitForLine(other.stdout as NodeJS.ReadableStream, /^listening on 127\.0\.0\.1:(\d+)$/);
      idle = connect({ host: '127.0.0.1', port: Number(listening) });
      idle.on('error', () => undefined);
      await once(idle, 'connect');
      // Not events.once: it rejects on 'error', and the broker closing an idle socket may
      // reach us as ECONNRESET before the 'close' (an unhandled rejection, a flaky test).
      const socket = idle;
      const idleClosed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
      other.kill('SIGINT');
      expect(await waitForExit(other, 20_000)).toEqual({ code: 0, signal: null });
      await idleClosed;
    } finally {
      idle?.destroy();
      await stopProcess(other);
    }
  });

  it('SIGTERM stops serve with status 0, and dump reads the data directory it leaves', async () => {
    serve.kill('SIGTERM');
    expect(await waitForExit(serve)).toEqual({ code: 0, signal: null });
    const dump = await runCli(MAIN, ['dump', '--dir', dir]);
    expect(dump.code).toBe(0);
    expect(dump.stdout).toMatch(/^partition wire-0\n {2}segment 0+\.log/m);
    expect(dump.stdout).toMatch(/\| offset: 500 timestamp: \d+ key: null value: "followed"/);
  });
});
