/**
 * The shape of one benchmark run as `--json` prints it (one object per line) and as
 * the results files store it, plus a validator the tests and the CLI use so that a
 * run object missing a figure is caught before anything is printed.
 */
import type { LatencyMs } from './histogram.ts';
import type { LoadCounts } from './load.ts';
import type { MachineInfo } from './machine.ts';

/** Schema identifier carried by every run object. */
export const runSchema = 'commitlog-bench/run/1';

/** Which path was measured. */
export type Mode = 'served' | 'embedded' | 'consume';

/** The workload, stated exactly. */
export interface Workload {
  producers: number;
  recordBytes: number;
  recordsPerSend: number;
  warmupSec: number;
  durationSec: number;
  workers: number;
  loop: 'closed' | 'open';
  /** Open loop: aggregate target rate in requests/s; null for closed loop. */
  targetRatePerSec: number | null;
  /** Where the target ran and how it was reached. */
  transport: string;
  /** When the target acknowledges. */
  ack: string;
}

/** Result of a `--find-max` search, attached to the run at the highest passing rate. */
export interface FindMaxSummary {
  p99MsMax: number;
  maxRatePerSec: number;
  steps: Array<{ ratePerSec: number; attempt: number; passed: boolean; recordsPerSec: number; p99Ms: number | null; failures: number }>;
}

/** One measured run. */
export interface RunObject extends LoadCounts {
  schema: typeof runSchema;
  kind: 'run' | 'find-max';
  label: string;
  target: string;
  phase: number | null;
  mode: Mode;
  startedAt: string;
  recordsPerSec: number;
  requestsPerSec: number;
  mbPerSec: number;
  latencyMs: LatencyMs;
  /** [percentile, ms] points for the latency chart. */
  latencyCurveMs: Array<[number, number]>;
  /** CPU time (user+system) of the target process tree during the measured window. */
  brokerCpuMs: number | null;
  /** brokerCpuMs / window length: cores the target kept busy. */
  brokerCpuCores: number | null;
  /** CPU time of the load generator process (all its threads) during the measured window. */
  loadgenCpuMs: number | null;
  /** Open loop: how late sends left the generator vs their intended time (included in latencyMs), ms; nulls in closed loop. */
  generatorLagMs: { p99: number | null; max: number | null };
  workload: Workload;
  machine: MachineInfo;
  command: string;
  notes: string[];
  findMax?: FindMaxSummary;
}

const isNum = (v: unknown): boolean => typeof v === 'number' && Number.isFinite(v);
const isNumOrNull = (v: unknown): boolean => v === null || isNum(v);

/** Problems with `o` as a run object; [] when it is valid. */
export function validateRunObject(o: unknown): string[] {
  const problems: string[] = [];
  if (typeof o !== 'object' || o === null) return ['not an object'];
  const r = o as Record<string, unknown>;
  const need = (key: string, ok: (v: unknown) => boolean, what: string): void => {
    if (!ok(r[key])) problems.push(`${key}: expected ${what}, got ${JSON.stringify(r[key])}`);
  };
  need('schema', (v) => v === runSchema, runSchema);
  need('kind', (v) => v === 'run' || v === 'find-max', "'run' | 'find-max'");
  need('mode', (v) => v === 'served' || v === 'embedded' || v === 'consume', 'a mode');
  need('label', (v) => typeof v === 'string' && v !== '', 'a label');
  need('target', (v) => typeof v === 'string' && v !== '', 'a target key');
  need('phase', (v) => v === null || (Number.isInteger(v) && (v as number) > 0), 'a phase number or null');
  need('command', (v) => typeof v === 'string' && v !== '', 'the command line');
  need('startedAt', (v) => typeof v === 'string' && !Number.isNaN(Date.parse(v)), 'an ISO time');
  for (const k of ['recordsPerSec', 'requestsPerSec', 'mbPerSec', 'records', 'requests', 'valueBytes', 'errors', 'timedOut']) {
    need(k, (v) => isNum(v) && (v as number) >= 0, 'a number >= 0');
  }
  for (const k of ['brokerCpuMs', 'brokerCpuCores', 'loadgenCpuMs']) need(k, isNumOrNull, 'a number or null');
  const lag = r.generatorLagMs as Record<string, unknown> | undefined;
  if (typeof lag !== 'object' || lag === null || !isNumOrNull(lag.p99) || !isNumOrNull(lag.max)) problems.push('generatorLagMs: expected { p99, max } numbers or null');
  const lat = r.latencyMs as Record<string, unknown> | undefined;
  if (typeof lat !== 'object' || lat === null) problems.push('latencyMs: missing');
  else for (const k of ['p50', 'p90', 'p99', 'p999', 'max', 'mean']) if (!isNumOrNull(lat[k])) problems.push(`latencyMs.${k}: expected a number or null`);
  need('latencyCurveMs', (v) => Array.isArray(v) && v.every((p) => Array.isArray(p) && p.length === 2 && p.every(isNum)), '[percentile, ms] pairs');
  const w = r.workload as Record<string, unknown> | undefined;
  if (typeof w !== 'object' || w === null) problems.push('workload: missing');
  else {
    for (const k of ['producers', 'recordBytes', 'recordsPerSend', 'warmupSec', 'durationSec', 'workers']) if (!isNum(w[k])) problems.push(`workload.${k}: expected a number`);
    if (w.loop !== 'closed' && w.loop !== 'open') problems.push('workload.loop: expected closed|open');
    if (!isNumOrNull(w.targetRatePerSec)) problems.push('workload.targetRatePerSec: expected a number or null');
    for (const k of ['transport', 'ack']) if (typeof w[k] !== 'string') problems.push(`workload.${k}: expected a string`);
  }
  const m = r.machine as Record<string, unknown> | undefined;
  if (typeof m !== 'object' || m === null) problems.push('machine: missing');
  else {
    for (const k of ['cores', 'memoryGiB', 'loadAvg1m']) if (!isNum(m[k])) problems.push(`machine.${k}: expected a number`);
    for (const k of ['cpuModel', 'node', 'os', 'dataFs']) if (typeof m[k] !== 'string') problems.push(`machine.${k}: expected a string`);
  }
  need('notes', (v) => Array.isArray(v) && v.every((s) => typeof s === 'string'), 'an array of strings');
  if (r.kind === 'find-max') {
    const f = r.findMax as Record<string, unknown> | undefined;
    if (typeof f !== 'object' || f === null || !isNum(f.maxRatePerSec) || !isNum(f.p99MsMax) || !Array.isArray(f.steps)) problems.push('findMax: expected { p99MsMax, maxRatePerSec, steps }');
  }
  return problems;
}
