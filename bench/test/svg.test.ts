import { describe, expect, it } from 'vitest';
import { barChart, escapeXml, formatTick, lineChart } from '../src/svg.ts';

/** A small well-formedness check: one root <svg>, every tag closed in order, no broken numbers. */
function assertWellFormedSvg(svg: string): void {
  expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
  expect(svg.trimEnd().endsWith('</svg>')).toBe(true);
  expect(svg).not.toMatch(/NaN|undefined|Infinity|\[object/);
  const stack: string[] = [];
  for (const m of svg.matchAll(/<(\/?)([a-zA-Z]+)\b[^>]*?(\/?)>/g)) {
    const [, closing, name, selfClosing] = m;
    if (selfClosing) continue;
    if (closing) expect(stack.pop()).toBe(name);
    else stack.push(name as string);
  }
  expect(stack).toEqual([]);
  // Text content and attribute values contain no raw markup characters.
  expect(svg.replace(/<[^>]*>/g, '')).not.toMatch(/[<>]/);
}

const caption = ['machine: 2 cores <test> & co', 'workload: "quoted"'];

describe('SVG writer', () => {
  it('draws a bar chart with one bar and label per value', () => {
    const svg = barChart({ title: 'Records/s by phase', yLabel: 'records/s', caption, bars: [{ label: 'phase 2', value: 1234 }, { label: 'phase 8 & co', value: 45_678 }] });
    assertWellFormedSvg(svg);
    expect(svg.match(/<rect /g)).toHaveLength(3); // background + 2 bars
    expect(svg).toContain('phase 8 &amp; co');
    expect(svg).toContain('machine: 2 cores &lt;test&gt; &amp; co');
    expect(svg).toContain('45.7k');
  });

  it('draws a line chart, skipping missing points, on a log axis', () => {
    const svg = lineChart({
      title: 'Latency', xLabel: 'percentile', yLabel: 'ms', logY: true, caption,
      categories: ['p50', 'p99', 'max'],
      series: [{ name: 'ours', values: [1.5, 20, 300] }, { name: 'redis', values: [0.4, null, 9] }],
    });
    assertWellFormedSvg(svg);
    expect(svg.match(/<polyline /g)).toHaveLength(2);
    expect(svg.match(/<circle /g)).toHaveLength(5);
    const withBound = lineChart({ title: 'P99', xLabel: 'rate', yLabel: 'ms', caption, categories: ['1', '2'], series: [{ name: 's', values: [1, 2] }], refLine: { value: 20, label: 'bound 20 ms' } });
    assertWellFormedSvg(withBound);
    expect(withBound).toContain('stroke-dasharray');
  });

  it('copes with an empty or all-zero chart', () => {
    assertWellFormedSvg(barChart({ title: 't', yLabel: 'y', caption: [], bars: [] }));
    assertWellFormedSvg(barChart({ title: 't', yLabel: 'y', caption: [], bars: [{ label: 'a', value: 0 }] }));
    assertWellFormedSvg(lineChart({ title: 't', xLabel: 'x', yLabel: 'y', caption: [], logY: true, categories: ['a'], series: [{ name: 's', values: [null] }] }));
  });

  it('escapes XML and formats ticks compactly', () => {
    expect(escapeXml(`a<b>&"c'`)).toBe('a&lt;b&gt;&amp;&quot;c&apos;');
    expect([0, 0.25, 12, 1500, 2_500_000].map(formatTick)).toEqual(['0', '0.25', '12', '1.5k', '2.5M']);
  });
});
