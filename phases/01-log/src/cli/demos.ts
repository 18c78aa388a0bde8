/**
 * The narrated demos as commands. A demo (src/demos/) tells its story one line at a
 * time through `say`; `narratedDemo` makes it a command that takes no options and
 * prints each line on stdout. Which demo a phase calls `demo`, and how --help
 * describes it, is main.ts's choice: a phase's own walk-through is `demo`, and later
 * phases keep the earlier ones under names of their own.
 */
import type { Command } from './options.ts';

/**
 * A command named `name`, listed in --help as `usage`, that runs `demo` and prints
 * its narration on stdout.
 * @example
 * const demo = narratedDemo('demo', '  demo                 narrated walk-through', runDemo);
 */
export function narratedDemo(name: string, usage: string, demo: (say: (line: string) => void) => Promise<void>): Command {
  return {
    name,
    usage,
    options: {},
    async run() {
      await demo((line) => process.stdout.write(`${line}\n`));
    },
  };
}
