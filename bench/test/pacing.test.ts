import { describe, expect, it } from 'vitest';
import { Pacer, scheduleTimes } from '../src/pacing.ts';

describe('open-loop pacing', () => {
  it('schedules sends evenly at the requested rate, from the start time', () => {
    const times = scheduleTimes(1000, 10_000, 10_000, 10_010);
    expect(times).toEqual([10_000, 10_001, 10_002, 10_003, 10_004, 10_005, 10_006, 10_007, 10_008, 10_009]);
    expect(scheduleTimes(250, 0, 0, 1000)).toHaveLength(250);
  });

  it('splits the global schedule between slots without gaps or duplicates', () => {
    const global = scheduleTimes(3000, 500, 500, 1500);
    const slots = 4;
    const union = Array.from({ length: slots }, (_, s) => scheduleTimes(3000, 500, 500, 1500, s, slots)).flat().sort((a, b) => a - b);
    expect(union).toEqual(global);
    expect(global).toHaveLength(3000);
  });

  it('keeps the schedule fixed whatever happened to earlier sends (no coordinated omission)', () => {
    // A sender that fell 300 ms behind still owes the sends due during those 300 ms, at their original times.
    const pacer = new Pacer(100, 0);
    const due: number[] = [];
    for (let i = 0; i < 40; i++) {
      due.push(pacer.peek());
      pacer.advance();
    }
    expect(due[30]).toBe(300);
    expect(pacer.index).toBe(40);
  });

  it('rejects a non-positive rate and a bad slot', () => {
    expect(() => new Pacer(0, 0)).toThrow(RangeError);
    expect(() => new Pacer(10, 0, 2, 2)).toThrow(RangeError);
    expect(() => new Pacer(10, 0, 0, 0)).toThrow(RangeError);
  });
});
