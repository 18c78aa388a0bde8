/**
 * Kafka's key hash. The Java producer's default partitioner sends a keyed record to
 * `toPositive(murmur2(keyBytes)) % numPartitions`; we use the same function, bit for
 * bit, so a key lands on the same partition here as it would with a Java client (and
 * KafkaJS's default partitioner) for the same partition count. The tests pin it to the
 * vectors from Kafka's own `UtilsTest.testMurmur2`.
 *
 * MurmurHash2 (Austin Appleby), 32-bit, seed 0x9747b28c, reading the key as
 * little-endian 32-bit words; Java's `int` arithmetic is reproduced with `Math.imul`
 * and `| 0`, and Java's `>>>` with JavaScript's `>>>` on the same 32 bits.
 */

const SEED = 0x9747b28c;
const M = 0x5bd1e995;
const R = 24;

// #region murmur2
/**
 * Kafka's `Utils.murmur2`: a signed 32-bit hash of `data`.
 * @example
 * murmur2(Buffer.from('foobar')); // -790332482, as in Kafka
 */
export function murmur2(data: Uint8Array): number {
  const length = data.length;
  let h = (SEED ^ length) | 0;
  const words = length >>> 2;
  for (let i = 0; i < words; i++) {
    const i4 = i * 4;
    let k = (data[i4] ?? 0) | ((data[i4 + 1] ?? 0) << 8) | ((data[i4 + 2] ?? 0) << 16) | ((data[i4 + 3] ?? 0) << 24);
    k = Math.imul(k, M);
    k ^= k >>> R;
    k = Math.imul(k, M);
    h = Math.imul(h, M);
    h ^= k;
  }
  // The 1-3 bytes after the last full word (Java's switch falls through from 3 to 1).
  const tail = length & ~3;
  const rest = length & 3;
  if (rest >= 3) h ^= (data[tail + 2] ?? 0) << 16;
  if (rest >= 2) h ^= (data[tail + 1] ?? 0) << 8;
  if (rest >= 1) {
    h ^= data[tail] ?? 0;
    h = Math.imul(h, M);
  }
  h ^= h >>> 13;
  h = Math.imul(h, M);
  h ^= h >>> 15;
  return h | 0;
}
// #endregion murmur2

/**
 * Kafka's `Utils.toPositive`: clear the sign bit (not `Math.abs`, which overflows for
 * the most negative int in Java and would change the partition of some keys).
 * @example
 * toPositive(-1); // 2147483647
 */
export function toPositive(n: number): number {
  return n & 0x7fffffff;
}

/**
 * The partition of a keyed record: `toPositive(murmur2(key)) % numPartitions`.
 * @example
 * partitionForKey(Buffer.from('user-42'), 6); // the same on every call and every client
 */
export function partitionForKey(key: Uint8Array, numPartitions: number): number {
  if (!Number.isSafeInteger(numPartitions) || numPartitions <= 0) throw new RangeError(`bad partition count ${numPartitions}`);
  return toPositive(murmur2(key)) % numPartitions;
}
