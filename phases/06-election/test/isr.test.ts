import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { expandIsr, type FollowerState, initialFollowerState, nextHighWatermark, shrinkIsr, updateFollowerFetchState } from '../src/replication/isr.ts';

const follower = (replicaId: number, logEndOffset: number, lastCaughtUpTimeMs = 0): FollowerState => ({
  replicaId,
  logEndOffset,
  lastFetchTimeMs: 0,
  lastCaughtUpTimeMs,
  lastFetchLeaderLogEndOffset: 0,
});
const map = (...fs: FollowerState[]): Map<number, FollowerState> => new Map(fs.map((f) => [f.replicaId, f]));

describe('updateFollowerFetchState', () => {
  it.each([
    // [name, previous fetch (time, leader LEO), this fetch (offset, time, leader LEO), expected lastCaughtUp]
    ['a fetch at the leader LEO is caught up now', [100, 5], [10, 200, 10], 200],
    ['a fetch past the leader LEO of the previous fetch was caught up then', [100, 5], [7, 200, 10], 100],
    ['a fetch below both is not caught up', [100, 8], [7, 200, 10], 0],
    ['the first fetch below the leader LEO is not caught up', [-1, -1], [3, 200, 10], 0],
  ] as const)('%s', (_name, [prevTime, prevLeaderLeo], [fetchOffset, nowMs, leaderLogEndOffset], expected) => {
    const prev: FollowerState = { replicaId: 2, logEndOffset: 0, lastFetchTimeMs: prevTime, lastCaughtUpTimeMs: 0, lastFetchLeaderLogEndOffset: prevLeaderLeo };
    const next = updateFollowerFetchState(prev, { fetchOffset, nowMs, leaderLogEndOffset });
    expect(next).toEqual({ replicaId: 2, logEndOffset: fetchOffset, lastFetchTimeMs: nowMs, lastCaughtUpTimeMs: expected, lastFetchLeaderLogEndOffset: leaderLogEndOffset });
  });

  it('never moves lastCaughtUpTimeMs back', () => {
    const s = { ...initialFollowerState(2, 500) };
    expect(updateFollowerFetchState(s, { fetchOffset: 0, nowMs: 400, leaderLogEndOffset: 0 }).lastCaughtUpTimeMs).toBe(500);
  });
});

describe('nextHighWatermark', () => {
  it.each([
    ['min over the ISR', 0, 10, [1, 2, 3], map(follower(2, 7), follower(3, 9)), 7],
    ['the leader durable LEO bounds it', 0, 5, [1, 2], map(follower(2, 9)), 5],
    ['a follower outside the ISR does not hold it back', 0, 10, [1, 3], map(follower(2, 1), follower(3, 10)), 10],
    ['an ISR follower that never fetched holds it where it is', 4, 10, [1, 2], new Map<number, FollowerState>(), 4],
    ['it never moves back', 8, 10, [1, 2], map(follower(2, 6)), 8],
    ['leader alone in the ISR: its durable LEO', 0, 12, [1], map(follower(2, 3)), 12],
  ] as const)('%s', (_name, current, leaderDurableLogEndOffset, isr, followers, expected) => {
    expect(nextHighWatermark({ current, leaderId: 1, leaderDurableLogEndOffset, isr, followers })).toBe(expected);
  });

  it('is never above the durable LEO of any ISR member it has heard from, and never decreases (property)', () => {
    fc.assert(
      fc.property(fc.nat(1000), fc.nat(1000), fc.array(fc.nat(1000), { minLength: 1, maxLength: 4 }), (current, leaderLeo, leos) => {
        fc.pre(current <= leaderLeo && leos.every((l) => l <= leaderLeo));
        const followers = map(...leos.map((leo, i) => follower(i + 2, Math.max(leo, current))));
        const isr = [1, ...leos.map((_, i) => i + 2)];
        const hw = nextHighWatermark({ current, leaderId: 1, leaderDurableLogEndOffset: leaderLeo, isr, followers });
        expect(hw).toBeGreaterThanOrEqual(current);
        expect(hw).toBeLessThanOrEqual(leaderLeo);
        for (const f of followers.values()) expect(hw).toBeLessThanOrEqual(f.logEndOffset);
      }),
      { seed: 5, numRuns: 500 },
    );
  });
});

describe('shrinkIsr and expandIsr', () => {
  it('drops a follower not caught up for more than replicaLagTimeMaxMs, at and past the bound', () => {
    const followers = map(follower(2, 5, 1000), follower(3, 5, 999));
    expect(shrinkIsr([1, 2, 3], 1, followers, 3000, 2000)).toEqual({ isr: [1, 2], removed: [3] });
    expect(shrinkIsr([1, 2, 3], 1, followers, 2999, 2000)).toEqual({ isr: [1, 2, 3], removed: [] });
  });

  it('never drops the leader, and drops an ISR member it knows nothing of', () => {
    expect(shrinkIsr([1, 2], 1, new Map(), 10_000, 2000)).toEqual({ isr: [1], removed: [2] });
  });

  it('admits the fetching follower once its LEO reaches the high watermark and it is caught up, keeping assignment order', () => {
    const at10 = follower(3, 10, 900);
    expect(expandIsr([1], [3, 1, 2], at10, 10, 1000, 2000)).toEqual({ isr: [3, 1], added: [3] });
    expect(expandIsr([1, 2], [1, 2, 3], at10, 10, 1000, 2000)).toEqual({ isr: [1, 2, 3], added: [3] });
    // Below the HW, already in, or not caught up for longer than the lag: no change.
    expect(expandIsr([1], [1, 2, 3], follower(2, 9, 900), 10, 1000, 2000)).toEqual({ isr: [1], added: [] });
    expect(expandIsr([1, 3], [1, 2, 3], at10, 10, 1000, 2000)).toEqual({ isr: [1, 3], added: [] });
    expect(expandIsr([1], [1, 2, 3], follower(3, 10, 0), 10, 2001, 2000)).toEqual({ isr: [1], added: [] });
  });
});
