/**
 * The link checker on tiny hand-written sites: a sound one passes, and each kind of
 * defect (missing file, missing anchor, absolute link, unreachable required page) is
 * reported with the page it is on.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { tempDir, type TempDir } from '../../shared/src/testing.ts';
import { checkLinks, decodeEntities, parseLinksAndIds } from '../src/links.ts';
import { writeTree } from './fixture.ts';

const page = (body: string, root = ''): string => `<!doctype html><html><head><link rel="stylesheet" href="${root}style.css"></head><body>${body}</body></html>`;

/** A sound three-page site: home links to a and b; b links back with anchors. */
function soundSite(): Record<string, string> {
  return {
    'index.html': page('<p id="café"></p><a href="a/index.html">a</a> <a href="b.html#part-two">b</a> <a href="https://example.com/x">ext</a>'),
    'style.css': 'body {}',
    'a/index.html': page('<h2 id="top">A</h2><a href="../b.html">b</a><a href="#top">top</a><a href="#">none</a><img src="../pic.svg">', '../'),
    'b.html': page('<h2 id="part-two">Two</h2><a name="legacy"></a><a href="./a/#top">a</a><a href="index.html?x=1#caf%C3%A9">home</a>'),
    'pic.svg': '<svg xmlns="http://www.w3.org/2000/svg"><rect id="r"/></svg>',
  };
}

describe('checkLinks', () => {
  let dir: TempDir | undefined;
  afterEach(() => {
    dir?.remove();
    dir = undefined;
  });

  function site(files: Record<string, string>): string {
    dir = tempDir('site-links-');
    writeTree(dir.path, files);
    return dir.path;
  }

  it('passes a site whose every link and anchor resolves', () => {
    const result = checkLinks(site(soundSite()), { required: ['a/index.html', 'b.html'] });
    expect(result.problems).toEqual([]);
    expect(result.pages).toEqual(['a/index.html', 'b.html', 'index.html']);
    expect(result.reachable).toEqual(['a/index.html', 'b.html', 'index.html']);
    expect(result.linkCount).toBeGreaterThan(5);
  });

  it('reports a link to a missing file and an anchor that is not an id, and fails', () => {
    const files = soundSite();
    files['a/index.html'] = page('<h2 id="top">A</h2><a href="../missing.html">gone</a> <a href="../b.html#no-such-part">bad anchor</a> <a href="#nowhere">self</a>', '../');
    const result = checkLinks(site(files));
    expect(result.problems).toEqual([
      'a/index.html: broken link "../missing.html" (no file missing.html)',
      'a/index.html: broken anchor "../b.html#no-such-part" (no id "no-such-part" in b.html)',
      'a/index.html: broken anchor "#nowhere" (no id "nowhere" in a/index.html)',
    ]);
  });

  it('reports absolute links, which break viewing from disk', () => {
    const files = soundSite();
    files['index.html'] = page('<p id="café"></p><a href="/a/index.html">abs</a> <a href="a/index.html">a</a> <a href="b.html">b</a>');
    expect(checkLinks(site(files)).problems).toEqual(['index.html: absolute link "/a/index.html" (use a relative link so the site works from disk)']);
  });

  it('reports required pages that exist but cannot be reached from home', () => {
    const files = soundSite();
    files['orphan.html'] = page('<a href="index.html">home</a>');
    const result = checkLinks(site(files), { required: ['orphan.html', 'never-written.html'] });
    expect(result.problems).toEqual(['orphan.html: not reachable from index.html', 'never-written.html: required page missing']);
  });

  it('checks anchors into SVG files and ignores script bodies and comments', () => {
    const files = soundSite();
    files['b.html'] = `${files['b.html']}<svg><use href="pic.svg#r"></use><use href="pic.svg#missing"></use></svg><script>const s = '<a href="nope.html">';</script><!-- <a href="nope2.html"> -->`;
    expect(checkLinks(site(files)).problems).toEqual(['b.html: broken anchor "pic.svg#missing" (no id "missing" in pic.svg)']);
  });
});

describe('parseLinksAndIds', () => {
  it('decodes entities in attribute values and reads single-quoted and bare values', () => {
    const parsed = parseLinksAndIds(`<a href="a.html?x=1&amp;y=2" id='one'>x</a><img src=pic.png><a name="n"></a><div name="not-an-anchor"></div>`);
    expect(parsed.links).toEqual(['a.html?x=1&y=2', 'pic.png']);
    expect([...parsed.ids]).toEqual(['one', 'n']);
  });

  it('decodes named and numeric references', () => {
    expect(decodeEntities('&lt;&#65;&#x42;&quot;&unknown;')).toBe('<AB"&unknown;');
  });
});
