/**
 * The hand-made pages of the site and the writer they go through: home (the
 * introduction, how to start, the course map), each phase's writeup (with a table of
 * contents and prev/next links), diff page, file list and source pages, and the pages
 * published because something links to them (markdown pages, directory listings,
 * copied images). Each writer renders its body with the concept module (`markdown.ts`,
 * `diff-page.ts`, `source.ts`) and wraps it in the shared shell from `layout.ts`.
 *
 * `build.ts` decides the order; this file decides what each page says.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { MarkdownIt } from 'markdown-it';
import { renderDiffBody } from './diff-page.ts';
import type { PagePlace, SiteNav } from './layout.ts';
import { ASSETS, escapeHtml, phaseTabs, relativeHref, renderPage, SITE_NAME } from './layout.ts';
import type { IncludeContext } from './markdown.ts';
import { renderMarkdown, Slugger } from './markdown.ts';
import { NUMBERS_PAGE } from './numbers.ts';
import type { RegionIndex } from './regions.ts';
import type { LinkTarget, RepoLinks } from './repo-links.ts';
import type { Course, Phase } from './repo.ts';
import { isSkippedName, phasePages, repoPathKind, sitePathFor, sortStrings } from './repo.ts';
import { renderListingBody, renderSourceBody } from './source.ts';

/** The two commands of the README that get a learner started. */
export const START_COMMANDS = ['npm ci && npm run phase 1', 'npm test'] as const;

/** Writes files under the output directory, refusing to write one path twice. */
export class SiteWriter {
  private readonly written = new Set<string>();
  /** @param out absolute output directory */
  constructor(private readonly out: string) {}

  /** True once `sitePath` has been written. */
  has(sitePath: string): boolean {
    return this.written.has(sitePath);
  }

  /** Write `content` to `sitePath` (creating folders); throws when written twice. */
  write(sitePath: string, content: string | Buffer): void {
    if (this.written.has(sitePath)) throw new Error(`site builder wrote ${sitePath} twice`);
    this.written.add(sitePath);
    const abs = join(this.out, sitePath);
    mkdirSync(dirname(abs), { recursive: true });
    writeFileSync(abs, content);
  }

  /** Copy the file `from` (absolute) to `sitePath`. */
  copy(sitePath: string, from: string): void {
    this.write(sitePath, readFileSync(from));
  }
}

/** Everything the page renderers share during one build. */
export interface PageContext {
  readonly course: Course;
  readonly nav: SiteNav;
  readonly md: MarkdownIt;
  readonly links: RepoLinks;
  /** The source regions markdown pages quote (`<!-- include: file#region -->`). */
  readonly regions: RegionIndex;
  readonly writer: SiteWriter;
  readonly problems: string[];
}

/** Write one page in the shared shell. */
export function page(ctx: PageContext, path: string, title: string, body: string, place: PagePlace, styles?: string[]): void {
  ctx.writer.write(path, renderPage(ctx.nav, { path, title, body, place, ...(styles ? { styles } : {}) }));
}

/** How a markdown file's include directives are resolved. */
function includesFor(ctx: PageContext, repoFile: string): IncludeContext {
  return { file: repoFile, regions: ctx.regions, problems: ctx.problems };
}

function phaseLabel(n: number, title: string): string {
  return `Phase ${n}: ${title}`;
}

/**
 * Write home: the introduction, the two start commands, the map of all phases, and
 * links to the numbers, the glossary and the architecture document.
 */
export function writeHome(ctx: PageContext): void {
  const path = 'index.html';
  const slugger = new Slugger();
  const parts: string[] = [];
  const introFile = 'course/introduction.md';
  if (existsSync(join(ctx.course.root, introFile))) {
    const intro = renderMarkdown(ctx.md, readFileSync(join(ctx.course.root, introFile), 'utf8'), ctx.links.rewriterFor(introFile, path), slugger, includesFor(ctx, introFile));
    if (intro.title === null) parts.push(`<h1>${escapeHtml(SITE_NAME)}</h1>`);
    parts.push(intro.html);
  } else {
    parts.push(
      `<h1>${escapeHtml(SITE_NAME)}</h1>`,
      '<p class="lead">A Kafka-like, durable, replicated commit log built from scratch in TypeScript, in eight phases. Each phase is a complete, runnable broker with its own tests and a writeup.</p>',
    );
  }
  const startId = slugger.slug('How to start');
  parts.push(
    `<h2 id="${startId}">How to start<a class="anchor" href="#${startId}" aria-label="Link to this section">#</a></h2>`,
    '<p>From a clone of the repository (Node 20): the first command installs exactly the pinned dependencies and runs phase 1; the second runs every phase’s tests.</p>',
    `<pre class="hljs"><code>${START_COMMANDS.map(escapeHtml).join('\n')}</code></pre>`,
    '<p>Then read the phases in order. Each has a writeup, the diff from the phase before it, and its API reference.</p>',
  );
  const mapId = slugger.slug('The phases');
  const rows = ctx.course.map.map((entry) => {
    const num = `<span class="num">${entry.number}</span>`;
    if (entry.phase === null) {
      return `<li class="missing">${num}<div><span class="title">${escapeHtml(entry.title)}</span> <span class="badge">not written yet</span><div class="summary"><code>phases/${escapeHtml(entry.name)}/</code> does not exist yet.</div></div></li>`;
    }
    const pages = phasePages(entry.phase);
    const first = ctx.course.phases[0] === entry.phase;
    const links = [
      `<a href="${relativeHref(path, pages.writeup)}">writeup</a>`,
      first ? '' : `<a href="${relativeHref(path, pages.diff)}">diff</a>`,
      `<a href="${relativeHref(path, pages.api)}">API</a>`,
    ].filter((l) => l !== '');
    return `<li>${num}<div><a class="title" href="${relativeHref(path, pages.writeup)}">${escapeHtml(entry.title)}</a><div class="summary">${escapeHtml(entry.phase.manifest.summary)}</div><div class="links">${links.join(' · ')}</div></div></li>`;
  });
  const written = ctx.course.phases.length;
  parts.push(
    `<h2 id="${mapId}">The phases<a class="anchor" href="#${mapId}" aria-label="Link to this section">#</a></h2>`,
    `<p>${written} of ${ctx.course.map.length} phases are written so far.</p>`,
    `<ol class="course-map">\n${rows.join('\n')}\n</ol>`,
    `<p>Measured results: <a href="${relativeHref(path, NUMBERS_PAGE)}">Numbers</a>.${ctx.nav.glossary === null ? '' : ` Terms: <a href="${relativeHref(path, ctx.nav.glossary)}">Glossary</a>.`}${ctx.nav.architecture === null ? '' : ` How the broker is put together and the rules every phase keeps: <a href="${relativeHref(path, ctx.nav.architecture)}">Architecture</a>.`}</p>`,
  );
  page(ctx, path, SITE_NAME, parts.join('\n'), { kind: 'home' });
}

function insertAfterH1(html: string, insert: string): string {
  const at = html.indexOf('</h1>');
  return at === -1 ? insert + html : html.slice(0, at + 5) + insert + html.slice(at + 5);
}

/** Write a phase's writeup page; returns its h1 text. */
export function writeWriteup(ctx: PageContext, phase: Phase, index: number): string {
  const pages = phasePages(phase);
  const readme = `${phase.dir}/README.md`;
  const rendered = renderMarkdown(ctx.md, readFileSync(join(ctx.course.root, readme), 'utf8'), ctx.links.rewriterFor(readme, pages.writeup), new Slugger(), includesFor(ctx, readme));
  let html = rendered.html;
  const heading = rendered.title ?? phaseLabel(phase.number, phase.manifest.title);
  if (rendered.title === null) html = `<h1>${escapeHtml(heading)}</h1>\n${html}`;
  const h2s = rendered.headings.filter((h) => h.level === 2);
  if (h2s.length >= 2) {
    const toc = h2s.map((h) => `<li><a href="#${escapeHtml(h.id)}">${escapeHtml(h.text)}</a></li>`).join('');
    html = insertAfterH1(html, `\n<nav class="toc" aria-label="On this page"><p>On this page</p><ol>${toc}</ol></nav>\n`);
  }
  const prev = ctx.course.phases[index - 1];
  const next = ctx.course.phases[index + 1];
  const pager: string[] = [];
  if (prev !== undefined) {
    pager.push(`<a class="prev" rel="prev" href="${relativeHref(pages.writeup, phasePages(prev).writeup)}">← ${escapeHtml(phaseLabel(prev.number, prev.manifest.title))}</a>`);
  } else {
    pager.push(`<a class="prev" href="${relativeHref(pages.writeup, 'index.html')}">← Course home</a>`);
  }
  if (next !== undefined) {
    pager.push(`<a class="next" rel="next" href="${relativeHref(pages.writeup, phasePages(next).writeup)}">${escapeHtml(phaseLabel(next.number, next.manifest.title))} →</a>`);
  } else {
    const planned = ctx.course.map.find((e) => e.number === phase.number + 1);
    pager.push(
      planned === undefined
        ? `<a class="next" href="${relativeHref(pages.writeup, NUMBERS_PAGE)}">Numbers →</a>`
        : `<span class="next disabled">${escapeHtml(phaseLabel(planned.number, planned.title))} (not written yet)</span>`,
    );
  }
  const body = [
    phaseTabs(pages.writeup, phase, index === 0, 'writeup'),
    `<article class="writeup">\n${html}\n</article>`,
    `<nav class="pager" aria-label="Phases">${pager.join('')}</nav>`,
  ].join('\n');
  page(ctx, pages.writeup, phaseLabel(phase.number, phase.manifest.title), body, { phase: phase.number, kind: 'writeup' });
  return heading;
}

/** Write a phase's diff page against the phase before it; returns its h1 text. */
export function writeDiff(ctx: PageContext, previous: Phase, phase: Phase): string {
  const pages = phasePages(phase);
  const body = [phaseTabs(pages.diff, phase, false, 'diff'), renderDiffBody(ctx.course.root, previous, phase, pages.diff)].join('\n');
  page(ctx, pages.diff, `Phase ${phase.number} diff`, body, { phase: phase.number, kind: 'diff' }, [ASSETS.diffCss]);
  return `Phase ${phase.number}: what changed since phase ${previous.number}`;
}

function sourceCrumbs(ctx: PageContext, repoPath: string): [string, string][] {
  const crumbs: [string, string][] = [['index.html', 'Home']];
  const phase = ctx.course.phases.find((p) => repoPath.startsWith(`${p.dir}/`));
  if (phase !== undefined) {
    const pages = phasePages(phase);
    crumbs.push([pages.writeup, `Phase ${phase.number}`], [pages.files, 'Files']);
  }
  return crumbs;
}

function writeSource(ctx: PageContext, repoPath: string, sitePath: string): void {
  const bytes = readFileSync(join(ctx.course.root, repoPath));
  const phase = ctx.course.phases.find((p) => repoPath.startsWith(`${p.dir}/`));
  const place: PagePlace = phase === undefined ? { kind: 'page' } : { phase: phase.number, kind: 'files' };
  page(ctx, sitePath, repoPath, renderSourceBody(repoPath, bytes, sitePath, sourceCrumbs(ctx, repoPath)), place);
}

/** Write a phase's file list and request a source page for each of its files. */
export function writePhaseFiles(ctx: PageContext, phase: Phase, index: number): void {
  const pages = phasePages(phase);
  for (const file of phase.files) {
    if (file === 'README.md') continue;
    const repoPath = `${phase.dir}/${file}`;
    const target: LinkTarget = { repoPath, kind: 'file', sitePath: sitePathFor(repoPath, 'file') };
    ctx.links.request(target);
  }
  const entries = phase.files.map((file) => ({ name: file, sitePath: sitePathFor(`${phase.dir}/${file}`, 'file'), isDir: false }));
  const intro = `<p>Every file of <code>${escapeHtml(phase.dir)}</code>. Run this phase with <code>npm run phase ${phase.number}</code> and its tests with <code>npm run phase ${phase.number} -- test</code>.</p>`;
  const body = [phaseTabs(pages.files, phase, index === 0, 'files'), renderListingBody(`Phase ${phase.number} files`, intro, entries, pages.files)].join('\n');
  page(ctx, pages.files, `Phase ${phase.number} files`, body, { phase: phase.number, kind: 'files' });
}

function writeMarkdownPage(ctx: PageContext, repoPath: string, sitePath: string): void {
  const rendered = renderMarkdown(ctx.md, readFileSync(join(ctx.course.root, repoPath), 'utf8'), ctx.links.rewriterFor(repoPath, sitePath), new Slugger(), includesFor(ctx, repoPath));
  const title = rendered.title ?? repoPath;
  const html = rendered.title === null ? `<h1>${escapeHtml(repoPath)}</h1>\n${rendered.html}` : rendered.html;
  page(ctx, sitePath, title, `<article class="writeup">\n${html}\n</article>`, { kind: 'page' });
}

function writeListing(ctx: PageContext, repoPath: string, sitePath: string): void {
  const abs = join(ctx.course.root, repoPath);
  const names = sortStrings(readdirSync(abs).filter((n) => !isSkippedName(n)));
  const entries = names.flatMap((name) => {
    const child = repoPath === '' ? name : `${repoPath}/${name}`;
    const kind = repoPathKind(ctx.course.root, child);
    if (kind === null) return [];
    const target: LinkTarget = { repoPath: child, kind, sitePath: sitePathFor(child, kind) };
    ctx.links.request(target);
    return [{ name, sitePath: target.sitePath, isDir: kind === 'dir' }];
  });
  page(ctx, sitePath, `${repoPath}/`, renderListingBody(`${repoPath}/`, '', entries, sitePath), { kind: 'page' });
}

/** Publish one linked repository path: markdown page, listing, copied asset or source page. */
export function publish(ctx: PageContext, target: LinkTarget): void {
  if (ctx.writer.has(target.sitePath)) return;
  const { repoPath, sitePath } = target;
  if (target.kind === 'dir') {
    if (existsSync(join(ctx.course.root, repoPath, 'README.md'))) writeMarkdownPage(ctx, `${repoPath}/README.md`, sitePath);
    else writeListing(ctx, repoPath, sitePath);
  } else if (sitePath === repoPath) {
    ctx.writer.copy(sitePath, join(ctx.course.root, repoPath));
  } else if (repoPath.toLowerCase().endsWith('.md')) {
    writeMarkdownPage(ctx, repoPath, sitePath);
  } else {
    writeSource(ctx, repoPath, sitePath);
  }
}
