/**
 * Rename detection: git's similarity score (checked against git itself where it is
 * installed), the 50% threshold, and the pairing rules (identical contents first,
 * then the best score; the same file name breaks ties; the result does not depend on
 * the order the files come in).
 */
import { spawnSync } from 'node:child_process';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { tempDir, type TempDir } from '../../shared/src/testing.ts';
import { gitAvailable } from '../src/diff.ts';
import { detectRenames, MAX_SCORE, similarityPercent, similarityScore, type RenameCandidate } from '../src/renames.ts';
import { writeTree } from './fixtures.ts';

const b = (text: string): Buffer => Buffer.from(text);
const file = (path: string, text: string): RenameCandidate => ({ path, bytes: b(text) });
/** Ten distinct lines, `line 1` … `line 10`, so edits change a known share of the bytes. */
const TEN = Array.from({ length: 10 }, (_, i) => `line ${i + 1}\n`).join('');

describe('similarityScore', () => {
  it.each([
    ['a\nb\nc\nd\n', 'a\nb\nc\nX\n', 45000, 75, 'three of four lines kept'],
    ['a\nb\n', 'a\nc\n', 30000, 50, 'half the bytes kept: exactly the threshold'],
    ['a\r\nb\nc\nd\n', 'a\nb\nc\nd\n', 53333, 88, 'a CR before LF is ignored, but the size still counts it'],
    ['x\ny\nlast', 'x\ny\nlast!', 26666, 44, 'an unterminated last line is not counted'],
    ['abc', 'abc', 0, 0, 'no complete chunk at all (identical files are paired before scoring)'],
    ['a\n', 'a\nbbbbbbbbbb\n', 0, 0, 'sizes too far apart to reach 50%'],
    ['a\n', '', 0, 0, 'an empty new file'],
  ])('scores %j -> %j as %i (%i%%): %s', (before, after, score, percent) => {
    expect(similarityScore(b(before), b(after))).toBe(score);
    expect(similarityPercent(score)).toBe(percent);
  });

  it('cuts long lines into 64-byte chunks', () => {
    const first = '0123456789abcdef'.repeat(4);
    // The first 64 bytes are a chunk of their own and shared; the edited rest of the line is not.
    const score = similarityScore(b(`${first}the second chunk of this long line\n`), b(`${first}the 2nd chunk of this long line\n`));
    expect(score).toBe(Math.floor((64 * MAX_SCORE) / 99));
    expect(similarityPercent(score)).toBe(64);
  });
});

describe('detectRenames', () => {
  it('pairs identical contents first, then similar ones, and leaves the rest alone', () => {
    const removed = [file('src/clock.ts', TEN), file('src/util/random.ts', `${TEN}extra\n`), file('src/gone.ts', 'nothing alike\n')];
    const added = [file('src/seams/clock.ts', TEN), file('src/seams/random.ts', TEN.replace('line 5', 'line five')), file('src/fresh.ts', 'new\n')];
    expect(detectRenames(removed, added)).toEqual([
      { from: 'src/clock.ts', to: 'src/seams/clock.ts', score: MAX_SCORE, similarity: 100 },
      { from: 'src/util/random.ts', to: 'src/seams/random.ts', score: 49870, similarity: 83 },
    ]);
  });

  it('prefers an identical file over a more similar-looking name', () => {
    const removed = [file('a/x.ts', TEN)];
    const added = [file('b/x.ts', TEN.replace('line 1\n', 'line one\n')), file('b/y.ts', TEN)];
    expect(detectRenames(removed, added).map((p) => `${p.from} -> ${p.to}`)).toEqual(['a/x.ts -> b/y.ts']);
  });

  it('among identical sources, takes the one with the same file name, else the first by path', () => {
    const removed = [file('a/log.ts', TEN), file('b/util.ts', TEN), file('c/other.ts', TEN)];
    expect(detectRenames(removed, [file('seams/util.ts', TEN)]).map((p) => p.from)).toEqual(['b/util.ts']);
    expect(detectRenames(removed, [file('seams/none.ts', TEN)]).map((p) => p.from)).toEqual(['a/log.ts']);
  });

  it('gives each file to its best match, highest score first', () => {
    const removed = [file('old.ts', TEN)];
    const close = TEN.replace('line 3', 'line three');
    const far = TEN.replace('line 3', 'line three').replace('line 4', 'line four').replace('line 7', 'line seven');
    expect(detectRenames(removed, [file('far.ts', far), file('close.ts', close)]).map((p) => [p.to, p.similarity])).toEqual([['close.ts', 85]]);
  });

  it('breaks equal scores by the same file name, then by path', () => {
    const edited = TEN.replace('line 2', 'line two');
    const sameName = detectRenames([file('src/log.ts', TEN)], [file('src/a.ts', edited), file('src/log/log.ts', edited)]);
    expect(sameName.map((p) => p.to)).toEqual(['src/log/log.ts']);
    const byPath = detectRenames([file('src/log.ts', TEN)], [file('src/z.ts', edited), file('src/b.ts', edited)]);
    expect(byPath.map((p) => p.to)).toEqual(['src/b.ts']);
  });

  it('does not pair below 50%', () => {
    expect(detectRenames([file('a.ts', 'a\nb\nc\n')], [file('b.ts', 'a\nX\nY\n')])).toEqual([]);
    expect(detectRenames([file('a.ts', 'a\nb\n')], [file('b.ts', 'a\nc\n')])).toEqual([{ from: 'a.ts', to: 'b.ts', score: 30000, similarity: 50 }]);
  });

  it('does not depend on the order of its input', () => {
    // r1 and r2 are identical to a1 (r1 wins by path); r2 and r3 then score the same against a2 (r2 wins by path).
    const removed = [file('r1.ts', TEN), file('r2.ts', TEN), file('r3.ts', `${TEN}more\n`)];
    const added = [file('a1.ts', TEN), file('a2.ts', `${TEN}more!\n`), file('a3.ts', TEN.replace('line 9', 'line nine'))];
    const expected = detectRenames(removed, added);
    expect(expected.map((p) => `${p.from} -> ${p.to} ${p.similarity}%`)).toEqual(['r1.ts -> a1.ts 100%', 'r2.ts -> a2.ts 92%', 'r3.ts -> a3.ts 84%']);
    expect(detectRenames([...removed].reverse(), [...added].reverse())).toEqual(expected);
  });
});

describe('against git', () => {
  let dir: TempDir;
  beforeEach(() => {
    dir = tempDir('course-renames-');
  });
  afterEach(() => {
    dir.remove();
  });

  /** The similarity git prints for a rename of `before` to `after`, or null when git does not see one. */
  const gitSimilarity = (before: string, after: string): number | null => {
    writeTree(dir.path, { 'A/old.txt': before, 'B/new.txt': after });
    const r = spawnSync('git', ['diff', '--no-index', '-M', '--', 'A', 'B'], { cwd: dir.path, encoding: 'utf8' });
    const m = /^similarity index (\d+)%$/m.exec(r.stdout);
    return m === null ? null : Number(m[1]);
  };

  it.skipIf(!gitAvailable())('prints the same similarity as git diff -M, and sees the same renames', () => {
    const long = 'a line that is longer than sixty-four bytes, so git cuts it into two chunks\n';
    const cases: [string, string][] = [
      [TEN, TEN.replace('line 5', 'line five')],
      [`${TEN}extra\n`, TEN],
      [TEN.replaceAll('\n', '\r\n'), TEN],
      [`${long}${TEN}`, `${long.replace('two', '2')}${TEN}`],
      [`${TEN}no newline at the end`, `${TEN}no newline at the end!`],
      ['a\nb\nc\n', 'a\nX\nY\n'],
      [`${TEN}${TEN}`, `${TEN}${TEN.slice(0, 30)}`],
      [`${'x'.repeat(64)}${'y'.repeat(64)}\n`, `${'x'.repeat(64)}${'z'.repeat(64)}\n`], // git's chunk hash cannot tell these apart: 100%
    ];
    for (const [before, after] of cases) {
      const score = similarityScore(b(before), b(after));
      const ours = score >= MAX_SCORE / 2 ? similarityPercent(score) : null;
      expect(ours, JSON.stringify([before, after])).toBe(gitSimilarity(before, after));
    }
  });
});
