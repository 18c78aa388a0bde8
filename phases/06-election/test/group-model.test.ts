/**
 * The coordinator's safety promise, checked as a property over random histories: clients
 * that follow the protocol (revoke what they lose before rejoining, report what they still
 * own) never consume a partition at the same time as another member of the group, whatever
 * the order of joins, clean leaves, crashes, heartbeats and elapsed time; and once things
 * calm down, every partition is consumed by exactly one member, balanced to within one.
 * Drives the real state machine (group.ts) with simulated clients and time.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { propertySeed } from '../../../shared/src/testing.ts';
import { tpKey, type TopicPartition } from '../src/topics/partition.ts';
import { Group, GroupError, type GroupInput, type GroupResponse } from '../src/groups/group.ts';

const PARTITIONS = 6;
const SESSION_MS = 1000;
const REBALANCE_MS = 3000;

type Action =
  | { type: 'start' }
  | { type: 'leave'; client: number }
  | { type: 'crash'; client: number }
  | { type: 'heartbeat' }
  | { type: 'deliver'; client: number }
  | { type: 'advance'; ms: number };

interface Client {
  memberId: string;
  generation: number;
  /** Partitions this client is processing right now. */
  consuming: TopicPartition[];
  /** Waiting for a JoinGroup answer. */
  joining: boolean;
  /** Crashed or left: sends nothing more (a crashed one is still "consuming" as a zombie). */
  gone: boolean;
  /** Answers that arrived and that the client has not acted on yet (network and
   * processing delay: meanwhile it goes on consuming what it had). */
  inbox: { response: GroupResponse; sentInGeneration: number }[];
}

/** Protocol-following clients around one Group, with a clock. */
class World {
  nowMs = 0;
  readonly group: Group;
  readonly clients: Client[] = [];
  readonly #pending = new Map<number, { client: Client; generation: number }>();
  #token = 0;
  #ids = 0;

  constructor() {
    this.group = new Group('g', {
      partitionsOf: (t) => (t === 't' ? PARTITIONS : undefined),
      newMemberId: () => `m${++this.#ids}`,
    });
  }

  send(client: Client, input: GroupInput extends infer T ? (T extends { token: number } ? Omit<T, 'token'> : never) : never): void {
    const token = ++this.#token;
    this.#pending.set(token, { client, generation: client.generation });
    this.#deliver(this.group.handle({ ...input, token } as GroupInput, this.nowMs).responses);
  }

  join(client: Client): void {
    client.joining = true;
    this.send(client, { type: 'join', memberId: client.memberId, clientId: 'c', topics: ['t'], owned: client.consuming, sessionTimeoutMs: SESSION_MS, rebalanceTimeoutMs: REBALANCE_MS });
  }

  tick(): void {
    this.#deliver(this.group.handle({ type: 'tick' }, this.nowMs).responses);
  }

  /** Move time forward in steps, ticking at every deadline the group asks for. */
  advance(ms: number): void {
    const target = this.nowMs + ms;
    for (let d = this.group.nextDeadlineMs(); d !== null && d <= target; d = this.group.nextDeadlineMs()) {
      this.nowMs = Math.max(this.nowMs, d);
      this.tick();
    }
    this.nowMs = target;
    this.tick();
  }

  /** Answers go to their client's inbox; the client acts on them when delivered. */
  #deliver(responses: GroupResponse[]): void {
    for (const r of responses) {
      const p = this.#pending.get(r.token);
      this.#pending.delete(r.token);
      if (p === undefined) throw new Error(`response to unknown token ${r.token}`);
      p.client.inbox.push({ response: r, sentInGeneration: p.generation });
    }
  }

  /** The client side of the protocol: what a well-behaved consumer does with an answer. */
  receive(c: Client): void {
    const next = c.inbox.shift();
    if (next === undefined || c.gone) return;
    const r = next.response;
    {
      if (r.type === 'join') {
        c.joining = false;
        if (r.error === GroupError.UNKNOWN_MEMBER_ID) this.#lost(c);
        else if (r.error === GroupError.NONE) {
          c.memberId = r.memberId;
          c.generation = r.generation;
          this.send(c, { type: 'sync', memberId: c.memberId, generation: c.generation });
        } else this.join(c);
      } else if (r.type === 'sync') {
        if (r.error === GroupError.NONE) {
          const assigned = new Set(r.assignment.map(tpKey));
          const revoked = c.consuming.filter((tp) => !assigned.has(tpKey(tp)));
          c.consuming = [...r.assignment];
          if (revoked.length > 0) this.join(c); // KIP-429: revoked, so rejoin for the follow-up
        } else if (r.error === GroupError.UNKNOWN_MEMBER_ID) this.#lost(c);
        else this.join(c);
      } else if (r.type === 'heartbeat') {
        // An answer about a generation we have left, or from before a join we started, is stale.
        if (c.joining || next.sentInGeneration !== c.generation) return;
        if (r.error === GroupError.REBALANCE_IN_PROGRESS) this.join(c);
        else if (r.error === GroupError.UNKNOWN_MEMBER_ID || r.error === GroupError.ILLEGAL_GENERATION) this.#lost(c);
      }
    }
  }

  /** Fenced: the group went on without us. Drop everything, uncommitted, and rejoin fresh. */
  #lost(c: Client): void {
    c.consuming = [];
    c.memberId = '';
    this.join(c);
  }

  apply(a: Action): void {
    const live = this.clients.filter((c) => !c.gone);
    switch (a.type) {
      case 'start': {
        const c: Client = { memberId: '', generation: -1, consuming: [], joining: false, gone: false, inbox: [] };
        this.clients.push(c);
        this.join(c);
        break;
      }
      case 'leave': {
        const c = live[a.client % Math.max(1, live.length)];
        if (c === undefined || c.memberId === '') break;
        c.gone = true;
        c.consuming = [];
        this.send(c, { type: 'leave', memberId: c.memberId });
        break;
      }
      case 'crash': {
        const c = live[a.client % Math.max(1, live.length)];
        if (c !== undefined) c.gone = true; // keeps "consuming" as a zombie, silently
        break;
      }
      case 'heartbeat':
        for (const c of live) if (!c.joining && c.memberId !== '') this.send(c, { type: 'heartbeat', memberId: c.memberId, generation: c.generation });
        break;
      case 'deliver': {
        const c = live[a.client % Math.max(1, live.length)];
        if (c !== undefined) this.receive(c);
        break;
      }
      case 'advance':
        this.advance(a.ms);
        break;
    }
  }

  /** Safety: among the group's current members, nobody consumes what another consumes. */
  checkNoTwoOwners(step: string): void {
    const members = new Set(this.group.describe().members.map((m) => m.memberId));
    const owner = new Map<string, string>();
    for (const c of this.clients) {
      if (!members.has(c.memberId)) continue;
      for (const k of c.consuming.map(tpKey)) {
        expect(owner.get(k), `${k} consumed by ${owner.get(k)} and ${c.memberId} after ${step}`).toBeUndefined();
        owner.set(k, c.memberId);
      }
    }
  }
}

const action: fc.Arbitrary<Action> = fc.oneof(
  { weight: 3, arbitrary: fc.constant<Action>({ type: 'start' }) },
  { weight: 1, arbitrary: fc.nat(10).map<Action>((client) => ({ type: 'leave', client })) },
  { weight: 1, arbitrary: fc.nat(10).map<Action>((client) => ({ type: 'crash', client })) },
  { weight: 3, arbitrary: fc.constant<Action>({ type: 'heartbeat' }) },
  { weight: 8, arbitrary: fc.nat(10).map<Action>((client) => ({ type: 'deliver', client })) },
  { weight: 4, arbitrary: fc.integer({ min: 1, max: 1500 }).map<Action>((ms) => ({ type: 'advance', ms })) },
);

describe('group state machine under random histories', () => {
  it('never lets two members consume one partition, and settles to one balanced owner per partition', () => {
    fc.assert(
      fc.property(fc.array(action, { minLength: 1, maxLength: 80 }), (actions) => {
        const w = new World();
        actions.forEach((a, i) => {
          w.apply(a);
          w.checkNoTwoOwners(`step ${i} ${JSON.stringify(a)}`);
        });
        // Calm: live clients heartbeat faithfully until the rebalance timeouts have passed
        // and zombies have expired.
        for (let i = 0; i < 25; i++) {
          w.apply({ type: 'heartbeat' });
          for (let k = 0; k < 4; k++) {
            for (const c of w.clients) {
              w.receive(c);
              w.checkNoTwoOwners(`settling ${i}`);
            }
          }
          w.apply({ type: 'advance', ms: 200 });
          w.checkNoTwoOwners(`settling ${i}`);
        }
        const live = w.clients.filter((c) => !c.gone);
        const members = w.group.describe().members;
        expect(members.map((m) => m.memberId).sort()).toEqual(live.map((c) => c.memberId).sort());
        if (live.length === 0) return;
        expect(w.group.state).toBe('Stable');
        const consumed = live.flatMap((c) => c.consuming.map(tpKey)).sort();
        expect(consumed).toEqual(Array.from({ length: PARTITIONS }, (_, p) => `t:${p}`).sort());
        const sizes = live.map((c) => c.consuming.length);
        expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1);
      }),
      { seed: propertySeed(), numRuns: 150 },
    );
  });
});
