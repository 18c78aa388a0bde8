import { describe, expect, it } from 'vitest';
import { CHECKPOINT_FILE, decodeCheckpoint, encodeCheckpoint, readCheckpoint, writeCheckpoint } from '../src/replication/checkpoint.ts';
import { MemoryStorage } from '../src/seams/memory-storage.ts';

describe('the high-watermark checkpoint (replication-offset-checkpoint)', () => {
  it('has Kafka\'s text layout, sorted, and reads back', () => {
    const text = encodeCheckpoint([
      { topic: 'orders', partition: 1, highWatermark: 1187 },
      { topic: 'orders', partition: 0, highWatermark: 1200 },
    ]);
    expect(text).toBe('0\n2\norders 0 1200\norders 1 1187\n');
    expect([...decodeCheckpoint(text)]).toEqual([['orders:0', 1200], ['orders:1', 1187]]);
  });

  it.each([
    ['0\n1\nt 0 5', 'does not end in a newline'],
    ['1\n0\n', 'version "1"'],
    ['0\n2\nt 0 5\n', 'entry count "2" does not match 1 lines'],
    ['0\n1\nt x 5\n', 'bad line "t x 5"'],
  ])('refuses a damaged file instead of forgetting high watermarks: %j', (text, message) => {
    expect(() => decodeCheckpoint(text)).toThrow(message);
  });

  it('is replaced atomically: a crash after the write keeps the new file whole, a crash before keeps the old one', async () => {
    const storage = new MemoryStorage();
    await storage.mkdir('/d');
    await storage.syncDir('/');
    expect(await readCheckpoint(storage, '/d')).toEqual(new Map());
    await writeCheckpoint(storage, '/d', [{ topic: 't', partition: 0, highWatermark: 7 }]);
    storage.crash();
    expect([...(await readCheckpoint(storage, '/d'))]).toEqual([['t:0', 7]]);
    expect(await storage.list('/d')).toEqual([CHECKPOINT_FILE]);
  });
});
