/**
 * The broker's replication, for every partition of the cluster file it holds a copy
 * of: it makes each `Partition` a leader or a follower, runs one `ReplicaFetcher` per
 * leader broker it follows, shrinks the ISR of the partitions it leads on a timer, and
 * checkpoints high watermarks. The leader of a partition is fixed in this phase: the
 * first broker of its replica list.
 *
 * On start, before serving:
 * 1. the checkpoint gives each partition's last known high watermark (0 if none);
 * 2. a follower cuts its log back to that high watermark (`Log.truncateTo`): what lies
 *    above it may never have been committed, and the leader will send it again. That is
 *    safe only because the leader is fixed and never loses a record it acknowledged
 *    (it acknowledges only after its own fsync). Phase 6 lets another broker take over,
 *    and then this rule loses acknowledged records (KIP-101): it opens with that case;
 * 3. a leader starts its ISR full and its high watermark at the checkpointed value.
 *
 * Timers run on the Clock: the ISR check every `replicaLagTimeMaxMs / 2`, the
 * checkpoint every `checkpointIntervalMs` (Kafka `replica.high.watermark.checkpoint.interval.ms`).
 */
import type { Clock, TimerHandle } from '../seams/clock.ts';
import type { Storage } from '../seams/storage.ts';
import type { Transport } from '../seams/transport.ts';
import { type Partition, tpKey } from '../topics/partition.ts';
import type { PartitionManager } from '../topics/partitions.ts';
import { readCheckpoint, writeCheckpoint } from './checkpoint.ts';
import type { ClusterBroker, ClusterFile } from './cluster-file.ts';
import { ReplicaFetcher } from './fetcher.ts';
import { LeaderReplica } from './leader.ts';

/** Settings of the broker's replication. */
export interface ReplicationConfig {
  readonly cluster: ClusterFile;
  readonly brokerId: number;
  /** How long a leader holds an idle follower fetch. */
  readonly replicaFetchWaitMs: number;
  readonly replicaFetchBytesMax: number;
  readonly replicaFetchBackoffMs: number;
  readonly checkpointIntervalMs: number;
}

/** The seams and hooks the replica manager needs. */
export interface ReplicationDeps {
  readonly storage: Storage;
  readonly clock: Clock;
  readonly transport: Transport;
  readonly logger: (line: string) => void;
  /** The high watermark of a partition moved: wake fetches and produces waiting on it. */
  readonly onHighWatermarkMoved: () => void;
}

/**
 * Replication of this broker's partitions.
 * @example
 * const rm = await ReplicaManager.start(partitions, dir, config, deps);
 * await rm.stop();
 */
export class ReplicaManager {
  readonly config: ReplicationConfig;
  readonly #partitions: PartitionManager;
  readonly #dir: string;
  readonly #deps: ReplicationDeps;
  readonly #fetchers: ReplicaFetcher[] = [];
  readonly #hosted: Partition[] = [];
  #isrTimer: TimerHandle | null = null;
  #checkpointTimer: TimerHandle | null = null;
  #lastCheckpoint = '';
  #stopped = false;

  private constructor(partitions: PartitionManager, dir: string, config: ReplicationConfig, deps: ReplicationDeps) {
    this.#partitions = partitions;
    this.#dir = dir;
    this.config = config;
    this.#deps = deps;
  }

  /** Create the cluster file's topics if missing, set every hosted partition's role, start fetching. */
  static async start(partitions: PartitionManager, dir: string, config: ReplicationConfig, deps: ReplicationDeps): Promise<ReplicaManager> {
    const rm = new ReplicaManager(partitions, dir, config, deps);
    const { cluster, brokerId } = config;
    for (const t of cluster.topics) {
      const existing = partitions.topic(t.name);
      if (existing === undefined) await partitions.createTopic({ name: t.name, partitions: t.replicas.length });
      else if (existing.partitions !== t.replicas.length) {
        throw new Error(`topic ${t.name} has ${existing.partitions} partitions on disk but ${t.replicas.length} in the cluster file`);
      }
    }
    const checkpoint = await readCheckpoint(deps.storage, dir);
    const followed = new Map<number, Partition[]>();
    for (const t of cluster.topics) {
      for (const [p, replicas] of t.replicas.entries()) {
        if (!replicas.includes(brokerId)) continue;
        const partition = partitions.partition(t.name, p);
        const hw = Math.min(checkpoint.get(tpKey(partition)) ?? 0, partition.logEndOffset);
        const leaderId = replicas[0] as number;
        if (leaderId === brokerId) {
          const assignment = { brokerId, replicas, minInsyncReplicas: cluster.minInsyncReplicas, replicaLagTimeMaxMs: cluster.replicaLagTimeMaxMs };
          partition.becomeLeader(new LeaderReplica(assignment, deps.clock, hw));
        } else {
          if (partition.logEndOffset > hw) {
            deps.logger(`${t.name}-${p}: truncating from ${partition.logEndOffset} to the checkpointed high watermark ${hw}`);
            await partition.log.truncateTo(hw);
          }
          partition.becomeFollower(leaderId, hw);
          followed.set(leaderId, [...(followed.get(leaderId) ?? []), partition]);
        }
        rm.#hosted.push(partition);
      }
    }
    for (const [leaderId, list] of followed) {
      const leader = cluster.brokers.find((b) => b.id === leaderId) as ClusterBroker;
      const fetcher = new ReplicaFetcher({
        brokerId,
        leader,
        partitions: list,
        clock: deps.clock,
        transport: deps.transport,
        fetchWaitMs: config.replicaFetchWaitMs,
        fetchBytesMax: config.replicaFetchBytesMax,
        retryBackoffMs: config.replicaFetchBackoffMs,
        logger: deps.logger,
      });
      rm.#fetchers.push(fetcher);
    }
    return rm;
  }

  /** Start the fetchers and timers (once the broker listens, so followers can reach it). */
  run(): void {
    for (const f of this.#fetchers) f.start();
    this.#scheduleIsrCheck();
    this.#scheduleCheckpoint();
  }

  /** The partitions this broker holds a copy of. */
  get hosted(): readonly Partition[] {
    return this.#hosted;
  }

  /** The broker with this id in the cluster file. */
  broker(id: number): ClusterBroker | undefined {
    return this.config.cluster.brokers.find((b) => b.id === id);
  }

  /** The replicas of a partition in the cluster file, or null for a topic it does not name. */
  replicasOf(topic: string, partition: number): readonly number[] | null {
    return this.config.cluster.topics.find((t) => t.name === topic)?.replicas[partition] ?? null;
  }

  #scheduleIsrCheck(): void {
    if (this.#stopped) return;
    this.#isrTimer = this.#deps.clock.setTimeout(() => {
      let moved = false;
      for (const p of this.#hosted) {
        const leader = p.leaderReplica;
        if (leader === null) continue;
        const change = leader.maybeShrinkIsr(p.logEndOffset);
        if (change.isrRemoved.length > 0) this.#deps.logger(`${p.topic}-${p.partition}: ISR shrinks to [${leader.isr.join(',')}] (${change.isrRemoved.join(',')} not caught up within ${this.config.cluster.replicaLagTimeMaxMs} ms)`);
        moved ||= change.highWatermarkMoved;
      }
      if (moved) this.#deps.onHighWatermarkMoved();
      this.#scheduleIsrCheck();
    }, Math.max(1, Math.floor(this.config.cluster.replicaLagTimeMaxMs / 2)));
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
    const entries = this.#hosted.map((p) => ({ topic: p.topic, partition: p.partition, highWatermark: p.highWatermark }));
    const key = JSON.stringify(entries);
    if (key === this.#lastCheckpoint) return;
    await writeCheckpoint(this.#deps.storage, this.#dir, entries);
    this.#lastCheckpoint = key;
  }

  /** Stop fetching and the timers, answer produces still waiting, write a last checkpoint. */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    if (this.#isrTimer !== null) this.#deps.clock.clearTimeout(this.#isrTimer);
    if (this.#checkpointTimer !== null) this.#deps.clock.clearTimeout(this.#checkpointTimer);
    await Promise.all(this.#fetchers.map((f) => f.stop()));
    for (const p of this.#hosted) p.leaderReplica?.abandonWaiters();
    await this.checkpoint().catch((err: unknown) => this.#deps.logger(`last checkpoint failed: ${err instanceof Error ? err.message : String(err)}`));
  }
}
