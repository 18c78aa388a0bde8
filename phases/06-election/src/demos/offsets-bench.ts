/**
 * `offsets-bench`: the numbers behind the writeup's claim that compaction keeps
 * start-up time flat. On the real disk (FsStorage, in a temporary directory removed at
 * the end) it commits `commits` offsets spread over `keys` partitions, one fsynced
 * commit at a time, twice: once with compaction at its defaults and once with
 * compaction off. For each it prints the mean commit latency, the records a restart
 * has to replay, and how long reopening the store takes; finally how long one
 * compaction of the uncompacted history takes. Times come from the Clock
 * seam (millisecond resolution), so each is measured over many operations.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Clock } from '../seams/clock.ts';
import { FsStorage } from '../seams/storage.ts';
import { OffsetsStore, defaultOffsetsStoreConfig } from '../groups/offsets-store.ts';

/** What to measure. */
export interface OffsetsBenchOptions {
  /** Commits to make (each one fsynced). */
  commits: number;
  /** Distinct (topic, partition) keys the commits cycle over. */
  keys: number;
  /** Offsets per commit request. */
  offsetsPerCommit: number;
}

/** One run's results. */
export interface OffsetsBenchResult {
  readonly label: string;
  readonly commitMsMean: number;
  readonly replayRecords: number;
  readonly reopenMs: number;
  readonly compactions: number;
  /** One explicit compaction of the final store, timed. */
  readonly compactMs: number;
}

/**
 * Run the benchmark, narrating to `say`; resolves with both runs' results.
 * @example
 * await runOffsetsBench({ commits: 2000, keys: 50, offsetsPerCommit: 1 }, realClock, console.log);
 */
export async function runOffsetsBench(opts: OffsetsBenchOptions, clock: Clock, say: (line: string) => void): Promise<OffsetsBenchResult[]> {
  const results: OffsetsBenchResult[] = [];
  const runs = [
    { label: 'compaction on (defaults)', config: {} },
    { label: 'compaction off', config: { compactRecordsMin: Number.MAX_SAFE_INTEGER } },
  ];
  say(`${opts.commits} commits of ${opts.offsetsPerCommit} offset(s) over ${opts.keys} partitions, each fsynced (FsStorage).`);
  say(`compaction defaults: compactRecordsMin=${defaultOffsetsStoreConfig.compactRecordsMin}, compactRatio=${defaultOffsetsStoreConfig.compactRatio}`);
  for (const run of runs) {
    const dir = await mkdtemp(join(tmpdir(), 'offsets-bench-'));
    try {
      const storage = new FsStorage();
      const store = await OffsetsStore.open(storage, join(dir, 'offsets'), run.config);
      const started = clock.now();
      for (let i = 0; i < opts.commits; i++) {
        const offsets = Array.from({ length: opts.offsetsPerCommit }, (_, j) => ({
          topic: 'bench',
          partition: (i * opts.offsetsPerCommit + j) % opts.keys,
          offset: i + 1,
          metadata: '',
        }));
        await store.commit('bench-group', offsets, clock.now());
      }
      const commitMsMean = (clock.now() - started) / opts.commits;
      const { compactions } = store.stats();
      await store.close();
      const reopenStarted = clock.now();
      const reopened = await OffsetsStore.open(storage, join(dir, 'offsets'), run.config);
      const reopenMs = clock.now() - reopenStarted;
      const replayRecords = reopened.stats().logRecords;
      // Then compact what was replayed, timed (after compaction off: the whole history).
      const compactStarted = clock.now();
      await reopened.compact(clock.now());
      const compactMs = clock.now() - compactStarted;
      await reopened.close();
      const result = { label: run.label, commitMsMean, replayRecords, reopenMs, compactions, compactMs };
      results.push(result);
      say(
        `${run.label.padEnd(26)} commit mean ${commitMsMean.toFixed(3)} ms   compactions ${String(compactions).padStart(4)}   ` +
          `restart replays ${String(replayRecords).padStart(7)} records in ${reopenMs} ms`,
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }
  const last = results[results.length - 1];
  if (last !== undefined) {
    say(`compacting that ${last.replayRecords}-record log down to its ${opts.keys} live keys (rewrite, switch CURRENT, delete the old log) took ${last.compactMs} ms`);
  }
  return results;
}
