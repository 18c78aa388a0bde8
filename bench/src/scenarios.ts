/**
 * The served-mode scenarios `main.ts` dispatches to: one run (closed loop, or open
 * loop with --rate), optionally beside the redis peer; the --find-max search; the
 * producer-count sweep; and --all-phases. Each returns its runs plus the charts and
 * JSON to write; nothing here prints the report.
 */
import { adapterEntries, isAvailable, phaseEntries, phaseFoldersWithoutAdapter } from './adapters/index.ts';
import type { TargetAdapter } from './adapters/types.ts';
import { findMaxRate } from './find-max.ts';
import { chartPercentiles } from './histogram.ts';
import type { BenchOptions } from './options.ts';
import { captionFor, ratioRow } from './report.ts';
import type { FindMaxSummary, RunObject } from './run-object.ts';
import { runServed, type RunContext, type ServedTarget, type ServedWorkload } from './served.ts';
import { barChart, formatTick, lineChart } from './svg.ts';
import { withBroker, withRedis } from './targets.ts';

/** What a scenario produced. */
export interface Outcome {
  /** Runs for the table and --json, in order. */
  runs: RunObject[];
  /** Extra table rows (ratios, summaries). */
  extraRows: string[][];
  /** Lines printed after the table. */
  lines: string[];
  /** Files for the results folder (bench/out/, or bench/results/ with --publish): name → content. */
  files: Array<{ name: string; content: string }>;
}

/** The served workload the options describe. */
export function workloadOf(o: BenchOptions, overrides: Partial<ServedWorkload> = {}): ServedWorkload {
  return {
    producers: o.producers, workers: o.workers, recordBytes: o.recordBytes, recordsPerSend: o.recordsPerSend,
    warmupSec: o.warmupSec, durationSec: o.durationSec, ratePerSec: o.rate, ...overrides,
  };
}

function latencyChart(runs: readonly RunObject[]): string {
  const first = runs[0] as RunObject;
  const loop = first.workload.loop === 'open' ? `open loop at ${formatTick(first.workload.targetRatePerSec ?? 0)} requests/s` : 'closed loop';
  return lineChart({
    title: `Send-to-ack latency by percentile (served, ${loop})`,
    subtitle: `${runs.map((r) => r.label).join(' vs ')}; per request; log scale; lower is better`,
    yLabel: 'latency (ms)', xLabel: 'percentile',
    categories: chartPercentiles.map((p) => (p === 100 ? 'max' : `p${p}`)),
    series: runs.map((r) => ({ name: r.label, values: chartPercentiles.map((p) => r.latencyCurveMs.find(([q]) => q === p)?.[1] ?? null) })),
    logY: true, caption: captionFor(runs),
  });
}

function json(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}

/** One served run against the adapter's broker, plus the redis peer if asked. */
export async function servedOnce(adapter: TargetAdapter, o: BenchOptions, ctx: RunContext): Promise<Outcome> {
  const w = workloadOf(o);
  const runs = [await withBroker(adapter, o.dataDir, (t) => runServed(t, w, ctx))];
  const out: Outcome = { runs, extraRows: [], lines: [], files: [] };
  if (o.peerRedis) {
    const peer = await withRedis(o.dataDir, (t) => runServed(t, w, ctx), (l) => { ctx.progress.note(l); out.lines.push(l); });
    if (peer) {
      runs.push(peer);
      out.extraRows.push(ratioRow(runs[0] as RunObject, peer));
    }
  }
  const base = `served-${adapter.key}${o.rate !== null ? `-open${o.rate}` : ''}${runs.length > 1 ? '-vs-redis' : ''}`;
  out.files.push({ name: `${base}.json`, content: json({ runs }) });
  out.files.push({ name: `latency-${base.replace(/^served-/, '')}.svg`, content: latencyChart(runs) });
  return out;
}

async function searchOne(target: ServedTarget, o: BenchOptions, ctx: RunContext): Promise<{ steps: RunObject[]; summary: RunObject }> {
  const steps: RunObject[] = [];
  const result = await findMaxRate(async (rate) => {
    // A P99 from a few hundred sends is one hiccup of a shared machine; make each step long
    // enough that the 99th percentile rests on at least stepSamples / 100 sends.
    // Capped at 5× the step duration so a search that walks down to low rates still ends.
    const durationSec = Math.min(5 * o.stepSec, Math.max(o.stepSec, Math.ceil((o.stepSamples / rate) * 10) / 10));
    const run = await runServed(target, workloadOf(o, { ratePerSec: rate, durationSec, warmupSec: Math.min(o.warmupSec, 1) }), ctx);
    steps.push(run);
    const ok = run.errors + run.timedOut === 0 && run.latencyMs.p99 !== null && run.latencyMs.p99 < o.p99MsMax;
    ctx.progress.note(`[${target.label}] ${rate} requests/s (${durationSec} s) → p99 ${run.latencyMs.p99 ?? '-'} ms, ${run.recordsPerSec} rec/s acked: ${ok ? 'pass' : 'fail'}`);
    return { p99Ms: run.latencyMs.p99, failures: run.errors + run.timedOut, run };
  }, { p99MsMax: o.p99MsMax, startRatePerSec: o.startRate, stepsMax: o.stepsMax, confirmFailures: o.confirmFailures });
  const findMax: FindMaxSummary = {
    p99MsMax: o.p99MsMax, maxRatePerSec: result.maxRatePerSec,
    steps: result.steps.map((s) => ({ ratePerSec: s.ratePerSec, attempt: s.attempt, passed: s.passed, recordsPerSec: s.outcome.run.recordsPerSec, p99Ms: s.outcome.p99Ms, failures: s.outcome.failures })),
  };
  const base = result.best?.outcome.run ?? (steps[steps.length - 1] as RunObject);
  const notes = result.best ? [...base.notes] : [...base.notes, `no rate tried kept P99 below ${o.p99MsMax} ms; figures are from the last step`];
  return { steps, summary: { ...base, kind: 'find-max', findMax, notes } };
}

/** --find-max for the adapter's broker (and the redis peer if asked). */
export async function findMax(adapter: TargetAdapter, o: BenchOptions, ctx: RunContext): Promise<Outcome> {
  const searches = [await withBroker(adapter, o.dataDir, (t) => searchOne(t, o, ctx))];
  const out: Outcome = { runs: [], extraRows: [], lines: [], files: [] };
  if (o.peerRedis) {
    const peer = await withRedis(o.dataDir, (t) => searchOne(t, o, ctx), (l) => { ctx.progress.note(l); out.lines.push(l); });
    if (peer) searches.push(peer);
  }
  for (const s of searches) {
    out.runs.push(...s.steps, s.summary);
    const f = s.summary.findMax as FindMaxSummary;
    out.lines.push(`${s.summary.label}: highest rate with P99 < ${f.p99MsMax} ms: ${f.maxRatePerSec.toLocaleString('en-US')} requests/s (${(f.maxRatePerSec * o.recordsPerSend).toLocaleString('en-US')} records/s), over ${f.steps.length} steps of at least ${o.stepSec} s and ${o.stepSamples} sends`);
  }
  const [ours, peer] = searches.map((s) => s.summary.findMax as FindMaxSummary);
  if (ours && peer && peer.maxRatePerSec > 0) out.lines.push(`ratio ours/redis (max rate at P99 < ${o.p99MsMax} ms): ${(ours.maxRatePerSec / peer.maxRatePerSec).toFixed(3)}×`);
  const name = `find-max-${adapter.key}${searches.length > 1 ? '-vs-redis' : ''}`;
  out.files.push({ name: `${name}.json`, content: json({ runs: searches.map((s) => s.summary), steps: searches.flatMap((s) => s.steps) }) });
  const rates = [...new Set(searches.flatMap((s) => (s.summary.findMax as FindMaxSummary).steps.map((x) => x.ratePerSec)))].sort((a, b) => a - b);
  out.files.push({
    name: `${name}.svg`,
    content: lineChart({
      title: `Open-loop P99 against offered rate (bound ${o.p99MsMax} ms)`,
      subtitle: `one point per rate (its deciding step, ≥ ${o.stepSec} s and ≥ ${o.stepSamples} sends); latency from the intended send time`,
      yLabel: 'P99 latency (ms)', xLabel: 'offered rate (requests/s)', logY: true, refLine: { value: o.p99MsMax, label: `bound ${o.p99MsMax} ms` },
      categories: rates.map((r) => formatTick(r)),
      series: searches.map((s) => ({ name: `${s.summary.label}: max ${formatTick((s.summary.findMax as FindMaxSummary).maxRatePerSec)}/s`, values: rates.map((r) => (s.summary.findMax as FindMaxSummary).steps.filter((x) => x.ratePerSec === r).pop()?.p99Ms ?? null) })),
      caption: captionFor(searches.map((x) => x.summary), ['caption workload is the best step; every step used the same workload at the rate on the x axis']),
    }),
  });
  return out;
}

/** --sweep-producers: one closed-loop run per producer count. */
export async function sweepProducers(adapter: TargetAdapter, counts: readonly number[], o: BenchOptions, ctx: RunContext): Promise<Outcome> {
  const out: Outcome = { runs: [], extraRows: [], lines: [], files: [] };
  const measure = async (t: ServedTarget): Promise<RunObject[]> => {
    const runs: RunObject[] = [];
    for (const producers of counts) runs.push(await runServed(t, workloadOf(o, { producers }), ctx));
    return runs;
  };
  const series = [await withBroker(adapter, o.dataDir, measure)];
  if (o.peerRedis) {
    const peer = await withRedis(o.dataDir, measure, (l) => { ctx.progress.note(l); out.lines.push(l); });
    if (peer) series.push(peer);
  }
  out.runs = series.flat().map((r) => ({ ...r, label: `${r.label} ×${r.workload.producers}` }));
  const name = `${adapter.key}${series.length > 1 ? '-vs-redis' : ''}`;
  const categories = counts.map(String);
  const caption = captionFor(series.flat(), ['producers per point as on the x axis']);
  out.files.push({ name: `sweep-producers-${name}.json`, content: json({ runs: series.flat() }) });
  out.files.push({
    name: `throughput-vs-producers-${name}.svg`,
    content: lineChart({ title: 'Records/s against concurrent producers (served, closed loop)', subtitle: 'higher is better', yLabel: 'records/s', xLabel: 'concurrent producers', categories, series: series.map((runs) => ({ name: (runs[0] as RunObject).label, values: runs.map((r) => r.recordsPerSec) })), caption }),
  });
  out.files.push({
    name: `p99-vs-producers-${name}.svg`,
    content: lineChart({ title: 'P99 send-to-ack latency against concurrent producers', subtitle: 'log scale; lower is better', yLabel: 'P99 (ms)', xLabel: 'concurrent producers', logY: true, categories, series: series.map((runs) => ({ name: (runs[0] as RunObject).label, values: runs.map((r) => r.latencyMs.p99) })), caption }),
  });
  return out;
}

/** A bar's label: `phase N`, or the run's own label when several runs measure one phase (phase 5's acks=all and acks=1). */
function barLabel(r: RunObject, runs: readonly RunObject[]): string {
  if (r.phase === null || runs.filter((x) => x.phase === r.phase).length > 1) return r.label;
  return `phase ${r.phase}`;
}

/** --all-phases: the same served workload against every phase with a broker adapter. */
export async function allPhases(o: BenchOptions, ctx: RunContext): Promise<Outcome> {
  const out: Outcome = { runs: [], extraRows: [], lines: [], files: [] };
  const w = workloadOf(o);
  for (const entry of phaseEntries()) {
    if (!entry.serves) {
      out.lines.push(`phase ${entry.phase}: no broker (not measured in served mode)`);
      continue;
    }
    const adapter = await entry.load();
    out.runs.push(await withBroker(adapter, o.dataDir, (t) => runServed(t, w, ctx)));
  }
  for (const e of adapterEntries) if (e.phase !== null && !isAvailable(e)) out.lines.push(`phase ${e.phase}: ${e.folder} not in this checkout`);
  for (const folder of phaseFoldersWithoutAdapter()) out.lines.push(`${folder}: no bench adapter yet (add bench/src/adapters/phase${folder.slice(7, 9)}.ts), not measured`);
  if (out.runs.length === 0) {
    out.lines.push('no phase with a broker adapter is available');
    return out;
  }
  if (o.peerRedis) {
    const peer = await withRedis(o.dataDir, (t) => runServed(t, w, ctx), (l) => { ctx.progress.note(l); out.lines.push(l); });
    if (peer) out.runs.push(peer);
  }
  out.files.push({ name: 'all-phases.json', content: json({ runs: out.runs }) });
  out.files.push({
    name: 'throughput-by-phase.svg',
    content: barChart({
      title: 'Records/s by phase (served, same workload)', subtitle: 'acknowledged records per second over TCP; higher is better',
      yLabel: 'records/s', bars: out.runs.map((r) => ({ label: barLabel(r, out.runs), value: r.recordsPerSec, valueText: `${formatTick(r.recordsPerSec)}/s` })),
      caption: captionFor(out.runs),
    }),
  });
  return out;
}
