import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { propertySeed } from '../../../shared/src/testing.ts';
import {
  type AlterPartitionRequest,
  type BrokerState,
  checkLeaderEpoch,
  electLeader,
  fenceBroker,
  maximalIsr,
  type PartitionState,
  unfenceBroker,
  validateAlterPartition,
} from '../src/controller/election.ts';
import { ErrorCode } from '../src/protocol/errors.ts';

/** A frozen partition (a mutation by the code under test throws), by default led by 1 with a full ISR. */
function part(over: Partial<PartitionState> = {}): PartitionState {
  const p = { topic: 't', partition: 0, replicas: [1, 2, 3], isr: [1, 2, 3], leader: 1, leaderEpoch: 4, partitionEpoch: 7, ...over };
  return Object.freeze({ ...p, replicas: Object.freeze([...p.replicas]), isr: Object.freeze([...p.isr]) });
}
const all = (): boolean => true;
const except =
  (...ids: number[]) =>
  (id: number): boolean =>
    !ids.includes(id);

describe('electLeader', () => {
  it.each([
    ['picks the first ISR replica in assignment order, not the first in ISR order', [1, 2, 3], [3, 2], all, 2],
    ['picks the preferred leader when it is in the ISR and eligible', [1, 2, 3], [1, 2, 3], all, 1],
    ['skips a fenced replica', [1, 2, 3], [1, 2, 3], except(1), 2],
    ['skips every fenced replica before the first eligible one', [1, 2, 3], [1, 2, 3], except(1, 2), 3],
    ['returns -1 when the ISR has only fenced brokers', [1, 2, 3], [1, 2], except(1, 2), -1],
    ['never elects outside the ISR, even an eligible replica (no unclean election)', [1, 2, 3], [1], except(1), -1],
    ['ignores an ISR entry that is not a replica', [1, 2], [3], all, -1],
    ['returns -1 for no replicas', [], [1], all, -1],
  ] as const)('%s', (_name, replicas, isr, isEligible, expected) => {
    expect(electLeader(replicas, isr, isEligible)).toBe(expected);
  });
});

describe('fenceBroker', () => {
  it.each([
    // [name, partition, fenced broker, eligibility (after fencing), expected change or null for none]
    ['of a follower: the ISR shrinks, leader epoch unchanged, partition epoch +1', part(), 3, except(3), { isr: [1, 2], leader: 1, leaderEpoch: 4, partitionEpoch: 8 }],
    ['of the leader: the next ISR replica in assignment order leads, both epochs +1', part(), 1, except(1), { isr: [2, 3], leader: 2, leaderEpoch: 5, partitionEpoch: 8 }],
    ['of the leader, ISR order differing from assignment order: assignment order wins', part({ isr: [1, 3, 2] }), 1, except(1), { isr: [3, 2], leader: 2, leaderEpoch: 5, partitionEpoch: 8 }],
    ['of the leader, the next replica ineligible: the one after it leads', part(), 1, except(1, 2), { isr: [2, 3], leader: 3, leaderEpoch: 5, partitionEpoch: 8 }],
    ['of the leader, with eligibility from before the fencing: it is still not re-elected', part(), 1, all, { isr: [2, 3], leader: 2, leaderEpoch: 5, partitionEpoch: 8 }],
    ['of the last ISR member, which led: offline, ISR kept, both epochs +1', part({ isr: [1] }), 1, except(1), { isr: [1], leader: -1, leaderEpoch: 5, partitionEpoch: 8 }],
    ['of the last ISR member, with eligibility from before the fencing: it is not re-elected', part({ isr: [1] }), 1, all, { isr: [1], leader: -1, leaderEpoch: 5, partitionEpoch: 8 }],
    ['of the leader whose other ISR members are all ineligible: it leaves, the partition goes offline', part({ isr: [1, 2] }), 1, except(1, 2), { isr: [2], leader: -1, leaderEpoch: 5, partitionEpoch: 8 }],
    ['of a broker in no ISR: no change', part({ isr: [1, 2] }), 3, except(3), null],
    ['of a broker not even a replica: no change', part(), 9, except(9), null],
    ['of the last ISR member of a partition already offline: no change', part({ isr: [2], leader: -1 }), 2, except(2), null],
  ] as const)('%s', (_name, p, brokerId, isEligible, expected) => {
    const changed = fenceBroker([p], brokerId, isEligible);
    expect(changed).toEqual(expected === null ? [] : [{ ...p, ...expected }]);
  });

  it('keeps the order of the remaining ISR members', () => {
    expect(fenceBroker([part({ isr: [3, 1, 2] })], 1, except(1))[0]?.isr).toEqual([3, 2]);
  });

  it('returns only the changed partitions, as new objects, in input order, and mutates nothing', () => {
    const ps = [part({ partition: 0, isr: [2, 3], leader: 2 }), part({ partition: 1 }), part({ partition: 2, replicas: [3, 1], isr: [3], leader: 3 }), part({ partition: 3, replicas: [2, 1], isr: [2, 1], leader: 2 })];
    const changed = fenceBroker(ps, 1, except(1));
    expect(changed.map((p) => p.partition)).toEqual([1, 3]);
    for (const c of changed) expect(ps).not.toContain(c);
    expect(ps[1]).toEqual(part({ partition: 1 }));
  });
});

describe('unfenceBroker', () => {
  it.each([
    ['brings an offline partition back, led by the returning last ISR member', part({ isr: [2], leader: -1, leaderEpoch: 5, partitionEpoch: 9 }), 2, all, { leader: 2, leaderEpoch: 6, partitionEpoch: 10 }],
    ['elects over the ISR in assignment order (an earlier eligible ISR member wins)', part({ isr: [3, 2], leader: -1, leaderEpoch: 5, partitionEpoch: 9 }), 3, all, { leader: 2, leaderEpoch: 6, partitionEpoch: 10 }],
    ['leaves an offline partition whose ISR does not contain it (no unclean election)', part({ isr: [2], leader: -1 }), 1, all, null],
    ['leaves a partition that has a leader', part({ isr: [1, 2] }), 2, all, null],
    ['leaves an offline partition when the broker is not eligible', part({ isr: [2], leader: -1 }), 2, except(2), null],
  ] as const)('%s', (_name, p, brokerId, isEligible, expected) => {
    const changed = unfenceBroker([p], brokerId, isEligible);
    if (expected === null) expect(changed).toEqual([]);
    else expect(changed).toEqual([{ ...p, ...expected }]);
  });

  it('returns only the changed partitions and never touches the ISR', () => {
    const ps = [part({ partition: 0, isr: [2], leader: -1 }), part({ partition: 1, isr: [1], leader: -1 }), part({ partition: 2, isr: [2, 3], leader: 3 })];
    const changed = unfenceBroker(ps, 2, all);
    expect(changed.map((p) => [p.partition, p.leader, p.isr])).toEqual([[0, 2, [2]]]);
  });
});

describe('validateAlterPartition', () => {
  // Leader 1 in epoch 3, partition epoch 8, ISR [1, 2]; broker n is registered with epoch 10n.
  const current = part({ isr: [1, 2], leader: 1, leaderEpoch: 3, partitionEpoch: 8 });
  const registered = (over: Record<number, Partial<BrokerState> | null> = {}): Map<number, BrokerState> => {
    const m = new Map<number, BrokerState>();
    for (const id of [1, 2, 3, 4]) {
      const o = over[id];
      if (o !== null) m.set(id, { id, brokerEpoch: 10 * id, fenced: false, ...o });
    }
    return m;
  };
  const member = (id: number, brokerEpoch = 10 * id): { id: number; brokerEpoch: number } => ({ id, brokerEpoch });
  const request = (over: Partial<AlterPartitionRequest> = {}): AlterPartitionRequest => ({
    brokerId: 1,
    brokerEpoch: 10,
    leaderEpoch: 3,
    partitionEpoch: 8,
    newIsr: [member(1), member(2), member(3)],
    ...over,
  });

  it.each([
    // [name, request, brokers, current partition, error code, message]
    ['1. requester not registered', request({ brokerId: 9 }), registered(), current, ErrorCode.BROKER_ID_NOT_REGISTERED, /broker 9 is not registered/],
    ['1. requester broker epoch one below its registration', request({ brokerEpoch: 9 }), registered(), current, ErrorCode.STALE_BROKER_EPOCH, /broker epoch 9, but its registration has epoch 10/],
    ['1. requester broker epoch one above its registration', request({ brokerEpoch: 11 }), registered(), current, ErrorCode.STALE_BROKER_EPOCH, /broker epoch 11, but its registration has epoch 10/],
    ['2. leader epoch one below the current', request({ leaderEpoch: 2 }), registered(), current, ErrorCode.FENCED_LEADER_EPOCH, /leader epoch 2 is older than the current 3/],
    ['2. leader epoch one above the current', request({ leaderEpoch: 4 }), registered(), current, ErrorCode.UNKNOWN_LEADER_EPOCH, /leader epoch 4 is newer than the current 3/],
    ['3. requester is a follower, not the leader', request({ brokerId: 2, brokerEpoch: 20 }), registered(), current, ErrorCode.INVALID_REQUEST, /broker 2 is not the leader \(the leader is 1\)/],
    ['3. the partition has no leader', request(), registered(), part({ isr: [1], leader: -1, leaderEpoch: 3, partitionEpoch: 8 }), ErrorCode.INVALID_REQUEST, /broker 1 is not the leader \(the partition has no leader\)/],
    ['4. partition epoch one below the current', request({ partitionEpoch: 7 }), registered(), current, ErrorCode.INVALID_UPDATE_VERSION, /partition epoch 7 is not the current 8/],
    ['4. partition epoch one above the current', request({ partitionEpoch: 9 }), registered(), current, ErrorCode.INVALID_UPDATE_VERSION, /partition epoch 9 is not the current 8/],
    ['5. empty new ISR', request({ newIsr: [] }), registered(), current, ErrorCode.INVALID_REQUEST, /the proposed ISR is empty/],
    ['5. a duplicate in the new ISR', request({ newIsr: [member(1), member(2), member(2)] }), registered(), current, ErrorCode.INVALID_REQUEST, /\[1, 2, 2\] names broker 2 twice/],
    ['5. new ISR without the leader', request({ newIsr: [member(2), member(3)] }), registered(), current, ErrorCode.INVALID_REQUEST, /\[2, 3\] does not contain the leader 1/],
    ['5. new ISR naming a registered broker that is not a replica', request({ newIsr: [member(1), member(4)] }), registered(), current, ErrorCode.INVALID_REQUEST, /broker 4, which is not a replica \(replicas \[1, 2, 3\]\)/],
    ['6. a member that is not registered', request(), registered({ 3: null }), current, ErrorCode.INELIGIBLE_REPLICA, /member 3 is not registered/],
    ['6. a member that is fenced', request(), registered({ 3: { fenced: true } }), current, ErrorCode.INELIGIBLE_REPLICA, /member 3 is fenced/],
    ['6. a member of an older incarnation (KIP-903: it restarted since it caught up)', request(), registered({ 3: { brokerEpoch: 31 } }), current, ErrorCode.INELIGIBLE_REPLICA, /member 3 has broker epoch 30 in the request, but its registration has epoch 31/],
    ['6. a member whose named epoch is newer than its registration', request({ newIsr: [member(1), member(2), member(3, 31)] }), registered(), current, ErrorCode.INELIGIBLE_REPLICA, /member 3 has broker epoch 31/],
    ['6. a member named with broker epoch -1 (not a wildcard)', request({ newIsr: [member(1), member(2, -1)] }), registered(), current, ErrorCode.INELIGIBLE_REPLICA, /member 2 has broker epoch -1/],
    ['6. an existing ISR member is checked too, not only additions', request({ newIsr: [member(1), member(2)] }), registered({ 2: { fenced: true } }), current, ErrorCode.INELIGIBLE_REPLICA, /member 2 is fenced/],
  ] as const)('refuses: %s', (_name, req, brokers, p, errorCode, message) => {
    const result = validateAlterPartition(p, req, brokers);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.errorCode).toBe(errorCode);
    expect(result.message).toMatch(message);
    expect(result.message).toContain('t-0');
  });

  it.each([
    // Each request is wrong in two ways: the earlier check decides.
    ['unregistered requester before a stale leader epoch', request({ brokerId: 9, leaderEpoch: 0 }), registered(), ErrorCode.BROKER_ID_NOT_REGISTERED, /not registered/],
    ['stale broker epoch before a stale leader epoch', request({ brokerEpoch: 1, leaderEpoch: 0 }), registered(), ErrorCode.STALE_BROKER_EPOCH, /broker epoch 1/],
    ['fenced leader epoch before "not the leader"', request({ brokerId: 2, brokerEpoch: 20, leaderEpoch: 2 }), registered(), ErrorCode.FENCED_LEADER_EPOCH, /older/],
    ['unknown leader epoch before "not the leader"', request({ brokerId: 2, brokerEpoch: 20, leaderEpoch: 9 }), registered(), ErrorCode.UNKNOWN_LEADER_EPOCH, /newer/],
    ['"not the leader" before a stale partition epoch', request({ brokerId: 2, brokerEpoch: 20, partitionEpoch: 1 }), registered(), ErrorCode.INVALID_REQUEST, /not the leader/],
    ['stale partition epoch before an empty ISR', request({ partitionEpoch: 1, newIsr: [] }), registered(), ErrorCode.INVALID_UPDATE_VERSION, /partition epoch 1/],
    ['stale partition epoch before an ineligible member', request({ partitionEpoch: 1 }), registered({ 3: { fenced: true } }), ErrorCode.INVALID_UPDATE_VERSION, /partition epoch 1/],
    ['a duplicate before a missing leader', request({ newIsr: [member(2), member(2)] }), registered(), ErrorCode.INVALID_REQUEST, /names broker 2 twice/],
    ['a missing leader before a non-replica', request({ newIsr: [member(2), member(4)] }), registered(), ErrorCode.INVALID_REQUEST, /does not contain the leader/],
    ['a non-replica before an ineligible member', request({ newIsr: [member(1), member(3), member(4)] }), registered({ 3: { fenced: true } }), ErrorCode.INVALID_REQUEST, /broker 4, which is not a replica/],
    ['members in request order: the first ineligible one is named', request({ newIsr: [member(1), member(3, 0), member(2, 0)] }), registered(), ErrorCode.INELIGIBLE_REPLICA, /member 3/],
  ] as const)('checks in order: %s', (_name, req, brokers, errorCode, message) => {
    const result = validateAlterPartition(current, req, brokers);
    expect(result).toMatchObject({ ok: false, errorCode });
    if (!result.ok) expect(result.message).toMatch(message);
  });

  it.each([
    ['an expansion', [member(1), member(2), member(3)], [1, 2, 3]],
    ['a shrink to the leader alone', [member(1)], [1]],
    ['the new ISR in the request order', [member(2), member(1)], [2, 1]],
    ['the same ISR again (the partition epoch still moves)', [member(1), member(2)], [1, 2]],
    ["the requester's own entry, whose epoch step 1 checked already", [member(1, 999), member(3)], [1, 3]],
  ] as const)('accepts %s: ISR replaced, partition epoch +1, leader and leader epoch kept', (_name, newIsr, isr) => {
    const result = validateAlterPartition(current, request({ newIsr }), registered());
    expect(result).toEqual({ ok: true, next: { ...current, isr, partitionEpoch: 9 } });
  });

  it('refuses the deposed leader of a fenced broker with FENCED_LEADER_EPOCH, and its successor from the old state with INVALID_UPDATE_VERSION', () => {
    const brokers = registered({ 1: { fenced: true } });
    const [next] = fenceBroker([current], 1, (id) => brokers.get(id)?.fenced === false);
    expect(next).toMatchObject({ leader: 2, leaderEpoch: 4, partitionEpoch: 9, isr: [2] });
    if (next === undefined) return;
    // The old leader, cut off, shrinks the ISR to itself: refused, so it cannot commit alone.
    expect(validateAlterPartition(next, request({ newIsr: [member(1)] }), brokers)).toMatchObject({ ok: false, errorCode: ErrorCode.FENCED_LEADER_EPOCH });
    // The new leader, working from a partition epoch it has not caught up to yet.
    const stale = request({ brokerId: 2, brokerEpoch: 20, leaderEpoch: 4, partitionEpoch: 8, newIsr: [member(2), member(3)] });
    expect(validateAlterPartition(next, stale, brokers)).toMatchObject({ ok: false, errorCode: ErrorCode.INVALID_UPDATE_VERSION });
    expect(validateAlterPartition(next, { ...stale, partitionEpoch: 9 }, brokers)).toMatchObject({ ok: true, next: { isr: [2, 3], partitionEpoch: 10, leader: 2, leaderEpoch: 4 } });
  });
});

describe('checkLeaderEpoch', () => {
  it.each([
    // [name, request epoch, current epoch, is leader, expected]
    ['the current epoch, at the leader: NONE', 5, 5, true, ErrorCode.NONE],
    ['the current epoch, not the leader: NOT_LEADER_OR_FOLLOWER', 5, 5, false, ErrorCode.NOT_LEADER_OR_FOLLOWER],
    ['one epoch older: FENCED_LEADER_EPOCH', 4, 5, true, ErrorCode.FENCED_LEADER_EPOCH],
    ['older, not the leader: the epoch is checked first', 4, 5, false, ErrorCode.FENCED_LEADER_EPOCH],
    ['one epoch newer: UNKNOWN_LEADER_EPOCH', 6, 5, true, ErrorCode.UNKNOWN_LEADER_EPOCH],
    ['newer, not the leader: the epoch is checked first', 6, 5, false, ErrorCode.UNKNOWN_LEADER_EPOCH],
    ['-1 (unchecked, old clients), at the leader: NONE', -1, 5, true, ErrorCode.NONE],
    ['-1 (unchecked), not the leader: NOT_LEADER_OR_FOLLOWER', -1, 5, false, ErrorCode.NOT_LEADER_OR_FOLLOWER],
    ['-1 against a new topic at epoch 0: unchecked, not older', -1, 0, true, ErrorCode.NONE],
    ['epoch 0 of a new topic: NONE', 0, 0, true, ErrorCode.NONE],
    ['another negative epoch counts as older', -2, 0, true, ErrorCode.FENCED_LEADER_EPOCH],
  ] as const)('%s', (_name, requestEpoch, currentEpoch, isLeader, expected) => {
    expect(checkLeaderEpoch(requestEpoch, currentEpoch, isLeader)).toBe(expected);
  });
});

describe('maximalIsr', () => {
  it.each([
    ['a pending addition counts at once', [1, 2], [3], [1, 2, 3]],
    ['no pending additions: the committed ISR', [1, 2], [], [1, 2]],
    ['an addition already committed is not counted twice', [1, 2], [2, 3], [1, 2, 3]],
    ['order of first appearance, not numeric order', [3, 1], [2, 3], [3, 1, 2]],
    ['a duplicate within the additions once', [1], [2, 2], [1, 2]],
  ] as const)('%s', (_name, committed, pending, expected) => {
    expect(maximalIsr(committed, pending)).toEqual(expected);
  });

  it('is the committed ISR followed by the new additions, without duplicates (property)', () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.integer({ min: 0, max: 9 }), { maxLength: 5 }), fc.array(fc.integer({ min: 0, max: 9 }), { maxLength: 5 }), (committed, pending) => {
        const result = maximalIsr(committed, pending);
        expect(new Set(result).size).toBe(result.length);
        expect(result.slice(0, committed.length)).toEqual(committed);
        expect(new Set(result)).toEqual(new Set([...committed, ...pending]));
      }),
      { seed: propertySeed(), numRuns: 300 },
    );
  });
});

// ---------------------------------------------------------------------------------------
// The controller's rules together: random clusters driven by random fence, unfence and
// AlterPartition steps, with the invariants checked after every step.

type Step =
  | { readonly kind: 'fence'; readonly broker: number }
  | { readonly kind: 'unfence'; readonly broker: number; readonly newIncarnation: boolean }
  /** An AlterPartition from the leader, itself plus the eligible replicas in `mask`, with at most one `fault`. */
  | { readonly kind: 'alter'; readonly partition: number; readonly mask: number; readonly fault: Fault }
  /** An AlterPartition with random faults, judged against an independent restatement of the rules. */
  | {
      readonly kind: 'randomAlter';
      readonly partition: number;
      readonly requester: number | null;
      readonly brokerEpochDelta: number;
      readonly leaderEpochDelta: number;
      readonly partitionEpochDelta: number;
      /** Each member: the replica at `replicaIndex` (mod the count), or `otherId` when null. */
      readonly members: readonly { readonly replicaIndex: number | null; readonly otherId: number; readonly epochDelta: number }[];
    };

const FAULTS = ['brokerEpoch', 'leaderEpochLow', 'leaderEpochHigh', 'partitionEpochLow', 'partitionEpochHigh', 'notLeader', 'empty', 'duplicate', 'dropLeader', 'stranger', 'allReplicas', 'staleMember'] as const;
/** What is wrong with an otherwise valid AlterPartition (`allReplicas` is wrong only if one of them is ineligible). */
type Fault = 'none' | (typeof FAULTS)[number];

const MAX_BROKERS = 5;
const brokerId = fc.integer({ min: 1, max: MAX_BROKERS + 1 }); // MAX_BROKERS + 1 is never registered
const delta = fc.constantFrom(0, 0, 0, -1, 1);
const step: fc.Arbitrary<Step> = fc.oneof(
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('fence' as const), broker: brokerId }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('unfence' as const), broker: brokerId, newIncarnation: fc.boolean() }) },
  {
    weight: 4,
    arbitrary: fc.record({ kind: fc.constant('alter' as const), partition: fc.nat(), mask: fc.nat(31), fault: fc.oneof(fc.constant<Fault>('none'), fc.constantFrom<Fault>(...FAULTS)) }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('randomAlter' as const),
      partition: fc.nat(),
      requester: fc.option(brokerId, { freq: 3 }),
      brokerEpochDelta: delta,
      leaderEpochDelta: delta,
      partitionEpochDelta: delta,
      members: fc.array(fc.record({ replicaIndex: fc.option(fc.nat(2), { freq: 5 }), otherId: brokerId, epochDelta: delta }), { maxLength: 4 }),
    }),
  },
);
const cluster = fc.integer({ min: 1, max: MAX_BROKERS }).chain((n) =>
  fc.record({
    n: fc.constant(n),
    replicaLists: fc.array(fc.uniqueArray(fc.integer({ min: 1, max: n }), { minLength: 1, maxLength: Math.min(3, n) }), { minLength: 1, maxLength: 6 }),
    steps: fc.array(step, { minLength: 1, maxLength: 40, size: 'max' }),
  }),
);

/** The AlterPartition rules restated independently: the error code the controller must answer. */
function expectedAlterCode(p: PartitionState, req: AlterPartitionRequest, brokers: ReadonlyMap<number, BrokerState>): number {
  const requester = brokers.get(req.brokerId);
  if (requester === undefined) return ErrorCode.BROKER_ID_NOT_REGISTERED;
  if (requester.brokerEpoch !== req.brokerEpoch) return ErrorCode.STALE_BROKER_EPOCH;
  if (req.leaderEpoch !== p.leaderEpoch) return req.leaderEpoch < p.leaderEpoch ? ErrorCode.FENCED_LEADER_EPOCH : ErrorCode.UNKNOWN_LEADER_EPOCH;
  if (req.brokerId !== p.leader) return ErrorCode.INVALID_REQUEST;
  if (req.partitionEpoch !== p.partitionEpoch) return ErrorCode.INVALID_UPDATE_VERSION;
  const ids = req.newIsr.map((m) => m.id);
  if (ids.length === 0 || new Set(ids).size < ids.length || !ids.includes(p.leader) || !ids.every((id) => p.replicas.includes(id))) return ErrorCode.INVALID_REQUEST;
  const eligibleAsNamed = (m: { id: number; brokerEpoch: number }): boolean => {
    const b = brokers.get(m.id);
    return b !== undefined && !b.fenced && b.brokerEpoch === m.brokerEpoch;
  };
  if (!req.newIsr.every((m) => m.id === req.brokerId || eligibleAsNamed(m))) return ErrorCode.INELIGIBLE_REPLICA;
  return ErrorCode.NONE;
}

describe('the controller rules under random fence, unfence and AlterPartition steps', () => {
  it('keep every partition invariant (property)', () => {
    const seen = { offline: 0, leaderChanges: 0, accepted: 0, refused: new Set<number>() };
    fc.assert(
      fc.property(cluster, ({ n, replicaLists, steps }) => {
        const brokers = new Map<number, BrokerState>();
        for (let id = 1; id <= n; id++) brokers.set(id, { id, brokerEpoch: 1, fenced: false });
        const isEligible = (id: number): boolean => brokers.get(id)?.fenced === false;
        let partitions: PartitionState[] = replicaLists.map((replicas, i) => ({ topic: 't', partition: i, replicas, isr: [...replicas], leader: replicas[0] ?? -1, leaderEpoch: 0, partitionEpoch: 0 }));
        const apply = (changed: readonly PartitionState[]): void => {
          for (const c of changed) partitions = partitions.map((p) => (p.partition === c.partition ? c : p));
        };

        for (const s of steps) {
          const before = partitions;
          let fromAlter = -1; // the partition an accepted AlterPartition changed, if any
          if (s.kind === 'fence') {
            const b = brokers.get(s.broker);
            if (b !== undefined) brokers.set(s.broker, { ...b, fenced: true });
            const changed = fenceBroker(partitions, s.broker, isEligible);
            for (const c of changed) expect(c).not.toEqual(before[c.partition]);
            apply(changed);
          } else if (s.kind === 'unfence') {
            const b = brokers.get(s.broker);
            if (b !== undefined && b.fenced) brokers.set(s.broker, { ...b, fenced: false, brokerEpoch: b.brokerEpoch + (s.newIncarnation ? 1 : 0) });
            const changed = unfenceBroker(partitions, s.broker, isEligible);
            for (const c of changed) {
              expect(c.leader).not.toBe(-1);
              expect(c.isr).toEqual(before[c.partition]?.isr);
            }
            apply(changed);
          } else {
            const p = partitions[s.partition % partitions.length];
            if (p === undefined) continue;
            let req: AlterPartitionRequest;
            if (s.kind === 'alter') {
              if (p.leader === -1) continue;
              const leader = p.leader;
              const epochOf = (id: number): number => brokers.get(id)?.brokerEpoch ?? -1;
              const ids = [leader, ...p.replicas.filter((id, i) => id !== leader && isEligible(id) && (s.mask & (1 << i)) !== 0)];
              let newIsr = ids.map((id) => ({ id, brokerEpoch: epochOf(id) }));
              req = { brokerId: leader, brokerEpoch: epochOf(leader), leaderEpoch: p.leaderEpoch, partitionEpoch: p.partitionEpoch, newIsr };
              const other = p.replicas.find((id) => id !== leader);
              const follower = newIsr.find((m) => m.id !== leader);
              switch (s.fault) {
                case 'none': break;
                case 'brokerEpoch': req = { ...req, brokerEpoch: req.brokerEpoch - 1 }; break;
                case 'leaderEpochLow': req = { ...req, leaderEpoch: req.leaderEpoch - 1 }; break;
                case 'leaderEpochHigh': req = { ...req, leaderEpoch: req.leaderEpoch + 1 }; break;
                case 'partitionEpochLow': req = { ...req, partitionEpoch: req.partitionEpoch - 1 }; break;
                case 'partitionEpochHigh': req = { ...req, partitionEpoch: req.partitionEpoch + 1 }; break;
                case 'notLeader': if (other !== undefined) req = { ...req, brokerId: other, brokerEpoch: epochOf(other) }; break;
                case 'empty': newIsr = []; break;
                case 'duplicate': newIsr = [...newIsr, { id: leader, brokerEpoch: epochOf(leader) }]; break;
                case 'dropLeader': newIsr = newIsr.filter((m) => m.id !== leader); break;
                case 'stranger': newIsr = [...newIsr, { id: MAX_BROKERS + 1, brokerEpoch: 1 }]; break;
                case 'allReplicas': newIsr = p.replicas.map((id) => ({ id, brokerEpoch: epochOf(id) })); break;
                case 'staleMember': newIsr = newIsr.map((m) => (m === follower ? { ...m, brokerEpoch: m.brokerEpoch - 1 } : m)); break;
              }
              req = { ...req, newIsr };
            } else {
              const requester = s.requester ?? p.leader;
              const newIsr = s.members.map((m) => {
                const id = m.replicaIndex === null ? m.otherId : (p.replicas[m.replicaIndex % p.replicas.length] ?? m.otherId);
                return { id, brokerEpoch: (brokers.get(id)?.brokerEpoch ?? 1) + m.epochDelta };
              });
              req = {
                brokerId: requester,
                brokerEpoch: (brokers.get(requester)?.brokerEpoch ?? 1) + s.brokerEpochDelta,
                leaderEpoch: p.leaderEpoch + s.leaderEpochDelta,
                partitionEpoch: p.partitionEpoch + s.partitionEpochDelta,
                newIsr,
              };
            }
            const result = validateAlterPartition(p, req, brokers);
            const expected = expectedAlterCode(p, req, brokers);
            if (s.kind === 'alter' && s.fault === 'none') expect(expected).toBe(ErrorCode.NONE);
            if (result.ok) {
              expect(expected).toBe(ErrorCode.NONE);
              expect(result.next).toEqual({ ...p, isr: req.newIsr.map((m) => m.id), partitionEpoch: p.partitionEpoch + 1 });
              apply([result.next]);
              fromAlter = p.partition;
              seen.accepted++;
            } else {
              expect(result.errorCode).toBe(expected);
              seen.refused.add(result.errorCode);
            }
          }

          for (const next of partitions) {
            const prev = before[next.partition];
            if (prev === undefined) throw new Error('lost a partition');
            // Shape: the ISR is never empty, a subset of the replicas, without duplicates.
            expect(next.replicas).toEqual(prev.replicas);
            expect(next.isr.length).toBeGreaterThan(0);
            expect(new Set(next.isr).size).toBe(next.isr.length);
            for (const id of next.isr) expect(next.replicas).toContain(id);
            // Leadership: -1 or an eligible ISR member; offline only when no ISR member is eligible.
            if (next.leader === -1) expect(next.isr.filter(isEligible)).toEqual([]);
            else {
              expect(next.isr).toContain(next.leader);
              expect(isEligible(next.leader)).toBe(true); // a fenced broker never leads, so is never elected
            }
            // Epochs: never down; the leader epoch moves exactly when the leader does.
            const leaderChanged = next.leader !== prev.leader;
            const isrChanged = next.isr.join() !== prev.isr.join();
            expect(next.leaderEpoch - prev.leaderEpoch).toBe(leaderChanged ? 1 : 0);
            if (next.partition === fromAlter) expect(next.partitionEpoch - prev.partitionEpoch).toBe(1);
            else expect(next.partitionEpoch - prev.partitionEpoch).toBe(leaderChanged || isrChanged ? 1 : 0);
            // No unclean election: a new leader was in the ISR before the step.
            if (leaderChanged && next.leader !== -1) {
              expect(prev.isr).toContain(next.leader);
              seen.leaderChanges++;
            }
            if (next.leader === -1) seen.offline++;
          }
        }
      }),
      { seed: propertySeed(), numRuns: 200 },
    );
    // The generator reaches the interesting states (a guard against a vacuous property).
    expect(seen.offline).toBeGreaterThan(0);
    expect(seen.leaderChanges).toBeGreaterThan(0);
    expect(seen.accepted).toBeGreaterThan(0);
    const { BROKER_ID_NOT_REGISTERED, STALE_BROKER_EPOCH, FENCED_LEADER_EPOCH, UNKNOWN_LEADER_EPOCH, INVALID_REQUEST, INVALID_UPDATE_VERSION, INELIGIBLE_REPLICA } = ErrorCode;
    expect([...seen.refused].sort((a, b) => a - b)).toEqual(
      [BROKER_ID_NOT_REGISTERED, STALE_BROKER_EPOCH, FENCED_LEADER_EPOCH, UNKNOWN_LEADER_EPOCH, INVALID_REQUEST, INVALID_UPDATE_VERSION, INELIGIBLE_REPLICA].sort((a, b) => a - b),
    );
  });
});
