/**
 * Rename detection for the phase diffs (`npm run diff` and the site's diff page): a
 * file that one phase removes and the next adds under another path, with the same or
 * similar content, is shown as a move with its edits instead of a deletion and an
 * addition, the way `git diff -M` shows it.
 *
 * Similarity is git's measure (diffcore-delta.c, diffcore-rename.c), so the
 * `similarity index N%` printed here is the one git prints for the same two files:
 * each file is cut into chunks that end at a newline or after 64 bytes (a CR before
 * a LF is ignored in text files, and a short unterminated last line is dropped, as
 * git does), each chunk is hashed, and the score is the number
 * of bytes in chunks the two files share (counted with multiplicity) over the size
 * of the larger file. Two files are a rename when the score is at least 50%.
 *
 * Pairing, deterministically: first identical contents (a removed file whose bytes
 * equal an added file's), preferring the same file name, then the first in path
 * order; then, among what is left, the highest scores first, ties broken by the same
 * file name, then the added path, then the removed path. Each file is used at most
 * once. Git's extra heuristics (its pass that pairs files with the same unique base
 * name at 75%, and its limit of four candidates per added file) are left out; for
 * trees of a few hundred files they rarely change the outcome.
 */
import { posix } from 'node:path';

/** git's MAX_SCORE: a score is an integer from 0 to this. */
export const MAX_SCORE = 60000;

/** git's default rename threshold (`-M` means `-M50%`). */
export const MIN_RENAME_SCORE = MAX_SCORE / 2;

/** git's chunk hash modulus (HASHBASE in diffcore-delta.c). */
const HASHBASE = 107927;

/** How many leading bytes git inspects to decide that a file is binary. */
const BINARY_SNIFF_BYTES = 8000;

/** A file on one side of a comparison. */
export interface RenameCandidate {
  /** Path as it should appear in the result (relative to the phase folder). */
  readonly path: string;
  readonly bytes: Uint8Array;
}

/** A removed file paired with an added one. */
export interface RenamePair {
  /** The removed (old) path. */
  readonly from: string;
  /** The added (new) path. */
  readonly to: string;
  /** git's score, 0…{@link MAX_SCORE}; {@link MAX_SCORE} for identical contents. */
  readonly score: number;
  /** The percentage git prints as `similarity index N%` (rounded down). */
  readonly similarity: number;
}

/** True when git would treat the bytes as binary (a NUL in the first 8000 bytes). */
export function isBinaryContent(bytes: Uint8Array): boolean {
  return bytes.subarray(0, BINARY_SNIFF_BYTES).includes(0);
}

/** Chunk hash → bytes in chunks with that hash, as git's hash_chars counts them. */
function chunkCounts(bytes: Uint8Array): Map<number, number> {
  const counts = new Map<number, number>();
  const text = !isBinaryContent(bytes);
  let accum1 = 0;
  let accum2 = 0;
  let n = 0;
  const add = (): void => {
    const hash = ((accum1 + Math.imul(accum2, 0x61)) >>> 0) % HASHBASE;
    counts.set(hash, (counts.get(hash) ?? 0) + n);
    n = 0;
    accum1 = 0;
    accum2 = 0;
  };
  for (let i = 0; i < bytes.length; i++) {
    const c = bytes[i] ?? 0;
    // Ignore CR in a CRLF sequence of a text file.
    if (text && c === 0x0d && bytes[i + 1] === 0x0a) continue;
    const old1 = accum1;
    accum1 = (((accum1 << 7) ^ (accum2 >>> 25)) >>> 0) + c;
    accum1 >>>= 0;
    accum2 = ((accum2 << 7) ^ (old1 >>> 25)) >>> 0;
    n += 1;
    if (n < 64 && c !== 0x0a) continue;
    add();
  }
  // Like git, a last chunk that does not end in a newline (and is under 64 bytes) is not counted.
  return counts;
}

/** A cache of chunk counts, so each file is cut once however many files it is compared with. */
export type ChunkCache = Map<Uint8Array, Map<number, number>>;

function countsOf(bytes: Uint8Array, cache: ChunkCache): Map<number, number> {
  let counts = cache.get(bytes);
  if (counts === undefined) {
    counts = chunkCounts(bytes);
    cache.set(bytes, counts);
  }
  return counts;
}

/**
 * git's similarity score of `after` to `before` (estimate_similarity): bytes of
 * shared chunks over the larger size, scaled to {@link MAX_SCORE}. Files whose sizes
 * differ by more than half of the larger one score 0 without being compared (they
 * could not reach 50%), and so does an empty `after`.
 * @example
 * similarityScore(Buffer.from('a\nb\nc\nd\n'), Buffer.from('a\nb\nc\nX\n')); // 45000 (75%)
 */
export function similarityScore(before: Uint8Array, after: Uint8Array, cache: ChunkCache = new Map()): number {
  const maxSize = Math.max(before.length, after.length);
  const delta = maxSize - Math.min(before.length, after.length);
  if (maxSize * (MAX_SCORE - MIN_RENAME_SCORE) < delta * MAX_SCORE) return 0;
  if (after.length === 0) return 0;
  const src = countsOf(before, cache);
  const dst = countsOf(after, cache);
  let copied = 0;
  for (const [hash, count] of src) copied += Math.min(count, dst.get(hash) ?? 0);
  return Math.floor((copied * MAX_SCORE) / maxSize);
}

/** The percentage git prints for a score (`similarity index N%`). */
export function similarityPercent(score: number): number {
  return Math.floor((score * 100) / MAX_SCORE);
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.from(a.buffer, a.byteOffset, a.length).equals(Buffer.from(b.buffer, b.byteOffset, b.length));
}

function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Pair removed files with added files that are moves of them (see the file comment
 * for the rules). Returns the pairs sorted by their new path; files not in a pair
 * stay removed or added.
 * @example
 * detectRenames([{ path: 'src/clock.ts', bytes }], [{ path: 'src/seams/clock.ts', bytes }]);
 * // [{ from: 'src/clock.ts', to: 'src/seams/clock.ts', score: 60000, similarity: 100 }]
 */
export function detectRenames(removed: readonly RenameCandidate[], added: readonly RenameCandidate[]): RenamePair[] {
  const sources = [...removed].sort((x, y) => compareStrings(x.path, y.path));
  const targets = [...added].sort((x, y) => compareStrings(x.path, y.path));
  const usedSources = new Set<string>();
  const usedTargets = new Set<string>();
  const pairs: RenamePair[] = [];
  const base = (p: string): string => posix.basename(p);

  // 1. Identical contents: same file name first, then the first source in path order.
  for (const target of targets) {
    const identical = sources.filter((s) => !usedSources.has(s.path) && sameBytes(s.bytes, target.bytes));
    const source = identical.find((s) => base(s.path) === base(target.path)) ?? identical[0];
    if (source === undefined) continue;
    usedSources.add(source.path);
    usedTargets.add(target.path);
    pairs.push({ from: source.path, to: target.path, score: MAX_SCORE, similarity: 100 });
  }

  // 2. Similar contents: every remaining pair at or above the threshold, best first.
  const cache: ChunkCache = new Map();
  const candidates: { source: RenameCandidate; target: RenameCandidate; score: number; sameName: boolean }[] = [];
  for (const target of targets) {
    if (usedTargets.has(target.path)) continue;
    for (const source of sources) {
      if (usedSources.has(source.path)) continue;
      const score = similarityScore(source.bytes, target.bytes, cache);
      if (score >= MIN_RENAME_SCORE) candidates.push({ source, target, score, sameName: base(source.path) === base(target.path) });
    }
  }
  candidates.sort(
    (x, y) =>
      y.score - x.score ||
      Number(y.sameName) - Number(x.sameName) ||
      compareStrings(x.target.path, y.target.path) ||
      compareStrings(x.source.path, y.source.path),
  );
  for (const c of candidates) {
    if (usedSources.has(c.source.path) || usedTargets.has(c.target.path)) continue;
    usedSources.add(c.source.path);
    usedTargets.add(c.target.path);
    pairs.push({ from: c.source.path, to: c.target.path, score: c.score, similarity: similarityPercent(c.score) });
  }
  return pairs.sort((x, y) => compareStrings(x.to, y.to));
}
