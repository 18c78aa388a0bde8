import { describe, expect, it } from 'vitest';
import { decodeOffsetsRecord, encodeOffsetsRecord, CorruptOffsetsError, type OffsetsRecord } from '../src/groups/offsets-records.ts';
import { OffsetsStore, resolveOffsetsStoreConfig, type OffsetToCommit } from '../src/groups/offsets-store.ts';
import { InvalidConfigError } from '../src/log/errors.ts';
import { MemoryStorage } from '../src/seams/memory-storage.ts';
import type { Storage, StorageFile } from '../src/seams/storage.ts';

const DIR = '/data/__consumer_offsets';

const at = (topic: string, partition: number, offset: number): OffsetToCommit => ({ topic, partition, offset, metadata: '' });

/** Every committed offset of every group, as a plain object, for comparisons. */
function snapshot(store: OffsetsStore): Record<string, number> {
  const out: Record<string, number> = {};
  for (const g of store.groups()) {
    for (const o of store.offsets(g)) out[`${g}/${o.topic}/${o.partition}`] = o.offset;
    out[`${g}/generation`] = store.generation(g);
  }
  return out;
}

/**
 * A Storage that pulls the power cord on its `crashAt`-th mutating call: the inner
 * MemoryStorage crashes (losing whatever was not synced) and the call fails, as does
 * every later one, like a process that died mid-operation.
 */
class PowerCut implements Storage {
  ops = 0;
  crashAt = Number.POSITIVE_INFINITY;
  constructor(readonly inner: MemoryStorage) {}
  #step(): void {
    if (this.ops >= this.crashAt) throw new Error('process is dead');
    this.ops += 1;
    if (this.ops === this.crashAt) {
      this.inner.crash();
      throw new Error('power cut');
    }
  }
  async openFile(path: string, opts?: { create?: boolean }): Promise<StorageFile> {
    this.#step();
    const file = await this.inner.openFile(path, opts);
    const step = (): void => this.#step();
    return {
      path: file.path,
      size: () => file.size(),
      read: (position, length) => file.read(position, length),
      append: async (data) => (step(), file.append(data)),
      sync: async () => (step(), file.sync()),
      truncate: async (length) => (step(), file.truncate(length)),
      close: () => file.close(),
    };
  }
  readFile = (path: string) => this.inner.readFile(path);
  list = (dir: string) => this.inner.list(dir);
  exists = (path: string) => this.inner.exists(path);
  mkdir = async (dir: string) => (this.#step(), this.inner.mkdir(dir));
  remove = async (path: string) => (this.#step(), this.inner.remove(path));
  rename = async (from: string, to: string) => (this.#step(), this.inner.rename(from, to));
  syncDir = async (dir: string) => (this.#step(), this.inner.syncDir(dir));
}

describe('offsets records', () => {
  it('round-trip both kinds and tombstones', () => {
    const records: OffsetsRecord[] = [
      { kind: 'offset', groupId: 'g', topic: 't', partition: 7, value: { offset: 2 ** 40, metadata: 'héllo', commitTimestampMs: 1234 } },
      { kind: 'offset', groupId: 'g', topic: 't', partition: 7, value: null },
      { kind: 'group', groupId: 'g', value: { generation: 9 } },
      { kind: 'group', groupId: 'g', value: null },
    ];
    for (const r of records) {
      const { key, value } = encodeOffsetsRecord(r);
      expect(decodeOffsetsRecord(key, value)).toEqual(r);
    }
  });

  it('lay out an offset key exactly as documented', () => {
    const { key, value } = encodeOffsetsRecord({ kind: 'offset', groupId: 'g', topic: 't', partition: 1, value: { offset: 5, metadata: '', commitTimestampMs: 0 } });
    expect(key.toString('hex')).toBe('0001' + '000167' + '000174' + '00000001');
    expect(value?.toString('hex')).toBe('0000' + '0000000000000005' + '0000' + '0000000000000000');
  });

  it('refuse garbage with a typed error', () => {
    expect(() => decodeOffsetsRecord(null, null)).toThrow(CorruptOffsetsError);
    expect(() => decodeOffsetsRecord(Buffer.from([0, 9]), null)).toThrow(CorruptOffsetsError);
    expect(() => decodeOffsetsRecord(Buffer.from([0, 1, 0, 5, 0x61]), null)).toThrow(CorruptOffsetsError);
    const { key } = encodeOffsetsRecord({ kind: 'group', groupId: 'g', value: null });
    expect(() => decodeOffsetsRecord(key, Buffer.from([0, 1, 0, 0, 0, 1]))).toThrow(CorruptOffsetsError);
  });
});

describe('offsets store', () => {
  it('replays commits and generations on open, latest value winning', async () => {
    const storage = new MemoryStorage();
    const store = await OffsetsStore.open(storage, DIR);
    await store.commit('g', [at('t', 0, 1), at('t', 1, 5)], 100);
    await store.commit('g', [at('t', 0, 3)], 200);
    await store.commit('h', [at('u', 0, 9)], 300);
    await store.recordGeneration('g', 4, 300);
    await store.close();
    const again = await OffsetsStore.open(storage, DIR);
    expect(snapshot(again)).toEqual({ 'g/t/0': 3, 'g/t/1': 5, 'g/generation': 4, 'h/u/0': 9, 'h/generation': 0 });
    expect(again.committed('g', 't', 0)).toEqual({ offset: 3, metadata: '', commitTimestampMs: 200 });
    expect(again.stats()).toMatchObject({ logRecords: 5, liveKeys: 4 });
    await again.close();
  });

  it('keeps every acknowledged commit across a crash, torn tail or not', async () => {
    for (const tornBytes of [0, 'random' as const]) {
      const storage = new MemoryStorage();
      const store = await OffsetsStore.open(storage, DIR);
      for (let i = 1; i <= 50; i++) await store.commit('g', [at('t', i % 3, i)], i);
      const acked = snapshot(store);
      storage.crash({ tornBytes });
      const again = await OffsetsStore.open(storage, DIR);
      expect(snapshot(again)).toEqual(acked);
      await again.close();
    }
  });

  it('compacts so that a restart replays a number of records bounded by the live keys', async () => {
    const storage = new MemoryStorage();
    const store = await OffsetsStore.open(storage, DIR, { compactRecordsMin: 100, compactRatio: 2 });
    for (let i = 1; i <= 3000; i++) await store.commit('g', [at('t', i % 5, i)], i);
    const stats = store.stats();
    expect(stats.compactions).toBeGreaterThan(20);
    expect(stats.logRecords).toBeLessThanOrEqual(100);
    const acked = snapshot(store);
    await store.close();
    // The old logs are gone: only CURRENT and the live log remain.
    expect((await storage.list(DIR)).sort()).toEqual(['CURRENT', stats.activeLog]);
    const again = await OffsetsStore.open(storage, DIR);
    expect(snapshot(again)).toEqual(acked);
    expect(again.stats().logRecords).toBe(stats.logRecords);
    await again.close();
  });

  it('survives a crash at every step of a compaction with exactly the acknowledged offsets', async () => {
    let completed = false;
    let steps = 0;
    for (let step = 1; !completed; step++) {
      steps = step;
      const memory = new MemoryStorage();
      const storage = new PowerCut(memory);
      const store = await OffsetsStore.open(storage, DIR, { compactRecordsMin: 1_000_000, compactBatchRecordsMax: 3 });
      for (let i = 1; i <= 20; i++) await store.commit('g', [at('t', i % 7, i)], i);
      await store.recordGeneration('g', 3, 21);
      await store.commit('g', [at('t', 0, 1000)], 22); // the latest value must win after the rewrite
      const acked = snapshot(store);
      storage.crashAt = storage.ops + step;
      try {
        await store.compact(23);
        completed = true;
        memory.crash(); // also check the finished compaction is durable
      } catch {
        // crashed part-way: fine, that is the point
      }
      const again = await OffsetsStore.open(memory, DIR);
      expect(snapshot(again), `crash at step ${step} of the compaction`).toEqual(acked);
      expect((await memory.list(DIR)).filter((n) => n.startsWith('log-'))).toHaveLength(1);
      await again.close();
      expect(step).toBeLessThan(500);
    }
    // Building the new log, switching CURRENT, removing the old log: many steps to cut.
    expect(steps).toBeGreaterThan(10);
  });

  it('refuses further writes after a failed fsync instead of pretending', async () => {
    const memory = new MemoryStorage();
    const storage = new PowerCut(memory);
    const store = await OffsetsStore.open(storage, DIR);
    await store.commit('g', [at('t', 0, 1)], 1);
    storage.crashAt = storage.ops + 2; // the append succeeds, its fsync fails
    await expect(store.commit('g', [at('t', 0, 2)], 2)).rejects.toThrow();
    expect(store.committed('g', 't', 0)?.offset).toBe(1);
    storage.crashAt = Number.POSITIVE_INFINITY;
    await expect(store.commit('g', [at('t', 0, 3)], 3)).rejects.toThrow(/failed earlier/);
    const again = await OffsetsStore.open(memory, DIR);
    expect(again.committed('g', 't', 0)?.offset).toBe(1);
    await again.close();
  });

  it('takes compaction settings at their bounds and refuses one past, before touching the disk', async () => {
    expect(resolveOffsetsStoreConfig({ compactRecordsMin: 1, compactRatio: 1, compactBatchRecordsMax: 1 })).toMatchObject({ compactRecordsMin: 1, compactRatio: 1, compactBatchRecordsMax: 1 });
    for (const bad of [{ compactRecordsMin: 0 }, { compactRatio: 0.99 }, { compactRatio: Number.NaN }, { compactBatchRecordsMax: 0 }]) {
      expect(() => resolveOffsetsStoreConfig(bad), JSON.stringify(bad)).toThrow(InvalidConfigError);
    }
    // A batch size of 0 would otherwise make the first compaction loop forever.
    await expect(OffsetsStore.open(new MemoryStorage(), DIR, { compactBatchRecordsMax: 0 })).rejects.toThrow(InvalidConfigError);
  });

  it('refuses to start on a CURRENT file that names no log', async () => {
    const storage = new MemoryStorage();
    await storage.mkdir(DIR);
    const f = await storage.openFile(`${DIR}/CURRENT`, { create: true });
    await f.append(Buffer.from('../../etc'));
    await f.close();
    await expect(OffsetsStore.open(storage, DIR)).rejects.toThrow(CorruptOffsetsError);
  });
});
