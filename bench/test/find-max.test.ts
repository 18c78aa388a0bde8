import { describe, expect, it } from 'vitest';
import { findMaxRate, stepPasses, type StepOutcome } from '../src/find-max.ts';

/** A fake target: P99 stays at 5 ms below `capacity` requests/s and explodes above it. */
function fakeTarget(capacity: number): { measure: (rate: number) => Promise<StepOutcome>; tried: number[] } {
  const tried: number[] = [];
  return {
    tried,
    measure: async (rate) => {
      tried.push(rate);
      return { p99Ms: rate <= capacity ? 5 : 400, failures: 0 };
    },
  };
}

describe('find-max search', () => {
  it.each([150, 1000, 3700, 52_000])('finds a capacity of %i/s within 10%% in at most 12 steps', async (capacity) => {
    const t = fakeTarget(capacity);
    const r = await findMaxRate(t.measure, { p99MsMax: 20, startRatePerSec: 100, stepsMax: 12, precision: 0.1, confirmFailures: false });
    expect(r.maxRatePerSec).toBeLessThanOrEqual(capacity);
    expect(r.maxRatePerSec).toBeGreaterThanOrEqual(capacity * 0.9);
    expect(r.steps.length).toBeLessThanOrEqual(12);
    expect(r.best?.ratePerSec).toBe(r.maxRatePerSec);
    expect(t.tried.slice(0, 2)).toEqual([100, 200]); // exponential first
  });

  it('walks down when the first step already fails', async () => {
    const t = fakeTarget(30);
    const r = await findMaxRate(t.measure, { p99MsMax: 20, startRatePerSec: 1000, stepsMax: 10, precision: 0.1, confirmFailures: false });
    expect(t.tried[1]).toBe(250);
    expect(r.maxRatePerSec).toBeGreaterThan(0);
    expect(r.maxRatePerSec).toBeLessThanOrEqual(30);
  });

  it('reports 0 and every step when nothing passes', async () => {
    const r = await findMaxRate(async () => ({ p99Ms: 500, failures: 0 }), { startRatePerSec: 64, stepsMax: 5, minRatePerSec: 1 });
    expect(r.steps.map((s) => s.attempt)).toEqual([1, 2, 1, 2, 1]);
    expect(r.maxRatePerSec).toBe(0);
    expect(r.best).toBeNull();
    expect(r.steps.length).toBeGreaterThan(0);
    expect(r.steps.every((s) => !s.passed)).toBe(true);
  });

  it('never runs more steps than the budget', async () => {
    const t = fakeTarget(1e9);
    const r = await findMaxRate(t.measure, { startRatePerSec: 100, stepsMax: 4, confirmFailures: false });
    expect(r.steps).toHaveLength(4);
    expect(r.maxRatePerSec).toBe(800);
  });

  it('re-measures a failing rate once and rejects it only if it fails again', async () => {
    // A target with capacity 1000/s whose first measurement of every rate hits a stall.
    const seen = new Map<number, number>();
    const flaky = async (rate: number): Promise<StepOutcome> => {
      const n = (seen.get(rate) ?? 0) + 1;
      seen.set(rate, n);
      return { p99Ms: n === 1 || rate > 1000 ? 400 : 5, failures: 0 };
    };
    const r = await findMaxRate(flaky, { startRatePerSec: 250, stepsMax: 30, precision: 0.1 });
    expect(r.maxRatePerSec).toBeGreaterThanOrEqual(900);
    expect(r.maxRatePerSec).toBeLessThanOrEqual(1000);
    expect(r.steps.slice(0, 2).map((s) => [s.ratePerSec, s.attempt, s.passed])).toEqual([[250, 1, false], [250, 2, true]]);
    // Without confirmation the same target is wrongly judged unable to sustain anything.
    seen.clear();
    const strict = await findMaxRate(flaky, { startRatePerSec: 250, stepsMax: 6, confirmFailures: false });
    expect(strict.maxRatePerSec).toBe(0);
  });

  it('a step with failed or unacknowledged sends, or exactly at the bound, does not pass', () => {
    expect(stepPasses({ p99Ms: 1, failures: 0 }, 20)).toBe(true);
    expect(stepPasses({ p99Ms: 1, failures: 1 }, 20)).toBe(false);
    expect(stepPasses({ p99Ms: 20, failures: 0 }, 20)).toBe(false);
    expect(stepPasses({ p99Ms: null, failures: 0 }, 20)).toBe(false);
  });
});
