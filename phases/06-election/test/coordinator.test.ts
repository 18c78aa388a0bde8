import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../src/seams/clock.ts';
import { tpKey, type TopicPartition } from '../src/topics/partition.ts';
import { GroupCoordinator, memberMetadataBytes, resolveCoordinatorConfig, type JoinResult } from '../src/groups/coordinator.ts';
import { InvalidConfigError } from '../src/log/errors.ts';
import { ErrorCode } from '../src/protocol/errors.ts';
import { OffsetsStore } from '../src/groups/offsets-store.ts';
import { MemoryStorage } from '../src/seams/memory-storage.ts';
import { seededRandom } from '../src/seams/random.ts';
import { Broker } from '../src/server/broker.ts';
import { realSeams } from '../src/seams/real.ts';

const DIR = '/data/__consumer_offsets';
const SESSION_MS = 1000;
const REBALANCE_MS = 5000;

/** A coordinator on a manual clock and an in-memory disk, as a broker would build it. */
async function setup(storage = new MemoryStorage(), clock = new ManualClock()) {
  const store = await OffsetsStore.open(storage, DIR);
  const coordinator = new GroupCoordinator({ clock, random: seededRandom(7), store, partitionsOf: (t) => (t === 't' ? 4 : undefined) });
  opened.push({ coordinator, store });
  return { storage, clock, store, coordinator };
}
const opened: { coordinator: GroupCoordinator; store: OffsetsStore }[] = [];
afterEach(async () => {
  for (const { coordinator, store } of opened.splice(0)) {
    coordinator.close();
    await store.close().catch(() => undefined);
  }
});

const join = (c: GroupCoordinator, memberId = '', owned: readonly TopicPartition[] = []): Promise<JoinResult> =>
  c.join('g', { memberId, clientId: 'cli', topics: ['t'], owned, sessionTimeoutMs: SESSION_MS, rebalanceTimeoutMs: REBALANCE_MS });
const keys = (l: readonly TopicPartition[]): string[] => l.map(tpKey);

describe('group coordinator', () => {
  it('expires a silent member on the clock and hands its partitions to the survivor', async () => {
    const { clock, coordinator } = await setup();
    const a = await join(coordinator);
    const aOwned = (await coordinator.sync('g', a.memberId, a.generation)).assignment;
    const bJoin = join(coordinator);
    expect(await coordinator.heartbeat('g', a.memberId, 1)).toBe(ErrorCode.REBALANCE_IN_PROGRESS);
    await join(coordinator, a.memberId, aOwned);
    const b = await bJoin;
    const a2 = (await coordinator.sync('g', a.memberId, 2)).assignment;
    await coordinator.sync('g', b.memberId, 2);
    // Follow-up round of the cooperative protocol.
    const [a3, b3] = await Promise.all([join(coordinator, a.memberId, a2), join(coordinator, b.memberId, [])]);
    expect(a3.generation).toBe(3);
    await coordinator.sync('g', a.memberId, 3);
    expect(keys((await coordinator.sync('g', b3.memberId, 3)).assignment)).toEqual(['t:2', 't:3']);

    // a goes silent; b heartbeats every 300 ms. Nothing happens until a's session ends.
    for (let i = 0; i < 3; i++) {
      clock.advance(300);
      expect(await coordinator.heartbeat('g', b.memberId, 3)).toBe(ErrorCode.NONE);
    }
    clock.advance(SESSION_MS - 900);
    expect(await coordinator.heartbeat('g', b.memberId, 3)).toBe(ErrorCode.REBALANCE_IN_PROGRESS);
    const b4 = await join(coordinator, b.memberId, [{ topic: 't', partition: 2 }, { topic: 't', partition: 3 }]);
    expect(b4).toMatchObject({ error: 0, generation: 4, members: [b.memberId] });
    expect(keys((await coordinator.sync('g', b.memberId, 4)).assignment)).toEqual(['t:0', 't:1', 't:2', 't:3']);
    expect(coordinator.describeGroup('g')?.members.map((m) => m.memberId)).toEqual([b.memberId]);
  });

  it('answers a held JoinGroup when the rebalance timeout removes a member that never rejoins', async () => {
    const { clock, coordinator } = await setup();
    const a = await join(coordinator);
    await coordinator.sync('g', a.memberId, 1);
    let answered: JoinResult | undefined;
    void join(coordinator).then((r) => (answered = r));
    for (let t = 0; t < REBALANCE_MS; t += 500) {
      clock.advance(500);
      await coordinator.heartbeat('g', a.memberId, 1); // alive, but never rejoins
    }
    await Promise.resolve();
    expect(answered).toMatchObject({ error: 0, generation: 2 });
    expect(await coordinator.heartbeat('g', a.memberId, 1)).toBe(ErrorCode.UNKNOWN_MEMBER_ID);
  });

  it('stores commits durably and rejects a zombie generation without storing anything', async () => {
    const { storage, coordinator, store } = await setup();
    const a = await join(coordinator);
    await coordinator.sync('g', a.memberId, 1);
    const ok = await coordinator.commitOffsets('g', a.memberId, 1, [{ topic: 't', partition: 0, offset: 17, metadata: 'm' }]);
    expect(ok).toEqual([{ topic: 't', partition: 0, error: 0 }]);
    const stale = await coordinator.commitOffsets('g', a.memberId, 0, [{ topic: 't', partition: 0, offset: 99, metadata: '' }]);
    expect(stale[0]?.error).toBe(ErrorCode.ILLEGAL_GENERATION);
    const stranger = await coordinator.commitOffsets('g', 'someone', 1, [{ topic: 't', partition: 0, offset: 99, metadata: '' }]);
    expect(stranger[0]?.error).toBe(ErrorCode.UNKNOWN_MEMBER_ID);
    const bad = await coordinator.commitOffsets('g', a.memberId, 1, [
      { topic: 'nope', partition: 0, offset: 1, metadata: '' },
      { topic: 't', partition: 4, offset: 1, metadata: '' },
      { topic: 't', partition: 1, offset: -5, metadata: '' },
      { topic: 't', partition: 2, offset: 5, metadata: 'x'.repeat(5000) },
      { topic: 't', partition: 3, offset: 8, metadata: '' },
    ]);
    expect(bad.map((r) => r.error)).toEqual([3, 3, 28, 12, 0]);
    expect(coordinator.fetchOffsets('g', null)).toEqual([
      { topic: 't', partition: 0, offset: 17, metadata: 'm' },
      { topic: 't', partition: 3, offset: 8, metadata: '' },
    ]);
    expect(coordinator.fetchOffsets('g', [{ topic: 't', partition: 1 }])).toEqual([{ topic: 't', partition: 1, offset: -1, metadata: '' }]);

    // Power loss: everything acknowledged is still there, and the generation too.
    coordinator.close();
    storage.crash();
    const reopened = await OffsetsStore.open(storage, DIR);
    expect(reopened.committed('g', 't', 0)?.offset).toBe(17);
    expect(reopened.committed('g', 't', 3)?.offset).toBe(8);
    expect(reopened.generation('g')).toBe(1);
    await reopened.close();
    await store.close().catch(() => undefined);
  });

  it('continues generation numbers after a restart, so a zombie stays fenced even if its member id comes back', async () => {
    const storage = new MemoryStorage();
    const first = await setup(storage);
    const zombie = await join(first.coordinator);
    await first.coordinator.sync('g', zombie.memberId, 1);
    first.coordinator.close();
    await first.store.close();
    // Same seed: the restarted coordinator draws the very same member id again (a real
    // broker draws fresh randomness; the generation is what fences regardless).
    const second = await setup(storage);
    expect(second.coordinator.listGroups()).toEqual([{ groupId: 'g', state: 'Empty', members: 0 }]);
    expect(second.coordinator.describeGroup('g')).toMatchObject({ generation: 1, members: [], offsets: [] });
    expect(await second.coordinator.heartbeat('g', zombie.memberId, 1)).toBe(ErrorCode.UNKNOWN_MEMBER_ID);
    const fresh = await join(second.coordinator);
    expect(fresh).toMatchObject({ memberId: zombie.memberId, generation: 2 });
    await second.coordinator.sync('g', fresh.memberId, 2);
    const commit = await second.coordinator.commitOffsets('g', zombie.memberId, 1, [{ topic: 't', partition: 0, offset: 5, metadata: '' }]);
    expect(commit[0]?.error).toBe(ErrorCode.ILLEGAL_GENERATION);
    expect(second.coordinator.fetchOffsets('g', null)).toEqual([]);
  });

  it('rejects bad group ids and describes unknown groups as absent', async () => {
    const { coordinator } = await setup();
    expect((await coordinator.join('', { memberId: '', clientId: 'c', topics: ['t'], owned: [], sessionTimeoutMs: SESSION_MS, rebalanceTimeoutMs: REBALANCE_MS })).error).toBe(
      ErrorCode.INVALID_GROUP_ID,
    );
    expect(await coordinator.heartbeat('x'.repeat(300), 'm', 1)).toBe(ErrorCode.INVALID_GROUP_ID);
    expect(coordinator.describeGroup('nobody')).toBeUndefined();
    expect(coordinator.listGroups()).toEqual([]);
  });

  it('refuses new groups beyond groupsMax but reuses the slots of empty ones', async () => {
    const clock = new ManualClock();
    const store = await OffsetsStore.open(new MemoryStorage(), DIR);
    const coordinator = new GroupCoordinator({ clock, random: seededRandom(1), store, partitionsOf: () => 1, config: { groupsMax: 1 } });
    opened.push({ coordinator, store });
    const req = { memberId: '', clientId: 'c', topics: ['t'], owned: [], sessionTimeoutMs: SESSION_MS, rebalanceTimeoutMs: REBALANCE_MS };
    const a = await coordinator.join('g1', req);
    expect((await coordinator.join('g2', req)).error).toBe(ErrorCode.POLICY_VIOLATION);
    expect(await coordinator.leave('g1', a.memberId)).toBe(0);
    expect((await coordinator.join('g2', req)).error).toBe(0);
  });

  it('accepts session and rebalance timeouts, group ids and commit metadata at their bounds, and rejects one past', async () => {
    const store = await OffsetsStore.open(new MemoryStorage(), DIR);
    const config = { sessionTimeoutMsMin: 100, sessionTimeoutMsMax: 1000, rebalanceTimeoutMsMax: 2000, groupIdLengthMax: 5, offsetMetadataBytesMax: 4 };
    const coordinator = new GroupCoordinator({ clock: new ManualClock(), random: seededRandom(3), store, partitionsOf: () => 1, config });
    opened.push({ coordinator, store });
    const req = { memberId: '', clientId: 'c', topics: ['t'], owned: [], sessionTimeoutMs: 100, rebalanceTimeoutMs: 2000 };
    expect((await coordinator.join('g1', { ...req, sessionTimeoutMs: 99 })).error).toBe(ErrorCode.INVALID_SESSION_TIMEOUT);
    // The answer says what the range is, not only that the value is outside it.
    expect((await coordinator.join('g1', { ...req, sessionTimeoutMs: 99 })).message).toBe(
      'session timeout 99 ms must be in [100, 1000] and rebalance timeout 2000 ms in [1, 2000] (serve sets the session range: --group-min-session-timeout-ms, --group-max-session-timeout-ms)',
    );
    expect((await coordinator.join('g1', { ...req, sessionTimeoutMs: 1001 })).error).toBe(ErrorCode.INVALID_SESSION_TIMEOUT);
    expect((await coordinator.join('g1', { ...req, rebalanceTimeoutMs: 2001 })).error).toBe(ErrorCode.INVALID_SESSION_TIMEOUT);
    expect((await coordinator.join('abcdef', req)).error).toBe(ErrorCode.INVALID_GROUP_ID);
    expect((await coordinator.join('g2', { ...req, sessionTimeoutMs: 1000 })).error).toBe(ErrorCode.NONE);
    const a = await coordinator.join('abcde', req);
    expect(a.error).toBe(ErrorCode.NONE);
    expect((await coordinator.sync('abcde', a.memberId, a.generation)).error).toBe(ErrorCode.NONE);
    const commit = (metadata: string) => coordinator.commitOffsets('abcde', a.memberId, a.generation, [{ topic: 't', partition: 0, offset: 1, metadata }]);
    expect((await commit('éé'))[0]?.error).toBe(ErrorCode.NONE); // 4 bytes of UTF-8
    expect((await commit('abcde'))[0]?.error).toBe(ErrorCode.OFFSET_METADATA_TOO_LARGE);
    expect(coordinator.fetchOffsets('abcde', null)).toEqual([{ topic: 't', partition: 0, offset: 1, metadata: 'éé' }]);
  });

  it('refuses a nonsense limit when the broker starts, before it listens', async () => {
    expect(resolveCoordinatorConfig({ membersMax: 1, groupsMax: 1, groupIdLengthMax: 0x7fff, offsetMetadataBytesMax: 0 }).membersMax).toBe(1);
    for (const bad of [{ membersMax: 0 }, { groupsMax: 0 }, { sessionTimeoutMsMin: 5000, sessionTimeoutMsMax: 1000 }, { rebalanceTimeoutMsMax: 0 }, { groupIdLengthMax: 0x8000 }, { offsetMetadataBytesMax: -1 }, { initialRebalanceDelayMs: 1.5 }]) {
      expect(() => resolveCoordinatorConfig(bad), JSON.stringify(bad)).toThrow(InvalidConfigError);
    }
    await expect(Broker.start({ dir: '/data', port: 0, groups: { membersMax: 0 } }, { ...realSeams(), storage: new MemoryStorage() })).rejects.toThrow(/groups\.membersMax/);
    await expect(Broker.start({ dir: '/data', port: 0, offsets: { compactBatchRecordsMax: 0 } }, { ...realSeams(), storage: new MemoryStorage() })).rejects.toThrow(/offsets\.compactBatchRecordsMax/);
  });

  it('bounds what members hold in bytes: memberMetadataBytesMax per member, memberMetadataBytesTotalMax for all groups, at and past each; leaving, expiring and rejoining give bytes back', async () => {
    const clock = new ManualClock();
    const store = await OffsetsStore.open(new MemoryStorage(), DIR);
    const config = { memberMetadataBytesMax: 20, memberMetadataBytesTotalMax: 40 };
    const coordinator = new GroupCoordinator({ clock, random: seededRandom(5), store, partitionsOf: () => 1, config });
    opened.push({ coordinator, store });
    // One member per group, so every join completes at once. A client id of n bytes and
    // the subscription ['t'] (4 + 2 + 1 bytes) make n + 7.
    const member = (clientId: string, memberId = '') => ({ memberId, clientId, topics: ['t'], owned: [], sessionTimeoutMs: SESSION_MS, rebalanceTimeoutMs: REBALANCE_MS });
    expect(memberMetadataBytes(member('c'.repeat(13)))).toBe(20);
    const a = await coordinator.join('ga', member('a'.repeat(13))); // at the per-member bound
    expect(a.error).toBe(ErrorCode.NONE);
    expect(await coordinator.join('gx', member('x'.repeat(14)))).toMatchObject({
      error: ErrorCode.INVALID_REQUEST,
      message: 'member metadata (client id and subscription) of 21 bytes is more than memberMetadataBytesMax (20)',
    });
    const b = await coordinator.join('gb', member('b'.repeat(13))); // 40: at the total
    expect([b.error, coordinator.memberMetadataBytes]).toEqual([ErrorCode.NONE, 40]);
    expect(await coordinator.join('gc', member(''))).toMatchObject({
      error: ErrorCode.POLICY_VIOLATION,
      message: 'the groups hold 40 bytes of member metadata; 7 more would pass memberMetadataBytesTotalMax (40)',
    });
    // A rejoin replaces the member's bytes: smaller is fine even at the total, larger past it is not.
    expect((await coordinator.join('ga', member('a', a.memberId))).error).toBe(ErrorCode.NONE);
    expect(coordinator.memberMetadataBytes).toBe(28);
    expect((await coordinator.join('ga', member('a'.repeat(13), a.memberId))).error).toBe(ErrorCode.NONE);
    expect(coordinator.memberMetadataBytes).toBe(40);
    // Leaving gives the bytes back; so does a session that expires.
    expect(await coordinator.leave('gb', b.memberId)).toBe(ErrorCode.NONE);
    expect(coordinator.memberMetadataBytes).toBe(20);
    const c = await coordinator.join('gc', member('c'.repeat(13)));
    expect([c.error, coordinator.memberMetadataBytes]).toEqual([ErrorCode.NONE, 40]);
    clock.advance(SESSION_MS);
    expect(coordinator.describeGroup('ga')?.members).toEqual([]);
    expect(coordinator.memberMetadataBytes).toBe(0);
  });

  it('cuts a member id from the client id on a character boundary, so an emoji at the cut still gives an id that round-trips', async () => {
    const { coordinator } = await setup();
    const clientId = `${'a'.repeat(63)}😀tail`; // the emoji's two UTF-16 halves are characters 64 and 65
    const joined = await coordinator.join('g', { memberId: '', clientId, topics: ['t'], owned: [], sessionTimeoutMs: SESSION_MS, rebalanceTimeoutMs: REBALANCE_MS });
    expect(joined.memberId).toMatch(/^a{63}-[0-9a-f]{12}$/);
    expect(Buffer.from(joined.memberId, 'utf8').toString('utf8')).toBe(joined.memberId);
    expect((await coordinator.sync('g', joined.memberId, joined.generation)).error).toBe(ErrorCode.NONE);
    const astral = await coordinator.join('h', { memberId: '', clientId: '😀'.repeat(40), topics: ['t'], owned: [], sessionTimeoutMs: SESSION_MS, rebalanceTimeoutMs: REBALANCE_MS });
    expect(astral.memberId).toMatch(new RegExp(`^(😀){32}-[0-9a-f]{12}$`, 'u'));
  });

  it('refuses a nonsense member metadata bound at start: below 1, or a total below the per-member bound', async () => {
    expect(resolveCoordinatorConfig({ memberMetadataBytesMax: 10, memberMetadataBytesTotalMax: 10 }).memberMetadataBytesTotalMax).toBe(10);
    expect(() => resolveCoordinatorConfig({ memberMetadataBytesMax: 0 })).toThrow(new InvalidConfigError('groups.memberMetadataBytesMax must be an integer >= 1, got 0'));
    expect(() => resolveCoordinatorConfig({ memberMetadataBytesMax: 10, memberMetadataBytesTotalMax: 9 })).toThrow(new InvalidConfigError('groups.memberMetadataBytesTotalMax must be an integer >= 10, got 9'));
    await expect(Broker.start({ dir: '/data', port: 0, groups: { memberMetadataBytesTotalMax: 1 } }, { ...realSeams(), storage: new MemoryStorage() })).rejects.toThrow(
      /groups\.memberMetadataBytesTotalMax must be an integer >= 262144, got 1/,
    );
  });
});
