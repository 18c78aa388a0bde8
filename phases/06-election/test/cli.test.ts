/**
 * The phase-1 command line, driven as a learner drives it: a subprocess per command,
 * stdin in, stdout/stderr/exit status out. Each tsx start costs about a second, so
 * the cases share one log directory where the story allows it.
 */
import { readdirSync, rmSync, statSync, truncateSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, tempDir, type CliResult, type TempDir } from '../../../shared/src/testing.ts';

/** This phase's CLI, found from this file so a later phase's copy runs its own. */
const MAIN = fileURLToPath(new URL('../src/main.ts', import.meta.url));

function cli(args: readonly string[], input?: string): Promise<CliResult> {
  return runCli(MAIN, args, input === undefined ? {} : { input });
}

function logFiles(dir: string): string[] {
  return readdirSync(dir).filter((n) => n.endsWith('.log')).sort();
}

/** A failed command prints exactly one line, `error: …`, on stderr and nothing on stdout. */
function expectOneLineError(r: CliResult, code: number, pattern: RegExp): void {
  expect(r.code).toBe(code);
  expect(r.stdout).toBe('');
  expect(r.stderr).toMatch(/^error: [^\n]+\n$/);
  expect(r.stderr).toMatch(pattern);
}

describe('phase 1 CLI', () => {
  let tmp: TempDir;
  let dir: string;

  beforeAll(() => {
    tmp = tempDir('cli-');
    dir = join(tmp.path, 'log'); // does not exist yet: append creates it
  });
  afterAll(() => tmp.remove());

  it('append prints one offset per stdin line and read prints them back', async () => {
    const appended = await cli(['append', '--dir', dir], 'alpha\nbeta\n\ngamma\n');
    expect(appended.stderr).toBe('');
    expect(appended.code).toBe(0);
    expect(appended.stdout).toBe('0\n1\n2\n3\n');
    const read = await cli(['read', '--dir', dir]);
    expect(read.code).toBe(0);
    expect(read.stdout).toBe('0\talpha\n1\tbeta\n2\t\n3\tgamma\n');
  });

  it('append --batch groups records into batches and --segment-bytes rolls segments (seen in dump)', async () => {
    const lines = Array.from({ length: 7 }, (_, i) => `record-${i + 4}`);
    const appended = await cli(['append', '--dir', dir, '--batch', '2', '--segment-bytes', '200'], `${lines.join('\n')}\n`);
    expect(appended.code).toBe(0);
    expect(appended.stdout).toBe('4\n5\n6\n7\n8\n9\n10\n');

    const dump = await cli(['dump', '--dir', dir]);
    expect(dump.code).toBe(0);
    const segmentLines = dump.stdout.split('\n').filter((l) => l.startsWith('segment '));
    expect(segmentLines.length).toBeGreaterThanOrEqual(3);
    expect(segmentLines.length).toBe(logFiles(dir).length);
    expect(dump.stdout).toMatch(/^segment 0+\.log +\d+ bytes +baseOffset: 0$/m);
    // Four single-record batches from the first append, then batches of two: 4-5, 6-7, 8-9, then 10 alone.
    const batchLines = dump.stdout.split('\n').filter((l) => l.trimStart().startsWith('batch '));
    expect(batchLines.map((l) => /count: (\d+)/.exec(l)?.[1])).toEqual(['1', '1', '1', '1', '2', '2', '2', '1']);
    expect(batchLines.every((l) => /isValid: true/.test(l))).toBe(true);
    expect(batchLines[4]).toMatch(/baseOffset: 4 lastOffset: 5 count: 2 /);
    expect(batchLines[4]).toMatch(/producerId: -1 producerEpoch: -1 baseSequence: -1 /);
    expect(dump.stdout).toMatch(/\| offset: 9 timestamp: -?\d+ key: null value: "record-9"/);
    expect(dump.stdout).not.toMatch(/torn tail/);
  });

  it('read --from/--max prints a window of the log', async () => {
    const read = await cli(['read', '--dir', dir, '--from', '5', '--max', '3']);
    expect(read.code).toBe(0);
    expect(read.stdout).toBe('5\trecord-5\n6\trecord-6\n7\trecord-7\n');
  });

  it('append after a torn tail recovers the durable prefix and continues at the right offset', async () => {
    // Offset 10 is alone in the last batch of the last segment: cutting 5 bytes tears it.
    const last = logFiles(dir).at(-1);
    if (last === undefined) throw new Error('no .log file');
    const path = join(dir, last);
    truncateSync(path, statSync(path).size - 5);
    const appended = await cli(['append', '--dir', dir], 'after-crash\n');
    expect(appended.code).toBe(0);
    expect(appended.stdout).toBe('10\n');
    const read = await cli(['read', '--dir', dir, '--from', '8']);
    expect(read.stdout).toBe('8\trecord-8\n9\trecord-9\n10\tafter-crash\n');
  });

  it('rejects bad input with one line on stderr: 2 for usage, 1 for runtime errors (also --from below the log start)', async () => {
    const missing = join(tmp.path, 'missing');
    const [noDir, unknownOption, unknownCommand, notNumber, noSuchDir, beyondEnd] = await Promise.all([
      cli(['read']),
      cli(['append', '--dir', dir, '--bogus'], 'x\n'),
      cli(['frobnicate']),
      cli(['read', '--dir', dir, '--max', 'ten']),
      cli(['dump', '--dir', missing]),
      cli(['read', '--dir', dir, '--from', '12']),
    ]);
    expectOneLineError(noDir, 2, /--dir/);
    expectOneLineError(unknownOption, 2, /unknown option '--bogus'/);
    expectOneLineError(unknownCommand, 2, /unknown command 'frobnicate'/);
    expectOneLineError(notNumber, 2, /--max must be an integer/);
    expectOneLineError(noSuchDir, 1, /no such log directory/);
    expectOneLineError(beyondEnd, 1, /--from 12 is outside the log: offsets are \[0, 11\)/);

    // Remove the oldest segment, as retention does: the log now starts at offset 4.
    const oldest = logFiles(dir)[0] ?? '';
    expect(oldest).toBe('00000000000000000000.log');
    rmSync(join(dir, oldest));
    rmSync(join(dir, oldest.replace(/\.log$/, '.index')), { force: true });
    expectOneLineError(await cli(['read', '--dir', dir, '--from', '0']), 1, /--from 0 is outside the log: offsets are \[4, 11\)/);
  });

  it('streams a large read to the end: stdout is flushed before exit', async () => {
    const big = join(tmp.path, 'big');
    const lines = Array.from({ length: 20_000 }, (_, i) => `value-${String(i).padStart(24, '0')}`);
    const appended = await cli(['append', '--dir', big, '--batch', '5000'], `${lines.join('\n')}\n`);
    expect(appended.code).toBe(0);
    expect(appended.stdout.split('\n').at(-2)).toBe('19999');
    const read = await cli(['read', '--dir', big]);
    expect(read.code).toBe(0);
    expect(read.stdout).toBe(lines.map((v, i) => `${i}\t${v}\n`).join(''));
  });

  it('--help prints usage and demo runs to completion', async () => {
    // Phase 2 made `serve` the default command; phase 1's walk-through is `log-demo`.
    const [help, demo] = await Promise.all([cli(['--help']), cli(['log-demo'])]);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^Usage: /);
    expect(help.stdout).toMatch(/append --dir D/);
    expect(demo.stderr).toBe('');
    expect(demo.code).toBe(0);
    expect(demo.stdout).toMatch(/every acknowledged record survived/);
    expect(demo.stdout.split('\n').length).toBeLessThan(45);
  });
});
