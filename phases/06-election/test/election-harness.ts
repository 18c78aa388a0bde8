/**
 * An in-process phase-6 cluster for scenario tests: the real `Controller` and real
 * `Broker`s of this phase (and the real clients) in one process, over one
 * `MemoryTransport`, each on its own `MemoryStorage`, all on one `ManualClock`. Nothing
 * happens unless the test moves time (`advanceUntil`, `settle`), so every heartbeat, lease
 * expiry, election, fetch backoff and long poll happens at a virtual time the test decides.
 *
 * What the harness adds around the seams, all in this file (src/ is untouched):
 *
 * - **Node transports and partitions.** `MemoryTransport` has no notion of who is who and
 *   no way to cut one link (only `resetAll()`), so every process ("node": `controller`,
 *   `b1`, `b2`, ..., `producer`, `consumer`, `admin`) gets its own `NodeTransport`, a
 *   wrapper that knows its node name and records which node listens on which address.
 *   `cut(a, b)` then aborts every link between the two nodes and refuses new connects
 *   between them (ECONNREFUSED) until `heal(a, b)`. A partition is modelled as "links reset
 *   and connects refused", not as a black hole: a peer learns at once that a request
 *   failed rather than after its request timeout. Partitions are by node name, so they
 *   survive a broker restart (a new incarnation of `b1` is still `b1`).
 * - **Crash.** `crashBroker(id)` kills the process: its `NodeTransport` closes its
 *   listener and aborts every link to and from it, its `KillableStorage` refuses every
 *   further call (the process is gone, it writes nothing more, not even the HW checkpoint
 *   a graceful close writes), then its `MemoryStorage.crash()` drops whatever was not
 *   synced. Only then is the dead incarnation's `close()` called, to clear its timers from
 *   the shared clock (its storage calls fail; the errors are swallowed and its log lines
 *   dropped). `restartBroker(id)` starts a new `Broker` on the same storage, dir and port.
 */
import { Admin } from '../src/client/admin.ts';
import { Consumer, type ConsumerOptions } from '../src/client/consumer.ts';
import { Producer, type ProducerOptions } from '../src/client/producer.ts';
import { Connection } from '../src/client/connection.ts';
import { Controller, METADATA_TOPIC } from '../src/controller/controller.ts';
import { type MetadataRecord, decodeMetadataRecord } from '../src/controller/records.ts';
import { Fetch } from '../src/protocol/fetch.ts';
import { splitBatches } from '../src/protocol/records.ts';
import { StorageError } from '../src/log/errors.ts';
import { decodeBatch, readBatchHeader } from '../src/log/record-batch.ts';
import { ManualClock } from '../src/seams/clock.ts';
import { MemoryNetworkError, MemoryTransport } from '../src/seams/memory-transport.ts';
import { MemoryStorage } from '../src/seams/memory-storage.ts';
import { seededRandom } from '../src/seams/random.ts';
import type { Storage, StorageFile } from '../src/seams/storage.ts';
import type { AcceptLink, FrameHandlers, FrameLink, ListenOptions, Listener, Transport } from '../src/seams/transport.ts';
import { Broker } from '../src/server/broker.ts';
import type { BrokerConfig } from '../src/server/config.ts';
import type { Partition } from '../src/topics/partition.ts';

const HOST = '127.0.0.1';

// ---- the network ----

interface LinkRecord {
  readonly from: NodeTransport;
  readonly to: NodeTransport | null;
  readonly link: FrameLink;
}

/** Which node listens where, which links are open between which nodes, which pairs are cut. */
export class Network {
  readonly memory: MemoryTransport;
  readonly #owners = new Map<string, NodeTransport>();
  readonly #links = new Set<LinkRecord>();
  readonly #cuts = new Set<string>();

  constructor(memory: MemoryTransport) {
    this.memory = memory;
  }

  /** A transport for one incarnation of node `name`. */
  node(name: string): NodeTransport {
    return new NodeTransport(this, name);
  }

  /** Abort every link between nodes `a` and `b` and refuse new ones, until `heal(a, b)`. */
  cut(a: string, b: string): void {
    this.#cuts.add(pairKey(a, b));
    for (const r of [...this.#links]) {
      const ends = [r.from.name, r.to?.name];
      if (ends.includes(a) && ends.includes(b)) this.#drop(r);
    }
  }

  /** Cut node `a` from every node in `others`. */
  isolate(a: string, others: readonly string[]): void {
    for (const b of others) this.cut(a, b);
  }

  heal(a: string, b: string): void {
    this.#cuts.delete(pairKey(a, b));
  }

  healAll(): void {
    this.#cuts.clear();
  }

  isCut(a: string, b: string): boolean {
    return this.#cuts.has(pairKey(a, b));
  }

  /** @internal */ ownerOf(host: string, port: number): NodeTransport | undefined {
    return this.#owners.get(`${host}:${port}`);
  }

  /** @internal */ own(host: string, port: number, node: NodeTransport): void {
    this.#owners.set(`${host}:${port}`, node);
  }

  /** @internal */ disown(host: string, port: number, node: NodeTransport): void {
    if (this.#owners.get(`${host}:${port}`) === node) this.#owners.delete(`${host}:${port}`);
  }

  /** @internal */ track(r: LinkRecord): void {
    this.#links.add(r);
  }

  /** @internal */ untrack(r: LinkRecord): void {
    this.#links.delete(r);
  }

  /** @internal Abort every link from or to this incarnation. */
  dropAllOf(node: NodeTransport): void {
    for (const r of [...this.#links]) if (r.from === node || r.to === node) this.#drop(r);
  }

  #drop(r: LinkRecord): void {
    this.#links.delete(r);
    r.link.abort();
  }
}

function pairKey(a: string, b: string): string {
  return a < b ? `${a}|${b}` : `${b}|${a}`;
}

/** The Transport of one incarnation of one node (see the file comment). */
export class NodeTransport implements Transport {
  readonly name: string;
  readonly #net: Network;
  readonly #listeners: Listener[] = [];
  #dead = false;

  constructor(net: Network, name: string) {
    this.#net = net;
    this.name = name;
  }

  get dead(): boolean {
    return this.#dead;
  }

  async listen(host: string, port: number, options: ListenOptions, accept: AcceptLink): Promise<Listener> {
    if (this.#dead) throw new MemoryNetworkError('EADDRINUSE', `${this.name} is dead`);
    const inner = await this.#net.memory.listen(host, port, options, accept);
    this.#net.own(host, inner.port, this);
    const net = this.#net;
    const listener: Listener = {
      host: inner.host,
      port: inner.port,
      close: async () => {
        net.disown(host, inner.port, this);
        await inner.close();
      },
    };
    this.#listeners.push(listener);
    return listener;
  }

  connect(host: string, port: number, handlers: FrameHandlers, options: { frameBytesMax: number }): Promise<FrameLink> {
    const target = this.#net.ownerOf(host, port);
    const refused = (why: string): Promise<FrameLink> =>
      new Promise((_resolve, reject) => queueMicrotask(() => reject(new MemoryNetworkError('ECONNREFUSED', `connect ECONNREFUSED ${host}:${port} (${why})`))));
    if (this.#dead) return refused(`${this.name} is dead`);
    if (target !== undefined && (target.dead || this.#net.isCut(this.name, target.name))) return refused(`${this.name} is cut from ${target.name}`);
    let record: LinkRecord | null = null;
    const wrapped: FrameHandlers = {
      frame: (f) => handlers.frame(f),
      closed: (e) => {
        if (record !== null) this.#net.untrack(record);
        handlers.closed(e);
      },
    };
    return this.#net.memory.connect(host, port, wrapped, options).then((link) => {
      record = { from: this, to: target ?? null, link };
      this.#net.track(record);
      // Cut (or killed) while the connect was under way: the link dies at once.
      if (this.#dead || (target !== undefined && (target.dead || this.#net.isCut(this.name, target.name)))) {
        this.#net.untrack(record);
        link.abort();
      }
      return link;
    });
  }

  /** The process died: its listeners close, every link to or from it is aborted, nothing more connects. */
  async kill(): Promise<void> {
    this.#dead = true;
    this.#net.dropAllOf(this);
    for (const l of this.#listeners.splice(0)) await l.close();
  }
}

// ---- the disk ----

/** A Storage that stops answering when its process is killed (every call then fails). */
export class KillableStorage implements Storage {
  readonly #inner: Storage;
  #dead = false;

  constructor(inner: Storage) {
    this.#inner = inner;
  }

  kill(): void {
    this.#dead = true;
  }

  #check(what: string): void {
    if (this.#dead) throw new StorageError(`${what}: the process crashed`);
  }

  async openFile(path: string, opts?: { create?: boolean }): Promise<StorageFile> {
    this.#check(`open ${path}`);
    return await this.#inner.openFile(path, opts);
  }

  async readFile(path: string): Promise<Buffer | null> {
    this.#check(`readFile ${path}`);
    return await this.#inner.readFile(path);
  }

  async list(dir: string): Promise<string[]> {
    this.#check(`list ${dir}`);
    return await this.#inner.list(dir);
  }

  async mkdir(dir: string): Promise<void> {
    this.#check(`mkdir ${dir}`);
    await this.#inner.mkdir(dir);
  }

  async remove(path: string): Promise<void> {
    this.#check(`remove ${path}`);
    await this.#inner.remove(path);
  }

  async rename(from: string, to: string): Promise<void> {
    this.#check(`rename ${from}`);
    await this.#inner.rename(from, to);
  }

  async syncDir(dir: string): Promise<void> {
    this.#check(`syncDir ${dir}`);
    await this.#inner.syncDir(dir);
  }

  async exists(path: string): Promise<boolean> {
    this.#check(`exists ${path}`);
    return await this.#inner.exists(path);
  }
}

// ---- the cluster ----

/** Timing of the cluster; every value in virtual ms. */
export interface ClusterTiming {
  sessionTimeoutMs: number;
  heartbeatIntervalMs: number;
  replicaLagTimeMaxMs: number;
  replicaFetchWaitMs: number;
  replicaFetchBackoffMs: number;
  checkpointIntervalMs: number;
  /** How far `advanceUntil` moves the clock per step. */
  stepMs: number;
}

export const DEFAULT_TIMING: ClusterTiming = Object.freeze({
  sessionTimeoutMs: 1000,
  heartbeatIntervalMs: 100,
  replicaLagTimeMaxMs: 1000,
  replicaFetchWaitMs: 200,
  replicaFetchBackoffMs: 50,
  // Kafka's replica.high.watermark.checkpoint.interval.ms: a crash loses the HW since the last one.
  checkpointIntervalMs: 5000,
  stepMs: 10,
});

interface BrokerSlot {
  readonly id: number;
  readonly storage: MemoryStorage;
  readonly dir: string;
  port: number;
  broker: Broker | null;
  transport: NodeTransport | null;
  disk: KillableStorage | null;
  incarnation: number;
}

/** One record of a partition's log as the scenarios compare them. */
export interface LoggedRecord {
  readonly offset: number;
  readonly value: string | null;
  /** The partition leader epoch of the batch that holds it. */
  readonly epoch: number;
}

/** Run every task queued now, and what those queue, until only timers are left. */
export async function drain(): Promise<void> {
  for (let i = 0; i < 3; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

export class ElectionCluster {
  readonly clock = new ManualClock(1_000_000);
  readonly net = new Network(new MemoryTransport());
  readonly timing: ClusterTiming;
  readonly logs: string[] = [];
  readonly #startMs: number;
  readonly #slots = new Map<number, BrokerSlot>();
  readonly #controllerStorage = new MemoryStorage({ seed: 99 });
  readonly #cleanups: (() => Promise<unknown>)[] = [];
  #controller: Controller | null = null;
  #clientSeq = 0;

  private constructor(timing: ClusterTiming) {
    this.timing = timing;
    this.#startMs = this.clock.now();
  }

  /** Start the controller, then brokers `ids` (registered and unfenced before this resolves). */
  static async start(ids: readonly number[], timing: Partial<ClusterTiming> = {}): Promise<ElectionCluster> {
    const c = new ElectionCluster({ ...DEFAULT_TIMING, ...timing });
    c.#controller = await Controller.start(
      { dir: '/controller', host: HOST, port: 0, sessionTimeoutMs: c.timing.sessionTimeoutMs },
      { storage: c.#controllerStorage, clock: c.clock, random: seededRandom(7), transport: c.net.node('controller'), logger: c.#logger('controller') },
    );
    for (const id of ids) await c.startBroker(id);
    await c.advanceUntil(() => ids.every((id) => c.controller.image.brokers.get(id)?.fenced === false), 5_000, `brokers ${ids.join(',')} registered and unfenced`);
    return c;
  }

  get controller(): Controller {
    if (this.#controller === null) throw new Error('no controller');
    return this.#controller;
  }

  /** Virtual ms since the cluster started. */
  get elapsedMs(): number {
    return this.clock.now() - this.#startMs;
  }

  #logger(node: string): (line: string) => void {
    return (line) => this.logs.push(`[+${String(this.elapsedMs).padStart(6)} ms] ${node}: ${line}`);
  }

  /** The last log lines of every node, for failure messages. */
  logTail(lines = 80): string {
    return this.logs.slice(-lines).join('\n');
  }

  // ---- time ----

  /**
   * Step the clock (`timing.stepMs` at a time), running every task between steps, until
   * `condition` holds. Resolves with the virtual ms it took; rejects, with the nodes' last
   * log lines, if it does not hold within `maxMs`.
   */
  async advanceUntil(condition: () => boolean, maxMs: number, what: string): Promise<number> {
    await drain();
    let waited = 0;
    while (!condition()) {
      if (waited >= maxMs) throw new Error(`not within ${maxMs} virtual ms (at +${this.elapsedMs} ms): ${what}\n--- cluster log ---\n${this.logTail()}`);
      const step = Math.min(this.timing.stepMs, maxMs - waited);
      this.clock.advance(step);
      waited += step;
      await drain();
    }
    return waited;
  }

  /** Move the clock by exactly `ms`, running every task on the way. */
  async advance(ms: number): Promise<void> {
    let left = ms;
    await drain();
    while (left > 0) {
      const step = Math.min(this.timing.stepMs, left);
      this.clock.advance(step);
      left -= step;
      await drain();
    }
  }

  /** Advance the clock until `promise` settles (within `maxMs`); its value, or its rejection. */
  async settle<T>(promise: Promise<T>, maxMs: number, what: string): Promise<T> {
    let done = false;
    const watched = promise.then(
      (v) => {
        done = true;
        return v;
      },
      (err: unknown) => {
        done = true;
        throw err;
      },
    );
    watched.catch(() => undefined);
    await this.advanceUntil(() => done, maxMs, what);
    return await watched;
  }

  // ---- brokers ----

  /** Start broker `id` for the first time (its own MemoryStorage, dir `/broker-<id>`). */
  async startBroker(id: number): Promise<Broker> {
    if (this.#slots.has(id)) throw new Error(`broker ${id} was started before: restartBroker`);
    const slot: BrokerSlot = { id, storage: new MemoryStorage({ seed: id }), dir: `/broker-${id}`, port: 0, broker: null, transport: null, disk: null, incarnation: 0 };
    this.#slots.set(id, slot);
    return await this.#launch(slot);
  }

  async #launch(slot: BrokerSlot): Promise<Broker> {
    slot.incarnation++;
    const transport = this.net.node(brokerNode(slot.id));
    const disk = new KillableStorage(slot.storage);
    const t = this.timing;
    const config: Partial<BrokerConfig> = {
      dir: slot.dir,
      host: HOST,
      port: slot.port,
      controller: { host: HOST, port: this.controller.port, brokerId: slot.id },
      heartbeatIntervalMs: t.heartbeatIntervalMs,
      replicaLagTimeMaxMs: t.replicaLagTimeMaxMs,
      replicaFetchWaitMs: t.replicaFetchWaitMs,
      replicaFetchBackoffMs: t.replicaFetchBackoffMs,
      checkpointIntervalMs: t.checkpointIntervalMs,
    };
    const incarnation = slot.incarnation;
    const log = this.#logger(`${brokerNode(slot.id)}#${incarnation}`);
    const logger = (line: string): void => {
      // A dead incarnation's last words (its failing close) are noise.
      if (slot.incarnation === incarnation && slot.transport?.dead !== true) log(line);
    };
    const broker = await Broker.start(config, { storage: disk, clock: this.clock, transport, random: seededRandom(100 + slot.id), logger });
    slot.port = broker.port;
    slot.broker = broker;
    slot.transport = transport;
    slot.disk = disk;
    return broker;
  }

  /** The running incarnation of broker `id`. */
  broker(id: number): Broker {
    const b = this.#slots.get(id)?.broker;
    if (b === null || b === undefined) throw new Error(`broker ${id} is not running`);
    return b;
  }

  isRunning(id: number): boolean {
    return (this.#slots.get(id)?.broker ?? null) !== null;
  }

  /** The address clients bootstrap from for broker `id`. */
  address(id: number): { host: string; port: number } {
    const slot = this.#slots.get(id);
    if (slot === undefined || slot.port === 0) throw new Error(`broker ${id} never listened`);
    return { host: HOST, port: slot.port };
  }

  /**
   * Crash broker `id`: no graceful close. Its network and disk die first (nothing more is
   * sent or written), then its disk loses whatever was not synced; the dead incarnation is
   * closed only to clear its timers off the shared clock.
   */
  async crashBroker(id: number): Promise<void> {
    const slot = this.#slots.get(id);
    const broker = slot?.broker;
    if (slot === undefined || broker === null || broker === undefined) throw new Error(`broker ${id} is not running`);
    slot.disk?.kill();
    const killed = slot.transport?.kill();
    slot.storage.crash();
    slot.broker = null;
    await killed;
    await this.settle(broker.close().catch(() => undefined), 60_000, `the dead incarnation of broker ${id} to wind down`);
  }

  /** Start a new incarnation of broker `id` on the same disk, dir and port. */
  async restartBroker(id: number): Promise<Broker> {
    const slot = this.#slots.get(id);
    if (slot === undefined) throw new Error(`broker ${id} was never started`);
    if (slot.broker !== null) throw new Error(`broker ${id} is running`);
    return await this.#launch(slot);
  }

  /** Broker `id`'s replica of `topic`-`partition`, or undefined if it does not host one (yet). */
  partitionOn(id: number, topic: string, partition = 0): Partition | undefined {
    return this.broker(id).controlled?.replicas.hosted.find((p) => p.topic === topic && p.partition === partition);
  }

  /** Like `partitionOn`, but the replica must be there. */
  replica(id: number, topic: string, partition = 0): Partition {
    const p = this.partitionOn(id, topic, partition);
    if (p === undefined) throw new Error(`broker ${id} hosts no replica of ${topic}-${partition}`);
    return p;
  }

  /** The controller's state of a partition. */
  state(topic: string, partition = 0): { leader: number; leaderEpoch: number; isr: readonly number[]; replicas: readonly number[]; partitionEpoch: number } {
    const s = this.controller.image.partition(topic, partition);
    if (s === undefined) throw new Error(`the controller has no ${topic}-${partition}`);
    return s;
  }

  /** Every record of a replica's log, with the epoch of its batch. */
  async logOf(id: number, topic: string, partition = 0): Promise<LoggedRecord[]> {
    const p = this.replica(id, topic, partition);
    const out: LoggedRecord[] = [];
    if (p.logEndOffset === p.logStartOffset) return out;
    for (const batch of await p.log.read(p.logStartOffset, 1 << 30)) {
      const epoch = readBatchHeader(batch).partitionLeaderEpoch;
      for (const r of decodeBatch(batch).records) out.push({ offset: r.offset, value: r.value?.toString() ?? null, epoch });
    }
    return out;
  }

  /** `partition.log.readRecords` of a replica, as (offset, value) pairs. */
  async recordsOf(id: number, topic: string, partition = 0): Promise<[number, string | null][]> {
    const p = this.replica(id, topic, partition);
    if (p.logEndOffset === p.logStartOffset) return [];
    return (await p.log.readRecords(p.logStartOffset, 1 << 30)).map((r) => [r.offset, r.value?.toString() ?? null]);
  }

  /**
   * The controller's metadata log from `from` on, read as a broker reads it (Fetch of
   * `__cluster_metadata`-0), each record with its offset: the exact sequence of decisions.
   */
  async metadataLog(from = 0): Promise<(MetadataRecord & { offset: number })[]> {
    const conn = await this.settle(Connection.connect({ host: HOST, port: this.controller.port, clock: this.clock, transport: this.net.node('inspector'), clientId: 'inspector' }), 5_000, 'inspector connect');
    const out: (MetadataRecord & { offset: number })[] = [];
    try {
      for (let next = from; ; ) {
        const req = { replicaId: -1, maxWaitMs: 0, maxBytes: 1 << 20, topics: [{ topic: METADATA_TOPIC, partitions: [{ partition: 0, offset: next, maxBytes: 1 << 20 }] }] };
        const res = await this.settle(conn.request(Fetch, req), 5_000, 'metadata fetch');
        const records = res.topics[0]?.partitions[0]?.records ?? [];
        const before = next;
        for (const chunk of records) {
          for (const batch of splitBatches(chunk)) {
            for (const r of decodeBatch(batch).records) {
              if (r.offset < next) continue;
              out.push({ ...decodeMetadataRecord(r), offset: r.offset });
              next = r.offset + 1;
            }
          }
        }
        if (next === before) break;
      }
    } finally {
      await this.settle(conn.close(), 5_000, 'inspector close');
    }
    return out;
  }

  // ---- topics and clients ----

  /**
   * Create a topic of one partition through broker `via` (it forwards CreateTopics to the
   * controller), then wait until every replica has taken its role: the leader leads, the
   * followers follow it.
   */
  async createTopic(name: string, opts: { replicationFactor: number; minInsync: number; via: number }): Promise<void> {
    const admin = new Admin({ bootstrapServers: [this.address(opts.via)], clock: this.clock, transport: this.net.node('admin'), retries: 0 });
    await this.settle(admin.connect(), 5_000, 'admin connect');
    try {
      await this.settle(
        admin.createTopic({ topic: name, numPartitions: 1, configEntries: [{ name: 'replication.factor', value: String(opts.replicationFactor) }, { name: 'min.insync.replicas', value: String(opts.minInsync) }] }),
        15_000,
        `create topic ${name}`,
      );
    } finally {
      await this.settle(admin.disconnect(), 5_000, 'admin disconnect');
    }
    await this.advanceUntil(() => this.rolesSettled(name), 5_000, `every replica of ${name}-0 has its role`);
  }

  /** Every running replica has the role the controller's state gives it, in its epoch. */
  rolesSettled(topic: string, partition = 0): boolean {
    const s = this.controller.image.partition(topic, partition);
    if (s === undefined) return false;
    for (const id of s.replicas) {
      if (!this.isRunning(id)) continue;
      const p = this.partitionOn(id, topic, partition);
      if (p === undefined || p.leaderEpoch !== s.leaderEpoch) return false;
      if (id === s.leader ? p.role !== 'leader' : p.followedLeaderId !== s.leader) return false;
    }
    return true;
  }

  producer(opts: Partial<ProducerOptions> & { bootstrap: readonly number[] }): Producer {
    const { bootstrap, ...rest } = opts;
    const p = new Producer({
      bootstrapServers: bootstrap.map((id) => this.address(id)),
      clock: this.clock,
      transport: this.net.node('producer'),
      random: seededRandom(3),
      clientId: `producer-${++this.#clientSeq}`,
      ...rest,
    });
    this.#cleanups.push(() => p.disconnect());
    return p;
  }

  consumer(opts: Partial<ConsumerOptions> & { bootstrap: readonly number[]; topic: string }): Consumer {
    const { bootstrap, ...rest } = opts;
    const c = new Consumer({
      bootstrapServers: bootstrap.map((id) => this.address(id)),
      clock: this.clock,
      transport: this.net.node('consumer'),
      clientId: `consumer-${++this.#clientSeq}`,
      partition: 0,
      fromOffset: 0,
      maxWaitMs: 0,
      ...rest,
    });
    this.#cleanups.push(() => c.disconnect());
    return c;
  }

  /** Read every committed record of `topic`-0 from offset 0 with a fresh consumer bootstrapped at `bootstrap`. */
  async consumeAll(topic: string, bootstrap: readonly number[]): Promise<[number, string | null][]> {
    const consumer = this.consumer({ bootstrap, topic, retries: 10, retryBackoffMs: 50 });
    await this.settle(consumer.connect(), 5_000, 'consumer connect');
    const out: [number, string | null][] = [];
    for (let round = 0; round < 100; round++) {
      const records = await this.settle(consumer.poll(), 10_000, 'consumer poll');
      for (const r of records) out.push([r.offset, r.value?.toString() ?? null]);
      if (consumer.caughtUp) break;
    }
    await this.settle(consumer.disconnect(), 5_000, 'consumer disconnect');
    return out;
  }

  /** Close every client, broker and the controller (each given virtual time to finish). */
  async close(): Promise<void> {
    this.net.healAll();
    const errors: unknown[] = [];
    const attempt = async (what: string, p: () => Promise<unknown>): Promise<void> => {
      try {
        await this.settle(p(), 120_000, what);
      } catch (err) {
        errors.push(err);
      }
    };
    for (const c of this.#cleanups.splice(0).reverse()) await attempt('client cleanup', c);
    for (const slot of this.#slots.values()) {
      const b = slot.broker;
      slot.broker = null;
      if (b !== null) await attempt(`close broker ${slot.id}`, () => b.close());
    }
    if (this.#controller !== null) await attempt('close controller', () => this.controller.close());
    if (errors.length > 0) throw new AggregateError(errors, `cluster cleanup failed:\n${errors.map((e) => (e instanceof Error ? e.message : String(e))).join('\n')}`);
  }
}

/** The node name of broker `id` in the network (partitions are by node name). */
export function brokerNode(id: number): string {
  return `b${id}`;
}
