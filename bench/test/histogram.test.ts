import { MessageChannel } from 'node:worker_threads';
import type { RecordableHistogram } from 'node:perf_hooks';
import { describe, expect, it } from 'vitest';
import { createLatencyHistogram, latencySummaryMs, latencyUsMax, mergeHistograms, percentileCurveMs, recordUs } from '../src/histogram.ts';

async function viaStructuredClone(h: RecordableHistogram): Promise<RecordableHistogram> {
  const { port1, port2 } = new MessageChannel();
  try {
    return await new Promise((resolve) => {
      port2.once('message', (m: { histogram: RecordableHistogram }) => resolve(m.histogram));
      port1.postMessage({ histogram: h });
    });
  } finally {
    port1.close();
    port2.close();
  }
}

describe('latency histograms', () => {
  it('merging per-worker histograms gives the histogram of all samples, not an average of percentiles', async () => {
    // Worker A is fast (1..1000 µs), worker B has a slow tail (10 ms .. 100 ms).
    const a = createLatencyHistogram();
    const b = createLatencyHistogram();
    const all = createLatencyHistogram();
    for (let i = 1; i <= 1000; i++) {
      recordUs(a, i);
      recordUs(all, i);
    }
    for (let i = 1; i <= 100; i++) {
      recordUs(b, i * 1000);
      recordUs(all, i * 1000);
    }
    const merged = mergeHistograms([await viaStructuredClone(a), await viaStructuredClone(b)]);
    expect(merged.count).toBe(1100);
    expect(merged.min).toBe(all.min);
    expect(merged.max).toBe(all.max);
    for (const p of [50, 90, 99, 99.9]) expect(merged.percentile(p)).toBe(all.percentile(p));
    // The naive average of the two P99s would be far off the true P99.
    const naive = (a.percentile(99) + b.percentile(99)) / 2;
    expect(Math.abs(naive - all.percentile(99))).toBeGreaterThan(10_000);
  });

  it('merging nothing gives an empty histogram whose summary is all null', () => {
    const merged = mergeHistograms([]);
    expect(merged.count).toBe(0);
    expect(latencySummaryMs(merged)).toEqual({ p50: null, p90: null, p99: null, p999: null, max: null, mean: null });
    expect(percentileCurveMs(merged)).toEqual([]);
  });

  it('summarises microseconds as milliseconds and clamps out-of-range samples', () => {
    const h = createLatencyHistogram();
    for (let i = 0; i < 99; i++) recordUs(h, 2000);
    recordUs(h, 250_000);
    recordUs(h, 0.2); // below 1 µs → 1 µs
    recordUs(h, latencyUsMax * 10); // beyond an hour → an hour
    const s = latencySummaryMs(h);
    expect(s.p50).toBeCloseTo(2, 2);
    expect((s.max ?? 0) / (latencyUsMax / 1000)).toBeCloseTo(1, 2); // 3 significant figures
    expect(h.min).toBe(1);
    const curve = percentileCurveMs(h);
    expect(curve.map(([p]) => p)).toEqual([50, 75, 90, 95, 99, 99.9, 99.99, 100]);
    expect(curve.every(([, ms], i) => i === 0 || ms >= (curve[i - 1]?.[1] ?? 0))).toBe(true);
  });
});
