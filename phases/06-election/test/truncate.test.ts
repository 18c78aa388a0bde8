import { describe, expect, it } from 'vitest';
import { OffsetOutOfRangeError } from '../src/log/errors.ts';
import { Log } from '../src/log/log.ts';
import { MemoryStorage } from '../src/seams/memory-storage.ts';

const value = (s: string) => ({ value: Buffer.from(s) });
const values = async (log: Log): Promise<string[]> => (await log.readRecords(log.logStartOffset, 1 << 20)).map((r) => r.value?.toString() ?? '');

describe('Log.truncateTo (phase 5: a follower cuts back to its high watermark)', () => {
  it('cuts at a batch boundary across segments, durably: a crash right after does not bring records back', async () => {
    const storage = new MemoryStorage();
    const log = await Log.open(storage, '/log', { segmentBytesMax: 200 });
    for (let i = 0; i < 12; i++) await log.append([value(`r${i}-${'x'.repeat(40)}`)]);
    expect(log.segments().length).toBeGreaterThan(3);
    const cut = (log.segments()[1]?.baseOffset ?? 0) + 1; // inside the second segment
    await log.truncateTo(cut);
    expect(log.logEndOffset).toBe(cut);
    expect(log.segments().map((s) => s.baseOffset).at(-1)).toBeLessThan(cut);
    expect((await values(log)).length).toBe(cut);
    // Appends continue at the cut.
    expect(await log.append([value('after')])).toEqual({ baseOffset: cut, lastOffset: cut });
    storage.crash();
    const again = await Log.open(storage, '/log', { segmentBytesMax: 200 });
    expect(again.logEndOffset).toBe(cut + 1);
    expect((await values(again)).at(-1)).toBe('after');
    await again.close();
  });

  it('to the log start empties the log; to the end is a no-op; outside the range is refused', async () => {
    const log = await Log.open(new MemoryStorage(), '/log');
    await log.append([value('a'), value('b')]);
    await log.append([value('c')]);
    await log.truncateTo(3);
    expect(log.logEndOffset).toBe(3);
    await expect(log.truncateTo(4)).rejects.toBeInstanceOf(OffsetOutOfRangeError);
    await expect(log.truncateTo(1)).rejects.toThrow(/no batch starts at offset 1/);
    await log.truncateTo(0);
    expect(log.logEndOffset).toBe(0);
    expect(await values(log)).toEqual([]);
    await log.close();
  });
});
