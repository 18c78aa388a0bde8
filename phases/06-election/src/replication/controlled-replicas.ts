/**
 * Replication driven by the controller (phase 6). Where phase 5's `ReplicaManager` reads
 * roles from a cluster file once, this one applies the metadata log as it arrives
 * (`ControllerChannel`): every partition this broker holds a replica of gets the role the
 * controller's latest record gives it, in the epoch that record names.
 *
 * - Becoming leader in epoch e: the epoch cache records (e, LEO) and is written durably
 *   *before* the partition serves, so a crash cannot forget where e began; followers
 *   count as caught up now; the HW starts where this broker's copy had it; the ISR is the
 *   controller's. Batches appended from now on are stamped with e.
 * - Becoming follower of L in epoch e: the partition stops serving, and the fetcher for L
 *   is rebuilt; before copying anything it asks L, with OffsetForLeaderEpoch, where this
 *   broker's latest epoch ends, and truncates there (KIP-101, KIP-279: `truncation.ts`).
 * - Leader -1: offline; neither served nor copied.
 * - ISR changes are proposals (`LeaderReplica` in controlled mode): a follower that caught
 *   up, or one that fell behind for `replicaLagTimeMaxMs`, is sent to the controller with
 *   AlterPartition, one request in flight per partition; the answer (or the next metadata
 *   record) commits it.
 *
 * Epoch caches live beside each partition's log (`leader-epoch-checkpoint`), written
 * atomically; a missing one is rebuilt from the batch headers of the log.
 */
import { join } from 'node:path';
import type { MetadataImage } from '../controller/image.ts';
import type { PartitionState } from '../controller/election.ts';
import { readBatchHeader } from '../log/record-batch.ts';
import { ErrorCode, errorName } from '../protocol/errors.ts';
import type { Clock, TimerHandle } from '../seams/clock.ts';
import type { Storage } from '../seams/storage.ts';
import type { Transport } from '../seams/transport.ts';
import { partitionDirName } from '../topics/names.ts';
import { type Partition, tpKey } from '../topics/partition.ts';
import type { PartitionManager } from '../topics/partitions.ts';
import { readCheckpoint, writeCheckpoint } from './checkpoint.ts';
import type { ControllerChannel } from './controller-channel.ts';
import { type EpochEntry, LeaderEpochCache, readEpochCheckpoint, writeEpochCheckpoint } from './epoch-cache.ts';
import { EpochFetcher } from './epoch-fetcher.ts';
import { LeaderReplica } from './leader.ts';

/** Settings of controlled replication. */
export interface ControlledReplicationConfig {
  readonly brokerId: number;
  readonly replicaLagTimeMaxMs: number;
  /** acks=all needs an ISR this large, unless the topic sets `min.insync.replicas`. */
  readonly minInsyncReplicas: number;
  readonly replicaFetchWaitMs: number;
  readonly replicaFetchBytesMax: number;
  readonly replicaFetchBackoffMs: number;
  readonly checkpointIntervalMs: number;
}

/** Seams and hooks. */
export interface ControlledReplicationDeps {
  readonly storage: Storage;
  readonly clock: Clock;
  readonly transport: Transport;
  readonly logger: (line: string) => void;
  /** A high watermark moved or roles changed: wake fetches and produces waiting on it. */
  readonly onHighWatermarkMoved: () => void;
}

interface Hosted {
  readonly partition: Partition;
  /** The state of the last record applied for it. */
  state: PartitionState;
  /** An AlterPartition of this partition is in flight. */
  altering: boolean;
}

/**
 * The broker's replication under a controller.
 * @example
 * const rm = await ControlledReplicas.open(partitions, dir, config, deps);
 * rm.attach(channel); // channel's onMetadata calls rm.apply(image)
 */
export class ControlledReplicas {
  readonly config: ControlledReplicationConfig;
  readonly #partitions: PartitionManager;
  readonly #dir: string;
  readonly #deps: ControlledReplicationDeps;
  readonly #hosted = new Map<string, Hosted>();
  readonly #fetchers = new Map<number, { fetcher: EpochFetcher; key: string }>();
  #channel: ControllerChannel | null = null;
  #image: MetadataImage | null = null;
  #checkpointed = new Map<string, number>();
  #isrTimer: TimerHandle | null = null;
  #checkpointTimer: TimerHandle | null = null;
  #lastCheckpoint = '';
  #stopped = false;
  /** CreateTopics forwarded to the controller, waiting until this broker has applied the topic. */
  #topicWaiters: { readonly names: readonly string[]; readonly resolve: () => void }[] = [];

  private constructor(partitions: PartitionManager, dir: string, config: ControlledReplicationConfig, deps: ControlledReplicationDeps) {
    this.#partitions = partitions;
    this.#dir = dir;
    this.config = config;
    this.#deps = deps;
  }

  /** Read the HW checkpoint; roles come with the first metadata. */
  static async open(partitions: PartitionManager, dir: string, config: ControlledReplicationConfig, deps: ControlledReplicationDeps): Promise<ControlledReplicas> {
    const rm = new ControlledReplicas(partitions, dir, config, deps);
    rm.#checkpointed = await readCheckpoint(deps.storage, dir);
    return rm;
  }

  /** The channel AlterPartition requests go through; starts the timers. */
  attach(channel: ControllerChannel): void {
    this.#channel = channel;
    this.#scheduleIsrCheck();
    this.#scheduleCheckpoint();
  }

  /** The image last applied (null before the first metadata). */
  get image(): MetadataImage | null {
    return this.#image;
  }

  /** The partitions this broker holds a replica of. */
  get hosted(): readonly Partition[] {
    return [...this.#hosted.values()].map((h) => h.partition);
  }

  /** Apply the metadata log as far as `image` has read it. */
  async apply(image: MetadataImage): Promise<void> {
    if (this.#stopped) return;
    this.#image = image;
    const me = this.config.brokerId;
    let changed = false;
    // Every topic exists locally, so Metadata from any broker describes it; partitions this
    // broker holds no replica of stay empty and are never served.
    for (const t of image.topics.values()) {
      if (this.#partitions.topic(t.name) === undefined) {
        await this.#partitions.createTopic({ name: t.name, partitions: t.partitions });
        for (let i = 0; i < t.partitions; i++) {
          const st = image.partition(t.name, i);
          if (st !== undefined && !st.replicas.includes(me)) this.#partitions.partition(t.name, i).becomeFollower(-1, 0);
        }
      }
    }
    for (const st of image.partitions()) {
      if (!st.replicas.includes(me)) continue;
      const key = tpKey(st);
      let hosted = this.#hosted.get(key);
      if (hosted === undefined) {
        const partition = await this.#localPartition(st.topic, st.partition);
        hosted = { partition, state: { ...st, leader: -2, leaderEpoch: -1 }, altering: false };
        this.#hosted.set(key, hosted);
      }
      const before = hosted.state;
      hosted.state = st;
      const p = hosted.partition;
      if (st.leaderEpoch !== before.leaderEpoch || st.leader !== before.leader) {
        changed = true;
        p.setLeaderEpoch(st.leaderEpoch);
        if (st.leader === me) await this.#becomeLeader(hosted, st);
        else if (st.leader < 0) {
          p.leaderReplica?.abandonWaiters();
          p.goOffline();
          this.#deps.logger(`${st.topic}-${st.partition}: offline (no in-sync replica is available), epoch ${st.leaderEpoch}`);
        } else {
          p.leaderReplica?.abandonWaiters();
          p.becomeFollower(st.leader, p.highWatermark);
          this.#deps.logger(`${st.topic}-${st.partition}: following broker ${st.leader} in epoch ${st.leaderEpoch}`);
        }
      } else if (st.leader === me && p.leaderReplica !== null && st.partitionEpoch !== before.partitionEpoch) {
        const change = p.leaderReplica.setCommittedIsr(st.isr, p.logEndOffset);
        if (change.isrAdded.length > 0 || change.isrRemoved.length > 0) this.#deps.logger(`${st.topic}-${st.partition}: ISR is now [${st.isr.join(',')}] (partition epoch ${st.partitionEpoch})`);
        if (change.highWatermarkMoved) this.#deps.onHighWatermarkMoved();
      }
    }
    this.#rebuildFetchers(image);
    if (changed) this.#deps.onHighWatermarkMoved();
    this.#topicWaiters = this.#topicWaiters.filter((w) => {
      if (!w.names.every((n) => image.topics.has(n))) return true;
      w.resolve();
      return false;
    });
  }

  /** Resolve once every named topic is in the applied metadata, or after `timeoutMs`. */
  waitForTopics(names: readonly string[], timeoutMs: number): Promise<void> {
    if (names.every((n) => this.#image?.topics.has(n) === true)) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = this.#deps.clock.setTimeout(() => {
        this.#topicWaiters = this.#topicWaiters.filter((w) => w !== waiter);
        resolve();
      }, timeoutMs);
      const waiter = { names, resolve: () => { this.#deps.clock.clearTimeout(timer); resolve(); } };
      this.#topicWaiters.push(waiter);
    });
  }

  /** A hosted partition's local log (its topic was created by `apply`), with its epoch cache attached. */
  async #localPartition(topic: string, partition: number): Promise<Partition> {
    const p = this.#partitions.partition(topic, partition);
    const dir = join(this.#dir, partitionDirName(topic, partition));
    const entries = (await readEpochCheckpoint(this.#deps.storage, dir)) ?? (await epochsFromLog(p));
    const cache = new LeaderEpochCache(entries);
    p.attachEpochs(cache, () => writeEpochCheckpoint(this.#deps.storage, dir, cache.entries));
    if (p.role === 'single') p.becomeFollower(-1, Math.min(this.#checkpointed.get(tpKey(p)) ?? 0, p.logEndOffset));
    return p;
  }

  async #becomeLeader(hosted: Hosted, st: PartitionState): Promise<void> {
    const p = hosted.partition;
    const cache = p.epochCache as LeaderEpochCache;
    const leo = p.logEndOffset;
    // Durable before the partition serves: where this epoch began.
    if (cache.assign(st.leaderEpoch, leo)) await p.saveEpochs();
    const minInsync = this.#minInsyncOf(st.topic);
    const assignment = { brokerId: this.config.brokerId, replicas: st.replicas, minInsyncReplicas: minInsync, replicaLagTimeMaxMs: this.config.replicaLagTimeMaxMs };
    const hw = Math.min(p.highWatermark, leo);
    const replica = new LeaderReplica(assignment, this.#deps.clock, hw, { isr: st.isr, leaderEpochStartOffset: leo });
    p.becomeLeader(replica);
    // Alone in its ISR, the new leader's HW is its own log end offset now (Kafka's
    // maybeIncrementLeaderHW in makeLeader); without this it would wait for the next write.
    replica.onLocalAppend(leo);
    hosted.altering = false;
    this.#deps.logger(`${st.topic}-${st.partition}: leading in epoch ${st.leaderEpoch} from offset ${leo}, ISR [${st.isr.join(',')}]`);
  }

  #minInsyncOf(topic: string): number {
    const value = this.#image?.topics.get(topic)?.configs.find(([k]) => k === 'min.insync.replicas')?.[1];
    const n = value === undefined ? Number.NaN : Number(value);
    return Number.isSafeInteger(n) && n >= 1 ? n : this.config.minInsyncReplicas;
  }

  /** One fetcher per leader this broker follows; rebuilt when its partitions or their epochs change. */
  #rebuildFetchers(image: MetadataImage): void {
    const byLeader = new Map<number, Hosted[]>();
    for (const h of this.#hosted.values()) {
      if (h.state.leader < 0 || h.state.leader === this.config.brokerId) continue;
      byLeader.set(h.state.leader, [...(byLeader.get(h.state.leader) ?? []), h]);
    }
    for (const [leaderId, entry] of this.#fetchers) {
      const list = byLeader.get(leaderId);
      const key = list === undefined ? '' : fetcherKey(list, image, leaderId);
      if (key !== entry.key) {
        void entry.fetcher.stop();
        this.#fetchers.delete(leaderId);
      }
    }
    for (const [leaderId, list] of byLeader) {
      if (this.#fetchers.has(leaderId)) continue;
      const broker = image.brokers.get(leaderId);
      if (broker === undefined) continue;
      const fetcher = new EpochFetcher({
        brokerId: this.config.brokerId,
        leader: { id: leaderId, host: broker.host, port: broker.port },
        partitions: list.map((h) => ({ partition: h.partition, leaderEpoch: h.state.leaderEpoch })),
        clock: this.#deps.clock,
        transport: this.#deps.transport,
        fetchWaitMs: this.config.replicaFetchWaitMs,
        fetchBytesMax: this.config.replicaFetchBytesMax,
        retryBackoffMs: this.config.replicaFetchBackoffMs,
        logger: this.#deps.logger,
      });
      this.#fetchers.set(leaderId, { fetcher, key: fetcherKey(list, image, leaderId) });
      fetcher.start();
    }
  }

  /**
   * A follower's fetch moved the leader's view (handlers.ts): propose the follower that
   * caught up, if any.
   */
  onFollowerCaughtUp(partition: Partition): void {
    const h = this.#hosted.get(tpKey(partition));
    if (h !== undefined) this.#proposeIsr(h);
  }

  #scheduleIsrCheck(): void {
    if (this.#stopped) return;
    this.#isrTimer = this.#deps.clock.setTimeout(() => {
      for (const h of this.#hosted.values()) {
        const leader = h.partition.leaderReplica;
        if (leader === null) continue;
        const change = leader.maybeShrinkIsr(h.partition.logEndOffset);
        if (change.isrRemoved.length > 0) this.#proposeIsr(h, change.isrRemoved);
      }
      this.#scheduleIsrCheck();
    }, Math.max(1, Math.floor(this.config.replicaLagTimeMaxMs / 2)));
  }

  /** Send the ISR this leader wants (committed + pending − `remove`) to the controller; one in flight per partition. */
  #proposeIsr(h: Hosted, remove: readonly number[] = []): void {
    const leader = h.partition.leaderReplica;
    const channel = this.#channel;
    const image = this.#image;
    if (leader === null || channel === null || image === null || h.altering) return;
    const wanted = leader.maximalIsr.filter((id) => !remove.includes(id));
    const committed = h.state.isr;
    if (wanted.length === committed.length && wanted.every((id) => committed.includes(id))) return;
    h.altering = true;
    const st = h.state;
    const newIsr = wanted.map((id) => ({ id, brokerEpoch: id === this.config.brokerId ? channel.brokerEpoch : (image.brokers.get(id)?.brokerEpoch ?? -1) }));
    channel
      .alterPartition({ topic: st.topic, partition: st.partition, leaderEpoch: st.leaderEpoch, partitionEpoch: st.partitionEpoch, newIsr })
      .then((res) => {
        if (res.errorCode === ErrorCode.NONE) {
          this.#deps.logger(`${st.topic}-${st.partition}: ISR change to [${res.isr.join(',')}] accepted (partition epoch ${res.partitionEpoch})`);
          if (h.partition.leaderReplica === leader && h.state.leaderEpoch === res.leaderEpoch) {
            h.state = { ...h.state, isr: res.isr, partitionEpoch: res.partitionEpoch };
            if (leader.setCommittedIsr(res.isr, h.partition.logEndOffset).highWatermarkMoved) this.#deps.onHighWatermarkMoved();
          }
        } else {
          this.#deps.logger(`${st.topic}-${st.partition}: ISR change to [${wanted.join(',')}] refused: ${errorName(res.errorCode)} ${res.errorMessage ?? ''}`);
          for (const id of leader.pendingAdditions) if (!res.isr.includes(id)) leader.dropPending(id);
        }
      })
      .catch((err: unknown) => {
        this.#deps.logger(`${st.topic}-${st.partition}: AlterPartition failed: ${err instanceof Error ? err.message : String(err)}`);
        for (const id of leader.pendingAdditions) leader.dropPending(id);
      })
      .finally(() => {
        h.altering = false;
      });
  }

  #scheduleCheckpoint(): void {
    if (this.#stopped) return;
    this.#checkpointTimer = this.#deps.clock.setTimeout(() => {
      this.checkpoint()
        .catch((err: unknown) => this.#deps.logger(`high-watermark checkpoint failed: ${err instanceof Error ? err.message : String(err)}`))
        .finally(() => this.#scheduleCheckpoint());
    }, this.config.checkpointIntervalMs);
  }

  /** Write the high-watermark checkpoint now if it changed. */
  async checkpoint(): Promise<void> {
    const entries = this.hosted.map((p) => ({ topic: p.topic, partition: p.partition, highWatermark: p.highWatermark }));
    const key = JSON.stringify(entries);
    if (key === this.#lastCheckpoint) return;
    await writeCheckpoint(this.#deps.storage, this.#dir, entries);
    this.#lastCheckpoint = key;
  }

  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    if (this.#isrTimer !== null) this.#deps.clock.clearTimeout(this.#isrTimer);
    if (this.#checkpointTimer !== null) this.#deps.clock.clearTimeout(this.#checkpointTimer);
    await Promise.all([...this.#fetchers.values()].map((f) => f.fetcher.stop()));
    for (const p of this.hosted) p.leaderReplica?.abandonWaiters();
    await this.checkpoint().catch((err: unknown) => this.#deps.logger(`last checkpoint failed: ${err instanceof Error ? err.message : String(err)}`));
  }
}

/** Batch bytes read at a time while rebuilding an epoch cache from a log. */
const REBUILD_READ_BYTES = 1024 * 1024;

/**
 * The epoch cache of a log whose checkpoint is missing, from its batch headers (the
 * leader stamped each with its epoch), read a bounded chunk at a time.
 */
async function epochsFromLog(p: Partition): Promise<readonly EpochEntry[]> {
  const headers: { baseOffset: number; partitionLeaderEpoch: number }[] = [];
  for (let offset = p.logStartOffset; offset < p.logEndOffset; ) {
    const batches = await p.log.read(offset, REBUILD_READ_BYTES);
    if (batches.length === 0) break;
    for (const b of batches) {
      const h = readBatchHeader(b);
      if (h.baseOffset + h.lastOffsetDelta < offset) continue; // the first batch may start before `offset`
      headers.push(h);
      offset = h.baseOffset + h.lastOffsetDelta + 1;
    }
  }
  return LeaderEpochCache.fromBatches(headers).entries;
}

/** What a fetcher was built for: the leader's address and each partition's epoch. */
function fetcherKey(list: readonly Hosted[], image: MetadataImage, leaderId: number): string {
  const b = image.brokers.get(leaderId);
  const parts = list.map((h) => `${tpKey(h.state)}@${h.state.leaderEpoch}`).sort();
  return `${b?.host}:${b?.port}/${b?.brokerEpoch}|${parts.join(',')}`;
}
