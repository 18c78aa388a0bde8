/**
 * The link checker: reads a built site from disk and reports every internal link
 * (`href`/`src` in any HTML page, typedoc's included) whose file does not exist,
 * whose `#anchor` is not an id (or `<a name>`) in the target, or that is absolute
 * (absolute paths break `file://` viewing). It also walks the pages reachable from the
 * start page and reports required pages (every phase's writeup, diff and API) that
 * cannot be reached. Runs as the last build stage and in the tests.
 *
 * It reads HTML with regular expressions, which is enough for the markup this site
 * writes: script bodies and comments are removed first, and code inside `<pre>` is
 * entity-escaped so it cannot look like an attribute.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, posix } from 'node:path';
import { isExternal } from './repo-links.ts';
import { sortStrings } from './repo.ts';

/** What to check beyond "every link resolves". */
export interface LinkCheckOptions {
  /** Page the reader starts from (site path). Default `index.html`. */
  readonly start?: string;
  /** Site paths that must be reachable from `start` by following links. */
  readonly required?: readonly string[];
}

/** The outcome: `problems` is empty when the site is sound. */
export interface LinkCheckResult {
  /** HTML pages checked (site paths, sorted). */
  readonly pages: readonly string[];
  /** HTML pages reachable from the start page (site paths, sorted). */
  readonly reachable: readonly string[];
  /** Internal links checked. */
  readonly linkCount: number;
  readonly problems: readonly string[];
}

/** One page's links and anchors. */
interface ParsedPage {
  readonly links: readonly string[];
  readonly ids: ReadonlySet<string>;
}

const ENTITIES: Readonly<Record<string, string>> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: '\u00a0' };

/** Decode the character references that can appear in attribute values. */
export function decodeEntities(value: string): string {
  return value.replace(/&(#x[0-9a-f]+|#\d+|[a-z]+);/gi, (m, ref: string) => {
    if (ref[0] === '#') {
      const code = ref[1] === 'x' || ref[1] === 'X' ? Number.parseInt(ref.slice(2), 16) : Number.parseInt(ref.slice(1), 10);
      return Number.isFinite(code) ? String.fromCodePoint(code) : m;
    }
    return ENTITIES[ref.toLowerCase()] ?? m;
  });
}

/** Extract links (`href`, `src`) and anchors (`id`, `<a name>`) from HTML or SVG text. */
export function parseLinksAndIds(html: string): ParsedPage {
  const text = html.replace(/<!--[\s\S]*?-->/g, '').replace(/(<script\b[^>]*>)[\s\S]*?(<\/script>)/gi, '$1$2');
  const links: string[] = [];
  const ids = new Set<string>();
  for (const tag of text.matchAll(/<([a-zA-Z][\w:-]*)(\s[^>]*)?>/g)) {
    const name = (tag[1] ?? '').toLowerCase();
    const attrs = tag[2] ?? '';
    for (const a of attrs.matchAll(/\s([\w:-]+)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+))/g)) {
      const attr = (a[1] ?? '').toLowerCase();
      const value = decodeEntities(a[2] ?? a[3] ?? a[4] ?? '');
      if (attr === 'href' || attr === 'src' || attr === 'xlink:href') links.push(value);
      else if (attr === 'id' || (attr === 'name' && name === 'a')) ids.add(value);
    }
  }
  return { links, ids };
}

function listAll(dir: string): string[] {
  const out: string[] = [];
  const walk = (rel: string): void => {
    for (const e of readdirSync(join(dir, rel), { withFileTypes: true })) {
      const child = rel === '' ? e.name : `${rel}/${e.name}`;
      if (e.isDirectory()) walk(child);
      else out.push(child);
    }
  };
  walk('');
  return sortStrings(out);
}

/**
 * Check the site in `dir`.
 * @example
 * const r = checkLinks('site/dist', { required: ['phases/01-log/index.html'] });
 * if (r.problems.length > 0) throw new Error(r.problems.join('\n'));
 */
export function checkLinks(dir: string, options: LinkCheckOptions = {}): LinkCheckResult {
  const start = options.start ?? 'index.html';
  const problems: string[] = [];
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    return { pages: [], reachable: [], linkCount: 0, problems: [`${dir}: no such directory`] };
  }
  const files = listAll(dir);
  const fileSet = new Set(files);
  const pages = files.filter((f) => f.endsWith('.html'));
  const parsed = new Map<string, ParsedPage>();
  const parse = (path: string): ParsedPage => {
    let page = parsed.get(path);
    if (page === undefined) {
      page = parseLinksAndIds(readFileSync(join(dir, path), 'utf8'));
      parsed.set(path, page);
    }
    return page;
  };
  const edges = new Map<string, string[]>();
  let linkCount = 0;
  for (const page of pages) {
    const out: string[] = [];
    for (const raw of parse(page).links) {
      const href = raw.trim();
      if (href === '' || href === '#' || isExternal(href)) continue;
      linkCount += 1;
      if (href.startsWith('/')) {
        problems.push(`${page}: absolute link "${raw}" (use a relative link so the site works from disk)`);
        continue;
      }
      const hashAt = href.indexOf('#');
      const pathPart = (hashAt === -1 ? href : href.slice(0, hashAt)).split('?')[0] ?? '';
      const fragment = hashAt === -1 ? '' : href.slice(hashAt + 1);
      let target = page;
      if (pathPart !== '') {
        let decoded: string;
        try {
          decoded = decodeURI(pathPart);
        } catch {
          problems.push(`${page}: malformed link "${raw}"`);
          continue;
        }
        target = posix.normalize(posix.join(posix.dirname(page), decoded));
        if (target.startsWith('../') || target === '..') {
          problems.push(`${page}: link "${raw}" leaves the site`);
          continue;
        }
        if (decoded.endsWith('/') || (!fileSet.has(target) && fileSet.has(posix.join(target, 'index.html')))) {
          target = posix.join(target, 'index.html');
        }
        if (!fileSet.has(target)) {
          problems.push(`${page}: broken link "${raw}" (no file ${target})`);
          continue;
        }
      }
      if (target.endsWith('.html')) out.push(target);
      if (fragment !== '' && (target.endsWith('.html') || target.endsWith('.svg'))) {
        let id: string;
        try {
          id = decodeURIComponent(fragment);
        } catch {
          id = fragment;
        }
        if (!parse(target).ids.has(id)) {
          problems.push(`${page}: broken anchor "${raw}" (no id "${id}" in ${target})`);
        }
      }
    }
    edges.set(page, out);
  }
  const reachable = new Set<string>();
  if (fileSet.has(start)) {
    const queue = [start];
    reachable.add(start);
    while (queue.length > 0) {
      const page = queue.shift() as string;
      for (const next of edges.get(page) ?? []) {
        if (!reachable.has(next)) {
          reachable.add(next);
          queue.push(next);
        }
      }
    }
  } else {
    problems.push(`${start}: start page missing`);
  }
  for (const page of options.required ?? []) {
    if (!fileSet.has(page)) problems.push(`${page}: required page missing`);
    else if (!reachable.has(page)) problems.push(`${page}: not reachable from ${start}`);
  }
  return { pages, reachable: sortStrings(reachable), linkCount, problems };
}
