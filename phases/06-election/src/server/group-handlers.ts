/**
 * The broker's handlers for the consumer-group APIs: FindCoordinator (10), JoinGroup
 * (11), Heartbeat (12), LeaveGroup (13), SyncGroup (14), OffsetCommit (8), OffsetFetch
 * (9), DescribeGroups (15) and ListGroups (16). `RequestHandler` (handlers.ts) decodes
 * each request and routes it here; this file checks what only the wire can get wrong
 * (names, counts) and translates between wire messages and the group coordinator
 * (groups/coordinator.ts), which owns every decision. Errors come back as Kafka's codes
 * in the responses; anything thrown is turned into an error response by handlers.ts.
 * A message names the group and member ids the client sent through `shownId`, cut to 64
 * characters: an id may be 32,767 bytes, and a message quoting it whole could not be sent.
 */
import type { GroupCoordinator } from '../groups/coordinator.ts';
import type { PartitionManager } from '../topics/partitions.ts';
import type { ResponseBase } from '../protocol/api.ts';
import type { DescribeGroupsRequest, DescribeGroupsResponse, PartitionProgress } from '../protocol/describe-groups.ts';
import { ErrorCode } from '../protocol/errors.ts';
import type { FindCoordinatorRequest, FindCoordinatorResponse } from '../protocol/find-coordinator.ts';
import type { HeartbeatRequest } from '../protocol/heartbeat.ts';
import type { JoinGroupRequest, JoinGroupResponse } from '../protocol/join-group.ts';
import type { LeaveGroupRequest } from '../protocol/leave-group.ts';
import type { ListGroupsResponse } from '../protocol/list-groups.ts';
import type { OffsetCommitRequest, OffsetCommitResponse } from '../protocol/offset-commit.ts';
import type { OffsetFetchRequest, OffsetFetchResponse } from '../protocol/offset-fetch.ts';
import type { SyncGroupRequest, SyncGroupResponse } from '../protocol/sync-group.ts';
import { QUOTED_CHARS_MAX, quoted } from '../topics/errors.ts';
import { validateTopicName } from '../topics/names.ts';
import { tpKey } from '../topics/partition.ts';

/** Where clients reach the coordinator (this broker), for FindCoordinator. */
export interface CoordinatorAddress {
  nodeId: number;
  host: string;
  port: number;
}

/**
 * An id from a client (a group or member id) as a message shows it: as it is when short
 * and plainly printable, the way these messages always have, else `quoted` (cut to 64
 * characters, with its size).
 * @example shownId('orders') // 'orders'
 * @example shownId('a\nb')   // '"a\\nb"'
 */
function shownId(s: string): string {
  return s.length > 0 && s.length <= QUOTED_CHARS_MAX && /^[^\p{C}\s"]+$/u.test(s) ? s : quoted(s);
}

/** The response prefix for a group-level outcome: on error, the message names what the
 * request was about (the client prefixes Kafka's name for the code). */
function outcome(errorCode: number, context: string): ResponseBase {
  return { errorCode, errorMessage: errorCode === ErrorCode.NONE ? null : context };
}

/**
 * Group API handlers over one coordinator.
 * @example
 * const groups = new GroupHandlers(coordinator, partitions, { nodeId: 0, host: '127.0.0.1', port: 9092 });
 * const res = await groups.heartbeat({ groupId: 'g', generation: 3, memberId: 'm' });
 */
export class GroupHandlers {
  readonly #coordinator: GroupCoordinator;
  readonly #partitions: PartitionManager;
  readonly #address: CoordinatorAddress;

  constructor(coordinator: GroupCoordinator, partitions: PartitionManager, address: CoordinatorAddress) {
    this.#coordinator = coordinator;
    this.#partitions = partitions;
    this.#address = address;
  }

  /** FindCoordinator: with one broker, always this one. */
  findCoordinator(req: FindCoordinatorRequest): FindCoordinatorResponse {
    if (req.groupId.length === 0) return { ...outcome(ErrorCode.INVALID_GROUP_ID, 'empty group id'), nodeId: -1, host: '', port: -1 };
    return { errorCode: ErrorCode.NONE, errorMessage: null, ...this.#address };
  }

  /** JoinGroup: held by the coordinator until the join phase ends. */
  async joinGroup(req: JoinGroupRequest, clientId: string | null): Promise<JoinGroupResponse> {
    for (const topic of req.topics) validateTopicName(topic);
    const r = await this.#coordinator.join(req.groupId, {
      memberId: req.memberId,
      clientId: clientId ?? '',
      topics: req.topics,
      owned: req.owned,
      sessionTimeoutMs: req.sessionTimeoutMs,
      rebalanceTimeoutMs: req.rebalanceTimeoutMs,
    });
    return { ...outcome(r.error, `group ${shownId(req.groupId)}${r.message === undefined ? '' : `: ${r.message}`}`), generation: r.generation, memberId: r.memberId, leaderId: r.leaderId, members: [...r.members] };
  }

  /** SyncGroup: this member's assignment in its generation. */
  async syncGroup(req: SyncGroupRequest): Promise<SyncGroupResponse> {
    const r = await this.#coordinator.sync(req.groupId, req.memberId, req.generation);
    return { ...outcome(r.error, `group ${shownId(req.groupId)}, member ${shownId(req.memberId)}, generation ${req.generation}`), assignment: [...r.assignment] };
  }

  /** Heartbeat: NONE, or why the member must rejoin. */
  async heartbeat(req: HeartbeatRequest): Promise<ResponseBase> {
    const error = await this.#coordinator.heartbeat(req.groupId, req.memberId, req.generation);
    return outcome(error, `group ${shownId(req.groupId)}, member ${shownId(req.memberId)}, generation ${req.generation}`);
  }

  /** LeaveGroup: the member is gone at once. */
  async leaveGroup(req: LeaveGroupRequest): Promise<ResponseBase> {
    return outcome(await this.#coordinator.leave(req.groupId, req.memberId), `group ${shownId(req.groupId)}, member ${shownId(req.memberId)}`);
  }

  /** OffsetCommit: fenced, then fsynced; an error per partition. */
  async offsetCommit(req: OffsetCommitRequest): Promise<OffsetCommitResponse> {
    const results = await this.#coordinator.commitOffsets(req.groupId, req.memberId, req.generation, req.offsets);
    return { errorCode: ErrorCode.NONE, errorMessage: null, results: results.map((r) => ({ topic: r.topic, partition: r.partition, errorCode: r.error })) };
  }

  /** OffsetFetch: committed offsets, -1 where there are none. */
  offsetFetch(req: OffsetFetchRequest): OffsetFetchResponse {
    return { errorCode: ErrorCode.NONE, errorMessage: null, offsets: this.#coordinator.fetchOffsets(req.groupId, req.partitions) };
  }

  /** ListGroups: every group the coordinator knows. */
  listGroups(): ListGroupsResponse {
    return { errorCode: ErrorCode.NONE, errorMessage: null, groups: this.#coordinator.listGroups() };
  }

  /**
   * DescribeGroups: members and assignments, and for every partition of the group's
   * topics the committed offset next to the log end offset (their difference is the lag).
   */
  describeGroups(req: DescribeGroupsRequest): DescribeGroupsResponse {
    const absent = (errorCode: number): DescribeGroupsResponse => ({ ...outcome(errorCode, `group ${shownId(req.groupId)}`), state: 'Dead', generation: -1, leaderId: '', members: [], partitions: [] });
    const invalid = this.#coordinator.groupIdError(req.groupId);
    if (invalid !== null) return absent(invalid);
    const d = this.#coordinator.describeGroup(req.groupId);
    if (d === undefined) return absent(ErrorCode.GROUP_ID_NOT_FOUND);
    const committed = new Map(d.offsets.map((o) => [tpKey(o), o.offset]));
    const topics = new Set([...d.members.flatMap((m) => m.topics), ...d.offsets.map((o) => o.topic)]);
    const partitions: PartitionProgress[] = [];
    for (const topic of [...topics].sort()) {
      const count = this.#partitions.topic(topic)?.partitions ?? 0;
      for (let partition = 0; partition < count; partition++) {
        partitions.push({
          topic,
          partition,
          committed: committed.get(tpKey({ topic, partition })) ?? -1,
          logEndOffset: this.#partitions.log(topic, partition).logEndOffset,
        });
      }
    }
    return {
      errorCode: ErrorCode.NONE,
      errorMessage: null,
      state: d.state,
      generation: d.generation,
      leaderId: d.leaderId,
      members: d.members.map((m) => ({ memberId: m.memberId, clientId: m.clientId, assignment: [...m.assignment] })),
      partitions,
    };
  }

  /** Shutting down: answer held JoinGroups and stop the coordinator's timers. */
  beginShutdown(): void {
    this.#coordinator.close();
  }
}
