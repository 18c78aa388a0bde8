/**
 * `npm run bench`: the benchmark harness's entry point. Parses the options, picks the
 * phase (default: the newest phase whose adapter has a broker), runs the scenario,
 * prints the table on stdout (or one JSON object per run with --json), progress on
 * stderr, and writes charts and JSON to bench/out/ (ignored by git; bench/results/,
 * the published results, with --publish). Every figure printed is
 * measured in this run; nothing is carried over or scaled.
 *
 * Data flow: main → scenarios / embedded / consume → served (worker threads running
 * load.ts through an adapter) → the target process over TCP.
 */
import { defaultEntry, findEntry, isAvailable, type AdapterEntry } from './adapters/index.ts';
import { withCleanup } from './cleanup.ts';
import { runConsume } from './consume.ts';
import { runEmbedded } from './embedded.ts';
import { commandLine, machineInfo } from './machine.ts';
import { parseOptions, usage, UsageError, type BenchOptions } from './options.ts';
import { Progress } from './progress.ts';
import { textReport, writeResult } from './report.ts';
import { validateRunObject, type RunObject } from './run-object.ts';
import { allPhases, findMax, servedOnce, sweepProducers, type Outcome } from './scenarios.ts';
import type { RunContext } from './served.ts';
import { withBroker } from './targets.ts';

function pickEntry(o: BenchOptions): AdapterEntry {
  const need = o.mode === 'embedded' ? 'embeds' : 'serves';
  const entry = o.phase === null ? defaultEntry(need) : findEntry(o.phase);
  if (!entry) throw new UsageError(o.phase === null ? `no phase with ${need === 'embeds' ? 'an embedded log' : 'a broker'} adapter is available` : `no adapter for --phase ${o.phase}`);
  if (!isAvailable(entry)) throw new UsageError(`--phase ${o.phase}: ${entry.folder} is not in this checkout`);
  if (!entry[need]) throw new UsageError(`phase ${entry.phase ?? entry.key} has no ${need === 'embeds' ? 'embedded log' : 'broker'} to measure`);
  return entry;
}

async function run(o: BenchOptions, ctx: RunContext): Promise<Outcome> {
  if (o.allPhases) return await allPhases(o, ctx);
  const adapter = await pickEntry(o).load();
  if (o.mode === 'embedded') {
    const r = await runEmbedded(adapter, { appenders: o.producers, recordBytes: o.recordBytes, recordsPerSend: o.recordsPerSend, warmupSec: o.warmupSec, durationSec: o.durationSec }, o.dataDir, ctx);
    return { runs: [r], extraRows: [], lines: [], files: [{ name: `embedded-${adapter.key}.json`, content: `${JSON.stringify({ runs: [r] }, null, 2)}\n` }] };
  }
  if (o.mode === 'consume') {
    const r = await withBroker(adapter, o.dataDir, (_t, broker) => runConsume(adapter, broker, { records: o.consumeRecords, recordBytes: o.recordBytes, fillBatchRecords: 500 }, ctx));
    return { runs: [r], extraRows: [], lines: [], files: [{ name: `consume-${adapter.key}.json`, content: `${JSON.stringify({ runs: [r] }, null, 2)}\n` }] };
  }
  if (o.sweepProducers) return await sweepProducers(adapter, o.sweepProducers, o, ctx);
  if (o.findMax) return await findMax(adapter, o, ctx);
  return await servedOnce(adapter, o, ctx);
}

function display(r: RunObject): RunObject {
  return r.kind === 'find-max' ? { ...r, label: `${r.label}: best under P99 ${r.findMax?.p99MsMax} ms` } : r;
}

/** Run the CLI with `argv` (without node and script); returns the exit code. */
export async function main(argv: readonly string[]): Promise<number> {
  let o: BenchOptions;
  try {
    o = parseOptions(argv);
  } catch (e) {
    process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n\n${usage}`);
    return 2;
  }
  if (o.help) {
    process.stdout.write(usage);
    return 0;
  }
  const progress = new Progress();
  const ctx: RunContext = { machine: machineInfo(o.dataDir), command: commandLine(argv), progress };
  let outcome: Outcome;
  try {
    outcome = await run(o, ctx);
  } catch (e) {
    progress.end();
    process.stderr.write(`bench: ${e instanceof Error ? (process.env.BENCH_DEBUG ? e.stack : e.message) : String(e)}\n`);
    if (e instanceof UsageError) process.stderr.write(`\n${usage}`);
    return e instanceof UsageError ? 2 : 1;
  }
  for (const r of outcome.runs) {
    const problems = validateRunObject(r);
    if (problems.length > 0) throw new Error(`internal error: malformed run object: ${problems.join('; ')}`);
  }
  if (o.json) for (const r of outcome.runs) process.stdout.write(`${JSON.stringify(r)}\n`);
  else if (outcome.runs.length > 0) process.stdout.write(`${textReport(outcome.runs.map(display), outcome.extraRows)}${outcome.lines.map((l) => `${l}\n`).join('')}`);
  else process.stdout.write(outcome.lines.map((l) => `${l}\n`).join(''));
  for (const f of outcome.files) progress.note(`wrote ${writeResult(o.outDir, f.name, f.content)}`);
  return 0;
}

// Keep the process from lingering if a client library leaves a handle open.
void withCleanup(async () => {}, () => main(process.argv.slice(2))).then((code) => process.exit(code));
