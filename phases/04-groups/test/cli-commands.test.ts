/**
 * This phase's command table as a learner meets it (src/main.ts and src/cli/): `--help`,
 * `-h` and `help` print one usage text; every command it lists takes `--help` and
 * prints that same text; the command marked "(the default)" is the one that runs
 * without a name; an unknown command is refused with exit status 2 and a message
 * naming exactly the commands --help lists. Each tsx start costs about a second, so
 * independent commands run concurrently.
 *
 * Then the tools the other CLI tests do not run (the narrated demos are run there):
 * since phase 3, `measure`, which starts a broker in a process of its own; since phase 4,
 * the group `demo`, and `timeline` and `offsets-bench`, checked against what the
 * writeup quotes of them.
 */
import { existsSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runCli, tempDir } from '../../../shared/src/testing.ts';

/** This phase's CLI, found from this file so a later phase's copy runs its own. */
const MAIN = fileURLToPath(new URL('../src/main.ts', import.meta.url));

/** The entries under "Commands:" in --help: each command's name and its text. */
function commandEntries(help: string): { name: string; text: string }[] {
  const section = help.split('\n\n').find((block) => block.startsWith('Commands:\n')) ?? '';
  const entries: { name: string; text: string }[] = [];
  for (const line of section.split('\n').slice(1)) {
    const name = /^ {2}([a-z][a-z-]*)/.exec(line)?.[1];
    const last = entries.at(-1);
    if (name !== undefined) entries.push({ name, text: line });
    else if (last !== undefined) last.text += `\n${line}`;
  }
  return entries;
}

describe('the command table', () => {
  it('--help, -h and help print one usage text: the commands, then the options, ending with the exit statuses', async () => {
    const [long, short, word] = await Promise.all([runCli(MAIN, ['--help']), runCli(MAIN, ['-h']), runCli(MAIN, ['help'])]);
    expect([long.code, long.stderr]).toEqual([0, '']);
    expect(long.stdout).toMatch(/^Usage: npm run phase \d -- <command> \[options\]\n\n[^\n]+\n/);
    expect(long.stdout).toMatch(/\n\nCommands:\n {2}[a-z]/);
    expect(long.stdout).toMatch(/\n\nOptions:\n {2}--dir D {14}/);
    expect(long.stdout).toMatch(/\n {2}-h, --help {11}show this help\n\nExit status: 0 success, 1 runtime error, 2 usage error\.\n$/);
    expect(short).toEqual(long);
    expect(word).toEqual(long);
    // Every entry is aligned: descriptions start in column 24, continued synopses in column 11.
    for (const { text } of commandEntries(long.stdout)) {
      const [first = '', ...rest] = text.split('\n');
      for (const gap of first.slice(2).matchAll(/ {2,}(?=\S)/g)) expect(2 + gap.index + gap[0].length, text).toBe(23);
      for (const line of rest) expect(line, text).toMatch(/^( {10}| {23})\S/);
    }
  });

  it('every listed command takes --help; the default runs without a name; an unknown command names them all', async () => {
    const help = (await runCli(MAIN, ['--help'])).stdout;
    const entries = commandEntries(help);
    const names = [...new Set(entries.map((e) => e.name))];
    expect(names).toEqual(expect.arrayContaining(['append', 'read', 'dump', 'demo']));
    const defaults = entries.filter((e) => e.text.includes('(the default)')).map((e) => e.name);
    expect(defaults).toHaveLength(1);

    const [unknown, fallback, ...each] = await Promise.all([
      runCli(MAIN, ['frobnicate']),
      runCli(MAIN, ['--no-such-option']),
      ...names.map((name) => runCli(MAIN, [name, '--help'])),
    ]);
    expect([unknown.code, unknown.stdout]).toEqual([2, '']);
    const listed = /^error: unknown command 'frobnicate' \(commands: ([a-z, -]+); see --help\)\n$/.exec(unknown.stderr)?.[1];
    expect(listed?.split(', ').sort()).toEqual([...names].sort());
    // Without a command name, the options are the default command's.
    expect([fallback.code, fallback.stdout, fallback.stderr]).toEqual([2, '', `error: unknown option '--no-such-option' for ${defaults[0]} (see --help)\n`]);
    for (const [i, r] of each.entries()) expect([names[i], r.code, r.stderr, r.stdout]).toEqual([names[i], 0, '', help]);
  });
});

describe('measure', () => {
  it('starts its own broker process, prints one row per experiment and removes the broker\'s data directory', async () => {
    const r = await runCli(MAIN, ['measure', '--records', '200', '--producers', '2', '--value-bytes', '10']);
    expect(r.code, r.stderr).toBe(0);
    const dir = /^broker at 127\.0\.0\.1:\d+ \(its own process, data in ([^)]+)\); \d+ cores/m.exec(r.stderr)?.[1] ?? '';
    expect(dir).toMatch(/commitlog-measure-/);
    expect(existsSync(dir)).toBe(false);
    expect(r.stderr).toMatch(/^broker stopped cleanly$/m);

    const [header, ...rows] = r.stdout.trimEnd().split('\n');
    expect(header).toMatch(/^experiment +partitions +partitioner +lingerMs +records +requests +records\/request +records\/s +elapsedMs$/);
    const last = rows.pop();
    const cells = rows.map((row) => row.trim().split(/ +/));
    expect(cells.map(([experiment, partitions, partitioner, lingerMs]) => `${experiment} ${partitions} ${partitioner} ${lingerMs}`)).toEqual([
      'keyed 1 murmur2 0',
      'keyed 2 murmur2 0',
      'keyed 4 murmur2 0',
      'keyed 8 murmur2 0',
      'keyless 4 sticky 0',
      'keyless 4 round-robin 0',
      'keyless 4 sticky 5',
      'keyless 4 round-robin 5',
    ]);
    // Every record of every row was acknowledged, in at least one request and at most one per record.
    for (const [, , , , records, requests] of cells) {
      expect(records).toBe('200');
      expect(Number(requests)).toBeGreaterThanOrEqual(1);
      expect(Number(requests)).toBeLessThanOrEqual(200);
    }
    expect(last).toMatch(/^create-topic \(1 partition\): median \d+ ms, max \d+ ms over 20 topics$/);
  });
});

describe('the consumer-group demo and tools', () => {
  it('demo: members share the partitions cooperatively, a dead one is taken over, offsets survive a restart', async () => {
    const r = await runCli(MAIN, ['demo']);
    expect([r.code, r.stderr]).toEqual([0, '']);
    const dir = /^A broker on 127\.0\.0\.1:\d+, data in (\S+) \(removed at the end\)\.$/m.exec(r.stdout)?.[1] ?? '';
    expect(dir).not.toBe('');
    expect(existsSync(dir)).toBe(false);
    expect(r.stdout).toMatch(/^Topic orders with 6 partitions; group billing; session timeout 1000 ms\.$/m);
    // Cooperative rounds: a newcomer gets nothing until the old owner has given partitions up.
    expect(r.stdout).toMatch(/ alice in generation 1: 0 1 2 3 4 5$/m);
    expect(r.stdout).toMatch(/ bob in generation \d+: \(nothing yet\)$/m);
    expect(r.stdout).toMatch(/ carol in generation \d+: \(nothing yet\)$/m);
    expect(r.stdout).toMatch(/ all 600 processed$/m);
    expect(r.stdout).toMatch(/ carol's partitions \d( \d)* taken over \d+ ms after she died$/m);
    expect(r.stdout).toMatch(/^ +produced 1200, processed 1200 \(none skipped\), processed twice: \d+$/m);
    // describe-group after the survivors left, and again after the broker restarted: the same table, no lag.
    const tables = r.stdout.split(/^ {3}group billing: /m).slice(1).map((t) => (t.split('\n\n')[0] ?? '').trimEnd());
    expect(tables).toHaveLength(2);
    expect(tables[1]).toBe(tables[0]);
    const rows = (tables[0] ?? '').split('\n').slice(2).map((row) => row.trim().split(/ +/));
    expect(rows.map(([topic, partition]) => `${topic}-${partition}`)).toEqual(['orders-0', 'orders-1', 'orders-2', 'orders-3', 'orders-4', 'orders-5']);
    for (const row of rows) expect(row[4], row.join(' ')).toBe('0');
    expect(rows.reduce((n, row) => n + Number(row[2]), 0)).toBe(1200);
  });

  it('timeline prints the writeup\'s eager and cooperative tables; a bad --changes is a usage error', async () => {
    const [r, bad] = await Promise.all([runCli(MAIN, ['timeline']), runCli(MAIN, ['timeline', '--changes', '+a,b'])]);
    expect([r.code, r.stderr]).toEqual([0, '']);
    expect(r.stdout).toBe(
      [
        'eager: 4 generations, 24 partition-pauses in total',
        'gen  change  a              b        c        paused',
        '1    +a      [0 1 2 3 4 5]  -        -        6',
        '2    +b      [0 1 2]        [3 4 5]  -        6',
        '3    +c      [0 1]          [3 4]    [2 5]    6',
        '4    -b      [0 1 3]        -        [2 4 5]  6',
        '',
        'cooperative: 6 generations, 13 partition-pauses in total',
        'gen  change       a              b        c        paused',
        '1    +a           [0 1 2 3 4 5]  -        -        6',
        '2    +b           [0 1 2]        []       -        0',
        '3    (follow-up)  [0 1 2]        [3 4 5]  -        3',
        '4    +c           [0 1]          [3 4]    []       0',
        '5    (follow-up)  [0 1]          [3 4]    [2 5]    2',
        '6    -b           [0 1 3]        -        [2 4 5]  2',
        '',
        '',
      ].join('\n'),
    );
    expect([bad.code, bad.stdout, bad.stderr]).toEqual([2, '', 'error: --changes: bad change "b": use +name or -name\n']);
  });

  it('offsets-bench: with compaction a restart replays a bounded log, without it every commit; temporary files removed', async () => {
    const tmp = tempDir('offsets-bench-cli-');
    try {
      const r = await runCli(MAIN, ['offsets-bench', '--commits', '1200', '--keys', '10'], { env: { TMPDIR: tmp.path } });
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toMatch(/^\d+ cores \(.*\), Node v[\d.]+, temporary directory under /);
      expect(r.stderr.split(', temporary directory under ')[1]).toBe(`${tmp.path}\n`);
      const lines = r.stdout.trimEnd().split('\n');
      expect(lines[0]).toBe('1200 commits of 1 offset(s) over 10 partitions, each fsynced (FsStorage).');
      expect(lines[1]).toMatch(/^compaction defaults: compactRecordsMin=1000, compactRatio=\d+$/);
      const run = (label: string): { compactions: number; replayed: number } => {
        const line = lines.find((l) => l.startsWith(label)) ?? '';
        const m = /commit mean \d+\.\d{3} ms {3}compactions +(\d+) {3}restart replays +(\d+) records in \d+ ms$/.exec(line);
        expect(m, line).not.toBeNull();
        return { compactions: Number(m?.[1]), replayed: Number(m?.[2]) };
      };
      const on = run('compaction on (defaults) ');
      const off = run('compaction off ');
      // The writeup: with compaction a restart replays at most max(1,000, 2 x live keys) records, whatever the history.
      expect(on.compactions).toBeGreaterThanOrEqual(1);
      expect(on.replayed).toBeLessThanOrEqual(1000);
      expect(off).toEqual({ compactions: 0, replayed: 1200 });
      expect(lines.at(-1)).toMatch(/^compacting that 1200-record log down to its 10 live keys \(rewrite, switch CURRENT, delete the old log\) took \d+ ms$/);
      // Its stores lived in the temporary directory and are gone (tsx keeps its cache there too).
      expect(readdirSync(tmp.path).filter((name) => !name.startsWith('tsx-'))).toEqual([]);
    } finally {
      tmp.remove();
    }
  });
});
