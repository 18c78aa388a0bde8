/**
 * Turning run objects into what people read: the stdout table (with the machine,
 * workload and command above it, so a pasted table keeps its context), the caption
 * lines of the charts, and the files written to the results folder (bench/out/, or
 * bench/results/ with --publish).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import type { RunObject } from './run-object.ts';
import { repoRoot } from './paths.ts';

const fmt = (v: number | null, digits = 1): string => (v === null ? '-' : v.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: 0 }));

/** Format rows as an aligned text table; first column left-aligned, others right-aligned. */
export function formatTable(header: readonly string[], rows: ReadonlyArray<readonly string[]>): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join('  ').trimEnd();
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

/** The machine line shared by tables and charts. */
export function machineLine(r: RunObject): string {
  const m = r.machine;
  return `machine: ${m.cores} cores ${m.cpuModel}, ${m.memoryGiB} GiB, Node ${m.node}, ${m.os}; data on ${m.dataFs}; load avg ${m.loadAvg1m} at start`;
}

/** Which workload fields differ between the runs of one report (then the line says "per row"). */
export interface Varied {
  producers?: boolean;
  rate?: boolean;
  duration?: boolean;
  /** Most worker threads any run used (when producers vary, so do workers). */
  workersMax?: number;
}

/** Which workload fields differ across `runs`. */
export function variedFields(runs: readonly RunObject[]): Varied {
  const distinct = (f: (r: RunObject) => unknown): boolean => new Set(runs.map(f)).size > 1;
  return {
    producers: distinct((r) => r.workload.producers), rate: distinct((r) => r.workload.targetRatePerSec),
    duration: distinct((r) => r.workload.durationSec), workersMax: Math.max(0, ...runs.map((r) => r.workload.workers)),
  };
}

/** The workload line shared by tables and charts. */
export function workloadLine(r: RunObject, varied: Varied = {}): string {
  const w = r.workload;
  if (r.mode === 'consume') return `workload: consume ${r.records} records of ${w.recordBytes}-byte values (filled in batches of ${w.recordsPerSend}); ${w.transport}`;
  const rate = varied.rate ? 'the rate in each row' : `${fmt(w.targetRatePerSec, 0)} requests/s`;
  const loop = w.loop === 'closed' ? 'closed loop (send, await ack, repeat)' : `open loop at ${rate}`;
  const n = varied.producers ? 'N (per row)' : String(w.producers);
  const who = r.mode === 'embedded' ? `${n} concurrent appenders` : `${n} producers on ${varied.producers ? `up to ${varied.workersMax ?? w.workers}` : w.workers} worker threads`;
  const measured = varied.duration ? 'measured per row (longer steps at low rates)' : `measured ${w.durationSec} s`;
  return `workload: ${who}, ${w.recordBytes}-byte values, ${w.recordsPerSend} record(s)/request, ${loop}, warm-up ${w.warmupSec} s, ${measured}; ${w.transport}`;
}

/** One line per distinct target saying when it acknowledges. */
export function ackLines(runs: readonly RunObject[]): string[] {
  const seen = new Map<string, string>();
  for (const r of runs) if (r.mode !== 'consume' && !seen.has(r.target)) seen.set(r.target, `ack (${r.label.replace(/ ×\d+$/, '')}): ${r.workload.ack}`);
  return [...seen.values()];
}

/** Caption lines for a chart of `runs` (wrapped to fit its width); context comes from the first run. */
export function captionFor(runs: readonly RunObject[], extra: readonly string[] = []): string[] {
  const r = runs[0];
  if (!r) return [...extra];
  const lines = [machineLine(r), workloadLine(r, variedFields(runs)), ...ackLines(runs), `command: ${r.command}; ${r.startedAt}`, ...extra];
  return lines.flatMap((l) => wrap(l, 128));
}

function wrap(text: string, width: number): string[] {
  const out: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line !== '' && line.length + 1 + word.length > width) {
      out.push(line);
      line = `  ${word}`;
    } else line = line === '' ? word : `${line} ${word}`;
  }
  if (line !== '') out.push(line);
  return out;
}

/** Header of the results table. */
export const tableHeader = ['target', 'mode', 'records/s', 'requests/s', 'MB/s', 'p50 ms', 'p99 ms', 'p99.9 ms', 'max ms', 'target CPU s', 'target cores', 'loadgen cores', 'gen lag p99 ms', 'errors'];

/** One table row for a run. */
export function tableRow(r: RunObject): string[] {
  const loop = r.mode === 'served' ? (r.workload.loop === 'open' ? ` open@${fmt(r.workload.targetRatePerSec, 0)}/s` : ' closed') : '';
  return [
    r.label, `${r.mode}${loop}`, fmt(r.recordsPerSec, 0), fmt(r.requestsPerSec, 0), fmt(r.mbPerSec, 2),
    fmt(r.latencyMs.p50, 2), fmt(r.latencyMs.p99, 2), fmt(r.latencyMs.p999, 2), fmt(r.latencyMs.max, 2),
    r.brokerCpuMs === null ? '-' : fmt(r.brokerCpuMs / 1000, 2), fmt(r.brokerCpuCores, 2),
    r.loadgenCpuMs === null ? '-' : fmt(r.loadgenCpuMs / (r.workload.durationSec * 1000), 2), fmt(r.generatorLagMs.p99, 2), String(r.errors + r.timedOut),
  ];
}

/** A row of ratios ours/peer (records/s, p99). */
export function ratioRow(ours: RunObject, peer: RunObject): string[] {
  const ratio = (a: number | null, b: number | null): string => (a === null || b === null || b === 0 ? '-' : `${(a / b).toFixed(3)}×`);
  return ['ratio ours / redis', '', ratio(ours.recordsPerSec, peer.recordsPerSec), ratio(ours.requestsPerSec, peer.requestsPerSec),
    ratio(ours.mbPerSec, peer.mbPerSec), ratio(ours.latencyMs.p50, peer.latencyMs.p50), ratio(ours.latencyMs.p99, peer.latencyMs.p99),
    ratio(ours.latencyMs.p999, peer.latencyMs.p999), ratio(ours.latencyMs.max, peer.latencyMs.max), '', '', '', '', ''];
}

/** The full text report: context lines, the table, notes. */
export function textReport(runs: readonly RunObject[], extraRows: ReadonlyArray<readonly string[]> = [], heading?: string): string {
  const first = runs[0];
  if (!first) return 'no runs\n';
  const notes = [...new Set(runs.flatMap((r) => r.notes))];
  return [
    ...(heading ? [heading] : []),
    machineLine(first),
    workloadLine(first, variedFields(runs)),
    ...ackLines(runs),
    `command: ${first.command}`,
    '',
    formatTable(tableHeader, [...runs.map(tableRow), ...extraRows]),
    ...(notes.length > 0 ? ['', ...notes.map((n) => `note: ${n}`)] : []),
    '',
  ].join('\n');
}

/** Write `content` to `dir/name` (creating dir) and return the path as shown to the user. */
export function writeResult(dir: string, name: string, content: string): string {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, name);
  writeFileSync(path, content);
  const rel = relative(repoRoot, path);
  return rel.startsWith('..') ? path : rel;
}
