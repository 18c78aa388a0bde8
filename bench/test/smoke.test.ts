/**
 * Smoke runs of the real CLI (`tsx bench/src/main.ts`), a few hundred milliseconds
 * each, checking that every path produces well-formed results and cleans up after
 * itself. They assert shapes and "something was measured", never speed: benchmarks
 * are not timed tests.
 */
import { existsSync, readdirSync, readFileSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runCli, tempDir, type TempDir } from '../../shared/src/testing.ts';
import { findEntry, isAvailable } from '../src/adapters/index.ts';
import { findRedisServer } from '../src/redis-peer.ts';
import { validateRunObject, type RunObject } from '../src/run-object.ts';

const dirs: TempDir[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) d.remove();
});

/** Run the bench CLI with results and data in fresh temp dirs; return the parsed --json lines. */
async function bench(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ runs: RunObject[]; out: string; data: string; stderr: string }> {
  const out = tempDir('bench-out-');
  const data = tempDir('bench-data-');
  dirs.push(out, data);
  const r = await runCli('bench/src/main.ts', [...args, '--json', '--out', out.path, '--data-dir', data.path], { timeoutMs: 60_000, env });
  expect(r.code, r.stderr).toBe(0);
  const runs = r.stdout.trim().split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as RunObject);
  for (const run of runs) expect(validateRunObject(run)).toEqual([]);
  // Every broker data dir and redis dir the run created has been removed.
  expect(readdirSync(data.path)).toEqual([]);
  return { runs, out: out.path, data: data.path, stderr: r.stderr };
}

const tiny = ['--duration', '0.3', '--warmup', '0.1', '--producers', '4', '--workers', '1'];

const phase2 = findEntry('2');
const hasPhase2 = phase2 !== null && isAvailable(phase2) && phase2.serves;

describe('bench CLI smoke runs', () => {
  it.skipIf(!hasPhase2)('served mode against phase 2: records/s > 0 and the JSON shape', async () => {
    const { runs, out } = await bench(['--phase', '2', ...tiny]);
    expect(runs).toHaveLength(1);
    const [run] = runs as [RunObject];
    expect(run).toMatchObject({ mode: 'served', phase: 2, kind: 'run', workload: { producers: 4, workers: 1, loop: 'closed', recordBytes: 100 } });
    expect(run.recordsPerSec).toBeGreaterThan(0);
    expect(run.latencyMs.p99).toBeGreaterThan(0);
    expect(run.command).toContain('--phase 2');
    expect(existsSync(join(out, 'served-phase02.json'))).toBe(true);
    expect(readFileSync(join(out, 'latency-phase02.svg'), 'utf8')).toMatch(/^<svg /);
  });

  it('served mode through worker threads against the harness fake: closed and open loop', async () => {
    const closed = await bench(['--phase', 'fake', ...tiny, '--workers', '2']);
    expect(closed.runs[0]?.recordsPerSec).toBeGreaterThan(0);
    expect(closed.runs[0]?.workload.workers).toBe(2);
    expect(closed.stderr).toContain('wrote');
    const open = await bench(['--phase', 'fake', ...tiny, '--rate', '200']);
    expect(open.runs[0]?.workload).toMatchObject({ loop: 'open', targetRatePerSec: 200 });
    // 200/s over 0.3 s: 60 sends were due in the window and every one is measured.
    expect(open.runs[0]?.latencyCurveMs.length).toBeGreaterThan(0);
    expect((open.runs[0]?.records ?? 0) + (open.runs[0]?.timedOut ?? 0)).toBeGreaterThan(30);
  });

  it('find-max emits its steps and a summary object', async () => {
    const { runs, out } = await bench(['--phase', 'fake', ...tiny, '--find-max', '--steps', '2', '--step-duration', '0.2', '--step-samples', '0', '--start-rate', '50']);
    const summary = runs.find((r) => r.kind === 'find-max');
    expect(summary?.findMax?.steps).toHaveLength(2);
    expect(runs.filter((r) => r.kind === 'run')).toHaveLength(2);
    expect(readFileSync(join(out, 'find-max-fake.svg'), 'utf8')).toContain('</svg>');
  });

  it('embedded and consume modes', async () => {
    const embedded = await bench(['--phase', 'fake', '--mode', 'embedded', '--duration', '0.2', '--warmup', '0', '--producers', '3']);
    expect(embedded.runs[0]?.label).toContain('embedded — not the served path');
    expect(embedded.runs[0]?.recordsPerSec).toBeGreaterThan(0);
    const consume = await bench(['--phase', 'fake', '--mode', 'consume', '--consume-records', '3000']);
    expect(consume.runs[0]).toMatchObject({ mode: 'consume', records: 3000 });
  });

  it.skipIf(process.platform === 'win32')('without redis-server, --peer redis says how to install it and carries on', async () => {
    // A PATH holding only node (tsx's launcher needs it), so redis-server cannot be found.
    const bin = tempDir('bench-path-');
    dirs.push(bin);
    symlinkSync(process.execPath, join(bin.path, 'node'));
    const { runs, stderr } = await bench(['--phase', 'fake', ...tiny, '--peer', 'redis'], { PATH: bin.path });
    expect(runs.map((r) => r.target)).toEqual(['fake']);
    expect(stderr).toContain('redis-server not found: apt-get install -y redis-server');
  });

  it.skipIf(findRedisServer() === null)('the redis peer runs in the same invocation and is cleaned up', async () => {
    const { runs } = await bench(['--phase', 'fake', ...tiny, '--peer', 'redis']);
    expect(runs.map((r) => r.target)).toEqual(['fake', 'redis']);
    expect(runs[1]?.recordsPerSec).toBeGreaterThan(0);
    expect(runs[1]?.workload.ack).toContain('appendfsync always');
  });
});
