/**
 * Every request that names a leader epoch is checked against the broker's: Produce,
 * Fetch, ListOffsets and OffsetForLeaderEpoch answer FENCED_LEADER_EPOCH (74) for an older
 * epoch, UNKNOWN_LEADER_EPOCH (75) for a newer one, NOT_LEADER_OR_FOLLOWER (6) from a
 * follower, and serve the request in the leader's own epoch (or with -1, unchecked). The
 * real controller and brokers, in one process on the election harness (memory network,
 * manual clock); requests are sent by hand so each field is exactly what the test says.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Connection } from '../src/client/connection.ts';
import { encodeBatch } from '../src/log/record-batch.ts';
import { ErrorCode } from '../src/protocol/errors.ts';
import { Fetch } from '../src/protocol/fetch.ts';
import { LATEST_TIMESTAMP, ListOffsets } from '../src/protocol/list-offsets.ts';
import { OffsetForLeaderEpoch } from '../src/protocol/offset-for-leader-epoch.ts';
import { Produce } from '../src/protocol/produce.ts';
import { ElectionCluster } from './election-harness.ts';

const TOPIC = 'events';
let cluster: ElectionCluster | null = null;
afterEach(async () => {
  await cluster?.close();
  cluster = null;
});

describe('leader epochs on every request', () => {
  it('older -> FENCED_LEADER_EPOCH, newer -> UNKNOWN_LEADER_EPOCH, a follower -> NOT_LEADER_OR_FOLLOWER, the current one or -1 -> served', async () => {
    const c = await ElectionCluster.start([1, 2, 3]);
    cluster = c;
    await c.createTopic(TOPIC, { replicationFactor: 3, minInsync: 1, via: 1 });
    await c.advanceUntil(() => c.rolesSettled(TOPIC), 2_000, 'roles settle');
    // One election first, so that there is an older epoch (0) to be fenced with.
    const first = c.state(TOPIC);
    await c.crashBroker(first.leader);
    await c.advanceUntil(() => c.state(TOPIC).leaderEpoch === 1 && c.rolesSettled(TOPIC), 5_000, 'a new leader in epoch 1');
    const { leader, leaderEpoch, replicas } = c.state(TOPIC);
    const follower = replicas.find((id) => id !== leader && id !== first.leader) as number;
    const connect = async (id: number): Promise<Connection> => {
      const { host, port } = c.address(id);
      const conn = await c.settle(Connection.connect({ host, port, clock: c.clock, transport: c.net.node('checker'), clientId: 'checker' }), 2_000, 'connect');
      return conn;
    };
    const toLeader = await connect(leader);
    const toFollower = await connect(follower);
    const ask = async (conn: Connection, epoch: number): Promise<number[]> => {
      const produce = await c.settle(conn.request(Produce, { acks: 1, timeoutMs: 1_000, topic: TOPIC, partition: 0, currentLeaderEpoch: epoch, records: [encodeBatch([{ value: Buffer.from('x') }])] }), 2_000, 'produce');
      const fetch = await c.settle(conn.request(Fetch, { replicaId: -1, maxWaitMs: 0, maxBytes: 1 << 16, topics: [{ topic: TOPIC, partitions: [{ partition: 0, offset: 0, maxBytes: 1 << 16, currentLeaderEpoch: epoch }] }] }), 2_000, 'fetch');
      const list = await c.settle(conn.request(ListOffsets, { topic: TOPIC, partition: 0, timestamp: LATEST_TIMESTAMP, currentLeaderEpoch: epoch }), 2_000, 'list offsets');
      const ofle = await c.settle(conn.request(OffsetForLeaderEpoch, { replicaId: -1, topics: [{ topic: TOPIC, partitions: [{ partition: 0, currentLeaderEpoch: epoch, leaderEpoch }] }] }), 2_000, 'offset for leader epoch');
      return [produce.errorCode, fetch.topics[0]?.partitions[0]?.errorCode ?? -99, list.errorCode, ofle.topics[0]?.partitions[0]?.errorCode ?? -99];
    };
    const all = (code: number): number[] => [code, code, code, code];
    expect(await ask(toLeader, leaderEpoch - 1)).toEqual(all(ErrorCode.FENCED_LEADER_EPOCH));
    expect(await ask(toLeader, leaderEpoch + 1)).toEqual(all(ErrorCode.UNKNOWN_LEADER_EPOCH));
    expect(await ask(toLeader, leaderEpoch)).toEqual(all(ErrorCode.NONE));
    expect(await ask(toLeader, -1)).toEqual(all(ErrorCode.NONE));
    expect(await ask(toFollower, leaderEpoch)).toEqual(all(ErrorCode.NOT_LEADER_OR_FOLLOWER));
    // The leader's own epoch ends at its log end: two records were produced, in that epoch.
    const end = await c.settle(toLeader.request(OffsetForLeaderEpoch, { replicaId: -1, topics: [{ topic: TOPIC, partitions: [{ partition: 0, currentLeaderEpoch: leaderEpoch, leaderEpoch }] }] }), 2_000, 'end of epoch');
    expect(end.topics[0]?.partitions[0]).toMatchObject({ errorCode: ErrorCode.NONE, leaderEpoch, endOffset: 2 });
    await toLeader.abort();
    await toFollower.abort();
  });
});
