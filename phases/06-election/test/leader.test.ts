import { describe, expect, it } from 'vitest';
import { LeaderReplica } from '../src/replication/leader.ts';
import { ManualClock } from '../src/seams/clock.ts';

const assignment = { brokerId: 1, replicas: [1, 2, 3], minInsyncReplicas: 2, replicaLagTimeMaxMs: 1000 };

describe('LeaderReplica', () => {
  it('moves the HW to the least ISR LEO as followers fetch, and resolves acks=all waiters only once it passes them', async () => {
    const clock = new ManualClock();
    const leader = new LeaderReplica(assignment, clock, 0);
    leader.onLocalAppend(10);
    expect(leader.highWatermark).toBe(0); // followers have not fetched yet
    let committed: boolean | null = null;
    void leader.waitForHighWatermark(10, 5000).then((c) => (committed = c));
    expect(leader.onFollowerFetch(2, 10, 10).highWatermarkMoved).toBe(false); // 3 still at nothing
    expect(leader.onFollowerFetch(3, 6, 10)).toEqual({ highWatermarkMoved: true, isrAdded: [], isrRemoved: [] });
    expect(leader.highWatermark).toBe(6);
    await Promise.resolve();
    expect(committed).toBe(null);
    leader.onFollowerFetch(3, 10, 10);
    await Promise.resolve();
    expect([leader.highWatermark, committed]).toEqual([10, true]);
  });

  it('times a waiter out on the Clock, shrinks a silent follower out of the ISR at the bound, and takes it back once caught up', async () => {
    const clock = new ManualClock();
    const leader = new LeaderReplica(assignment, clock, 0);
    leader.onLocalAppend(5);
    leader.onFollowerFetch(2, 5, 5);
    const waiting = leader.waitForHighWatermark(5, 500);
    clock.advance(500);
    expect(await waiting).toBe(false);
    clock.advance(500); // 1000 ms since start: at the bound, not past it
    expect(leader.maybeShrinkIsr(5).isrRemoved).toEqual([]);
    leader.onFollowerFetch(2, 5, 5);
    clock.advance(1);
    expect(leader.maybeShrinkIsr(5)).toEqual({ highWatermarkMoved: true, isrAdded: [], isrRemoved: [3] });
    expect([leader.isr, leader.highWatermark, leader.enoughReplicas]).toEqual([[1, 2], 5, true]);
    expect(leader.onFollowerFetch(3, 5, 5).isrAdded).toEqual([3]);
    expect(leader.isr).toEqual([1, 2, 3]);
  });
});
