/**
 * The group consumer and the group APIs against a real broker over TCP, in one process:
 * members split partitions, a clean leave hands them over at once, a revoked partition
 * resumes exactly where its old owner stopped (commit on revoke), eachBatch works with
 * manual commits, a zombie (a member the group has left behind) can neither commit nor
 * keep its partitions, and the broker compacts `__consumer_offsets` under a stream of
 * commits and replays it after a restart.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { waitFor } from '../../../shared/src/testing.ts';
import { ManualClock } from '../src/seams/clock.ts';
import { Connection } from '../src/client/connection.ts';
import { GroupConsumer, type GroupConsumerOptions, type GroupJoinEvent, type RunOptions } from '../src/client/group-consumer.ts';
import { GroupMember } from '../src/client/group-member.ts';
import { OFFSETS_DIR } from '../src/groups/offsets-store.ts';
import { Producer } from '../src/client/producer.ts';
import { DescribeGroups } from '../src/protocol/describe-groups.ts';
import { ErrorCode } from '../src/protocol/errors.ts';
import { JoinGroup } from '../src/protocol/join-group.ts';
import { OffsetCommit } from '../src/protocol/offset-commit.ts';
import { OffsetFetch } from '../src/protocol/offset-fetch.ts';
import { SyncGroup } from '../src/protocol/sync-group.ts';
import { Broker } from '../src/server/broker.ts';
import { testResources } from './wire-helpers.ts';
import { realSeams } from '../src/seams/real.ts';

const t = testResources();
const TOPIC = 'events';

/** A broker with topic `events` of `partitions` partitions and a connected producer. */
async function setup(partitions: number) {
  const b = await t.broker();
  await b.broker.createTopic({ name: TOPIC, partitions });
  const producer = new Producer({ ...realSeams(), port: b.port });
  await producer.connect();
  t.defer(() => producer.disconnect());
  const produced: string[] = [];
  const produce = async (count: number): Promise<void> => {
    const messages = Array.from({ length: count }, (_, i) => ({ key: `k${produced.length + i}`, value: `v${produced.length + i}` }));
    for (const r of await producer.send({ topic: TOPIC, messages })) produced.push(`${r.partition}:${r.offset}`);
  };
  return { port: b.port, produced, produce };
}

/** A running group consumer recording what it processed ("partition:offset"). */
function member(port: number, processed: string[], opts: Partial<GroupConsumerOptions> = {}, run: Partial<RunOptions> = {}) {
  const consumer = new GroupConsumer({ ...realSeams(), port, groupId: 'g', sessionTimeoutMs: 10_000, heartbeatIntervalMs: 100, maxWaitMs: 50, ...opts });
  const joins: GroupJoinEvent[] = [];
  consumer.on('group.join', (e) => joins.push(e));
  const done = consumer.connect().then(() => {
    consumer.subscribe({ topic: TOPIC });
    return consumer.run({ autoCommitIntervalMs: 100, eachMessage: ({ partition, message }) => void processed.push(`${partition}:${message.offset}`), ...run });
  });
  t.defer(() => consumer.disconnect());
  return { consumer, joins, done };
}

const sorted = (xs: readonly string[]): string[] => [...xs].sort();

describe('group consumer over TCP', () => {
  it('splits the partitions, hands them over cleanly on join and on leave, and processes every record exactly once', async () => {
    const { port, produced, produce } = await setup(4);
    const processed: string[] = [];
    const a = member(port, processed);
    await waitFor(() => a.consumer.assignment.length === 4);
    await produce(200);
    await waitFor(() => processed.length >= 200);

    // b joins: two cooperative rounds; a commits what it gives up before b gets it.
    // b's session (300 s, the broker's maximum) outlasts the test: only its LeaveGroup can end it.
    const b = member(port, processed, { sessionTimeoutMs: 300_000 });
    await waitFor(() => a.consumer.assignment.length === 2 && b.consumer.assignment.length === 2, 15_000);
    expect(sorted([...a.consumer.assignment, ...b.consumer.assignment].map((p) => `${p.partition}`))).toEqual(['0', '1', '2', '3']);
    const [first] = b.joins;
    expect(first?.assignment).toEqual([]); // the first round gives b nothing: a still owns it all
    await produce(200);
    await waitFor(() => processed.length >= 400);

    // b leaves: LeaveGroup, so a gets everything without waiting for b's session to end.
    await b.consumer.disconnect();
    await waitFor(() => a.consumer.assignment.length === 4, 15_000);
    await produce(200);
    await waitFor(() => processed.length >= 600);
    expect(sorted(processed)).toEqual(sorted(produced)); // each exactly once: commits on revoke and leave
  });

  it('runs eachBatch with resolveOffset and manual commits, and a new member resumes from them', async () => {
    const { port, produce } = await setup(1);
    await produce(50);
    const seen: number[] = [];
    const first = new GroupConsumer({ ...realSeams(), port, groupId: 'batchers', maxWaitMs: 50 });
    await first.connect();
    first.subscribe({ topic: TOPIC });
    const running = first.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      eachBatch: async ({ batch, resolveOffset, isRunning, isStale }) => {
        for (const m of batch.messages) {
          if (!isRunning() || isStale() || m.offset >= 30) break;
          seen.push(m.offset);
          resolveOffset(m.offset);
        }
        if (seen.length === 30) {
          await first.commitOffsets([{ topic: TOPIC, partition: 0, offset: 30 }]);
          first.stop();
        }
      },
    });
    await running;
    await first.disconnect();
    expect(seen).toEqual(Array.from({ length: 30 }, (_, i) => i));

    const rest: number[] = [];
    const second = member(port, [], { groupId: 'batchers' }, { eachMessage: ({ message }) => void rest.push(message.offset) });
    await waitFor(() => rest.length >= 20);
    expect(rest).toEqual(Array.from({ length: 20 }, (_, i) => 30 + i));
    await second.consumer.disconnect();
  });

  it('fences a zombie over the wire: stale generation 22, removed member 25, offsets unmoved', async () => {
    const { port } = await setup(2);
    const conn = await Connection.connect({ ...realSeams(), port });
    t.defer(() => conn.close());
    const join = (memberId: string, sessionTimeoutMs = 10_000) =>
      conn.request(JoinGroup, { groupId: 'z', sessionTimeoutMs, rebalanceTimeoutMs: 5_000, memberId, topics: [TOPIC], owned: [] }, 5_000);
    const commit = (memberId: string, generation: number, offset: number) =>
      conn.request(OffsetCommit, { groupId: 'z', generation, memberId, offsets: [{ topic: TOPIC, partition: 0, offset, metadata: '' }] });

    const x = await join('', 200); // short session, and no heartbeats from us
    expect(x).toMatchObject({ errorCode: 0, generation: 1 });
    expect((await conn.request(SyncGroup, { groupId: 'z', generation: 1, memberId: x.memberId })).errorCode).toBe(0);
    expect((await commit(x.memberId, 1, 5)).results[0]?.errorCode).toBe(0);
    expect((await commit(x.memberId, 0, 6)).results[0]?.errorCode).toBe(ErrorCode.ILLEGAL_GENERATION);

    // x stops heartbeating; the coordinator removes it after its session timeout. (Watch
    // with DescribeGroups: any request of x's own would count as a sign of life.)
    await waitFor(async () => (await conn.request(DescribeGroups, { groupId: 'z' })).members.length === 0, 5_000);
    expect((await commit(x.memberId, 1, 7)).results[0]?.errorCode).toBe(ErrorCode.UNKNOWN_MEMBER_ID);
    const fetched = await conn.request(OffsetFetch, { groupId: 'z', partitions: [{ topic: TOPIC, partition: 0 }] });
    expect(fetched.offsets).toEqual([{ topic: TOPIC, partition: 0, offset: 5, metadata: '' }]);
  });

  it('a member whose session expired learns it from a heartbeat, drops its partitions and rejoins as a new member', async () => {
    const { port } = await setup(2);
    const clock = new ManualClock(); // our timers (heartbeats) move only when we say so
    const bootstrap = await Connection.connect({ ...realSeams(), port });
    t.defer(() => bootstrap.close());
    const m = await GroupMember.connect(bootstrap, { ...realSeams(), groupId: 'sleepy', sessionTimeoutMs: 200, heartbeatIntervalMs: 50, clock, requestTimeoutMs: 5_000 });
    t.defer(() => m.leave());
    const first = await m.join([TOPIC], []);
    expect(first.assignment).toHaveLength(2);
    // The broker's clock is real: without heartbeats the session ends after 200 ms.
    await waitFor(async () => (await bootstrap.request(DescribeGroups, { groupId: 'sleepy' })).members.length === 0, 5_000);
    clock.advance(50); // now a heartbeat goes out, and comes back UNKNOWN_MEMBER_ID
    await waitFor(() => m.lost);
    expect(m.rejoinNeeded).toBe(true);
    const again = await m.join([TOPIC], first.assignment);
    expect(again.lost).toBe(true);
    expect(again.memberId).not.toBe(first.memberId);
    expect(again.generation).toBeGreaterThan(first.generation);
  });

  it('compacts __consumer_offsets under a stream of commits, and a restarted broker still has the offsets', async () => {
    const b = await t.broker({ offsets: { compactRecordsMin: 20, compactRatio: 2 } });
    await b.broker.createTopic({ name: TOPIC, partitions: 2 });
    const conn = await Connection.connect({ ...realSeams(), port: b.port });
    const joined = await conn.request(JoinGroup, { groupId: 'c', sessionTimeoutMs: 10_000, rebalanceTimeoutMs: 5_000, memberId: '', topics: [TOPIC], owned: [] }, 5_000);
    await conn.request(SyncGroup, { groupId: 'c', generation: joined.generation, memberId: joined.memberId });
    for (let i = 1; i <= 100; i++) {
      const r = await conn.request(OffsetCommit, { groupId: 'c', generation: joined.generation, memberId: joined.memberId, offsets: [{ topic: TOPIC, partition: i % 2, offset: i, metadata: '' }] });
      expect(r.results[0]?.errorCode).toBe(0);
    }
    await conn.close();
    const files = readdirSync(join(b.dir, OFFSETS_DIR)).sort();
    expect(files).toHaveLength(2);
    expect(files[0]).toBe('CURRENT');
    expect(Number(/^log-(\d+)$/.exec(files[1] ?? '')?.[1])).toBeGreaterThanOrEqual(3); // 101 records, compacted every ~20

    await b.broker.close();
    const again = await Broker.start({ dir: b.dir, port: 0 }, { ...realSeams(), logger: () => undefined });
    t.defer(() => again.close());
    const probe = await Connection.connect({ ...realSeams(), port: again.port });
    t.defer(() => probe.close());
    const fetched = await probe.request(OffsetFetch, { groupId: 'c', partitions: null });
    expect(fetched.offsets.map((o) => [o.partition, o.offset])).toEqual([
      [0, 100],
      [1, 99],
    ]);
  });
});
