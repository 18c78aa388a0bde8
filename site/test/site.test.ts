/**
 * The real course site: built once from this repository (typedoc is the slow part),
 * then link-checked, then read in a real browser — Debian's Chromium driven by
 * playwright-core — by clicking from home to a writeup, its API reference and (once
 * phase 2 exists) a diff, checking each page's heading and that the browser logged no
 * errors, and by following a chapter's included source region (code in the chapters,
 * `regions.ts`) from its caption to the line on the source page. Screenshots of home, a
 * writeup, an included region and a diff go to `site/dist/` for a human to look at.
 *
 * Without /usr/bin/chromium the browser test reports itself skipped with the command
 * that installs it; `.ci/run` installs it so CI always runs it.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot, tempDir, type TempDir } from '../../shared/src/testing.ts';
import type { BuildResult } from '../src/build.ts';
import { buildSite } from '../src/build.ts';
import { checkLinks } from '../src/links.ts';
import { PLANNED_PHASES } from '../src/repo.ts';
import { serveStatic, type StaticServer } from '../src/serve.ts';

const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
];
const hasChromium = existsSync(CHROMIUM);
const SCREENSHOT_DIR = join(repoRoot, 'site', 'dist');

describe('the course site built from this repository', () => {
  let out: TempDir;
  let result: BuildResult;

  beforeAll(async () => {
    out = tempDir('site-real-');
    result = await buildSite({ root: repoRoot, out: out.path });
  });
  afterAll(() => out.remove());

  it('has a writeup and an API page for every phase folder, and a diff for every phase after the first', () => {
    expect(result.phases.length).toBeGreaterThan(0);
    for (const [i, phase] of result.phases.entries()) {
      expect(existsSync(join(out.path, phase.pages.writeup)), phase.pages.writeup).toBe(true);
      expect(existsSync(join(out.path, phase.pages.api)), phase.pages.api).toBe(true);
      expect(existsSync(join(out.path, phase.pages.diff)), phase.pages.diff).toBe(i > 0);
    }
  });

  it('passes the link checker: every internal link and anchor resolves, every phase page is reachable from home', () => {
    const required = result.phases.flatMap((p) => [p.pages.writeup, p.pages.api, p.pages.files, ...(p.diffHeading === null ? [] : [p.pages.diff])]);
    const check = checkLinks(out.path, { start: 'index.html', required: [...required, 'numbers.html'] });
    expect(check.problems).toEqual([]);
    expect(check.linkCount).toBeGreaterThan(0);
  });

  describe('in a browser', () => {
    let server: StaticServer | undefined;
    let browser: Browser | undefined;
    let page: Page;
    const errors: string[] = [];

    beforeAll(async () => {
      if (!hasChromium) return;
      server = await serveStatic(out.path);
      browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true });
      page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
      page.on('console', (msg) => {
        if (msg.type() === 'error') errors.push(`console: ${msg.text()} (${page.url()})`);
      });
      page.on('pageerror', (err) => errors.push(`page error: ${err.message} (${page.url()})`));
      page.on('response', (res) => {
        if (res.status() >= 400) errors.push(`HTTP ${res.status()}: ${res.url()}`);
      });
      // A request cut short by our own next click is not a site error.
      page.on('requestfailed', (req) => {
        if (req.failure()?.errorText !== 'net::ERR_ABORTED') errors.push(`request failed: ${req.url()} (${req.failure()?.errorText ?? '?'})`);
      });
    });
    afterAll(async () => {
      await browser?.close();
      await server?.close();
    });

    const h1 = async (): Promise<string> => ((await page.locator('h1').first().textContent()) ?? '').trim();
    const clickTo = async (selector: string): Promise<void> => {
      await Promise.all([page.waitForEvent('load'), page.locator(selector).first().click()]);
    };

    it.skipIf(!hasChromium)(`follows links from home to a writeup, from a quoted source region to its line, to a diff and an API page without errors (needs ${CHROMIUM}; install: apt-get install -y chromium)`, async () => {
      if (server === undefined) throw new Error('server not started');
      const first = result.phases[0];
      if (first === undefined) throw new Error('no phases');
      await page.goto(server.url);
      expect(await page.title()).toContain('A commit log, from scratch');
      expect(await page.locator('.course-map > li').count()).toBeGreaterThanOrEqual(PLANNED_PHASES.length);
      mkdirSync(SCREENSHOT_DIR, { recursive: true });
      await page.screenshot({ path: join(SCREENSHOT_DIR, 'screenshot-home.png'), fullPage: true });

      await clickTo(`.course-map a.title[href="${first.pages.writeup}"]`);
      expect(await h1()).toBe(first.writeupHeading);
      await page.screenshot({ path: join(SCREENSHOT_DIR, 'screenshot-writeup.png') });

      await clickTo('.tabs a.tab:text-is("API")');
      expect(await h1()).toBe(first.apiHeading);

      await clickTo('a:text-is("Course")');
      expect(await h1()).not.toBe('');
      expect(page.url()).toBe(server.url + 'index.html');

      // Code in the chapters: the first writeup quotes source regions; the caption of one
      // links to its first line on the source page, which the browser scrolls to.
      await clickTo(`.course-map a.title[href="${first.pages.writeup}"]`);
      const region = page.locator('figure.region').first();
      expect(await page.locator('figure.region').count()).toBeGreaterThanOrEqual(4);
      await region.scrollIntoViewIfNeeded();
      expect(await region.locator('pre.hljs code .hljs-keyword').first().isVisible()).toBe(true);
      expect((await region.locator('pre code').textContent()) ?? '').not.toContain('#region');
      const caption = region.locator('figcaption a');
      expect(await caption.isVisible()).toBe(true);
      const captionText = ((await caption.textContent()) ?? '').trim();
      const m = /^(\S+) lines? (\d+)(?:–(\d+))?$/.exec(captionText);
      if (m === null) throw new Error(`unexpected region caption "${captionText}"`);
      const [, shownPath, startLine] = m as unknown as [string, string, string];
      const firstCodeLine = (((await region.locator('pre code').textContent()) ?? '').split('\n')[0] ?? '').trim();
      await region.screenshot({ path: join(SCREENSHOT_DIR, 'screenshot-region.png') });
      await Promise.all([page.waitForEvent('load'), caption.click()]);
      expect(page.url()).toBe(`${server.url}${first.dir}/${shownPath}.html#L${startLine}`);
      expect(await h1()).toBe(`${first.dir}/${shownPath}`);
      const target = page.locator(`#L${startLine}`);
      expect(await target.isVisible()).toBe(true);
      expect(((await target.locator('.lc').textContent()) ?? '').trim()).toBe(firstCodeLine);
      // The anchored line is scrolled to the top of the viewport (sub-pixel rounding allowed).
      const box = await target.boundingBox();
      expect(box !== null && box.y > -2 && box.y + box.height < 900, `line box ${JSON.stringify(box)}`).toBe(true);
      expect(await page.evaluate(() => window.scrollY)).toBeGreaterThan(0);

      const second = result.phases[1];
      if (second !== undefined && second.diffHeading !== null) {
        await page.goto(server.url);
        await clickTo(`.course-map a[href="${second.pages.diff}"]`);
        expect(await h1()).toBe(second.diffHeading);
        expect(await page.locator('.d2h-file-side-diff').count()).toBeGreaterThan(0);
        await page.screenshot({ path: join(SCREENSHOT_DIR, 'screenshot-diff.png') });
      }
      expect(errors).toEqual([]);
    });
  });
});
