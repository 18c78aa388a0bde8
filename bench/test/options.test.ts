import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { repoRoot } from '../../shared/src/testing.ts';
import { commandLine } from '../src/machine.ts';
import { parseOptions, UsageError } from '../src/options.ts';

describe('options', () => {
  it('defaults to the standard workload of course/architecture.md §8', () => {
    const o = parseOptions([]);
    expect(o).toMatchObject({ mode: 'served', producers: 500, recordBytes: 100, recordsPerSend: 1, warmupSec: 1, durationSec: 5, rate: null, p99MsMax: 20, findMax: false, peerRedis: false, json: false, phase: null });
    expect(o.workers).toBeGreaterThanOrEqual(2);
  });

  it('parses every option', () => {
    const o = parseOptions(['--phase', '2', '--producers', '8', '--record-bytes', '47', '--duration', '0.5', '--warmup', '0', '--workers', '1', '--rate', '300', '--peer', 'redis', '--json', '--sweep-producers', '1,10']);
    expect(o).toMatchObject({ phase: '2', producers: 8, recordBytes: 47, durationSec: 0.5, warmupSec: 0, workers: 1, rate: 300, peerRedis: true, json: true, sweepProducers: [1, 10] });
    expect(parseOptions(['--find-max', '--p99-ms-max', '5'])).toMatchObject({ findMax: true, p99MsMax: 5 });
    expect(parseOptions(['--mode', 'consume'])).toMatchObject({ mode: 'consume' });
  });

  it.each([
    [['--producers', '0']],
    [['--duration', '-1']],
    [['--mode', 'fast']],
    [['--peer', 'kafka']],
    [['--find-max', '--rate', '10']],
    [['--mode', 'embedded', '--peer', 'redis']],
    [['--sweep-producers', '1,x']],
  ])('rejects %j', (argv) => {
    expect(() => parseOptions(argv)).toThrow(UsageError);
  });

  it('writes results to bench/out/, which git ignores, unless told --publish (bench/results/, tracked) or --out', () => {
    expect(parseOptions([]).outDir).toBe(join(repoRoot, 'bench', 'out'));
    expect(parseOptions(['--publish']).outDir).toBe(join(repoRoot, 'bench', 'results'));
    expect(parseOptions(['--out', '/tmp/x']).outDir).toBe('/tmp/x');
    expect(() => parseOptions(['--publish', '--out', '/tmp/x'])).toThrow(UsageError);
    // A default run leaves `git status` clean: the folder it writes is ignored; the published one is not.
    const ignored = (path: string): boolean => spawnSync('git', ['check-ignore', '-q', path], { cwd: repoRoot }).status === 0;
    const git = spawnSync('git', ['rev-parse', '--is-inside-work-tree'], { cwd: repoRoot, encoding: 'utf8' });
    if (git.status === 0) {
      expect(ignored('bench/out/served-phase04.json')).toBe(true);
      expect(ignored('bench/results/served-phase04.json')).toBe(false);
    }
  });

  it('rejects unknown options', () => {
    expect(() => parseOptions(['--fast'])).toThrow();
  });

  it('states the exact command line, quoted for a shell', () => {
    const saved = process.env.npm_lifecycle_event;
    try {
      process.env.npm_lifecycle_event = 'bench';
      expect(commandLine(['--peer', 'redis', '--data-dir', '/tmp/a b'])).toBe("npm run bench -- --peer redis --data-dir '/tmp/a b'");
      expect(commandLine([])).toBe('npm run bench');
      delete process.env.npm_lifecycle_event;
      expect(commandLine(['--json'])).toBe('tsx bench/src/main.ts --json');
    } finally {
      if (saved === undefined) delete process.env.npm_lifecycle_event;
      else process.env.npm_lifecycle_event = saved;
    }
  });
});
