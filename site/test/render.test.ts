/**
 * The renderers one at a time, without typedoc: markdown (ids, highlighting, link
 * rewriting), the repository → site path map, source pages, diff patches (renames
 * included) and the diff page's pairing of moved files, the
 * numbers page, the command line and the static server.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { html as diffToHtml } from 'diff2html';
import { tempDir, type TempDir } from '../../shared/src/testing.ts';
import { relativeHref } from '../src/layout.ts';
import { parseArgs } from '../src/main.ts';
import { createMarkdown, highlightCode, renderMarkdown, Slugger, slugify } from '../src/markdown.ts';
import { comparePhases, filePatch, renderDiffBody } from '../src/diff-page.ts';
import { chartCommand, commandsOf, formatValue, renderNumbersBody, renderRunTables } from '../src/numbers.ts';
import { RepoLinks } from '../src/repo-links.ts';
import { loadCourse, parseManifest, phasePages, sitePathFor } from '../src/repo.ts';
import { serveStatic } from '../src/serve.ts';
import { splitHighlightedLines } from '../src/source.ts';
import { fixtureFiles, makeFixture, writeTree } from './fixture.ts';

describe('markdown', () => {
  const md = createMarkdown();
  const keep = (href: string): string => href;

  it('slugs headings the way GitHub does, numbering repeats', () => {
    expect(slugify('Phase 1: The `Log` class')).toBe('phase-1-the-log-class');
    expect(slugify('Why fsync?  Twice')).toBe('why-fsync--twice');
    expect(slugify('Größe & Ärger')).toBe('größe--ärger');
    const s = new Slugger();
    expect([s.slug('Recovery'), s.slug('Recovery'), s.slug('Recovery-1'), s.slug('Recovery')]).toEqual(['recovery', 'recovery-1', 'recovery-1-1', 'recovery-2']);
  });

  it('gives headings ids and self-links, and reports the h1 as the title', () => {
    const r = renderMarkdown(md, '# Phase 1: the log\n\n## Code tour\n\n## Code tour\n', keep);
    expect(r.title).toBe('Phase 1: the log');
    expect(r.headings.map((h) => h.id)).toEqual(['phase-1-the-log', 'code-tour', 'code-tour-1']);
    expect(r.html).toContain('<h1 id="phase-1-the-log">Phase 1: the log</h1>');
    expect(r.html).toContain('<h2 id="code-tour-1">Code tour<a class="anchor" href="#code-tour-1"');
  });

  it('highlights fenced code at build time and leaves plain fences escaped', () => {
    const r = renderMarkdown(md, '```ts\nconst x: number = 1;\n```\n\n```text\n<not html>\n```\n', keep);
    expect(r.html).toContain('<pre class="hljs"><code class="language-ts"><span class="hljs-keyword">const</span>');
    expect(r.html).toContain('&lt;not html&gt;');
    expect(highlightCode('a < b', 'no-such-language')).toBe('a &lt; b');
  });

  it('wraps tables so wide ones scroll', () => {
    expect(renderMarkdown(md, '| a | b |\n| - | - |\n| 1 | 2 |\n', keep).html).toContain('<div class="table-wrap"><table>');
  });
});

describe('repository links', () => {
  let fx: TempDir;
  beforeAll(() => {
    fx = makeFixture();
  });
  afterAll(() => fx.remove());

  it('maps repository paths to site paths', () => {
    expect(sitePathFor('phases/01-log/README.md', 'file')).toBe('phases/01-log/index.html');
    expect(sitePathFor('phases/01-log', 'dir')).toBe('phases/01-log/index.html');
    expect(sitePathFor('phases/01-log/src/log.ts', 'file')).toBe('phases/01-log/src/log.ts.html');
    expect(sitePathFor('course/glossary.md', 'file')).toBe('course/glossary.html');
    expect(sitePathFor('course/introduction.md', 'file')).toBe('index.html');
    expect(sitePathFor('README.md', 'file')).toBe('index.html');
    expect(sitePathFor('bench/results/a.svg', 'file')).toBe('bench/results/a.svg');
    expect(relativeHref('phases/01-log/src/log.ts.html', 'index.html#top')).toBe('../../../index.html#top');
  });

  it('rewrites markdown and raw-HTML links to site paths and records what to publish', () => {
    const problems: string[] = [];
    const links = new RepoLinks(fx.path, problems);
    const page = 'phases/02-beta/index.html';
    const md = createMarkdown();
    const r = renderMarkdown(
      md,
      '[a](../01-alpha/README.md#code-tour) [b](src/wire.ts#L2-L4) [c](/course/glossary.md) [d](https://kafka.apache.org/) [e](#local)\n\n<img src="frame.svg" alt="f">\n',
      links.rewriterFor('phases/02-beta/README.md', page),
    );
    expect(problems).toEqual([]);
    expect(r.html).toContain('href="../01-alpha/index.html#code-tour"');
    expect(r.html).toContain('href="src/wire.ts.html#L2"');
    expect(r.html).toContain('href="../../course/glossary.html"');
    expect(r.html).toContain('href="https://kafka.apache.org/"');
    expect(r.html).toContain('href="#local"');
    expect(r.html).toContain('<img src="frame.svg" alt="f">');
    expect(links.drain().map((t) => t.sitePath)).toEqual([
      'phases/01-alpha/index.html',
      'phases/02-beta/src/wire.ts.html',
      'course/glossary.html',
      'phases/02-beta/frame.svg',
    ]);
  });

  it('reports links to missing files and links that leave the repository', () => {
    const problems: string[] = [];
    const links = new RepoLinks(fx.path, problems);
    renderMarkdown(createMarkdown(), '[x](src/nope.ts) [y](../../../etc/passwd) [z](../../node_modules/x)\n', links.rewriterFor('phases/01-alpha/README.md', 'phases/01-alpha/index.html'));
    expect(problems).toEqual([
      'phases/01-alpha/README.md: broken link "src/nope.ts" (no such file or directory: phases/01-alpha/src/nope.ts)',
      'phases/01-alpha/README.md: link "../../../etc/passwd" leaves the repository',
      'phases/01-alpha/README.md: link "../../node_modules/x" points into a folder the site does not publish',
    ]);
  });

  it('requires a writeup and a valid phase.json for every phase folder', () => {
    const dir = tempDir('site-course-');
    try {
      const files = fixtureFiles();
      delete files['phases/02-beta/README.md'];
      files['phases/01-alpha/phase.json'] = '{"title": "", "summary": "s", "introduces": "src/log.ts"}';
      writeTree(dir.path, files);
      writeTree(dir.path, { 'phases/03-gamma/src/x.ts': 'export const x = 1;\n' });
      const problems: string[] = [];
      const course = loadCourse(dir.path, problems);
      expect(problems).toEqual([
        'phases/01-alpha/phase.json: "title" must be a non-empty string',
        'phases/01-alpha/phase.json: "introduces" must be an array of strings',
        'phases/02-beta has no README.md (every phase needs its writeup)',
        'phases/03-gamma has no README.md (every phase needs its writeup)',
        'phases/03-gamma has no phase.json (title, summary, introduces, changes)',
      ]);
      expect(course.map.map((e) => [e.number, e.phase === null])).toEqual([
        [1, true], [2, false], [3, true], [4, true], [5, true], [6, true], [7, true], [8, true],
      ]);
    } finally {
      dir.remove();
    }
  });

  it('parses a manifest and sorts its lists', () => {
    const problems: string[] = [];
    const m = parseManifest('{"title":"t","summary":"s","introduces":["b","a"],"changes":["c"]}', 'phase.json', problems);
    expect(problems).toEqual([]);
    expect(m).toEqual({ title: 't', summary: 's', introduces: ['a', 'b'], changes: ['c'], removes: [] });
    expect(parseManifest('{', 'x/phase.json', problems)).toBeNull();
    expect(problems[0]).toMatch(/^x\/phase\.json: not valid JSON/);
  });
});

describe('source pages and diffs', () => {
  it('splits highlighted code into lines with balanced spans', () => {
    const html = highlightCode('/* one\ntwo */\nconst x = `a\nb`;', 'ts');
    const lines = splitHighlightedLines(html);
    expect(lines).toHaveLength(4);
    expect(lines[0]).toBe('<span class="hljs-comment">/* one</span>');
    expect(lines[1]).toBe('<span class="hljs-comment">two */</span>');
    for (const line of lines) expect(line.match(/<span/g)?.length ?? 0).toBe(line.match(/<\/span>/g)?.length ?? 0);
  });

  it('makes git-style patches that diff2html labels added, deleted and changed', () => {
    const tag = (patch: string): string => /d2h-tag [^"]*">(\w+)/.exec(diffToHtml(patch, { outputFormat: 'side-by-side' }))?.[1] ?? '';
    expect(tag(filePatch('src/a.ts', null, 'x\n'))).toBe('ADDED');
    expect(tag(filePatch('src/a.ts', 'x\n', null))).toBe('DELETED');
    expect(tag(filePatch('src/a.ts', 'x\n', 'y\n'))).toBe('CHANGED');
    expect(filePatch('src/a.ts', 'a\nb\n', 'a\nc\n')).toBe('diff --git a/src/a.ts b/src/a.ts\n--- a/src/a.ts\n+++ b/src/a.ts\n@@ -1,2 +1,2 @@\n a\n-b\n+c\n');
  });

  it('makes git-style rename patches, with or without edits, that diff2html labels renamed', () => {
    const moved = filePatch('src/seams/a.ts', 'a\nb\n', 'a\nb\n', { from: 'src/a.ts', similarity: 100 });
    expect(moved).toBe('diff --git a/src/a.ts b/src/seams/a.ts\nsimilarity index 100%\nrename from src/a.ts\nrename to src/seams/a.ts\n');
    const edited = filePatch('src/seams/a.ts', 'a\nb\n', 'a\nc\n', { from: 'src/a.ts', similarity: 50 });
    expect(edited).toBe(
      'diff --git a/src/a.ts b/src/seams/a.ts\nsimilarity index 50%\nrename from src/a.ts\nrename to src/seams/a.ts\n--- a/src/a.ts\n+++ b/src/seams/a.ts\n@@ -1,2 +1,2 @@\n a\n-b\n+c\n',
    );
    for (const patch of [moved, edited]) {
      const html = diffToHtml(patch, { outputFormat: 'side-by-side' });
      expect(/d2h-tag [^"]*">(\w+)/.exec(html)?.[1]).toBe('RENAMED');
      expect(html).toContain('<span class="d2h-file-name">src/{a.ts → seams/a.ts}</span>');
    }
  });

  it('pairs a moved file on the diff page, and flags a move whose old path phase.json does not list', () => {
    const fx = makeFixture((f) => {
      f['phases/01-alpha/src/format.ts'] = 'export const A = 1;\nexport const B = 2;\n';
      f['phases/02-beta/src/protocol/format.ts'] = 'export const A = 1;\nexport const B = 2;\n';
      f['phases/02-beta/phase.json'] = JSON.stringify({ title: 'The wire', summary: 'Serve the log.', introduces: ['src/protocol/format.ts', 'src/wire.ts'], changes: ['src/index.ts', 'src/log.ts'] });
    });
    try {
      const course = loadCourse(fx.path, []);
      const [previous, current] = course.phases;
      if (previous === undefined || current === undefined) throw new Error('fixture phases missing');
      const moved = comparePhases(fx.path, previous, current).changes.filter((c) => c.path.includes('format'));
      expect(moved).toEqual([
        {
          path: 'src/protocol/format.ts',
          status: 'renamed',
          from: 'src/format.ts',
          similarity: 100,
          patch: 'diff --git a/src/format.ts b/src/protocol/format.ts\nsimilarity index 100%\nrename from src/format.ts\nrename to src/protocol/format.ts\n',
        },
      ]);
      const html = renderDiffBody(fx.path, previous, current, phasePages(current).diff);
      // The new path is in introduces; the old one is missing from removes, and links to the rename.
      expect(html).toContain(
        '<p class="warning">Differs but not listed in phase.json: <a href="#file-frame-svg"><code>frame.svg</code></a>, <a href="#file-src-protocol-format-ts"><code>src/format.ts</code></a>, <a href="#file-test-log-test-ts"><code>test/log.test.ts</code></a></p>',
      );
    } finally {
      fx.remove();
    }
  });
});

describe('numbers page', () => {
  it('formats numbers with grouping and at most three decimals', () => {
    expect(formatValue(1234567)).toBe('1,234,567');
    expect(formatValue(1.23456)).toBe('1.235');
    expect(formatValue(null)).toBe('—');
    expect(formatValue([1, 2])).toBe('1, 2');
  });

  it('says there are no results yet and gives the command to make them', () => {
    const dir = tempDir('site-numbers-');
    try {
      const r = renderNumbersBody(dir.path, true);
      expect(r.problems).toEqual([]);
      expect(r.body).toContain('No results yet.');
      expect(r.body).toContain('npm run bench');
    } finally {
      dir.remove();
    }
  });

  it('shows each results file with its command, and rejects one without', () => {
    const dir = tempDir('site-numbers-');
    try {
      writeTree(dir.path, {
        'bench/results/a.json': JSON.stringify({ command: 'npm run bench -- a', total: 5000, nested: { x: 1.5 } }),
        'bench/results/b.json': JSON.stringify({ total: 1 }),
        'bench/results/a.svg': '<svg xmlns="http://www.w3.org/2000/svg"><text>title</text></svg>',
      });
      const r = renderNumbersBody(dir.path, true);
      expect(r.problems).toEqual(['bench/results/b.json: has no "command" field (every result must say what produced it)']);
      expect(r.body).toContain('<code>npm run bench -- a</code>');
      expect(r.body).toContain('<td>nested.x</td><td>1.5</td>');
      expect(r.body).toContain('<img src="bench/results/a.svg"');
      expect(r.body).toContain('(the chart does not state its command)');
      expect(r.assets.map((a) => a.sitePath)).toEqual(['bench/results/a.svg']);
    } finally {
      dir.remove();
    }
  });

  it('tabulates benchmark run objects and reads each run\'s command', () => {
    const run = (label: string, p99: number) => ({
      schema: 'commitlog-bench/run/1', label, mode: 'served', phase: 8, recordsPerSec: 250000.4, mbPerSec: 25, errors: 0, timedOut: 0,
      latencyMs: { p50: 2, p90: 5, p99, p999: 30, max: 41, mean: 3 }, brokerCpuCores: null, startedAt: '2025-01-01T00:00:00.000Z',
      workload: { producers: 500, workers: 2, recordBytes: 100, recordsPerSend: 1, loop: 'closed', targetRatePerSec: null, warmupSec: 2, durationSec: 10, transport: 'TCP', ack: 'after fsync' },
      machine: { cores: 2, cpuModel: 'cpu', memoryGiB: 4, node: 'v20', os: 'linux', dataFs: 'ext4', loadAvg1m: 0.5 },
      command: 'npm run bench -- --phase 8', notes: ['one note'],
    });
    const cells = renderRunTables({ runs: [run('ours', 12.5), run('redis', 9)] });
    expect(commandsOf({ runs: [run('ours', 1), run('redis', 2)] })).toEqual(['npm run bench -- --phase 8']);
    expect(cells).toContain('<th>records/s</th><th>MB/s</th><th>P50 ms</th><th>P99 ms</th>');
    expect(cells).not.toContain('broker cores');
    expect(cells).toContain('<td>ours</td><td>served</td><td>8</td><td>500</td><td>closed</td><td>250,000.4</td>');
    expect(cells).toContain('<strong>Workload:</strong> 500 producers on 2 worker threads, 100-byte values');
    expect(cells).toContain('<strong>Notes:</strong> one note');
  });

  it('reads the command back from a chart caption, across wrapped lines', () => {
    const svg = '<svg><text x="1">title</text><text>command: npm run bench -- --phase 8</text><text>  --peer-redis; 2025-01-01T00:00:00.000Z</text></svg>';
    expect(chartCommand(svg)).toBe('npm run bench -- --phase 8 --peer-redis');
    expect(chartCommand('<svg><text>command: npm run bench &amp;&amp; x</text></svg>')).toBe('npm run bench && x');
    expect(chartCommand('<svg><text>no command here</text></svg>')).toBeNull();
  });
});

describe('command line and server', () => {
  it('parses --serve, --port and --out, and rejects the rest', () => {
    expect(parseArgs([])).toEqual({ serve: false, port: 0, out: null, fixRegions: false });
    expect(parseArgs(['--serve', '--port', '8080', '--out', '/tmp/x'])).toEqual({ serve: true, port: 8080, out: '/tmp/x', fixRegions: false });
    expect(parseArgs(['--fix-regions'])).toEqual({ serve: false, port: 0, out: null, fixRegions: true });
    expect(() => parseArgs(['--port', '80'])).toThrow('--port only makes sense with --serve');
    expect(() => parseArgs(['--serve', '--port', 'x'])).toThrow('--port must be an integer');
    expect(() => parseArgs(['--bogus'])).toThrow('unknown argument "--bogus"');
  });

  it('serves files and directory indexes on 127.0.0.1 and refuses paths outside the site', async () => {
    const dir = tempDir('site-serve-');
    writeTree(dir.path, { 'index.html': '<h1>home</h1>', 'a/index.html': 'a', 'style.css': 'p{}' });
    const server = await serveStatic(dir.path);
    try {
      expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
      const home = await fetch(server.url);
      expect(home.status).toBe(200);
      expect(home.headers.get('content-type')).toBe('text/html; charset=utf-8');
      expect(await home.text()).toBe('<h1>home</h1>');
      expect(await (await fetch(`${server.url}a/`)).text()).toBe('a');
      expect((await fetch(`${server.url}style.css`)).headers.get('content-type')).toBe('text/css; charset=utf-8');
      expect((await fetch(`${server.url}missing.html`)).status).toBe(404);
      expect((await fetch(`${server.url}..%2f..%2fetc%2fpasswd`)).status).toBe(403);
    } finally {
      await server.close();
      dir.remove();
    }
  });
});
