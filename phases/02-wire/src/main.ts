/**
 * The phase-2 command line: `npm run phase 2 -- <command> [options]`. It is the top of
 * this phase's data flow (CLI → client → wire → server → log → segment → storage).
 * Commands:
 *
 *   serve     (default) run a broker until SIGTERM/SIGINT, then shut down gracefully
 *   produce   each stdin line becomes one record sent to a broker; prints the offsets
 *   consume   prints `<offset>\t<value>` lines fetched from a broker
 *   demo      a broker, a producer and a consumer in one process, frames shown in hex
 *   log-demo  phase 1's narrated walk-through of the log on disk
 *   append    (phase 1, no broker) each stdin line becomes one record; prints each offset
 *   read      (phase 1, no broker) prints `<offset>\t<value>` lines
 *   dump      prints segments, index entries, batches and records (read-only)
 *
 * This file is the command table: it picks the real seams, hands them to the commands
 * (src/cli/), lists the commands and assembles --help from their entries. It is also
 * the only place that decides exit codes: script output goes to stdout; errors are one
 * line on stderr starting `error: `, with exit status 2 for usage errors and 1 for
 * runtime errors, never a stack trace.
 */
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { clientCommands } from './cli/clients.ts';
import { narratedDemo } from './cli/demos.ts';
import { LOG_DIR_DUMP, LOG_OPTIONS_USAGE, logCommands } from './cli/log.ts';
import { type Command, UsageError, dispatch, firstLine, flushed, formatUsage } from './cli/options.ts';
import { SERVE_OPTIONS_USAGE, serveCommand } from './cli/serve.ts';
import { runDemo } from './demos/log-demo.ts';
import { runWireDemo } from './demos/wire-demo.ts';
import { InvalidConfigError } from './log/errors.ts';
import { realSeams } from './seams/real.ts';

/** Where `serve` keeps its log unless told otherwise: outside the repository, kept between runs. */
const DEFAULT_SERVE_DIR = join(tmpdir(), 'commitlog-02-wire');

const seams = realSeams();
const serve = serveCommand(seams, DEFAULT_SERVE_DIR);
const { produce, consume } = clientCommands(seams);
const demo = narratedDemo('demo', '  demo                 broker, producer and consumer in one process, every frame in hex', runWireDemo);
const logDemo = narratedDemo('log-demo', "  log-demo             phase 1's narrated walk-through of the log on disk", runDemo);
const { append, read, dump } = logCommands(seams, {
  ...LOG_DIR_DUMP,
  usage: `  dump --dir D         print segments, index entries, batches and records, like
                       kafka-dump-log.sh; changes nothing on disk (works on a
                       broker's --dir)`,
});

/** Every command, in the order the "unknown command" message lists them. */
const COMMANDS: readonly Command[] = [serve, produce, consume, demo, logDemo, append, read, dump];

const USAGE = formatUsage({
  synopsis: 'Usage: npm run phase 2 -- <command> [options]',
  about: 'A commit log served over TCP with a binary protocol (phase 2).',
  commands: [serve, produce, consume, demo, logDemo, append, read, dump],
  sections: [`Options:\n  --dir D              the log directory (append and serve create it)\n${LOG_OPTIONS_USAGE}`, ...SERVE_OPTIONS_USAGE],
});

/** Run one command line; resolves with the process exit status. */
async function main(argv: readonly string[]): Promise<number> {
  try {
    await dispatch(argv, { commands: COMMANDS, fallback: serve, usage: USAGE });
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
