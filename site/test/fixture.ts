/**
 * A tiny course repository written into a temp dir, for the site tests that must not
 * depend on how far the real phases have got: two phases (the second changes one file
 * and adds one), an introduction, a glossary, a benchmark run and chart, and a
 * standalone tsconfig (no @types/node, so typedoc runs fast). Tests mutate it to make
 * one thing wrong at a time.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { tempDir, type TempDir } from '../../shared/src/testing.ts';

/** Write `files` (repo-relative path → content) under `root`. */
export function writeTree(root: string, files: Readonly<Record<string, string>>): void {
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), content);
  }
}

const TSCONFIG = JSON.stringify({
  compilerOptions: {
    target: 'ES2022',
    module: 'NodeNext',
    moduleResolution: 'NodeNext',
    strict: true,
    noEmit: true,
    allowImportingTsExtensions: true,
    skipLibCheck: true,
    types: [],
  },
});

const LOG_V1 = `/** An append-only list of numbers. */
export class Log {
  private readonly items: number[] = [];
  /** Append \`value\`; returns its offset. See {@link Log.read}. */
  append(value: number): number {
    this.items.push(value);
    return this.items.length - 1;
  }
  /** The value at \`offset\`, or undefined. */
  read(offset: number): number | undefined {
    return this.items[offset];
  }
}
`;

const LOG_V2 = LOG_V1.replace('/** The value at', '/** Number of values. */\n  get size(): number {\n    return this.items.length;\n  }\n  /** The value at');

/** The fixture's files: a valid two-phase course. */
export function fixtureFiles(): Record<string, string> {
  return {
    'package.json': JSON.stringify({ name: 'fixture', type: 'module', scripts: { bench: 'echo bench' } }),
    'tsconfig.json': TSCONFIG,
    'README.md': '# Fixture course\n\nRun `npm ci && npm run phase 1`.\n',
    'course/introduction.md': [
      '# The fixture course',
      '',
      'Start with [phase 1](../phases/01-alpha/README.md), then [the wire](../phases/02-beta/README.md#the-wire).',
      'Words are in the [glossary](glossary.md#offset).',
      '',
    ].join('\n'),
    'course/glossary.md': '# Glossary\n\n## Offset\n\nThe position of a record. See [the log](../phases/01-alpha/src/log.ts#L2).\n',
    'phases/01-alpha/phase.json': JSON.stringify({ title: 'The log', summary: 'An append-only list.', introduces: ['src/index.ts', 'src/log.ts'], changes: [] }),
    'phases/01-alpha/tsconfig.json': TSCONFIG,
    'phases/01-alpha/README.md': [
      '# Phase 1: the log',
      '',
      'The [code tour](#code-tour) starts in [`src/log.ts`](src/log.ts#L4-L8).',
      '',
      '## Code tour',
      '',
      '```ts',
      'const log = new Log();',
      'log.append(1); // returns 0',
      '```',
      '',
      '| field | bytes |',
      '| --- | --- |',
      '| offset | 8 |',
      '',
      '## Code tour',
      '',
      'A second heading with the same text gets [its own id](#code-tour-1). Next: [phase 2](../02-beta/README.md).',
      '',
    ].join('\n'),
    'phases/01-alpha/src/index.ts': "/** The phase's public API. */\nexport { Log } from './log.ts';\n",
    'phases/01-alpha/src/log.ts': LOG_V1,
    'phases/01-alpha/test/log.test.ts': "// tests may have type errors the docs must not see\nconst n: number = 'not a number';\nexport { n };\n",
    'phases/02-beta/phase.json': JSON.stringify({ title: 'The wire', summary: 'Serve the log.', introduces: ['src/wire.ts'], changes: ['src/index.ts', 'src/log.ts'] }),
    'phases/02-beta/tsconfig.json': TSCONFIG,
    'phases/02-beta/README.md': '# Phase 2: the wire\n\nBuilt on [phase 1](../01-alpha/README.md#code-tour); all [its sources](src/).\n\n## The wire\n\nFrames. ![frame](frame.svg)\n',
    'phases/02-beta/frame.svg': '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect width="10" height="10"/></svg>\n',
    'phases/02-beta/src/index.ts': "/** The phase's public API. */\nexport { Log } from './log.ts';\nexport { encodeFrame } from './wire.ts';\n",
    'phases/02-beta/src/log.ts': LOG_V2,
    'phases/02-beta/src/wire.ts': '/** Frame `payload` with a 4-byte big-endian length. */\nexport function encodeFrame(payload: Uint8Array): Uint8Array {\n  const out = new Uint8Array(4 + payload.length);\n  new DataView(out.buffer).setUint32(0, payload.length);\n  out.set(payload, 4);\n  return out;\n}\n',
    'phases/02-beta/test/log.test.ts': "const n: number = 'still not a number';\nexport { n };\n",
    'bench/results/served-alpha.json': JSON.stringify({
      runs: [
        {
          schema: 'commitlog-bench/run/1', kind: 'run', label: 'phase 1', target: 'alpha', phase: 1, mode: 'served', startedAt: '2025-01-01T00:00:00.000Z',
          recordsPerSec: 123456.789, requestsPerSec: 1000, mbPerSec: 12.3, records: 100, requests: 10, valueBytes: 100, errors: 0, timedOut: 0, firstError: null,
          latencyMs: { p50: 1.5, p90: 4, p99: 9.25, p999: 12, max: 15, mean: 2 }, latencyCurveMs: [[50, 1.5], [99, 9.25]],
          brokerCpuMs: 10, brokerCpuCores: 0.9, loadgenCpuMs: 5, generatorLagMsMax: 0,
          workload: { producers: 500, recordBytes: 100, recordsPerSend: 1, warmupSec: 1, durationSec: 5, workers: 2, loop: 'closed', targetRatePerSec: null, transport: 'TCP to a broker process', ack: 'after fsync' },
          machine: { cores: 2, cpuModel: 'Fixture CPU', node: 'v20.0.0', os: 'linux', memoryGiB: 4, dataFs: 'ext4 /dev/x', loadAvg1m: 0.1 },
          command: 'npm run bench -- --phase 1', notes: [],
        },
      ],
    }),
    'bench/results/latency-alpha.svg': '<svg xmlns="http://www.w3.org/2000/svg" width="200" height="40"><text x="4" y="14">latency</text><text x="4" y="30">command: npm run bench -- --phase 1; 2025-01-01T00:00:00.000Z</text></svg>\n',
  };
}

/** A temp dir holding the fixture (optionally changed by `edit`); remove it when done. */
export function makeFixture(edit: (files: Record<string, string>) => void = () => {}): TempDir {
  const dir = tempDir('site-fixture-');
  const files = fixtureFiles();
  edit(files);
  writeTree(dir.path, files);
  return dir;
}
