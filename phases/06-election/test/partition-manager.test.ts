/**
 * The partition manager: one log per partition in `<dir>/<topic>-<partition>/`, per-topic
 * segment size and retention, partitions isolated from each other, everything reopened
 * from the registry after a restart or a crash, and a bad name that creates nothing.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { tempDir, type TempDir } from '../../../shared/src/testing.ts';
import { MemoryStorage } from '../src/seams/memory-storage.ts';
import { PartitionManager } from '../src/topics/partitions.ts';
import { FsStorage } from '../src/seams/storage.ts';
import { InvalidTopicError, TopicExistsError, UnknownTopicOrPartitionError } from '../src/topics/errors.ts';
import { REGISTRY_FILE } from '../src/topics/registry.ts';

const value = (s: string): { value: Buffer } => ({ value: Buffer.from(s) });

describe('PartitionManager', () => {
  let dir: TempDir | undefined;
  afterEach(() => {
    dir?.remove();
    dir = undefined;
  });

  it('gives each partition its own log directory named <topic>-<partition>', async () => {
    dir = tempDir('pm-');
    const pm = await PartitionManager.open(new FsStorage(), dir.path);
    try {
      await pm.createTopic({ name: 'orders', partitions: 3 });
      await pm.createTopic({ name: 'a.b_c-d', partitions: 1 });
      const fs = new FsStorage();
      expect(await fs.list(dir.path)).toEqual(['a.b_c-d-0', 'orders-0', 'orders-1', 'orders-2', REGISTRY_FILE]);
      await pm.log('orders', 2).append([value('x')]);
      expect((await fs.list(`${dir.path}/orders-2`)).some((n) => n.endsWith('.log'))).toBe(true);
      expect(pm.topics().map((t) => [t.name, t.partitions, t.internal])).toEqual([
        ['a.b_c-d', 1, false],
        ['orders', 3, false],
      ]);
    } finally {
      await pm.close();
    }
  });

  it('keeps partitions isolated: offsets, contents and end offsets are per partition', async () => {
    const pm = await PartitionManager.open(new MemoryStorage(), '/data');
    try {
      await pm.createTopic({ name: 't', partitions: 3 });
      await pm.createTopic({ name: 'u', partitions: 1 });
      expect(await pm.log('t', 0).append([value('a0'), value('a1')])).toEqual({ baseOffset: 0, lastOffset: 1 });
      expect(await pm.log('t', 1).append([value('b0')])).toEqual({ baseOffset: 0, lastOffset: 0 });
      expect(await pm.log('u', 0).append([value('c0')])).toEqual({ baseOffset: 0, lastOffset: 0 });
      expect(await pm.log('t', 0).append([value('a2')])).toEqual({ baseOffset: 2, lastOffset: 2 });
      expect([0, 1, 2].map((p) => pm.log('t', p).logEndOffset)).toEqual([3, 1, 0]);
      const read = async (t: string, p: number): Promise<string[]> =>
        (await pm.log(t, p).readRecords(0, 1 << 20)).map((r) => r.value?.toString() ?? '');
      expect(await read('t', 0)).toEqual(['a0', 'a1', 'a2']);
      expect(await read('t', 1)).toEqual(['b0']);
      expect(await read('t', 2)).toEqual([]);
      expect(await read('u', 0)).toEqual(['c0']);
    } finally {
      await pm.close();
    }
  });

  it('reopens every partition from the registry after a crash, with acknowledged records', async () => {
    const mem = new MemoryStorage();
    const pm = await PartitionManager.open(mem, '/data');
    await pm.createTopic({ name: 't', partitions: 2 });
    await pm.log('t', 1).append([value('kept')]);
    mem.crash({ tornBytes: 'random' });
    const again = await PartitionManager.open(mem, '/data');
    try {
      expect(again.topics().map((t) => t.name)).toEqual(['t']);
      expect(again.log('t', 0).logEndOffset).toBe(0);
      expect((await again.log('t', 1).readRecords(0, 1 << 20)).map((r) => r.value?.toString())).toEqual(['kept']);
    } finally {
      await again.close();
    }
  });

  it('opens missing partition directories of a registered topic (crash between commit and mkdir)', async () => {
    const mem = new MemoryStorage();
    const pm = await PartitionManager.open(mem, '/data');
    await pm.createTopic({ name: 't', partitions: 2 });
    await pm.close();
    // Simulate the crash window: the registry commit is durable, the directories are not.
    await mem.remove('/data/t-0');
    await mem.remove('/data/t-1');
    await mem.syncDir('/data');
    const again = await PartitionManager.open(mem, '/data');
    try {
      expect(await mem.exists('/data/t-1')).toBe(true);
      expect(await again.log('t', 1).append([value('x')])).toEqual({ baseOffset: 0, lastOffset: 0 });
    } finally {
      await again.close();
    }
  });

  it('applies per-topic segment bytes and retention bytes, and the broker default elsewhere', async () => {
    const pm = await PartitionManager.open(new MemoryStorage(), '/data', { log: { segmentBytesMax: 1 << 20 } });
    try {
      await pm.createTopic({ name: 'small', partitions: 1, segmentBytesMax: 1024, retentionBytesMax: 4096 });
      await pm.createTopic({ name: 'big', partitions: 1 });
      const payload = 'x'.repeat(200);
      for (let i = 0; i < 100; i++) {
        await pm.log('small', 0).append([value(payload)]);
        await pm.log('big', 0).append([value(payload)]);
      }
      expect(pm.log('small', 0).segments().length).toBeGreaterThan(5);
      expect(pm.log('big', 0).segments()).toHaveLength(1);
      await pm.log('small', 0).applyRetention();
      expect(pm.log('small', 0).logStartOffset).toBeGreaterThan(0);
      expect(pm.logConfig({ name: 'small', partitions: 1, segmentBytesMax: 1024 }).segmentBytesMax).toBe(1024);
    } finally {
      await pm.close();
    }
  });

  it('rejects a bad name with a typed error and creates nothing on disk', async () => {
    dir = tempDir('pm-');
    const root = dir.path;
    const pm = await PartitionManager.open(new FsStorage(), `${root}/data`);
    try {
      const before = await new FsStorage().list(root);
      for (const name of ['../x', '..', '.', 'a/b', '', 'x'.repeat(250), 'ü', '__internal']) {
        await expect(pm.createTopic({ name, partitions: 1 })).rejects.toThrow(InvalidTopicError);
        expect(() => pm.log(name, 0)).toThrow(name.startsWith('__') ? UnknownTopicOrPartitionError : InvalidTopicError);
      }
      expect(await new FsStorage().list(root)).toEqual(before);
      expect(await new FsStorage().list(`${root}/data`)).toEqual([]);
    } finally {
      await pm.close();
    }
  });

  it('reports unknown topics and partitions, and duplicate creates, with typed errors', async () => {
    const pm = await PartitionManager.open(new MemoryStorage(), '/data');
    try {
      await pm.createTopic({ name: 't', partitions: 2 });
      expect(() => pm.log('nope', 0)).toThrow(UnknownTopicOrPartitionError);
      expect(() => pm.log('t', 2)).toThrow(UnknownTopicOrPartitionError);
      expect(() => pm.log('t', -1)).toThrow(UnknownTopicOrPartitionError);
      await expect(pm.createTopic({ name: 't', partitions: 5 })).rejects.toThrow(TopicExistsError);
      expect(pm.topic('t')?.partitions).toBe(2);
    } finally {
      await pm.close();
    }
  });

  it('lets the broker create internal topics', async () => {
    const pm = await PartitionManager.open(new MemoryStorage(), '/data');
    try {
      await pm.createTopic({ name: '__consumer_offsets', partitions: 2 }, { internal: true });
      expect(pm.topics()).toEqual([{ name: '__consumer_offsets', partitions: 2, internal: true }]);
    } finally {
      await pm.close();
    }
  });
});
