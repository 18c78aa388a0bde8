/**
 * The group coordinator: the broker-side home of every consumer group. The server's
 * request handlers call it for JoinGroup, SyncGroup, Heartbeat, LeaveGroup,
 * OffsetCommit, OffsetFetch, ListGroups and DescribeGroups. It is the I/O shell around
 * the pure pieces: it feeds each request, with the Clock's time, to the group's state
 * machine (group.ts), keeps one Clock timer per group for the deadline the state
 * machine asks for (session and rebalance timeouts), and acts on what comes back in
 * the order the state machine prescribes: record a new generation in the offsets store
 * (fsynced) BEFORE sending the JoinGroup responses that announce it.
 *
 * Responses leave through one promise chain, so they are released in the order the
 * state machine produced them, and a response never overtakes the persistence of a
 * generation produced before it.
 *
 * Kafka runs one coordinator per `__consumer_offsets` partition, on that partition's
 * leader, and FindCoordinator says which broker it is; with one broker, it is always us.
 */
import type { Clock, TimerHandle } from '../seams/clock.ts';
import { checkIntegerSetting } from '../log/errors.ts';
import { ErrorCode } from '../protocol/errors.ts';
import { stringArrayBytes } from '../protocol/group-fields.ts';
import type { Random } from '../seams/random.ts';
import type { TopicPartition } from '../topics/partition.ts';
import {
  Group,
  defaultGroupConfig,
  type GroupConfig,
  type GroupDescription,
  type GroupInput,
  type GroupResponse,
  type GroupState,
} from './group.ts';
import type { OffsetsStore, OffsetToCommit, StoredOffset } from './offsets-store.ts';

/** Limits of the coordinator, on top of each group's. */
export interface CoordinatorConfig extends GroupConfig {
  /** Most groups held in memory (non-empty ones, plus empty ones not yet dropped). */
  groupsMax: number;
  /** Longest group id, in characters. */
  groupIdLengthMax: number;
  /** Longest metadata string on one committed offset, in bytes (Kafka:
   * offset.metadata.max.bytes). */
  offsetMetadataBytesMax: number;
  /**
   * Most bytes of metadata one member may hold: its client id and its subscription, as
   * its JoinGroup carries them ({@link memberMetadataBytes}); a JoinGroup with more is
   * INVALID_REQUEST. Kafka has no such bound: `group.max.size` counts members, not bytes.
   */
  memberMetadataBytesMax: number;
  /**
   * Most bytes of metadata all members of all groups may hold together; a JoinGroup that
   * would pass it is POLICY_VIOLATION (like `groupsMax`: the broker is full, not the
   * request wrong). With `memberMetadataBytesMax` this bounds what members cost in bytes,
   * where `membersMax` and `groupsMax` bound them only in count. Kafka has none.
   */
  memberMetadataBytesTotalMax: number;
}

/** Defaults for {@link CoordinatorConfig}. */
export const defaultCoordinatorConfig: CoordinatorConfig = {
  ...defaultGroupConfig,
  groupsMax: 10_000,
  groupIdLengthMax: 255,
  offsetMetadataBytesMax: 4096,
  memberMetadataBytesMax: 256 * 1024,
  memberMetadataBytesTotalMax: 64 * 1024 * 1024,
};

/**
 * Fill in defaults and check every bound, so a nonsense setting fails at broker start
 * instead of at the first JoinGroup (a `membersMax` of 0, or a session-timeout range
 * with min above max, would refuse every member). Throws {@link InvalidConfigError}.
 * @example resolveCoordinatorConfig({ membersMax: 2 }).groupsMax // 10000
 */
export function resolveCoordinatorConfig(partial: Partial<CoordinatorConfig> = {}): CoordinatorConfig {
  const c: CoordinatorConfig = { ...defaultCoordinatorConfig };
  for (const [name, v] of Object.entries(partial)) if (v !== undefined) Object.assign(c, { [name]: v });
  const check = (name: keyof CoordinatorConfig, min: number, max = Number.MAX_SAFE_INTEGER): void => checkIntegerSetting(`groups.${name}`, c[name], min, max);
  check('sessionTimeoutMsMin', 1);
  check('sessionTimeoutMsMax', c.sessionTimeoutMsMin);
  check('rebalanceTimeoutMsMax', 1);
  check('membersMax', 1);
  check('initialRebalanceDelayMs', 0);
  check('groupsMax', 1);
  // Both travel as i16-length strings (protocol/bytes.ts), so 32,767 is the most they can be.
  check('groupIdLengthMax', 1, 0x7fff);
  check('offsetMetadataBytesMax', 0, 0x7fff);
  check('memberMetadataBytesMax', 1);
  // Otherwise a member the per-member bound allows could never join.
  check('memberMetadataBytesTotalMax', c.memberMetadataBytesMax);
  return c;
}

/**
 * The bytes a member's metadata takes, counted as its JoinGroup carries them: the client
 * id's UTF-8 and the subscription as a string array (a 2-byte length per topic,
 * protocol/group-fields.ts). What `memberMetadataBytesMax` and
 * `memberMetadataBytesTotalMax` bound.
 * @example memberMetadataBytes({ clientId: 'c1', topics: ['orders'] }) // 2 + 4 + 2 + 6 = 14
 */
export function memberMetadataBytes(member: { readonly clientId: string; readonly topics: readonly string[] }): number {
  return Buffer.byteLength(member.clientId, 'utf8') + stringArrayBytes(member.topics);
}

/** What the coordinator needs from the broker. */
export interface CoordinatorDeps {
  clock: Clock;
  random: Random;
  store: OffsetsStore;
  /** Number of partitions of a topic, or undefined if there is no such topic. */
  partitionsOf(topic: string): number | undefined;
  config?: Partial<CoordinatorConfig>;
}

/** A JoinGroup as the coordinator sees it. */
export interface JoinRequest {
  readonly memberId: string;
  readonly clientId: string;
  readonly topics: readonly string[];
  readonly owned: readonly TopicPartition[];
  readonly sessionTimeoutMs: number;
  readonly rebalanceTimeoutMs: number;
}

/** A JoinGroup answer. */
export interface JoinResult {
  readonly error: number;
  /** Why, in words, when `error` alone does not say (INVALID_SESSION_TIMEOUT: the range). */
  readonly message?: string;
  readonly generation: number;
  readonly memberId: string;
  readonly leaderId: string;
  readonly members: readonly string[];
}

/** A SyncGroup answer. */
export interface SyncResult {
  readonly error: number;
  readonly assignment: readonly TopicPartition[];
}

/** The outcome of one partition of an OffsetCommit. */
export interface PartitionResult extends TopicPartition {
  readonly error: number;
}

/** One partition of an OffsetFetch answer; offset -1 means nothing committed. */
export interface FetchedOffset extends TopicPartition {
  readonly offset: number;
  readonly metadata: string;
}

/** One group in a ListGroups answer. */
export interface GroupListing {
  readonly groupId: string;
  readonly state: GroupState;
  readonly members: number;
}

/** DescribeGroups: the state machine's view plus the committed offsets. */
export interface GroupDetails extends GroupDescription {
  readonly offsets: readonly StoredOffset[];
}

/**
 * Every consumer group of one broker.
 * @example
 * const coordinator = new GroupCoordinator({ clock, random, store, partitionsOf: (t) => pm.topic(t)?.partitions });
 * const joined = await coordinator.join('g', { memberId: '', clientId: 'c', topics: ['t'], owned: [],
 *   sessionTimeoutMs: 10_000, rebalanceTimeoutMs: 30_000 });
 */
export class GroupCoordinator {
  readonly #deps: CoordinatorDeps;
  readonly #config: CoordinatorConfig;
  readonly #groups = new Map<string, Group>();
  readonly #timers = new Map<string, TimerHandle>();
  readonly #waiting = new Map<number, (r: GroupResponse) => void>();
  #nextToken = 1;
  #delivery: Promise<void> = Promise.resolve();
  #closed = false;
  /** Member metadata bytes held by all groups (the sum of `Group.metadataBytes`). */
  #metadataBytes = 0;

  constructor(deps: CoordinatorDeps) {
    this.#deps = deps;
    this.#config = resolveCoordinatorConfig(deps.config);
  }

  /** JoinGroup: resolves when the join phase ends (or at once with an error). */
  async join(groupId: string, req: JoinRequest): Promise<JoinResult> {
    const reject = (error: number): JoinResult => ({ error, generation: -1, memberId: req.memberId, leaderId: '', members: [] });
    const invalid = this.#checkGroupId(groupId);
    if (invalid !== null) return reject(invalid);
    const { memberMetadataBytesMax: perMember, memberMetadataBytesTotalMax: total } = this.#config;
    const metadataBytes = memberMetadataBytes(req);
    if (metadataBytes > perMember) {
      return { ...reject(ErrorCode.INVALID_REQUEST), message: `member metadata (client id and subscription) of ${metadataBytes} bytes is more than memberMetadataBytesMax (${perMember})` };
    }
    const group = this.#group(groupId, true);
    if (group === undefined) return reject(ErrorCode.POLICY_VIOLATION);
    // A rejoining member's new metadata replaces what it held.
    const held = this.#metadataBytes - group.memberMetadataBytes(req.memberId);
    if (held + metadataBytes > total) {
      return { ...reject(ErrorCode.POLICY_VIOLATION), message: `the groups hold ${held} bytes of member metadata; ${metadataBytes} more would pass memberMetadataBytesTotalMax (${total})` };
    }
    const r = await this.#request(group, (token) => ({ type: 'join', token, ...req, metadataBytes }));
    if (r.type !== 'join') return reject(ErrorCode.COORDINATOR_NOT_AVAILABLE);
    if (r.error !== ErrorCode.INVALID_SESSION_TIMEOUT) return r;
    const { sessionTimeoutMsMin, sessionTimeoutMsMax, rebalanceTimeoutMsMax } = this.#config;
    const message =
      `session timeout ${req.sessionTimeoutMs} ms must be in [${sessionTimeoutMsMin}, ${sessionTimeoutMsMax}] ` +
      `and rebalance timeout ${req.rebalanceTimeoutMs} ms in [1, ${rebalanceTimeoutMsMax}] ` +
      `(serve sets the session range: --group-min-session-timeout-ms, --group-max-session-timeout-ms)`;
    return { ...r, message };
  }

  /** SyncGroup: this member's assignment in `generation`. */
  async sync(groupId: string, memberId: string, generation: number): Promise<SyncResult> {
    const group = this.#group(groupId, false);
    if (group === undefined) return { error: this.#checkGroupId(groupId) ?? ErrorCode.UNKNOWN_MEMBER_ID, assignment: [] };
    const r = await this.#request(group, (token) => ({ type: 'sync', token, memberId, generation }));
    return r.type === 'sync' ? r : { error: ErrorCode.COORDINATOR_NOT_AVAILABLE, assignment: [] };
  }

  /** Heartbeat: NONE, or the reason the member must rejoin (22, 25, 27). */
  async heartbeat(groupId: string, memberId: string, generation: number): Promise<number> {
    return await this.#simple(groupId, (token) => ({ type: 'heartbeat', token, memberId, generation }));
  }

  /** LeaveGroup: the member is removed at once; the others rebalance. */
  async leave(groupId: string, memberId: string): Promise<number> {
    return await this.#simple(groupId, (token) => ({ type: 'leave', token, memberId }));
  }

  // #region commit
  /**
   * OffsetCommit: fenced by member id and generation (group.ts), then stored durably.
   * Resolves once the offsets are fsynced; one result per partition, in request order.
   */
  async commitOffsets(groupId: string, memberId: string, generation: number, offsets: readonly OffsetToCommit[]): Promise<PartitionResult[]> {
    const all = (error: number): PartitionResult[] => offsets.map((o) => ({ topic: o.topic, partition: o.partition, error }));
    const fenced = await this.#simple(groupId, (token) => ({ type: 'commit', token, memberId, generation }));
    if (fenced !== ErrorCode.NONE) return all(fenced);
    const results = offsets.map((o): PartitionResult => ({ topic: o.topic, partition: o.partition, error: this.#checkOffset(o) }));
    const valid = offsets.filter((_, i) => results[i]?.error === ErrorCode.NONE);
    try {
      await this.#deps.store.commit(groupId, valid, this.#deps.clock.now());
    } catch {
      return results.map((r) => (r.error === ErrorCode.NONE ? { ...r, error: ErrorCode.KAFKA_STORAGE_ERROR } : r));
    }
    return results;
  }
  // #endregion commit

  /** OffsetFetch: committed offsets of `partitions`, or of every partition the group
   * has committed when `partitions` is null. Needs no membership (anyone may look). */
  fetchOffsets(groupId: string, partitions: readonly TopicPartition[] | null): FetchedOffset[] {
    const { store } = this.#deps;
    if (partitions === null) return store.offsets(groupId).map(({ topic, partition, offset, metadata }) => ({ topic, partition, offset, metadata }));
    return partitions.map(({ topic, partition }) => {
      const c = store.committed(groupId, topic, partition);
      return { topic, partition, offset: c?.offset ?? -1, metadata: c?.metadata ?? '' };
    });
  }

  /** ListGroups: every group with members or with stored state, sorted by id. */
  listGroups(): GroupListing[] {
    const ids = new Set([...this.#groups.keys(), ...this.#deps.store.groups()]);
    return [...ids].sort().map((groupId) => {
      const g = this.#groups.get(groupId);
      return { groupId, state: g?.state ?? 'Empty', members: g?.size ?? 0 };
    });
  }

  /** DescribeGroups: members, generation, assignment and committed offsets; undefined
   * for a group the coordinator has never heard of. */
  describeGroup(groupId: string): GroupDetails | undefined {
    const { store } = this.#deps;
    const g = this.#groups.get(groupId);
    if (g === undefined && !store.groups().includes(groupId)) return undefined;
    const description: GroupDescription = g?.describe() ?? { groupId, state: 'Empty', generation: store.generation(groupId), leaderId: '', members: [] };
    return { ...description, offsets: store.offsets(groupId) };
  }

  /** Stop every timer and answer held requests with COORDINATOR_NOT_AVAILABLE. */
  close(): void {
    this.#closed = true;
    for (const t of this.#timers.values()) this.#deps.clock.clearTimeout(t);
    this.#timers.clear();
    for (const [token, resolve] of this.#waiting) resolve({ type: 'heartbeat', token, error: ErrorCode.COORDINATOR_NOT_AVAILABLE });
    this.#waiting.clear();
  }

  async #simple(groupId: string, make: (token: number) => GroupInput): Promise<number> {
    const group = this.#group(groupId, false);
    if (group === undefined) return this.#checkGroupId(groupId) ?? ErrorCode.UNKNOWN_MEMBER_ID;
    const r = await this.#request(group, make);
    return r.type === 'join' || r.type === 'sync' ? ErrorCode.COORDINATOR_NOT_AVAILABLE : r.error;
  }

  /** Bytes of member metadata all groups hold now (bounded by `memberMetadataBytesTotalMax`). */
  get memberMetadataBytes(): number {
    return this.#metadataBytes;
  }

  /** INVALID_GROUP_ID for an id no group can have (empty, or over `groupIdLengthMax`), else null. */
  groupIdError(groupId: string): number | null {
    return this.#checkGroupId(groupId);
  }

  #checkGroupId(groupId: string): number | null {
    return groupId.length === 0 || groupId.length > this.#config.groupIdLengthMax ? ErrorCode.INVALID_GROUP_ID : null;
  }

  #checkOffset(o: OffsetToCommit): number {
    const count = this.#deps.partitionsOf(o.topic);
    if (count === undefined || !(o.partition >= 0 && o.partition < count)) return ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
    if (!Number.isSafeInteger(o.offset) || o.offset < 0) return ErrorCode.INVALID_COMMIT_OFFSET_SIZE;
    if (Buffer.byteLength(o.metadata, 'utf8') > this.#config.offsetMetadataBytesMax) return ErrorCode.OFFSET_METADATA_TOO_LARGE;
    return ErrorCode.NONE;
  }

  /** The group's state machine; created (with its stored generation) if asked and
   * the limit allows. */
  #group(groupId: string, create: boolean): Group | undefined {
    const existing = this.#groups.get(groupId);
    if (existing !== undefined || !create || this.#closed) return existing;
    if (this.#groups.size >= this.#config.groupsMax) {
      this.#dropIdle();
      if (this.#groups.size >= this.#config.groupsMax) return undefined;
    }
    const { random, store, partitionsOf } = this.#deps;
    const group = new Group(groupId, {
      partitionsOf,
      newMemberId: (clientId) => `${memberIdPrefix(clientId) || 'consumer'}-${randomHex(random)}`,
      config: this.#config,
      generation: store.generation(groupId),
    });
    this.#groups.set(groupId, group);
    return group;
  }

  /** Forget empty groups whose generation is already durable (the store remembers it,
   * and a new Group object picks it up). */
  #dropIdle(): void {
    for (const [id, g] of this.#groups) {
      if (g.state === 'Empty' && g.generation === this.#deps.store.generation(id)) this.#groups.delete(id);
    }
  }

  // #region feed
  async #request(group: Group, make: (token: number) => GroupInput): Promise<GroupResponse> {
    const token = this.#nextToken++;
    const answered = new Promise<GroupResponse>((resolve) => this.#waiting.set(token, resolve));
    this.#feed(group, make(token));
    return await answered;
  }

  #feed(group: Group, input: GroupInput): void {
    const { clock, store } = this.#deps;
    const before = group.metadataBytes;
    const ready = group.handle(input, clock.now());
    this.#metadataBytes += group.metadataBytes - before;
    this.#schedule(group);
    this.#delivery = this.#delivery.then(async () => {
      let responses = ready.responses;
      if (ready.persistGeneration !== undefined) {
        try {
          await store.recordGeneration(group.groupId, ready.persistGeneration, clock.now());
        } catch {
          // Not durable, so not announced: the members retry their join.
          responses = responses.map((r) => (r.type === 'join' && r.error === ErrorCode.NONE ? { ...r, error: ErrorCode.COORDINATOR_NOT_AVAILABLE, generation: -1 } : r));
        }
      }
      for (const r of responses) {
        const resolve = this.#waiting.get(r.token);
        this.#waiting.delete(r.token);
        resolve?.(r);
      }
    });
  }
  // #endregion feed

  /** Keep exactly one timer per group, at the deadline its state machine names. */
  #schedule(group: Group): void {
    const { clock } = this.#deps;
    const old = this.#timers.get(group.groupId);
    if (old !== undefined) clock.clearTimeout(old);
    this.#timers.delete(group.groupId);
    const deadlineMs = group.nextDeadlineMs();
    if (deadlineMs === null || this.#closed) return;
    const timer = clock.setTimeout(() => {
      this.#timers.delete(group.groupId);
      if (this.#groups.get(group.groupId) === group) this.#feed(group, { type: 'tick' });
    }, deadlineMs - clock.now());
    this.#timers.set(group.groupId, timer);
  }
}

/**
 * The first 64 characters of a client id, for a member id, without cutting a surrogate
 * pair in half: a lone half has no UTF-8, so the id the client got back would not be the
 * one the coordinator keeps, and none of its requests would find it.
 * @example memberIdPrefix('a'.repeat(63) + '😀') // 63 a's, not 63 a's and half an emoji
 */
function memberIdPrefix(clientId: string): string {
  const cut = clientId.slice(0, 64);
  const last = cut.charCodeAt(cut.length - 1);
  return last >= 0xd800 && last <= 0xdbff ? cut.slice(0, -1) : cut;
}

/** 48 random bits as 12 hex digits, from the Random seam. */
function randomHex(random: Random): string {
  const word = (): string => Math.floor(random() * 0x1000000).toString(16).padStart(6, '0');
  return word() + word();
}
