/**
 * Source pages: one highlighted, line-numbered page per published file (every file of
 * every phase, plus any other repository file a page links to), and directory listings.
 * Every line has an id `L<n>`, so writeup links like `src/log.ts#L42` and typedoc's
 * "Defined in src/log.ts:42" links land on the line.
 *
 * highlight.js returns one HTML string whose `<span>`s may cross line breaks; to give
 * each line its own element, {@link splitHighlightedLines} closes the open spans at
 * each newline and reopens them on the next line.
 */
import { posix } from 'node:path';
import { escapeHtml, relativeHref } from './layout.ts';
import { highlightCode } from './markdown.ts';

/** Files larger than this are shown escaped but not highlighted (keeps the build fast). */
export const HIGHLIGHT_BYTES_MAX = 512 * 1024;

/** True when the bytes look like text: valid UTF-8 and no NUL byte. */
export function isText(bytes: Buffer): boolean {
  if (bytes.includes(0)) return false;
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    return true;
  } catch {
    return false;
  }
}

/**
 * Split highlight.js output into one well-formed HTML fragment per source line.
 * @example splitHighlightedLines('<span class="c">/* a\nb *\/</span>')
 * // ['<span class="c">/* a</span>', '<span class="c">b *\/</span>']
 */
export function splitHighlightedLines(html: string): string[] {
  const lines: string[] = [];
  const open: string[] = [];
  let current = '';
  const re = /(<span[^>]*>)|(<\/span>)|(\n)|([^<\n]+)|(<)/g;
  for (const m of html.matchAll(re)) {
    if (m[1] !== undefined) {
      open.push(m[1]);
      current += m[1];
    } else if (m[2] !== undefined) {
      open.pop();
      current += m[2];
    } else if (m[3] !== undefined) {
      lines.push(current + '</span>'.repeat(open.length));
      current = open.join('');
    } else {
      current += m[0];
    }
  }
  lines.push(current + '</span>'.repeat(open.length));
  return lines;
}

/**
 * The main-column HTML of a source page for `repoPath`.
 * @param pagePath the page's own site path (for the breadcrumb links)
 * @param crumbs links shown above the code, as [site path, text] pairs
 */
export function renderSourceBody(repoPath: string, bytes: Buffer, pagePath: string, crumbs: readonly [string, string][]): string {
  const nav = crumbs.map(([to, text]) => `<a href="${relativeHref(pagePath, to)}">${escapeHtml(text)}</a>`).join(' · ');
  const head = `<p class="crumbs">${nav}</p>\n<h1 class="path">${escapeHtml(repoPath)}</h1>`;
  if (!isText(bytes)) {
    return `${head}\n<p>Binary file, ${bytes.length} bytes; not shown.</p>`;
  }
  let text = bytes.toString('utf8');
  if (text.endsWith('\n')) text = text.slice(0, -1);
  const ext = posix.extname(repoPath).slice(1);
  const name = posix.basename(repoPath);
  const lang = name === 'tsconfig.json' ? 'json' : ext;
  const html = bytes.length > HIGHLIGHT_BYTES_MAX ? escapeHtml(text) : highlightCode(text, lang);
  const lines = splitHighlightedLines(html);
  const rows = lines
    .map((line, i) => `<span class="line" id="L${i + 1}"><a class="ln" href="#L${i + 1}">${i + 1}</a><span class="lc">${line}</span></span>`)
    .join('');
  return `${head}\n<p class="meta">${lines.length} lines</p>\n<pre class="hljs source"><code>${rows}</code></pre>`;
}

/** One entry of a directory listing: a name and the site path it links to. */
export interface ListingEntry {
  readonly name: string;
  readonly sitePath: string;
  readonly isDir: boolean;
}

/** The main-column HTML of a directory listing. */
export function renderListingBody(title: string, intro: string, entries: readonly ListingEntry[], pagePath: string): string {
  const items = entries
    .map((e) => `<li class="${e.isDir ? 'dir' : 'file'}"><a href="${relativeHref(pagePath, e.sitePath)}">${escapeHtml(e.name)}${e.isDir ? '/' : ''}</a></li>`)
    .join('\n');
  return `<h1 class="path">${escapeHtml(title)}</h1>\n${intro}\n<ul class="listing">\n${items}\n</ul>`;
}
