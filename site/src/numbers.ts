/**
 * The numbers page: every benchmark result the repository has recorded under
 * `bench/results/` — charts (`*.svg`, embedded as images) and runs (`*.json`, shown as
 * tables) — each with the command that produced it, because a number without its
 * command cannot be checked. With no results yet, the page says so and gives the
 * command that makes them.
 *
 * Shapes it understands (bench/ owns them; see bench/src/run-object.ts):
 * - a results file is `{ runs: RunObject[], …more arrays }` or a single object; the
 *   command is the top-level `command` or each run's `command` — a file with neither
 *   fails the build;
 * - a run object (has `recordsPerSec` and `latencyMs`) is a row of the curated table
 *   (throughput, latency percentiles, workload, find-max result), with its machine,
 *   workload and notes listed under the table; anything else is tabulated generically
 *   (nested objects flattened to dotted keys);
 * - a chart states its command in its caption text (`command: …; <time>`), which is
 *   read back and shown under the image.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, posix } from 'node:path';
import { escapeHtml, relativeHref } from './layout.ts';
import { decodeEntities } from './links.ts';
import type { LinkTarget } from './repo-links.ts';
import { sortStrings } from './repo.ts';

/** Where benchmark results live, relative to the repository root. */
export const RESULTS_DIR = 'bench/results';

/** Site path of the numbers page. */
export const NUMBERS_PAGE = 'numbers.html';

/** Any parsed JSON value. */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

/** Format one value for a table cell; numbers get digit grouping and at most 3 decimals. */
export function formatValue(value: Json | undefined): string {
  if (value === null || value === undefined) return '—';
  if (typeof value === 'number') {
    if (Number.isInteger(value)) return value.toLocaleString('en-US');
    return value.toLocaleString('en-US', { maximumFractionDigits: 3 });
  }
  if (typeof value === 'string' || typeof value === 'boolean') return String(value);
  if (Array.isArray(value) && value.every((v) => v === null || typeof v !== 'object')) {
    return value.map((v) => formatValue(v)).join(', ');
  }
  return JSON.stringify(value);
}

function isObject(value: Json | undefined): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A path into a JSON object, e.g. get(run, 'latencyMs', 'p99'). */
function get(value: Json | undefined, ...keys: string[]): Json | undefined {
  let v = value;
  for (const k of keys) v = isObject(v) ? v[k] : undefined;
  return v;
}

/** True for a benchmark run object (bench/src/run-object.ts). */
export function isRunObject(value: Json | undefined): value is JsonObject {
  return isObject(value) && typeof value.recordsPerSec === 'number' && isObject(value.latencyMs);
}

/** Flatten nested objects to dotted keys; arrays of objects are left to their own table. */
function flatten(value: JsonObject, prefix: string, out: [string, Json][], tables: [string, Json[]][]): void {
  for (const [key, v] of Object.entries(value)) {
    const name = prefix === '' ? key : `${prefix}.${key}`;
    if (isObject(v)) flatten(v, name, out, tables);
    else if (Array.isArray(v) && v.length > 0 && v.every((x) => isObject(x))) tables.push([name, v]);
    else out.push([name, v]);
  }
}

function table(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const head = headers.map((h) => `<th>${escapeHtml(h)}</th>`).join('');
  const body = rows.map((r) => `<tr>${r.map((c) => `<td>${escapeHtml(c)}</td>`).join('')}</tr>`).join('\n');
  return `<div class="table-wrap"><table class="numbers">\n<thead><tr>${head}</tr></thead>\n<tbody>\n${body}\n</tbody>\n</table></div>`;
}

function genericRows(rows: readonly Json[]): string {
  const columns: string[] = [];
  const flatRows = rows.map((row) => {
    const cells: [string, Json][] = [];
    if (isObject(row)) flatten(row, '', cells, []);
    for (const [k] of cells) if (!columns.includes(k)) columns.push(k);
    return new Map(cells);
  });
  return table(columns, flatRows.map((r) => columns.map((c) => (r.has(c) ? formatValue(r.get(c)) : ''))));
}

/** Columns of the run table: header and cell; a column whose cells are all empty is dropped. */
const RUN_COLUMNS: readonly [string, (r: JsonObject) => Json | undefined][] = [
  ['run', (r) => r.label],
  ['mode', (r) => r.mode],
  ['phase', (r) => r.phase],
  ['producers', (r) => get(r, 'workload', 'producers')],
  ['loop', (r) => get(r, 'workload', 'loop')],
  ['offered req/s', (r) => get(r, 'workload', 'targetRatePerSec')],
  ['records/s', (r) => r.recordsPerSec],
  ['MB/s', (r) => r.mbPerSec],
  ['P50 ms', (r) => get(r, 'latencyMs', 'p50')],
  ['P99 ms', (r) => get(r, 'latencyMs', 'p99')],
  ['P99.9 ms', (r) => get(r, 'latencyMs', 'p999')],
  ['max ms', (r) => get(r, 'latencyMs', 'max')],
  ['errors', (r) => (typeof r.errors === 'number' ? r.errors + (typeof r.timedOut === 'number' ? r.timedOut : 0) : undefined)],
  ['broker cores', (r) => r.brokerCpuCores],
  ['max req/s with P99 under bound', (r) => get(r, 'findMax', 'maxRatePerSec')],
  ['P99 bound ms', (r) => get(r, 'findMax', 'p99MsMax')],
];

function unique(values: Iterable<string>): string[] {
  return [...new Set(values)];
}

function machineText(r: JsonObject): string | null {
  const m = r.machine;
  if (!isObject(m)) return null;
  return `${formatValue(m.cores)} cores ${formatValue(m.cpuModel)}, ${formatValue(m.memoryGiB)} GiB, Node ${formatValue(m.node)}, ${formatValue(m.os)}; data on ${formatValue(m.dataFs)}; load avg ${formatValue(m.loadAvg1m)} at start`;
}

function workloadText(r: JsonObject): string | null {
  const w = r.workload;
  if (!isObject(w)) return null;
  return `${formatValue(w.producers)} producers on ${formatValue(w.workers)} worker threads, ${formatValue(w.recordBytes)}-byte values, ${formatValue(w.recordsPerSend)} record(s)/request, ${formatValue(w.loop)} loop, warm-up ${formatValue(w.warmupSec)} s, measured ${formatValue(w.durationSec)} s; ${formatValue(w.transport)}; ack ${formatValue(w.ack)}`;
}

/** The curated table for benchmark run objects, with machine, workload and notes under it. */
export function renderRunObjects(runs: readonly JsonObject[]): string {
  const columns = RUN_COLUMNS.filter(([, cell]) => runs.some((r) => cell(r) !== undefined && cell(r) !== null));
  const parts = [table(columns.map(([h]) => h), runs.map((r) => columns.map(([, cell]) => formatValue(cell(r)))))];
  const facts: [string, string[]][] = [
    ['Machine', unique(runs.flatMap((r) => machineText(r) ?? []))],
    ['Workload', unique(runs.flatMap((r) => workloadText(r) ?? []))],
    ['Measured at', unique(runs.flatMap((r) => (typeof r.startedAt === 'string' ? [r.startedAt] : [])))],
    ['Notes', unique(runs.flatMap((r) => (Array.isArray(r.notes) ? r.notes.filter((n): n is string => typeof n === 'string') : [])))],
  ];
  const items = facts
    .filter(([, values]) => values.length > 0)
    .map(([name, values]) =>
      name === 'Measured at' && values.length > 2
        ? `<li><strong>${name}:</strong> ${escapeHtml(values[0] ?? '')} … ${escapeHtml(values.at(-1) ?? '')}</li>`
        : values.length === 1
          ? `<li><strong>${name}:</strong> ${escapeHtml(values[0] ?? '')}</li>`
          : `<li><strong>${name}:</strong><ul>${values.map((v) => `<li>${escapeHtml(v)}</li>`).join('')}</ul></li>`,
    );
  if (items.length > 0) parts.push(`<ul class="run-facts">${items.join('')}</ul>`);
  return parts.join('\n');
}

/** Render one parsed results file (without its commands) as tables. */
export function renderRunTables(data: Json): string {
  if (Array.isArray(data)) return data.every((d) => isRunObject(d)) ? renderRunObjects(data as JsonObject[]) : genericRows(data);
  if (isRunObject(data)) return renderRunObjects([data]);
  if (!isObject(data)) return `<p>${escapeHtml(formatValue(data))}</p>`;
  const scalars: [string, Json][] = [];
  const tables: [string, Json[]][] = [];
  const rest: JsonObject = Object.fromEntries(Object.entries(data).filter(([key]) => key !== 'command'));
  flatten(rest, '', scalars, tables);
  const parts: string[] = [];
  if (scalars.length > 0) parts.push(table(['field', 'value'], scalars.map(([k, v]) => [k, formatValue(v)])));
  for (const [name, rows] of tables) {
    const body = rows.every((r) => isRunObject(r)) ? renderRunObjects(rows as JsonObject[]) : genericRows(rows);
    parts.push(`<h4>${escapeHtml(name)}</h4>\n${body}`);
  }
  return parts.join('\n');
}

/** Every command recorded in a results file: top-level `command` and each run's. */
export function commandsOf(data: Json): string[] {
  const found: string[] = [];
  const visit = (v: Json | undefined, depth: number): void => {
    if (Array.isArray(v)) for (const x of v) visit(x, depth);
    else if (isObject(v)) {
      if (typeof v.command === 'string' && v.command !== '') found.push(v.command);
      if (depth === 0) for (const [k, x] of Object.entries(v)) if (k !== 'command' && Array.isArray(x)) visit(x, 1);
    }
  };
  visit(data, 0);
  return unique(found);
}

/**
 * The command a chart's caption states (`command: npm run bench -- …; 2024-…`), with
 * wrapped caption lines joined; null when the chart states none.
 */
export function chartCommand(svg: string): string | null {
  const texts = [...svg.matchAll(/<text\b[^>]*>([\s\S]*?)<\/text>/g)].map((m) => decodeEntities((m[1] ?? '').replace(/<[^>]*>/g, '')));
  const joined = texts.join(' ').replace(/\s+/g, ' ');
  const m = /command: (.+?)(?:; \d{4}-\d\d-\d\dT[^ ]*|$)/.exec(joined);
  return m?.[1]?.trim() ?? null;
}

function commandBlock(commands: readonly string[]): string {
  return `<p class="command-label">Produced by</p>\n<pre class="hljs command"><code>${commands.map(escapeHtml).join('\n')}</code></pre>`;
}

/**
 * The main-column HTML of the numbers page, the charts to copy, and problems (a
 * results file that is not JSON or records no command).
 * @param hasBenchScript whether package.json has a `bench` script (what to tell the reader)
 */
export function renderNumbersBody(root: string, hasBenchScript: boolean): { body: string; assets: LinkTarget[]; problems: string[] } {
  const dir = join(root, RESULTS_DIR);
  const names = existsSync(dir) ? sortStrings(readdirSync(dir).filter((n) => n.endsWith('.svg') || n.endsWith('.json'))) : [];
  const problems: string[] = [];
  const assets: LinkTarget[] = [];
  const runCommand = hasBenchScript ? 'npm run bench -- --publish' : null;
  const parts = [
    '<h1>Numbers</h1>',
    '<p class="lead">Measured by commands in this repository; every chart and run says which. Absolute figures depend on the machine (stated with each run); ratios against peers measured in the same run carry over.</p>',
  ];
  if (names.length === 0) {
    parts.push(
      '<p class="empty">No results yet.</p>',
      runCommand === null
        ? '<p>The benchmark harness (<code>bench/</code>) is not set up yet.</p>'
        : `<p>To produce them, run the benchmarks with <code>--publish</code> (a plain run writes to the ignored <code>bench/out/</code>); they write charts and runs to <code>${RESULTS_DIR}/</code>, and the next site build shows them here:</p>\n<pre class="hljs"><code>${runCommand}\nnpm run site</code></pre>`,
    );
    return { body: parts.join('\n'), assets, problems };
  }
  const charts = names.filter((n) => n.endsWith('.svg'));
  const runs = names.filter((n) => n.endsWith('.json'));
  if (charts.length > 0) parts.push('<h2 id="charts">Charts</h2>');
  for (const name of charts) {
    const sitePath = posix.join(RESULTS_DIR, name);
    assets.push({ repoPath: sitePath, kind: 'file', sitePath });
    const command = chartCommand(readFileSync(join(dir, name), 'utf8'));
    const base = name.slice(0, -4);
    const id = `chart-${base.replace(/[^A-Za-z0-9_-]+/g, '-')}`;
    parts.push(
      `<figure class="chart" id="${escapeHtml(id)}"><img src="${relativeHref(NUMBERS_PAGE, sitePath)}" alt="chart: ${escapeHtml(base)}">`,
      `<figcaption><code>${escapeHtml(sitePath)}</code>${command === null ? ' (the chart does not state its command)' : ` — produced by <code>${escapeHtml(command)}</code>`}</figcaption></figure>`,
    );
  }
  if (runs.length > 0) parts.push('<h2 id="runs">Runs</h2>');
  for (const name of runs) {
    const where = `${RESULTS_DIR}/${name}`;
    const base = name.slice(0, -5);
    let data: Json = null;
    try {
      data = JSON.parse(readFileSync(join(dir, name), 'utf8')) as Json;
    } catch (err) {
      problems.push(`${where}: not valid JSON (${(err as Error).message})`);
      continue;
    }
    const commands = commandsOf(data);
    if (commands.length === 0) problems.push(`${where}: has no "command" field (every result must say what produced it)`);
    parts.push(
      `<section class="run" id="run-${escapeHtml(base.replace(/[^A-Za-z0-9_-]+/g, '-'))}">`,
      `<h3>${escapeHtml(name)}</h3>`,
      commands.length > 0 ? commandBlock(commands) : '',
      renderRunTables(data),
      '</section>',
    );
  }
  if (runCommand !== null) parts.push(`<p>Re-run with <code>${runCommand}</code> (see <code>${runCommand} -- --help</code>), then <code>npm run site</code>.</p>`);
  return { body: parts.join('\n'), assets, problems };
}
