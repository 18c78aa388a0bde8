import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { propertySeed } from '../../../shared/src/testing.ts';
import type { ApiCodec, ResponseBase } from '../src/protocol/api.ts';
import { ByteReader } from '../src/protocol/bytes.ts';
import { DescribeGroups } from '../src/protocol/describe-groups.ts';
import { ProtocolError } from '../src/protocol/errors.ts';
import { FindCoordinator } from '../src/protocol/find-coordinator.ts';
import { Heartbeat } from '../src/protocol/heartbeat.ts';
import { JoinGroup } from '../src/protocol/join-group.ts';
import { LeaveGroup } from '../src/protocol/leave-group.ts';
import { ListGroups } from '../src/protocol/list-groups.ts';
import { OffsetCommit } from '../src/protocol/offset-commit.ts';
import { OffsetFetch } from '../src/protocol/offset-fetch.ts';
import { SyncGroup } from '../src/protocol/sync-group.ts';
import { ManualClock } from '../src/seams/clock.ts';
import { GroupCoordinator } from '../src/groups/coordinator.ts';
import { OffsetsStore } from '../src/groups/offsets-store.ts';
import { MemoryStorage } from '../src/seams/memory-storage.ts';
import { PartitionManager } from '../src/topics/partitions.ts';
import { apiByKey } from '../src/protocol/apis.ts';
import { ErrorCode } from '../src/protocol/errors.ts';
import { seededRandom } from '../src/seams/random.ts';
import { GroupHandlers } from '../src/server/group-handlers.ts';
import { RequestHandler } from '../src/server/handlers.ts';
import { encodeRequestFrame } from '../src/protocol/header.ts';
import { TOPIC, type RawClient, testResources } from './wire-helpers.ts';

const str = fc.string({ maxLength: 20 });
const i32 = fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 });
const i16 = fc.integer({ min: -(2 ** 15), max: 2 ** 15 - 1 });
const i64 = fc.integer({ min: -1, max: Number.MAX_SAFE_INTEGER });
const prefix = { errorCode: i16, errorMessage: fc.option(str, { nil: null }) };
/** Partition lists come back grouped by topic, so generate them already grouped. */
const partitionList = fc
  .uniqueArray(fc.constantFrom('a', 'b', 'c'), { maxLength: 3 })
  .chain((topics) => fc.tuple(...topics.map((topic) => fc.array(i32, { maxLength: 4 }).map((ps) => ps.map((partition) => ({ topic, partition }))))))
  .map((lists) => lists.flat());
const offsets = partitionList.chain((list) => fc.tuple(...list.map((p) => fc.record({ offset: i64, metadata: str }).map((o) => ({ ...p, ...o }))))).map((l) => [...l]);
const results = partitionList.chain((list) => fc.tuple(...list.map((p) => i16.map((errorCode) => ({ ...p, errorCode }))))).map((l) => [...l]);

function roundTrip<Req, Res extends ResponseBase>(codec: ApiCodec<Req, Res>, req: fc.Arbitrary<Req>, res: fc.Arbitrary<Res>): void {
  fc.assert(
    fc.property(req, res, (q, s) => {
      expect(codec.decodeRequest(new ByteReader(Buffer.concat(codec.encodeRequest(q))))).toEqual(q);
      expect(codec.decodeResponse(new ByteReader(Buffer.concat(codec.encodeResponse(s))))).toEqual(s);
    }),
    { seed: propertySeed(), numRuns: 100 },
  );
}

describe('consumer group protocol codecs', () => {
  it('round-trip every request and response', () => {
    roundTrip(FindCoordinator, fc.record({ groupId: str }), fc.record({ ...prefix, nodeId: i32, host: str, port: i32 }));
    roundTrip(
      JoinGroup,
      fc.record({ groupId: str, sessionTimeoutMs: i32, rebalanceTimeoutMs: i32, memberId: str, topics: fc.array(str, { maxLength: 3 }), owned: partitionList }),
      fc.record({ ...prefix, generation: i32, memberId: str, leaderId: str, members: fc.array(str, { maxLength: 3 }) }),
    );
    const member = fc.record({ groupId: str, generation: i32, memberId: str });
    roundTrip(SyncGroup, member, fc.record({ ...prefix, assignment: partitionList }));
    roundTrip(Heartbeat, member, fc.record(prefix));
    roundTrip(LeaveGroup, fc.record({ groupId: str, memberId: str }), fc.record(prefix));
    roundTrip(OffsetCommit, fc.record({ groupId: str, generation: i32, memberId: str, offsets }), fc.record({ ...prefix, results }));
    roundTrip(
      OffsetFetch,
      fc.record({ groupId: str, partitions: fc.option(partitionList, { nil: null }) }),
      fc.record({ ...prefix, offsets: fc.array(fc.record({ topic: str, partition: i32, offset: i64, metadata: str }), { maxLength: 3 }) }),
    );
    roundTrip(
      DescribeGroups,
      fc.record({ groupId: str }),
      fc.record({
        ...prefix,
        state: str,
        generation: i32,
        leaderId: str,
        members: fc.array(fc.record({ memberId: str, clientId: str, assignment: partitionList }), { maxLength: 3 }),
        partitions: fc.array(fc.record({ topic: str, partition: i32, committed: i64, logEndOffset: i64 }), { maxLength: 3 }),
      }),
    );
    roundTrip(ListGroups, fc.constant({}), fc.record({ ...prefix, groups: fc.array(fc.record({ groupId: str, state: str, members: i32 }), { maxLength: 3 }) }));
  });

  it('reject every truncation of a request with a ProtocolError', () => {
    const body = Buffer.concat(
      OffsetCommit.encodeRequest({ groupId: 'g', generation: 3, memberId: 'm', offsets: [{ topic: 't', partition: 1, offset: 9, metadata: 'x' }] }),
    );
    for (let cut = 0; cut < body.length; cut++) {
      expect(() => OffsetCommit.decodeRequest(new ByteReader(body.subarray(0, cut)))).toThrow(ProtocolError);
    }
    expect(() => OffsetCommit.decodeRequest(new ByteReader(Buffer.concat([body, Buffer.from([0])])))).toThrow(/trailing/);
  });

  it('reject a huge array count in a tiny frame before allocating', () => {
    // JoinGroup with groupId '', timeouts, memberId '', then topics count 0x7fffffff.
    const frame = Buffer.from([0, 0, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0x7f, 0xff, 0xff, 0xff]);
    expect(() => JoinGroup.decodeRequest(new ByteReader(frame))).toThrow(/count 2147483647/);
  });

  it('the broker answers any body of a group API with a decodable response and a known code (fuzz)', async () => {
    const storage = new MemoryStorage();
    const clock = new ManualClock();
    const partitions = await PartitionManager.open(storage, '/data');
    await partitions.createTopic({ name: 't', partitions: 2 });
    const store = await OffsetsStore.open(storage, '/data/__consumer_offsets');
    const coordinator = new GroupCoordinator({ clock, random: seededRandom(3), store, partitionsOf: (topic) => partitions.topic(topic)?.partitions });
    const handler = new RequestHandler(partitions, clock, {
      fetchWaitMsMax: 0,
      fetchBytesMax: 1 << 20,
      advertisedHost: 'h',
      advertisedPort: 1,
      logger: (line) => {
        throw new Error(`unexpected server error: ${line}`);
      },
      autoCreateTopics: false,
      defaultPartitions: 1,
      requestTopicsMax: 1000,
      requestItemsMax: 10_000,
      responseBytesMax: 16 << 20,
      groups: new GroupHandlers(coordinator, partitions, { nodeId: 0, host: 'h', port: 1 }),
    });
    // Real requests, cut or extended at random, and plain noise.
    const samples = [
      JoinGroup.encodeRequest({ groupId: 'g', sessionTimeoutMs: 1000, rebalanceTimeoutMs: 1000, memberId: '', topics: ['t'], owned: [{ topic: 't', partition: 1 }] }),
      OffsetCommit.encodeRequest({ groupId: 'g', generation: 1, memberId: 'm', offsets: [{ topic: 't', partition: 0, offset: 3, metadata: '' }] }),
      OffsetFetch.encodeRequest({ groupId: 'g', partitions: null }),
      SyncGroup.encodeRequest({ groupId: 'g', generation: 1, memberId: 'm' }),
    ].map((chunks) => Buffer.concat(chunks));
    const body = fc.oneof(
      fc.uint8Array({ maxLength: 80 }).map((b) => Buffer.from(b)),
      fc.tuple(fc.constantFrom(...samples), fc.nat(80), fc.uint8Array({ maxLength: 8 })).map(([b, cut, extra]) => Buffer.concat([b.subarray(0, cut), Buffer.from(extra)])),
    );
    try {
      await fc.assert(
        fc.asyncProperty(fc.integer({ min: 8, max: 16 }), body, async (apiKey, bytes) => {
          const answer = handler.handle({ apiKey, apiVersion: 0, correlationId: 1, clientId: 'fuzz' }, new ByteReader(bytes));
          clock.advance(400_000); // a JoinGroup may be held until the rebalance timeout
          const out = Buffer.concat(await answer);
          const res = apiByKey(apiKey)?.decodeResponse(new ByteReader(out));
          expect(Object.values(ErrorCode)).toContain(res?.errorCode);
        }),
        { seed: propertySeed(), numRuns: 300 },
      );
    } finally {
      coordinator.close();
      await store.close();
      await partitions.close();
    }
  });
});

const t = testResources();

/** Send one request and wait for its answer on a raw connection. */
let nextCorrelationId = 1;
async function call<Req, Res extends ResponseBase>(c: RawClient, api: ApiCodec<Req, Res>, req: Req): Promise<Res> {
  c.sendRequest(api, req, nextCorrelationId++);
  return (await c.nextResponse(api)).res;
}

/** Send a frame built by hand and decode its answer as `api`'s. */
async function callRaw<Req, Res extends ResponseBase>(c: RawClient, api: ApiCodec<Req, Res>, frame: Buffer): Promise<Res> {
  c.send(frame);
  return (await c.nextResponse(api)).res;
}

/** A request frame whose client id is `clientId`, raw bytes (the real client only sends UTF-8). */
function frameWithClientId<Req, Res extends ResponseBase>(api: ApiCodec<Req, Res>, req: Req, clientId: Buffer): Buffer {
  const head = Buffer.alloc(4 + 2 + 2 + 4 + 2);
  head.writeInt16BE(api.apiKey, 4);
  head.writeInt16BE(api.minVersion, 6);
  head.writeInt32BE(nextCorrelationId++, 8);
  head.writeInt16BE(clientId.length, 12);
  const frame = Buffer.concat([head, clientId, ...api.encodeRequest(req)]);
  frame.writeInt32BE(frame.length - 4, 0);
  return frame;
}

/** A request frame for `api` in which the first run of `marker` is 0xFF bytes: a string that is not UTF-8. */
function frameNotUtf8<Req, Res extends ResponseBase>(api: ApiCodec<Req, Res>, req: Req, marker: string): Buffer {
  const frame = Buffer.concat(encodeRequestFrame({ apiKey: api.apiKey, apiVersion: api.minVersion, correlationId: nextCorrelationId++, clientId: 'raw' }, api.encodeRequest(req)));
  const at = frame.indexOf(marker);
  frame.fill(0xff, at, at + marker.length);
  return frame;
}

const joinReq = (groupId: string, topics: string[] = [TOPIC], memberId = '') => ({ groupId, sessionTimeoutMs: 10_000, rebalanceTimeoutMs: 10_000, memberId, topics, owned: [] });

describe('hostile clients (issue 12)', () => {
  it('ids of 32,767 bytes get INVALID_GROUP_ID or UNKNOWN_MEMBER_ID from JoinGroup, Heartbeat, SyncGroup, LeaveGroup and DescribeGroups, with a short message; the connection lives on', async () => {
    const b = await t.broker();
    const c = await t.raw(b.port);
    const member = await call(c, JoinGroup, joinReq('real'));
    expect(member.errorCode).toBe(ErrorCode.NONE);
    const long = 'g'.repeat(0x7fff);
    const shown = `"${'g'.repeat(64)}"… (32767 bytes)`;
    const badGroup = { errorCode: ErrorCode.INVALID_GROUP_ID };
    expect(await call(c, JoinGroup, joinReq(long))).toMatchObject({ ...badGroup, errorMessage: `group ${shown}` });
    expect(await call(c, Heartbeat, { groupId: long, generation: 1, memberId: 'm' })).toEqual({ ...badGroup, errorMessage: `group ${shown}, member m, generation 1` });
    expect(await call(c, SyncGroup, { groupId: long, generation: 1, memberId: 'm' })).toMatchObject({ ...badGroup, errorMessage: `group ${shown}, member m, generation 1` });
    expect(await call(c, LeaveGroup, { groupId: long, memberId: 'm' })).toEqual({ ...badGroup, errorMessage: `group ${shown}, member m` });
    expect(await call(c, DescribeGroups, { groupId: long })).toMatchObject({ ...badGroup, errorMessage: `group ${shown}`, members: [] });

    const unknown = { errorCode: ErrorCode.UNKNOWN_MEMBER_ID };
    const gen = member.generation;
    expect(await call(c, Heartbeat, { groupId: 'real', generation: gen, memberId: long })).toEqual({ ...unknown, errorMessage: `group real, member ${shown}, generation ${gen}` });
    expect(await call(c, SyncGroup, { groupId: 'real', generation: gen, memberId: long })).toMatchObject(unknown);
    expect(await call(c, LeaveGroup, { groupId: 'real', memberId: long })).toMatchObject(unknown);
    expect(await call(c, JoinGroup, joinReq('real', [TOPIC], long))).toMatchObject({ ...unknown, errorMessage: 'group real' });
    // The real member was never disturbed.
    expect(await call(c, Heartbeat, { groupId: 'real', generation: gen, memberId: member.memberId })).toMatchObject({ errorCode: ErrorCode.NONE });
    expect((await call(c, DescribeGroups, { groupId: 'real' })).members.map((m) => m.memberId)).toEqual([member.memberId]);
    expect([c.isClosed, b.logs]).toEqual([false, []]);
  });

  it('ids and client ids that are not UTF-8 get INVALID_REQUEST, so such a member never exists; a 32,767-byte client id is kept and described', async () => {
    const b = await t.broker();
    const c = await t.raw(b.port);
    const marker = 'q'.repeat(20_000); // 20,000 × 0xFF: 60,000 bytes as U+FFFD
    const notUtf8 = /^(groupId|memberId): the 20000 bytes at position \d+ are not UTF-8$/;
    expect(await callRaw(c, JoinGroup, frameNotUtf8(JoinGroup, joinReq(marker), marker))).toMatchObject({ errorCode: ErrorCode.INVALID_REQUEST, errorMessage: expect.stringMatching(notUtf8) });
    expect(await callRaw(c, Heartbeat, frameNotUtf8(Heartbeat, { groupId: 'victim', generation: 1, memberId: marker }, marker))).toMatchObject({ errorCode: ErrorCode.INVALID_REQUEST, errorMessage: expect.stringMatching(notUtf8) });
    expect(await callRaw(c, DescribeGroups, frameNotUtf8(DescribeGroups, { groupId: marker }, marker))).toMatchObject({ errorCode: ErrorCode.INVALID_REQUEST });
    const joined = await callRaw(c, JoinGroup, frameWithClientId(JoinGroup, joinReq('victim'), Buffer.alloc(20_000, 0xff)));
    expect(joined).toEqual({ errorCode: ErrorCode.INVALID_REQUEST, errorMessage: 'clientId: the 20000 bytes at position 10 are not UTF-8', generation: -1, memberId: '', leaderId: '', members: [] });
    expect((await call(c, DescribeGroups, { groupId: 'victim' })).errorCode).toBe(ErrorCode.GROUP_ID_NOT_FOUND); // no member, no group

    // The longest client id that is UTF-8 is a client id like any other, and DescribeGroups can send it back.
    const longClient = 'k'.repeat(0x7fff);
    const kept = await callRaw(c, JoinGroup, frameWithClientId(JoinGroup, joinReq('victim'), Buffer.from(longClient)));
    expect(kept.errorCode).toBe(ErrorCode.NONE);
    expect(kept.memberId).toMatch(/^k{64}-[0-9a-f]{12}$/);
    expect((await call(c, DescribeGroups, { groupId: 'victim' })).members).toEqual([{ memberId: kept.memberId, clientId: longClient, assignment: [{ topic: TOPIC, partition: 0 }] }]);
    expect([c.isClosed, b.logs]).toEqual([false, []]);
  });

  it('a subscription names at most requestTopicsMax topics, a member holds at most memberMetadataBytesMax bytes and all members memberMetadataBytesTotalMax; members already in are served, and bytes given back let others in', async () => {
    const b = await t.broker({ requestTopicsMax: 3, groups: { memberMetadataBytesMax: 60, memberMetadataBytesTotalMax: 100 } });
    const c = await t.raw(b.port);
    // The raw client's id is 'raw' (3 bytes); a subscription of one topic of n characters adds 4 + 2 + n.
    expect(await call(c, JoinGroup, joinReq('g0', ['t1', 't2', 't3', 't4']))).toMatchObject({ errorCode: ErrorCode.INVALID_REQUEST, errorMessage: 'JoinGroup names 4 topics, more than requestTopicsMax (3)' });
    expect(await call(c, JoinGroup, joinReq('g0', ['x'.repeat(52)]))).toMatchObject({
      errorCode: ErrorCode.INVALID_REQUEST,
      errorMessage: 'group g0: member metadata (client id and subscription) of 61 bytes is more than memberMetadataBytesMax (60)',
    });
    const first = await call(c, JoinGroup, joinReq('g1', ['a'.repeat(51)])); // 60 bytes: at the per-member bound
    expect(first.errorCode).toBe(ErrorCode.NONE);
    const second = await call(c, JoinGroup, joinReq('g2', ['b'.repeat(31)])); // 40 more: 100, at the total
    expect(second.errorCode).toBe(ErrorCode.NONE);
    expect(await call(c, JoinGroup, joinReq('g3', ['c']))).toMatchObject({
      errorCode: ErrorCode.POLICY_VIOLATION,
      errorMessage: 'group g3: the groups hold 100 bytes of member metadata; 10 more would pass memberMetadataBytesTotalMax (100)',
    });
    // The members already in are served as before.
    expect((await call(c, Heartbeat, { groupId: 'g1', generation: first.generation, memberId: first.memberId })).errorCode).toBe(ErrorCode.NONE);
    expect((await call(c, SyncGroup, { groupId: 'g2', generation: second.generation, memberId: second.memberId })).errorCode).toBe(ErrorCode.NONE);
    expect((await call(c, LeaveGroup, { groupId: 'g1', memberId: first.memberId })).errorCode).toBe(ErrorCode.NONE);
    expect((await call(c, JoinGroup, joinReq('g3', ['c']))).errorCode).toBe(ErrorCode.NONE);
    expect([c.isClosed, b.logs]).toEqual([false, []]);
  });
});
