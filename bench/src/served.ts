/**
 * Served mode: drive a target that runs in its own process (a phase broker or the
 * redis peer) from several worker threads over TCP on 127.0.0.1, and turn what the
 * workers measured into one run object.
 *
 * Timeline of one run (absolute ms, shared by all workers):
 *   connect all producers → start = now + 100 ms → warm-up → measured window
 *   [start + warmup, start + warmup + duration) → drain outstanding acks.
 * The target's CPU time (its whole process tree, from /proc) and this process's CPU
 * time are sampled at both ends of the window.
 */
import { Worker } from 'node:worker_threads';
import type { RecordableHistogram } from 'node:perf_hooks';
import { latencySummaryMs, mergeHistograms, percentileCurveMs } from './histogram.ts';
import { now, type LoadCounts, type LoadPlan } from './load.ts';
import type { WorkerSetup } from './load-worker.ts';
import type { MachineInfo } from './machine.ts';
import { tsxEsmApiUrl } from './paths.ts';
import type { Progress } from './progress.ts';
import { runSchema, type RunObject } from './run-object.ts';

/** A running target to measure. */
export interface ServedTarget {
  readonly key: string;
  readonly label: string;
  readonly phase: number | null;
  readonly port: number;
  /** Cumulative CPU ms of the target's process tree (NaN if unknown). */
  cpuTimeMs(): number;
  /** How the target acknowledges, for the workload description. */
  readonly ack: string;
}

/** Workload of one served run. */
export interface ServedWorkload {
  producers: number;
  workers: number;
  recordBytes: number;
  recordsPerSend: number;
  warmupSec: number;
  durationSec: number;
  /** Open-loop aggregate requests/s, or null for closed loop. */
  ratePerSec: number | null;
}

/** Where a run object's context comes from. */
export interface RunContext {
  machine: MachineInfo;
  command: string;
  progress: Progress;
}

type FromWorker =
  | { type: 'ready' }
  | { type: 'progress'; acked: number }
  | { type: 'done'; counts: LoadCounts; histogram: RecordableHistogram; lagHistogram: RecordableHistogram }
  | { type: 'error'; message: string };

type Done = { counts: LoadCounts; histogram: RecordableHistogram; lagHistogram: RecordableHistogram };

function spawnWorker(setup: WorkerSetup): Worker {
  const entry = new URL('./load-worker.ts', import.meta.url).href;
  const bootstrap = `import(${JSON.stringify(tsxEsmApiUrl())}).then((m) => { m.register(); return import(${JSON.stringify(entry)}); });`;
  return new Worker(bootstrap, { eval: true, workerData: setup });
}

function split(total: number, parts: number): number[] {
  return Array.from({ length: parts }, (_, i) => Math.floor(total / parts) + (i < total % parts ? 1 : 0));
}

function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

/** Run one served measurement against `target`. */
export async function runServed(target: ServedTarget, w: ServedWorkload, ctx: RunContext): Promise<RunObject> {
  const startedAt = new Date().toISOString();
  const workerCount = Math.min(w.workers, w.producers);
  const shares = split(w.producers, workerCount);
  const workers = shares.map((producers) => spawnWorker({ targetKey: target.key, port: target.port, producers, connectConcurrency: 32 }));
  const exits = workers.map((worker) => new Promise<void>((r) => worker.once('exit', () => r())));
  const acked = new Array<number>(workerCount).fill(0);
  const results: Array<Done | undefined> = Array.from({ length: workerCount }, () => undefined);
  let failure: Error | null = null;
  let readyCount = 0;
  let onEvent: () => void = () => {};
  workers.forEach((worker, i) => {
    worker.on('message', (m: FromWorker) => {
      if (m.type === 'progress') acked[i] = m.acked;
      else if (m.type === 'done') results[i] = { counts: m.counts, histogram: m.histogram, lagHistogram: m.lagHistogram };
      else if (m.type === 'error') failure ??= new Error(`worker ${i}: ${m.message}`);
      else readyCount++;
      onEvent();
    });
    worker.on('error', (e) => {
      failure ??= e;
      onEvent();
    });
  });
  const until = async (cond: () => boolean): Promise<void> => {
    while (!cond() && !failure) await new Promise<void>((r) => (onEvent = r));
    if (failure) throw failure;
  };
  try {
    ctx.progress.update(`[${target.label}] connecting ${w.producers} producers from ${workerCount} worker threads…`);
    await until(() => readyCount === workerCount);
    const startMs = now() + 100;
    const windowStart = startMs + w.warmupSec * 1000;
    const windowEnd = windowStart + w.durationSec * 1000;
    workers.forEach((worker, slot) => {
      const plan: LoadPlan = {
        startMs, warmupMs: w.warmupSec * 1000, durationMs: w.durationSec * 1000,
        recordBytes: w.recordBytes, recordsPerSend: w.recordsPerSend, ratePerSec: w.ratePerSec,
        slot, slots: workerCount, drainMs: Math.max(10_000, 2 * w.durationSec * 1000), outstandingMax: 50_000,
      };
      worker.postMessage({ type: 'start', plan });
    });
    const samples: { broker: number[]; loadgen: number[] } = { broker: [], loadgen: [] };
    const sample = (): void => {
      samples.broker.push(target.cpuTimeMs());
      samples.loadgen.push(cpuMs());
    };
    const timers = [setTimeout(sample, windowStart - now()), setTimeout(sample, windowEnd - now())];
    let lastAcked = 0;
    let lastMs = now();
    const ticker = setInterval(() => {
      const t = now();
      const total = acked.reduce((a, b) => a + b, 0);
      const phase = t < windowStart ? 'warm-up' : t < windowEnd ? 'measuring' : 'draining';
      const rate = ((total - lastAcked) * 1000) / Math.max(1, t - lastMs);
      lastAcked = total;
      lastMs = t;
      const elapsed = Math.max(0, (t - startMs) / 1000).toFixed(1);
      ctx.progress.update(`[${target.label}] ${phase} ${elapsed}/${(w.warmupSec + w.durationSec).toFixed(1)} s, ${total} records acked, ${Math.round(rate)} rec/s now`);
    }, 250);
    try {
      await until(() => results.every((r) => r !== undefined));
      // Workers may finish a moment before the window-end timer fires (open loop, nothing to drain).
      if (samples.broker.length < 2) {
        if (now() < windowEnd) await new Promise((r) => setTimeout(r, windowEnd - now()));
        if (samples.broker.length < 2) sample();
      }
    } finally {
      clearInterval(ticker);
      timers.forEach(clearTimeout);
      ctx.progress.end();
    }
    const done = results as Done[];
    const histogram = mergeHistograms(done.map((r) => r.histogram));
    const lag = latencySummaryMs(mergeHistograms(done.map((r) => r.lagHistogram)));
    const sum = (f: (c: LoadCounts) => number): number => done.reduce((a, r) => a + f(r.counts), 0);
    const records = sum((c) => c.records);
    const requests = sum((c) => c.requests);
    const valueBytes = sum((c) => c.valueBytes);
    const cpuDelta = (xs: number[]): number | null => {
      const [a, b] = xs;
      return a === undefined || b === undefined || !Number.isFinite(a) || !Number.isFinite(b) ? null : Math.round(b - a);
    };
    const brokerCpuMs = cpuDelta(samples.broker);
    const notes: string[] = [];
    const errors = sum((c) => c.errors);
    const firstError = done.find((r) => r.counts.firstError !== null)?.counts.firstError ?? null;
    if (errors > 0) notes.push(`${errors} sends failed (first: ${firstError}); figures cover acknowledged records only`);
    if (w.ratePerSec !== null) {
      notes.push('open loop: latency is measured from each send’s intended time, so it includes how late the generator sent it ("gen lag": timer granularity ~1 ms, and any stall of a loaded machine)');
    }
    return {
      schema: runSchema, kind: 'run', label: target.label, target: target.key, phase: target.phase, mode: 'served', startedAt,
      recordsPerSec: round(records / w.durationSec), requestsPerSec: round(requests / w.durationSec),
      mbPerSec: round(valueBytes / 1e6 / w.durationSec, 3), records, requests, valueBytes,
      errors, timedOut: sum((c) => c.timedOut), firstError,
      latencyMs: latencySummaryMs(histogram), latencyCurveMs: percentileCurveMs(histogram),
      brokerCpuMs, brokerCpuCores: brokerCpuMs === null ? null : round(brokerCpuMs / (w.durationSec * 1000), 3),
      loadgenCpuMs: cpuDelta(samples.loadgen),
      generatorLagMs: { p99: lag.p99, max: lag.max },
      workload: {
        producers: w.producers, recordBytes: w.recordBytes, recordsPerSend: w.recordsPerSend, warmupSec: w.warmupSec,
        durationSec: w.durationSec, workers: workerCount, loop: w.ratePerSec === null ? 'closed' : 'open',
        targetRatePerSec: w.ratePerSec, transport: 'TCP 127.0.0.1; target in its own process; load from worker threads', ack: target.ack,
      },
      machine: ctx.machine, command: ctx.command, notes,
    };
  } finally {
    // Normally each worker exits by itself once its producers are closed; after a
    // failure, or if a client's close hangs, it is terminated.
    await Promise.all(workers.map((worker, i) => stopWorker(worker, exits[i] as Promise<void>, failure ? 0 : 10_000)));
  }
}

async function stopWorker(worker: Worker, exited: Promise<void>, graceMs: number): Promise<void> {
  const timer = setTimeout(() => void worker.terminate(), graceMs);
  await exited;
  clearTimeout(timer);
}

/** Round to `digits` decimals. */
export function round(x: number, digits = 1): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}
