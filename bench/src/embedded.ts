/**
 * Embedded mode: the phase's Log opened in this process, N concurrent appenders each
 * appending one batch and awaiting it before the next (closed loop). No network, no
 * broker, no protocol: this is the kind of in-process figure the original project
 * quoted as its headline. It is reported separately and labelled "embedded — not
 * the served path"; the served figure is the one a user of the broker gets.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { TargetAdapter } from './adapters/types.ts';
import { latencySummaryMs, percentileCurveMs } from './histogram.ts';
import { now, runLoad } from './load.ts';
import { round, type RunContext } from './served.ts';
import { runSchema, type RunObject } from './run-object.ts';

/** The label every embedded result carries. */
export const embeddedLabel = 'embedded — not the served path';

/** Embedded workload. */
export interface EmbeddedWorkload {
  appenders: number;
  recordBytes: number;
  recordsPerSend: number;
  warmupSec: number;
  durationSec: number;
}

/** Append to the adapter's in-process log from `appenders` concurrent loops. */
export async function runEmbedded(adapter: TargetAdapter, w: EmbeddedWorkload, dataDir: string, ctx: RunContext): Promise<RunObject> {
  if (!adapter.openEmbeddedLog) throw new Error(`${adapter.label} has no embedded log adapter`);
  const startedAt = new Date().toISOString();
  const dir = mkdtempSync(join(dataDir, `bench-embedded-${adapter.key}-`));
  try {
    const log = await adapter.openEmbeddedLog(dir);
    const appenders = Array.from({ length: w.appenders }, () => ({ send: (v: readonly Buffer[]) => log.append(v), close: async () => {} }));
    const startMs = now() + 50;
    const windowStart = startMs + w.warmupSec * 1000;
    const windowEnd = windowStart + w.durationSec * 1000;
    const cpu: number[] = [];
    const sample = (): void => {
      const u = process.cpuUsage();
      cpu.push((u.user + u.system) / 1000);
    };
    const timers = [setTimeout(sample, windowStart - now()), setTimeout(sample, windowEnd - now())];
    let acked = 0;
    const ticker = setInterval(() => ctx.progress.update(`[${adapter.label} ${embeddedLabel}] ${acked} records appended`), 250);
    const result = await runLoad(appenders, {
      startMs, warmupMs: w.warmupSec * 1000, durationMs: w.durationSec * 1000, recordBytes: w.recordBytes,
      recordsPerSend: w.recordsPerSend, ratePerSec: null, slot: 0, slots: 1, drainMs: 30_000, outstandingMax: 0,
    }, (n) => (acked += n));
    clearInterval(ticker);
    timers.forEach(clearTimeout);
    ctx.progress.end();
    await log.close();
    const [a, b] = cpu;
    const cpuMs = a !== undefined && b !== undefined ? Math.round(b - a) : null;
    const notes = [`${embeddedLabel}: the phase's Log in this process, no network, no broker`];
    if (result.errors > 0) notes.push(`${result.errors} appends failed (first: ${result.firstError})`);
    return {
      schema: runSchema, kind: 'run', label: `${adapter.phase !== null ? `phase ${adapter.phase} log` : adapter.label} (${embeddedLabel})`, target: adapter.key, phase: adapter.phase,
      mode: 'embedded', startedAt,
      recordsPerSec: round(result.records / w.durationSec), requestsPerSec: round(result.requests / w.durationSec),
      mbPerSec: round(result.valueBytes / 1e6 / w.durationSec, 3), records: result.records, requests: result.requests,
      valueBytes: result.valueBytes, errors: result.errors, timedOut: result.timedOut, firstError: result.firstError,
      latencyMs: latencySummaryMs(result.histogram), latencyCurveMs: percentileCurveMs(result.histogram),
      brokerCpuMs: cpuMs, brokerCpuCores: cpuMs === null ? null : round(cpuMs / (w.durationSec * 1000), 3), loadgenCpuMs: null,
      generatorLagMs: { p99: null, max: null },
      workload: {
        producers: w.appenders, recordBytes: w.recordBytes, recordsPerSend: w.recordsPerSend, warmupSec: w.warmupSec,
        durationSec: w.durationSec, workers: 0, loop: 'closed', targetRatePerSec: null,
        transport: 'in-process (no network); appenders and log share one thread', ack: 'when Log.append resolves (after its fsync)',
      },
      machine: ctx.machine, command: ctx.command, notes,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
