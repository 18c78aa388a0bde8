/**
 * A follower that stopped fetching must stay out of the ISR until it fetches again
 * (Kafka's `maybeExpandIsr` looks only at the follower whose fetch it is handling, and
 * only if that follower is caught up: `isCaughtUp(leaderEndOffset, now, replicaLagTimeMaxMs)`).
 *
 * Found by test/cluster-processes.test.ts and test/cluster-cli.test.ts: on an idle
 * partition, kill -9 one follower and the leader's ISR flaps, [1,2] after each ISR check
 * and [1,2,3] again at the other follower's next fetch, every replicaLagTimeMaxMs / 2,
 * with "ISR expands to [1,2,3] (3 caught up)" in the leader's log while broker 3 is dead.
 * `expandIsr` runs over every follower outside the ISR on any follower's fetch, and the
 * dead one's last known LEO still equals the high watermark (nothing was produced since).
 * While it is back in, it holds the high watermark: acks=all waits for a dead broker
 * again, and the ISR counts it towards minInsyncReplicas.
 */
import { describe, expect, it } from 'vitest';
import { LeaderReplica } from '../src/replication/leader.ts';
import { ManualClock } from '../src/seams/clock.ts';

const assignment = { brokerId: 1, replicas: [1, 2, 3], minInsyncReplicas: 2, replicaLagTimeMaxMs: 1000 };

describe('a dead follower of an idle partition', () => {
  it('is not taken back into the ISR when another follower fetches', () => {
    const clock = new ManualClock();
    const leader = new LeaderReplica(assignment, clock, 0);
    leader.onLocalAppend(10);
    leader.onFollowerFetch(2, 10, 10);
    leader.onFollowerFetch(3, 10, 10); // both caught up; HW 10
    expect(leader.highWatermark).toBe(10);
    // Broker 3 dies. Broker 2 keeps fetching (idle: at the LEO, every 200 ms).
    for (let t = 0; t < 1200; t += 200) {
      clock.advance(200);
      leader.onFollowerFetch(2, 10, 10);
    }
    expect(leader.maybeShrinkIsr(10).isrRemoved).toEqual([3]);
    expect(leader.isr).toEqual([1, 2]);
    // Broker 2's next fetch: broker 3 has sent nothing since it died.
    clock.advance(200);
    const change = leader.onFollowerFetch(2, 10, 10);
    expect(change.isrAdded).toEqual([]);
    expect(leader.isr).toEqual([1, 2]);
  });
});
