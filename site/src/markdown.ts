/**
 * Markdown to HTML for writeups, the introduction and any other course text:
 * markdown-it (CommonMark + GFM tables), code blocks highlighted at build time by
 * highlight.js (no network, no client script), GitHub-compatible heading ids so
 * `#anchors` written for GitHub keep working, a `#` self-link beside each heading,
 * and a hook that rewrites every link and image (markdown or raw HTML) from a
 * repository path to a site path. The hook is how `repo-links.ts` turns
 * `../02-wire/README.md#framing` into `../02-wire/index.html#framing`. A last rule
 * replaces each `<!-- include: file#region -->` directive and the fenced copy after
 * it with the region read from the source (`regions.ts`), captioned with a link to
 * its lines.
 */
import hljs from 'highlight.js';
import MarkdownIt from 'markdown-it';
import type { MarkdownIt as MarkdownItInstance, Token } from 'markdown-it';
import { escapeHtml } from './layout.ts';
import type { Region, RegionIndex } from './regions.ts';
import { copyProblem, fenceLanguage, findIncludes } from './regions.ts';

/** Rewrites one href/src found in markdown; returns the href to publish. */
export type LinkRewriter = (href: string, kind: 'link' | 'image') => string;

/** A heading found while rendering, with the id it was given. */
export interface Heading {
  readonly level: number;
  readonly text: string;
  readonly id: string;
}

/** The result of rendering one markdown document. */
export interface RenderedMarkdown {
  readonly html: string;
  /** Text of the first level-1 heading, or null when there is none. */
  readonly title: string | null;
  readonly headings: readonly Heading[];
}

/** Where a document's include directives are resolved, and where their problems go. */
export interface IncludeContext {
  /** Repository path of the markdown file being rendered (directive paths are relative to it). */
  readonly file: string;
  readonly regions: RegionIndex;
  readonly problems: string[];
}

/** Per-render state threaded through markdown-it's `env`. */
interface Env {
  rewrite: LinkRewriter;
  slugger: Slugger;
  headings: Heading[];
  /** Absent: directives are left as the comments they are (and their copies as code). */
  includes?: IncludeContext;
}

/**
 * GitHub's heading slug: lower-case, drop everything but letters, digits, marks,
 * `_`, `-` and spaces, then each space becomes `-` (no collapsing, as on GitHub).
 * @example slugify('Phase 1: The `Log` class') // 'phase-1-the-log-class'
 */
export function slugify(text: string): string {
  return text
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{M}\p{N}\p{Pc}\- ]/gu, '')
    .replace(/ /g, '-');
}

/** Hands out unique slugs within one page: repeats get `-1`, `-2`, … like GitHub. */
export class Slugger {
  private readonly seen = new Map<string, number>();

  /** Reserve `id` (for ids the page writes itself) so headings do not reuse it. */
  reserve(id: string): void {
    this.seen.set(id, this.seen.get(id) ?? 0);
  }

  /** The unique slug for `text`. */
  slug(text: string): string {
    const base = slugify(text) || 'section';
    let candidate = base;
    let n = this.seen.get(base);
    if (n !== undefined) {
      do {
        n += 1;
        candidate = `${base}-${n}`;
      } while (this.seen.has(candidate));
      this.seen.set(base, n);
    }
    this.seen.set(candidate, 0);
    return candidate;
  }
}

/** highlight.js names for file extensions and fence labels that differ from them. */
const LANGUAGE_ALIASES: Readonly<Record<string, string>> = {
  ts: 'typescript',
  mts: 'typescript',
  cts: 'typescript',
  js: 'javascript',
  mjs: 'javascript',
  cjs: 'javascript',
  sh: 'bash',
  shell: 'bash',
  console: 'shell',
  'shell-session': 'shell',
  yml: 'yaml',
  md: 'markdown',
  html: 'xml',
  svg: 'xml',
  jsonc: 'json',
};

/** Fence labels that mean "no highlighting" (diagrams, plain output). */
const PLAIN = new Set(['', 'text', 'txt', 'plain', 'plaintext', 'none', 'ascii', 'diagram', 'output']);

/**
 * Highlight `code` as `lang` (a fence label or a file extension) and return HTML for
 * the inside of a `<code>` element. Unknown or plain languages are only escaped, so
 * the output never depends on highlight.js guessing.
 * @example highlightCode('const x = 1;', 'ts') // '<span class="hljs-keyword">const</span> x = …'
 */
export function highlightCode(code: string, lang: string): string {
  const label = lang.trim().toLowerCase();
  if (PLAIN.has(label)) return escapeHtml(code);
  const name = LANGUAGE_ALIASES[label] ?? label;
  if (hljs.getLanguage(name) === undefined) return escapeHtml(code);
  return hljs.highlight(code, { language: name, ignoreIllegals: true }).value;
}

function headingText(inline: Token | undefined): string {
  if (inline === undefined) return '';
  return (inline.children ?? [])
    .filter((t) => t.type === 'text' || t.type === 'code_inline' || t.type === 'emoji')
    .map((t) => t.content)
    .join('');
}

/** Rewrite `href="…"`/`src="…"` inside raw HTML the author wrote in markdown. */
function rewriteRawHtml(html: string, rewrite: LinkRewriter): string {
  return html.replace(/(\s(href|src)\s*=\s*)("([^"]*)"|'([^']*)')/gi, (_m, lead: string, attr: string, _q, dq?: string, sq?: string) => {
    const value = dq ?? sq ?? '';
    const next = rewrite(value, attr.toLowerCase() === 'src' ? 'image' : 'link');
    return `${lead}"${escapeHtml(next)}"`;
  });
}

/** Lines as a caption says them: `line 7` or `lines 7–12`. */
function lineSpan(region: Region): string {
  return region.startLine === region.endLine ? `line ${region.startLine}` : `lines ${region.startLine}–${region.endLine}`;
}

/**
 * The HTML of an included region: the highlighted excerpt under a caption naming the
 * file (as the directive wrote it) and the lines, linked to the lines on its source page.
 * @param href the link to the lines, already rewritten for the page
 */
export function renderRegion(region: Region, shownPath: string, href: string): string {
  const code = highlightCode(region.code, fenceLanguage(region.file));
  const lang = escapeHtml(fenceLanguage(region.file));
  return (
    `<figure class="region" data-region="${escapeHtml(`${shownPath}#${region.name}`)}">` +
    `<figcaption><a href="${escapeHtml(href)}"><code>${escapeHtml(shownPath)}</code> ${lineSpan(region)}</a></figcaption>` +
    `<pre class="hljs"><code class="language-${lang}">${code}</code></pre></figure>\n`
  );
}

/** Replace each directive (and its copy) by its region, recording what is wrong. */
function expandIncludes(tokens: Token[], env: Env): Token[] {
  const includes = env.includes;
  if (includes === undefined) return tokens;
  const dropped = new Set<number>();
  for (const site of findIncludes(tokens)) {
    const where = `${includes.file}:${site.map[0] + 1}`;
    if (typeof site.directive === 'string') {
      includes.problems.push(`${where}: ${site.directive}`);
      continue;
    }
    if (!site.topLevel) {
      includes.problems.push(`${where}: include directives must be at the top level of the document (not in a list or a quote)`);
      continue;
    }
    const region = includes.regions.resolve(includes.file, site.directive);
    if (region === null) continue;
    const problem = copyProblem(site, region, where);
    if (problem !== null) includes.problems.push(problem);
    const href = env.rewrite(`${site.directive.path}#L${region.startLine}-L${region.endLine}`, 'link');
    (tokens[site.index] as Token).content = renderRegion(region, site.directive.path, href);
    if (site.copy !== null) dropped.add(site.copy.index);
  }
  return dropped.size === 0 ? tokens : tokens.filter((_, i) => !dropped.has(i));
}

/**
 * Create the configured markdown-it instance. Create it once and reuse it: rendering
 * state lives in the per-call env, never in the instance.
 */
export function createMarkdown(): MarkdownItInstance {
  const md: MarkdownItInstance = new MarkdownIt({
    html: true,
    linkify: false,
    typographer: false,
    highlight: (code, lang) => {
      const label = lang.trim().split(/\s+/)[0] ?? '';
      const cls = label === '' ? '' : ` class="language-${escapeHtml(label)}"`;
      return `<pre class="hljs"><code${cls}>${highlightCode(code, label)}</code></pre>`;
    },
  });

  md.core.ruler.push('site_ids_and_links', (state) => {
    const env = state.env as unknown as Env;
    const tokens = state.tokens;
    for (let i = 0; i < tokens.length; i++) {
      const token = tokens[i];
      if (token === undefined) continue;
      if (token.type === 'heading_open') {
        const text = headingText(tokens[i + 1]);
        const id = env.slugger.slug(text);
        token.attrSet('id', id);
        env.headings.push({ level: Number(token.tag.slice(1)), text, id });
      } else if (token.type === 'html_block') {
        token.content = rewriteRawHtml(token.content, env.rewrite);
      } else if (token.type === 'inline') {
        for (const child of token.children ?? []) {
          if (child.type === 'link_open') {
            const href = child.attrGet('href');
            if (href !== null) child.attrSet('href', env.rewrite(String(href), 'link'));
          } else if (child.type === 'image') {
            const src = child.attrGet('src');
            if (src !== null) child.attrSet('src', env.rewrite(String(src), 'image'));
          } else if (child.type === 'html_inline') {
            child.content = rewriteRawHtml(child.content, env.rewrite);
          }
        }
      }
    }
  });

  // After the link rewriting: the caption's link is rewritten once, by expandIncludes.
  md.core.ruler.push('site_includes', (state) => {
    state.tokens = expandIncludes(state.tokens, state.env as unknown as Env);
  });

  const defaultHeadingClose = md.renderer.rules.heading_close;
  md.renderer.rules.heading_close = (tokens, idx, options, env, self) => {
    const open = tokens[idx - 2];
    const id = open?.attrGet('id');
    const anchor = id && open?.tag !== 'h1' ? `<a class="anchor" href="#${escapeHtml(String(id))}" aria-label="Link to this section">#</a>` : '';
    const close = defaultHeadingClose ? defaultHeadingClose(tokens, idx, options, env, self) : self.renderToken(tokens, idx, options);
    return anchor + close;
  };
  md.renderer.rules.table_open = () => '<div class="table-wrap"><table>\n';
  md.renderer.rules.table_close = () => '</table></div>\n';
  return md;
}

/**
 * Render `source` with every link and image passed through `rewrite`. `slugger`
 * lets a page that renders several documents (home: introduction plus its own
 * sections) keep ids unique across all of them. With `includes`, directives are
 * replaced by their regions (problems go to `includes.problems`).
 */
export function renderMarkdown(md: MarkdownItInstance, source: string, rewrite: LinkRewriter, slugger = new Slugger(), includes?: IncludeContext): RenderedMarkdown {
  const env: Env = { rewrite, slugger, headings: [], ...(includes === undefined ? {} : { includes }) };
  const html = md.render(source, env as unknown as Parameters<MarkdownItInstance['render']>[1]);
  const h1 = env.headings.find((h) => h.level === 1);
  return { html, title: h1?.text ?? null, headings: env.headings };
}
