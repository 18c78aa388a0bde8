/**
 * The "what changed" page of a phase: the phase's `phase.json` lists (introduced,
 * changed, removed) first, then every file that differs from the previous phase, side
 * by side. Each file's patch is made with `diff`'s createTwoFilesPatch and rendered by
 * diff2html (`outputFormat: 'side-by-side'`, no client script); diff2html's stylesheet
 * is copied into the site by `build.ts`.
 *
 * A file the previous phase has and this one does not, paired with a file this phase
 * adds with the same or similar content (course/src/renames.ts, git's similarity of
 * at least 50%, the same pairing as `npm run diff`), is shown once as a move: a
 * git-style rename patch (`similarity index`, `rename from`, `rename to`, which
 * diff2html reads) with its edits, or a note when it moved without edits.
 *
 * README.md and phase.json are left out: every phase has its own, and the course's
 * carry-forward check exempts them too. Files that differ without being listed in
 * phase.json are flagged, since the snapshot rule says they should not exist.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createTwoFilesPatch } from 'diff';
import { html as diffToHtml } from 'diff2html';
import { detectRenames } from '../../course/src/renames.ts';
import { escapeHtml, relativeHref } from './layout.ts';
import type { Phase } from './repo.ts';
import { sitePathFor, sortStrings } from './repo.ts';
import { isText } from './source.ts';

/** Files every phase has its own copy of; never part of a diff. */
export const DIFF_EXEMPT = new Set(['README.md', 'phase.json']);

/** How one file differs between two phases. */
export interface FileChange {
  /** Path relative to the phase folder; for a renamed file, its path in the current phase. */
  readonly path: string;
  readonly status: 'added' | 'changed' | 'removed' | 'renamed';
  /** For a renamed file, its path in the previous phase; absent otherwise. */
  readonly from?: string;
  /** For a renamed file, git's similarity in percent (100: moved without edits). */
  readonly similarity?: number;
  /** Unified diff text (git style), or null for binary files. */
  readonly patch: string | null;
}

/** The old path and similarity of a renamed file, for {@link filePatch}. */
export interface RenameOf {
  readonly from: string;
  readonly similarity: number;
}

/**
 * A git-style patch for one file: `null` content means the file does not exist on
 * that side (so diff2html labels it ADDED or DELETED). With `rename`, `path` is the
 * new path and the patch is a rename from `rename.from` (so diff2html labels it
 * RENAMED): `similarity index`, `rename from`, `rename to`, then the hunks, or the
 * header alone when the contents are the same.
 * @example filePatch('src/a.ts', 'a\n', 'b\n') // 'diff --git a/src/a.ts b/src/a.ts\n--- a/src/a.ts\n+++ b/src/a.ts\n@@ …'
 * @example filePatch('src/seams/a.ts', 'a\n', 'a\n', { from: 'src/a.ts', similarity: 100 })
 * // 'diff --git a/src/a.ts b/src/seams/a.ts\nsimilarity index 100%\nrename from src/a.ts\nrename to src/seams/a.ts\n'
 */
export function filePatch(path: string, before: string | null, after: string | null, rename?: RenameOf): string {
  const body = createTwoFilesPatch('a', 'b', before ?? '', after ?? '', undefined, undefined, { context: 3 });
  const hunksAt = body.indexOf('\n@@');
  const hunks = hunksAt === -1 ? '' : body.slice(hunksAt + 1);
  const from = rename?.from ?? path;
  const head = [`diff --git a/${from} b/${path}`];
  if (rename !== undefined) {
    head.push(`similarity index ${rename.similarity}%`, `rename from ${from}`, `rename to ${path}`);
    if (hunks !== '') head.push(`--- a/${from}`, `+++ b/${path}`);
  } else if (before === null) head.push('new file mode 100644', '--- /dev/null', `+++ b/${path}`);
  else if (after === null) head.push('deleted file mode 100644', `--- a/${path}`, '+++ /dev/null');
  else head.push(`--- a/${path}`, `+++ b/${path}`);
  return `${head.join('\n')}\n${hunks}`;
}

/**
 * Compare two phase folders file by file (sorted by path; a renamed file by its new
 * path). Removed and added files that pair up as renames are one `renamed` change.
 */
export function comparePhases(root: string, previous: Phase, current: Phase): { changes: FileChange[]; unchanged: number } {
  const before = new Set(previous.files.filter((f) => !DIFF_EXEMPT.has(f)));
  const after = new Set(current.files.filter((f) => !DIFF_EXEMPT.has(f)));
  const read = (phase: Phase, path: string): Buffer => readFileSync(join(root, phase.dir, path));
  const renames = detectRenames(
    sortStrings([...before].filter((f) => !after.has(f))).map((path) => ({ path, bytes: read(previous, path) })),
    sortStrings([...after].filter((f) => !before.has(f))).map((path) => ({ path, bytes: read(current, path) })),
  );
  const renamedFrom = new Set(renames.map((r) => r.from));
  const renameTo = new Map(renames.map((r) => [r.to, r]));
  const changes: FileChange[] = [];
  let unchanged = 0;
  for (const path of sortStrings(new Set([...before, ...after]))) {
    if (renamedFrom.has(path)) continue;
    const rename = renameTo.get(path);
    if (rename !== undefined) {
      const a = read(previous, rename.from);
      const b = read(current, path);
      const how = { from: rename.from, similarity: rename.similarity };
      // A binary file moved without edits still gets its rename header; with edits it is not shown, like any binary change.
      const patch = isText(a) && isText(b) ? filePatch(path, a.toString('utf8'), b.toString('utf8'), how) : a.equals(b) ? filePatch(path, '', '', how) : null;
      changes.push({ path, status: 'renamed', ...how, patch });
      continue;
    }
    const a = before.has(path) ? read(previous, path) : null;
    const b = after.has(path) ? read(current, path) : null;
    if (a !== null && b !== null && a.equals(b)) {
      unchanged += 1;
      continue;
    }
    const text = (a === null || isText(a)) && (b === null || isText(b));
    const status = a === null ? 'added' : b === null ? 'removed' : 'changed';
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
  // A renamed file is found under both of its paths (phase.json lists the old one in removes).
  const byPath = new Map(changes.flatMap((c): [string, FileChange][] => (c.from === undefined ? [[c.path, c]] : [[c.path, c], [c.from, c]])));
  const m = current.manifest;
  const fileLink = (path: string, dir: string): string => {
    const c = byPath.get(path);
    const name = `<code>${escapeHtml(path)}</code>`;
    if (c !== undefined) return `<a href="#${fileAnchor(c.path)}">${name}</a>`;
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
  const unlisted = changes.flatMap((c) => [...(c.from === undefined ? [] : [c.from]), c.path].filter((p) => !listed.has(p)).map((p) => ({ path: p, anchor: fileAnchor(c.path) })));
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
      `<p class="warning">Differs but not listed in phase.json: ${unlisted.map((u) => `<a href="#${u.anchor}"><code>${escapeHtml(u.path)}</code></a>`).join(', ')}</p>`,
    );
  }
  const renamed = changes.filter((c) => c.status === 'renamed').length;
  const movedNote = renamed === 0 ? '' : ` (${renamed} of them moved from another path, shown as renames)`;
  parts.push(
    `<h2 id="files">Files</h2>`,
    `<p>${changes.length} file${changes.length === 1 ? '' : 's'} differ${movedNote}; ${unchanged} identical file${unchanged === 1 ? ' is' : 's are'} not shown (README.md and phase.json are per phase and not compared).</p>`,
  );
  const oldName = (c: FileChange): string => (c.from === undefined ? '' : `<code>${escapeHtml(c.from)}</code> → `);
  if (changes.length > 0) {
    const rows = changes.map((c) => {
      const stats = c.patch === null ? 'binary' : (({ added, removed }) => `<span class="plus">+${added}</span> <span class="minus">−${removed}</span>`)(patchStats(c.patch));
      return `<li><span class="status ${c.status}">${c.status}</span> <a href="#${fileAnchor(c.path)}">${oldName(c)}<code>${escapeHtml(c.path)}</code></a> <span class="stats">${stats}</span></li>`;
    });
    parts.push(`<ul class="file-index">\n${rows.join('\n')}\n</ul>`);
  }
  const options = { outputFormat: 'side-by-side', drawFileList: false, matching: 'lines', diffStyle: 'word' } as const;
  for (const c of changes) {
    const dir = c.status === 'removed' ? previous.dir : current.dir;
    const source = relativeHref(pagePath, sitePathFor(`${dir}/${c.path}`, 'file'));
    let title = `<a href="${source}"><code>${escapeHtml(c.path)}</code></a>`;
    let body = c.patch === null ? '<p>Binary file; not shown.</p>' : diffToHtml(c.patch, options);
    if (c.from !== undefined) {
      const oldSource = relativeHref(pagePath, sitePathFor(`${previous.dir}/${c.from}`, 'file'));
      title = `<a href="${oldSource}"><code>${escapeHtml(c.from)}</code></a> → ${title} <span class="note">(similarity ${c.similarity ?? 0}%)</span>`;
      // A rename patch without hunks: diff2html would draw an empty table.
      if (c.patch !== null && !c.patch.includes('\n@@')) body = '<p>Moved without edits.</p>';
    }
    parts.push(`<section class="file-diff ${c.status}" id="${fileAnchor(c.path)}">`, `<h3><span class="status ${c.status}">${c.status}</span> ${title}</h3>`, body, '</section>');
  }
  return parts.join('\n');
}
