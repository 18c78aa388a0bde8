/**
 * The page shell every hand-made page shares: head (title, stylesheets, favicon), the
 * sidebar listing the course's phases, and the main column. Pages hand in their body
 * HTML and their own site path; every href the shell writes is relative to that path,
 * so the site works from `file://` as well as from the server. Also home to the small
 * HTML helpers (escaping, relative hrefs) the other renderers use.
 *
 * Typedoc's API pages are not wrapped here; `api.ts` gives them links back instead.
 */
import { posix } from 'node:path';
import type { Course } from './repo.ts';
import { phasePages } from './repo.ts';

/** Escape text for use in HTML content or a double-quoted attribute. */
export function escapeHtml(text: string): string {
  return text
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    .replaceAll("'", '&#39;');
}

/**
 * The relative href from the page at site path `fromPage` to site path `to`
 * (both relative to the site root, posix).
 * @example relativeHref('phases/01-log/index.html', 'index.html') // '../../index.html'
 * @example relativeHref('index.html', 'index.html#map')           // 'index.html#map'
 */
export function relativeHref(fromPage: string, to: string): string {
  const hashAt = to.indexOf('#');
  const path = hashAt === -1 ? to : to.slice(0, hashAt);
  const hash = hashAt === -1 ? '' : to.slice(hashAt);
  const rel = posix.relative(posix.dirname(fromPage), path) || posix.basename(path);
  return encodeURI(rel) + hash;
}

/** Which part of the site a page belongs to, for highlighting the sidebar. */
export interface PagePlace {
  /** Phase number when the page belongs to a phase. */
  readonly phase?: number;
  readonly kind: 'home' | 'writeup' | 'diff' | 'api' | 'files' | 'numbers' | 'page';
}

/** What the sidebar needs to know about the whole site. */
export interface SiteNav {
  readonly course: Course;
  /** Site path of the glossary page, when the course has one. */
  readonly glossary: string | null;
  /** Site path of the architecture page (`course/architecture.md`), when the course has one. */
  readonly architecture: string | null;
}

/** Everything that makes one page. */
export interface PageSpec {
  /** Site path the page is written to, e.g. `phases/01-log/diff.html`. */
  readonly path: string;
  /** Text for `<title>` (the site name is appended). */
  readonly title: string;
  /** HTML of the main column. */
  readonly body: string;
  readonly place: PagePlace;
  /** Extra stylesheets (site paths), e.g. diff2html's. */
  readonly styles?: readonly string[];
}

/** Name of the site, shown in the sidebar and in every `<title>`. */
export const SITE_NAME = 'A commit log, from scratch';

/** Site paths of the stylesheets and icon every page links. */
export const ASSETS = {
  css: 'assets/site.css',
  highlightCss: 'assets/highlight.css',
  diffCss: 'assets/diff2html.min.css',
  favicon: 'assets/favicon.svg',
} as const;

function sidebar(nav: SiteNav, spec: PageSpec): string {
  const link = (to: string, text: string, current: boolean): string =>
    `<a href="${relativeHref(spec.path, to)}"${current ? ' aria-current="page"' : ''}>${text}</a>`;
  const items: string[] = [];
  for (const entry of nav.course.map) {
    const label = `<span class="num">${entry.number}</span> ${escapeHtml(entry.title)}`;
    if (entry.phase === null) {
      items.push(`<li class="missing" title="not written yet"><span>${label}</span></li>`);
      continue;
    }
    const pages = phasePages(entry.phase);
    const here = spec.place.phase === entry.number;
    let sub = '';
    if (here) {
      const first = nav.course.phases[0]?.number === entry.number;
      const subs = [
        link(pages.writeup, 'Writeup', spec.place.kind === 'writeup'),
        first ? '' : link(pages.diff, 'Diff', spec.place.kind === 'diff'),
        link(pages.api, 'API', spec.place.kind === 'api'),
        link(pages.files, 'Files', spec.place.kind === 'files'),
      ].filter((s) => s !== '');
      sub = `<ul class="sub">${subs.map((s) => `<li>${s}</li>`).join('')}</ul>`;
    }
    items.push(`<li${here ? ' class="here"' : ''}>${link(pages.writeup, label, here && spec.place.kind === 'writeup')}${sub}</li>`);
  }
  const extras = [link('numbers.html', 'Numbers', spec.place.kind === 'numbers')];
  if (nav.glossary !== null) extras.push(link(nav.glossary, 'Glossary', spec.path === nav.glossary));
  if (nav.architecture !== null) extras.push(link(nav.architecture, 'Architecture', spec.path === nav.architecture));
  return [
    '<nav class="sidebar" aria-label="Course">',
    `<a class="brand" href="${relativeHref(spec.path, 'index.html')}">${escapeHtml(SITE_NAME)}</a>`,
    '<p class="nav-title">Phases</p>',
    `<ol class="phases">${items.join('')}</ol>`,
    `<ul class="extras">${extras.map((e) => `<li>${e}</li>`).join('')}</ul>`,
    '</nav>',
  ].join('\n');
}

/**
 * Wrap a page body in the shared shell and return the full HTML document.
 * @example
 * renderPage(nav, { path: 'numbers.html', title: 'Numbers', body: '<h1>Numbers</h1>', place: { kind: 'numbers' } });
 */
export function renderPage(nav: SiteNav, spec: PageSpec): string {
  const css = [ASSETS.highlightCss, ...(spec.styles ?? []), ASSETS.css];
  return [
    '<!doctype html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${escapeHtml(spec.title === SITE_NAME ? SITE_NAME : `${spec.title} · ${SITE_NAME}`)}</title>`,
    `<link rel="icon" type="image/svg+xml" href="${relativeHref(spec.path, ASSETS.favicon)}">`,
    ...css.map((c) => `<link rel="stylesheet" href="${relativeHref(spec.path, c)}">`),
    '</head>',
    `<body class="page-${spec.place.kind}">`,
    '<div class="layout">',
    sidebar(nav, spec),
    `<main class="content">\n${spec.body}\n</main>`,
    '</div>',
    '</body>',
    '</html>',
    '',
  ].join('\n');
}

/**
 * The tab bar at the top of every phase page: writeup, diff, API, files.
 * The diff tab is absent for the first phase.
 */
export function phaseTabs(
  fromPage: string,
  phase: { dir: string; number: number },
  isFirst: boolean,
  current: PagePlace['kind'],
): string {
  const pages = phasePages(phase);
  const tabs: [PagePlace['kind'], string, string][] = [
    ['writeup', pages.writeup, 'Writeup'],
    ['diff', pages.diff, 'Diff'],
    ['api', pages.api, 'API'],
    ['files', pages.files, 'Files'],
  ];
  const links = tabs
    .filter(([kind]) => !(isFirst && kind === 'diff'))
    .map(([kind, to, text]) =>
      kind === current
        ? `<a class="tab current" aria-current="page" href="${relativeHref(fromPage, to)}">${text}</a>`
        : `<a class="tab" href="${relativeHref(fromPage, to)}">${text}</a>`,
    );
  return `<nav class="tabs" aria-label="Phase ${phase.number}"><span class="phase-label">Phase ${phase.number}</span>${links.join('')}</nav>`;
}
