/**
 * Tests of the shared test plumbing: temp dirs are removed, free ports are bindable,
 * waitFor honours its deadline, waitForLine matches across chunk boundaries.
 */
import { existsSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { freePort, propertySeed, spawnCli, stopProcess, tempDir, waitFor, waitForLine } from '../src/testing.ts';

describe('shared testing helpers', () => {
  it('removes a temp dir and everything in it, twice without error', () => {
    const dir = tempDir('shared-test-');
    writeFileSync(join(dir.path, 'f'), 'x');
    expect(existsSync(dir.path)).toBe(true);
    dir.remove();
    dir.remove();
    expect(existsSync(dir.path)).toBe(false);
  });

  it('returns a port that can be bound on 127.0.0.1', async () => {
    const port = await freePort();
    expect(port).toBeGreaterThan(0);
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it('waitFor resolves when the condition holds and rejects past its deadline', async () => {
    let n = 0;
    await waitFor(() => ++n >= 3, 1000, 1);
    expect(n).toBe(3);
    await expect(waitFor(() => false, 30, 5)).rejects.toThrow(/not met within 30 ms/);
  });

  it('waitForLine matches a line split across chunks', async () => {
    const stream = new PassThrough();
    const found = waitForLine(stream, /^listening on (.+):(\d+)$/, 1000);
    stream.write('noise\nlisten');
    stream.write('ing on 127.0.0.1:9092\n');
    const m = await found;
    expect(m[1]).toBe('127.0.0.1');
    expect(m[2]).toBe('9092');
  });

  it('waitForLine rejects when the stream ends without a match', async () => {
    const stream = new PassThrough();
    const found = waitForLine(stream, /never/, 1000);
    stream.end('a\nb\n');
    await expect(found).rejects.toThrow(/stream ended/);
  });

  it('uses a fixed property seed unless FC_SEED overrides it', () => {
    const saved = process.env.FC_SEED;
    try {
      delete process.env.FC_SEED;
      expect(propertySeed()).toBe(20261128);
      process.env.FC_SEED = '7';
      expect(propertySeed()).toBe(7);
    } finally {
      if (saved === undefined) delete process.env.FC_SEED;
      else process.env.FC_SEED = saved;
    }
  });
});

describe('spawnCli', () => {
  it('runs the TypeScript program itself as the child, so a SIGKILL leaves no orphan', async () => {
    const dir = tempDir('shared-spawn-');
    try {
      const entry = join(dir.path, 'pid.ts');
      writeFileSync(entry, "const pid: number = process.pid;\nconsole.log(`pid ${pid}`);\nsetInterval(() => undefined, 1000);\n");
      const child = spawnCli(entry, []);
      try {
        const m = await waitForLine(child.stdout as NodeJS.ReadableStream, /^pid (\d+)$/);
        expect(Number(m[1])).toBe(child.pid);
        await stopProcess(child);
        expect(child.signalCode).toBe('SIGKILL');
      } finally {
        await stopProcess(child); // a no-op when the test got that far; otherwise the program runs forever
      }
    } finally {
      dir.remove();
    }
  });
});
