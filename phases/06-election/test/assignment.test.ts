import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { propertySeed } from '../../../shared/src/testing.ts';
import { AssignmentRangeError, assignReplicas } from '../src/controller/assignment.ts';

/** How many times each broker occurs in `lists` (brokers that never occur count 0). */
function counts(brokers: readonly number[], lists: readonly (readonly number[])[]): Map<number, number> {
  const m = new Map<number, number>(brokers.map((b) => [b, 0]));
  for (const list of lists) for (const b of list) m.set(b, (m.get(b) ?? 0) + 1);
  return m;
}

describe('assignReplicas: worked examples', () => {
  it.each([
    // Kafka's example (AdminUtils): 5 brokers, 10 partitions, RF 3, startIndex 0, shift 0.
    // Round 1 (p0..p4) puts the followers at distances 1 and 2 from the leader; after 5
    // partitions the shift grows to 1, so round 2 (p5..p9) puts them at 2 and 3:
    //   broker-0  broker-1  broker-2  broker-3  broker-4
    //   p0        p1        p2        p3        p4        (1st replica)
    //   p5        p6        p7        p8        p9        (1st replica)
    //   p4        p0        p1        p2        p3        (2nd replica)
    //   p8        p9        p5        p6        p7        (2nd replica)
    //   p3        p4        p0        p1        p2        (3rd replica)
    //   p7        p8        p9        p5        p6        (3rd replica)
    [
      "Kafka's documented example: 5 brokers, 10 partitions, RF 3",
      [0, 1, 2, 3, 4], 10, 3, 0, 0,
      [[0, 1, 2], [1, 2, 3], [2, 3, 4], [3, 4, 0], [4, 0, 1], [0, 2, 3], [1, 3, 4], [2, 4, 0], [3, 0, 1], [4, 1, 2]],
    ],
    ['the doc comment example: brokers sorted first', [3, 1, 2], 4, 2, 0, 0, [[1, 2], [2, 3], [3, 1], [1, 3]]],
    ['sparse, unsorted broker ids, startIndex 1', [103, 101, 102], 3, 2, 1, 0, [[102, 103], [103, 101], [101, 102]]],
    ['startIndex picks the first leader, then round-robin (RF 1)', [1, 2, 3], 4, 1, 2, 1, [[3], [1], [2], [3]]],
    ['RF equal to the broker count: every broker in every list, order shifted per round', [1, 2, 3], 4, 3, 0, 0, [[1, 2, 3], [2, 3, 1], [3, 1, 2], [1, 3, 2]]],
    ['shift 3 of 5 brokers: the follower 4 places on, then 1 in the next round (mod n-1)', [0, 1, 2, 3, 4], 10, 2, 0, 3, [[0, 4], [1, 0], [2, 1], [3, 2], [4, 3], [0, 1], [1, 2], [2, 3], [3, 4], [4, 0]]],
    ['one broker: it holds every partition', [7], 3, 1, 0, 0, [[7], [7], [7]]],
    ['one partition', [1, 2, 3, 4], 1, 3, 3, 2, [[4, 3, 1]]],
  ] as const)('%s', (_name, brokers, partitions, rf, startIndex, shift, expected) => {
    expect(assignReplicas(brokers, partitions, rf, startIndex, shift)).toEqual(expected);
  });

  it('replica counts can differ by exactly min(rf, partitions mod n) (the bound below is tight)', () => {
    const brokers = [0, 1, 2, 3, 4, 5];
    const lists = assignReplicas(brokers, 3, 3, 0, 0);
    expect(lists).toEqual([[0, 1, 2], [1, 2, 3], [2, 3, 4]]);
    expect([...counts(brokers, lists).values()]).toEqual([1, 2, 3, 2, 1, 0]);
  });

  it('does not mutate the broker list', () => {
    const brokers = Object.freeze([3, 1, 2]);
    assignReplicas(brokers, 3, 2, 0, 0);
    expect(brokers).toEqual([3, 1, 2]);
  });
});

describe('assignReplicas: arguments out of range', () => {
  it.each([
    ['zero partitions', [1, 2, 3], 0, 1, 0, 0, 'partitions', /partitions must be an integer of at least 1, got 0/],
    ['negative partitions', [1, 2, 3], -2, 1, 0, 0, 'partitions', /got -2/],
    ['a fractional partition count', [1, 2, 3], 1.5, 1, 0, 0, 'partitions', /got 1.5/],
    ['replication factor 0', [1, 2, 3], 3, 0, 0, 0, 'replicationFactor', /from 1 to the number of available brokers \(3\), got 0/],
    ['replication factor above the broker count', [1, 2, 3], 3, 4, 0, 0, 'replicationFactor', /\(3\), got 4/],
    ['no brokers at all', [], 3, 1, 0, 0, 'replicationFactor', /\(0\), got 1/],
    ['a broker listed twice', [1, 2, 1], 3, 2, 0, 0, 'brokerIds', /broker 1 is listed twice in \[1, 2, 1\]/],
    ['startIndex equal to the broker count', [1, 2, 3], 3, 2, 3, 0, 'startIndex', /startIndex must be an integer in \[0, 3\), got 3/],
    ['negative startIndex', [1, 2, 3], 3, 2, -1, 0, 'startIndex', /got -1/],
    ['shift equal to the broker count', [1, 2, 3], 3, 2, 0, 3, 'shift', /shift must be an integer in \[0, 3\), got 3/],
    ['a fractional shift', [1, 2, 3], 3, 2, 0, 0.5, 'shift', /got 0.5/],
  ] as const)('%s: a RangeError naming the numbers', (_name, brokers, partitions, rf, startIndex, shift, argument, message) => {
    let caught: unknown;
    try {
      assignReplicas(brokers, partitions, rf, startIndex, shift);
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(RangeError);
    expect(caught).toBeInstanceOf(AssignmentRangeError);
    expect((caught as AssignmentRangeError).argument).toBe(argument);
    expect((caught as AssignmentRangeError).message).toMatch(message);
  });
});

/** Brokers (distinct, any order), a partition count, an RF that fits, and the two random choices. */
const placement = fc
  .uniqueArray(fc.integer({ min: 0, max: 100 }), { minLength: 1, maxLength: 8 })
  .chain((brokers) =>
    fc.record({
      brokers: fc.constant(brokers),
      partitions: fc.integer({ min: 1, max: 40 }),
      rf: fc.integer({ min: 1, max: brokers.length }),
      startIndex: fc.integer({ min: 0, max: brokers.length - 1 }),
      shift: fc.integer({ min: 0, max: brokers.length - 1 }),
    }),
  );

describe('assignReplicas: properties', () => {
  it('gives every partition rf distinct brokers from the list', () => {
    fc.assert(
      fc.property(placement, ({ brokers, partitions, rf, startIndex, shift }) => {
        const lists = assignReplicas(brokers, partitions, rf, startIndex, shift);
        expect(lists).toHaveLength(partitions);
        const bad = lists.filter((list) => list.length !== rf || new Set(list).size !== rf || !list.every((b) => brokers.includes(b)));
        expect(bad).toEqual([]);
      }),
      { seed: propertySeed(), numRuns: 500 },
    );
  });

  it('spreads leaders evenly: each broker leads floor(P/n) or ceil(P/n) partitions, round-robin', () => {
    fc.assert(
      fc.property(placement, ({ brokers, partitions, rf, startIndex, shift }) => {
        const n = brokers.length;
        const lists = assignReplicas(brokers, partitions, rf, startIndex, shift);
        for (const c of counts(brokers, lists.map((l) => l.slice(0, 1))).values()) {
          expect(c === Math.floor(partitions / n) || c === Math.ceil(partitions / n)).toBe(true);
        }
        // Partition p and p + n share a leader.
        for (let p = n; p < partitions; p++) expect(lists[p]?.[0]).toBe(lists[p - n]?.[0]);
      }),
      { seed: propertySeed(), numRuns: 500 },
    );
  });

  it('spreads replicas: each broker holds rf*floor(P/n) + c of them, 0 <= c <= min(rf, P mod n); all equal when n divides P', () => {
    fc.assert(
      fc.property(placement, ({ brokers, partitions, rf, startIndex, shift }) => {
        const n = brokers.length;
        const base = rf * Math.floor(partitions / n);
        const extraMax = Math.min(rf, partitions % n);
        const perBroker = [...counts(brokers, assignReplicas(brokers, partitions, rf, startIndex, shift)).values()];
        for (const c of perBroker) {
          expect(c).toBeGreaterThanOrEqual(base);
          expect(c).toBeLessThanOrEqual(base + extraMax);
        }
        expect(Math.max(...perBroker) - Math.min(...perBroker)).toBeLessThanOrEqual(extraMax);
        expect(perBroker.reduce((a, b) => a + b, 0)).toBe(partitions * rf);
      }),
      { seed: propertySeed(), numRuns: 500 },
    );
  });

  it('depends on the set of brokers, not the order they are listed in', () => {
    fc.assert(
      fc.property(placement, fc.nat(), ({ brokers, partitions, rf, startIndex, shift }, rotation) => {
        const k = rotation % brokers.length;
        const reordered = [...brokers.slice(k), ...brokers.slice(0, k)].reverse();
        expect(assignReplicas(reordered, partitions, rf, startIndex, shift)).toEqual(assignReplicas(brokers, partitions, rf, startIndex, shift));
      }),
      { seed: propertySeed(), numRuns: 200 },
    );
  });
});
