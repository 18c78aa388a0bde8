/**
 * The topic registry: its file format (round trip, every corruption detected), its
 * validation (each typed error), persistence across restarts, serialised concurrent
 * creates, and the point of the atomic update: a crash before or after *every* storage
 * operation of an update leaves the old registry or the new one, never a broken one,
 * and an acknowledged create always survives.
 */
import { crc32c } from '@node-rs/crc32';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { propertySeed } from '../../../shared/src/testing.ts';
import { InvalidConfigError, StorageError } from '../src/log/errors.ts';
import { MemoryStorage } from '../src/seams/memory-storage.ts';
import type { Storage, StorageFile } from '../src/seams/storage.ts';
import {
  CorruptRegistryError,
  InvalidPartitionsError,
  InvalidTopicError,
  TopicExistsError,
  TopicLimitError,
} from '../src/topics/errors.ts';
import {
  DEFAULT_REGISTRY_LIMITS,
  REGISTRY_FILE,
  REGISTRY_TEMP_FILE,
  TopicRegistry,
  decodeRegistry,
  encodeRegistry,
  resolveRegistryLimits,
  validateTopicSpec,
  type TopicSpec,
} from '../src/topics/registry.ts';

const DIR = '/data';

/**
 * Wrap `mem` so that storage operation number `crashAt` (0-based, counting every call
 * that changes something: open, append, sync, truncate, close, mkdir, remove, rename,
 * syncDir) crashes the disk — `before` the operation runs or right `after` it — and
 * rejects. Reads pass through uncounted.
 */
function crashingStorage(mem: MemoryStorage, crashAt: number, when: 'before' | 'after', tornBytes?: 'random', seed = 1) {
  let step = 0;
  let crashed = false;
  let rng = seed;
  const random = (): number => {
    rng = (rng * 1103515245 + 12345) % 2147483648;
    return rng / 2147483648;
  };
  const op = async <T>(run: () => Promise<T>): Promise<T> => {
    if (crashed) throw new StorageError('disk is gone');
    const mine = step++;
    if (mine === crashAt && when === 'before') {
      crashed = true;
      mem.crash(tornBytes === undefined ? {} : { tornBytes, random });
      throw new StorageError(`crash before step ${mine}`);
    }
    const result = await run();
    if (mine === crashAt && when === 'after') {
      crashed = true;
      mem.crash(tornBytes === undefined ? {} : { tornBytes, random });
      throw new StorageError(`crash after step ${mine}`);
    }
    return result;
  };
  const wrapFile = (f: StorageFile): StorageFile => ({
    path: f.path,
    size: () => f.size(),
    read: (p, n) => f.read(p, n),
    append: (d) => op(() => f.append(d)),
    sync: () => op(() => f.sync()),
    truncate: (n) => op(() => f.truncate(n)),
    close: () => op(() => f.close()),
  });
  const storage: Storage = {
    openFile: (p, o) => op(async () => wrapFile(await mem.openFile(p, o))),
    readFile: (p) => mem.readFile(p),
    list: (d) => mem.list(d),
    exists: (p) => mem.exists(p),
    mkdir: (d) => op(() => mem.mkdir(d)),
    remove: (p) => op(() => mem.remove(p)),
    rename: (a, b) => op(() => mem.rename(a, b)),
    syncDir: (d) => op(() => mem.syncDir(d)),
  };
  return { storage, crashed: () => crashed, steps: () => step };
}

const names = (r: TopicRegistry): string[] => r.list().map((t) => t.name);

async function registryWith(mem: MemoryStorage, specs: TopicSpec[]): Promise<void> {
  const r = await TopicRegistry.open(mem, DIR);
  for (const s of specs) await r.create(s);
}

describe('registry file format', () => {
  const topicArb = fc.record(
    {
      name: fc.stringMatching(/^[A-Za-z0-9._-]{1,40}$/).filter((n) => n !== '.' && n !== '..'),
      partitions: fc.integer({ min: 1, max: 1000 }),
      segmentBytesMax: fc.integer({ min: 128, max: 2 ** 31 - 1 }),
      retentionBytesMax: fc.integer({ min: -1, max: Number.MAX_SAFE_INTEGER }),
    },
    { requiredKeys: ['name', 'partitions'] },
  );
  const registryArb = fc.uniqueArray(topicArb, { selector: (t) => t.name, maxLength: 20 });

  it('round-trips any registry, sorted by name', () => {
    fc.assert(
      fc.property(registryArb, (topics) => {
        const decoded = decodeRegistry(encodeRegistry(topics), REGISTRY_FILE);
        const sorted = [...topics].sort((a, b) => (a.name < b.name ? -1 : 1));
        expect(decoded).toEqual(sorted);
        // Same registry, same bytes, whatever the input order.
        expect(encodeRegistry([...topics].reverse()).equals(encodeRegistry(topics))).toBe(true);
      }),
      { seed: propertySeed(), numRuns: 200 },
    );
  });

  it('detects every truncation and every single-bit flip', () => {
    const bytes = encodeRegistry([
      { name: 'orders', partitions: 3, segmentBytesMax: 4096 },
      { name: 'clicks', partitions: 12, retentionBytesMax: -1 },
    ]);
    for (let n = 0; n < bytes.length; n++) {
      expect(() => decodeRegistry(bytes.subarray(0, n), REGISTRY_FILE)).toThrow(CorruptRegistryError);
    }
    for (let i = 0; i < bytes.length; i++) {
      for (let bit = 0; bit < 8; bit++) {
        const copy = Buffer.from(bytes);
        copy[i] = (copy[i] ?? 0) ^ (1 << bit);
        expect(() => decodeRegistry(copy, REGISTRY_FILE)).toThrow(CorruptRegistryError);
      }
    }
  });

  it('rejects a well-framed body that breaks the rules (bad name, duplicates, bad counts)', () => {
    const frame = (body: string): Buffer => {
      const good = encodeRegistry([]);
      const b = Buffer.from(body, 'utf8');
      const header = Buffer.from(good.subarray(0, 14));
      header.writeUInt32BE(crc32c(b), 6);
      header.writeInt32BE(b.length, 10);
      return Buffer.concat([header, b]);
    };
    for (const body of [
      'not json',
      '{}',
      '{"topics":[1]}',
      '{"topics":[{"name":"../x","partitions":1}]}',
      '{"topics":[{"name":"a","partitions":0}]}',
      '{"topics":[{"name":"a","partitions":1.5}]}',
      '{"topics":[{"name":"a","partitions":1},{"name":"a","partitions":2}]}',
      '{"topics":[{"name":"a","partitions":1,"segmentBytesMax":"big"}]}',
    ]) {
      expect(() => decodeRegistry(frame(body), REGISTRY_FILE), body).toThrow(CorruptRegistryError);
    }
    expect(decodeRegistry(frame('{"topics":[{"name":"a","partitions":2}]}'), REGISTRY_FILE)).toEqual([{ name: 'a', partitions: 2 }]);
  });
});

describe('validateTopicSpec', () => {
  const limits = { topicsMax: 3, partitionsPerTopicMax: 10, partitionsTotalMax: 15 };
  const existing: TopicSpec[] = [{ name: 'a', partitions: 5 }];

  it('accepts a good spec', () => {
    expect(() => validateTopicSpec({ name: 'b', partitions: 10 }, existing, limits)).not.toThrow();
  });

  it.each<[TopicSpec, new (...args: never[]) => Error, RegExp]>([
    [{ name: '../x', partitions: 1 }, InvalidTopicError, /ASCII/],
    [{ name: '', partitions: 1 }, InvalidTopicError, /empty/],
    [{ name: '__internal', partitions: 1 }, InvalidTopicError, /reserved/],
    [{ name: 'a', partitions: 1 }, TopicExistsError, /already exists/],
    [{ name: 'b', partitions: 0 }, InvalidPartitionsError, /\[1, 10\]/],
    [{ name: 'b', partitions: -1 }, InvalidPartitionsError, /\[1, 10\]/],
    [{ name: 'b', partitions: 1.5 }, InvalidPartitionsError, /\[1, 10\]/],
    [{ name: 'b', partitions: 11 }, InvalidPartitionsError, /\[1, 10\]/],
    [{ name: 'b', partitions: 10, segmentBytesMax: 60 }, InvalidConfigError, /segmentBytesMax/],
    [{ name: 'b', partitions: 10, segmentBytesMax: 2 ** 31 }, InvalidConfigError, /segmentBytesMax/],
    [{ name: 'b', partitions: 10, retentionBytesMax: -2 }, InvalidConfigError, /retentionBytesMax/],
  ])('rejects %j', (spec, type, message) => {
    expect(() => validateTopicSpec(spec, existing, limits)).toThrow(type);
    expect(() => validateTopicSpec(spec, existing, limits)).toThrow(message);
  });

  it('enforces the broker-wide partition total at and past the bound', () => {
    expect(() => validateTopicSpec({ name: 'b', partitions: 10 }, existing, limits)).not.toThrow(); // 15 = limit
    const more: TopicSpec[] = [...existing, { name: 'b', partitions: 10 }];
    expect(() => validateTopicSpec({ name: 'c', partitions: 1 }, more, limits)).toThrow(InvalidPartitionsError);
  });

  it('enforces topicsMax at and past the bound', () => {
    const two: TopicSpec[] = [
      { name: 'a', partitions: 1 },
      { name: 'b', partitions: 1 },
    ];
    expect(() => validateTopicSpec({ name: 'c', partitions: 1 }, two, limits)).not.toThrow();
    const three: TopicSpec[] = [...two, { name: 'c', partitions: 1 }];
    expect(() => validateTopicSpec({ name: 'd', partitions: 1 }, three, limits)).toThrow(TopicLimitError);
  });

  it('lets the broker (not a client) create internal topics', () => {
    expect(() => validateTopicSpec({ name: '__consumer_offsets', partitions: 1 }, [], limits, { internal: true })).not.toThrow();
  });

  it('has sane defaults', () => {
    expect(DEFAULT_REGISTRY_LIMITS.partitionsTotalMax).toBeGreaterThan(0);
  });
});

describe('resolveRegistryLimits', () => {
  it('fills defaults, ignoring fields set to undefined (an unset option must not lift a limit)', () => {
    expect(resolveRegistryLimits()).toEqual(DEFAULT_REGISTRY_LIMITS);
    expect(resolveRegistryLimits({ topicsMax: undefined, partitionsPerTopicMax: 7 })).toEqual({ ...DEFAULT_REGISTRY_LIMITS, partitionsPerTopicMax: 7 });
    expect(resolveRegistryLimits({ topicsMax: 1, partitionsPerTopicMax: 1, partitionsTotalMax: 1 })).toEqual({ topicsMax: 1, partitionsPerTopicMax: 1, partitionsTotalMax: 1 });
  });

  it.each([0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY])('rejects %d for every limit', (bad) => {
    for (const name of ['topicsMax', 'partitionsPerTopicMax', 'partitionsTotalMax'] as const) {
      expect(() => resolveRegistryLimits({ [name]: bad })).toThrow(InvalidConfigError);
      expect(() => resolveRegistryLimits({ [name]: bad })).toThrow(new RegExp(`^${name} must be an integer >= 1`));
    }
  });

  it('TopicRegistry.open enforces the limits it is given, at and past each bound, and rejects bad ones before touching the disk', async () => {
    const mem = new MemoryStorage();
    await expect(TopicRegistry.open(mem, DIR, { topicsMax: 0 })).rejects.toThrow(InvalidConfigError);
    expect(await mem.exists(DIR)).toBe(false);
    const r = await TopicRegistry.open(mem, DIR, { topicsMax: 2, partitionsPerTopicMax: 3, partitionsTotalMax: undefined });
    expect(r.limits).toEqual({ topicsMax: 2, partitionsPerTopicMax: 3, partitionsTotalMax: DEFAULT_REGISTRY_LIMITS.partitionsTotalMax });
    await expect(r.create({ name: 'big', partitions: 4 })).rejects.toThrow(InvalidPartitionsError);
    await r.create({ name: 'a', partitions: 3 });
    await r.create({ name: 'b', partitions: 1 });
    await expect(r.create({ name: 'c', partitions: 1 })).rejects.toThrow(TopicLimitError);
    expect(names(r)).toEqual(['a', 'b']);
  });
});

describe('TopicRegistry', () => {
  it('starts empty, persists creates, and reloads them after a restart and a crash', async () => {
    const mem = new MemoryStorage();
    const r = await TopicRegistry.open(mem, DIR);
    expect(r.list()).toEqual([]);
    await r.create({ name: 'orders', partitions: 3, segmentBytesMax: 4096 });
    await r.create({ name: 'clicks', partitions: 1, retentionBytesMax: 1_000_000 });
    expect(names(r)).toEqual(['clicks', 'orders']);
    mem.crash();
    const again = await TopicRegistry.open(mem, DIR);
    expect(again.list()).toEqual([
      { name: 'clicks', partitions: 1, retentionBytesMax: 1_000_000 },
      { name: 'orders', partitions: 3, segmentBytesMax: 4096 },
    ]);
    expect(again.get('orders')?.partitions).toBe(3);
    expect(again.get('nope')).toBeUndefined();
  });

  it('a rejected create changes nothing, in memory or on disk', async () => {
    const mem = new MemoryStorage();
    await registryWith(mem, [{ name: 'a', partitions: 1 }]);
    const before = await mem.readFile(`${DIR}/${REGISTRY_FILE}`);
    const r = await TopicRegistry.open(mem, DIR);
    await expect(r.create({ name: 'a/b', partitions: 1 })).rejects.toThrow(InvalidTopicError);
    await expect(r.create({ name: 'a', partitions: 1 })).rejects.toThrow(TopicExistsError);
    await expect(r.create({ name: '__x', partitions: 1 })).rejects.toThrow(InvalidTopicError);
    expect(names(r)).toEqual(['a']);
    expect(await mem.list(DIR)).toEqual([REGISTRY_FILE]);
    expect((await mem.readFile(`${DIR}/${REGISTRY_FILE}`))?.equals(before ?? Buffer.alloc(0))).toBe(true);
  });

  it('serialises concurrent creates: none lost, a duplicate name wins exactly once', async () => {
    const mem = new MemoryStorage();
    const r = await TopicRegistry.open(mem, DIR);
    const distinct = Array.from({ length: 20 }, (_, i) => r.create({ name: `t${i}`, partitions: 1 }));
    const same = Array.from({ length: 5 }, () => r.create({ name: 'dup', partitions: 2 }));
    await Promise.all(distinct);
    const outcomes = await Promise.allSettled(same);
    expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(1);
    for (const o of outcomes) if (o.status === 'rejected') expect(o.reason).toBeInstanceOf(TopicExistsError);
    mem.crash();
    expect(names(await TopicRegistry.open(mem, DIR))).toHaveLength(21);
  });

  it('discards a temp file left by a crashed update', async () => {
    const mem = new MemoryStorage();
    await registryWith(mem, [{ name: 'a', partitions: 1 }]);
    const f = await mem.openFile(`${DIR}/${REGISTRY_TEMP_FILE}`, { create: true });
    await f.append(Buffer.from('half a registry'));
    await f.sync();
    await f.close();
    await mem.syncDir(DIR);
    const r = await TopicRegistry.open(mem, DIR);
    expect(names(r)).toEqual(['a']);
    expect(await mem.exists(`${DIR}/${REGISTRY_TEMP_FILE}`)).toBe(false);
  });

  it('refuses to start on a corrupt registry file', async () => {
    const mem = new MemoryStorage();
    await registryWith(mem, [{ name: 'a', partitions: 1 }]);
    const path = `${DIR}/${REGISTRY_FILE}`;
    const bytes = (await mem.readFile(path)) ?? Buffer.alloc(0);
    await mem.remove(path);
    const f = await mem.openFile(path, { create: true });
    bytes[bytes.length - 3] = (bytes[bytes.length - 3] ?? 0) ^ 0xff;
    await f.append(bytes);
    await f.close();
    await expect(TopicRegistry.open(mem, DIR)).rejects.toThrow(CorruptRegistryError);
  });

  it('after a storage error, refuses further creates until reopened', async () => {
    const mem = new MemoryStorage();
    await registryWith(mem, [{ name: 'a', partitions: 1 }]);
    const failing = crashingStorage(mem, 0, 'before');
    const r = await TopicRegistry.open(failing.storage, DIR);
    await expect(r.create({ name: 'b', partitions: 1 })).rejects.toThrow(StorageError);
    await expect(r.create({ name: 'c', partitions: 1 })).rejects.toThrow(/read-only after a failed update/);
    expect(names(r)).toEqual(['a']);
  });

  describe('a crash at any step of an update leaves the old or the new registry', () => {
    const old: TopicSpec[] = [{ name: 'a', partitions: 1 }];
    const added: TopicSpec = { name: 'b', partitions: 2, segmentBytesMax: 1024 };

    for (const when of ['before', 'after'] as const) {
      for (const torn of [undefined, 'random'] as const) {
        it(`crash ${when} each operation${torn === undefined ? '' : ', torn unsynced bytes'}`, async () => {
          const seen = new Set<string>();
          let stepsInUpdate = -1;
          for (let crashAt = 0; ; crashAt++) {
            const mem = new MemoryStorage();
            await registryWith(mem, old);
            const faulty = crashingStorage(mem, crashAt, when, torn, crashAt + 1);
            let acked = false;
            try {
              const r = await TopicRegistry.open(faulty.storage, DIR);
              await r.create(added);
              acked = true;
            } catch (e) {
              expect(e).toBeInstanceOf(StorageError);
            }
            if (!faulty.crashed()) {
              // Ran past the last operation: the update completed without a crash.
              expect(acked).toBe(true);
              stepsInUpdate = faulty.steps();
              break;
            }
            const after = await TopicRegistry.open(mem, DIR);
            const got = names(after).join(',');
            expect(['a', 'a,b']).toContain(got);
            if (acked) expect(got).toBe('a,b');
            if (got === 'a,b') expect(after.get('b')).toEqual(added);
            seen.add(got);
            // The survivor is a working registry: it takes the next update.
            await after.create({ name: 'c', partitions: 1 });
            mem.crash();
            expect(names(await TopicRegistry.open(mem, DIR))).toEqual(got === 'a' ? ['a', 'c'] : ['a', 'b', 'c']);
          }
          // The update has several steps (remove temp, open, append, sync, close, rename, syncDir),
          // and we crashed at every one of them.
          expect(stepsInUpdate).toBeGreaterThanOrEqual(7);
          expect(seen.has('a')).toBe(true);
          // Crashing right after the directory sync (the last step) leaves the new registry
          // although the create was not acknowledged.
          if (when === 'after') expect(seen.has('a,b')).toBe(true);
        });
      }
    }
  });
});
