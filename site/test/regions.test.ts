/**
 * Code in the chapters (`regions.ts`), without typedoc: how markers become regions
 * (nesting, dedent, line ranges, every marker defect), how a directive and its fenced
 * copy render and what each wrong directive reports, and the copy rewriter behind
 * `npm run site -- --fix-regions`.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { tempDir, type TempDir } from '../../shared/src/testing.ts';
import { createMarkdown, renderMarkdown, Slugger } from '../src/markdown.ts';
import { fencedCopy, fixRegionCopies, parseDirective, parseRegions, RegionIndex } from '../src/regions.ts';
import { writeTree } from './fixture.ts';

const SOURCE = [
  '/** A log. */', //                          1
  'export class Log {', //                     2
  '  // #region append', //                    3
  '  /** Append one value. */', //             4
  '  append(v: number): number {', //          5
  '    // #region push', //                     6
  '    this.items.push(v);', //                 7
  '    // #endregion push', //                  8
  '', //                                        9
  '    return this.items.length - 1;', //       10
  '  }', //                                     11
  '', //                                        12
  '  // #endregion append', //                 13
  '}', //                                       14
  '',
].join('\n');

describe('parseRegions', () => {
  it('finds nested regions, leaves the markers out, strips the common indentation and reports the lines kept', () => {
    const { regions, problems } = parseRegions(SOURCE, 'src/log.ts');
    expect(problems).toEqual([]);
    expect(regions.get('append')).toEqual({
      name: 'append',
      file: 'src/log.ts',
      startLine: 4,
      endLine: 11,
      code: ['/** Append one value. */', 'append(v: number): number {', '  this.items.push(v);', '', '  return this.items.length - 1;', '}'].join('\n'),
      duplicate: false,
    });
    expect(regions.get('push')).toMatchObject({ startLine: 7, endLine: 7, code: 'this.items.push(v);' });
  });

  it('accepts VS Code spelling only: a name on both markers', () => {
    expect(parseRegions('// #region a.b_c-1\nx;\n// #endregion a.b_c-1\n', 'f.ts').problems).toEqual([]);
    expect(parseRegions('//#region a\nx;\n// #endregion a\n// #region\n// #endregion two words\n', 'f.ts').problems).toEqual([
      'f.ts:1: malformed region marker "//#region a" (write "// #region <name>" and "// #endregion <name>")',
      'f.ts:3: "#endregion a" without an open "#region a"',
      'f.ts:4: malformed region marker "// #region" (write "// #region <name>" and "// #endregion <name>")',
      'f.ts:5: malformed region marker "// #endregion two words" (write "// #region <name>" and "// #endregion <name>")',
    ]);
  });

  it('reports an unclosed region, a mismatched end, a region defined twice and an empty one', () => {
    const text = [
      '// #region open', //        1
      'a();', //                   2
      '// #region inner', //       3
      'b();', //                   4
      '// #endregion other', //    5
      '// #endregion inner', //    6
      '// #region twice', //       7
      'c();', //                   8
      '// #endregion twice', //    9
      '// #region twice', //       10
      'd();', //                   11
      '// #endregion twice', //    12
      '// #region empty', //       13
      '', //                       14
      '// #endregion empty', //    15
      '',
    ].join('\n');
    const { regions, problems } = parseRegions(text, 'src/x.ts');
    expect(problems).toEqual([
      'src/x.ts:5: "#endregion other" does not close the innermost open region "inner" (opened at line 3)',
      'src/x.ts:1: "#region open" is never closed (add "// #endregion open")',
      'src/x.ts:10: region "twice" is defined twice (first at line 7)',
      'src/x.ts:13: region "empty" is empty',
    ]);
    expect(regions.get('twice')?.duplicate).toBe(true);
    expect(regions.get('inner')?.code).toBe('b();');
  });

  it('reports an end that closes an outer region while an inner one is open', () => {
    expect(parseRegions('// #region a\n// #region b\nx;\n// #endregion a\n', 'f.ts').problems).toEqual([
      'f.ts:4: "#endregion a" does not close the innermost open region "b" (opened at line 2)',
    ]);
  });
});

describe('directives', () => {
  it('parses the directive and names what is wrong with a malformed one', () => {
    expect(parseDirective('<!-- include: src/log/log.ts#append -->\n', 3)).toEqual({ path: 'src/log/log.ts', name: 'append', line: 3 });
    expect(parseDirective('<!-- a comment -->', 1)).toBeNull();
    expect(parseDirective('<!-- include src/log.ts -->', 1)).toMatch(/^malformed include directive "<!-- include src\/log.ts -->"/);
    expect(parseDirective('<!-- include: src/log.ts -->', 1)).toMatch(/^malformed include directive/);
  });

  it('fences a copy with more backticks than the code holds', () => {
    expect(fencedCopy('a\nb', 'ts')).toEqual(['```ts', 'a', 'b', '```']);
    expect(fencedCopy('const s = `````;', 'ts')).toEqual(['``````ts', 'const s = `````;', '``````']);
  });
});

describe('rendering an included region', () => {
  let dir: TempDir | undefined;
  afterEach(() => dir?.remove());
  const md = createMarkdown();
  const APPEND = fencedCopy(parseRegions(SOURCE, 'x').regions.get('append')?.code ?? '', 'ts').join('\n');

  /** Render `markdown` as phases/01-a/README.md of a tree holding SOURCE at phases/01-a/src/log.ts. */
  const render = (markdown: string, files: Record<string, string> = {}): { html: string; problems: string[] } => {
    dir = tempDir('regions-');
    writeTree(dir.path, { 'phases/01-a/src/log.ts': SOURCE, 'phases/01-a/notes.txt': 'text\n', ...files });
    const problems: string[] = [];
    const regions = new RegionIndex(dir.path, problems);
    const r = renderMarkdown(md, markdown, (href) => `REWRITTEN(${href})`, new Slugger(), { file: 'phases/01-a/README.md', regions, problems });
    return { html: r.html, problems };
  };

  it('renders the region from the source, highlighted, under a caption linking to its lines; the copy is not rendered twice', () => {
    const { html, problems } = render(`# A\n\nThe append path:\n\n<!-- include: src/log.ts#append -->\n${APPEND}\n\nAfter.\n`);
    expect(problems).toEqual([]);
    expect(html).toContain(
      '<figure class="region" data-region="src/log.ts#append"><figcaption><a href="REWRITTEN(src/log.ts#L4-L11)"><code>src/log.ts</code> lines 4–11</a></figcaption><pre class="hljs"><code class="language-ts">',
    );
    expect(html).toContain('<span class="hljs-title function_">append</span>');
    expect(html).not.toContain('#region');
    expect(html).not.toContain('include:');
    expect(html.match(/<pre/g)).toHaveLength(1);
    expect(html).toContain('<p>After.</p>');
  });

  it('says "line N" for a one-line region', () => {
    expect(render('<!-- include: src/log.ts#push -->\n```ts\nthis.items.push(v);\n```\n').html).toContain('<code>src/log.ts</code> line 7</a>');
  });

  it('fails on a missing file, a missing region, a file that cannot hold regions, and a path that leaves the repository', () => {
    const { problems } = render(
      [
        '<!-- include: src/nope.ts#append -->',
        '',
        '<!-- include: src/log.ts#nope -->',
        '',
        '<!-- include: notes.txt#x -->',
        '',
        '<!-- include: ../../../etc/x.ts#a -->',
        '',
      ].join('\n'),
    );
    expect(problems).toEqual([
      'phases/01-a/README.md:1: include "src/nope.ts#append": no such file phases/01-a/src/nope.ts',
      'phases/01-a/README.md:3: include "src/log.ts#nope": no region "nope" in phases/01-a/src/log.ts (it has: append, push)',
      'phases/01-a/README.md:5: include "notes.txt#x": phases/01-a/notes.txt cannot hold regions (only .ts, .mts, .cts, .tsx, .js, .mjs, .cjs, .jsx files have // #region markers)',
      'phases/01-a/README.md:7: include "../../../etc/x.ts#a": the path leaves the repository',
    ]);
  });

  it('fails on an empty region, a region defined twice and an unclosed one, naming both the source and the directive', () => {
    const bad = '// #region empty\n\n// #endregion empty\n// #region two\na;\n// #endregion two\n// #region two\nb;\n// #endregion two\n// #region open\nc;\n';
    const { problems } = render('<!-- include: src/bad.ts#empty -->\n\n<!-- include: src/bad.ts#two -->\n\n<!-- include: src/bad.ts#open -->\n', { 'phases/01-a/src/bad.ts': bad });
    expect(problems).toEqual([
      'phases/01-a/src/bad.ts:10: "#region open" is never closed (add "// #endregion open")',
      'phases/01-a/src/bad.ts:1: region "empty" is empty',
      'phases/01-a/src/bad.ts:7: region "two" is defined twice (first at line 4)',
      'phases/01-a/README.md:1: include "src/bad.ts#empty": region "empty" in phases/01-a/src/bad.ts is empty',
      'phases/01-a/README.md:3: include "src/bad.ts#two": region "two" is defined more than once in phases/01-a/src/bad.ts',
      'phases/01-a/README.md:5: include "src/bad.ts#open": no region "open" in phases/01-a/src/bad.ts (it has: empty, two)',
    ]);
  });

  it('fails when the copy is missing or differs from the source, and when a directive is malformed or nested', () => {
    const stale = APPEND.replace('return this.items.length - 1;', 'return this.items.length;');
    const { html, problems } = render(
      [
        '<!-- include: src/log.ts#push -->',
        '',
        '```sh',
        'npm run phase 1',
        '```',
        '',
        '<!-- include: src/log.ts#push -->',
        '',
        '<!-- include: src/log.ts#append -->',
        stale,
        '',
        '<!-- include src/log.ts#append -->',
        '',
        '- <!-- include: src/log.ts#push -->',
        '',
      ].join('\n'),
    );
    expect(problems).toEqual([
      'phases/01-a/README.md:1: include "src/log.ts#push" is not directly followed (no blank line) by a fenced copy of the region (run npm run site -- --fix-regions)',
      'phases/01-a/README.md:7: include "src/log.ts#push" is not directly followed (no blank line) by a fenced copy of the region (run npm run site -- --fix-regions)',
      'phases/01-a/README.md:9: the copy of "src/log.ts#append" differs from phases/01-a/src/log.ts (line 5 of the copy is "  return this.items.length;", the source has "  return this.items.length - 1;"); run npm run site -- --fix-regions',
      'phases/01-a/README.md:19: malformed include directive "<!-- include src/log.ts#append -->" (write "<!-- include: path/to/file.ts#region-name -->" on its own line)',
      'phases/01-a/README.md:21: include directives must be at the top level of the document (not in a list or a quote)',
    ]);
    // The page shows the source, never the stale copy; a fence after a blank line is
    // not a copy, so it stays on the page.
    expect(html).not.toContain('this.items.length;');
    expect(html).toContain('npm run phase 1');
    expect(html.match(/<pre/g)).toHaveLength(4);
  });

  it('shows where a long line of a stale copy differs, not only how it starts', () => {
    const long = `${'x'.repeat(70)} old ${'y'.repeat(70)}`;
    const { problems } = render('<!-- include: src/long.ts#l -->\n```ts\n' + long.replace(' old ', ' new ') + '\n```\n', {
      'phases/01-a/src/long.ts': `// #region l\n${long}\n// #endregion l\n`,
    });
    expect(problems).toEqual([
      `phases/01-a/README.md:1: the copy of "src/long.ts#l" differs from phases/01-a/src/long.ts (line 1 of the copy is "…${'x'.repeat(19)} new ${'y'.repeat(36)}…", the source has "…${'x'.repeat(19)} old ${'y'.repeat(36)}…"); run npm run site -- --fix-regions`,
    ]);
  });

  it('leaves directives alone when rendering without regions (they are comments)', () => {
    const r = renderMarkdown(md, '<!-- include: src/log.ts#push -->\n```ts\nx;\n```\n', (h) => h);
    expect(r.html).toContain('<!-- include: src/log.ts#push -->');
    expect(r.html).toContain('<pre class="hljs"><code class="language-ts">x;');
  });
});

describe('fixRegionCopies (npm run site -- --fix-regions)', () => {
  let dir: TempDir | undefined;
  afterEach(() => dir?.remove());

  it('rewrites stale copies, inserts missing ones, leaves everything else byte for byte, and reports what it cannot fix', () => {
    dir = tempDir('regions-fix-');
    const chapter = [
      '# Chapter',
      '',
      'Missing copy:',
      '<!-- include: src/log.ts#push -->',
      '',
      'Stale copy:',
      '',
      '<!-- include: src/log.ts#append -->',
      '```ts',
      'old code',
      '```',
      '',
      '```ts',
      '<!-- include: src/log.ts#push -->',
      '```',
      '',
      '<!-- include: src/log.ts#nope -->',
      'A directive with an unrelated example after a blank line:',
      '',
      '<!-- include: src/log.ts#push -->',
      '',
      '```sh',
      'npm run phase 1',
      '```',
      'The end.',
      '',
    ].join('\n');
    writeTree(dir.path, { 'phases/01-a/src/log.ts': SOURCE, 'phases/01-a/README.md': chapter, 'course/other.md': '# Other\n\nNothing to do.\n' });
    const result = fixRegionCopies(dir.path, createMarkdown());
    expect(result.rewritten).toEqual([{ file: 'phases/01-a/README.md', copies: 3 }]);
    expect(result.problems).toEqual(['phases/01-a/README.md:17: include "src/log.ts#nope": no region "nope" in phases/01-a/src/log.ts (it has: append, push)']);
    const fixed = readFileSync(join(dir.path, 'phases/01-a/README.md'), 'utf8');
    const append = parseRegions(SOURCE, 'x').regions.get('append')?.code ?? '';
    expect(fixed).toBe(
      chapter
        .replace('<!-- include: src/log.ts#push -->\n\n', '<!-- include: src/log.ts#push -->\n```ts\nthis.items.push(v);\n```\n\n')
        .replace('```ts\nold code\n```', `\`\`\`ts\n${append}\n\`\`\``)
        .replace('<!-- include: src/log.ts#push -->\n\n```sh', '<!-- include: src/log.ts#push -->\n```ts\nthis.items.push(v);\n```\n\n```sh'),
    );
    // A second run has nothing to do, and the result renders without problems.
    expect(fixRegionCopies(dir.path, createMarkdown()).rewritten).toEqual([]);
    const problems: string[] = [];
    renderMarkdown(createMarkdown(), fixed, (h) => h, new Slugger(), { file: 'phases/01-a/README.md', regions: new RegionIndex(dir.path, problems), problems });
    expect(problems).toEqual(['phases/01-a/README.md:25: include "src/log.ts#nope": no region "nope" in phases/01-a/src/log.ts (it has: append, push)']);
  });

  it('does not touch a copy whose fence is never closed', () => {
    dir = tempDir('regions-fix-');
    const chapter = '<!-- include: src/log.ts#push -->\n```ts\nold\n\nmore prose that must survive\n';
    writeTree(dir.path, { 'phases/01-a/src/log.ts': SOURCE, 'phases/01-a/README.md': chapter });
    const result = fixRegionCopies(dir.path, createMarkdown());
    expect(result.rewritten).toEqual([]);
    expect(result.problems).toEqual(['phases/01-a/README.md:1: the fenced copy after include "src/log.ts#push" is never closed; close it by hand']);
    expect(readFileSync(join(dir.path, 'phases/01-a/README.md'), 'utf8')).toBe(chapter);
  });
});

