/**
 * Code in the chapters: named regions of source files, quoted by the markdown that
 * explains them, so the text can never drift from the code.
 *
 * A region is marked in a `.ts` (or `.js`) file by two comment lines, the way VS Code
 * folds them; they change nothing the code does:
 *
 *   // #region append
 *   …the lines the chapter quotes…
 *   // #endregion append
 *
 * Both markers name the region (a name is letters, digits, `_`, `.` or `-`). Regions
 * may nest; they may not overlap. The excerpt is the lines between the markers with
 * any nested markers left out, leading and trailing blank lines dropped, and the
 * common indentation removed; its line range is that of the first and last line kept.
 *
 * A markdown file quotes a region with a directive on its own line, at the top level
 * of the document, directly followed (no blank line) by a fenced copy of the excerpt
 * (so that the chapter reads the same on GitHub, where the comment is invisible):
 *
 *   <!-- include: src/log/log.ts#append -->
 *   ```ts
 *   …the excerpt, exactly…
 *   ```
 *
 * The path is relative to the markdown file (for a chapter: the phase folder). The
 * build checks that the copy equals the excerpt and renders the region from the
 * source; {@link fixRegionCopies} (`npm run site -- --fix-regions`) rewrites every
 * copy from its region, adding the ones that are missing.
 *
 * Everything that is wrong is a build problem, one line each: in a source file a
 * malformed, unclosed or mismatched marker, a region defined twice or an empty one;
 * in markdown a malformed directive, a missing file or region, or a copy that is
 * missing or differs.
 */
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, posix } from 'node:path';
import type { MarkdownIt, Token } from 'markdown-it';
import { isSkippedName, sortStrings } from './repo.ts';

/** One region of a source file, as a chapter shows it. */
export interface Region {
  readonly name: string;
  /** Repository path of the file that holds it. */
  readonly file: string;
  /** 1-based line of the first and last line of the excerpt in the file. */
  readonly startLine: number;
  readonly endLine: number;
  /** The excerpt: no markers, no common indentation, no trailing newline. */
  readonly code: string;
  /** Set when the region is defined more than once in its file (the build fails). */
  readonly duplicate: boolean;
}

/** What {@link parseRegions} found in one file. */
export interface ParsedRegions {
  readonly regions: ReadonlyMap<string, Region>;
  /** One line per defect, `file:line: message`. */
  readonly problems: readonly string[];
}

/** Extensions whose files may hold regions (line comments are `//`). */
const REGION_EXTENSIONS = new Set(['.ts', '.mts', '.cts', '.tsx', '.js', '.mjs', '.cjs', '.jsx']);

/** A name as markers and directives write it. */
const NAME = '[A-Za-z0-9][A-Za-z0-9_.-]*';

/** Any line that looks like a marker; checked strictly by {@link MARKER}. */
const MARKER_LIKE = /^\s*\/\/\s*#(end)?region\b/;
const MARKER = new RegExp(`^\\s*// #(region|endregion) (${NAME})\\s*$`);

/** Any html block that looks like a directive; checked strictly by {@link DIRECTIVE}. */
const DIRECTIVE_LIKE = /^<!--\s*include\b/;
const DIRECTIVE = new RegExp(`^<!-- include: ([^\\s#]+)#(${NAME}) -->$`);

/** The command that rewrites stale copies, named in every problem about one. */
export const FIX_COMMAND = 'npm run site -- --fix-regions';

/** True when `repoPath` is a file type that can hold regions. */
export function canHoldRegions(repoPath: string): boolean {
  return REGION_EXTENSIONS.has(posix.extname(repoPath).toLowerCase());
}

/** Drop the common leading whitespace of the non-blank lines; blank lines become empty. */
function dedent(lines: readonly string[]): string[] {
  const indents = lines.filter((l) => l.trim() !== '').map((l) => /^[ \t]*/.exec(l)?.[0].length ?? 0);
  const cut = indents.length === 0 ? 0 : Math.min(...indents);
  return lines.map((l) => (l.trim() === '' ? '' : l.slice(cut)));
}

/**
 * Find the regions of one source file. `file` is its repository path, used in the
 * regions and in problem messages.
 * @example
 * parseRegions('a();\n// #region b\nb();\n// #endregion b\n', 'x.ts').regions.get('b')
 * // { name: 'b', file: 'x.ts', startLine: 3, endLine: 3, code: 'b();', duplicate: false }
 */
export function parseRegions(text: string, file: string): ParsedRegions {
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  const problems: string[] = [];
  const regions = new Map<string, Region>();
  const firstLine = new Map<string, number>();
  const open: { name: string; line: number }[] = [];
  const markerLines = new Set<number>();
  const spans: { name: string; from: number; to: number }[] = [];
  lines.forEach((line, i) => {
    if (!MARKER_LIKE.test(line)) return;
    const n = i + 1;
    markerLines.add(n);
    const m = MARKER.exec(line);
    if (m === null) {
      problems.push(`${file}:${n}: malformed region marker "${line.trim()}" (write "// #region <name>" and "// #endregion <name>")`);
      return;
    }
    const [, kind, name] = m as unknown as [string, string, string];
    if (kind === 'region') {
      open.push({ name, line: n });
      return;
    }
    const top = open.at(-1);
    if (top === undefined) {
      problems.push(`${file}:${n}: "#endregion ${name}" without an open "#region ${name}"`);
    } else if (top.name !== name) {
      problems.push(`${file}:${n}: "#endregion ${name}" does not close the innermost open region "${top.name}" (opened at line ${top.line})`);
      // Recover: close the matching open region if there is one, else ignore this marker.
      const at = open.map((o) => o.name).lastIndexOf(name);
      if (at !== -1) open.splice(at);
    } else {
      open.pop();
      spans.push({ name, from: top.line, to: n });
    }
  });
  for (const o of open) problems.push(`${file}:${o.line}: "#region ${o.name}" is never closed (add "// #endregion ${o.name}")`);
  spans.sort((a, b) => a.from - b.from);
  for (const span of spans) {
    const kept: { n: number; text: string }[] = [];
    for (let n = span.from + 1; n < span.to; n++) if (!markerLines.has(n)) kept.push({ n, text: lines[n - 1] ?? '' });
    while (kept.length > 0 && (kept[0] as { text: string }).text.trim() === '') kept.shift();
    while (kept.length > 0 && (kept.at(-1) as { text: string }).text.trim() === '') kept.pop();
    const seen = firstLine.get(span.name);
    if (seen !== undefined) {
      problems.push(`${file}:${span.from}: region "${span.name}" is defined twice (first at line ${seen})`);
      const first = regions.get(span.name);
      if (first !== undefined) regions.set(span.name, { ...first, duplicate: true });
      continue;
    }
    firstLine.set(span.name, span.from);
    if (kept.length === 0) {
      problems.push(`${file}:${span.from}: region "${span.name}" is empty`);
      regions.set(span.name, { name: span.name, file, startLine: span.from, endLine: span.to, code: '', duplicate: false });
      continue;
    }
    regions.set(span.name, {
      name: span.name,
      file,
      startLine: (kept[0] as { n: number }).n,
      endLine: (kept.at(-1) as { n: number }).n,
      code: dedent(kept.map((k) => k.text)).join('\n'),
      duplicate: false,
    });
  }
  return { regions, problems };
}

/** A directive as written: its path and region name, and the line it is on (1-based). */
export interface Directive {
  readonly path: string;
  readonly name: string;
  readonly line: number;
}

/**
 * Read a directive from an html block's text: the directive, null when the block is
 * not one, or an error message when it looks like one but is malformed.
 */
export function parseDirective(html: string, line: number): Directive | string | null {
  const text = html.trim();
  if (!DIRECTIVE_LIKE.test(text)) return null;
  const m = DIRECTIVE.exec(text);
  if (m === null) return `malformed include directive "${text.split('\n')[0]}" (write "<!-- include: path/to/file.ts#region-name -->" on its own line)`;
  return { path: m[1] as string, name: m[2] as string, line };
}

/** The language label of a fenced copy, from the file's extension. */
export function fenceLanguage(repoPath: string): string {
  return posix.extname(repoPath).slice(1).toLowerCase();
}

/** A fenced block holding `code`: backticks one longer than any run inside, at least three. */
export function fencedCopy(code: string, lang: string): string[] {
  const longest = Math.max(0, ...[...code.matchAll(/`+/g)].map((m) => m[0].length));
  const fence = '`'.repeat(Math.max(3, longest + 1));
  return [`${fence}${lang}`, ...(code === '' ? [] : code.split('\n')), fence];
}

/** One directive found in a parsed markdown document, with the fenced copy after it. */
export interface IncludeSite {
  /** Index of the directive's html_block token. */
  readonly index: number;
  /** The directive, or the message saying why it is malformed. */
  readonly directive: Directive | string;
  /** True when the directive sits at the top level (not in a list or a quote). */
  readonly topLevel: boolean;
  /** The fence token directly below the directive (no blank line between), if any. A
   * fence further down is never taken for a copy: it may be an unrelated example. */
  readonly copy: { readonly index: number; readonly token: Token } | null;
  /** Lines [start, end) of the directive, 0-based, as markdown-it maps them. */
  readonly map: readonly [number, number];
}

/** Every directive in a markdown token stream, in order. */
export function findIncludes(tokens: readonly Token[]): IncludeSite[] {
  const sites: IncludeSite[] = [];
  tokens.forEach((token, index) => {
    if (token.type !== 'html_block' || token.map === null) return;
    const map: [number, number] = [token.map[0], token.map[1]];
    const directive = parseDirective(token.content, map[0] + 1);
    if (directive === null) return;
    const next = tokens[index + 1];
    const copy = next !== undefined && next.type === 'fence' && next.map !== null && next.map[0] === map[1] ? { index: index + 1, token: next } : null;
    sites.push({ index, directive, topLevel: token.level === 0, copy, map });
  });
  return sites;
}

/** The first line where a copy differs from the excerpt, for the problem message. */
function firstDifference(copy: string, code: string): string {
  const a = copy.split('\n');
  const b = code.split('\n');
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const x = a[i];
    const y = b[i];
    if (x === y) continue;
    // Show each side from a little before the first character that differs.
    let at = 0;
    while (x !== undefined && y !== undefined && at < x.length && x[at] === y[at]) at++;
    const from = at > 40 ? at - 20 : 0;
    const shown = (s: string | undefined): string => {
      if (s === undefined) return 'nothing';
      const part = s.slice(from, from + 60);
      return JSON.stringify(`${from > 0 ? '…' : ''}${part}${from + 60 < s.length ? '…' : ''}`);
    };
    return `line ${i + 1} of the copy is ${shown(x)}, the source has ${shown(y)}`;
  }
  return 'they differ';
}

/**
 * The problem with a directive's copy, or null when it equals the excerpt.
 * @param where `file:line` of the directive
 */
export function copyProblem(site: IncludeSite, region: Region, where: string): string | null {
  const target = `${(site.directive as Directive).path}#${region.name}`;
  if (site.copy === null) return `${where}: include "${target}" is not directly followed (no blank line) by a fenced copy of the region (run ${FIX_COMMAND})`;
  const content = site.copy.token.content;
  const copy = content.endsWith('\n') ? content.slice(0, -1) : content;
  if (copy === region.code) return null;
  return `${where}: the copy of "${target}" differs from ${region.file} (${firstDifference(copy, region.code)}); run ${FIX_COMMAND}`;
}

/**
 * The regions of a repository, read on demand and parsed once per build. Problems in
 * a source file are recorded the first time the file is read; problems with a
 * directive are recorded each time it is resolved.
 */
export class RegionIndex {
  private readonly files = new Map<string, ParsedRegions | null>();

  /**
   * @param root absolute repository root
   * @param problems where problems are recorded, one line each
   */
  constructor(
    private readonly root: string,
    private readonly problems: string[],
  ) {}

  /** Parse `repoPath` (once), recording its marker problems; null when it cannot be read. */
  file(repoPath: string): ParsedRegions | null {
    if (this.files.has(repoPath)) return this.files.get(repoPath) ?? null;
    let parsed: ParsedRegions | null = null;
    try {
      parsed = parseRegions(readFileSync(join(this.root, repoPath), 'utf8'), repoPath);
      this.problems.push(...parsed.problems);
    } catch {
      parsed = null;
    }
    this.files.set(repoPath, parsed);
    return parsed;
  }

  /** Check the markers of every file in `repoPaths` that can hold regions. */
  checkFiles(repoPaths: Iterable<string>): void {
    for (const path of repoPaths) if (canHoldRegions(path)) this.file(path);
  }

  /**
   * The region a directive in markdown file `fromFile` names, or null (with the
   * problem recorded) when the file or region is missing, empty or defined twice.
   */
  resolve(fromFile: string, directive: Directive): Region | null {
    const where = `${fromFile}:${directive.line}`;
    const target = `${directive.path}#${directive.name}`;
    const fail = (why: string): null => {
      this.problems.push(`${where}: include "${target}": ${why}`);
      return null;
    };
    const repoPath = posix.normalize(directive.path.startsWith('/') ? directive.path.slice(1) : posix.join(posix.dirname(fromFile), directive.path));
    if (repoPath === '..' || repoPath.startsWith('../')) return fail('the path leaves the repository');
    if (repoPath.split('/').some((seg) => isSkippedName(seg))) return fail(`${repoPath} is in a folder the site does not publish`);
    let isFile = false;
    try {
      isFile = statSync(join(this.root, repoPath)).isFile();
    } catch {
      isFile = false;
    }
    if (!isFile) return fail(`no such file ${repoPath}`);
    if (!canHoldRegions(repoPath)) return fail(`${repoPath} cannot hold regions (only ${[...REGION_EXTENSIONS].join(', ')} files have // #region markers)`);
    const parsed = this.file(repoPath);
    if (parsed === null) return fail(`cannot read ${repoPath}`);
    const region = parsed.regions.get(directive.name);
    if (region === undefined) {
      const names = [...parsed.regions.keys()];
      return fail(`no region "${directive.name}" in ${repoPath} (${names.length === 0 ? 'it has no regions' : `it has: ${sortStrings(names).join(', ')}`})`);
    }
    if (region.duplicate) return fail(`region "${directive.name}" is defined more than once in ${repoPath}`);
    if (region.code === '') return fail(`region "${directive.name}" in ${repoPath} is empty`);
    return region;
  }
}

/** Every markdown file under `root`, skipping dot-folders, node_modules, dist and coverage. */
function markdownFiles(root: string): string[] {
  const out: string[] = [];
  const walk = (rel: string): void => {
    for (const e of readdirSync(join(root, rel), { withFileTypes: true })) {
      if (isSkippedName(e.name)) continue;
      const child = rel === '' ? e.name : `${rel}/${e.name}`;
      if (e.isDirectory()) walk(child);
      else if (e.isFile() && e.name.toLowerCase().endsWith('.md')) out.push(child);
    }
  };
  walk('');
  return sortStrings(out);
}

/** What {@link fixRegionCopies} did. */
export interface FixResult {
  /** Markdown files rewritten, with how many copies each got. */
  readonly rewritten: readonly { readonly file: string; readonly copies: number }[];
  /** Problems that no rewrite can fix (missing files or regions, bad markers). */
  readonly problems: readonly string[];
}

/**
 * Rewrite the fenced copy after every directive in every markdown file of the
 * repository so it equals its region, inserting copies where none follow. Only the
 * copies change; a file without stale copies is not written.
 * @param md the site's markdown-it instance (`createMarkdown()`), to find directives
 *   exactly where the build finds them
 */
export function fixRegionCopies(root: string, md: MarkdownIt): FixResult {
  const problems: string[] = [];
  const index = new RegionIndex(root, problems);
  const rewritten: { file: string; copies: number }[] = [];
  for (const file of markdownFiles(root)) {
    const source = readFileSync(join(root, file), 'utf8');
    if (!source.includes('<!--')) continue;
    const env = { rewrite: (href: string) => href, slugger: { slug: (t: string) => t, reserve: () => {} }, headings: [] };
    const sites = findIncludes(md.parse(source, env));
    const lines = source.split('\n');
    const edits: { from: number; to: number; lines: string[] }[] = [];
    for (const site of sites) {
      const where = `${file}:${site.map[0] + 1}`;
      if (typeof site.directive === 'string') {
        problems.push(`${where}: ${site.directive}`);
        continue;
      }
      if (!site.topLevel) {
        problems.push(`${where}: include directives must be at the top level of the document (not in a list or a quote)`);
        continue;
      }
      const region = index.resolve(file, site.directive);
      if (region === null || copyProblem(site, region, where) === null) continue;
      const block = fencedCopy(region.code, fenceLanguage(region.file));
      const copy = site.copy?.token;
      if (copy === undefined || copy.map === null) {
        edits.push({ from: site.map[1], to: site.map[1], lines: block });
        continue;
      }
      // An unclosed fence runs to the end of the document: replacing it would eat the rest.
      const closing = (lines[copy.map[1] - 1] ?? '').trim();
      if (copy.map[1] - copy.map[0] < 2 || !closing.startsWith(copy.markup) || closing.replace(/^[`~]+/, '') !== '') {
        problems.push(`${where}: the fenced copy after include "${site.directive.path}#${site.directive.name}" is never closed; close it by hand`);
        continue;
      }
      edits.push({ from: copy.map[0], to: copy.map[1], lines: block });
    }
    if (edits.length === 0) continue;
    for (const e of [...edits].reverse()) lines.splice(e.from, e.to - e.from, ...e.lines);
    writeFileSync(join(root, file), lines.join('\n'));
    rewritten.push({ file, copies: edits.length });
  }
  return { rewritten, problems };
}
