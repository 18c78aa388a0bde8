import { describe, expect, it } from 'vitest';
import { tpKey, type TopicPartition } from '../src/topics/partition.ts';
import { Group, GroupError, type GroupConfig, type GroupInput, type GroupReady, type GroupResponse } from '../src/groups/group.ts';

const SESSION_MS = 1000;
const REBALANCE_MS = 3000;

/** Drives one Group with explicit time, the way coordinator.ts does with its Clock. */
class Harness {
  nowMs = 0;
  readonly group: Group;
  readonly persisted: number[] = [];
  readonly answered = new Map<number, GroupResponse>();
  #token = 0;
  #ids = 0;

  constructor(partitions = 4, config: Partial<GroupConfig> = {}, generation?: number) {
    this.group = new Group('g', {
      partitionsOf: (topic) => (topic === 't' ? partitions : topic === 'u' ? 1 : undefined),
      newMemberId: (clientId) => `${clientId}-${++this.#ids}`,
      config,
      ...(generation === undefined ? {} : { generation }),
    });
  }

  /** Feed an input (a token is added) and return its token. */
  send(input: DistributiveOmit<GroupInput, 'token'>): number {
    const token = ++this.#token;
    this.#apply(this.group.handle({ ...input, token } as GroupInput, this.nowMs));
    return token;
  }

  tick(toMs: number): void {
    this.nowMs = toMs;
    this.#apply(this.group.handle({ type: 'tick' }, this.nowMs));
  }

  #apply(ready: GroupReady): void {
    if (ready.persistGeneration !== undefined) this.persisted.push(ready.persistGeneration);
    for (const r of ready.responses) {
      expect(this.answered.has(r.token), `token ${r.token} answered twice`).toBe(false);
      this.answered.set(r.token, r);
    }
  }

  response<T extends GroupResponse['type']>(token: number, type: T): Extract<GroupResponse, { type: T }> {
    const r = this.answered.get(token);
    expect(r?.type).toBe(type);
    return r as Extract<GroupResponse, { type: T }>;
  }

  pending(token: number): boolean {
    return !this.answered.has(token);
  }

  join(memberId = '', owned: readonly TopicPartition[] = [], topics = ['t']): number {
    return this.send({ type: 'join', memberId, clientId: 'c', topics, owned, sessionTimeoutMs: SESSION_MS, rebalanceTimeoutMs: REBALANCE_MS });
  }

  /** Sync and return the assignment (asserting success). */
  sync(memberId: string, generation: number): TopicPartition[] {
    const r = this.response(this.send({ type: 'sync', memberId, generation }), 'sync');
    expect(r.error).toBe(GroupError.NONE);
    return [...r.assignment];
  }

  heartbeat(memberId: string, generation: number): number {
    return this.response(this.send({ type: 'heartbeat', memberId, generation }), 'heartbeat').error;
  }

  commit(memberId: string, generation: number): number {
    return this.response(this.send({ type: 'commit', memberId, generation }), 'commit').error;
  }
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
const keys = (l: readonly TopicPartition[]): string[] => l.map(tpKey);

/** One member alone: join, sync, and return its id and assignment. */
function soloMember(h: Harness): { id: string; owned: TopicPartition[] } {
  const join = h.response(h.join(), 'join');
  expect(join.error).toBe(GroupError.NONE);
  return { id: join.memberId, owned: h.sync(join.memberId, join.generation) };
}

describe('group state machine', () => {
  it('a first member joins generation 1, gets every partition, and the generation is persisted before the reply', () => {
    const h = new Harness();
    expect(h.group.state).toBe('Empty');
    const join = h.response(h.join(), 'join');
    expect(join).toMatchObject({ error: 0, generation: 1, memberId: 'c-1', leaderId: 'c-1', members: ['c-1'] });
    expect(h.persisted).toEqual([1]);
    expect(h.group.state).toBe('CompletingRebalance');
    expect(keys(h.sync('c-1', 1))).toEqual(['t:0', 't:1', 't:2', 't:3']);
    expect(h.group.state).toBe('Stable');
    expect(h.heartbeat('c-1', 1)).toBe(GroupError.NONE);
  });

  it('a second member triggers a cooperative rebalance: the first keeps consuming, moves take two generations', () => {
    const h = new Harness();
    const a = soloMember(h);
    const joinB = h.join();
    expect(h.pending(joinB)).toBe(true); // held until a rejoins
    expect(h.group.state).toBe('PreparingRebalance');
    expect(h.heartbeat(a.id, 1)).toBe(GroupError.REBALANCE_IN_PROGRESS);
    // a commits what it has processed while the group rebalances: allowed.
    expect(h.commit(a.id, 1)).toBe(GroupError.NONE);
    const joinA = h.join(a.id, a.owned);
    const rA = h.response(joinA, 'join');
    const rB = h.response(joinB, 'join');
    expect([rA.generation, rB.generation]).toEqual([2, 2]);
    // Generation 2: a keeps two partitions, b gets nothing yet (a still owns them).
    const a2 = h.sync(a.id, 2);
    expect(keys(a2)).toEqual(['t:0', 't:1']);
    expect(h.sync(rB.memberId, 2)).toEqual([]);
    // Everyone synced and partitions were held back: the follow-up starts at once.
    expect(h.group.state).toBe('PreparingRebalance');
    expect(h.heartbeat(rB.memberId, 2)).toBe(GroupError.REBALANCE_IN_PROGRESS);
    const joinB3 = h.join(rB.memberId, []);
    const joinA3 = h.join(a.id, a2); // a revoked t:2 and t:3 before rejoining
    expect(h.response(joinA3, 'join').generation).toBe(3);
    expect(h.response(joinB3, 'join').generation).toBe(3);
    expect(keys(h.sync(a.id, 3))).toEqual(['t:0', 't:1']);
    expect(keys(h.sync(rB.memberId, 3))).toEqual(['t:2', 't:3']);
    expect(h.group.state).toBe('Stable');
    expect(h.persisted).toEqual([1, 2, 3]);
  });

  it('never assigns a partition its old owner has not reported as revoked', () => {
    const h = new Harness();
    const a = soloMember(h);
    const joinB = h.join();
    h.join(a.id, a.owned);
    const b = h.response(joinB, 'join').memberId;
    h.sync(a.id, 2);
    h.sync(b, 2);
    // a rejoins for the follow-up but still claims everything (it has not revoked):
    // b must not get a's partitions.
    h.join(b, []);
    h.join(a.id, a.owned);
    expect(h.sync(b, 3)).toEqual([]);
    expect(keys(h.sync(a.id, 3))).toEqual(['t:0', 't:1']);
  });

  it('a leaving member hands its partitions over after the others rejoin', () => {
    const h = new Harness();
    const a = soloMember(h);
    const joinB = h.join();
    h.join(a.id, a.owned);
    const b = h.response(joinB, 'join').memberId;
    const a2 = h.sync(a.id, 2);
    h.sync(b, 2);
    h.join(b, []);
    h.join(a.id, a2);
    h.sync(a.id, 3);
    h.sync(b, 3);
    expect(h.response(h.send({ type: 'leave', memberId: a.id }), 'leave').error).toBe(GroupError.NONE);
    expect(h.heartbeat(b, 3)).toBe(GroupError.REBALANCE_IN_PROGRESS);
    expect(h.heartbeat(a.id, 3)).toBe(GroupError.UNKNOWN_MEMBER_ID);
    const joinB4 = h.join(b, [{ topic: 't', partition: 2 }, { topic: 't', partition: 3 }]);
    expect(h.response(joinB4, 'join').generation).toBe(4);
    expect(keys(h.sync(b, 4))).toEqual(['t:0', 't:1', 't:2', 't:3']);
  });

  it('expires a member that stops heartbeating after its session timeout, and not a moment before', () => {
    const h = new Harness();
    const a = soloMember(h);
    const joinB = h.join();
    h.join(a.id, a.owned);
    const b = h.response(joinB, 'join').memberId;
    const a2 = h.sync(a.id, 2);
    h.sync(b, 2);
    h.join(b, []);
    h.join(a.id, a2);
    h.sync(a.id, 3);
    h.sync(b, 3);
    // b keeps heartbeating; a goes silent at t=0.
    h.tick(600);
    expect(h.heartbeat(b, 3)).toBe(GroupError.NONE);
    expect(h.group.nextDeadlineMs()).toBe(SESSION_MS); // a's session ends first
    h.tick(SESSION_MS - 1);
    expect(h.group.describe().members).toHaveLength(2);
    h.tick(SESSION_MS);
    expect(h.group.describe().members.map((m) => m.memberId)).toEqual([b]);
    expect(h.heartbeat(b, 3)).toBe(GroupError.REBALANCE_IN_PROGRESS);
    const join = h.join(b, [{ topic: 't', partition: 2 }, { topic: 't', partition: 3 }]);
    expect(h.response(join, 'join').generation).toBe(4);
    expect(keys(h.sync(b, 4))).toEqual(['t:0', 't:1', 't:2', 't:3']);
    // The expired member is a zombie now: it cannot commit, whatever generation it names.
    expect(h.commit(a.id, 3)).toBe(GroupError.UNKNOWN_MEMBER_ID);
    expect(h.commit(a.id, 4)).toBe(GroupError.UNKNOWN_MEMBER_ID);
  });

  it('removes a member that does not rejoin within the rebalance timeout', () => {
    const h = new Harness();
    const a = soloMember(h);
    h.tick(500);
    const joinB = h.join();
    // a keeps heartbeating (so its session never runs out) but never rejoins.
    for (let t = 900; t < 500 + REBALANCE_MS; t += 400) {
      h.tick(t);
      expect(h.heartbeat(a.id, 1)).toBe(GroupError.REBALANCE_IN_PROGRESS);
    }
    expect(h.pending(joinB)).toBe(true);
    expect(h.group.nextDeadlineMs()).toBe(500 + REBALANCE_MS);
    h.tick(500 + REBALANCE_MS);
    const rB = h.response(joinB, 'join');
    expect(rB).toMatchObject({ error: 0, generation: 2, members: [rB.memberId] });
    expect(keys(h.sync(rB.memberId, 2))).toHaveLength(4);
    expect(h.heartbeat(a.id, 1)).toBe(GroupError.UNKNOWN_MEMBER_ID);
  });

  it('fences commits: stale generation 22, unknown member 25, not yet synced 27', () => {
    const h = new Harness();
    const a = soloMember(h);
    expect(h.commit(a.id, 1)).toBe(GroupError.NONE);
    expect(h.commit(a.id, 0)).toBe(GroupError.ILLEGAL_GENERATION);
    expect(h.commit('nobody', 1)).toBe(GroupError.UNKNOWN_MEMBER_ID);
    const joinB = h.join();
    h.join(a.id, a.owned);
    const b = h.response(joinB, 'join').memberId;
    // Generation 2 exists; a has not fetched its assignment yet.
    expect(h.commit(a.id, 1)).toBe(GroupError.ILLEGAL_GENERATION); // the zombie case
    expect(h.commit(a.id, 2)).toBe(GroupError.REBALANCE_IN_PROGRESS);
    h.sync(a.id, 2);
    expect(h.commit(a.id, 2)).toBe(GroupError.NONE);
    expect(h.commit(b, 2)).toBe(GroupError.REBALANCE_IN_PROGRESS);
  });

  it('rejects bad joins with their own codes and creates nothing', () => {
    const h = new Harness(4, { membersMax: 1 });
    const bad = (input: Partial<Extract<GroupInput, { type: 'join' }>>): number => {
      const token = h.send({ type: 'join', memberId: '', clientId: 'c', topics: ['t'], owned: [], sessionTimeoutMs: SESSION_MS, rebalanceTimeoutMs: REBALANCE_MS, ...input });
      return h.response(token, 'join').error;
    };
    expect(bad({ sessionTimeoutMs: 1 })).toBe(GroupError.INVALID_SESSION_TIMEOUT);
    expect(bad({ sessionTimeoutMs: 10_000_000 })).toBe(GroupError.INVALID_SESSION_TIMEOUT);
    expect(bad({ rebalanceTimeoutMs: 0 })).toBe(GroupError.INVALID_SESSION_TIMEOUT);
    expect(bad({ topics: [] })).toBe(GroupError.INCONSISTENT_GROUP_PROTOCOL);
    expect(bad({ memberId: 'ghost' })).toBe(GroupError.UNKNOWN_MEMBER_ID);
    expect(h.group.state).toBe('Empty');
    expect(h.group.size).toBe(0);
    soloMember(h);
    expect(bad({ topics: ['u'] })).toBe(GroupError.INCONSISTENT_GROUP_PROTOCOL);
    expect(bad({})).toBe(GroupError.GROUP_MAX_SIZE_REACHED);
    expect(h.group.size).toBe(1);
  });

  it('continues generation numbers from the persisted one', () => {
    const h = new Harness(4, {}, 41);
    const join = h.response(h.join(), 'join');
    expect(join.generation).toBe(42);
    expect(h.persisted).toEqual([42]);
  });

  it('waits the initial rebalance delay so members starting together share the first generation', () => {
    const h = new Harness(4, { initialRebalanceDelayMs: 200 });
    const j1 = h.join();
    h.tick(100);
    const j2 = h.join();
    expect(h.group.nextDeadlineMs()).toBe(200);
    h.tick(199);
    expect(h.pending(j1) || h.pending(j2)).toBe(true);
    h.tick(200);
    const [r1, r2] = [h.response(j1, 'join'), h.response(j2, 'join')];
    expect([r1.generation, r2.generation]).toEqual([1, 1]);
    expect(keys(h.sync(r1.memberId, 1))).toEqual(['t:0', 't:2']);
    expect(keys(h.sync(r2.memberId, 1))).toEqual(['t:1', 't:3']);
    expect(h.group.state).toBe('Stable');
  });

  it('goes back to Empty when the last member leaves, keeping its generation', () => {
    const h = new Harness();
    const a = soloMember(h);
    h.send({ type: 'leave', memberId: a.id });
    expect(h.group.state).toBe('Empty');
    expect(h.group.generation).toBe(1);
    expect(h.group.nextDeadlineMs()).toBeNull();
    expect(h.response(h.join(), 'join').generation).toBe(2);
  });
});
