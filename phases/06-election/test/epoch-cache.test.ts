import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CorruptBatchError } from '../src/log/errors.ts';
import {
  decodeEpochCheckpoint,
  encodeEpochCheckpoint,
  EPOCH_CHECKPOINT_FILE,
  type EpochEntry,
  LeaderEpochCache,
  readEpochCheckpoint,
  writeEpochCheckpoint,
} from '../src/replication/epoch-cache.ts';
import { MemoryStorage } from '../src/seams/memory-storage.ts';

/** Entries from compact `[epoch, startOffset]` pairs. */
const es = (...pairs: (readonly [number, number])[]): EpochEntry[] => pairs.map(([epoch, startOffset]) => ({ epoch, startOffset }));
const cacheOf = (...pairs: (readonly [number, number])[]): LeaderEpochCache => new LeaderEpochCache(es(...pairs));

/** Both fields strictly increase, and are non-negative integers. */
function expectValid(entries: readonly EpochEntry[]): void {
  for (const [i, e] of entries.entries()) {
    expect(Number.isSafeInteger(e.epoch) && e.epoch >= 0).toBe(true);
    expect(Number.isSafeInteger(e.startOffset) && e.startOffset >= 0).toBe(true);
    const prev = entries[i - 1];
    if (prev !== undefined) {
      expect(e.epoch).toBeGreaterThan(prev.epoch);
      expect(e.startOffset).toBeGreaterThan(prev.startOffset);
    }
  }
}

describe('LeaderEpochCache construction and accessors', () => {
  it('starts empty: no entries, latest epoch -1, no latest entry', () => {
    const c = new LeaderEpochCache();
    expect(c.entries).toEqual([]);
    expect(c.latestEpoch).toBe(-1);
    expect(c.latestEntry).toBeUndefined();
  });

  it('keeps valid entries, epoch 0 and offset 0 included, and exposes the latest', () => {
    const c = cacheOf([0, 0], [2, 5], [7, 9]);
    expect(c.entries).toEqual(es([0, 0], [2, 5], [7, 9]));
    expect(c.latestEpoch).toBe(7);
    expect(c.latestEntry).toEqual({ epoch: 7, startOffset: 9 });
  });

  it('hands out copies: mutating the input or the entries array does not change the cache', () => {
    const input = es([1, 0]);
    const c = new LeaderEpochCache(input);
    (input as EpochEntry[]).push({ epoch: 2, startOffset: 3 });
    (c.entries as EpochEntry[]).push({ epoch: 5, startOffset: 8 });
    expect(c.entries).toEqual(es([1, 0]));
  });

  it.each([
    ['equal epochs', es([1, 0], [1, 5]), 'not strictly increasing'],
    ['decreasing epochs', es([2, 0], [1, 5]), 'not strictly increasing'],
    ['equal start offsets', es([1, 3], [2, 3]), 'not strictly increasing'],
    ['decreasing start offsets', es([1, 5], [2, 3]), 'not strictly increasing'],
    ['a negative epoch', es([-1, 0]), 'not two non-negative integers'],
    ['a negative start offset', es([1, -1]), 'not two non-negative integers'],
    ['a fractional offset', es([1, 0.5]), 'not two non-negative integers'],
  ])('refuses %s with a RangeError', (_name, entries, message) => {
    expect(() => new LeaderEpochCache(entries)).toThrow(RangeError);
    expect(() => new LeaderEpochCache(entries)).toThrow(message);
  });
});

describe('LeaderEpochCache.assign', () => {
  it.each([
    ['the first epoch into an empty cache', [], [0, 0], true, [[0, 0]]],
    ['the first epoch at a non-zero offset (log start moved)', [], [3, 10], true, [[3, 10]]],
    ['the latest epoch again, at a later offset: no change', [[1, 0]], [1, 5], false, [[1, 0]]],
    ['the latest epoch again, at its own start: no change', [[1, 0]], [1, 0], false, [[1, 0]]],
    ['a newer epoch at a later offset: appended', [[1, 0]], [2, 4], true, [[1, 0], [2, 4]]],
    ['a newer epoch skipping epochs: appended', [[1, 0]], [9, 4], true, [[1, 0], [9, 4]]],
    ['a newer epoch at the latest start (the latest wrote nothing): replaces it', [[1, 0], [2, 4]], [3, 4], true, [[1, 0], [3, 4]]],
    ['a newer epoch at offset 0 over an empty epoch 0', [[0, 0]], [1, 0], true, [[1, 0]]],
  ] as const)('%s', (_name, initial, [epoch, offset], changed, after) => {
    const c = cacheOf(...initial);
    expect(c.assign(epoch, offset)).toBe(changed);
    expect(c.entries).toEqual(es(...after));
  });

  it.each([
    ['an older epoch', [[1, 0], [3, 5]], [2, 8], 'older than the latest epoch 3'],
    ['a newer epoch before the latest start', [[1, 0], [3, 5]], [4, 4], 'starts before the latest entry'],
    ['the latest epoch before its own start', [[1, 0], [3, 5]], [3, 4], 'starts before the latest entry'],
    ['a negative epoch', [], [-1, 0], 'epoch must be a non-negative integer'],
    ['a negative offset', [], [0, -1], 'startOffset must be a non-negative integer'],
  ] as const)('refuses %s with a RangeError and leaves the cache as it was', (_name, initial, [epoch, offset], message) => {
    const c = cacheOf(...initial);
    expect(() => c.assign(epoch, offset)).toThrow(RangeError);
    expect(() => c.assign(epoch, offset)).toThrow(message);
    expect(c.entries).toEqual(es(...initial));
  });
});

describe('LeaderEpochCache.endOffsetFor (the leader side of OffsetForLeaderEpoch)', () => {
  // Epochs 1 from 0, 3 from 4, 5 from 10; LEO 15.
  const history = [[1, 0], [3, 4], [5, 10]] as const;
  it.each([
    ['requested -1 (UNDEFINED)', history, -1, 15, [-1, -1]],
    ['an empty cache', [], 2, 0, [-1, -1]],
    ['an empty cache, requested -1', [], -1, 0, [-1, -1]],
    ['the latest epoch: the log end offset', history, 5, 15, [5, 15]],
    ['the latest epoch, nothing written in it yet (LEO = its start)', history, 5, 10, [5, 10]],
    ['above the latest epoch: UNDEFINED, as Kafka', history, 6, 15, [-1, -1]],
    ['an epoch in the cache: where the next one starts', history, 3, 15, [3, 10]],
    ['the first epoch', history, 1, 15, [1, 4]],
    ['an epoch it never had, between two: the floor epoch and the next start (KIP-279)', history, 2, 15, [1, 4]],
    ['another gap', history, 4, 15, [3, 10]],
    ['below the first epoch: the requested epoch and the first start', history, 0, 15, [0, 0]],
    ['below the first epoch, which starts above 0 (retention)', [[4, 7], [6, 9]], 2, 12, [2, 7]],
    ['epoch 0 as the only, latest epoch', [[0, 0]], 0, 0, [0, 0]],
  ] as const)('%s', (_name, entries, requested, leo, [epoch, endOffset]) => {
    expect(cacheOf(...entries).endOffsetFor(requested, leo)).toEqual({ epoch, endOffset });
  });

  it.each([
    ['a requested epoch below -1', -2, 15, 'requestedEpoch must be an integer >= -1'],
    ['a log end offset below the latest start', 5, 9, 'below the start 10 of the latest epoch 5'],
    ['a negative log end offset', 5, -1, 'logEndOffset must be a non-negative integer'],
  ] as const)('refuses %s', (_name, requested, leo, message) => {
    expect(() => cacheOf(...history).endOffsetFor(requested, leo)).toThrow(message);
  });
});

describe('LeaderEpochCache.truncateFromEnd (the log was cut back)', () => {
  it.each([
    ['an empty cache', [], 0, false, []],
    ['past every start: nothing', [[1, 0], [3, 4]], 9, false, [[1, 0], [3, 4]]],
    ['just past the latest start: kept (it has one record)', [[1, 0], [3, 4]], 5, false, [[1, 0], [3, 4]]],
    ['at the latest start: removed', [[1, 0], [3, 4]], 4, true, [[1, 0]]],
    ['inside the first epoch: only the first is left', [[1, 0], [3, 4], [5, 8]], 2, true, [[1, 0]]],
    ['to 0: everything goes', [[1, 0], [3, 4]], 0, true, []],
    ['to an offset below a first start above 0', [[2, 5]], 3, true, []],
  ] as const)('%s', (_name, initial, offset, changed, after) => {
    const c = cacheOf(...initial);
    expect(c.truncateFromEnd(offset)).toBe(changed);
    expect(c.entries).toEqual(es(...after));
  });

  it('refuses a negative offset', () => {
    expect(() => cacheOf([1, 0]).truncateFromEnd(-1)).toThrow(RangeError);
  });
});

describe('LeaderEpochCache.truncateFromStart (retention moved the log start)', () => {
  it.each([
    ['an empty cache', [], 5, false, []],
    ['to 0 with the first epoch at 0: nothing', [[1, 0], [3, 4]], 0, false, [[1, 0], [3, 4]]],
    ['inside the first epoch: its start moves up', [[1, 0], [3, 4]], 2, true, [[1, 2], [3, 4]]],
    ['exactly at the second start: the first goes', [[1, 0], [3, 4]], 4, true, [[3, 4]]],
    ['inside the second epoch: the first goes, the second moves up', [[1, 0], [3, 4], [5, 8]], 6, true, [[3, 6], [5, 8]]],
    ['past every start: the latest alone, moved up', [[1, 0], [3, 4]], 9, true, [[3, 9]]],
    ['below a first start above 0: nothing', [[2, 5]], 3, false, [[2, 5]]],
  ] as const)('%s', (_name, initial, offset, changed, after) => {
    const c = cacheOf(...initial);
    expect(c.truncateFromStart(offset)).toBe(changed);
    expect(c.entries).toEqual(es(...after));
  });

  it('refuses a negative offset', () => {
    expect(() => cacheOf([1, 0]).truncateFromStart(-1)).toThrow(RangeError);
  });
});

describe('LeaderEpochCache.fromBatches (rebuilding without a checkpoint)', () => {
  const h = (baseOffset: number, partitionLeaderEpoch: number) => ({ baseOffset, partitionLeaderEpoch });
  it.each([
    ['no batches', [], []],
    ['one epoch in several batches', [h(0, 1), h(3, 1), h(5, 1)], [[1, 0]]],
    ['epoch changes start entries at the batch base offset', [h(0, 0), h(2, 0), h(4, 2), h(7, 5)], [[0, 0], [2, 4], [5, 7]]],
    ['batches without an epoch (-1, older format) are skipped', [h(0, -1), h(1, -1), h(2, 1), h(4, -1), h(5, 2)], [[1, 2], [2, 5]]],
    ['only batches without an epoch', [h(0, -1), h(3, -1)], []],
    ['a batch of an older epoch than one before is skipped', [h(0, 2), h(3, 1), h(5, 3)], [[2, 0], [3, 5]]],
    ['a log whose start is not 0 (retention)', [h(40, 3), h(45, 4)], [[3, 40], [4, 45]]],
  ] as const)('%s', (_name, headers, expected) => {
    expect(LeaderEpochCache.fromBatches(headers).entries).toEqual(es(...expected));
  });

  it('accepts any iterable (a generator over the log)', () => {
    function* headers(): Generator<{ baseOffset: number; partitionLeaderEpoch: number }> {
      yield h(0, 1);
      yield h(2, 3);
    }
    expect(LeaderEpochCache.fromBatches(headers()).entries).toEqual(es([1, 0], [3, 2]));
  });
});

describe('LeaderEpochCache properties', () => {
  type Op = { kind: 'assign'; epochDelta: number; offsetDelta: number } | { kind: 'truncateFromEnd' | 'truncateFromStart'; offset: number };
  const op: fc.Arbitrary<Op> = fc.oneof(
    { weight: 4, arbitrary: fc.record({ kind: fc.constant('assign' as const), epochDelta: fc.integer({ min: -2, max: 3 }), offsetDelta: fc.integer({ min: -2, max: 6 }) }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('truncateFromEnd' as const), offset: fc.nat(40) }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('truncateFromStart' as const), offset: fc.nat(40) }) },
  );

  it('stays strictly increasing through any sequence of assign and truncations; a refused assign changes nothing', () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 40, size: 'max' }), (ops) => {
        const c = new LeaderEpochCache();
        for (const o of ops) {
          const before = c.entries;
          if (o.kind === 'assign') {
            const latest = c.latestEntry;
            const epoch = Math.max(0, c.latestEpoch + o.epochDelta);
            const offset = Math.max(0, (latest?.startOffset ?? 0) + o.offsetDelta);
            const shouldThrow = latest !== undefined && (epoch < latest.epoch || offset < latest.startOffset);
            if (shouldThrow) {
              expect(() => c.assign(epoch, offset)).toThrow(RangeError);
              expect(c.entries).toEqual(before);
            } else {
              const changed = c.assign(epoch, offset);
              expect(changed).toBe(latest === undefined || epoch !== latest.epoch);
              expect(c.latestEntry).toEqual(changed ? { epoch, startOffset: offset } : latest);
            }
          } else if (o.kind === 'truncateFromEnd') {
            const changed = c.truncateFromEnd(o.offset);
            expect(c.entries.every((e) => e.startOffset < o.offset)).toBe(true);
            expect(c.entries).toEqual(before.filter((e) => e.startOffset < o.offset));
            expect(changed).toBe(c.entries.length !== before.length);
          } else {
            const changed = c.truncateFromStart(o.offset);
            expect(c.entries.every((e) => e.startOffset >= o.offset)).toBe(true);
            expect(changed).toBe(JSON.stringify(c.entries) !== JSON.stringify(before));
            // Whatever epoch covered offset `o.offset` (the new first record) is still first.
            const covering = before.filter((e) => e.startOffset <= o.offset).at(-1);
            if (covering !== undefined) expect(c.entries[0]?.epoch).toBe(covering.epoch);
          }
          expectValid(c.entries);
        }
      }),
      { seed: 6, numRuns: 500 },
    );
  });

  /** A log written in runs: each run is one leadership epoch (or -1: pre-epoch batches) of some batches of some records. */
  const runs = fc.array(
    fc.record({
      epochStep: fc.integer({ min: 0, max: 3 }), // how far the epoch jumps from the previous run (0: same leader again, an empty election in between never shows)
      unstamped: fc.boolean(),
      batches: fc.array(fc.integer({ min: 1, max: 4 }), { maxLength: 3 }), // records per batch; [] = an epoch that wrote nothing
    }),
    { maxLength: 12, size: 'max' },
  );

  it('fromBatches of a log equals the cache that assign built while the log was written', () => {
    fc.assert(
      fc.property(fc.nat(20), runs, (logStart, rs) => {
        const live = new LeaderEpochCache();
        const headers: { baseOffset: number; partitionLeaderEpoch: number }[] = [];
        let offset = logStart;
        let epoch = -1;
        let stampedYet = false;
        for (const r of rs) {
          // Pre-epoch (unstamped) batches only come before the first stamped one.
          const unstamped = r.unstamped && !stampedYet;
          if (!unstamped) {
            epoch = Math.max(epoch + r.epochStep, 0);
            stampedYet = true;
            // A leader records its epoch when elected, at its LEO, before writing.
            if (epoch > live.latestEpoch) live.assign(epoch, offset);
          }
          for (const records of r.batches) {
            headers.push({ baseOffset: offset, partitionLeaderEpoch: unstamped ? -1 : epoch });
            offset += records;
          }
        }
        // The latest epoch may not have written anything yet; the log cannot know about it.
        live.truncateFromEnd(offset);
        expect(LeaderEpochCache.fromBatches(headers).entries).toEqual(live.entries);
      }),
      { seed: 7, numRuns: 500 },
    );
  });

  /** A valid cache with a log end offset at or past its latest start. */
  const cacheAndLeo = fc
    .array(fc.tuple(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 5 })), { maxLength: 8 })
    .chain((steps) => {
      const entries: EpochEntry[] = [];
      let epoch = -1;
      let start = -1;
      for (const [de, dof] of steps) {
        epoch += de;
        start += dof;
        entries.push({ epoch, startOffset: start });
      }
      return fc.record({ entries: fc.constant(entries), leoPast: fc.nat(10), requested: fc.integer({ min: -1, max: epoch + 3 }) });
    });

  it('endOffsetFor never answers an end offset above the log end offset, nor an epoch above the one asked', () => {
    fc.assert(
      fc.property(cacheAndLeo, ({ entries, leoPast, requested }) => {
        const c = new LeaderEpochCache(entries);
        const leo = (c.latestEntry?.startOffset ?? 0) + leoPast;
        const answer = c.endOffsetFor(requested, leo);
        expect(answer.endOffset).toBeLessThanOrEqual(leo);
        expect(answer.epoch).toBeLessThanOrEqual(requested);
        // Defined answers come with a defined end offset, and name an epoch we have or the one asked.
        if (answer.epoch !== -1) {
          expect(answer.endOffset).toBeGreaterThanOrEqual(0);
          expect(answer.epoch === requested || entries.some((e) => e.epoch === answer.epoch)).toBe(true);
        }
      }),
      { seed: 8, numRuns: 1000 },
    );
  });
});

describe('the leader-epoch checkpoint (leader-epoch-checkpoint)', () => {
  it("has Kafka's text layout: version, count, one '<epoch> <startOffset>' line per entry, each ending in a newline", () => {
    expect(EPOCH_CHECKPOINT_FILE).toBe('leader-epoch-checkpoint');
    expect(encodeEpochCheckpoint(es([0, 0], [3, 120]))).toBe('0\n2\n0 0\n3 120\n');
    expect(encodeEpochCheckpoint([])).toBe('0\n0\n');
  });

  it.each([
    ['empty', []],
    ['one entry', es([0, 0])],
    ['several', es([1, 0], [2, 17], [9, 1_000_000])],
    ['large values', es([2_147_483_647, Number.MAX_SAFE_INTEGER])],
  ])('round-trips: %s', (_name, entries) => {
    expect(decodeEpochCheckpoint(encodeEpochCheckpoint(entries))).toEqual(entries);
  });

  it('round-trips any valid history (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.integer({ min: 1, max: 1000 }), fc.integer({ min: 1, max: 1_000_000 })), { maxLength: 20 }), (steps) => {
        let epoch = -1;
        let start = -1;
        const entries = steps.map(([de, dof]) => ({ epoch: (epoch += de), startOffset: (start += dof) }));
        expect(decodeEpochCheckpoint(encodeEpochCheckpoint(entries))).toEqual(entries);
      }),
      { seed: 9, numRuns: 200 },
    );
  });

  it('refuses to encode an invalid history (it could not be read back)', () => {
    expect(() => encodeEpochCheckpoint(es([2, 0], [1, 5]))).toThrow(RangeError);
  });

  it.each([
    ['an empty file', '', 'is empty'],
    ['no final newline (torn)', '0\n1\n1 0', 'does not end in a newline'],
    ['no count line', '0\n', 'has no entry count line'],
    ['a wrong version', '1\n0\n', 'version "1", expected 0'],
    ['a missing version', '\n0\n', 'version "", expected 0'],
    ['more lines than the count', '0\n1\n1 0\n2 5\n', 'entry count "1" does not match 2 lines'],
    ['fewer lines than the count', '0\n2\n1 0\n', 'entry count "2" does not match 1 lines'],
    ['a count that is not a number', '0\nx\n', 'entry count "x"'],
    ['an empty count line', '0\n\n', 'entry count ""'],
    ['a line that is not two numbers', '0\n1\n1 x\n', 'bad line "1 x"'],
    ['a line with a negative epoch', '0\n1\n-1 0\n', 'bad line "-1 0"'],
    ['a line with extra spaces', '0\n1\n1  0\n', 'bad line "1  0"'],
    ['a line with a third field', '0\n1\n1 0 3\n', 'bad line "1 0 3"'],
    ['an offset too large to be exact', '0\n1\n1 9007199254740993\n', 'bad line'],
    ['an empty line inside', '0\n2\n1 0\n\n', 'bad line ""'],
    ['Windows line ends', '0\r\n1\r\n1 0\r\n', 'version "0\\r"'],
    ['epochs not increasing', '0\n2\n3 0\n3 5\n', 'not strictly increasing'],
    ['start offsets not increasing', '0\n2\n1 5\n2 5\n', 'not strictly increasing'],
  ])('refuses a damaged file instead of forgetting the epoch history: %s', (_name, text, message) => {
    expect(() => decodeEpochCheckpoint(text)).toThrow(CorruptBatchError);
    expect(() => decodeEpochCheckpoint(text)).toThrow(message);
    expect(() => decodeEpochCheckpoint(text)).toThrow(EPOCH_CHECKPOINT_FILE);
  });

  async function freshDir(): Promise<MemoryStorage> {
    const storage = new MemoryStorage();
    await storage.mkdir('/d');
    await storage.syncDir('/');
    return storage;
  }

  it('reads null when there is no file (the caller rebuilds from the log), and a damaged file is an error', async () => {
    const storage = await freshDir();
    expect(await readEpochCheckpoint(storage, '/d')).toBeNull();
    expect(await readEpochCheckpoint(storage, '/no-such-dir')).toBeNull();
    const file = await storage.openFile(`/d/${EPOCH_CHECKPOINT_FILE}`, { create: true });
    await file.append(Buffer.from('0\n1\n1 0', 'utf8'));
    await file.close();
    await expect(readEpochCheckpoint(storage, '/d')).rejects.toThrow(CorruptBatchError);
  });

  it('writes a file that reads back and survives a crash right after the write, leaving no temp file', async () => {
    const storage = await freshDir();
    await writeEpochCheckpoint(storage, '/d', es([1, 0], [4, 12]));
    storage.crash();
    expect(await readEpochCheckpoint(storage, '/d')).toEqual(es([1, 0], [4, 12]));
    expect(await storage.list('/d')).toEqual([EPOCH_CHECKPOINT_FILE]);
    expect((await storage.readFile(`/d/${EPOCH_CHECKPOINT_FILE}`))?.toString('utf8')).toBe('0\n2\n1 0\n4 12\n');
  });

  it('replaces an older file atomically, and an empty history is written too', async () => {
    const storage = await freshDir();
    await writeEpochCheckpoint(storage, '/d', es([1, 0]));
    await writeEpochCheckpoint(storage, '/d', es([1, 0], [2, 3]));
    expect(await readEpochCheckpoint(storage, '/d')).toEqual(es([1, 0], [2, 3]));
    await writeEpochCheckpoint(storage, '/d', []);
    storage.crash();
    expect(await readEpochCheckpoint(storage, '/d')).toEqual([]);
  });

  /** A MemoryStorage that fails one chosen step of the write. */
  class FailingStorage extends MemoryStorage {
    failRename = false;
    failSyncDir = false;

    override async rename(from: string, to: string): Promise<void> {
      if (this.failRename) throw new Error('simulated crash before the rename');
      await super.rename(from, to);
    }

    override async syncDir(dir: string): Promise<void> {
      if (this.failSyncDir) throw new Error('simulated crash before the directory fsync');
      await super.syncDir(dir);
    }
  }

  async function withOldFile(): Promise<FailingStorage> {
    const storage = new FailingStorage();
    await storage.mkdir('/d');
    await storage.syncDir('/');
    await writeEpochCheckpoint(storage, '/d', es([1, 0]));
    return storage;
  }

  it('a crash after the temp file is written but before the rename leaves the old file intact and readable', async () => {
    const storage = await withOldFile();
    storage.failRename = true;
    await expect(writeEpochCheckpoint(storage, '/d', es([1, 0], [2, 5]))).rejects.toThrow('before the rename');
    // Before the crash: the old file is still the checkpoint (the temp file lies beside it).
    expect(await readEpochCheckpoint(storage, '/d')).toEqual(es([1, 0]));
    storage.crash();
    expect(await readEpochCheckpoint(storage, '/d')).toEqual(es([1, 0]));
    // The next write succeeds over a leftover temp file, whatever it holds.
    storage.failRename = false;
    await writeEpochCheckpoint(storage, '/d', es([1, 0], [3, 7]));
    storage.crash();
    expect(await readEpochCheckpoint(storage, '/d')).toEqual(es([1, 0], [3, 7]));
    expect(await storage.list('/d')).toEqual([EPOCH_CHECKPOINT_FILE]);
  });

  it('a crash after the rename but before the directory fsync leaves the old file or the new one, whole', async () => {
    const storage = await withOldFile();
    storage.failSyncDir = true;
    await expect(writeEpochCheckpoint(storage, '/d', es([1, 0], [2, 5]))).rejects.toThrow('before the directory fsync');
    storage.crash();
    storage.failSyncDir = false;
    // MemoryStorage undoes the unsynced rename: the old file. A real disk may keep either; both parse.
    const after = await readEpochCheckpoint(storage, '/d');
    expect([es([1, 0]), es([1, 0], [2, 5])]).toContainEqual(after);
    expect(after).toEqual(es([1, 0]));
  });

  it('a crash with the temp file torn at any byte never damages the checkpoint', async () => {
    for (let torn = 0; torn <= 12; torn += 1) {
      const storage = await withOldFile();
      // The steps of writeEpochCheckpoint up to the fsync, by hand, then the power goes.
      const temp = await storage.openFile(`/d/${EPOCH_CHECKPOINT_FILE}.tmp`, { create: true });
      await storage.syncDir('/d'); // the temp file's name is durable (say another file in /d was created), its bytes are not
      await temp.append(Buffer.from(encodeEpochCheckpoint(es([1, 0], [2, 5])), 'utf8'));
      storage.crash({ tornBytes: torn });
      expect(await readEpochCheckpoint(storage, '/d')).toEqual(es([1, 0]));
      expect(await storage.list('/d')).toEqual([EPOCH_CHECKPOINT_FILE, `${EPOCH_CHECKPOINT_FILE}.tmp`]);
      await writeEpochCheckpoint(storage, '/d', es([1, 0], [2, 5]));
      expect(await readEpochCheckpoint(storage, '/d')).toEqual(es([1, 0], [2, 5]));
    }
  });
});
