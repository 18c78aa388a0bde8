/**
 * The site build, start to end. Stages, in order:
 *
 *   1. load the course (`repo.ts`): phases, manifests — a phase without a writeup fails here;
 *   2. write the hand-made pages: home, each phase's writeup, diff, file list and
 *      source pages, the numbers page; ask for the glossary and the architecture
 *      document (`course/glossary.md`, `course/architecture.md`) when they exist;
 *      markdown quotes source regions (`regions.ts`), and every phase file's region
 *      markers are checked;
 *   3. publish every repository path those pages link to (`repo-links.ts`), until no
 *      new link appears: linked markdown becomes a page, images are copied, other
 *      files get a source page, directories a listing;
 *   4. copy the stylesheets (ours, highlight.js's theme, diff2html's);
 *   5. run typedoc for every phase (`api.ts`);
 *   6. check every link and anchor in the output, and that every phase page (and
 *      the glossary and architecture pages) is reachable from home (`links.ts`).
 *
 * Problems from all stages are collected and thrown together as a
 * {@link SiteBuildError}. The output depends only on the repository's files: every
 * directory is read in sorted order and nothing writes a date.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { apiEntryPoints, buildPhaseApi } from './api.ts';
import { ASSETS, escapeHtml, phaseTabs } from './layout.ts';
import { checkLinks } from './links.ts';
import { createMarkdown } from './markdown.ts';
import { NUMBERS_PAGE, renderNumbersBody } from './numbers.ts';
import type { PageContext } from './pages.ts';
import { page, publish, SiteWriter, writeDiff, writeHome, writePhaseFiles, writeWriteup } from './pages.ts';
import { failOnProblems } from './problems.ts';
import { RegionIndex } from './regions.ts';
import { RepoLinks } from './repo-links.ts';
import type { Phase } from './repo.ts';
import { loadCourse, phasePages, sitePathFor } from './repo.ts';

/** How to build. */
export interface BuildOptions {
  /** Absolute repository root to read. */
  readonly root: string;
  /** Output directory; emptied first. */
  readonly out: string;
  /** Progress lines (stage names); default: silent. */
  readonly log?: (line: string) => void;
}

/** What a successful build produced. */
export interface BuildResult {
  readonly out: string;
  readonly phases: readonly BuiltPhase[];
  /** Number of HTML pages written (typedoc's included). */
  readonly pageCount: number;
  /** Number of internal links the checker followed. */
  readonly linkCount: number;
}

/** A phase as built: where its pages are and the headings they open with. */
export interface BuiltPhase {
  readonly number: number;
  readonly dir: string;
  readonly title: string;
  /** The writeup's h1 text. */
  readonly writeupHeading: string;
  /** The diff page's h1 text, or null for the first phase. */
  readonly diffHeading: string | null;
  /** The API index page's h1 text. */
  readonly apiHeading: string;
  readonly pages: ReturnType<typeof phasePages>;
}

/** Where this module's own static files (stylesheet, icon) live. */
const SITE_ASSETS_DIR = resolve(import.meta.dirname, '..', 'assets');

function hasBenchScript(root: string): boolean {
  try {
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { scripts?: Record<string, unknown> };
    return typeof pkg.scripts?.bench === 'string';
  } catch {
    return false;
  }
}

function copyAssets(writer: SiteWriter): void {
  const require = createRequire(import.meta.url);
  writer.copy(ASSETS.css, join(SITE_ASSETS_DIR, 'site.css'));
  writer.copy(ASSETS.favicon, join(SITE_ASSETS_DIR, 'favicon.svg'));
  writer.copy(ASSETS.highlightCss, require.resolve('highlight.js/styles/github.css'));
  writer.copy(ASSETS.diffCss, require.resolve('diff2html/bundles/css/diff2html.min.css'));
}

function countPages(dir: string): number {
  let n = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (e.isDirectory()) n += countPages(join(dir, e.name));
    else if (e.name.endsWith('.html')) n += 1;
  }
  return n;
}

/**
 * Build the site for the repository at `options.root` into `options.out`.
 * Throws {@link SiteBuildError} listing every problem found.
 * @example
 * const result = await buildSite({ root: repoRoot, out: join(repoRoot, 'site/dist') });
 * console.log(`${result.pageCount} pages in ${result.out}`);
 */
export async function buildSite(options: BuildOptions): Promise<BuildResult> {
  const log = options.log ?? (() => {});
  const root = resolve(options.root);
  const out = resolve(options.out);
  const problems: string[] = [];
  log('reading the course');
  const course = loadCourse(root, problems);
  failOnProblems(problems);

  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
  const links = new RepoLinks(root, problems);
  // The course documents linked from home and the sidebar, published when they exist;
  // their relative links resolve like those of any other markdown page.
  const courseDocument = (repoPath: string): string | null => {
    if (!existsSync(join(root, repoPath))) return null;
    const sitePath = sitePathFor(repoPath, 'file');
    links.request({ repoPath, kind: 'file', sitePath });
    return sitePath;
  };
  const glossary = courseDocument('course/glossary.md');
  const architecture = courseDocument('course/architecture.md');
  const regions = new RegionIndex(root, problems);
  const ctx: PageContext = { course, nav: { course, glossary, architecture }, md: createMarkdown(), links, regions, writer: new SiteWriter(out), problems };

  log('writing pages');
  writeHome(ctx);
  const built: BuiltPhase[] = [];
  course.phases.forEach((phase, index) => {
    const writeupHeading = writeWriteup(ctx, phase, index);
    const previous = course.phases[index - 1];
    const diffHeading = previous === undefined ? null : writeDiff(ctx, previous, phase);
    writePhaseFiles(ctx, phase, index);
    const apiHeading = `Phase ${phase.number} API: ${phase.manifest.title}`;
    built.push({ number: phase.number, dir: phase.dir, title: phase.manifest.title, writeupHeading, diffHeading, apiHeading, pages: phasePages(phase) });
  });
  const numbers = renderNumbersBody(root, hasBenchScript(root));
  problems.push(...numbers.problems);
  for (const asset of numbers.assets) links.request(asset);
  page(ctx, NUMBERS_PAGE, 'Numbers', numbers.body, { kind: 'numbers' });

  for (let batch = links.drain(); batch.length > 0; batch = links.drain()) {
    for (const target of batch) publish(ctx, target);
  }
  // Markers are checked in every phase file, quoted or not, so a broken one fails now.
  regions.checkFiles(course.phases.flatMap((p) => p.files.map((f) => `${p.dir}/${f}`)));
  copyAssets(ctx.writer);

  for (const phase of built) {
    const source = course.phases.find((p) => p.number === phase.number) as Phase;
    if (apiEntryPoints(source).length === 0) {
      const body = `${phaseTabs(phase.pages.api, phase, phase === built[0], 'api')}\n<h1>${escapeHtml(phase.apiHeading)}</h1>\n<p>This phase has no TypeScript sources in <code>src/</code> yet.</p>`;
      page(ctx, phase.pages.api, phase.apiHeading, body, { phase: phase.number, kind: 'api' });
      continue;
    }
    log(`typedoc: ${phase.dir}`);
    problems.push(...(await buildPhaseApi(root, out, source, phase.apiHeading)));
  }
  failOnProblems(problems);

  log('checking links');
  const documents = [glossary, architecture].filter((d): d is string => d !== null);
  const required = ['index.html', NUMBERS_PAGE, ...documents, ...built.flatMap((p) => [p.pages.writeup, p.pages.api, ...(p.diffHeading === null ? [] : [p.pages.diff])])];
  const check = checkLinks(out, { start: 'index.html', required });
  failOnProblems(check.problems);
  return { out, phases: built, pageCount: countPages(out), linkCount: check.linkCount };
}
