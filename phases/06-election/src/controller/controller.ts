/**
 * The controller (phase 6): one process that decides who leads each partition and who
 * is in its ISR, and writes every decision to its metadata log before anyone acts on it.
 * Brokers talk to it over the same framing and Transport seam as clients talk to brokers:
 *
 * - BrokerRegistration: a broker announces itself and gets its broker epoch (the offset
 *   of its registration record). A broker id that registers again is a new incarnation:
 *   the old one is fenced first, in the same batch, so it leaves every ISR it was in.
 * - BrokerHeartbeat: the lease. A broker silent for `sessionTimeoutMs` is fenced: out of
 *   every ISR (never emptying one) and, where it led, replaced by the first replica in
 *   assignment order that is in the ISR and unfenced (election.ts); no such replica means
 *   the partition goes offline. There is no unclean election. A fenced broker is unfenced
 *   by a heartbeat showing it has read the metadata log past its own registration; then
 *   offline partitions it is in the ISR of get it as leader.
 * - AlterPartition: a leader's ISR change, checked against the current state and written.
 * - CreateTopics: replicas assigned across the unfenced brokers (assignment.ts), every
 *   partition led by its first replica, ISR = all replicas.
 * - Fetch of `__cluster_metadata` partition 0: brokers read the metadata log with the
 *   Fetch request consumers use, long-polling at its end, and replay it (image.ts).
 * - Metadata and ApiVersions, so `describe-topic` can ask the controller too.
 *
 * Ordering obligations, kept in `#write`: decisions are computed from the image and
 * written one at a time (a queue), so each sees the effect of the last; a record's batch
 * is fsynced before it is applied to the image and before anyone is told; a failed append
 * fails the request and leaves the image as it was (the log refuses further appends
 * until reopened, so the controller stops deciding rather than deciding on a log it
 * cannot extend).
 *
 * Restart: the log is replayed into a fresh image. Brokers recorded as unfenced stay so,
 * and their lease clock starts at the restart: a restarted controller fences nobody for
 * one session timeout. No epoch is ever reused: epochs live in the replayed records.
 */
import { join } from 'node:path';
import type { Clock, TimerHandle } from '../seams/clock.ts';
import { type Random, randomInt } from '../seams/random.ts';
import type { Storage } from '../seams/storage.ts';
import type { Listener, ServerLink, ServerLinkHandlers, Transport } from '../seams/transport.ts';
import { Log } from '../log/log.ts';
import { type ApiCodec, type ResponseBase, encodeBareResponse } from '../protocol/api.ts';
import { AlterPartition, type AlterPartitionRequest, type AlterPartitionResponse } from '../protocol/alter-partition.ts';
import { ApiVersions, type ApiVersionsResponse } from '../protocol/api-versions.ts';
import { BrokerHeartbeat, type BrokerHeartbeatRequest, type BrokerHeartbeatResponse } from '../protocol/broker-heartbeat.ts';
import { BrokerRegistration, type BrokerRegistrationRequest, type BrokerRegistrationResponse } from '../protocol/broker-registration.ts';
import type { ByteReader } from '../protocol/bytes.ts';
import { CreateTopics, type CreateTopicResult, type CreateTopicsRequest, type CreateTopicsResponse } from '../protocol/create-topics.ts';
import { ErrorCode } from '../protocol/errors.ts';
import { Fetch, type FetchRequest, type FetchResponse, fetchPartitionError } from '../protocol/fetch.ts';
import { ApiKey, REQUEST_HEADER_BYTES_MIN, type RequestHeader } from '../protocol/header.ts';
import { Metadata, type MetadataRequest, type MetadataResponse, type TopicMetadata } from '../protocol/metadata.ts';
import { AppendNotifier } from '../server/append-notifier.ts';
import { BrokerConnection, RequestBytesPool, refuse } from '../server/connection.ts';
import { errorCodeFor, errorMessageFor } from '../server/error-codes.ts';
import { type ResponseBody, runApi, unsupportedVersion } from '../server/handlers.ts';
import { isInternalTopic, topicNameProblem } from '../topics/names.ts';
import { quoted } from '../topics/errors.ts';
import { assignReplicas } from './assignment.ts';
import { fenceBroker, unfenceBroker, validateAlterPartition } from './election.ts';
import { MetadataImage } from './image.ts';
import { METADATA_LOG_DIR, type MetadataRecord, decodeMetadataRecord, encodeMetadataRecord, partitionRecord } from './records.ts';

/** The topic name brokers fetch the metadata log as. */
export const METADATA_TOPIC = '__cluster_metadata';

/** Controller settings. */
export interface ControllerConfig {
  /** Where the metadata log lives (`<dir>/__cluster_metadata-0/`). */
  dir: string;
  host: string;
  /** 0: any free port (read it back from `port`). */
  port: number;
  /** A broker not heard from for this long is fenced (Kafka `broker.session.timeout.ms`). Default 1000. */
  sessionTimeoutMs: number;
  /** The longest a metadata Fetch may wait at the log's end. Default 30 000. */
  fetchWaitMsMax: number;
  /** The most bytes of metadata one Fetch returns. Default 1 MiB. */
  fetchBytesMax: number;
  /** Replication factor of a topic created without one (capped by the unfenced brokers). Default 3. */
  defaultReplicationFactor: number;
  /** Connection bounds, as the broker's. */
  maxConnections: number;
  maxInFlightPerConnection: number;
  idleTimeoutMs: number;
  frameBytesMax: number;
  responseBytesMaxPerConnection: number;
  requestReceiveMsMax: number;
  queuedRequestBytesMax: number;
  /** Most array elements one request may carry, and the largest answer sent (as the broker's). */
  requestItemsMax: number;
  responseBytesMax: number;
}

/** Defaults of every setting but `dir`. */
export const CONTROLLER_DEFAULTS: Omit<ControllerConfig, 'dir'> = Object.freeze({
  host: '127.0.0.1',
  port: 9093,
  sessionTimeoutMs: 1000,
  fetchWaitMsMax: 30_000,
  fetchBytesMax: 1024 * 1024,
  defaultReplicationFactor: 3,
  maxConnections: 256,
  maxInFlightPerConnection: 16,
  idleTimeoutMs: 10 * 60_000,
  frameBytesMax: 8 * 1024 * 1024,
  responseBytesMaxPerConnection: 8 * 1024 * 1024,
  requestReceiveMsMax: 30_000,
  queuedRequestBytesMax: 16 * 1024 * 1024,
  requestItemsMax: 10_000,
  responseBytesMax: 16 * 1024 * 1024,
});

/** What the controller runs on: the seams. */
export interface ControllerDeps {
  storage: Storage;
  clock: Clock;
  random: Random;
  transport: Transport;
  logger?: (line: string) => void;
}

/**
 * Topic settings CreateTopics may carry: the log's (applied by each broker), the ISR
 * size acks=all needs, and the replication factor (consumed here, not stored).
 */
const TOPIC_CONFIGS: readonly string[] = ['segment.bytes', 'retention.bytes', 'min.insync.replicas', 'replication.factor'];

/** The APIs the controller serves, for its ApiVersions answer. */
const CONTROLLER_APIS: readonly ApiCodec<unknown, ResponseBase>[] = [Fetch, Metadata, ApiVersions, CreateTopics, AlterPartition, BrokerRegistration, BrokerHeartbeat];

/** Why a write could not happen, as an error code and message. */
class Refusal {
  constructor(
    readonly errorCode: number,
    readonly message: string,
  ) {}
}

/**
 * A running controller.
 * @example
 * const controller = await Controller.start({ dir: '/tmp/ctl', port: 0 }, realSeams());
 * console.log(`listening on ${controller.host}:${controller.port}`);
 * await controller.close();
 */
export class Controller {
  readonly host: string;
  readonly port: number;
  readonly config: ControllerConfig;
  readonly #log: Log;
  readonly #image: MetadataImage;
  readonly #listener: Listener;
  readonly #clock: Clock;
  readonly #random: Random;
  readonly #logger: (line: string) => void;
  readonly #appended: AppendNotifier;
  readonly #connections = new Set<BrokerConnection>();
  readonly #requestBytes: RequestBytesPool;
  /** When each broker was last heard from (its lease), by id. */
  readonly #lastHeartbeatMs = new Map<number, number>();
  #writeQueue: Promise<unknown> = Promise.resolve();
  #leaseTimer: TimerHandle | null = null;
  #nextConnectionId = 1;
  #closing: Promise<void> | null = null;

  private constructor(config: ControllerConfig, log: Log, image: MetadataImage, listener: Listener, deps: ControllerDeps, logger: (line: string) => void) {
    this.config = config;
    this.host = config.host;
    this.port = listener.port;
    this.#log = log;
    this.#image = image;
    this.#listener = listener;
    this.#clock = deps.clock;
    this.#random = deps.random;
    this.#logger = logger;
    this.#appended = new AppendNotifier(deps.clock);
    this.#requestBytes = new RequestBytesPool(config.queuedRequestBytesMax);
    // A restarted controller gives every broker a full session before fencing it.
    const now = this.#clock.now();
    for (const id of image.brokers.keys()) this.#lastHeartbeatMs.set(id, now);
    this.#armLeaseTimer();
  }

  /**
   * Open (replaying) the metadata log and listen.
   * @throws on a corrupt metadata log, a port in use, or a bad setting
   */
  static async start(config: Partial<ControllerConfig> & { dir: string }, deps: ControllerDeps): Promise<Controller> {
    const resolved: ControllerConfig = { ...CONTROLLER_DEFAULTS, ...config };
    for (const [name, min] of [['sessionTimeoutMs', 10], ['fetchWaitMsMax', 0], ['fetchBytesMax', 1], ['defaultReplicationFactor', 1]] as const) {
      const v = resolved[name];
      if (!Number.isSafeInteger(v) || v < min) throw new RangeError(`controller: ${name} must be an integer >= ${min}, got ${v}`);
    }
    const logger = deps.logger ?? ((line: string) => process.stderr.write(`controller: ${line}\n`));
    const log = await Log.open(deps.storage, join(resolved.dir, METADATA_LOG_DIR));
    let image: MetadataImage;
    try {
      image = await replay(log);
    } catch (err) {
      await log.close();
      throw err;
    }
    let controller: Controller | null = null;
    const accept = (link: ServerLink): ServerLinkHandlers => (controller === null ? refuse(link) : controller.#accept(link));
    let listener: Listener;
    try {
      listener = await deps.transport.listen(resolved.host, resolved.port, {
        frameBytesMax: resolved.frameBytesMax,
        frameBytesMin: REQUEST_HEADER_BYTES_MIN,
        backlog: Math.max(511, resolved.maxConnections),
        unsentBytesMax: resolved.responseBytesMaxPerConnection,
      }, accept);
    } catch (err) {
      await log.close();
      throw err;
    }
    controller = new Controller(resolved, log, image, listener, deps, logger);
    return controller;
  }

  /** The controller's view of the cluster (the replayed metadata log). */
  get image(): MetadataImage {
    return this.#image;
  }

  /** Stop: close every connection, wake long-polling fetches, close the log. Safe to call more than once. */
  close(): Promise<void> {
    this.#closing ??= this.#shutdown();
    return this.#closing;
  }

  // ---- connections ----

  #accept(link: ServerLink): ServerLinkHandlers {
    if (this.#closing !== null || this.#connections.size >= this.config.maxConnections) {
      if (this.#closing === null) this.#logger(`refused connection from ${link.peer}: maxConnections ${this.config.maxConnections}`);
      return refuse(link);
    }
    const limits = {
      maxInFlight: this.config.maxInFlightPerConnection,
      idleTimeoutMs: this.config.idleTimeoutMs,
      responseBytesMax: this.config.responseBytesMaxPerConnection,
      requestReceiveMsMax: this.config.requestReceiveMsMax,
      responseBytesReserve: (header: RequestHeader) => (header.apiKey === ApiKey.Fetch ? this.config.fetchBytesMax + 1024 : 0),
    };
    const router = { handle: (header: RequestHeader, body: ByteReader) => this.#handle(header, body) };
    const conn = new BrokerConnection(this.#nextConnectionId++, link, router, this.#clock, limits, this.#logger, (c) => this.#connections.delete(c), this.#requestBytes);
    this.#connections.add(conn);
    return conn.handlers;
  }

  #handle(header: RequestHeader, body: ByteReader): ResponseBody {
    const api = CONTROLLER_APIS.find((a) => a.apiKey === header.apiKey);
    if (api === undefined) {
      return encodeBareResponse({ errorCode: ErrorCode.INVALID_REQUEST, errorMessage: `the controller does not serve api key ${header.apiKey}; send it to a broker` });
    }
    const unsupported = unsupportedVersion(api, header, (code, message) => this.#apiVersions(code, message));
    if (unsupported !== null) return unsupported;
    const limits = { requestItemsMax: this.config.requestItemsMax, responseBytesMax: this.config.responseBytesMax, logger: this.#logger };
    switch (header.apiKey) {
      case ApiKey.ApiVersions:
        return runApi(ApiVersions, body, () => this.#apiVersions(ErrorCode.NONE, null), limits);
      case ApiKey.BrokerRegistration:
        return runApi(BrokerRegistration, body, (req) => this.#register(req), limits);
      case ApiKey.BrokerHeartbeat:
        return runApi(BrokerHeartbeat, body, (req) => this.#heartbeat(req), limits);
      case ApiKey.AlterPartition:
        return runApi(AlterPartition, body, (req) => this.#alterPartition(req), limits);
      case ApiKey.CreateTopics:
        return runApi(CreateTopics, body, (req) => this.#createTopics(req), limits);
      case ApiKey.Metadata:
        return runApi(Metadata, body, (req) => this.#metadata(req), limits);
      default:
        return runApi(Fetch, body, (req) => this.#fetch(req), limits);
    }
  }

  #apiVersions(errorCode: number, errorMessage: string | null): ApiVersionsResponse {
    return { errorCode, errorMessage, apis: CONTROLLER_APIS.map((a) => ({ apiKey: a.apiKey, minVersion: a.minVersion, maxVersion: a.maxVersion })) };
  }

  // ---- writing decisions ----

  /**
   * Compute records from the current image and make them durable, one decision at a
   * time. `decide` runs when every earlier write has been applied; it returns the records
   * to write (none: nothing to do) or a Refusal. Resolves with the offset of the first
   * record written (-1 if none).
   */
  #write(decide: (image: MetadataImage) => MetadataRecord[] | Refusal): Promise<number | Refusal> {
    const run = this.#writeQueue.then(async () => {
      if (this.#closing !== null) return new Refusal(ErrorCode.BROKER_NOT_AVAILABLE, 'the controller is shutting down');
      const records = decide(this.#image);
      if (records instanceof Refusal) return records;
      if (records.length === 0) return -1;
      const { baseOffset } = await this.#log.append(records.map(encodeMetadataRecord));
      records.forEach((r, i) => this.#image.apply(r, baseOffset + i));
      for (const r of records) this.#logger(describeRecord(r, this.#image));
      this.#appended.notifyAll();
      return baseOffset;
    });
    this.#writeQueue = run.catch(() => undefined);
    return run;
  }

  async #register(req: BrokerRegistrationRequest): Promise<BrokerRegistrationResponse> {
    if (!Number.isSafeInteger(req.brokerId) || req.brokerId < 0) return BrokerRegistration.errorResponse(ErrorCode.INVALID_REQUEST, `brokerId must be >= 0, got ${req.brokerId}`);
    if (req.host === '' || req.port < 1 || req.port > 65_535) return BrokerRegistration.errorResponse(ErrorCode.INVALID_REQUEST, `bad address ${quoted(req.host)}:${req.port}`);
    const result = await this.#write((image) => {
      const taken = [...image.brokers.values()].find((b) => b.id !== req.brokerId && b.host === req.host && b.port === req.port);
      if (taken !== undefined && !taken.fenced) return new Refusal(ErrorCode.INVALID_REQUEST, `${req.host}:${req.port} is the address of broker ${taken.id}`);
      const records: MetadataRecord[] = [];
      const old = image.brokers.get(req.brokerId);
      if (old !== undefined && !old.fenced) records.push(...fenceRecords(image, old.id, old.brokerEpoch));
      records.push({ type: 'register-broker', id: req.brokerId, host: req.host, port: req.port });
      return records;
    });
    if (result instanceof Refusal) return BrokerRegistration.errorResponse(result.errorCode, result.message);
    const epoch = this.#image.brokers.get(req.brokerId)?.brokerEpoch ?? -1;
    this.#lastHeartbeatMs.set(req.brokerId, this.#clock.now());
    return { errorCode: ErrorCode.NONE, errorMessage: null, brokerEpoch: epoch };
  }

  async #heartbeat(req: BrokerHeartbeatRequest): Promise<BrokerHeartbeatResponse> {
    const known = this.#image.brokers.get(req.brokerId);
    if (known === undefined) return BrokerHeartbeat.errorResponse(ErrorCode.BROKER_ID_NOT_REGISTERED, `broker ${req.brokerId} is not registered`);
    if (known.brokerEpoch !== req.brokerEpoch) {
      return BrokerHeartbeat.errorResponse(ErrorCode.STALE_BROKER_EPOCH, `broker ${req.brokerId}: epoch ${req.brokerEpoch} is not the registered one (${known.brokerEpoch}); register again`);
    }
    this.#lastHeartbeatMs.set(req.brokerId, this.#clock.now());
    if (known.fenced && req.metadataOffset > known.brokerEpoch) {
      const result = await this.#write((image) => {
        const b = image.brokers.get(req.brokerId);
        if (b === undefined || !b.fenced || b.brokerEpoch !== req.brokerEpoch) return [];
        return unfenceRecords(image, b.id, b.brokerEpoch);
      });
      if (result instanceof Refusal) return BrokerHeartbeat.errorResponse(result.errorCode, result.message);
    }
    return { errorCode: ErrorCode.NONE, errorMessage: null, isFenced: this.#image.brokers.get(req.brokerId)?.fenced ?? true };
  }

  async #alterPartition(req: AlterPartitionRequest): Promise<AlterPartitionResponse> {
    const result = await this.#write((image) => {
      const current = image.partition(req.topic, req.partition);
      if (current === undefined) return new Refusal(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `no partition ${quoted(req.topic)}-${req.partition}`);
      const verdict = validateAlterPartition(current, req, image.brokers);
      if (!verdict.ok) return new Refusal(verdict.errorCode, verdict.message);
      // The ISR it already has: nothing to write (Kafka writes nothing either).
      if (sameMembers(verdict.next.isr, current.isr)) return [];
      return [partitionRecord(verdict.next)];
    });
    const now = this.#image.partition(req.topic, req.partition);
    const state = { leader: now?.leader ?? -1, leaderEpoch: now?.leaderEpoch ?? -1, isr: [...(now?.isr ?? [])], partitionEpoch: now?.partitionEpoch ?? -1 };
    if (result instanceof Refusal) return { errorCode: result.errorCode, errorMessage: result.message, ...state };
    return { errorCode: ErrorCode.NONE, errorMessage: null, ...state };
  }

  async #createTopics(req: CreateTopicsRequest): Promise<CreateTopicsResponse> {
    const topics: CreateTopicResult[] = [];
    for (const t of req.topics) {
      const result = await this.#write((image) => this.#topicRecords(image, t.name, t.numPartitions, t.configs.map((c) => [c.name, c.value ?? ''] as const)));
      topics.push(result instanceof Refusal ? { name: t.name, errorCode: result.errorCode, errorMessage: result.message } : { name: t.name, errorCode: ErrorCode.NONE, errorMessage: null });
    }
    return { errorCode: ErrorCode.NONE, errorMessage: null, topics };
  }

  #topicRecords(image: MetadataImage, name: string, partitions: number, configs: readonly (readonly [string, string])[]): MetadataRecord[] | Refusal {
    const problem = topicNameProblem(name);
    if (problem !== null) return new Refusal(ErrorCode.INVALID_TOPIC_EXCEPTION, problem);
    if (isInternalTopic(name)) return new Refusal(ErrorCode.INVALID_TOPIC_EXCEPTION, `${quoted(name)}: names starting with "__" are reserved`);
    if (image.topics.has(name)) return new Refusal(ErrorCode.TOPIC_ALREADY_EXISTS, `topic ${quoted(name)} already exists`);
    if (!Number.isSafeInteger(partitions) || partitions < 1 || partitions > 1000) return new Refusal(ErrorCode.INVALID_PARTITIONS, `partitions must be in [1, 1000], got ${partitions}`);
    const eligible = [...image.brokers.values()].filter((b) => !b.fenced).map((b) => b.id).sort((a, b) => a - b);
    let rf = this.config.defaultReplicationFactor;
    const settings: [string, string][] = [];
    for (const [key, value] of configs) {
      if (!TOPIC_CONFIGS.includes(key)) return new Refusal(ErrorCode.INVALID_CONFIG, `unknown topic config ${quoted(key)}; known: ${TOPIC_CONFIGS.join(', ')}`);
      if (!/^\d+$/.test(value)) return new Refusal(ErrorCode.INVALID_CONFIG, `${key} must be a positive integer, got ${quoted(value)}`);
      if (key === 'replication.factor') rf = Number(value);
      else settings.push([key, value]);
    }
    if (eligible.length === 0) return new Refusal(ErrorCode.BROKER_NOT_AVAILABLE, 'no unfenced broker to place replicas on');
    if (!configs.some(([k]) => k === 'replication.factor')) rf = Math.min(rf, eligible.length);
    if (!Number.isSafeInteger(rf) || rf < 1 || rf > eligible.length) {
      return new Refusal(ErrorCode.INVALID_REPLICATION_FACTOR, `replication factor ${rf} needs that many unfenced brokers; there are ${eligible.length}`);
    }
    const minInsync = settings.find(([k]) => k === 'min.insync.replicas');
    if (minInsync !== undefined && (Number(minInsync[1]) < 1 || Number(minInsync[1]) > rf)) {
      return new Refusal(ErrorCode.INVALID_CONFIG, `min.insync.replicas ${minInsync[1]} must be in [1, replication factor ${rf}]`);
    }
    const n = eligible.length;
    const assignment = assignReplicas(eligible, partitions, rf, randomInt(this.#random, n), randomInt(this.#random, n));
    const records: MetadataRecord[] = [{ type: 'topic', name, partitions, configs: settings }];
    assignment.forEach((replicas, partition) => {
      records.push(partitionRecord({ topic: name, partition, replicas, isr: replicas, leader: replicas[0] ?? -1, leaderEpoch: 0, partitionEpoch: 0 }));
    });
    return records;
  }

  // ---- the lease ----

  #armLeaseTimer(): void {
    if (this.#closing !== null) return;
    const checkEveryMs = Math.max(5, Math.floor(this.config.sessionTimeoutMs / 4));
    this.#leaseTimer = this.#clock.setTimeout(() => {
      this.#leaseTimer = null;
      this.#expireLeases().finally(() => this.#armLeaseTimer());
    }, checkEveryMs);
  }

  /** Fence every unfenced broker whose last heartbeat is older than the session timeout. */
  async #expireLeases(): Promise<void> {
    const now = this.#clock.now();
    for (const b of this.#image.brokers.values()) {
      if (b.fenced) continue;
      const last = this.#lastHeartbeatMs.get(b.id) ?? now;
      if (now - last <= this.config.sessionTimeoutMs) continue;
      this.#logger(`broker ${b.id} (epoch ${b.brokerEpoch}) silent for ${now - last} ms (sessionTimeoutMs ${this.config.sessionTimeoutMs}): fencing it`);
      const result = await this.#write((image) => {
        const still = image.brokers.get(b.id);
        if (still === undefined || still.fenced || still.brokerEpoch !== b.brokerEpoch) return [];
        // A heartbeat that arrived while this write waited its turn wins.
        if (this.#clock.now() - (this.#lastHeartbeatMs.get(b.id) ?? now) <= this.config.sessionTimeoutMs) return [];
        return fenceRecords(image, b.id, b.brokerEpoch);
      }).catch((err: unknown) => new Refusal(errorCodeFor(err), errorMessageFor(err)));
      if (result instanceof Refusal) this.#logger(`fencing broker ${b.id} failed: ${result.message}`);
    }
  }

  // ---- reading ----

  async #fetch(req: FetchRequest): Promise<FetchResponse> {
    const t = req.topics[0];
    const p = t?.partitions[0];
    if (req.topics.length !== 1 || t === undefined || t.topic !== METADATA_TOPIC || t.partitions.length !== 1 || p === undefined || p.partition !== 0) {
      return Fetch.errorResponse(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `the controller serves only ${METADATA_TOPIC} partition 0`);
    }
    const answer = async (): Promise<FetchResponse> => {
      const end = this.#log.logEndOffset;
      if (p.offset < 0 || p.offset > end) {
        return { errorCode: ErrorCode.NONE, errorMessage: null, topics: [{ topic: METADATA_TOPIC, partitions: [fetchPartitionError(0, ErrorCode.OFFSET_OUT_OF_RANGE, `offset ${p.offset} outside [0, ${end}]`, end, 0)] }] };
      }
      const records = p.offset === end ? [] : await this.#log.read(p.offset, Math.min(p.maxBytes, req.maxBytes, this.config.fetchBytesMax));
      return {
        errorCode: ErrorCode.NONE,
        errorMessage: null,
        topics: [{ topic: METADATA_TOPIC, partitions: [{ partition: 0, errorCode: ErrorCode.NONE, errorMessage: null, highWatermark: this.#log.logEndOffset, logStartOffset: this.#log.logStartOffset, records }] }],
      };
    };
    if (p.offset === this.#log.logEndOffset && req.maxWaitMs > 0 && this.#closing === null) {
      await this.#appended.wait(Math.min(req.maxWaitMs, this.config.fetchWaitMsMax));
    }
    return await answer();
  }

  #metadata(req: MetadataRequest): MetadataResponse {
    const brokers = [...this.#image.brokers.values()].filter((b) => !b.fenced).map((b) => ({ nodeId: b.id, host: b.host, port: b.port }));
    const names = req.topics ?? [...this.#image.topics.keys()].sort();
    const topics: TopicMetadata[] = [];
    for (const name of new Set(names)) {
      const t = this.#image.topics.get(name);
      if (t === undefined) {
        topics.push({ errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, topic: name, isInternal: false, partitions: [], configs: [] });
        continue;
      }
      topics.push({
        errorCode: ErrorCode.NONE,
        topic: name,
        isInternal: false,
        partitions: this.#image.partitionsOf(name).map((p) => ({ partition: p.partition, leaderId: p.leader, leaderEpoch: p.leaderEpoch, replicas: [...p.replicas], isr: [...p.isr], highWatermark: -1, logEndOffset: -1 })),
        configs: t.configs.map(([k, v]) => ({ name: k, value: v })),
      });
    }
    return { errorCode: ErrorCode.NONE, errorMessage: null, brokers, topics };
  }

  async #shutdown(): Promise<void> {
    if (this.#leaseTimer !== null) this.#clock.clearTimeout(this.#leaseTimer);
    this.#leaseTimer = null;
    const listenerClosed = this.#listener.close();
    this.#appended.notifyAll();
    for (const c of this.#connections) c.abort('controller shutting down');
    await listenerClosed;
    await this.#writeQueue;
    await this.#log.close();
  }
}

function sameMembers(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((id) => b.includes(id));
}

/** Replay a metadata log from its start into a fresh image. */
export async function replay(log: Log): Promise<MetadataImage> {
  const image = new MetadataImage();
  let offset = log.logStartOffset;
  while (offset < log.logEndOffset) {
    const records = await log.readRecords(offset, 1024 * 1024);
    if (records.length === 0) break;
    for (const r of records) {
      if (r.offset < offset) continue;
      image.apply(decodeMetadataRecord(r), r.offset);
      offset = r.offset + 1;
    }
  }
  return image;
}

/** The records that fence broker `id`: the fence itself, then every partition it changes. */
function fenceRecords(image: MetadataImage, id: number, brokerEpoch: number): MetadataRecord[] {
  const changed = fenceBroker(image.partitions(), id, (b) => b !== id && image.isEligible(b));
  return [{ type: 'fence-broker', id, brokerEpoch }, ...changed.map(partitionRecord)];
}

/** The records that unfence broker `id`: the unfence, then the offline partitions it can now lead. */
function unfenceRecords(image: MetadataImage, id: number, brokerEpoch: number): MetadataRecord[] {
  const changed = unfenceBroker(image.partitions(), id, (b) => b === id || image.isEligible(b));
  return [{ type: 'unfence-broker', id, brokerEpoch }, ...changed.map(partitionRecord)];
}

/** One line for the log of what a record decided. */
function describeRecord(r: MetadataRecord, image: MetadataImage): string {
  switch (r.type) {
    case 'register-broker':
      return `broker ${r.id} registered at ${r.host}:${r.port}, epoch ${image.brokers.get(r.id)?.brokerEpoch ?? '?'}`;
    case 'fence-broker':
      return `broker ${r.id} (epoch ${r.brokerEpoch}) fenced`;
    case 'unfence-broker':
      return `broker ${r.id} (epoch ${r.brokerEpoch}) unfenced`;
    case 'topic':
      return `topic ${r.name} created with ${r.partitions} partition(s)`;
    case 'partition':
      return `${r.topic}-${r.partition}: leader ${r.leader} (epoch ${r.leaderEpoch}), isr [${r.isr.join(',')}], partition epoch ${r.partitionEpoch}`;
  }
}

