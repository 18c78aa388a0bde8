/**
 * Whole builds (typedoc included) of the small fixture course: what a good build
 * writes (each phase's API from its own index.ts), that two builds are
 * byte-identical, the architecture page and renamed files when the course has them,
 * a chapter quoting a source region (rendered with a caption linking to its lines),
 * and that each defect the build must
 * refuse — a missing writeup, a broken link or anchor, a typedoc warning, a benchmark
 * result without its command, a broken region or directive — fails it with a message
 * naming the culprit.
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir, type TempDir } from '../../shared/src/testing.ts';
import type { BuildResult } from '../src/build.ts';
import { buildSite } from '../src/build.ts';
import { checkLinks } from '../src/links.ts';
import { SiteBuildError } from '../src/problems.ts';
import { makeFixture } from './fixture.ts';

/** sha256 of every file under `dir`, by relative path. */
function fingerprint(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (rel: string): void => {
    for (const e of readdirSync(join(dir, rel), { withFileTypes: true })) {
      const child = rel === '' ? e.name : `${rel}/${e.name}`;
      if (e.isDirectory()) walk(child);
      else out.set(child, createHash('sha256').update(readFileSync(join(dir, child))).digest('hex'));
    }
  };
  walk('');
  return out;
}

/** Build a fixture changed by `edit` and return the build error's problems. */
async function problemsOf(edit: (files: Record<string, string>) => void): Promise<readonly string[]> {
  const fx = makeFixture(edit);
  const out = tempDir('site-out-');
  try {
    await buildSite({ root: fx.path, out: out.path });
  } catch (err) {
    if (err instanceof SiteBuildError) return err.problems;
    throw err;
  } finally {
    fx.remove();
    out.remove();
  }
  throw new Error('build succeeded but was expected to fail');
}

describe('a good build of the fixture course', () => {
  let fx: TempDir;
  let out: TempDir;
  let again: TempDir;
  let result: BuildResult;
  const read = (path: string): string => readFileSync(join(out.path, path), 'utf8');

  beforeAll(async () => {
    fx = makeFixture();
    out = tempDir('site-out-');
    again = tempDir('site-out-');
    result = await buildSite({ root: fx.path, out: out.path });
    await buildSite({ root: fx.path, out: again.path });
  });
  afterAll(() => {
    fx.remove();
    out.remove();
    again.remove();
  });

  it('reports the phases with their headings and pages', () => {
    expect(result.phases.map((p) => [p.number, p.writeupHeading, p.diffHeading, p.apiHeading])).toEqual([
      [1, 'Phase 1: the log', null, 'Phase 1 API: The log'],
      [2, 'Phase 2: the wire', 'Phase 2: what changed since phase 1', 'Phase 2 API: The wire'],
    ]);
    expect(result.pageCount).toBeGreaterThan(20);
  });

  it('renders home from the introduction, with the start commands and the map of all eight phases', () => {
    const home = read('index.html');
    expect(home).toContain('<h1 id="the-fixture-course">The fixture course</h1>');
    expect(home).toContain('npm ci &amp;&amp; npm run phase 1\nnpm test');
    expect(home).toContain('An append-only list.');
    expect(home).toContain('href="phases/02-beta/diff.html"');
    expect(home.match(/not written yet<\/span>/g)).toHaveLength(6);
    expect(home).toContain('href="course/glossary.html#offset"');
    // The fixture has no course/architecture.md, so there is no link to one.
    expect(home).not.toContain('course/architecture.html');
  });

  it('renders writeups with prev/next links, tabs and highlighted code', () => {
    const w1 = read('phases/01-alpha/index.html');
    expect(w1).toContain('href="src/log.ts.html#L4"');
    expect(w1).toContain('<span class="hljs-keyword">const</span>');
    expect(w1).toContain('rel="next" href="../02-beta/index.html"');
    expect(w1).toContain('href="api/index.html"');
    expect(w1).not.toContain('href="diff.html"');
    const w2 = read('phases/02-beta/index.html');
    expect(w2).toContain('rel="prev" href="../01-alpha/index.html"');
    expect(w2).toContain('href="diff.html"');
    expect(w2).toContain('<img src="frame.svg" alt="frame">');
    expect(w2).toContain('href="src/index.html"');
    expect(read('phases/02-beta/src/index.html')).toContain('<a href="wire.ts.html">wire.ts</a>');
  });

  it('shows the diff side by side after the phase.json lists', () => {
    const diff = read('phases/02-beta/diff.html');
    expect(diff.indexOf('What phase.json says')).toBeLessThan(diff.indexOf('d2h-file-side-diff'));
    expect(diff).toContain('<a href="#file-src-wire-ts"><code>src/wire.ts</code></a>');
    expect(diff).toContain('<span class="status added">added</span>');
    expect(diff).toContain('d2h-file-side-diff');
    expect(diff).toContain('href="../../assets/diff2html.min.css"');
  });

  it('writes typedoc API pages whose source links land on our source pages', () => {
    const api = read('phases/01-alpha/api/classes/Log.html');
    expect(api).toContain('<h1>Class Log</h1>');
    expect(api).toMatch(/href="\.\.\/\.\.\/\.\.\/\.\.\/phases\/01-alpha\/src\/log\.ts\.html#L\d+"/);
    expect(api).toContain('href="../../../../phases/01-alpha/index.html"');
    expect(read('phases/02-beta/api/index.html')).toContain('Phase 2 API: The wire');
  });

  it("documents each phase from that phase's own src/index.ts", () => {
    // Phase 2's index.ts also exports encodeFrame (src/wire.ts); phase 1 has neither.
    expect(read('phases/02-beta/api/functions/encodeFrame.html')).toContain('encodeFrame');
    expect(read('phases/02-beta/api/classes/Log.html')).toMatch(/href="\.\.\/\.\.\/\.\.\/\.\.\/phases\/02-beta\/src\/log\.ts\.html#L\d+"/);
    expect(read('phases/02-beta/api/classes/Log.html')).toContain('size');
    expect(existsSync(join(out.path, 'phases/01-alpha/api/functions/encodeFrame.html'))).toBe(false);
    expect(read('phases/01-alpha/api/classes/Log.html')).not.toContain('size');
  });

  it('shows benchmark runs with their command, and copies the charts', () => {
    const numbers = read('numbers.html');
    expect(numbers).toContain('<pre class="hljs command"><code>npm run bench -- --phase 1</code></pre>');
    expect(numbers).toContain('<td>123,456.789</td>');
    expect(numbers).toContain('<img src="bench/results/latency-alpha.svg"');
    expect(numbers).toContain('produced by <code>npm run bench -- --phase 1</code>');
    expect(read('bench/results/latency-alpha.svg')).toContain('<svg');
  });

  it('passes the link checker with every phase page reachable from home', () => {
    const pages = result.phases.flatMap((p) => [p.pages.writeup, p.pages.api, p.pages.files, ...(p.diffHeading === null ? [] : [p.pages.diff])]);
    const check = checkLinks(out.path, { required: pages });
    expect(check.problems).toEqual([]);
    expect(check.reachable).toContain('course/glossary.html');
  });

  it('is reproducible: a second build is byte-identical', () => {
    const a = fingerprint(out.path);
    const b = fingerprint(again.path);
    expect([...b.keys()]).toEqual([...a.keys()]);
    for (const [path, hash] of a) expect(b.get(path), path).toBe(hash);
  });
});

describe('a fixture course with an architecture document and files moved in phase 2', () => {
  const FORMAT = Array.from({ length: 8 }, (_, i) => `export const FORMAT_${i + 1} = ${i + 1};`).join('\n') + '\n';
  const CODEC = Array.from({ length: 8 }, (_, i) => `export const CODEC_${i + 1} = ${i + 1};`).join('\n') + '\n';
  let fx: TempDir;
  let out: TempDir;
  const read = (path: string): string => readFileSync(join(out.path, path), 'utf8');

  beforeAll(async () => {
    fx = makeFixture((f) => {
      f['course/architecture.md'] = [
        '# Architecture',
        '',
        '## Seams',
        '',
        'Frames are [encoded here](../phases/02-beta/src/wire.ts#L2-L4), the log is in [phase 1](../phases/01-alpha/README.md#code-tour), and the words are in the [glossary](glossary.md#offset).',
        '',
      ].join('\n');
      f['phases/01-alpha/src/format.ts'] = FORMAT;
      f['phases/01-alpha/src/codec.ts'] = CODEC;
      f['phases/01-alpha/phase.json'] = JSON.stringify({ title: 'The log', summary: 'An append-only list.', introduces: ['src/codec.ts', 'src/format.ts', 'src/index.ts', 'src/log.ts'], changes: [] });
      // Moved without edits, and moved with one line edited.
      f['phases/02-beta/src/protocol/format.ts'] = FORMAT;
      f['phases/02-beta/src/protocol/codec.ts'] = CODEC.replace('CODEC_5 = 5', 'CODEC_5 = 50');
      f['phases/02-beta/phase.json'] = JSON.stringify({
        title: 'The wire',
        summary: 'Serve the log.',
        introduces: ['src/protocol/codec.ts', 'src/protocol/format.ts', 'src/wire.ts'],
        changes: ['src/index.ts', 'src/log.ts'],
        removes: ['src/codec.ts', 'src/format.ts'],
      });
    });
    out = tempDir('site-out-');
    await buildSite({ root: fx.path, out: out.path });
  });
  afterAll(() => {
    fx.remove();
    out.remove();
  });

  it('renders the architecture document as a page whose relative links resolve', () => {
    const page = read('course/architecture.html');
    expect(page).toContain('<h1 id="architecture">Architecture</h1>');
    expect(page).toContain('href="../phases/02-beta/src/wire.ts.html#L2"');
    expect(page).toContain('href="../phases/01-alpha/index.html#code-tour"');
    expect(page).toContain('href="glossary.html#offset"');
    expect(page).toContain('<a href="architecture.html" aria-current="page">Architecture</a>');
  });

  it('links the architecture page from home, next to the glossary, and from the sidebar', () => {
    const home = read('index.html');
    expect(home).toContain(
      'Terms: <a href="course/glossary.html">Glossary</a>. How the broker is put together and the rules every phase keeps: <a href="course/architecture.html">Architecture</a>.</p>',
    );
    expect(home).toContain('<li><a href="course/glossary.html">Glossary</a></li><li><a href="course/architecture.html">Architecture</a></li>');
    expect(checkLinks(out.path, { required: ['course/architecture.html'] }).problems).toEqual([]);
  });

  it('shows a moved file as one rename, with its edits, on the diff page', () => {
    const diff = read('phases/02-beta/diff.html');
    expect(diff).toContain('7 files differ (2 of them moved from another path, shown as renames)');
    expect(diff).toContain(
      '<li><span class="status renamed">renamed</span> <a href="#file-src-protocol-format-ts"><code>src/format.ts</code> → <code>src/protocol/format.ts</code></a> <span class="stats"><span class="plus">+0</span> <span class="minus">−0</span></span></li>',
    );
    expect(diff).toContain(
      '<h3><span class="status renamed">renamed</span> <a href="../01-alpha/src/format.ts.html"><code>src/format.ts</code></a> → <a href="src/protocol/format.ts.html"><code>src/protocol/format.ts</code></a> <span class="note">(similarity 100%)</span></h3>\n<p>Moved without edits.</p>',
    );
    expect(diff).toContain(
      '<h3><span class="status renamed">renamed</span> <a href="../01-alpha/src/codec.ts.html"><code>src/codec.ts</code></a> → <a href="src/protocol/codec.ts.html"><code>src/protocol/codec.ts</code></a> <span class="note">(similarity 87%)</span></h3>',
    );
    expect(diff).toContain('<span class="d2h-file-name">src/{codec.ts → protocol/codec.ts}</span>');
    expect(diff).toContain('d2h-moved-tag">RENAMED</span>');
    expect(diff).toContain('CODEC_5 = <ins>50</ins>');
    // Listed in removes under its old path, the file links to its rename.
    expect(diff).toContain('<h3>Removes</h3>\n<ul class="manifest"><li><a href="#file-src-protocol-codec-ts"><code>src/codec.ts</code></a></li><li><a href="#file-src-protocol-format-ts"><code>src/format.ts</code></a></li></ul>');
    expect(diff).not.toContain('status removed');
    expect(diff).not.toContain('status added">added</span> <a href="#file-src-protocol');
    // Both paths of each move are listed, so only the fixture's other unlisted files are flagged.
    expect(diff).toContain(
      '<p class="warning">Differs but not listed in phase.json: <a href="#file-frame-svg"><code>frame.svg</code></a>, <a href="#file-test-log-test-ts"><code>test/log.test.ts</code></a></p>',
    );
  });
});

/** Phase 1's log.ts with its append method marked as the region "append" (lines 6-9 after marking). */
function markAppend(files: Record<string, string>): void {
  files['phases/01-alpha/src/log.ts'] = (files['phases/01-alpha/src/log.ts'] ?? '')
    .replace('  /** Append `value`', '  // #region append\n  /** Append `value`')
    .replace('    return this.items.length - 1;\n  }\n', '    return this.items.length - 1;\n  }\n  // #endregion append\n');
}

const APPEND_COPY = ['```ts', '/** Append `value`; returns its offset. See {@link Log.read}. */', 'append(value: number): number {', '  this.items.push(value);', '  return this.items.length - 1;', '}', '```'].join('\n');

describe('a fixture course whose chapter quotes a source region', () => {
  let fx: TempDir;
  let out: TempDir;
  const read = (path: string): string => readFileSync(join(out.path, path), 'utf8');

  beforeAll(async () => {
    fx = makeFixture((f) => {
      markAppend(f);
      f['phases/01-alpha/README.md'] += `\n## Appending\n\nThe whole append path:\n\n<!-- include: src/log.ts#append -->\n${APPEND_COPY}\n\nThat is all.\n`;
    });
    out = tempDir('site-out-');
    await buildSite({ root: fx.path, out: out.path });
  });
  afterAll(() => {
    fx.remove();
    out.remove();
  });

  it('renders the region as highlighted code under a caption that links to its first line on the source page', () => {
    const w1 = read('phases/01-alpha/index.html');
    expect(w1).toContain(
      '<figure class="region" data-region="src/log.ts#append"><figcaption><a href="src/log.ts.html#L5"><code>src/log.ts</code> lines 5–9</a></figcaption><pre class="hljs"><code class="language-ts">',
    );
    expect(w1).toContain('<span class="hljs-title function_">append</span>(<span class="hljs-attr">value</span>');
    expect(w1).not.toContain('#region');
    expect(w1).not.toContain('include:');
    // The linked line is the region's first line on the source page, which shows the markers.
    const source = read('phases/01-alpha/src/log.ts.html');
    expect(source).toMatch(/<span class="line" id="L4">.*#region append/);
    expect(source).toContain('<span class="line" id="L5"><a class="ln" href="#L5">5</a><span class="lc">  <span class="hljs-comment">/** Append `value`');
    expect(checkLinks(out.path, { required: ['phases/01-alpha/index.html'] }).problems).toEqual([]);
  });
});

describe('the build fails, naming the culprit', () => {
  it('when a phase has no writeup', async () => {
    expect(await problemsOf((f) => delete f['phases/02-beta/README.md'])).toEqual(['phases/02-beta has no README.md (every phase needs its writeup)']);
  });

  it('when a writeup links to a missing file or a missing anchor', async () => {
    const problems = await problemsOf((f) => {
      f['phases/01-alpha/README.md'] += '\nSee [the index](src/index-missing.ts) and [recovery](../02-beta/README.md#no-such-heading).\n';
    });
    expect(problems).toEqual([
      'phases/01-alpha/README.md: broken link "src/index-missing.ts" (no such file or directory: phases/01-alpha/src/index-missing.ts)',
    ]);
    const anchors = await problemsOf((f) => {
      f['phases/01-alpha/README.md'] += '\nSee [recovery](../02-beta/README.md#no-such-heading).\n';
    });
    expect(anchors).toEqual(['phases/01-alpha/index.html: broken anchor "../02-beta/index.html#no-such-heading" (no id "no-such-heading" in phases/02-beta/index.html)']);
  });

  it('when typedoc warns (an unresolved {@link})', async () => {
    const problems = await problemsOf((f) => {
      f['phases/02-beta/src/wire.ts'] = (f['phases/02-beta/src/wire.ts'] ?? '').replace('big-endian length.', 'big-endian length, see {@link NoSuchThing}.');
    });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^phases\/02-beta \(typedoc\): warning: Failed to resolve link to "NoSuchThing"/);
  });

  it('when a chapter quotes a missing file or region, or its copy is stale, and when any phase file has a broken marker', async () => {
    const problems = await problemsOf((f) => {
      markAppend(f);
      f['phases/02-beta/src/wire.ts'] = `// #region frame\n${f['phases/02-beta/src/wire.ts'] ?? ''}`;
      f['phases/01-alpha/README.md'] += [
        '',
        '<!-- include: src/log.ts#append -->',
        APPEND_COPY.replace('this.items.push(value);', 'this.items.push(value); // edited'),
        '',
        '<!-- include: src/log.ts#read -->',
        '',
        '<!-- include: src/gone.ts#append -->',
        '',
      ].join('\n');
    });
    expect(problems).toEqual([
      'phases/01-alpha/README.md:20: the copy of "src/log.ts#append" differs from phases/01-alpha/src/log.ts (line 3 of the copy is "  this.items.push(value); // edited", the source has "  this.items.push(value);"); run npm run site -- --fix-regions',
      'phases/01-alpha/README.md:29: include "src/log.ts#read": no region "read" in phases/01-alpha/src/log.ts (it has: append)',
      'phases/01-alpha/README.md:31: include "src/gone.ts#append": no such file phases/01-alpha/src/gone.ts',
      'phases/02-beta/src/wire.ts:1: "#region frame" is never closed (add "// #endregion frame")',
    ]);
  });

  it('when a benchmark result does not say which command produced it', async () => {
    expect(await problemsOf((f) => (f['bench/results/served-alpha.json'] = '{"runs": [{"recordsPerSec": 1}]}'))).toEqual([
      'bench/results/served-alpha.json: has no "command" field (every result must say what produced it)',
    ]);
  });
});
