/**
 * The Storage seam: FsStorage and MemoryStorage pass the same behaviour suite, so
 * a test that runs the log on MemoryStorage says something about the real disk;
 * then MemoryStorage's crash model, which the recovery tests rely on.
 */
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { tempDir, type TempDir } from '../../../shared/src/testing.ts';
import { StorageError } from '../src/log/errors.ts';
import { MemoryStorage } from '../src/seams/memory-storage.ts';
import { FsStorage, mkdirDurable, type Storage } from '../src/seams/storage.ts';

const b = (s: string): Buffer => Buffer.from(s);

interface Fixture {
  storage: Storage;
  root: string;
  cleanup(): void;
}

const storages: [string, () => Fixture][] = [
  [
    'FsStorage',
    () => {
      const dir: TempDir = tempDir('storage-');
      return { storage: new FsStorage(), root: dir.path, cleanup: () => dir.remove() };
    },
  ],
  ['MemoryStorage', () => ({ storage: new MemoryStorage(), root: '/mem', cleanup: () => undefined })],
];

describe.each(storages)('%s', (_name, makeFixture) => {
  let fx: Fixture;
  let root: string;
  let storage: Storage;
  beforeEach(async () => {
    fx = makeFixture();
    ({ storage, root } = fx);
    await storage.mkdir(root);
  });
  afterEach(() => fx.cleanup());

  it('refuses to open a missing file unless asked to create it', async () => {
    await expect(storage.openFile(join(root, 'nope'))).rejects.toBeInstanceOf(StorageError);
    const f = await storage.openFile(join(root, 'nope'), { create: true });
    expect(f.size()).toBe(0);
    await f.close();
    expect(await storage.exists(join(root, 'nope'))).toBe(true);
  });

  it('appends at the end and reads at any position, short at the end of the file', async () => {
    const f = await storage.openFile(join(root, 'a'), { create: true });
    await f.append(b('hello '));
    await f.append([b('wor'), b('ld')]);
    expect(f.size()).toBe(11);
    expect((await f.read(0, 11)).toString()).toBe('hello world');
    expect((await f.read(6, 3)).toString()).toBe('wor');
    expect((await f.read(8, 100)).toString()).toBe('rld');
    expect((await f.read(11, 5)).length).toBe(0);
    expect((await f.read(50, 5)).length).toBe(0);
    await f.sync();
    await f.close();
    const again = await storage.openFile(join(root, 'a'));
    expect(again.size()).toBe(11);
    await again.close();
  });

  it('truncates, and appends continue from the new end', async () => {
    const f = await storage.openFile(join(root, 't'), { create: true });
    await f.append(b('abcdef'));
    await f.sync();
    await f.truncate(2);
    expect(f.size()).toBe(2);
    await f.append(b('XY'));
    expect((await f.read(0, 10)).toString()).toBe('abXY');
    await f.close();
    expect((await storage.readFile(join(root, 't')))?.toString()).toBe('abXY');
  });

  it('reads a whole file, or null when it is missing', async () => {
    expect(await storage.readFile(join(root, 'missing'))).toBeNull();
    const f = await storage.openFile(join(root, 'r'), { create: true });
    await f.append(b('content'));
    await f.close();
    expect((await storage.readFile(join(root, 'r')))?.toString()).toBe('content');
  });

  it('lists names sorted, and [] for a missing directory', async () => {
    for (const name of ['c', 'a', 'b']) await (await storage.openFile(join(root, name), { create: true })).close();
    await storage.mkdir(join(root, 'sub'));
    expect(await storage.list(root)).toEqual(['a', 'b', 'c', 'sub']);
    expect(await storage.list(join(root, 'missing'))).toEqual([]);
  });

  it('creates directories recursively and idempotently', async () => {
    await storage.mkdir(join(root, 'x', 'y', 'z'));
    await storage.mkdir(join(root, 'x', 'y', 'z'));
    expect(await storage.exists(join(root, 'x', 'y', 'z'))).toBe(true);
    await expect(storage.openFile(join(root, 'q', 'file'), { create: true })).rejects.toBeInstanceOf(StorageError);
  });

  it('removes files and directory trees, quietly when missing', async () => {
    await storage.mkdir(join(root, 'd', 'e'));
    await (await storage.openFile(join(root, 'd', 'e', 'f'), { create: true })).close();
    await (await storage.openFile(join(root, 'g'), { create: true })).close();
    await storage.remove(join(root, 'g'));
    await storage.remove(join(root, 'd'));
    await storage.remove(join(root, 'never-existed'));
    expect(await storage.list(root)).toEqual([]);
  });

  it('keeps a removed file readable through a handle opened before', async () => {
    const f = await storage.openFile(join(root, 'h'), { create: true });
    await f.append(b('still here'));
    await storage.remove(join(root, 'h'));
    expect(await storage.exists(join(root, 'h'))).toBe(false);
    expect((await f.read(0, 100)).toString()).toBe('still here');
    await f.close();
  });

  it('renames, replacing the target', async () => {
    const f = await storage.openFile(join(root, 'from'), { create: true });
    await f.append(b('new'));
    await f.close();
    const g = await storage.openFile(join(root, 'to'), { create: true });
    await g.append(b('old'));
    await g.close();
    await storage.rename(join(root, 'from'), join(root, 'to'));
    expect(await storage.list(root)).toEqual(['to']);
    expect((await storage.readFile(join(root, 'to')))?.toString()).toBe('new');
  });

  it('syncs a directory, and refuses a missing one', async () => {
    await storage.syncDir(root);
    await expect(storage.syncDir(join(root, 'missing'))).rejects.toBeInstanceOf(StorageError);
  });

  it('rejects calls on a closed handle', async () => {
    const f = await storage.openFile(join(root, 'c'), { create: true });
    await f.close();
    await expect(f.read(0, 1)).rejects.toBeInstanceOf(StorageError);
    await expect(f.append(b('x'))).rejects.toBeInstanceOf(StorageError);
    await expect(f.sync()).rejects.toBeInstanceOf(StorageError);
  });

  it('mkdirDurable creates nested directories', async () => {
    await mkdirDurable(storage, join(root, 'p', 'q'));
    await mkdirDurable(storage, join(root, 'p', 'q'));
    expect(await storage.exists(join(root, 'p', 'q'))).toBe(true);
  });
});

describe('MemoryStorage crash model', () => {
  /** A storage with a durable directory /d holding a durable, empty file /d/f. */
  async function setup(): Promise<MemoryStorage> {
    const storage = new MemoryStorage();
    await mkdirDurable(storage, '/d');
    await (await storage.openFile('/d/f', { create: true })).close();
    await storage.syncDir('/d');
    return storage;
  }

  it('keeps exactly the synced bytes of a file', async () => {
    const storage = await setup();
    const f = await storage.openFile('/d/f');
    await f.append(b('durable'));
    await f.sync();
    await f.append(b('-lost'));
    storage.crash();
    expect((await storage.readFile('/d/f'))?.toString()).toBe('durable');
  });

  it('can leave a torn prefix of the unsynced tail', async () => {
    const storage = await setup();
    const f = await storage.openFile('/d/f');
    await f.append(b('durable'));
    await f.sync();
    await f.append(b('0123456789'));
    storage.crash({ tornBytes: 4 });
    expect((await storage.readFile('/d/f'))?.toString()).toBe('durable0123');
  });

  it('draws random tears from the given source, within the unsynced tail', async () => {
    for (const draw of [0, 0.5, 0.999]) {
      const storage = await setup();
      const f = await storage.openFile('/d/f');
      await f.append(b('0123456789'));
      storage.crash({ tornBytes: 'random', random: () => draw });
      expect((await storage.readFile('/d/f'))?.length).toBe(Math.floor(draw * 11));
    }
  });

  it('undoes an unsynced truncate', async () => {
    const storage = await setup();
    const f = await storage.openFile('/d/f');
    await f.append(b('abcdef'));
    await f.sync();
    await f.truncate(2);
    await f.append(b('XY'));
    storage.crash({ tornBytes: 2 });
    expect((await storage.readFile('/d/f'))?.toString()).toBe('abcdef');
  });

  it('loses a synced file whose directory entry was never synced', async () => {
    const storage = await setup();
    const f = await storage.openFile('/d/new', { create: true });
    await f.append(b('data'));
    await f.sync();
    storage.crash();
    expect(await storage.exists('/d/new')).toBe(false);
  });

  it('keeps a new file once its directory is synced', async () => {
    const storage = await setup();
    const f = await storage.openFile('/d/new', { create: true });
    await f.append(b('data'));
    await f.sync();
    await storage.syncDir('/d');
    storage.crash();
    expect((await storage.readFile('/d/new'))?.toString()).toBe('data');
  });

  it('brings back a file whose removal was not synced, and undoes an unsynced rename', async () => {
    const storage = await setup();
    const f = await storage.openFile('/d/f');
    await f.append(b('x'));
    await f.sync();
    await storage.remove('/d/f');
    storage.crash();
    expect((await storage.readFile('/d/f'))?.toString()).toBe('x');
    await storage.rename('/d/f', '/d/g');
    storage.crash();
    expect(await storage.list('/d')).toEqual(['f']);
    await storage.rename('/d/f', '/d/g');
    await storage.syncDir('/d');
    storage.crash();
    expect(await storage.list('/d')).toEqual(['g']);
  });

  it('loses a directory that was created without syncing its parent', async () => {
    const storage = await setup();
    await storage.mkdir('/d/sub');
    await storage.syncDir('/d/sub');
    storage.crash();
    expect(await storage.exists('/d/sub')).toBe(false);
    await mkdirDurable(storage, '/d/sub/deeper');
    storage.crash();
    expect(await storage.exists('/d/sub/deeper')).toBe(true);
  });

  it('invalidates every handle opened before the crash', async () => {
    const storage = await setup();
    const f = await storage.openFile('/d/f');
    storage.crash();
    expect(() => f.size()).toThrow(StorageError);
    await expect(f.read(0, 1)).rejects.toBeInstanceOf(StorageError);
    await expect(f.append(b('x'))).rejects.toBeInstanceOf(StorageError);
    await expect(f.sync()).rejects.toBeInstanceOf(StorageError);
    const fresh = await storage.openFile('/d/f');
    expect(fresh.size()).toBe(0);
  });
});
