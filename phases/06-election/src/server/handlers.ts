/**
 * The broker's request handlers: decoded request in, response out, no sockets in sight.
 * `RequestHandler.handle` routes a request by api key, decodes its body (a malformed body
 * becomes an INVALID_REQUEST response, the connection lives on), runs the API against the
 * partition named in the request (phase 3: the `PartitionManager` finds its `Partition`) and
 * encodes the answer. It never rejects: every failure is a response with an error code
 * (server/error-codes.ts). The consumer-group APIs (phase 4) are passed on to
 * `GroupHandlers` (group-handlers.ts).
 *
 * Ordering obligations, written where they are kept:
 * - Produce calls `Partition.appendBatches` (so `Log.appendBatch`) synchronously, before its first `await`, for every
 *   batch of the request. The connection dispatches requests in the order they arrived,
 *   and the log appends in call order, so pipelined produce requests get ascending offsets
 *   and the batches of one request get contiguous ones. The one exception is a produce to
 *   a topic being auto-created: it waits for the creation, chained behind the requests
 *   for that topic that came before it, so the order still holds.
 * - Produce answers only after `appendBatch` resolved, which is after fsync: an
 *   acknowledged record survives a crash. Long-polling fetches are woken only then too.
 * - Names are checked before any lookup or creation (topics/names.ts): a bad name is
 *   INVALID_TOPIC_EXCEPTION and touches nothing; `__` topics are never written by clients.
 *
 * Bounded work and answers (issue 12): a request carries at most `requestItemsMax` array
 * elements, checked by the decoder before it decodes them, and names at most
 * `requestTopicsMax` topics, checked before any is looked at (else INVALID_REQUEST);
 * Metadata answers each topic once, however often it is named; and no answer of any API
 * is sent larger than `responseBytesMax` (the API's POLICY_VIOLATION response is sent
 * instead). So a request's work is bounded by those counts, not only by its bytes. An error
 * message quotes what the client sent only in part (`quoted`, topics/errors.ts), and an
 * answer that cannot be encoded is a bug answered with UNKNOWN_SERVER_ERROR, never a
 * dropped connection.
 */
import type { Clock } from '../seams/clock.ts';
import { OffsetOutOfRangeError } from '../log/errors.ts';
import type { Partition, PartitionAppendResult } from '../topics/partition.ts';
import type { PartitionManager } from '../topics/partitions.ts';
import { InvalidTopicError, UnknownTopicOrPartitionError, quoted } from '../topics/errors.ts';
import { isInternalTopic, topicNameProblem, validateTopicName } from '../topics/names.ts';
import type { TopicSpec } from '../topics/registry.ts';
import { type ApiCodec, type ResponseBase, encodeBareResponse } from '../protocol/api.ts';
import { ApiVersions, type ApiVersionsResponse } from '../protocol/api-versions.ts';
import { apiByKey, supportedVersions } from '../protocol/apis.ts';
import type { ByteReader } from '../protocol/bytes.ts';
import { CreateTopics, type CreateTopicsRequest, type CreateTopicsResponse, settingsFromConfigs, configsFromSettings } from '../protocol/create-topics.ts';
import { ErrorCode } from '../protocol/errors.ts';
import { CONSUMER_REPLICA_ID, Fetch, type FetchPartitionResult, type FetchRequest, type FetchResponse, fetchPartitionError } from '../protocol/fetch.ts';
import { ApiKey, type RequestHeader, chunksBytes } from '../protocol/header.ts';
import { EARLIEST_TIMESTAMP, LATEST_TIMESTAMP, ListOffsets, type ListOffsetsRequest, type ListOffsetsResponse } from '../protocol/list-offsets.ts';
import { Metadata, type MetadataRequest, type MetadataResponse, type PartitionMetadata, type TopicMetadata } from '../protocol/metadata.ts';
import { Produce, type ProduceRequest, type ProduceResponse } from '../protocol/produce.ts';
import { splitBatches } from '../protocol/records.ts';
import { DescribeGroups } from '../protocol/describe-groups.ts';
import { FindCoordinator } from '../protocol/find-coordinator.ts';
import { Heartbeat } from '../protocol/heartbeat.ts';
import { JoinGroup } from '../protocol/join-group.ts';
import { LeaveGroup } from '../protocol/leave-group.ts';
import { ListGroups } from '../protocol/list-groups.ts';
import { OffsetCommit } from '../protocol/offset-commit.ts';
import { OffsetFetch } from '../protocol/offset-fetch.ts';
import { SyncGroup } from '../protocol/sync-group.ts';
import { OffsetForLeaderEpoch, type OffsetForLeaderEpochPartitionResult, type OffsetForLeaderEpochRequest, type OffsetForLeaderEpochResponse } from '../protocol/offset-for-leader-epoch.ts';
import { checkLeaderEpoch } from '../controller/election.ts';
import { AppendNotifier } from './append-notifier.ts';
import { errorCodeFor, errorMessageFor } from './error-codes.ts';
import type { GroupHandlers } from './group-handlers.ts';

/** What the handlers need from the broker around them. */
export interface HandlerOptions {
  /** Cap on a Fetch's long-poll wait. */
  fetchWaitMsMax: number;
  /** Cap on the bytes one Fetch reads, whatever the client asks for. */
  fetchBytesMax: number;
  /** Address announced in Metadata. */
  advertisedHost: string;
  advertisedPort: number;
  /** Where unexpected errors (bugs) are reported. */
  logger: (line: string) => void;
  /** Create a missing topic on Produce, or on Metadata when the client allows it (Kafka `auto.create.topics.enable`). */
  autoCreateTopics: boolean;
  /** Partitions of an auto-created topic (Kafka `num.partitions`). */
  defaultPartitions: number;
  /** Most topics one request may name (Metadata: duplicates counted). */
  requestTopicsMax: number;
  /** Most array elements one request may carry, all arrays together (checked while decoding). */
  requestItemsMax: number;
  /** Largest response body sent, for any API. */
  responseBytesMax: number;
  /** The consumer-group APIs (phase 4); without them those APIs answer COORDINATOR_NOT_AVAILABLE. */
  groups?: GroupHandlers;
  /** Phase 5: this broker's id and the cluster it belongs to; absent for a broker on its own (node 0). */
  cluster?: ClusterView;
}

/** What the handlers need to know of the cluster (phase 5). */
export interface ClusterView {
  readonly brokerId: number;
  /** Every broker, as Metadata announces them. */
  readonly brokers: readonly { nodeId: number; host: string; port: number }[];
  /** A partition's replicas, leader first, or null for a topic outside the cluster file. */
  replicasOf(topic: string, partition: number): readonly number[] | null;
  /** Phase 6: the partition as the controller's metadata log has it (leader, epoch, committed ISR). */
  partitionState?(topic: string, partition: number): { readonly leader: number; readonly leaderEpoch: number; readonly isr: readonly number[] } | undefined;
  /** Phase 6: a follower's fetch may have caught it up; the leader proposes it for the ISR. */
  followerCaughtUp?(partition: Partition): void;
  /** Phase 6: topics are created by the controller; resolves once this broker knows them. */
  createTopics?(req: CreateTopicsRequest): Promise<CreateTopicsResponse>;
}

/** An encoded response body, now or later. */
export type ResponseBody = Buffer[] | Promise<Buffer[]>;

/** The node id of a broker on its own; in a cluster (phase 5) each broker has its own. */
const SINGLE_NODE_ID = 0;

/**
 * Runs requests against the broker's topics and partitions.
 * @example
 * const handler = new RequestHandler(partitions, realClock, { fetchWaitMsMax: 30_000, fetchBytesMax: 8 << 20, advertisedHost: '127.0.0.1', advertisedPort: 9092, logger: console.error, autoCreateTopics: false, defaultPartitions: 1, requestTopicsMax: 1000, requestItemsMax: 10_000, responseBytesMax: 16 << 20 });
 * const body = await handler.handle(header, reader);
 */
export class RequestHandler {
  readonly #partitions: PartitionManager;
  readonly #clock: Clock;
  readonly #options: HandlerOptions;
  readonly #appends: AppendNotifier;
  /** Auto-creations in progress, so requests for the same topic wait for one creation, in order. */
  readonly #creating = new Map<string, Promise<void>>();
  #shuttingDown = false;

  constructor(partitions: PartitionManager, clock: Clock, options: HandlerOptions) {
    this.#partitions = partitions;
    this.#clock = clock;
    this.#options = options;
    this.#appends = new AppendNotifier(clock);
  }

  /** Long-polling fetches currently parked (for tests and the demo). */
  get parkedFetches(): number {
    return this.#appends.size;
  }

  /** A high watermark moved (phase 5): wake parked fetches, which may now have records to return. */
  highWatermarkMoved(): void {
    this.#appends.notifyAll();
  }

  /** Stop taking writes and answer every parked fetch (and held JoinGroup) now. */
  beginShutdown(): void {
    this.#shuttingDown = true;
    this.#appends.notifyAll();
    this.#options.groups?.beginShutdown();
  }

  /** `#run` for a consumer-group API, or COORDINATOR_NOT_AVAILABLE when there is no
   * coordinator (a handler built without one) or the broker is shutting down. */
  #group<Req, Res extends ResponseBase>(api: ApiCodec<Req, Res>, body: ByteReader, run: (groups: GroupHandlers, req: Req) => Res | Promise<Res>): ResponseBody {
    const groups = this.#options.groups;
    if (groups === undefined || this.#shuttingDown) {
      const reason = groups === undefined ? 'this broker coordinates no consumer groups' : 'broker is shutting down';
      return api.encodeResponse(api.errorResponse(ErrorCode.COORDINATOR_NOT_AVAILABLE, reason));
    }
    return this.#run(api, body, (req) => run(groups, req));
  }

  /**
   * Handle one request whose header is decoded; `body` is positioned at the request body
   * and ends at the end of the frame. Resolves to the encoded response body; never rejects.
   */
  handle(header: RequestHeader, body: ByteReader): ResponseBody {
    const api = apiByKey(header.apiKey);
    if (api === undefined) {
      return encodeBareResponse({
        errorCode: ErrorCode.INVALID_REQUEST,
        errorMessage: `unknown api key ${header.apiKey}; ApiVersions lists the supported ones`,
      });
    }
    const unsupported = unsupportedVersion(api, header, (code, message) => this.#apiVersions(code, message));
    if (unsupported !== null) return unsupported;
    // Answered like any other malformed field: the request's own error response.
    if (header.clientIdProblem !== undefined) return api.encodeResponse(api.errorResponse(ErrorCode.INVALID_REQUEST, header.clientIdProblem));
    switch (header.apiKey) {
      case ApiKey.Produce:
        return this.#run(Produce, body, (req) => this.#produce(req));
      case ApiKey.Fetch:
        return this.#run(Fetch, body, (req) => this.#fetch(req));
      case ApiKey.ListOffsets:
        return this.#run(ListOffsets, body, (req) => this.#listOffsets(req));
      case ApiKey.Metadata:
        return this.#run(Metadata, body, (req) => this.#metadata(req));
      case ApiKey.ApiVersions:
        return this.#run(ApiVersions, body, () => this.#apiVersions(ErrorCode.NONE, null));
      case ApiKey.CreateTopics:
        return this.#run(CreateTopics, body, (req) => this.#createTopics(req));
      case ApiKey.OffsetForLeaderEpoch:
        return this.#run(OffsetForLeaderEpoch, body, (req) => this.#offsetForLeaderEpoch(req));
      case ApiKey.FindCoordinator:
        return this.#group(FindCoordinator, body, (groups, req) => groups.findCoordinator(req));
      case ApiKey.JoinGroup:
        return this.#group(JoinGroup, body, (groups, req) => {
          // A subscription is topics the request names: bounded like Metadata's (issue 12).
          const tooMany = this.#tooManyTopics('JoinGroup', req.topics.length);
          return tooMany === null ? groups.joinGroup(req, header.clientId) : JoinGroup.errorResponse(ErrorCode.INVALID_REQUEST, tooMany);
        });
      case ApiKey.SyncGroup:
        return this.#group(SyncGroup, body, (groups, req) => groups.syncGroup(req));
      case ApiKey.Heartbeat:
        return this.#group(Heartbeat, body, (groups, req) => groups.heartbeat(req));
      case ApiKey.LeaveGroup:
        return this.#group(LeaveGroup, body, (groups, req) => groups.leaveGroup(req));
      case ApiKey.OffsetCommit:
        return this.#group(OffsetCommit, body, (groups, req) => groups.offsetCommit(req));
      case ApiKey.OffsetFetch:
        return this.#group(OffsetFetch, body, (groups, req) => groups.offsetFetch(req));
      case ApiKey.DescribeGroups:
        return this.#group(DescribeGroups, body, (groups, req) => groups.describeGroups(req));
      case ApiKey.ListGroups:
        return this.#group(ListGroups, body, (groups) => groups.listGroups());
      default:
        return encodeBareResponse({ errorCode: ErrorCode.UNKNOWN_SERVER_ERROR, errorMessage: `${api.name} has no handler` });
    }
  }

  /** Decode, run, encode; turn every exception into an error response of the same API. */
  #run<Req, Res extends ResponseBase>(api: ApiCodec<Req, Res>, body: ByteReader, run: (req: Req) => Res | Promise<Res>): ResponseBody {
    return runApi(api, body, run, this.#options);
  }

  // #region produce
  #produce(req: ProduceRequest): ProduceResponse | Promise<ProduceResponse> {
    if (req.acks !== -1 && req.acks !== 1) {
      return Produce.errorResponse(ErrorCode.INVALID_REQUIRED_ACKS, `acks must be -1 or 1, got ${req.acks}`);
    }
    if (req.timeoutMs < 0) return Produce.errorResponse(ErrorCode.INVALID_REQUEST, `timeoutMs must be >= 0, got ${req.timeoutMs}`);
    if (this.#shuttingDown) return Produce.errorResponse(ErrorCode.BROKER_NOT_AVAILABLE, 'broker is shutting down');
    validateTopicName(req.topic);
    if (isInternalTopic(req.topic)) throw new InvalidTopicError(req.topic, 'internal topics (names starting with "__") cannot be produced to by clients');
    const batches: Buffer[] = [];
    for (const chunk of req.records) for (const batch of splitBatches(chunk)) batches.push(batch);
    if (batches.length === 0) return Produce.errorResponse(ErrorCode.INVALID_REQUEST, 'Produce request carries no record batch');
    // A topic being auto-created (now, or by an earlier request): append once it exists,
    // behind the earlier requests for it (promise callbacks run in registration order).
    const creating = this.#creating.get(req.topic) ?? (this.#partitions.topic(req.topic) === undefined ? this.#autoCreate(req.topic) : undefined);
    const epoch = req.currentLeaderEpoch ?? -1;
    if (creating !== undefined) return creating.then(() => this.#append(this.#partitions.partition(req.topic, req.partition), batches, req.acks, req.timeoutMs, epoch));
    return this.#append(this.#partitions.partition(req.topic, req.partition), batches, req.acks, req.timeoutMs, epoch);
  }

  /**
   * Append a request's batches to one partition; call synchronously (see the ordering
   * notes). Phase 5: only the leader takes produce requests, and acks=all is refused
   * before anything is appended while the ISR is below minInsyncReplicas.
   */
  #append(partition: Partition, batches: Buffer[], acks: number, timeoutMs: number, currentLeaderEpoch: number): ProduceResponse | Promise<ProduceResponse> {
    // Phase 6: a producer that knows a newer (or older) leader than this broker is told so.
    const epochError = epochProblem(partition, currentLeaderEpoch, this.#brokerId);
    if (epochError !== null) return Produce.errorResponse(epochError.errorCode, epochError.message);
    if (partition.role === 'follower') return notLeader(partition);
    const leader = partition.leaderReplica;
    if (leader !== null && acks === -1 && !leader.enoughReplicas) {
      return Produce.errorResponse(
        ErrorCode.NOT_ENOUGH_REPLICAS,
        `${partition.topic}-${partition.partition}: ISR [${leader.isr.join(',')}] is smaller than minInsyncReplicas ${leader.assignment.minInsyncReplicas}`,
      );
    }
    return this.#acknowledge(partition, partition.appendBatches(batches), acks, timeoutMs);
  }
  // #endregion produce

  async #acknowledge(partition: Partition, appended: Promise<PartitionAppendResult>, acks: number, timeoutMs: number): Promise<ProduceResponse> {
    const log = partition.log;
    try {
      const result = await appended;
      // The batch is durable: wake the followers' parked fetches now, not after the HW has
      // passed it (they are what moves the HW: waking them later would make every acks=all
      // produce wait out a follower's long poll).
      this.#appends.notifyAll();
      // #region acks
      const leader = partition.leaderReplica;
      if (leader !== null) {
        // The leader's durable end moved: with the leader alone in the ISR, so does the HW.
        leader.onLocalAppend(partition.logEndOffset);
        // acks=all: answer once every ISR member holds the batch durably (the HW passed it).
        if (acks === -1 && !(await leader.waitForHighWatermark(result.lastOffset + 1, timeoutMs))) {
          return Produce.errorResponse(
            ErrorCode.REQUEST_TIMED_OUT,
            `${partition.topic}-${partition.partition}: offsets ${result.baseOffset}..${result.lastOffset} are in the leader's log but not yet on every ISR member after ${timeoutMs} ms`,
          );
        }
        // The HW passed the batch, but perhaps only because the ISR shrank below
        // minInsyncReplicas meanwhile: committed, yet not on as many copies as asked (Kafka's
        // checkEnoughReplicasReachOffset). The producer must not count it as acks=all.
        if (acks === -1 && !leader.enoughReplicas) {
          return Produce.errorResponse(
            ErrorCode.NOT_ENOUGH_REPLICAS_AFTER_APPEND,
            `${partition.topic}-${partition.partition}: offsets ${result.baseOffset}..${result.lastOffset} are committed, but the ISR [${leader.isr.join(',')}] is below minInsyncReplicas ${leader.assignment.minInsyncReplicas}`,
          );
        }
      }
      // #endregion acks
      // Per-topic retention (retention.bytes) is applied after appends to that partition, in
      // the log's own queue; Kafka runs the same check on a timer (log.retention.check.interval.ms).
      if (log.config.retentionBytesMax !== -1) {
        log.applyRetention().catch((err: unknown) => this.#options.logger(`retention in ${log.dir} failed: ${errorMessageFor(err)}`));
      }
      return {
        errorCode: ErrorCode.NONE,
        errorMessage: null,
        baseOffset: result.baseOffset,
        lastOffset: result.lastOffset,
        logStartOffset: partition.logStartOffset,
      };
    } finally {
      this.#appends.notifyAll();
    }
  }

  /**
   * Create `topic` with the default partition count if auto-creation is on; otherwise it
   * is unknown. Concurrent callers for one topic share one creation.
   */
  #autoCreate(topic: string): Promise<void> {
    // In a cluster (phase 5) topics are static: never auto-created (see #createTopics).
    if (!this.#options.autoCreateTopics || this.#options.cluster !== undefined) throw new UnknownTopicOrPartitionError(topic);
    const creation = this.#partitions
      .createTopic({ name: topic, partitions: this.#options.defaultPartitions })
      .then(() => undefined)
      .finally(() => this.#creating.delete(topic));
    this.#creating.set(topic, creation);
    return creation;
  }

  #fetch(req: FetchRequest): FetchResponse | Promise<FetchResponse> {
    const tooMany = this.#tooManyTopics('Fetch', req.topics.length);
    if (tooMany !== null) return Fetch.errorResponse(ErrorCode.INVALID_REQUEST, tooMany);
    if (req.maxBytes <= 0) return Fetch.errorResponse(ErrorCode.INVALID_REQUEST, `maxBytes must be > 0, got ${req.maxBytes}`);
    if (req.maxWaitMs < 0) return Fetch.errorResponse(ErrorCode.INVALID_REQUEST, `maxWaitMs must be >= 0, got ${req.maxWaitMs}`);
    for (const t of req.topics) {
      for (const p of t.partitions) {
        if (p.maxBytes <= 0) return Fetch.errorResponse(ErrorCode.INVALID_REQUEST, `${quoted(t.topic)}-${p.partition}: partitionMaxBytes must be > 0, got ${p.maxBytes}`);
      }
    }
    const replicaId = req.replicaId ?? CONSUMER_REPLICA_ID;
    if (replicaId !== CONSUMER_REPLICA_ID) this.#recordFollowerFetch(replicaId, req);
    const waitMs = Math.min(req.maxWaitMs, this.#options.fetchWaitMsMax);
    return this.#poll(req, this.#clock.now() + waitMs);
  }

  /**
   * A follower's fetch offsets say what it holds durably: update the leader's view of it
   * first, so the high watermark and ISR move before anything is read (Kafka does the same
   * in `Partition.fetchRecords`).
   */
  #recordFollowerFetch(replicaId: number, req: FetchRequest): void {
    let moved = false;
    for (const t of req.topics) {
      for (const p of t.partitions) {
        let partition: Partition;
        try {
          partition = this.#partitions.partition(t.topic, p.partition);
        } catch {
          continue; // answered as an error by #readPartition
        }
        const change = partition.leaderReplica?.onFollowerFetch(replicaId, p.offset, partition.logEndOffset);
        if (change === undefined) continue;
        if (change.isrAdded.length > 0) {
          // Phase 6: a proposal the controller must accept; phase 5: the leader's own decision.
          if (this.#options.cluster?.followerCaughtUp !== undefined) this.#options.cluster.followerCaughtUp(partition);
          else this.#options.logger(`${t.topic}-${p.partition}: ISR expands to [${partition.leaderReplica?.isr.join(',') ?? ''}] (${change.isrAdded.join(',')} caught up)`);
        }
        moved ||= change.highWatermarkMoved;
      }
    }
    if (moved) this.#appends.notifyAll();
  }

  /**
   * Answer now if any requested partition has something to say (records or an error);
   * otherwise park until an append anywhere, then look again, until `deadlineMs`.
   */
  #poll(req: FetchRequest, deadlineMs: number): FetchResponse | Promise<FetchResponse> {
    const waitMs = deadlineMs - this.#clock.now();
    if (waitMs > 0 && !this.#shuttingDown && !this.#anyReadable(req)) {
      return this.#appends.wait(waitMs).then(() => this.#poll(req, deadlineMs));
    }
    return this.#read(req);
  }

  /** Whether a fetch of `req` would return records or an error right now. */
  #anyReadable(req: FetchRequest): boolean {
    for (const t of req.topics) {
      for (const p of t.partitions) {
        try {
          const partition = this.#partitions.partition(t.topic, p.partition);
          if (partition.readableFrom(p.offset, this.#readLimit(partition, req))) return true;
        } catch {
          return true; // an unknown topic or partition is answered at once
        }
      }
    }
    return false;
  }

  async #read(req: FetchRequest): Promise<FetchResponse> {
    // The client's maxBytes is untrusted: without the cap, one request could make the
    // broker read up to 2 GiB into memory.
    let budgetBytes = Math.min(req.maxBytes, this.#options.fetchBytesMax);
    const topics: FetchResponse['topics'] = [];
    for (const t of req.topics) {
      const partitions: FetchPartitionResult[] = [];
      for (const p of t.partitions) {
        const result = await this.#readPartition(req, t.topic, p.partition, p.offset, Math.min(p.maxBytes, budgetBytes), p.currentLeaderEpoch ?? -1);
        for (const batch of result.records) budgetBytes -= batch.length;
        partitions.push(result);
      }
      topics.push({ topic: t.topic, partitions });
    }
    return { errorCode: ErrorCode.NONE, errorMessage: null, topics };
  }

  /**
   * How far a fetch may read: a consumer up to the high watermark, a follower up to the
   * log end offset (phase 5).
   */
  #readLimit(partition: Partition, req: FetchRequest): number {
    return (req.replicaId ?? CONSUMER_REPLICA_ID) === CONSUMER_REPLICA_ID ? partition.highWatermark : partition.logEndOffset;
  }

  /** One partition's part of a fetch; failures become that partition's error code. */
  async #readPartition(req: FetchRequest, topic: string, partition: number, offset: number, maxBytes: number, currentLeaderEpoch: number): Promise<FetchPartitionResult> {
    let found: Partition;
    try {
      found = this.#partitions.partition(topic, partition);
    } catch (err) {
      return fetchPartitionError(partition, errorCodeFor(err), errorMessageFor(err));
    }
    const epochError = epochProblem(found, currentLeaderEpoch, this.#brokerId);
    if (epochError !== null) return fetchPartitionError(partition, epochError.errorCode, epochError.message);
    const replicaId = req.replicaId ?? CONSUMER_REPLICA_ID;
    // Only the leader serves fetches, from consumers and followers alike (phase 5).
    if (found.role === 'follower' || (replicaId !== CONSUMER_REPLICA_ID && found.leaderReplica === null)) {
      return fetchPartitionError(partition, ErrorCode.NOT_LEADER_OR_FOLLOWER, `broker ${this.#brokerId} does not lead ${topic}-${partition}`);
    }
    try {
      // The total budget is used up: nothing from this partition this time (not an error).
      const records = maxBytes > 0 ? await found.read(offset, maxBytes, this.#readLimit(found, req)) : [];
      return { partition, errorCode: ErrorCode.NONE, errorMessage: null, highWatermark: found.highWatermark, logStartOffset: found.logStartOffset, records };
    } catch (err) {
      const errorCode = errorCodeFor(err);
      if (errorCode === ErrorCode.UNKNOWN_SERVER_ERROR) this.#options.logger(`Fetch ${topic}-${partition} failed unexpectedly: ${errorMessageFor(err)}`);
      // Tell the consumer where the log is, so it can reset its position without another request.
      if (err instanceof OffsetOutOfRangeError) return fetchPartitionError(partition, errorCode, errorMessageFor(err), found.highWatermark, found.logStartOffset);
      return fetchPartitionError(partition, errorCode, errorMessageFor(err));
    }
  }

  #listOffsets(req: ListOffsetsRequest): ListOffsetsResponse {
    const partition = this.#partitions.partition(req.topic, req.partition);
    const epochError = epochProblem(partition, req.currentLeaderEpoch ?? -1, this.#brokerId);
    if (epochError !== null) return ListOffsets.errorResponse(epochError.errorCode, epochError.message);
    if (partition.role === 'follower') return ListOffsets.errorResponse(ErrorCode.NOT_LEADER_OR_FOLLOWER, `broker ${this.#brokerId} does not lead ${req.topic}-${req.partition}`);
    if (req.timestamp === EARLIEST_TIMESTAMP) return { errorCode: ErrorCode.NONE, errorMessage: null, offset: partition.logStartOffset };
    // Kafka's "latest" for a consumer is the high watermark, not the log end offset.
    if (req.timestamp === LATEST_TIMESTAMP) return { errorCode: ErrorCode.NONE, errorMessage: null, offset: partition.highWatermark };
    return ListOffsets.errorResponse(
      ErrorCode.INVALID_REQUEST,
      `timestamp ${req.timestamp}: only ${EARLIEST_TIMESTAMP} (earliest) and ${LATEST_TIMESTAMP} (latest) are supported`,
    );
  }

  #metadata(req: MetadataRequest): MetadataResponse | Promise<MetadataResponse> {
    const { advertisedHost: host, advertisedPort: port } = this.#options;
    const brokers = this.#options.cluster?.brokers.map((b) => ({ ...b })) ?? [{ nodeId: SINGLE_NODE_ID, host, port }];
    if (req.topics !== null) {
      const tooMany = this.#tooManyTopics('Metadata', req.topics.length);
      if (tooMany !== null) return Metadata.errorResponse(ErrorCode.INVALID_REQUEST, `${tooMany}; name fewer, or ask for all`);
    }
    // Each topic once, in the order first named (Kafka takes a set too): a topic named
    // 100,000 times is answered once, not with 100,000 copies of its partitions.
    const names = req.topics === null ? this.#partitions.topics().map((t) => t.name) : [...new Set(req.topics)];
    // Topics to create first: named, legal, missing, not internal, and both sides allow it.
    const missing = req.allowAutoTopicCreation && this.#options.autoCreateTopics && this.#options.cluster === undefined
      ? names.filter((n) => topicNameProblem(n) === null && !isInternalTopic(n) && this.#partitions.topic(n) === undefined)
      : [];
    const answer = (): MetadataResponse => ({ errorCode: ErrorCode.NONE, errorMessage: null, brokers, topics: names.map((n) => this.#topicMetadata(n)) });
    if (missing.length === 0) return answer();
    const creations = missing.map((n) => (this.#creating.get(n) ?? this.#autoCreate(n)).catch(() => undefined));
    return Promise.all(creations).then(answer);
  }

  /** One topic's Metadata entry (or its error). */
  #topicMetadata(name: string): TopicMetadata {
    const unknown = (errorCode: number): TopicMetadata => ({ errorCode, topic: name, isInternal: false, partitions: [], configs: [] });
    if (topicNameProblem(name) !== null) return unknown(ErrorCode.INVALID_TOPIC_EXCEPTION);
    const spec: TopicSpec | undefined = this.#partitions.topic(name);
    if (spec === undefined) return unknown(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    return {
      errorCode: ErrorCode.NONE,
      topic: name,
      isInternal: isInternalTopic(name),
      partitions: Array.from({ length: spec.partitions }, (_, partition) => this.#partitionMetadata(name, partition)),
      configs: configsFromSettings(spec),
    };
  }

  /**
   * One partition's Metadata: leader and replicas from the cluster file (or this broker
   * alone), the ISR as far as this broker knows it (the leader knows it; a follower says
   * nothing), and this broker's own copy's high watermark and log end offset.
   */
  #partitionMetadata(topic: string, partition: number): PartitionMetadata {
    const replicas = [...(this.#options.cluster?.replicasOf(topic, partition) ?? [this.#brokerId])];
    let local: Partition | null = null;
    try {
      local = this.#partitions.partition(topic, partition);
    } catch {
      local = null;
    }
    const hosted = local !== null && replicas.includes(this.#brokerId);
    // Phase 6: leader, epoch and ISR are the controller's, the same on every broker.
    const state = this.#options.cluster?.partitionState?.(topic, partition);
    const isr = state?.isr ?? local?.leaderReplica?.isr ?? (local?.role === 'single' ? [this.#brokerId] : []);
    return {
      partition,
      leaderId: state?.leader ?? replicas[0] ?? -1,
      leaderEpoch: state?.leaderEpoch ?? -1,
      replicas,
      isr: [...isr],
      highWatermark: hosted && local !== null ? local.highWatermark : -1,
      logEndOffset: hosted && local !== null ? local.logEndOffset : -1,
    };
  }

  get #brokerId(): number {
    return this.#options.cluster?.brokerId ?? SINGLE_NODE_ID;
  }

  /** Create each topic on its own (one bad topic does not stop the others), in request order. */
  async #createTopics(req: CreateTopicsRequest): Promise<CreateTopicsResponse> {
    const tooMany = this.#tooManyTopics('CreateTopics', req.topics.length);
    if (tooMany !== null) return CreateTopics.errorResponse(ErrorCode.INVALID_REQUEST, tooMany);
    if (this.#shuttingDown) return CreateTopics.errorResponse(ErrorCode.BROKER_NOT_AVAILABLE, 'broker is shutting down');
    // Phase 6: the controller creates topics (and assigns their replicas); this broker forwards.
    if (this.#options.cluster?.createTopics !== undefined) return await this.#options.cluster.createTopics(req);
    // Phase 5: a cluster's topics are the cluster file's, the same on every broker; a topic
    // created here would live on this broker alone. Phase 6 creates topics through a controller.
    if (this.#options.cluster !== undefined) {
      const errorMessage = 'topics are static in a phase-5 cluster: add the topic to the cluster file and restart the brokers';
      return { errorCode: ErrorCode.NONE, errorMessage: null, topics: req.topics.map((t) => ({ name: t.name, errorCode: ErrorCode.POLICY_VIOLATION, errorMessage })) };
    }
    const topics: CreateTopicsResponse['topics'] = [];
    for (const t of req.topics) {
      try {
        // Clients never create internal topics: no `internal` flag here (topics/registry.ts).
        await this.#partitions.createTopic({ name: t.name, partitions: t.numPartitions, ...settingsFromConfigs(t.configs) });
        topics.push({ name: t.name, errorCode: ErrorCode.NONE, errorMessage: null });
      } catch (err) {
        const errorCode = errorCodeFor(err);
        if (errorCode === ErrorCode.UNKNOWN_SERVER_ERROR) this.#options.logger(`CreateTopics ${t.name} failed unexpectedly: ${errorMessageFor(err)}`);
        topics.push({ name: t.name, errorCode, errorMessage: errorMessageFor(err) });
      }
    }
    return { errorCode: ErrorCode.NONE, errorMessage: null, topics };
  }

  /**
   * Phase 6: where a leader epoch ends in this leader's log (KIP-101), for a follower
   * about to truncate. Only the leader answers, and only in the epoch the follower names.
   */
  #offsetForLeaderEpoch(req: OffsetForLeaderEpochRequest): OffsetForLeaderEpochResponse {
    const tooMany = this.#tooManyTopics('OffsetForLeaderEpoch', req.topics.length);
    if (tooMany !== null) return OffsetForLeaderEpoch.errorResponse(ErrorCode.INVALID_REQUEST, tooMany);
    const none = (partition: number, errorCode: number, errorMessage: string | null): OffsetForLeaderEpochPartitionResult => ({ partition, errorCode, errorMessage, leaderEpoch: -1, endOffset: -1 });
    return {
      errorCode: ErrorCode.NONE,
      errorMessage: null,
      topics: req.topics.map((t) => ({
        topic: t.topic,
        partitions: t.partitions.map((p) => {
          let found: Partition;
          try {
            found = this.#partitions.partition(t.topic, p.partition);
          } catch (err) {
            return none(p.partition, errorCodeFor(err), errorMessageFor(err));
          }
          const epochError = epochProblem(found, p.currentLeaderEpoch, this.#brokerId);
          if (epochError !== null) return none(p.partition, epochError.errorCode, epochError.message);
          if (found.leaderReplica === null) return none(p.partition, ErrorCode.NOT_LEADER_OR_FOLLOWER, `broker ${this.#brokerId} does not lead ${t.topic}-${p.partition}`);
          const cache = found.epochCache;
          if (cache === null) return none(p.partition, ErrorCode.NONE, null);
          const end = cache.endOffsetFor(p.leaderEpoch, found.logEndOffset);
          return { partition: p.partition, errorCode: ErrorCode.NONE, errorMessage: null, leaderEpoch: end.epoch, endOffset: end.endOffset };
        }),
      })),
    };
  }

  /** Why a request naming `count` topics is refused (over `requestTopicsMax`), or null. */
  #tooManyTopics(api: string, count: number): string | null {
    const max = this.#options.requestTopicsMax;
    return count > max ? `${api} names ${count} topics, more than requestTopicsMax (${max})` : null;
  }

  #apiVersions(errorCode: number, errorMessage: string | null): ApiVersionsResponse {
    return { errorCode, errorMessage, apis: supportedVersions() };
  }
}

/** The bounds `runApi` holds a request and its answer to (HandlerOptions has them; so does the controller). */
export interface RunLimits {
  /** Most array elements one request may carry (checked while decoding). */
  readonly requestItemsMax: number;
  /** Largest answer sent; a larger one becomes the API's POLICY_VIOLATION response. */
  readonly responseBytesMax: number;
  /** Where unexpected errors (bugs) are reported. */
  readonly logger: (line: string) => void;
}

/**
 * Decode a request, run it, encode the answer; every exception becomes an error response
 * of the same API, and an answer over `responseBytesMax` a POLICY_VIOLATION. Never throws.
 */
export function runApi<Req, Res extends ResponseBase>(api: ApiCodec<Req, Res>, body: ByteReader, run: (req: Req) => Res | Promise<Res>, limits: RunLimits): ResponseBody {
  body.limitItems(limits.requestItemsMax);
  const fail = (err: unknown): Buffer[] => {
    const errorCode = errorCodeFor(err);
    if (errorCode === ErrorCode.UNKNOWN_SERVER_ERROR) {
      limits.logger(`${api.name} failed unexpectedly: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    }
    // Messages quote client strings only in part (topics/errors.ts); the cut is for any that would not.
    const message = errorMessageFor(err);
    return api.encodeResponse(api.errorResponse(errorCode, message.length > 1024 ? `${message.slice(0, 1024)}…` : message));
  };
  const encode = (res: Res): Buffer[] => {
    let out: Buffer[];
    try {
      out = api.encodeResponse(res);
    } catch (err) {
      // A string the handler should have refused on the way in: a bug, but the client still gets an answer.
      limits.logger(`${api.name} answer could not be encoded: ${errorMessageFor(err)}`);
      return api.encodeResponse(api.errorResponse(ErrorCode.UNKNOWN_SERVER_ERROR, `the ${api.name} answer could not be encoded`));
    }
    const bytes = chunksBytes(out);
    if (bytes <= limits.responseBytesMax) return out;
    const message = `the ${api.name} answer would be ${bytes} bytes, more than responseBytesMax (${limits.responseBytesMax}); ask for less`;
    return api.encodeResponse(api.errorResponse(ErrorCode.POLICY_VIOLATION, message));
  };
  let result: Res | Promise<Res>;
  try {
    result = run(api.decodeRequest(body));
  } catch (err) {
    return fail(err);
  }
  if (result instanceof Promise) return result.then(encode, fail);
  return encode(result);
}

/**
 * The answer to a request in a version the API does not speak, or null if it does. Like
 * Kafka, an unsupported ApiVersions request still gets the list (`versions`), so the client
 * can pick a version.
 */
export function unsupportedVersion(api: ApiCodec<unknown, ResponseBase>, header: RequestHeader, versions: (errorCode: number, message: string) => ApiVersionsResponse): ResponseBody | null {
  if (header.apiVersion >= api.minVersion && header.apiVersion <= api.maxVersion) return null;
  const message = `${api.name} v${header.apiVersion} is not supported (versions ${api.minVersion}-${api.maxVersion})`;
  if (api.apiKey === ApiKey.ApiVersions) return ApiVersions.encodeResponse(versions(ErrorCode.UNSUPPORTED_VERSION, message));
  return api.encodeResponse(api.errorResponse(ErrorCode.UNSUPPORTED_VERSION, message));
}

/**
 * Phase 6: a request that names a leader epoch other than the one this broker knows for
 * the partition: older → FENCED_LEADER_EPOCH (the sender should refresh its metadata),
 * newer → UNKNOWN_LEADER_EPOCH (this broker has not heard of it yet: retry). -1 is not checked.
 */
function epochProblem(partition: Partition, requestEpoch: number, brokerId: number): { errorCode: number; message: string } | null {
  if (requestEpoch < 0 || partition.leaderEpoch < 0) return null;
  const code = checkLeaderEpoch(requestEpoch, partition.leaderEpoch, true);
  if (code === ErrorCode.NONE) return null;
  const what = code === ErrorCode.FENCED_LEADER_EPOCH ? 'older than' : 'newer than';
  return { errorCode: code, message: `${partition.topic}-${partition.partition}: leader epoch ${requestEpoch} is ${what} broker ${brokerId}'s ${partition.leaderEpoch}` };
}

/** The answer to a produce sent to a follower: the client should refresh its metadata. */
function notLeader(partition: Partition): ProduceResponse {
  return Produce.errorResponse(
    ErrorCode.NOT_LEADER_OR_FOLLOWER,
    `${partition.topic}-${partition.partition} is led by broker ${partition.followedLeaderId ?? '?'}, not this one`,
  );
}
