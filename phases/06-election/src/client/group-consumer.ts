/**
 * The group consumer, in KafkaJS's shape: `subscribe({ topic })`, `run({ eachMessage })`
 * (or `eachBatch`), `commitOffsets`, `disconnect()`. Several processes with the same
 * `groupId` share the partitions of the topics they subscribe to; each partition is
 * read by one member at a time, and progress is committed to the group coordinator.
 *
 * One loop does all the work, so nothing here runs concurrently with the caller's
 * handler:
 *
 *   ┌─▶ group news? (heartbeat said rebalance / we were fenced)  → start a join in the
 *   │     background (JoinGroup is held by the coordinator; we keep consuming meanwhile)
 *   │   join finished?  → revoke what we lost (commit it first), start what we gained
 *   │     (at the committed offset, else earliest/latest), and if we revoked anything,
 *   │     rejoin at once so the follow-up round can hand it out (KIP-429)
 *   │   fetch every owned partition (long poll), hand records to the handler in order,
 *   │     advance each partition's position only after the handler returned
 *   └── commit the positions every `autoCommitIntervalMs` (and on revoke, and on
 *         disconnect)
 *
 * Delivery is at-least-once: an offset is committed only after its record was
 * processed, so a crash between processing and committing means the next owner
 * processes the record again; nothing is ever skipped. (Committing before processing
 * would be at-most-once: a crash in between loses the record instead.)
 *
 * Differences from KafkaJS, on purpose: `run` resolves when the consumer is stopped
 * (and rejects if the handler or the connection fails), like phase 2's consumer, instead
 * of returning at once; offsets are numbers, not strings.
 *
 * In a cluster (phase 5) the group's requests go to the coordinator FindCoordinator
 * names (the cluster file's first broker), on the member's own connection, and the data
 * requests (Fetch, ListOffsets) to each partition's leader, routed and retried as the
 * plain Consumer does (client/brokers.ts, client/leader-fetcher.ts).
 */
import type { Clock } from '../seams/clock.ts';
import { ErrorCode } from '../protocol/errors.ts';
import { EARLIEST_TIMESTAMP, LATEST_TIMESTAMP, ListOffsets } from '../protocol/list-offsets.ts';
import { splitBatches } from '../protocol/records.ts';
import { type LogRecord, decodeBatch } from '../log/record-batch.ts';
import { BrokerPool } from './brokers.ts';
import type { ClientOptions } from './connection.ts';
import { ClientLimitError, throwIfError } from './errors.ts';
import { GroupMember, type CommitOffset, type GroupMemberOptions, type Membership } from './group-member.ts';
import { LeaderFetcher } from './leader-fetcher.ts';
import { type TopicPartition, tpKey } from '../topics/partition.ts';

/** Settings of a {@link GroupConsumer}. */
export interface GroupConsumerOptions extends GroupMemberOptions, ClientOptions {
  /** Soft cap on the bytes of one partition's fetch. Default 1 MiB. */
  maxBytes?: number;
  /** How long the broker may hold a fetch when there is nothing new. Default 500 ms. */
  maxWaitMs?: number;
}

/** What `eachMessage` receives (KafkaJS's EachMessagePayload, minus pause/resume). */
export interface EachMessagePayload {
  topic: string;
  partition: number;
  message: LogRecord;
}

/** What `eachBatch` receives (KafkaJS's EachBatchPayload, the parts we support). */
export interface EachBatchPayload {
  batch: { topic: string; partition: number; highWatermark: number; messages: LogRecord[] };
  /** Mark `offset` as processed (the position becomes offset + 1). */
  resolveOffset(offset: number): void;
  /** Commit resolved offsets now if the auto-commit interval has passed. */
  commitOffsetsIfNecessary(): Promise<void>;
  /** False once the consumer is stopping: finish early. */
  isRunning(): boolean;
  /** True once this partition has been revoked or lost: stop processing it. */
  isStale(): boolean;
}

/** `run` options (KafkaJS names, units last). */
export interface RunOptions {
  eachMessage?(payload: EachMessagePayload): Promise<void> | void;
  eachBatch?(payload: EachBatchPayload): Promise<void> | void;
  /** Commit processed offsets automatically. Default true. */
  autoCommit?: boolean;
  /** Time between automatic commits. Default 1000 ms. */
  autoCommitIntervalMs?: number;
  /** Also commit once this many records were processed since the last commit. Default: off. */
  autoCommitThreshold?: number | null;
  /** With eachBatch: resolve every record of the batch when it returns. Default true. */
  eachBatchAutoResolve?: boolean;
}

/** The `group.join` event: a new generation and our part of it. */
export interface GroupJoinEvent {
  groupId: string;
  memberId: string;
  generation: number;
  assignment: readonly TopicPartition[];
  /** Partitions we gave up in this round (committed first). */
  revoked: readonly TopicPartition[];
  /** We had been removed from the group; what we owned before was dropped, uncommitted. */
  lost: boolean;
}


/** An owned partition and the next offset to hand to the handler. */
interface Position {
  readonly tp: TopicPartition;
  offset: number;
}

/** Cap on one Fetch's total bytes (Kafka's fetch.max.bytes is 50 MiB). */
const FETCH_BYTES_MAX = 50 * 1024 * 1024;

/** Decode the stored batches of one partition, dropping records before `offset` (the
 * first batch may start earlier). decodeBatch checks each CRC: the bytes crossed a network. */
function decodeRecords(chunks: readonly Buffer[], offset: number): LogRecord[] {
  const records: LogRecord[] = [];
  for (const chunk of chunks) {
    for (const batch of splitBatches(chunk)) for (const record of decodeBatch(batch).records) if (record.offset >= offset) records.push(record);
  }
  return records;
}

/**
 * A consumer-group member that fetches and processes its partitions.
 * @example
 * const consumer = new GroupConsumer({ port: 9092, groupId: 'billing', ...realSeams() });
 * await consumer.connect();
 * consumer.subscribe({ topic: 'orders', fromBeginning: true });
 * await consumer.run({ eachMessage: async ({ partition, message }) => handle(partition, message) });
 * // elsewhere: await consumer.disconnect();
 */
export class GroupConsumer {
  readonly #opts: GroupConsumerOptions;
  readonly #clock: Clock;
  readonly #topics: string[] = [];
  #fromBeginning = true;
  #data: BrokerPool | null = null;
  #fetcher: LeaderFetcher | null = null;
  #member: GroupMember | null = null;
  /** Owned partitions → next offset to hand to the handler. */
  readonly #positions = new Map<string, Position>();
  /** Owned partitions → last offset committed (what the coordinator has). */
  readonly #committed = new Map<string, number>();
  readonly #listeners: ((e: GroupJoinEvent) => void)[] = [];
  #running = false;
  #loop: Promise<void> | null = null;
  #join: Promise<void> | null = null;
  #joined: Membership | null = null;
  #joinError: unknown = null;
  #lastCommitMs = 0;
  #uncommittedRecords = 0;

  constructor(opts: GroupConsumerOptions) {
    this.#opts = opts;
    this.#clock = opts.clock;
  }

  /** Connect to a bootstrap broker and to the group's coordinator. */
  async connect(): Promise<void> {
    if (this.#data !== null) return;
    const clientId = this.#opts.clientId ?? 'consumer';
    const pool = new BrokerPool({ client: { ...this.#opts, clientId }, kind: 'consumer' });
    await pool.connect();
    try {
      this.#member = await GroupMember.connect(await pool.anyConnection(), { ...this.#opts, clientId });
    } catch (err) {
      await pool.close();
      throw err;
    }
    const partitionMaxBytes = this.#opts.maxBytes ?? 1024 * 1024;
    this.#data = pool;
    this.#fetcher = new LeaderFetcher(pool, this.#clock, { partitionMaxBytes, fetchMaxBytes: FETCH_BYTES_MAX });
  }

  /**
   * Add a topic to the subscription (before `run`). `fromBeginning` says where a
   * partition with no committed offset starts: earliest (true, our default) or latest
   * (false, KafkaJS's default).
   */
  subscribe(opts: { topic: string; fromBeginning?: boolean }): void {
    if (this.#running) throw new ClientLimitError('subscribe() before run()');
    if (!this.#topics.includes(opts.topic)) this.#topics.push(opts.topic);
    if (opts.fromBeginning !== undefined) this.#fromBeginning = opts.fromBeginning;
  }

  /** Listen for `group.join` (every new generation we are part of). */
  on(event: 'group.join', listener: (e: GroupJoinEvent) => void): void {
    if (event === 'group.join') this.#listeners.push(listener);
  }

  /** Our partitions right now. */
  get assignment(): TopicPartition[] {
    return [...this.#positions.values()].map((p) => p.tp);
  }

  /** Our member id and generation ('' / -1 before the first join). */
  get membership(): { memberId: string; generation: number } {
    return { memberId: this.#member?.memberId ?? '', generation: this.#member?.generation ?? -1 };
  }

  /**
   * Join the group and process records until {@link stop} or {@link disconnect};
   * rejects if a handler throws or a connection fails.
   */
  async run(opts: RunOptions): Promise<void> {
    if (this.#running) throw new ClientLimitError('run() is already running');
    if (opts.eachMessage === undefined && opts.eachBatch === undefined) throw new RangeError('run() needs eachMessage or eachBatch');
    if (this.#topics.length === 0) throw new RangeError('subscribe() to a topic before run()');
    this.#running = true;
    this.#loop = this.#runLoop(opts);
    try {
      await this.#loop;
    } finally {
      this.#running = false;
    }
  }

  /** Stop `run` after the record being processed; stays in the group (see disconnect). */
  stop(): void {
    this.#running = false;
  }

  /** Commit these offsets (next offset to read, per partition) now. */
  async commitOffsets(offsets: readonly CommitOffset[]): Promise<void> {
    const code = await this.#memberOrThrow().commit(offsets);
    if (code === ErrorCode.NONE) for (const o of offsets) this.#committed.set(tpKey(o), o.offset);
  }

  /**
   * Stop, commit what was processed, leave the group (so it rebalances at once rather
   * than after a session timeout) and close the connections.
   */
  async disconnect(): Promise<void> {
    this.#running = false;
    await this.#loop?.catch(() => undefined);
    const member = this.#member;
    const data = this.#data;
    this.#member = null;
    this.#data = null;
    this.#fetcher = null;
    try {
      if (member !== null && !member.lost) await this.#commitPositions(member, true).catch(() => undefined);
      await member?.leave();
    } finally {
      await data?.close();
    }
  }

  async #runLoop(opts: RunOptions): Promise<void> {
    const member = this.#memberOrThrow();
    const autoCommit = opts.autoCommit ?? true;
    const intervalMs = opts.autoCommitIntervalMs ?? 1000;
    this.#lastCommitMs = this.#clock.now();
    while (this.#running) {
      if (member.heartbeatError !== null) throw member.heartbeatError;
      if (member.lost) this.#dropAll();
      if (this.#joinError !== null) throw this.#joinError;
      if (this.#joined !== null) await this.#applyJoin(member, this.#joined);
      if (member.rejoinNeeded && this.#join === null) this.#startJoin(member);
      if (this.#positions.size === 0) {
        // Nothing to fetch: wait for the join under way (or idle for a poll interval).
        await (this.#join ?? new Promise((resolve) => this.#clock.setTimeout(resolve, this.#opts.maxWaitMs ?? 500)));
        continue;
      }
      await this.#fetchRound(opts, intervalMs, autoCommit);
      if (autoCommit && this.#commitDue(intervalMs, opts.autoCommitThreshold ?? null)) await this.#commitPositions(member, false);
    }
  }

  #startJoin(member: GroupMember): void {
    const owned = this.assignment;
    this.#join = member.join(this.#topics, owned).then(
      (m) => {
        this.#joined = m;
        this.#join = null;
      },
      (err: unknown) => {
        this.#joinError = err;
        this.#join = null;
      },
    );
  }

  /** Apply a finished join: revoke (commit first), then start the new partitions. */
  async #applyJoin(member: GroupMember, m: Membership): Promise<void> {
    this.#joined = null;
    if (m.lost) this.#dropAll();
    const assigned = new Set(m.assignment.map(tpKey));
    const revoked = [...this.#positions.values()].filter((p) => !assigned.has(tpKey(p.tp))).map((p) => p.tp);
    if (revoked.length > 0) {
      // KIP-429: commit what we processed on the partitions we give up, stop them, and
      // rejoin so the follow-up rebalance can assign them to their new owner.
      await this.#commitPositions(member, true, new Set(revoked.map(tpKey)));
      for (const tp of revoked) {
        this.#positions.delete(tpKey(tp));
        this.#committed.delete(tpKey(tp));
      }
      member.requestRejoin();
    }
    const added = m.assignment.filter((tp) => !this.#positions.has(tpKey(tp)));
    if (added.length > 0) {
      const committed = await member.committed(added);
      for (const tp of added) {
        const c = committed.get(tpKey(tp)) ?? -1;
        const offset = c >= 0 ? c : await this.#startOffset(tp);
        this.#positions.set(tpKey(tp), { tp, offset });
        if (c >= 0) this.#committed.set(tpKey(tp), c);
      }
    }
    const event: GroupJoinEvent = { groupId: member.groupId, memberId: m.memberId, generation: m.generation, assignment: m.assignment, revoked, lost: m.lost };
    for (const listener of this.#listeners) listener(event);
  }

  /** Lost partitions (we were fenced): forget them without committing. */
  #dropAll(): void {
    this.#positions.clear();
    this.#committed.clear();
  }

  /** Where a partition with nothing committed starts (KafkaJS's fromBeginning). */
  async #startOffset(tp: TopicPartition): Promise<number> {
    const timestamp = this.#fromBeginning ? EARLIEST_TIMESTAMP : LATEST_TIMESTAMP;
    return await this.#dataOrThrow().leaderRequest(tp.topic, tp.partition, async (conn) => {
      const res = await conn.request(ListOffsets, { topic: tp.topic, partition: tp.partition, timestamp });
      throwIfError(res);
      return res.offset;
    });
  }

  /**
   * Fetch every owned partition from its leader (one Fetch per leader, so an idle
   * partition's long poll cannot hold up another's data), then hand the records of the
   * fetches that answered to the handler, partition by partition.
   */
  async #fetchRound(opts: RunOptions, intervalMs: number, autoCommit: boolean): Promise<void> {
    if (this.#fetcher === null) throw new ClientLimitError('GroupConsumer used before connect() (or after disconnect())');
    const wants = [...this.#positions.values()].map((p) => ({ topic: p.tp.topic, partition: p.tp.partition, offset: p.offset }));
    const outcomes = await this.#fetcher.next(wants, this.#opts.maxWaitMs ?? 500);
    for (const { want, result: r } of outcomes) {
      const p = this.#positions.get(tpKey(want));
      // Revoked, or moved since this fetch was sent (its answer may have waited a round).
      if (p === undefined || p.offset !== want.offset || !this.#running) continue;
      if (r.errorCode === ErrorCode.OFFSET_OUT_OF_RANGE) {
        // The committed offset fell out of retention: start over per fromBeginning.
        p.offset = await this.#startOffset(p.tp);
        continue;
      }
      throwIfError(r);
      const records = decodeRecords(r.records, p.offset);
      if (records.length === 0) continue;
      await this.#process(opts, p, records, r.highWatermark, intervalMs, autoCommit);
    }
  }

  /** Hand one partition's records to the handler, advancing the position behind it. */
  async #process(opts: RunOptions, p: Position, records: LogRecord[], highWatermark: number, intervalMs: number, autoCommit: boolean): Promise<void> {
    const stale = (): boolean => this.#positions.get(tpKey(p.tp)) !== p;
    const advanceTo = (next: number): void => {
      if (stale() || next <= p.offset) return;
      this.#uncommittedRecords += next - p.offset;
      p.offset = next;
    };
    if (opts.eachBatch !== undefined) {
      await opts.eachBatch({
        batch: { topic: p.tp.topic, partition: p.tp.partition, highWatermark, messages: records },
        resolveOffset: (offset) => advanceTo(offset + 1),
        commitOffsetsIfNecessary: async () => {
          if (autoCommit && this.#commitDue(intervalMs, opts.autoCommitThreshold ?? null)) await this.#commitPositions(this.#memberOrThrow(), false);
        },
        isRunning: () => this.#running,
        isStale: stale,
      });
      const last = records[records.length - 1];
      if ((opts.eachBatchAutoResolve ?? true) && last !== undefined) advanceTo(last.offset + 1);
      return;
    }
    for (const message of records) {
      if (!this.#running || stale()) return;
      await opts.eachMessage?.({ topic: p.tp.topic, partition: p.tp.partition, message });
      advanceTo(message.offset + 1);
    }
  }

  #commitDue(intervalMs: number, threshold: number | null): boolean {
    if (threshold !== null && this.#uncommittedRecords >= threshold) return true;
    return this.#clock.now() - this.#lastCommitMs >= intervalMs;
  }

  /**
   * Commit every owned partition whose position moved since its last commit (or only
   * those in `only`). A fencing answer is not an error: the partitions are someone
   * else's now, and whatever we processed past the last commit will be processed again
   * by them (at-least-once).
   */
  async #commitPositions(member: GroupMember, force: boolean, only?: ReadonlySet<string>): Promise<void> {
    const offsets: CommitOffset[] = [];
    for (const [k, p] of this.#positions) {
      if (only !== undefined && !only.has(k)) continue;
      if (this.#committed.get(k) !== p.offset) offsets.push({ topic: p.tp.topic, partition: p.tp.partition, offset: p.offset });
    }
    this.#lastCommitMs = this.#clock.now();
    if (offsets.length === 0 && !force) return;
    const code = await member.commit(offsets);
    if (code === ErrorCode.NONE) {
      for (const o of offsets) this.#committed.set(tpKey(o), o.offset);
      if (only === undefined) this.#uncommittedRecords = 0;
    }
  }

  #memberOrThrow(): GroupMember {
    if (this.#member === null) throw new ClientLimitError('GroupConsumer used before connect() (or after disconnect())');
    return this.#member;
  }

  #dataOrThrow(): BrokerPool {
    if (this.#data === null) throw new ClientLimitError('GroupConsumer used before connect() (or after disconnect())');
    return this.#data;
  }
}
