/**
 * Command-line options of `npm run bench`, parsed and checked in one place.
 */
import { availableParallelism, tmpdir } from 'node:os';
import { parseArgs } from 'node:util';
import type { Mode } from './run-object.ts';
import { localResultsDir, resultsDir } from './paths.ts';

/** Everything a bench invocation can be told. */
export interface BenchOptions {
  mode: Mode;
  /** `--phase` as given (a number or `fake`); null = the newest phase. */
  phase: string | null;
  allPhases: boolean;
  producers: number;
  recordBytes: number;
  recordsPerSend: number;
  warmupSec: number;
  durationSec: number;
  workers: number;
  /** Open-loop aggregate rate (requests/s); null = closed loop. */
  rate: number | null;
  findMax: boolean;
  p99MsMax: number;
  startRate: number;
  stepSec: number;
  /** find-max: each step lasts long enough for at least this many sends, so its P99 is not one hiccup. */
  stepSamples: number;
  /** find-max: re-measure a failing rate once before rejecting it. */
  confirmFailures: boolean;
  stepsMax: number;
  peerRedis: boolean;
  sweepProducers: number[] | null;
  consumeRecords: number;
  json: boolean;
  /** Where the charts and JSON go: bench/out/ (ignored by git), bench/results/ with --publish, or --out. */
  outDir: string;
  dataDir: string;
  help: boolean;
}

/** The usage text printed by `--help`. */
export const usage = `npm run bench -- [options]

Modes (default: served, closed loop, against the newest phase with a broker):
  --mode served|embedded|consume   served: broker in its own process, load over TCP (the headline)
                                   embedded: the phase's Log in-process (not the served path)
                                   consume: fill a log, time a consumer catching up
  --rate R              open loop: R requests/s in total, latency from the intended send time
  --find-max            search the highest open-loop rate with P99 < --p99-ms-max
  --peer redis          run the same workload against redis-server (XADD, appendfsync always)
  --all-phases          the same workload against every phase with an adapter; draws records/s by phase
  --sweep-producers L   closed-loop runs for each producer count in L (e.g. 1,10,100,500)

Workload:
  --phase N             phase number (or 'fake' to test the harness itself)
  --producers N         concurrent producers (default 500)
  --record-bytes B      value size (default 100)
  --records-per-send K  records per request (default 1)
  --warmup S            warm-up seconds, not measured (default 1)
  --duration S          measured seconds (default 5)
  --workers N           load-generator worker threads (default ${defaultWorkers()})
  --p99-ms-max MS       find-max latency bound (default 20)
  --start-rate R        find-max first rate (default 250)
  --step-duration S     find-max measured seconds per step, at least (default 2)
  --step-samples N      find-max: lengthen a step to at least N sends (default 2000)
  --steps N             find-max step budget, repeats included (default 14)
  --no-confirm          find-max: reject a rate on its first failure (default: re-measure it once)
  --consume-records N   records to fill for consume mode (default 1000000)

Output:
  --json                one JSON object per run on stdout instead of the table
  --out DIR             where SVG/JSON results go (default bench/out, ignored by git)
  --publish             write them to bench/results instead: the tracked results the
                        writeups quote and the site shows
  --data-dir DIR        where brokers keep their data (default the OS temp dir)
`;

function defaultWorkers(): number {
  return Math.min(4, Math.max(2, availableParallelism()));
}

/** Raised for a bad command line; main prints it with the usage. */
export class UsageError extends Error {
  readonly code = 'USAGE';
}

function num(name: string, v: string | undefined, fallback: number, check: (n: number) => boolean): number {
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isFinite(n) || !check(n)) throw new UsageError(`--${name}: bad value ${JSON.stringify(v)}`);
  return n;
}

const positive = (n: number): boolean => n > 0;
const positiveInt = (n: number): boolean => Number.isInteger(n) && n > 0;
const nonNegative = (n: number): boolean => n >= 0;

function parseStrict(argv: readonly string[]) {
  try {
    return parseWith(argv);
  } catch (e) {
    throw new UsageError(e instanceof Error ? e.message : String(e));
  }
}

function parseWith(argv: readonly string[]) {
  return parseArgs({
    args: [...argv],
    strict: true,
    allowPositionals: false,
    options: {
      mode: { type: 'string' }, phase: { type: 'string' }, 'all-phases': { type: 'boolean' },
      producers: { type: 'string' }, 'record-bytes': { type: 'string' }, 'records-per-send': { type: 'string' },
      warmup: { type: 'string' }, duration: { type: 'string' }, workers: { type: 'string' },
      rate: { type: 'string' }, 'find-max': { type: 'boolean' }, 'p99-ms-max': { type: 'string' },
      'start-rate': { type: 'string' }, 'step-duration': { type: 'string' }, 'step-samples': { type: 'string' }, steps: { type: 'string' }, 'no-confirm': { type: 'boolean' },
      peer: { type: 'string' }, 'sweep-producers': { type: 'string' }, 'consume-records': { type: 'string' },
      json: { type: 'boolean' }, out: { type: 'string' }, publish: { type: 'boolean' }, 'data-dir': { type: 'string' }, help: { type: 'boolean', short: 'h' },
    },
  });
}

/** Parse argv (without node and script). */
export function parseOptions(argv: readonly string[]): BenchOptions {
  const { values: v } = parseStrict(argv);
  const mode = v.mode ?? 'served';
  if (mode !== 'served' && mode !== 'embedded' && mode !== 'consume') throw new UsageError(`--mode: expected served|embedded|consume, got ${mode}`);
  if (v.peer !== undefined && v.peer !== 'redis') throw new UsageError(`--peer: only 'redis' is supported, got ${v.peer}`);
  let sweep: number[] | null = null;
  if (v['sweep-producers'] !== undefined) {
    sweep = v['sweep-producers'].split(',').map((s) => num('sweep-producers', s.trim(), 0, positiveInt));
    if (sweep.length === 0) throw new UsageError('--sweep-producers: empty list');
  }
  const o: BenchOptions = {
    mode,
    phase: v.phase ?? null,
    allPhases: v['all-phases'] ?? false,
    producers: num('producers', v.producers, 500, positiveInt),
    recordBytes: num('record-bytes', v['record-bytes'], 100, (n) => Number.isInteger(n) && n >= 0),
    recordsPerSend: num('records-per-send', v['records-per-send'], 1, positiveInt),
    warmupSec: num('warmup', v.warmup, 1, nonNegative),
    durationSec: num('duration', v.duration, 5, positive),
    workers: num('workers', v.workers, defaultWorkers(), positiveInt),
    rate: v.rate === undefined ? null : num('rate', v.rate, 0, positive),
    findMax: v['find-max'] ?? false,
    p99MsMax: num('p99-ms-max', v['p99-ms-max'], 20, positive),
    startRate: num('start-rate', v['start-rate'], 250, positive),
    stepSec: num('step-duration', v['step-duration'], 2, positive),
    stepSamples: num('step-samples', v['step-samples'], 2000, (n) => Number.isInteger(n) && n >= 0),
    stepsMax: num('steps', v.steps, 14, positiveInt),
    confirmFailures: !(v['no-confirm'] ?? false),
    peerRedis: v.peer === 'redis',
    sweepProducers: sweep,
    consumeRecords: num('consume-records', v['consume-records'], 1_000_000, positiveInt),
    json: v.json ?? false,
    outDir: v.out ?? (v.publish === true ? resultsDir : localResultsDir),
    dataDir: v['data-dir'] ?? tmpdir(),
    help: v.help ?? false,
  };
  if (o.findMax && o.rate !== null) throw new UsageError('--find-max searches the rate itself; drop --rate');
  if (v.publish === true && v.out !== undefined) throw new UsageError('--publish writes to bench/results; drop --out (or --publish)');
  if (o.mode !== 'served' && (o.findMax || o.rate !== null || o.peerRedis || o.allPhases || o.sweepProducers)) {
    throw new UsageError('--rate, --find-max, --peer, --all-phases and --sweep-producers apply to --mode served');
  }
  return o;
}
