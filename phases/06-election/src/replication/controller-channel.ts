/**
 * A broker's side of the controller (phase 6): it registers, keeps its lease with
 * heartbeats, and follows the metadata log, replaying it into its own `MetadataImage`.
 *
 * - Register: BrokerRegistration, retried every `retryBackoffMs` until the controller
 *   answers; the answer's broker epoch goes into every heartbeat and AlterPartition.
 * - Heartbeat every `heartbeatIntervalMs`, saying how far the metadata log has been read.
 *   STALE_BROKER_EPOCH or BROKER_ID_NOT_REGISTERED (the controller fenced this
 *   incarnation for good, or lost it) means register again, as a new incarnation.
 * - Metadata: Fetch of `__cluster_metadata` partition 0 from the image's next offset,
 *   long-polling at the end; each answer is applied record by record, then handed to
 *   `onMetadata` before the next fetch, so role changes happen in log order.
 *
 * Heartbeats and AlterPartition share one connection; the metadata long poll has its
 * own, since answers on one connection come back in order and a parked fetch would
 * otherwise hold a heartbeat back past the session timeout.
 */
import { Connection } from '../client/connection.ts';
import { METADATA_TOPIC } from '../controller/controller.ts';
import { MetadataImage } from '../controller/image.ts';
import { decodeMetadataRecord } from '../controller/records.ts';
import { decodeBatch } from '../log/record-batch.ts';
import { AlterPartition, type AlterPartitionRequest, type AlterPartitionResponse } from '../protocol/alter-partition.ts';
import { BrokerHeartbeat } from '../protocol/broker-heartbeat.ts';
import { BrokerRegistration } from '../protocol/broker-registration.ts';
import { CreateTopics, type CreateTopicsRequest, type CreateTopicsResponse } from '../protocol/create-topics.ts';
import { ErrorCode, errorName } from '../protocol/errors.ts';
import { Fetch } from '../protocol/fetch.ts';
import { splitBatches } from '../protocol/records.ts';
import type { Clock, TimerHandle } from '../seams/clock.ts';
import type { Transport } from '../seams/transport.ts';

/** Settings of the channel. */
export interface ControllerChannelOptions {
  readonly brokerId: number;
  /** Where clients reach this broker (registered with the controller). */
  readonly advertisedHost: string;
  readonly advertisedPort: number;
  readonly controllerHost: string;
  readonly controllerPort: number;
  readonly clock: Clock;
  readonly transport: Transport;
  /** Kafka `broker.heartbeat.interval.ms`. */
  readonly heartbeatIntervalMs: number;
  /** How long the controller may hold a metadata fetch at the log's end. */
  readonly metadataFetchWaitMs: number;
  readonly retryBackoffMs: number;
  readonly logger: (line: string) => void;
  /** The image moved (records were applied); resolves once the broker acted on it. */
  readonly onMetadata: (image: MetadataImage) => Promise<void>;
}

/**
 * The broker's link to the controller.
 * @example
 * const channel = new ControllerChannel({ brokerId: 1, ..., onMetadata: async (image) => rm.apply(image) });
 * channel.start();
 * await channel.stop();
 */
export class ControllerChannel {
  readonly image = new MetadataImage();
  readonly #opts: ControllerChannelOptions;
  #brokerEpoch = -1;
  #fenced = true;
  #running = false;
  #control: Connection | null = null;
  #metadata: Connection | null = null;
  #heartbeatTimer: TimerHandle | null = null;
  #metadataLoop: Promise<void> | null = null;
  #registering: Promise<void> | null = null;
  #lastProblem = '';
  readonly #sleepers = new Set<() => void>();
  /** Metadata hand-offs to the broker, one at a time, in log order. */
  #delivering: Promise<void> = Promise.resolve();
  /** The offset the broker last acted on (the image's nextOffset then). */
  #deliveredOffset = 0;

  constructor(opts: ControllerChannelOptions) {
    this.#opts = opts;
  }

  /** This incarnation's broker epoch (-1 until registered). */
  get brokerEpoch(): number {
    return this.#brokerEpoch;
  }

  /** Whether the controller has this broker fenced, as its last heartbeat answer said. */
  get fenced(): boolean {
    return this.#fenced;
  }

  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#metadataLoop = this.#followMetadata();
    void this.#register().then(() => this.#scheduleHeartbeat());
  }

  /** Propose an ISR change for a partition this broker leads. Rejects if the controller cannot be reached. */
  async alterPartition(req: Omit<AlterPartitionRequest, 'brokerId' | 'brokerEpoch'>): Promise<AlterPartitionResponse> {
    const conn = await this.#controlConnection();
    return await conn.request(AlterPartition, { ...req, brokerId: this.#opts.brokerId, brokerEpoch: this.#brokerEpoch });
  }

  /** Create topics through the controller (it assigns the replicas). */
  async createTopics(req: CreateTopicsRequest): Promise<CreateTopicsResponse> {
    const conn = await this.#controlConnection();
    return await conn.request(CreateTopics, req);
  }

  async stop(): Promise<void> {
    this.#running = false;
    if (this.#heartbeatTimer !== null) this.#opts.clock.clearTimeout(this.#heartbeatTimer);
    this.#heartbeatTimer = null;
    for (const wake of [...this.#sleepers]) wake();
    const conns = [this.#control, this.#metadata];
    this.#control = null;
    this.#metadata = null;
    for (const c of conns) await c?.abort().catch(() => undefined);
    await this.#metadataLoop?.catch(() => undefined);
  }

  async #connect(): Promise<Connection> {
    return await Connection.connect({
      host: this.#opts.controllerHost,
      port: this.#opts.controllerPort,
      clientId: `broker-${this.#opts.brokerId}`,
      clock: this.#opts.clock,
      transport: this.#opts.transport,
      requestTimeoutMs: Math.max(this.#opts.metadataFetchWaitMs, this.#opts.heartbeatIntervalMs) + 10_000,
    });
  }

  async #controlConnection(): Promise<Connection> {
    if (this.#control !== null && !this.#control.isClosed) return this.#control;
    this.#control = await this.#connect();
    return this.#control;
  }

  /** Register (again), retrying until the controller answers or the channel stops. */
  #register(): Promise<void> {
    this.#registering ??= (async () => {
      while (this.#running) {
        try {
          const conn = await this.#controlConnection();
          const res = await conn.request(BrokerRegistration, { brokerId: this.#opts.brokerId, host: this.#opts.advertisedHost, port: this.#opts.advertisedPort });
          if (res.errorCode !== ErrorCode.NONE) throw new Error(`${errorName(res.errorCode)}: ${res.errorMessage ?? ''}`);
          this.#brokerEpoch = res.brokerEpoch;
          this.#fenced = true;
          // The metadata read so far may already hold this registration: act on it now.
          void this.#deliver();
          this.#opts.logger(`registered with the controller at ${this.#opts.controllerHost}:${this.#opts.controllerPort}: broker epoch ${res.brokerEpoch}`);
          return;
        } catch (err) {
          this.#problem(`cannot register with the controller: ${messageOf(err)}`);
          this.#dropControl();
          await this.#sleep(this.#opts.retryBackoffMs);
        }
      }
    })().finally(() => {
      this.#registering = null;
    });
    return this.#registering;
  }

  #scheduleHeartbeat(): void {
    if (!this.#running) return;
    this.#heartbeatTimer = this.#opts.clock.setTimeout(() => {
      this.#heartbeatTimer = null;
      void this.#heartbeat().finally(() => this.#scheduleHeartbeat());
    }, this.#opts.heartbeatIntervalMs);
  }

  async #heartbeat(): Promise<void> {
    try {
      const conn = await this.#controlConnection();
      const res = await conn.request(BrokerHeartbeat, { brokerId: this.#opts.brokerId, brokerEpoch: this.#brokerEpoch, metadataOffset: this.image.nextOffset });
      if (res.errorCode === ErrorCode.STALE_BROKER_EPOCH || res.errorCode === ErrorCode.BROKER_ID_NOT_REGISTERED) {
        this.#opts.logger(`controller: ${errorName(res.errorCode)} (${res.errorMessage ?? ''}); registering again`);
        await this.#register();
        return;
      }
      if (res.errorCode !== ErrorCode.NONE) throw new Error(`${errorName(res.errorCode)}: ${res.errorMessage ?? ''}`);
      if (this.#fenced !== res.isFenced) this.#opts.logger(res.isFenced ? 'the controller has this broker fenced' : 'unfenced by the controller');
      this.#fenced = res.isFenced;
      this.#lastProblem = '';
    } catch (err) {
      if (!this.#running) return;
      this.#problem(`heartbeat failed: ${messageOf(err)}`);
      this.#dropControl();
    }
  }

  async #followMetadata(): Promise<void> {
    while (this.#running) {
      try {
        this.#metadata ??= await this.#connect();
        const res = await this.#metadata.request(
          Fetch,
          {
            replicaId: this.#opts.brokerId,
            maxWaitMs: this.#opts.metadataFetchWaitMs,
            maxBytes: 1 << 20,
            topics: [{ topic: METADATA_TOPIC, partitions: [{ partition: 0, offset: this.image.nextOffset, maxBytes: 1 << 20 }] }],
          },
          this.#opts.metadataFetchWaitMs,
        );
        const p = res.topics[0]?.partitions[0];
        if (res.errorCode !== ErrorCode.NONE || p === undefined || p.errorCode !== ErrorCode.NONE) {
          throw new Error(`metadata fetch: ${errorName(p?.errorCode ?? res.errorCode)} ${p?.errorMessage ?? res.errorMessage ?? ''}`);
        }
        let applied = 0;
        for (const chunk of p.records) {
          for (const batch of splitBatches(chunk)) {
            for (const r of decodeBatch(batch).records) {
              if (r.offset < this.image.nextOffset) continue;
              this.image.apply(decodeMetadataRecord(r), r.offset);
              applied++;
            }
          }
        }
        if (applied > 0) await this.#deliver();
      } catch (err) {
        if (!this.#running) return;
        this.#problem(`metadata fetch failed: ${messageOf(err)}`);
        const conn = this.#metadata;
        this.#metadata = null;
        await conn?.abort().catch(() => undefined);
        await this.#sleep(this.#opts.retryBackoffMs);
      }
    }
  }

  /**
   * Hand the image to the broker, but only once it has read past this incarnation's own
   * registration: before that it describes the cluster as it was before this process
   * existed (a restarted leader would see itself leading its dead incarnation's epoch).
   */
  #deliver(): Promise<void> {
    this.#delivering = this.#delivering.then(async () => {
      if (!this.#running || this.#brokerEpoch < 0 || this.image.nextOffset <= this.#brokerEpoch) return;
      if (this.image.nextOffset === this.#deliveredOffset) return;
      this.#deliveredOffset = this.image.nextOffset;
      await this.#opts.onMetadata(this.image);
    });
    return this.#delivering;
  }

  #dropControl(): void {
    const conn = this.#control;
    this.#control = null;
    void conn?.abort().catch(() => undefined);
  }

  #problem(line: string): void {
    if (line === this.#lastProblem) return;
    this.#lastProblem = line;
    this.#opts.logger(line);
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = (): void => {
        this.#opts.clock.clearTimeout(timer);
        this.#sleepers.delete(wake);
        resolve();
      };
      const timer = this.#opts.clock.setTimeout(wake, ms);
      this.#sleepers.add(wake);
    });
  }
}

function messageOf(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).split('\n')[0] ?? '';
}
