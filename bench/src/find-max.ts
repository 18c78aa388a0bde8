/**
 * The search behind `--find-max`: the highest open-loop rate at which the P99
 * send-to-ack latency stays below a bound. It doubles the rate until a step fails
 * (or halves it while the first steps fail), then bisects between the best passing
 * and the lowest failing rate until they are within `precision` of each other or
 * the step budget is spent. Each step is one short measured open-loop run; the
 * measuring function is injected so the search is tested against a fake target.
 *
 * With `confirmFailures`, a rate that fails is measured once more and rejected only if
 * it fails again: on a shared machine a single scheduler or fsync stall of a few tens
 * of ms can push one short step's P99 over the bound on its own. Every measurement,
 * including the repeat, is a step in the result.
 */

/** What one measured step reports to the search. */
export interface StepOutcome {
  /** P99 latency in ms measured from intended send times; null if nothing was acknowledged. */
  readonly p99Ms: number | null;
  /** Sends that failed or were never acknowledged within the drain deadline. */
  readonly failures: number;
}

/** Search settings. */
export interface FindMaxOptions {
  readonly p99MsMax: number;
  readonly startRatePerSec: number;
  /** Stop after this many measured steps. */
  readonly stepsMax: number;
  /** Stop bisecting when (fail - pass) / fail <= precision. */
  readonly precision: number;
  /** Never try below this rate. */
  readonly minRatePerSec: number;
  /** Re-measure a failing rate once; reject it only if it fails twice. */
  readonly confirmFailures: boolean;
}

/** One step of the search, in order. */
export interface SearchStep<T extends StepOutcome> {
  readonly ratePerSec: number;
  readonly passed: boolean;
  /** 1 for the first measurement of a rate, 2 for the confirming repeat. */
  readonly attempt: number;
  readonly outcome: T;
}

/** Result: the best passing rate (0 if none) and every step measured. */
export interface FindMaxResult<T extends StepOutcome> {
  readonly maxRatePerSec: number;
  readonly best: SearchStep<T> | null;
  readonly steps: SearchStep<T>[];
}

/** Default settings: 20 ms bound, start at 250/s, at most 14 steps, 10% precision, failures confirmed. */
export const findMaxDefaults: FindMaxOptions = { p99MsMax: 20, startRatePerSec: 250, stepsMax: 14, precision: 0.1, minRatePerSec: 1, confirmFailures: true };

/** A step passes when everything was acknowledged and P99 is strictly below the bound. */
export function stepPasses(o: StepOutcome, p99MsMax: number): boolean {
  return o.failures === 0 && o.p99Ms !== null && o.p99Ms < p99MsMax;
}

/**
 * Find the highest rate whose step passes.
 * @example
 * const r = await findMaxRate((rate) => measureOpenLoop(rate), { ...findMaxDefaults, p99MsMax: 20 });
 */
export async function findMaxRate<T extends StepOutcome>(
  measure: (ratePerSec: number) => Promise<T>,
  options: Partial<FindMaxOptions> = {},
): Promise<FindMaxResult<T>> {
  const o = { ...findMaxDefaults, ...options };
  const steps: SearchStep<T>[] = [];
  let best: SearchStep<T> | null = null;
  let lowestFail = Number.POSITIVE_INFINITY;
  let rate = Math.max(o.startRatePerSec, o.minRatePerSec);
  while (steps.length < o.stepsMax) {
    let outcome = await measure(rate);
    let step: SearchStep<T> = { ratePerSec: rate, passed: stepPasses(outcome, o.p99MsMax), attempt: 1, outcome };
    steps.push(step);
    if (!step.passed && o.confirmFailures && steps.length < o.stepsMax) {
      outcome = await measure(rate);
      step = { ratePerSec: rate, passed: stepPasses(outcome, o.p99MsMax), attempt: 2, outcome };
      steps.push(step);
    }
    if (step.passed) {
      if (!best || rate > best.ratePerSec) best = step;
    } else {
      lowestFail = Math.min(lowestFail, rate);
    }
    let next: number;
    if (lowestFail === Number.POSITIVE_INFINITY) next = rate * 2;
    else if (!best) {
      if (rate <= o.minRatePerSec) break;
      next = Math.max(o.minRatePerSec, rate / 4);
    } else {
      if ((lowestFail - best.ratePerSec) / lowestFail <= o.precision) break;
      next = (best.ratePerSec + lowestFail) / 2;
    }
    rate = Math.round(next);
    if (rate === steps[steps.length - 1]?.ratePerSec) break;
  }
  return { maxRatePerSec: best?.ratePerSec ?? 0, best, steps };
}
