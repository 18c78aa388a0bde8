import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type EpochEntry, LeaderEpochCache } from '../src/replication/epoch-cache.ts';
import { epochToAsk, followerEndOfEpoch, type TruncationDecision, truncationPoint } from '../src/replication/truncation.ts';

const cacheOf = (...pairs: (readonly [number, number])[]): LeaderEpochCache => new LeaderEpochCache(pairs.map(([epoch, startOffset]) => ({ epoch, startOffset })));
const truncate = (offset: number): TruncationDecision => ({ kind: 'truncate', offset });
const askAgain = (epoch: number): TruncationDecision => ({ kind: 'ask-again', epoch });

describe('epochToAsk', () => {
  it.each([
    ['an empty cache: -1 (the leader answers UNDEFINED, the follower falls back to its HW)', [], -1],
    ['epoch 0', [[0, 0]], 0],
    ['the latest of several', [[1, 0], [4, 9]], 4],
  ] as const)('%s', (_name, entries, expected) => {
    expect(epochToAsk(cacheOf(...entries))).toBe(expected);
  });
});

describe('followerEndOfEpoch', () => {
  // Epochs 1 from 0, 3 from 4, 5 from 10; LEO 15.
  const history = [[1, 0], [3, 4], [5, 10]] as const;
  it.each([
    ['the latest epoch: the log end offset', history, 5, 15, 15],
    ['an older epoch: where the next one starts', history, 3, 15, 10],
    ['the first epoch', history, 1, 15, 4],
    ['an epoch in a gap: where the next higher one starts', history, 2, 15, 4],
    ['below the first epoch: where the first starts', history, 0, 15, 0],
    ['above the latest epoch: the log end offset', history, 9, 15, 15],
    ['an empty cache: the log end offset', [], 2, 7, 7],
    ['epoch 0 at offset 0 with an empty log', [[0, 0]], 0, 0, 0],
  ] as const)('%s', (_name, entries, epoch, leo, expected) => {
    expect(followerEndOfEpoch(cacheOf(...entries), epoch, leo)).toBe(expected);
  });

  it.each([
    ['a negative epoch', -1, 5],
    ['a negative log end offset', 1, -1],
  ])('refuses %s', (_name, epoch, leo) => {
    expect(() => followerEndOfEpoch(cacheOf([1, 0]), epoch, leo)).toThrow(RangeError);
  });
});

describe('truncationPoint', () => {
  type Row = readonly [name: string, entries: readonly (readonly [number, number])[], leo: number, hw: number, asked: number, answer: readonly [number, number], expected: TruncationDecision];
  const rows: Row[] = [
    // The pre-KIP-101 fallback: min(HW, LEO).
    ['the leader knows nothing at or below the epoch (-1, -1): the high watermark', [[1, 0]], 5, 3, 1, [-1, -1], truncate(3)],
    ['the fallback never goes past the log end (HW above LEO)', [[1, 0]], 5, 7, 1, [-1, -1], truncate(5)],
    ['the fallback never goes below 0 (HW -1)', [[1, 0]], 5, -1, 1, [-1, -1], truncate(0)],
    ['an UNDEFINED epoch alone is the fallback too', [[1, 0]], 5, 2, 1, [-1, 4], truncate(2)],
    ['an UNDEFINED end offset alone is the fallback too', [[1, 0]], 5, 2, 1, [1, -1], truncate(2)],
    ['an empty cache (asked -1): the high watermark', [], 4, 2, -1, [-1, -1], truncate(2)],
    ['an empty cache, an empty log: 0', [], 0, 0, -1, [-1, -1], truncate(0)],
    ['asked -1 whatever the leader says: the high watermark', [[1, 0]], 5, 1, -1, [0, 3], truncate(1)],
    ['an empty cache whatever was asked: the high watermark', [], 4, 3, 2, [2, 9], truncate(3)],
    // e' = e.
    ['same epoch, the leader ends it earlier: its end', [[1, 0], [2, 3]], 8, 0, 2, [2, 6], truncate(6)],
    ['same epoch, the leader ends it later: our log end', [[1, 0], [2, 3]], 8, 0, 2, [2, 11], truncate(8)],
    ['same epoch, same end: our log end (nothing to cut)', [[1, 0], [2, 3]], 8, 0, 2, [2, 8], truncate(8)],
    ['same epoch 0 at offset 0, empty logs: 0', [[0, 0]], 0, 0, 0, [0, 0], truncate(0)],
    ['same epoch, the leader ends it at 0 (its first epoch is later): 0', [[1, 0]], 4, 2, 1, [1, 0], truncate(0)],
    ['same epoch after an ask-again: never past where our next epoch starts', [[1, 0], [3, 5]], 8, 0, 1, [1, 6], truncate(5)],
    // e' < e, the follower has e' (KIP-279).
    ['an older epoch we have: min(its end at the leader, its end here)', [[1, 0], [2, 1]], 2, 0, 2, [1, 2], truncate(1)],
    ['an older epoch we have, the leader ends it first', [[1, 0], [2, 6]], 9, 0, 2, [1, 4], truncate(4)],
    ['an older epoch two back, epoch 0 at 0', [[0, 0], [2, 3], [4, 5]], 7, 0, 4, [0, 3], truncate(3)],
    // e' < e, the follower lacks e'.
    ['an epoch we never had: ask again about our largest epoch below the one asked', [[1, 0], [3, 4], [5, 6]], 9, 0, 5, [4, 7], askAgain(3)],
    ['ask again can go to epoch 0', [[0, 0], [3, 4]], 9, 0, 3, [2, 7], askAgain(0)],
    ['an epoch we never had and nothing older: the high watermark', [[3, 0]], 4, 1, 3, [1, 2], truncate(1)],
  ];
  it.each(rows)('%s', (_name, entries, leo, hw, asked, [epoch, endOffset], expected) => {
    expect(truncationPoint({ cache: cacheOf(...entries), logEndOffset: leo, highWatermark: hw, askedEpoch: asked, leaderAnswer: { epoch, endOffset } })).toEqual(expected);
  });

  it.each([
    ['an answer above the epoch asked', 1, [2, 3], 'never above the epoch asked'],
    ['a question about an epoch the follower does not have yet', 4, [3, 3], 'above the follower\'s latest epoch 2'],
    ['an asked epoch below -1', -2, [-1, -1], 'askedEpoch must be an integer >= -1'],
  ] as const)('refuses %s with a RangeError', (_name, asked, [epoch, endOffset], message) => {
    const input = { cache: cacheOf([1, 0], [2, 3]), logEndOffset: 5, highWatermark: 0, askedEpoch: asked, leaderAnswer: { epoch, endOffset } };
    expect(() => truncationPoint(input)).toThrow(RangeError);
    expect(() => truncationPoint(input)).toThrow(message);
  });

  it('refuses a negative log end offset', () => {
    expect(() => truncationPoint({ cache: cacheOf([1, 0]), logEndOffset: -1, highWatermark: 0, askedEpoch: 1, leaderAnswer: { epoch: 1, endOffset: 0 } })).toThrow(RangeError);
  });

  it('stays within [0, logEndOffset], and asks again only about a smaller epoch it has (property)', () => {
    const input = fc
      .array(fc.tuple(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 4 })), { minLength: 1, maxLength: 6 })
      .chain((steps) => {
        let epoch = -1;
        let start = -1;
        const entries = steps.map(([de, dof]) => ({ epoch: (epoch += de), startOffset: (start += dof) }));
        return fc.record({
          entries: fc.constant(entries),
          leoPast: fc.nat(6),
          hw: fc.integer({ min: -1, max: start + 10 }),
          asked: fc.constantFrom(...entries.map((e) => e.epoch)),
          answerEpochBelow: fc.nat(4),
          answerEnd: fc.integer({ min: 0, max: start + 10 }),
        });
      });
    fc.assert(
      fc.property(input, ({ entries, leoPast, hw, asked, answerEpochBelow, answerEnd }) => {
        const cache = new LeaderEpochCache(entries);
        const leo = (cache.latestEntry as EpochEntry).startOffset + leoPast;
        const answerEpoch = Math.max(-1, asked - answerEpochBelow);
        const d = truncationPoint({ cache, logEndOffset: leo, highWatermark: hw, askedEpoch: asked, leaderAnswer: { epoch: answerEpoch, endOffset: answerEpoch === -1 ? -1 : answerEnd } });
        if (d.kind === 'truncate') {
          expect(d.offset).toBeGreaterThanOrEqual(0);
          expect(d.offset).toBeLessThanOrEqual(leo);
        } else {
          expect(d.epoch).toBeLessThan(asked);
          expect(entries.some((e) => e.epoch === d.epoch)).toBe(true);
        }
      }),
      { seed: 10, numRuns: 1000 },
    );
  });
});

/** One replica of one partition, as these pure functions see it: records (value, epoch) and its epoch cache. */
interface Replica {
  log: { value: string; epoch: number }[];
  cache: LeaderEpochCache;
}

const replicaOf = (entries: readonly (readonly [number, number])[], log: readonly (readonly [string, number])[]): Replica => ({
  cache: cacheOf(...entries),
  log: log.map(([value, epoch]) => ({ value, epoch })),
});

/** The follower side of the whole exchange: ask, ask again while told to, then the decision. */
function negotiate(follower: Replica, leader: Replica, highWatermark: number, counts?: { askAgains: number }): number {
  let asked = epochToAsk(follower.cache);
  for (let round = 0; round < 1000; round += 1) {
    const leaderAnswer = leader.cache.endOffsetFor(asked, leader.log.length);
    const d = truncationPoint({ cache: follower.cache, logEndOffset: follower.log.length, highWatermark, askedEpoch: asked, leaderAnswer });
    if (d.kind === 'truncate') return d.offset;
    if (counts !== undefined) counts.askAgains += 1;
    asked = d.epoch;
  }
  throw new Error('the truncation protocol did not converge');
}

/** Cut a replica's log and cache at `offset`, then copy the leader's records from there, as a follower's fetches do. */
function truncateAndCatchUp(follower: Replica, leader: Replica, offset: number, upTo = leader.log.length): void {
  follower.log.length = offset;
  follower.cache.truncateFromEnd(offset);
  for (let o = offset; o < upTo; o += 1) {
    const record = leader.log[o] as { value: string; epoch: number };
    follower.log.push({ ...record });
    follower.cache.assign(record.epoch, o); // false for every record but the first of a newer epoch
  }
}

describe('the design scenarios', () => {
  it('A (KIP-101): a restarting follower keeps an acknowledged record its high watermark had not reached', () => {
    // Leader A wrote a1@0, a2@1 in epoch 1 and acknowledged both (B had fetched them); B's HW is still 1.
    const a = replicaOf([[1, 0]], [['a1', 1], ['a2', 1]]);
    const b = replicaOf([[1, 0]], [['a1', 1], ['a2', 1]]);
    const bHighWatermark = 1;
    // B restarts and asks about its latest epoch.
    expect(epochToAsk(b.cache)).toBe(1);
    const answer = a.cache.endOffsetFor(1, a.log.length);
    expect(answer).toEqual({ epoch: 1, endOffset: 2 });
    const d = truncationPoint({ cache: b.cache, logEndOffset: b.log.length, highWatermark: bHighWatermark, askedEpoch: 1, leaderAnswer: answer });
    expect(d).toEqual(truncate(2)); // a2 is kept
    // Phase 5's rule would have cut to min(HW, LEO) = 1 and dropped a2, acknowledged to the producer:
    // lost for good if B were elected next.
    const phase5 = Math.min(bHighWatermark, b.log.length);
    expect(phase5).toBe(1);
    expect(phase5).not.toBe(d.kind === 'truncate' ? d.offset : -1);
  });

  it('B (divergence): the old leader cuts the record the new leader never had, then both logs are identical', () => {
    // A led epoch 1 and wrote m0@0, m1@1; B fetched only m0.
    const a = replicaOf([[1, 0]], [['m0', 1], ['m1', 1]]);
    const b = replicaOf([[1, 0]], [['m0', 1]]);
    // B becomes leader of epoch 2 at its log end offset 1, and appends m3@1.
    expect(b.cache.assign(2, b.log.length)).toBe(true);
    expect(b.cache.entries).toEqual([{ epoch: 1, startOffset: 0 }, { epoch: 2, startOffset: 1 }]);
    b.log.push({ value: 'm3', epoch: 2 });
    // A, now a follower, asks about epoch 1: B's epoch 1 ended at 1.
    expect(epochToAsk(a.cache)).toBe(1);
    const answer = b.cache.endOffsetFor(1, b.log.length);
    expect(answer).toEqual({ epoch: 1, endOffset: 1 });
    const d = truncationPoint({ cache: a.cache, logEndOffset: a.log.length, highWatermark: 1, askedEpoch: 1, leaderAnswer: answer });
    expect(d).toEqual(truncate(1)); // m1 goes
    truncateAndCatchUp(a, b, 1);
    expect(a.log).toEqual(b.log);
    expect(a.log.map((r) => r.value)).toEqual(['m0', 'm3']);
    expect(a.cache.entries).toEqual(b.cache.entries);
  });

  it('C (KIP-279, double failover): the follower drops the record of an epoch the new leader never had', () => {
    // RF 3 [A, B, C]. m0@0 committed in epoch 1. A appends m1@1 in epoch 1; only C fetches it.
    const c = replicaOf([[1, 0]], [['m0', 1], ['m1', 1]]);
    // A crashes; B leads epoch 2 from offset 1 and appends m2@1; B crashes before C fetches it.
    const b = replicaOf([[1, 0]], [['m0', 1]]);
    b.cache.assign(2, 1);
    b.log.push({ value: 'm2', epoch: 2 });
    expect(b.cache.entries).toEqual([{ epoch: 1, startOffset: 0 }, { epoch: 2, startOffset: 1 }]);
    // C leads epoch 3 from offset 2.
    c.cache.assign(3, c.log.length);
    expect(c.cache.entries).toEqual([{ epoch: 1, startOffset: 0 }, { epoch: 3, startOffset: 2 }]);
    // B restarts, follows C, asks about epoch 2, which C never had: C answers with its epoch 1 and where it ended.
    expect(epochToAsk(b.cache)).toBe(2);
    const answer = c.cache.endOffsetFor(2, c.log.length);
    expect(answer).toEqual({ epoch: 1, endOffset: 2 });
    // B has epoch 1 too; its own epoch 1 ended at 1 (where its epoch 2 starts).
    expect(followerEndOfEpoch(b.cache, 1, b.log.length)).toBe(1);
    const d = truncationPoint({ cache: b.cache, logEndOffset: b.log.length, highWatermark: 1, askedEpoch: 2, leaderAnswer: answer });
    expect(d).toEqual(truncate(1)); // m2 goes
    truncateAndCatchUp(b, c, 1);
    expect(b.log.map((r) => r.value)).toEqual(['m0', 'm1']);
    expect(b.log).toEqual(c.log);

    // Before KIP-279 the leader answered (the epoch asked, the start of its next epoch) = (2, 2), and the
    // follower cut to min(2, LEO 2) = 2: B would have kept m2@1 beside C's m1@1, two different records at one offset.
    const b2 = replicaOf([[1, 0], [2, 1]], [['m0', 1], ['m2', 2]]);
    const pre279 = truncationPoint({ cache: b2.cache, logEndOffset: b2.log.length, highWatermark: 1, askedEpoch: 2, leaderAnswer: { epoch: 2, endOffset: 2 } });
    expect(pre279).toEqual(truncate(Math.min(2, b2.log.length)));
    expect(pre279).toEqual(truncate(2));
    expect(b2.log[1]?.value).toBe('m2');
    expect(c.log[1]?.value).toBe('m1');
  });
});

describe('asking again (KIP-279, an epoch on each side the other never had)', () => {
  it("after asking again, the cut stops where the follower's own epoch ended, not at its log end", () => {
    // Y led epoch 0 and wrote v0, v1, v2; Z fetched all three, X only v0.
    // Z led epoch 1 and wrote z@3. X (unclean) led epoch 2 from offset 1 and wrote x@1. Z leads epoch 3 from 4.
    const x = replicaOf([[0, 0], [2, 1]], [['v0', 0], ['x', 2]]);
    const z = replicaOf([[0, 0], [1, 3], [3, 4]], [['v0', 0], ['v1', 0], ['v2', 0], ['z', 1]]);
    // X asks about 2; Z never had 2: its floor is 1, which X never had: X asks again about its epoch below 2.
    const first = z.cache.endOffsetFor(2, z.log.length);
    expect(first).toEqual({ epoch: 1, endOffset: 4 });
    expect(truncationPoint({ cache: x.cache, logEndOffset: 2, highWatermark: 0, askedEpoch: 2, leaderAnswer: first })).toEqual(askAgain(0));
    // Z's epoch 0 ended at 3, X's at 1: X cuts at 1 (x@1 is not Z's v1@1), not at min(3, LEO 2) = 2.
    const second = z.cache.endOffsetFor(0, z.log.length);
    expect(second).toEqual({ epoch: 0, endOffset: 3 });
    expect(truncationPoint({ cache: x.cache, logEndOffset: 2, highWatermark: 0, askedEpoch: 0, leaderAnswer: second })).toEqual(truncate(1));
    expect(negotiate(x, z, 0)).toBe(1);
    truncateAndCatchUp(x, z, 1);
    expect(x.log).toEqual(z.log);
    expect(x.cache.entries).toEqual(z.cache.entries.slice(0, 2)); // z's epoch 3 has written nothing yet
  });
});

describe('the whole protocol over random leadership histories (property)', () => {
  type Step = { kind: 'elect'; replica: number; epochJump: number } | { kind: 'append'; records: number } | { kind: 'sync'; replica: number; records: number };
  const step: fc.Arbitrary<Step> = fc.oneof(
    fc.record({ kind: fc.constant('elect' as const), replica: fc.nat(2), epochJump: fc.integer({ min: 1, max: 2 }) }),
    fc.record({ kind: fc.constant('append' as const), records: fc.integer({ min: 1, max: 3 }) }),
    // A partial catch-up (0 to 4 records) so that followers lag and unclean elections make logs diverge.
    fc.record({ kind: fc.constant('sync' as const), replica: fc.nat(2), records: fc.nat(4) }),
  );

  /** Length of the longest common prefix of two logs, by record identity. */
  const commonPrefix = (x: Replica['log'], y: Replica['log']): number => {
    let n = 0;
    while (n < x.length && n < y.length && x[n]?.value === y[n]?.value) n += 1;
    return n;
  };

  it('a follower always cuts exactly where its log stops matching the leader (any leader may be elected, unclean included)', () => {
    const seen = { syncs: 0, cuts: 0, askAgains: 0 };
    fc.assert(
      fc.property(fc.array(step, { maxLength: 60, size: 'max' }), (steps) => {
        const replicas: Replica[] = [0, 1, 2].map(() => ({ log: [], cache: new LeaderEpochCache() }));
        let leader = 0;
        let epoch = 0;
        let nextValue = 0;
        (replicas[0] as Replica).cache.assign(0, 0);
        for (const s of steps) {
          const l = replicas[leader] as Replica;
          if (s.kind === 'elect') {
            leader = s.replica;
            epoch += s.epochJump;
            const nl = replicas[leader] as Replica;
            nl.cache.assign(epoch, nl.log.length);
          } else if (s.kind === 'append') {
            for (let i = 0; i < s.records; i += 1) l.log.push({ value: `v${nextValue++}`, epoch });
          } else if (s.replica !== leader) {
            const f = replicas[s.replica] as Replica;
            const expected = commonPrefix(f.log, l.log);
            const before = f.log.length;
            const offset = negotiate(f, l, 0, seen);
            expect(offset).toBe(expected);
            seen.syncs += 1;
            if (offset < before) seen.cuts += 1;
            truncateAndCatchUp(f, l, offset, Math.min(l.log.length, offset + s.records));
            expect(commonPrefix(f.log, l.log)).toBe(f.log.length);
          }
          for (const r of replicas) {
            // Every cache is its log's history, plus at most an epoch that has written nothing yet.
            const rebuilt = LeaderEpochCache.fromBatches(r.log.map((rec, o) => ({ baseOffset: o, partitionLeaderEpoch: rec.epoch }))).entries;
            const latest = r.cache.latestEntry;
            expect(latest !== undefined && latest.startOffset === r.log.length ? r.cache.entries.slice(0, -1) : r.cache.entries).toEqual(rebuilt);
          }
        }
      }),
      { seed: 11, numRuns: 300 },
    );
    // The histories really exercised the protocol: divergent logs were cut, some after asking again.
    expect(seen.cuts).toBeGreaterThan(100);
    expect(seen.askAgains).toBeGreaterThan(10);
  });
});
