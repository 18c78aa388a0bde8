/**
 * The partitioner: Kafka's murmur2 bit for bit (vectors from Kafka's UtilsTest), the
 * key → partition rule as properties (deterministic, in range, independent of the
 * producer instance), explicit partitions, and the KIP-480 sticky behaviour for keyless
 * records: one partition until a batch is sent, then another, spreading over time.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { propertySeed } from '../../../shared/src/testing.ts';
import { murmur2, partitionForKey, toPositive } from '../src/client/murmur2.ts';
import { RoundRobinPartitioner, StickyPartitioner, choosePartition } from '../src/client/partitioner.ts';
import { seededRandom } from '../src/seams/random.ts';
import { UnknownTopicOrPartitionError } from '../src/topics/errors.ts';

describe('murmur2', () => {
  // The cases of Kafka's clients/src/test/.../utils/UtilsTest.java, testMurmur2.
  it.each([
    ['21', -973932308],
    ['foobar', -790332482],
    ['a-little-bit-long-string', -985981536],
    ['a-little-bit-longer-string', -1486304829],
    ['lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8', -58897971],
    ['abc', 479470107],
  ])('murmur2(%j) is %i, as in Kafka', (key, hash) => {
    expect(murmur2(Buffer.from(key, 'ascii'))).toBe(hash);
  });

  it('covers every tail length (0 to 3 bytes after the last full word)', () => {
    // Cross-checked values used by other Kafka-compatible clients for the Java hash.
    expect(murmur2(Buffer.from('1'))).toBe(-1993445489);
    expect(murmur2(Buffer.from('12'))).toBe(126087238);
    expect(murmur2(Buffer.from('123'))).toBe(-267702483);
    expect(murmur2(Buffer.from('1234'))).toBe(-1614185708);
    expect(murmur2(Buffer.from('12345'))).toBe(-1188365604);
  });

  it('toPositive clears the sign bit rather than negating', () => {
    expect(toPositive(-2147483648)).toBe(0);
    expect(toPositive(-1)).toBe(2147483647);
    expect(toPositive(5)).toBe(5);
  });

  it('always returns a signed 32-bit integer', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        const h = murmur2(bytes);
        expect(Number.isInteger(h) && h >= -(2 ** 31) && h < 2 ** 31).toBe(true);
      }),
      { seed: propertySeed(), numRuns: 500 },
    );
  });
});

describe('choosePartition', () => {
  it('sends the same key to the same partition, whichever producer asks', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 0, maxLength: 40 }), fc.integer({ min: 1, max: 1000 }), fc.nat(), (key, n, seed) => {
        const a = new StickyPartitioner(seededRandom(seed));
        const b = new StickyPartitioner(seededRandom(seed + 1));
        const k = Buffer.from(key);
        const pa = choosePartition({ topic: 't', key: k }, n, a);
        const pb = choosePartition({ topic: 't', key: k }, n, b);
        // Sending batches moves the sticky partition but never a key.
        a.onNewBatch('t', pa, n);
        expect(pa).toBe(pb);
        expect(choosePartition({ topic: 't', key: k }, n, a)).toBe(pa);
        expect(pa).toBe(partitionForKey(k, n));
        expect(pa >= 0 && pa < n).toBe(true);
      }),
      { seed: propertySeed(), numRuns: 1000 },
    );
  });

  it('spreads distinct keys over all partitions', () => {
    const n = 8;
    const counts = new Array<number>(n).fill(0);
    const sticky = new StickyPartitioner(seededRandom(1));
    for (let i = 0; i < 8000; i++) {
      const p = choosePartition({ topic: 't', key: Buffer.from(`user-${i}`) }, n, sticky);
      counts[p] = (counts[p] ?? 0) + 1;
    }
    for (const c of counts) expect(c).toBeGreaterThan(800); // 1000 expected each
  });

  it('an explicit partition wins over the key, and must exist', () => {
    const sticky = new StickyPartitioner(seededRandom(1));
    expect(choosePartition({ topic: 't', key: Buffer.from('k'), partition: 2 }, 3, sticky)).toBe(2);
    expect(choosePartition({ topic: 't', partition: 0 }, 1, sticky)).toBe(0);
    expect(() => choosePartition({ topic: 't', partition: 3 }, 3, sticky)).toThrow(UnknownTopicOrPartitionError);
    expect(() => choosePartition({ topic: 't', partition: -1 }, 3, sticky)).toThrow(UnknownTopicOrPartitionError);
    expect(() => choosePartition({ topic: 't', partition: 0.5 }, 3, sticky)).toThrow(UnknownTopicOrPartitionError);
  });

  it('a null key counts as keyless', () => {
    const sticky = new StickyPartitioner(seededRandom(3));
    const p = choosePartition({ topic: 't', key: null }, 5, sticky);
    expect(choosePartition({ topic: 't' }, 5, sticky)).toBe(p);
  });
});

describe('StickyPartitioner (KIP-480)', () => {
  it('keeps one partition for keyless records until a batch for it is sent', () => {
    const sticky = new StickyPartitioner(seededRandom(7));
    const first = sticky.partition('t', 6);
    for (let i = 0; i < 100; i++) expect(sticky.partition('t', 6)).toBe(first);
    // A batch sent on another partition (keyed records) does not move it.
    sticky.onNewBatch('t', (first + 1) % 6, 6);
    expect(sticky.partition('t', 6)).toBe(first);
    sticky.onNewBatch('t', first, 6);
    const second = sticky.partition('t', 6);
    expect(second).not.toBe(first);
    expect(second >= 0 && second < 6).toBe(true);
  });

  it('keeps a sticky partition per topic', () => {
    const sticky = new StickyPartitioner(seededRandom(11));
    const a = sticky.partition('a', 1000);
    const b = sticky.partition('b', 1000);
    sticky.onNewBatch('a', a, 1000);
    expect(sticky.partition('b', 1000)).toBe(b);
  });

  it('keyless batches spread over every partition over time', () => {
    fc.assert(
      fc.property(fc.integer({ min: 2, max: 16 }), fc.nat(), (n, seed) => {
        const sticky = new StickyPartitioner(seededRandom(seed));
        const batches = new Array<number>(n).fill(0);
        for (let i = 0; i < 60 * n; i++) {
          const p = choosePartition({ topic: 't' }, n, sticky);
          batches[p] = (batches[p] ?? 0) + 1;
          sticky.onNewBatch('t', p, n);
          // Never the same partition twice in a row.
          if (choosePartition({ topic: 't' }, n, sticky) === p) return false;
        }
        // Every partition got batches; none got more than three times its share.
        return batches.every((count) => count > 0 && count < 180);
      }),
      { seed: propertySeed(), numRuns: 60 },
    );
  });

  it('with one partition, stays on it', () => {
    const sticky = new StickyPartitioner(seededRandom(1));
    sticky.onNewBatch('t', sticky.partition('t', 1), 1);
    expect(sticky.partition('t', 1)).toBe(0);
  });

  it('re-chooses when the partition count shrinks below the sticky choice', () => {
    const sticky = new StickyPartitioner(() => 0.99);
    expect(sticky.partition('t', 10)).toBe(9);
    expect(sticky.partition('t', 4)).toBe(3);
  });
});

describe('RoundRobinPartitioner (before KIP-480, for comparison)', () => {
  it('gives keyless records the partitions in turn, per topic, whatever the batches do', () => {
    const rr = new RoundRobinPartitioner();
    const a = Array.from({ length: 7 }, () => choosePartition({ topic: 'a' }, 3, rr));
    rr.onNewBatch();
    expect(a).toEqual([0, 1, 2, 0, 1, 2, 0]);
    expect(choosePartition({ topic: 'b' }, 3, rr)).toBe(0);
    expect(choosePartition({ topic: 'a', key: Buffer.from('k') }, 3, rr)).toBe(partitionForKey(Buffer.from('k'), 3));
  });
});
