/**
 * This phase's command table as a learner meets it (src/main.ts and src/cli/): `--help`,
 * `-h` and `help` print one usage text; every command it lists takes `--help` and
 * prints that same text; the command marked "(the default)" is the one that runs
 * without a name; an unknown command is refused with exit status 2 and a message
 * naming exactly the commands --help lists. Each tsx start costs about a second, so
 * independent commands run concurrently.
 */
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runCli } from '../../../shared/src/testing.ts';

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
