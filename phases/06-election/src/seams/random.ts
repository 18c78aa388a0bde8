/**
 * The Random seam (course/architecture.md §3). Everything in the broker and the client that makes a
 * random choice (today: the sticky partitioner picking the next partition for keyless
 * records) takes a `Random` instead of calling `Math.random`, so tests and the phase-7
 * simulator can replay a run exactly from a seed. This file and clock.ts are the only
 * places allowed to touch the process's real sources of nondeterminism.
 *
 * A `Random` has the same shape as the `random` option of `MemoryStorage.crash()`: a
 * function returning a float in [0, 1).
 */

/** A source of uniform floats in [0, 1). */
export type Random = () => number;

/** The process's real randomness, for production use. */
export const realRandom: Random = () => Math.random();

/**
 * A deterministic generator (mulberry32) for tests and simulation: the same seed gives
 * the same sequence on every machine.
 * @example
 * const r = seededRandom(42);
 * r(); // always the same first value for seed 42
 */
export function seededRandom(seed: number): Random {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * A uniform integer in [0, boundExclusive).
 * @example
 * randomInt(seededRandom(1), 6); // a die roll, 0..5
 */
export function randomInt(random: Random, boundExclusive: number): number {
  if (!Number.isSafeInteger(boundExclusive) || boundExclusive <= 0) throw new RangeError(`bad bound ${boundExclusive}`);
  const n = Math.floor(random() * boundExclusive);
  // A misbehaving Random returning 1.0 must not produce an out-of-range index.
  return n >= boundExclusive ? boundExclusive - 1 : n;
}
