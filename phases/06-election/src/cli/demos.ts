/**
 * The narrated demos as commands. A demo (src/demos/) tells its story one line at a
 * time through `say`; `narratedDemo` makes it a command that takes no options and
 * prints each line on stdout. Which demo a phase calls `demo`, and how --help
 * describes it, is main.ts's choice: a phase's own walk-through is `demo`, and later
 * phases keep the earlier ones under names of their own.
 *
 * Phase 3 adds `measure`, the writeup's numbers (demos/measure.ts), against a broker
 * it starts in a process of its own. Phase 4 adds `timeline` (eager versus cooperative
 * rebalancing on the real assignor, demos/timeline.ts) and `offsets-bench` (the offsets
 * store on disk, demos/offsets-bench.ts).
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { formatMeasure, runMeasure } from '../demos/measure.ts';
import { runOffsetsBench } from '../demos/offsets-bench.ts';
import { type MembershipChange, formatTimeline, parseChanges, timeline } from '../demos/timeline.ts';
import type { Clock } from '../seams/clock.ts';
import { BROKER_DEFAULTS } from '../server/config.ts';
import { type Command, CommandError, UsageError, firstLine, integerOption, writeOut } from './options.ts';

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

/**
 * `measure`: start a broker process (this command line's `serve`, in a temporary data
 * directory removed at the end) or use the one at `--port`, run the measurements and
 * print their table on stdout; progress goes to stderr.
 */
export function measureCommand(): Command {
  return {
    name: 'measure',
    usage: `  measure [--records N] [--producers N] [--value-bytes N] [--port P]
                       start a broker process (or use the one at --port) and measure
                       keyed throughput over 1-8 partitions, sticky versus round-robin
                       batching, and create-topic latency; prints a table`,
    options: {
      records: { type: 'string' },
      producers: { type: 'string' },
      'value-bytes': { type: 'string' },
      port: { type: 'string' },
      host: { type: 'string' },
    },
    async run(values) {
      const records = integerOption(values, 'records', 1) ?? 20_000;
      const producers = integerOption(values, 'producers', 1) ?? 8;
      const valueBytes = integerOption(values, 'value-bytes', 0) ?? 100;
      const host = typeof values.host === 'string' ? values.host : BROKER_DEFAULTS.host;
      let port = integerOption(values, 'port', 1);
      let dir: string | null = null;
      let child: ReturnType<typeof spawn> | null = null;
      try {
        if (port === undefined) {
          // The broker in its own process, as a learner runs it: this command line's `serve`.
          dir = await mkdtemp(join(tmpdir(), 'commitlog-measure-'));
          const script = process.argv[1] ?? '';
          child = spawn(process.execPath, [...process.execArgv, script, 'serve', '--dir', dir, '--port', '0'], { stdio: ['ignore', 'pipe', 'inherit'] });
          port = await listeningPort(child);
        }
        const cpu = cpus();
        process.stderr.write(`broker at ${host}:${port}${dir === null ? '' : ` (its own process, data in ${dir})`}; ${cpu.length} cores (${cpu[0]?.model ?? '?'}), Node ${process.version}\n`);
        const result = await runMeasure({ host, port, records, producers, valueBytes, say: (line) => process.stderr.write(`${line}\n`) });
        await writeOut(`${formatMeasure(result.rows, result.createTopicMs).join('\n')}\n`);
      } finally {
        if (child !== null && child.exitCode === null) {
          const exited = new Promise((resolveExit) => child?.once('exit', resolveExit));
          child.kill('SIGTERM');
          await exited;
        }
        if (dir !== null) await rm(dir, { recursive: true, force: true });
      }
    },
  };
}

/** The port a spawned `serve` announces on its first stdout line. */
async function listeningPort(child: ReturnType<typeof spawn>): Promise<number> {
  const stdout = child.stdout;
  if (stdout === null) throw new CommandError('broker process has no stdout');
  const lines = createInterface({ input: stdout, crlfDelay: Infinity });
  try {
    for await (const line of lines) {
      const m = /^listening on [^:]+:(\d+)$/.exec(line);
      if (m !== null) return Number(m[1]);
    }
  } finally {
    lines.close();
  }
  throw new CommandError('the broker process exited before it was listening');
}

/**
 * `timeline`: replay membership changes (`--changes`, default `+a,+b,+c,-b`) on
 * `--partitions` partitions with the real assignor, and print one table per protocol,
 * eager then cooperative: who consumes what in each generation, and how many
 * partitions nobody consumed while it was assigned.
 */
export function timelineCommand(): Command {
  return {
    name: 'timeline',
    usage: `  timeline [--partitions N] [--changes +a,+b,+c,-b]
                       replay membership changes on the real assignor: who consumes what
                       in each generation, eager versus cooperative`,
    options: { partitions: { type: 'string' }, changes: { type: 'string' } },
    async run(values) {
      const partitions = integerOption(values, 'partitions', 1) ?? 6;
      let changes: MembershipChange[];
      try {
        changes = parseChanges(typeof values.changes === 'string' ? values.changes : '+a,+b,+c,-b');
      } catch (e) {
        throw new UsageError(`--changes: ${firstLine(e)}`);
      }
      for (const protocol of ['eager', 'cooperative'] as const) {
        const rows = timeline(protocol, partitions, changes);
        const paused = rows.reduce((n, r) => n + r.paused, 0);
        await writeOut(`${protocol}: ${rows.length} generations, ${paused} partition-pauses in total\n${formatTimeline(rows).join('\n')}\n\n`);
      }
    },
  };
}

/**
 * `offsets-bench`: `--commits` fsynced commits over `--keys` partitions into the
 * offsets store on disk, with and without compaction, timed on `clock`; the machine
 * goes to stderr, the results to stdout.
 */
export function offsetsBenchCommand(clock: Clock): Command {
  return {
    name: 'offsets-bench',
    usage: `  offsets-bench [--commits N] [--keys N]
                       commit latency and restart replay of the offsets store on disk,
                       with and without compaction`,
    options: { commits: { type: 'string' }, keys: { type: 'string' } },
    async run(values) {
      const commits = integerOption(values, 'commits', 1) ?? 20_000;
      const keys = integerOption(values, 'keys', 1) ?? 100;
      const cpu = cpus();
      process.stderr.write(`${cpu.length} cores (${cpu[0]?.model ?? '?'}), Node ${process.version}, temporary directory under ${tmpdir()}\n`);
      await runOffsetsBench({ commits, keys, offsetsPerCommit: 1 }, clock, (line) => process.stdout.write(`${line}\n`));
    },
  };
}
