/**
 * The phase-1 command line: `npm run phase 1 -- <command> [options]`. It is the top of
 * this phase's data flow (CLI → log → segment → storage). Commands:
 *
 *   demo    (default) narrated walk-through in a temporary directory
 *   append  each stdin line becomes one record; prints each assigned offset once durable
 *   read    prints `<offset>\t<value>` lines
 *   dump    prints segments, index entries, batches and records (read-only)
 *
 * This file is the command table: it picks the real seams, hands them to the commands
 * (src/cli/), lists the commands and assembles --help from their entries. It is also
 * the only place that decides exit codes: script output goes to stdout; errors are one
 * line on stderr starting `error: `, with exit status 2 for usage errors and 1 for
 * runtime errors, never a stack trace.
 */
import { narratedDemo } from './cli/demos.ts';
import { LOG_OPTIONS_USAGE, logCommands } from './cli/log.ts';
import { type Command, UsageError, dispatch, firstLine, flushed, formatUsage } from './cli/options.ts';
import { runDemo } from './demos/log-demo.ts';
import { InvalidConfigError } from './log/errors.ts';
import { realSeams } from './seams/real.ts';

// Phase 1 has no Clock seam yet (phase 2 brings it): the records' CreateTime comes from
// the wall clock, picked here with the rest of the real seams.
const { append, read, dump } = logCommands({ ...realSeams(), clock: { now: () => Date.now() } });
const demo = narratedDemo('demo', '  demo                 narrated walk-through in a temporary directory (the default)', runDemo);

/** Every command, in the order the "unknown command" message lists them. */
const COMMANDS: readonly Command[] = [demo, append, read, dump];

const USAGE = formatUsage({
  synopsis: 'Usage: npm run phase 1 -- <command> [options]',
  about: 'A segmented commit log on local disk (phase 1).',
  commands: [demo, append, read, dump],
  sections: [`Options:\n  --dir D              the log directory (append creates it)\n${LOG_OPTIONS_USAGE}`],
});

/** Run one command line; resolves with the process exit status. */
async function main(argv: readonly string[]): Promise<number> {
  try {
    await dispatch(argv, { commands: COMMANDS, fallback: demo, usage: USAGE });
    return 0;
  } catch (e) {
    process.stderr.write(`error: ${firstLine(e)}\n`);
    // A config value out of range came from an option: a usage error too.
    return e instanceof UsageError || e instanceof InvalidConfigError ? 2 : 1;
  }
}

// `read | head` closes the pipe early: that is the reader's choice, not an error.
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code === 'EPIPE') process.exit(0);
  process.stderr.write(`error: stdout: ${e.message}\n`);
  process.exit(1);
});

const status = await main(process.argv.slice(2));
// Exit explicitly (an unread stdin must not keep us alive), but only once stdout and
// stderr are flushed: they can be asynchronous pipes, and exit drops queued output.
await Promise.all([flushed(process.stdout), flushed(process.stderr)]);
process.exit(status);
