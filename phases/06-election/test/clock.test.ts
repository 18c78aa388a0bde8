/**
 * The Clock seam: a ManualClock fires timers only when advanced, in due order, with
 * `now()` at each timer's due time; the real clock fires for real.
 */
import { describe, expect, it } from 'vitest';
import { ManualClock, realClock } from '../src/seams/clock.ts';

describe('ManualClock', () => {
  it('fires due timers in order during advance, at their due time, and not before', () => {
    const clock = new ManualClock(1000);
    const fired: string[] = [];
    clock.setTimeout(() => fired.push(`b@${clock.now()}`), 20);
    clock.setTimeout(() => fired.push(`a@${clock.now()}`), 10);
    clock.setTimeout(() => fired.push(`c@${clock.now()}`), 20);
    clock.advance(9);
    expect(fired).toEqual([]);
    clock.advance(11);
    expect(fired).toEqual(['a@1010', 'b@1020', 'c@1020']);
    expect(clock.now()).toBe(1020);
    expect(clock.pendingTimers).toBe(0);
  });

  it('runs timers set by a firing timer when they fall inside the same advance', () => {
    const clock = new ManualClock();
    const fired: number[] = [];
    clock.setTimeout(() => {
      fired.push(clock.now());
      clock.setTimeout(() => fired.push(clock.now()), 5);
    }, 5);
    clock.advance(10);
    expect(fired).toEqual([5, 10]);
  });

  it('clearTimeout cancels, and clearing twice is harmless', () => {
    const clock = new ManualClock();
    let fired = false;
    const h = clock.setTimeout(() => (fired = true), 1);
    clock.clearTimeout(h);
    clock.clearTimeout(h);
    clock.advance(5);
    expect(fired).toBe(false);
    expect(() => clock.advance(-1)).toThrow(RangeError);
  });
});

describe('realClock', () => {
  it('fires a timer and can cancel one', async () => {
    const cancelled = realClock.setTimeout(() => {
      throw new Error('cancelled timer fired');
    }, 1);
    realClock.clearTimeout(cancelled);
    const start = realClock.now();
    await new Promise<void>((resolve) => realClock.setTimeout(resolve, 5));
    expect(realClock.now() - start).toBeGreaterThanOrEqual(4);
  });
});
