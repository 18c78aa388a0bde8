/**
 * Latency histograms: node's `perf_hooks` RecordableHistogram (HdrHistogram, 3
 * significant figures), recording microseconds. Each load worker records into its
 * own histogram and posts it to the main thread (a RecordableHistogram survives
 * `postMessage` structured cloning); the main thread merges them with `add()`, which
 * adds bucket counts. Averaging per-worker percentiles would be wrong: percentiles
 * do not merge, bucket counts do.
 */
import { createHistogram, type RecordableHistogram } from 'node:perf_hooks';

/** Largest latency the histogram holds: one hour, in microseconds. Longer values are clamped. */
export const latencyUsMax = 3_600_000_000;

/** A fresh histogram for latencies in microseconds (1 µs .. 1 h, 3 significant figures). */
export function createLatencyHistogram(): RecordableHistogram {
  return createHistogram({ lowest: 1, highest: latencyUsMax, figures: 3 });
}

/** Record one latency in microseconds (rounded, clamped to 1 .. latencyUsMax). */
export function recordUs(h: RecordableHistogram, latencyUs: number): void {
  const us = Math.round(latencyUs);
  h.record(us < 1 ? 1 : us > latencyUsMax ? latencyUsMax : us);
}

/** Merge histograms (for example one per worker thread) into a new one. */
export function mergeHistograms(parts: Iterable<RecordableHistogram>): RecordableHistogram {
  const total = createLatencyHistogram();
  for (const part of parts) total.add(part);
  return total;
}

/** Latency summary in milliseconds; every field is null when nothing was recorded. */
export interface LatencyMs {
  p50: number | null;
  p90: number | null;
  p99: number | null;
  p999: number | null;
  max: number | null;
  mean: number | null;
}

const round3 = (ms: number): number => Math.round(ms * 1000) / 1000;

/** Summarise a microsecond histogram as milliseconds. */
export function latencySummaryMs(h: RecordableHistogram): LatencyMs {
  if (h.count === 0) return { p50: null, p90: null, p99: null, p999: null, max: null, mean: null };
  const ms = (p: number): number => round3(h.percentile(p) / 1000);
  return { p50: ms(50), p90: ms(90), p99: ms(99), p999: ms(99.9), max: round3(h.max / 1000), mean: round3(h.mean / 1000) };
}

/** The percentiles drawn in the latency chart (100 = max). */
export const chartPercentiles = [50, 75, 90, 95, 99, 99.9, 99.99, 100] as const;

/** [percentile, ms] points of the latency distribution, for charts; [] when empty. */
export function percentileCurveMs(h: RecordableHistogram): Array<[number, number]> {
  if (h.count === 0) return [];
  return chartPercentiles.map((p) => [p, round3((p === 100 ? h.max : h.percentile(p)) / 1000)]);
}
