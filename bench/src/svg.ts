/**
 * Hand-written SVG charts for bench/results/ (no dependency): a bar chart (records/s
 * by phase) and a line chart over categories (latency by percentile, records/s by
 * producer count). Each chart carries its own caption lines — machine, workload,
 * command — so an embedded image is never separated from what it measured.
 */

/** Escape text for SVG/XML content and attributes. */
export function escapeXml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c] ?? c);
}

const palette = ['#2563eb', '#dc2626', '#16a34a', '#9333ea', '#ea580c', '#0891b2', '#4b5563', '#ca8a04'];
const width = 760;
const plot = { left: 80, right: 24, top: 64 };
const plotHeight = 260;
const font = 'font-family="system-ui, -apple-system, Segoe UI, sans-serif"';

/** Format a number compactly for axis labels: 1234 → "1.2k". */
export function formatTick(v: number): string {
  const a = Math.abs(v);
  if (a >= 1e6) return `${+(v / 1e6).toFixed(1)}M`;
  if (a >= 1e3) return `${+(v / 1e3).toFixed(1)}k`;
  if (a >= 1 || a === 0) return `${+v.toFixed(1)}`;
  return `${+v.toPrecision(2)}`;
}

function niceMax(v: number): number {
  if (!(v > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

interface Frame {
  title: string;
  subtitle?: string;
  caption: readonly string[];
  yLabel: string;
}

function open(f: Frame, height: number): string[] {
  const out = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-label="${escapeXml(f.title)}" ${font}>`,
    `<title>${escapeXml(f.title)}</title>`,
    `<rect x="0" y="0" width="${width}" height="${height}" fill="#ffffff"/>`,
    `<text x="${plot.left}" y="26" font-size="17" font-weight="600" fill="#111827">${escapeXml(f.title)}</text>`,
  ];
  if (f.subtitle) out.push(`<text x="${plot.left}" y="46" font-size="12" fill="#4b5563">${escapeXml(f.subtitle)}</text>`);
  out.push(`<text transform="translate(18 ${plot.top + plotHeight / 2}) rotate(-90)" text-anchor="middle" font-size="12" fill="#374151">${escapeXml(f.yLabel)}</text>`);
  return out;
}

function captionLines(f: Frame, y0: number): string[] {
  return f.caption.map((line, i) => `<text x="12" y="${y0 + i * 15}" font-size="10.5" fill="#6b7280">${escapeXml(line)}</text>`);
}

function heightFor(f: Frame, legendRows: number): number {
  return plot.top + plotHeight + 44 + legendRows * 18 + f.caption.length * 15 + 10;
}

interface YAxis {
  toY(v: number): number;
  ticks: number[];
}

function yAxis(values: readonly number[], log: boolean): YAxis {
  const positive = values.filter((v) => v > 0);
  if (log && positive.length > 0) {
    const lo = Math.floor(Math.log10(Math.min(...positive)));
    const hi = Math.max(lo + 1, Math.ceil(Math.log10(Math.max(...positive))));
    const toY = (v: number): number => plot.top + plotHeight - ((Math.log10(Math.max(v, 10 ** lo)) - lo) / (hi - lo)) * plotHeight;
    return { toY, ticks: Array.from({ length: hi - lo + 1 }, (_, i) => 10 ** (lo + i)) };
  }
  const max = niceMax(Math.max(0, ...values));
  const toY = (v: number): number => plot.top + plotHeight - (v / max) * plotHeight;
  return { toY, ticks: Array.from({ length: 6 }, (_, i) => (max * i) / 5) };
}

function gridAndTicks(axis: YAxis): string[] {
  const right = width - plot.right;
  return axis.ticks.flatMap((t) => {
    const y = axis.toY(t).toFixed(1);
    return [
      `<line x1="${plot.left}" y1="${y}" x2="${right}" y2="${y}" stroke="#e5e7eb"/>`,
      `<text x="${plot.left - 8}" y="${y}" dy="4" text-anchor="end" font-size="11" fill="#374151">${formatTick(t)}</text>`,
    ];
  }).concat(`<line x1="${plot.left}" y1="${plot.top + plotHeight}" x2="${right}" y2="${plot.top + plotHeight}" stroke="#9ca3af"/>`);
}

/** One bar. */
export interface Bar {
  label: string;
  value: number;
  /** Printed above the bar instead of the value. */
  valueText?: string;
}

/** A vertical bar chart. */
export function barChart(f: Frame & { bars: readonly Bar[] }): string {
  const height = heightFor(f, 0);
  const out = open(f, height);
  const axis = yAxis(f.bars.map((b) => b.value), false);
  out.push(...gridAndTicks(axis));
  const slot = (width - plot.left - plot.right) / Math.max(1, f.bars.length);
  const barWidth = Math.min(90, slot * 0.6);
  f.bars.forEach((b, i) => {
    const cx = plot.left + slot * (i + 0.5);
    const y = axis.toY(b.value);
    const h = plot.top + plotHeight - y;
    out.push(`<rect x="${(cx - barWidth / 2).toFixed(1)}" y="${y.toFixed(1)}" width="${barWidth.toFixed(1)}" height="${h.toFixed(1)}" fill="${palette[i % palette.length]}"/>`);
    out.push(`<text x="${cx.toFixed(1)}" y="${(y - 6).toFixed(1)}" text-anchor="middle" font-size="11.5" fill="#111827">${escapeXml(b.valueText ?? formatTick(b.value))}</text>`);
    out.push(`<text x="${cx.toFixed(1)}" y="${plot.top + plotHeight + 18}" text-anchor="middle" font-size="11.5" fill="#374151">${escapeXml(b.label)}</text>`);
  });
  out.push(...captionLines(f, plot.top + plotHeight + 52), '</svg>');
  return `${out.join('\n')}\n`;
}

/** One line of a line chart: a y value per category (null = no point). */
export interface Series {
  name: string;
  values: ReadonlyArray<number | null>;
}

/** A line chart over categorical x values (evenly spaced), optionally with a log y axis. */
export function lineChart(f: Frame & { categories: readonly string[]; xLabel: string; series: readonly Series[]; logY?: boolean; refLine?: { value: number; label: string } }): string {
  const height = heightFor(f, Math.ceil(f.series.length / 2));
  const out = open(f, height);
  const all = f.series.flatMap((s) => s.values.filter((v): v is number => v !== null && Number.isFinite(v)));
  if (f.refLine) all.push(f.refLine.value);
  const axis = yAxis(all, f.logY ?? false);
  out.push(...gridAndTicks(axis));
  if (f.refLine) {
    const y = axis.toY(f.refLine.value).toFixed(1);
    out.push(`<line x1="${plot.left}" y1="${y}" x2="${width - plot.right}" y2="${y}" stroke="#6b7280" stroke-dasharray="6 4"/>`);
    out.push(`<text x="${width - plot.right - 4}" y="${y}" dy="-5" text-anchor="end" font-size="11" fill="#4b5563">${escapeXml(f.refLine.label)}</text>`);
  }
  const step = (width - plot.left - plot.right) / Math.max(1, f.categories.length);
  const xOf = (i: number): number => plot.left + step * (i + 0.5);
  f.categories.forEach((c, i) => {
    out.push(`<text x="${xOf(i).toFixed(1)}" y="${plot.top + plotHeight + 18}" text-anchor="middle" font-size="11.5" fill="#374151">${escapeXml(c)}</text>`);
  });
  out.push(`<text x="${(plot.left + width - plot.right) / 2}" y="${plot.top + plotHeight + 36}" text-anchor="middle" font-size="12" fill="#374151">${escapeXml(f.xLabel)}</text>`);
  f.series.forEach((s, si) => {
    const color = palette[si % palette.length] as string;
    const pts = s.values.flatMap((v, i) => (v === null || !Number.isFinite(v) ? [] : [[xOf(i), axis.toY(v), v] as const]));
    if (pts.length > 1) out.push(`<polyline fill="none" stroke="${color}" stroke-width="2" points="${pts.map(([x, y]) => `${x.toFixed(1)},${y.toFixed(1)}`).join(' ')}"/>`);
    for (const [x, y, v] of pts) {
      out.push(`<circle cx="${x.toFixed(1)}" cy="${y.toFixed(1)}" r="3.5" fill="${color}"><title>${escapeXml(`${s.name}: ${formatTick(v)}`)}</title></circle>`);
    }
    const lx = plot.left + (si % 2) * 320;
    const ly = plot.top + plotHeight + 54 + Math.floor(si / 2) * 18;
    out.push(`<rect x="${lx}" y="${ly - 9}" width="12" height="12" fill="${color}"/>`);
    out.push(`<text x="${lx + 18}" y="${ly + 1}" font-size="12" fill="#111827">${escapeXml(s.name)}</text>`);
  });
  out.push(...captionLines(f, plot.top + plotHeight + 54 + Math.ceil(f.series.length / 2) * 18 + 4), '</svg>');
  return `${out.join('\n')}\n`;
}
