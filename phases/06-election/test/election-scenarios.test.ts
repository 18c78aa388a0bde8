/**
 * The design scenarios of phase 6 with the real controller, brokers and clients of this
 * phase in one process (election-harness.ts): MemoryTransport, one MemoryStorage per
 * process, one ManualClock. Every lease expiry, election and truncation happens at a
 * virtual time the test chose, so each run takes the same steps. The pure versions of
 * the same scenarios (and the phase-5 contrast) are in truncation.test.ts.
 *
 * - A (KIP-101): a follower restarts and keeps an acknowledged record it could not yet
 *   know was committed; it is then elected and serves it.
 * - B (divergence): the old leader's record the new leader never had is cut when the
 *   old leader comes back; both logs end identical.
 * - C (KIP-279, double failover): a follower drops the record of an epoch the new leader
 *   never had, at the offset where the new leader has another record.
 * - D (zombie leader): a leader cut off from the controller and its follower, but not from
 *   the producer, acknowledges nothing, exposes nothing, and truncates what it appended
 *   alone once it can hear the new leader.
 */
import { afterEach, describe, expect, it, onTestFailed } from 'vitest';
import { type ElectionCluster as Cluster, ElectionCluster, brokerNode } from './election-harness.ts';

const TOPIC = 'events';

let cluster: Cluster | null = null;

afterEach(async () => {
  const c = cluster;
  cluster = null;
  await c?.close();
});

/** A cluster of `ids`, closed after the test; its log is printed only if the test fails. */
async function startCluster(ids: readonly number[]): Promise<Cluster> {
  const c = await ElectionCluster.start(ids);
  cluster = c;
  onTestFailed(() => {
    console.log(`--- cluster log (last 150 lines) ---\n${c.logTail(150)}`);
  });
  return c;
}

/** `promise`'s rejection (it must reject within `maxMs` virtual ms). */
async function rejectionOf(c: Cluster, promise: Promise<unknown>, maxMs: number, what: string): Promise<Error> {
  try {
    await c.settle(promise, maxMs, what);
  } catch (err) {
    if (err instanceof Error && err.message.startsWith('not within')) throw err;
    return err instanceof Error ? err : new Error(String(err));
  }
  throw new Error(`${what}: resolved, expected a rejection`);
}

describe('phase 6 scenarios, in process on a manual clock', () => {
  it.each([
    ['within the session timeout (the re-registration fences the old incarnation)', false],
    ['after the session timeout (the lease expiry fenced it first)', true],
  ])('A (KIP-101): the follower restarts %s, keeps a2, rejoins the ISR, and once elected serves a1 and a2', async (_name, waitForFence) => {
    const c = await startCluster([1, 2]);
    await c.createTopic(TOPIC, { replicationFactor: 2, minInsync: 2, via: 1 });
    const start = c.state(TOPIC);
    const [a, b] = start.replicas as [number, number];
    expect(start).toMatchObject({ leader: a, leaderEpoch: 0, isr: [a, b] });

    // acks=all: each send is acknowledged once both replicas hold it durably.
    const producer = c.producer({ bootstrap: [a, b], acks: -1, retries: 0, deliveryTimeoutMs: 5_000 });
    await c.settle(producer.connect(), 5_000, 'producer connect');
    expect(await c.settle(producer.send({ topic: TOPIC, messages: [{ value: 'a1', partition: 0 }] }), 5_000, 'a1 acknowledged')).toEqual([{ partition: 0, offset: 0 }]);
    expect(await c.settle(producer.send({ topic: TOPIC, messages: [{ value: 'a2', partition: 0 }] }), 5_000, 'a2 acknowledged')).toEqual([{ partition: 0, offset: 1 }]);
    expect(await c.recordsOf(b, TOPIC)).toEqual([[0, 'a1'], [1, 'a2']]);
    expect(c.replica(a, TOPIC).highWatermark).toBe(2);
    // B learns the HW only from its next fetch's answer: at this moment its HW lags the leader's.
    // Phase 5's restart rule (truncate to the HW) would cut a2, or more.
    expect(c.replica(b, TOPIC).highWatermark).toBeLessThan(2);
    const oldEpochOfB = c.controller.image.brokers.get(b)?.brokerEpoch as number;
    const logFrom = c.controller.image.nextOffset;

    // B crashes and restarts on the same disk.
    await c.crashBroker(b);
    if (waitForFence) {
      await c.advanceUntil(() => c.controller.image.brokers.get(b)?.fenced === true, 3_000, `the controller fences broker ${b} after its session timeout`);
      expect(c.state(TOPIC)).toMatchObject({ leader: a, leaderEpoch: 0, isr: [a] });
    }
    await c.restartBroker(b);
    await c.advanceUntil(
      () => c.state(TOPIC).isr.includes(b) && c.controller.image.brokers.get(b)?.fenced === false,
      10_000,
      `broker ${b}, restarted, rejoins the ISR`,
    );
    const newEpochOfB = c.controller.image.brokers.get(b)?.brokerEpoch as number;
    expect(newEpochOfB).toBeGreaterThan(oldEpochOfB);
    // The decisions, in order: the old incarnation left the ISR (fenced by the lease, or in
    // the same batch as the new registration), the new one registered, was unfenced, and
    // was added back by the leader's AlterPartition once it had caught up.
    const decisions = (await c.metadataLog(logFrom)).map((r) => (r.type === 'partition' ? `isr [${r.isr.join(',')}] leader ${r.leader}@${r.leaderEpoch}` : r.type === 'topic' ? `topic ${r.name}` : `${r.type} ${r.id}`));
    expect(decisions).toEqual([`fence-broker ${b}`, `isr [${a}] leader ${a}@0`, `register-broker ${b}`, `unfence-broker ${b}`, `isr [${a},${b}] leader ${a}@0`]);
    // The restarted B truncated by epoch (its epoch 0 ends at 2 on the leader): a2 is still there.
    expect(await c.recordsOf(b, TOPIC)).toEqual([[0, 'a1'], [1, 'a2']]);

    // A crashes for good: fenced after its session timeout, B elected in a higher epoch.
    await c.crashBroker(a);
    const took = await c.advanceUntil(() => c.state(TOPIC).leader === b, 3_000, `broker ${b} elected after broker ${a} is fenced`);
    expect(took).toBeGreaterThanOrEqual(c.timing.sessionTimeoutMs - c.timing.heartbeatIntervalMs);
    expect(c.state(TOPIC)).toMatchObject({ leader: b, leaderEpoch: 1, isr: [b] });
    await c.advanceUntil(() => c.rolesSettled(TOPIC), 2_000, `broker ${b} leads in epoch 1`);
    expect(c.replica(b, TOPIC).epochCache?.entries).toEqual([{ epoch: 0, startOffset: 0 }, { epoch: 1, startOffset: 2 }]);

    // Both acknowledged records are served by the new leader.
    expect(await c.consumeAll(TOPIC, [b])).toEqual([[0, 'a1'], [1, 'a2']]);
  });

  it('B (divergence): the old leader comes back, cuts m1 that the new leader never had, copies m3; both logs end identical', async () => {
    const c = await startCluster([1, 2]);
    await c.createTopic(TOPIC, { replicationFactor: 2, minInsync: 1, via: 1 });
    const [a, b] = c.state(TOPIC).replicas as [number, number];
    expect(c.state(TOPIC)).toMatchObject({ leader: a, leaderEpoch: 0, isr: [a, b] });

    const toA = c.producer({ bootstrap: [a], acks: 1, retries: 0, deliveryTimeoutMs: 5_000 });
    await c.settle(toA.connect(), 5_000, 'producer connect');
    expect(await c.settle(toA.send({ topic: TOPIC, messages: [{ value: 'm0', partition: 0 }] }), 5_000, 'm0 acknowledged')).toEqual([{ partition: 0, offset: 0 }]);
    await c.advanceUntil(() => c.replica(b, TOPIC).logEndOffset === 1 && c.replica(a, TOPIC).highWatermark === 1, 2_000, `broker ${b} copies m0 and it is committed`);

    // B is held back: the link between A and B is cut (both still reach the controller).
    c.net.cut(brokerNode(a), brokerNode(b));
    // acks=1: A acknowledges m1 alone; it is not committed (B, in the ISR, does not have it).
    expect(await c.settle(toA.send({ topic: TOPIC, messages: [{ value: 'm1', partition: 0 }] }), 5_000, 'm1 acknowledged by the leader alone')).toEqual([{ partition: 0, offset: 1 }]);
    expect([c.replica(a, TOPIC).logEndOffset, c.replica(a, TOPIC).highWatermark, c.replica(b, TOPIC).logEndOffset]).toEqual([2, 1, 1]);
    // B fell behind only now, far less than replicaLagTimeMaxMs ago: still in the ISR, so it can be elected.
    expect(c.state(TOPIC).isr).toEqual([a, b]);

    // A crashes; B is elected in epoch 1 and appends m3 where m1 was.
    await c.crashBroker(a);
    c.net.heal(brokerNode(a), brokerNode(b));
    await c.advanceUntil(() => c.state(TOPIC).leader === b, 3_000, `broker ${b} elected after broker ${a} is fenced`);
    expect(c.state(TOPIC)).toMatchObject({ leader: b, leaderEpoch: 1, isr: [b] });
    await c.advanceUntil(() => c.rolesSettled(TOPIC), 2_000, `broker ${b} leads in epoch 1`);
    const toB = c.producer({ bootstrap: [b], acks: 1, retries: 0, deliveryTimeoutMs: 5_000 });
    await c.settle(toB.connect(), 5_000, 'producer connect');
    expect(await c.settle(toB.send({ topic: TOPIC, messages: [{ value: 'm3', partition: 0 }] }), 5_000, 'm3 acknowledged by the new leader')).toEqual([{ partition: 0, offset: 1 }]);
    expect(await c.logOf(b, TOPIC)).toEqual([
      { offset: 0, value: 'm0', epoch: 0 },
      { offset: 1, value: 'm3', epoch: 1 },
    ]);

    // A restarts (its disk still holds m1 at offset 1: the truncation below starts from 2),
    // follows B, truncates by epoch, copies m3.
    await c.restartBroker(a);
    await c.advanceUntil(
      () => c.rolesSettled(TOPIC) && c.replica(a, TOPIC).epochCache?.latestEpoch === 1 && c.replica(a, TOPIC).logEndOffset === 2 && c.state(TOPIC).isr.includes(a),
      10_000,
      `broker ${a} truncates, copies m3 and rejoins the ISR`,
    );
    expect(c.logs.some((l) => l.includes(`${brokerNode(a)}#2: ${TOPIC}-0: truncating from 2 to 1 (leader ${b}'s epoch 0 ends at 1)`))).toBe(true);
    const logA = await c.logOf(a, TOPIC);
    expect(logA).toEqual(await c.logOf(b, TOPIC));
    expect(logA.map((r) => r.value)).toEqual(['m0', 'm3']);
    expect(await c.recordsOf(a, TOPIC)).toEqual(await c.recordsOf(b, TOPIC));
    expect(c.replica(a, TOPIC).epochCache?.entries).toEqual(c.replica(b, TOPIC).epochCache?.entries);
    expect(await c.consumeAll(TOPIC, [b])).toEqual([[0, 'm0'], [1, 'm3']]);
  });

  it('C (KIP-279, double failover): B drops m2 of epoch 1, which the new leader C never had, and copies C\'s m1 at that offset', async () => {
    const c = await startCluster([1, 2, 3]);
    await c.createTopic(TOPIC, { replicationFactor: 3, minInsync: 1, via: 1 });
    const [a, b, x] = c.state(TOPIC).replicas as [number, number, number];
    expect(c.state(TOPIC)).toMatchObject({ leader: a, leaderEpoch: 0, isr: [a, b, x] });

    // m0@0 in epoch 0, on every replica.
    const toA = c.producer({ bootstrap: [a], acks: 1, retries: 0, deliveryTimeoutMs: 5_000 });
    await c.settle(toA.connect(), 5_000, 'producer connect');
    expect(await c.settle(toA.send({ topic: TOPIC, messages: [{ value: 'm0', partition: 0 }] }), 5_000, 'm0 acknowledged')).toEqual([{ partition: 0, offset: 0 }]);
    await c.advanceUntil(() => c.replica(b, TOPIC).logEndOffset === 1 && c.replica(x, TOPIC).logEndOffset === 1, 2_000, 'both followers copy m0');

    // B hears neither A nor C from now on (it still reaches the controller).
    c.net.cut(brokerNode(a), brokerNode(b));
    c.net.cut(brokerNode(b), brokerNode(x));
    // A appends m1@1 in epoch 0; only C fetches it.
    expect(await c.settle(toA.send({ topic: TOPIC, messages: [{ value: 'm1', partition: 0 }] }), 5_000, 'm1 acknowledged by the leader')).toEqual([{ partition: 0, offset: 1 }]);
    await c.advanceUntil(() => c.replica(x, TOPIC).logEndOffset === 2, 2_000, `broker ${x} copies m1`);
    expect(c.replica(b, TOPIC).logEndOffset).toBe(1);
    expect(c.state(TOPIC).isr).toEqual([a, b, x]);

    // A crashes: B, first in assignment order among the ISR, leads epoch 1 from offset 1 and appends m2@1.
    await c.crashBroker(a);
    await c.advanceUntil(() => c.state(TOPIC).leader !== a, 3_000, `a new leader after broker ${a} is fenced`);
    expect(c.state(TOPIC)).toMatchObject({ leader: b, leaderEpoch: 1, isr: [b, x] });
    await c.advanceUntil(() => c.replica(b, TOPIC).role === 'leader' && c.replica(b, TOPIC).leaderEpoch === 1, 2_000, `broker ${b} leads in epoch 1`);
    const toB = c.producer({ bootstrap: [b], acks: 1, retries: 0, deliveryTimeoutMs: 5_000 });
    await c.settle(toB.connect(), 5_000, 'producer connect');
    expect(await c.settle(toB.send({ topic: TOPIC, messages: [{ value: 'm2', partition: 0 }] }), 5_000, 'm2 acknowledged by B')).toEqual([{ partition: 0, offset: 1 }]);
    expect(await c.logOf(b, TOPIC)).toEqual([
      { offset: 0, value: 'm0', epoch: 0 },
      { offset: 1, value: 'm2', epoch: 1 },
    ]);
    // B crashes before C fetched m2 (C could not reach it), and before C was out of sync for
    // replicaLagTimeMaxMs: C is still in the ISR.
    expect(c.state(TOPIC).isr).toEqual([b, x]);
    await c.crashBroker(b);

    // C leads epoch 2 from offset 2: it never had epoch 1.
    await c.advanceUntil(() => c.state(TOPIC).leader === x, 3_000, `broker ${x} elected after broker ${b} is fenced`);
    expect(c.state(TOPIC)).toMatchObject({ leader: x, leaderEpoch: 2, isr: [x] });
    await c.advanceUntil(() => c.replica(x, TOPIC).role === 'leader' && c.replica(x, TOPIC).leaderEpoch === 2, 2_000, `broker ${x} leads in epoch 2`);
    expect(c.replica(x, TOPIC).epochCache?.entries).toEqual([{ epoch: 0, startOffset: 0 }, { epoch: 2, startOffset: 2 }]);

    // B restarts and follows C: it asks about epoch 1, C answers with its epoch 0 and where
    // that ended (2); B's own epoch 0 ended at 1, so it cuts at 1 (KIP-279) and copies m1.
    c.net.heal(brokerNode(b), brokerNode(x));
    await c.restartBroker(b);
    await c.advanceUntil(
      () => c.rolesSettled(TOPIC) && c.replica(b, TOPIC).logEndOffset === 2 && c.replica(b, TOPIC).epochCache?.latestEpoch === 0 && c.state(TOPIC).isr.includes(b),
      10_000,
      `broker ${b} truncates, copies m1 and rejoins the ISR`,
    );
    expect(c.logs.some((l) => l.includes(`${brokerNode(b)}#2: ${TOPIC}-0: truncating from 2 to 1 (leader ${x}'s epoch 0 ends at 2)`))).toBe(true);
    const logB = await c.logOf(b, TOPIC);
    expect(logB).toEqual([
      { offset: 0, value: 'm0', epoch: 0 },
      { offset: 1, value: 'm1', epoch: 0 },
    ]);
    expect(logB).toEqual(await c.logOf(x, TOPIC));
    expect(await c.recordsOf(b, TOPIC)).toEqual(await c.recordsOf(x, TOPIC));

    // The two logs go on together: m4 in epoch 2 lands at offset 2 on both.
    const toC = c.producer({ bootstrap: [x], acks: -1, retries: 0, deliveryTimeoutMs: 5_000 });
    await c.settle(toC.connect(), 5_000, 'producer connect');
    expect(await c.settle(toC.send({ topic: TOPIC, messages: [{ value: 'm4', partition: 0 }] }), 5_000, 'm4 acknowledged by C and B')).toEqual([{ partition: 0, offset: 2 }]);
    expect(await c.logOf(b, TOPIC)).toEqual(await c.logOf(x, TOPIC));
    expect(await c.consumeAll(TOPIC, [x])).toEqual([[0, 'm0'], [1, 'm1'], [2, 'm4']]);
  });

  it('D (zombie leader): A, cut off from the controller and B but not from the producer, acknowledges and exposes nothing, and after the heal truncates what it appended alone', async () => {
    const c = await startCluster([1, 2]);
    await c.createTopic(TOPIC, { replicationFactor: 2, minInsync: 2, via: 1 });
    const [a, b] = c.state(TOPIC).replicas as [number, number];

    const producer = c.producer({ bootstrap: [a], acks: -1, retries: 0, deliveryTimeoutMs: 2_000 });
    await c.settle(producer.connect(), 5_000, 'producer connect');
    expect(await c.settle(producer.send({ topic: TOPIC, messages: [{ value: 'a1', partition: 0 }] }), 5_000, 'a1 acknowledged')).toEqual([{ partition: 0, offset: 0 }]);

    // A is isolated from the controller and from B; the producer still reaches it.
    c.net.isolate(brokerNode(a), ['controller', brokerNode(b)]);
    const z1 = producer.send({ topic: TOPIC, messages: [{ value: 'z1', partition: 0 }] });
    // A appends z1 but cannot commit it: B, in the ISR, never fetches it, and A cannot shrink the ISR on its own.
    await c.advanceUntil(() => c.replica(a, TOPIC).logEndOffset === 2, 1_000, 'the zombie appends z1');
    // Meanwhile the controller fences A and elects B.
    await c.advanceUntil(() => c.state(TOPIC).leader === b, 3_000, `broker ${b} elected after broker ${a} is fenced`);
    expect(c.state(TOPIC)).toMatchObject({ leader: b, leaderEpoch: 1, isr: [b] });
    const err = await rejectionOf(c, z1, 5_000, 'z1 must not be acknowledged');
    expect(err.message).toMatch(/REQUEST_TIMED_OUT|not yet on every ISR member/);
    // The zombie still believes it leads epoch 0, holds z1 in its log, and never exposed it.
    const zombie = c.replica(a, TOPIC);
    expect([zombie.role, zombie.leaderEpoch, zombie.logEndOffset, zombie.highWatermark]).toEqual(['leader', 0, 2, 1]);
    expect(zombie.leaderReplica?.isr).toEqual([a, b]);
    expect(await c.consumeAll(TOPIC, [a])).toEqual([[0, 'a1']]);
    // The new leader, alone in the ISR, refuses acks=all (minInsync 2): nobody acknowledges anything.
    const toB = c.producer({ bootstrap: [b], acks: -1, retries: 0, deliveryTimeoutMs: 2_000 });
    await c.settle(toB.connect(), 5_000, 'producer connect');
    const refused = await rejectionOf(c, toB.send({ topic: TOPIC, messages: [{ value: 'b1', partition: 0 }] }), 5_000, 'b1 refused');
    expect(refused.message).toMatch(/NOT_ENOUGH_REPLICAS|smaller than minInsyncReplicas/);

    // The heal: A hears the controller again, learns it follows B in epoch 1, cuts z1, and rejoins the ISR.
    c.net.healAll();
    await c.advanceUntil(
      () => c.rolesSettled(TOPIC) && c.replica(a, TOPIC).logEndOffset === 1 && c.state(TOPIC).isr.includes(a),
      10_000,
      `broker ${a} follows broker ${b}, truncates and rejoins the ISR`,
    );
    expect(c.logs.some((l) => l.includes(`${brokerNode(a)}#1: ${TOPIC}-0: truncating from 2 to 1 (leader ${b}'s epoch 0 ends at 1)`))).toBe(true);
    expect(await c.logOf(a, TOPIC)).toEqual([{ offset: 0, value: 'a1', epoch: 0 }]);
    expect(await c.logOf(a, TOPIC)).toEqual(await c.logOf(b, TOPIC));

    // acks=all works again, through the new leader, onto both replicas.
    expect(await c.settle(toB.send({ topic: TOPIC, messages: [{ value: 'z3', partition: 0 }] }), 5_000, 'z3 acknowledged')).toEqual([{ partition: 0, offset: 1 }]);
    expect(await c.logOf(a, TOPIC)).toEqual([
      { offset: 0, value: 'a1', epoch: 0 },
      { offset: 1, value: 'z3', epoch: 1 },
    ]);
    expect(await c.logOf(a, TOPIC)).toEqual(await c.logOf(b, TOPIC));
    expect(await c.consumeAll(TOPIC, [b])).toEqual([[0, 'a1'], [1, 'z3']]);
  });
});
