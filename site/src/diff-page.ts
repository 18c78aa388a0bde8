/**
 * The "what changed" page of a phase: the phase's `phase.json` lists (introduced,
 * changed, removed) first, then every file that differs from the previous phase, side
 * by side. Each file's patch is made with `diff`'s createTwoFilesPatch and rendered by
 * diff2html (`outputFormat: 'side-by-side'`, no client script); diff2html's stylesheet
 * is copied into the site by `build.ts`.
 *
 * README.md and phase.json are left out: every phase has its own, and the course's
 * carry-forward check exempts them too. Files that differ without being listed in
 * phase.json are flagged, since the snapshot rule says they should not exist.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createTwoFilesPatch } from 'diff';
import { html as diffToHtml } from 'diff2html';
import { escapeHtml, relativeHref } from './layout.ts';
import type { Phase } from './repo.ts';
import { sitePathFor, sortStrings } from './repo.ts';
import { isText } from './source.ts';

/** Files every phase has its own copy of; never part of a diff. */
export const DIFF_EXEMPT = new Set(['README.md', 'phase.json']);

/** How one file differs between two phases. */
export interface FileChange {
  /** Path relative to the phase folder. */
  readonly path: string;
  readonly status: 'added' | 'changed' | 'removed';
  /** Unified diff text (git style), or null for binary files. */
  readonly patch: string | null;
}

/**
 * A git-style patch for one file: `null` content means the file does not exist on
 * that side (so diff2html labels it ADDED or DELETED).
 * @example filePatch('src/a.ts', 'a\n', 'b\n') // 'diff --git a/src/a.ts b/src/a.ts\n--- a/src/a.ts\n+++ b/src/a.ts\n@@ …'
 */
export function filePatch(path: string, before: string | null, after: string | null): string {
  const body = createTwoFilesPatch('a', 'b', before ?? '', after ?? '', undefined, undefined, { context: 3 });
  const hunksAt = body.indexOf('\n@@');
  const hunks = hunksAt === -1 ? '' : body.slice(hunksAt + 1);
  const head = [`diff --git a/${path} b/${path}`];
  if (before === null) head.push('new file mode 100644', '--- /dev/null', `+++ b/${path}`);
  else if (after === null) head.push('deleted file mode 100644', `--- a/${path}`, '+++ /dev/null');
  else head.push(`--- a/${path}`, `+++ b/${path}`);
  return `${head.join('\n')}\n${hunks}`;
}

/** Compare two phase folders file by file (sorted by path). */
export function comparePhases(root: string, previous: Phase, current: Phase): { changes: FileChange[]; unchanged: number } {
  const before = new Set(previous.files.filter((f) => !DIFF_EXEMPT.has(f)));
  const after = new Set(current.files.filter((f) => !DIFF_EXEMPT.has(f)));
  const changes: FileChange[] = [];
  let unchanged = 0;
  for (const path of sortStrings(new Set([...before, ...after]))) {
    const a = before.has(path) ? readFileSync(join(root, previous.dir, path)) : null;
    const b = after.has(path) ? readFileSync(join(root, current.dir, path)) : null;
    if (a !== null && b !== null && a.equals(b)) {
      unchanged += 1;
      continue;
    }
    const status = a === null ? 'added' : b === null ? 'removed' : 'changed';
    const text = (a === null || isText(a)) && (b === null || isText(b));
    const patch = text ? filePatch(path, a?.toString('utf8') ?? null, b?.toString('utf8') ?? null) : null;
    changes.push({ path, status, patch });
  }
  return { changes, unchanged };
}

/** Lines added and removed by a patch (hunk bodies only). */
export function patchStats(patch: string): { added: number; removed: number } {
  let added = 0;
  let removed = 0;
  let inHunk = false;
  for (const line of patch.split('\n')) {
    if (line.startsWith('@@')) inHunk = true;
    else if (inHunk && line.startsWith('+')) added += 1;
    else if (inHunk && line.startsWith('-')) removed += 1;
  }
  return { added, removed };
}

/** The in-page anchor of a file's section on the diff page. */
export function fileAnchor(path: string): string {
  return `file-${path.replace(/[^A-Za-z0-9_-]+/g, '-')}`;
}

/**
 * The main-column HTML of phase `current`'s diff page against `previous`.
 * @param pagePath the diff page's site path
 */
export function renderDiffBody(root: string, previous: Phase, current: Phase, pagePath: string): string {
  const { changes, unchanged } = comparePhases(root, previous, current);
  const byPath = new Map(changes.map((c) => [c.path, c]));
  const m = current.manifest;
  const fileLink = (path: string, dir: string): string => {
    const c = byPath.get(path);
    const name = `<code>${escapeHtml(path)}</code>`;
    if (c !== undefined) return `<a href="#${fileAnchor(path)}">${name}</a>`;
    if (current.files.includes(path) || previous.files.includes(path)) {
      return `<a href="${relativeHref(pagePath, sitePathFor(`${dir}/${path}`, 'file'))}">${name}</a> <span class="note">(identical to phase ${previous.number})</span>`;
    }
    return `${name} <span class="note">(no such file)</span>`;
  };
  const list = (title: string, paths: readonly string[], dir: string): string =>
    paths.length === 0
      ? ''
      : `<h3>${title}</h3>\n<ul class="manifest">${paths.map((p) => `<li>${fileLink(p, dir)}</li>`).join('')}</ul>`;
  const listed = new Set([...m.introduces, ...m.changes, ...m.removes]);
  const unlisted = changes.filter((c) => !listed.has(c.path)).map((c) => c.path);
  const prevNote = previous.number === current.number - 1 ? '' : ` (phase ${current.number - 1} does not exist yet, so this compares with phase ${previous.number})`;
  const parts: string[] = [
    `<h1>Phase ${current.number}: what changed since phase ${previous.number}</h1>`,
    `<p class="lead">${escapeHtml(m.summary)}</p>`,
    `<p>Phase ${current.number} (<code>${escapeHtml(current.dir)}</code>) is a full copy of phase ${previous.number} (<code>${escapeHtml(previous.dir)}</code>)${prevNote} plus the changes below. The same diff on the command line: <code>npm run diff ${previous.number} ${current.number}</code>.</p>`,
    '<h2 id="manifest">What phase.json says</h2>',
    list('Introduces', m.introduces, current.dir) + list('Changes', m.changes, current.dir) + list('Removes', m.removes, previous.dir) ||
      '<p>phase.json lists no files.</p>',
  ];
  if (unlisted.length > 0) {
    parts.push(
      `<p class="warning">Differs but not listed in phase.json: ${unlisted.map((p) => `<a href="#${fileAnchor(p)}"><code>${escapeHtml(p)}</code></a>`).join(', ')}</p>`,
    );
  }
  parts.push(
    `<h2 id="files">Files</h2>`,
    `<p>${changes.length} file${changes.length === 1 ? '' : 's'} differ; ${unchanged} identical file${unchanged === 1 ? ' is' : 's are'} not shown (README.md and phase.json are per phase and not compared).</p>`,
  );
  if (changes.length > 0) {
    const rows = changes.map((c) => {
      const stats = c.patch === null ? 'binary' : (({ added, removed }) => `<span class="plus">+${added}</span> <span class="minus">−${removed}</span>`)(patchStats(c.patch));
      return `<li><span class="status ${c.status}">${c.status}</span> <a href="#${fileAnchor(c.path)}"><code>${escapeHtml(c.path)}</code></a> <span class="stats">${stats}</span></li>`;
    });
    parts.push(`<ul class="file-index">\n${rows.join('\n')}\n</ul>`);
  }
  for (const c of changes) {
    const dir = c.status === 'removed' ? previous.dir : current.dir;
    const source = relativeHref(pagePath, sitePathFor(`${dir}/${c.path}`, 'file'));
    const body =
      c.patch === null
        ? '<p>Binary file; not shown.</p>'
        : diffToHtml(c.patch, { outputFormat: 'side-by-side', drawFileList: false, matching: 'lines', diffStyle: 'word' });
    parts.push(
      `<section class="file-diff ${c.status}" id="${fileAnchor(c.path)}">`,
      `<h3><span class="status ${c.status}">${c.status}</span> <a href="${source}"><code>${escapeHtml(c.path)}</code></a></h3>`,
      body,
      '</section>',
    );
  }
  return parts.join('\n');
}
