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
