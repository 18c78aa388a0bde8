import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { propertySeed } from '../../../shared/src/testing.ts';
import { assign, type Assignment } from '../src/groups/assignor.ts';
import { tpKey, type TopicPartition } from '../src/topics/partition.ts';
import { cooperativeRound } from '../src/groups/cooperative.ts';

const tp = (topic: string, partition: number): TopicPartition => ({ topic, partition });
const keys = (list: readonly TopicPartition[] | undefined): string[] => (list ?? []).map(tpKey).sort();

/** A group situation: members, partitions, and possibly stale ownership claims. */
const situation = fc
  .record({
    members: fc.uniqueArray(fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f'), { maxLength: 6 }),
    topics: fc.array(fc.integer({ min: 0, max: 9 }), { minLength: 1, maxLength: 2 }),
    claims: fc.array(
      fc.record({
        member: fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f', 'gone'),
        topic: fc.constantFrom('t0', 't1', 'deleted'),
        partition: fc.integer({ min: 0, max: 11 }),
      }),
      { maxLength: 30 },
    ),
  })
  .map(({ members, topics, claims }) => {
    const partitions = topics.flatMap((count, i) => Array.from({ length: count }, (_, p) => tp(`t${i}`, p)));
    const owned = new Map<string, TopicPartition[]>();
    for (const c of claims) owned.set(c.member, [...(owned.get(c.member) ?? []), tp(c.topic, c.partition)]);
    return { members, partitions, owned };
  });

/** The claims the assignor honours: member present, partition exists, first claimer
 * in id order wins. Recomputed here independently of the assignor. */
function validClaims(members: readonly string[], owned: ReadonlyMap<string, readonly TopicPartition[]>, partitions: readonly TopicPartition[]): Map<string, Set<string>> {
  const exists = new Set(partitions.map(tpKey));
  const seen = new Set<string>();
  const result = new Map<string, Set<string>>();
  for (const m of [...members].sort()) {
    const mine = new Set<string>();
    for (const k of (owned.get(m) ?? []).map(tpKey)) {
      if (exists.has(k) && !seen.has(k)) {
        seen.add(k);
        mine.add(k);
      }
    }
    result.set(m, mine);
  }
  return result;
}

/** All k-element subsets of [0, n). */
function subsets(n: number, k: number): number[][] {
  if (k === 0) return [[]];
  if (n < k) return [];
  return [...subsets(n - 1, k - 1).map((s) => [...s, n - 1]), ...subsets(n - 1, k)];
}

describe('sticky assignor', () => {
  it('hands out every partition to exactly one member', () => {
    fc.assert(
      fc.property(situation, ({ members, partitions, owned }) => {
        const result = assign(members, owned, partitions);
        expect([...result.keys()].sort()).toEqual([...members].sort());
        const all = [...result.values()].flatMap(keys).sort();
        expect(all).toEqual(members.length === 0 ? [] : keys(partitions));
      }),
      { seed: propertySeed(), numRuns: 500 },
    );
  });

  it('balances to within one partition', () => {
    fc.assert(
      fc.property(situation, ({ members, partitions, owned }) => {
        const sizes = [...assign(members, owned, partitions).values()].map((l) => l.length);
        if (sizes.length > 0) expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1);
      }),
      { seed: propertySeed(), numRuns: 500 },
    );
  });

  it('moves a partition only if its owner left or holds more than its share', () => {
    fc.assert(
      fc.property(situation, ({ members, partitions, owned }) => {
        const result = assign(members, owned, partitions);
        const valid = validClaims(members, owned, partitions);
        const ceil = Math.ceil(partitions.length / Math.max(1, members.length));
        for (const [owner, claims] of valid) {
          const now = new Set(keys(result.get(owner)));
          const lost = [...claims].filter((k) => !now.has(k));
          if (lost.length === 0) continue;
          // The owner gave something up: it kept only its own partitions, no more than
          // its share, and it was holding more than that share.
          expect([...now].every((k) => claims.has(k))).toBe(true);
          expect(now.size).toBeLessThanOrEqual(ceil);
          expect(claims.size).toBeGreaterThan(now.size);
        }
      }),
      { seed: propertySeed(), numRuns: 500 },
    );
  });

  it('moves the fewest partitions that balance allows (checked against brute force)', () => {
    fc.assert(
      fc.property(situation, ({ members, partitions, owned }) => {
        if (members.length === 0) return;
        const result = assign(members, owned, partitions);
        const valid = validClaims(members, owned, partitions);
        const moved = [...valid].reduce((n, [m, claims]) => n + [...claims].filter((k) => !keys(result.get(m)).includes(k)).length, 0);
        // Try every choice of which members get the extra partition.
        const ids = [...members].sort();
        const floor = Math.floor(partitions.length / ids.length);
        const extra = partitions.length % ids.length;
        let best = Infinity;
        for (const withExtra of subsets(ids.length, extra)) {
          const cost = ids.reduce((n, m, i) => n + Math.max(0, (valid.get(m)?.size ?? 0) - floor - (withExtra.includes(i) ? 1 : 0)), 0);
          best = Math.min(best, cost);
        }
        expect(moved).toBe(best);
      }),
      { seed: propertySeed(), numRuns: 300 },
    );
  });

  it('does not depend on the order of its inputs', () => {
    fc.assert(
      fc.property(situation, fc.integer(), ({ members, partitions, owned }, salt) => {
        const shuffle = <T>(xs: readonly T[]): T[] => [...xs].map((x, i) => ({ x, k: (i * 7919 + salt) % 101 })).sort((p, q) => p.k - q.k).map((p) => p.x);
        const a = assign(members, owned, partitions);
        const b = assign(shuffle(members), new Map(shuffle([...owned])), shuffle(partitions));
        expect([...b].sort()).toEqual([...a].sort());
      }),
      { seed: propertySeed(), numRuns: 200 },
    );
  });

  it('keeps a stable group exactly as it is', () => {
    const parts = [0, 1, 2, 3, 4].map((p) => tp('t', p));
    const first = assign(['a', 'b'], new Map(), parts);
    expect(assign(['a', 'b'], first, parts)).toEqual(first);
    expect(keys(first.get('a'))).toEqual(['t:0', 't:2', 't:4']);
    expect(keys(first.get('b'))).toEqual(['t:1', 't:3']);
  });

  it('gives a newcomer partitions taken only from the members above their share', () => {
    const parts = [0, 1, 2, 3, 4, 5].map((p) => tp('t', p));
    const owned = new Map([
      ['a', parts.slice(0, 3)],
      ['b', parts.slice(3)],
    ]);
    const result = assign(['a', 'b', 'c'], owned, parts);
    expect(keys(result.get('a'))).toEqual(['t:0', 't:1']);
    expect(keys(result.get('b'))).toEqual(['t:3', 't:4']);
    expect(keys(result.get('c'))).toEqual(['t:2', 't:5']);
  });
});

describe('cooperative rounds (KIP-429)', () => {
  /** Membership changes applied one at a time to a running group. */
  const events = fc.array(fc.record({ join: fc.boolean(), member: fc.constantFrom('a', 'b', 'c', 'd', 'e') }), { minLength: 1, maxLength: 12 });

  it('never has two owners for a partition, keeps kept partitions, and converges in two rounds', () => {
    fc.assert(
      fc.property(events, fc.integer({ min: 1, max: 12 }), (changes, count) => {
        const partitions = Array.from({ length: count }, (_, p) => tp('t', p));
        let owned: Assignment = new Map();
        for (const change of changes) {
          const members = new Set(owned.keys());
          if (change.join) members.add(change.member);
          else members.delete(change.member);
          // A member that left owns nothing any more (it revoked, or it is dead and fenced).
          owned = new Map([...members].map((m) => [m, owned.get(m) ?? []]));
          for (let round = 1; ; round++) {
            const target = assign([...members], owned, partitions);
            const { assignment, revoked, pending } = cooperativeRound(target, owned);
            // Right after the round, before anyone revokes: what each member may touch.
            const holding = new Map<string, string>();
            for (const m of members) {
              for (const k of new Set([...keys(owned.get(m)), ...keys(assignment.get(m))])) {
                expect(holding.get(k), `partition ${k} held by two members in round ${round}`).toBeUndefined();
                holding.set(k, m);
              }
            }
            // A member never stops consuming a partition it keeps.
            for (const m of members) {
              const kept = keys(owned.get(m)).filter((k) => keys(target.get(m)).includes(k));
              expect(keys(assignment.get(m))).toEqual(expect.arrayContaining(kept));
              expect(keys(revoked.get(m))).toEqual(keys(owned.get(m)).filter((k) => !kept.includes(k)));
            }
            // Members revoke what they lost and rejoin owning exactly their assignment.
            owned = new Map([...assignment].map(([m, l]) => [m, [...l]]));
            if (pending.length === 0) {
              expect(owned).toEqual(target);
              break;
            }
            expect(round, 'a follow-up round must finish the moves').toBe(1);
          }
        }
      }),
      { seed: propertySeed(), numRuns: 300 },
    );
  });

  it('holds a moving partition back for one round', () => {
    const [t0, t1] = [tp('t', 0), tp('t', 1)];
    const owned = new Map([['a', [t0, t1]]]);
    const round1 = cooperativeRound(assign(['a', 'b'], owned, [t0, t1]), owned);
    expect(round1.assignment).toEqual(new Map([['a', [t0]], ['b', []]]));
    expect(round1.revoked).toEqual(new Map([['a', [t1]]]));
    expect(round1.pending).toEqual([t1]);
    const round2 = cooperativeRound(assign(['a', 'b'], round1.assignment, [t0, t1]), round1.assignment);
    expect(round2.assignment).toEqual(new Map([['a', [t0]], ['b', [t1]]]));
    expect(round2.pending).toEqual([]);
  });
});
