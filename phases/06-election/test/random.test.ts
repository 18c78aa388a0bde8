/**
 * The Random seam's deterministic generator: same seed, same sequence; values in
 * [0, 1); randomInt stays in range even for a Random that misbehaves.
 */
import { describe, expect, it } from 'vitest';
import { randomInt, seededRandom } from '../src/seams/random.ts';

describe('seededRandom', () => {
  it('gives the same sequence for the same seed and a different one for another seed', () => {
    const take = (seed: number): number[] => {
      const r = seededRandom(seed);
      return Array.from({ length: 8 }, () => r());
    };
    expect(take(42)).toEqual(take(42));
    expect(take(42)).not.toEqual(take(43));
  });

  it('draws floats in [0, 1)', () => {
    const r = seededRandom(7);
    for (let i = 0; i < 10_000; i++) {
      const x = r();
      expect(x >= 0 && x < 1).toBe(true);
    }
  });
});

describe('randomInt', () => {
  it('stays in [0, bound) at the edges, including a Random that returns 1.0', () => {
    expect(randomInt(() => 0, 6)).toBe(0);
    expect(randomInt(() => 0.999_999, 6)).toBe(5);
    expect(randomInt(() => 1, 6)).toBe(5);
  });

  it('rejects a bound that is not a positive safe integer', () => {
    for (const bad of [0, -1, 1.5, Number.NaN]) expect(() => randomInt(() => 0.5, bad)).toThrow(RangeError);
  });
});
