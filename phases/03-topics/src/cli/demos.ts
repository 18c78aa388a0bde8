/**
 * The narrated demos as commands. A demo (src/demos/) tells its story one line at a
 * time through `say`; `narratedDemo` makes it a command that takes no options and
 * prints each line on stdout. Which demo a phase calls `demo`, and how --help
 * describes it, is main.ts's choice: a phase's own walk-through is `demo`, and later
 * phases keep the earlier ones under names of their own.
 *
 * Phase 3 adds `measure`, the writeup's numbers (demos/measure.ts), against a broker
 * it starts in a process of its own.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { formatMeasure, runMeasure } from '../demos/measure.ts';
import { BROKER_DEFAULTS } from '../server/config.ts';
import { type Command, CommandError, integerOption, writeOut } from './options.ts';

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
