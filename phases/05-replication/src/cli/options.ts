/**
 * The command line's shared plumbing, used by main.ts and every command file in
 * src/cli/: what a command is, the two kinds of failure (a usage error exits 2, a
 * runtime error 1), strict option parsing with one-line messages, the integer and
 * `--dir` checks, `--fresh` (start from an empty directory), the `pid N` line of the
 * commands that run until stopped, writing to stdout with backpressure, the --help
 * text assembled from the commands, and dispatching one command line to its command.
 *
 * Nothing here belongs to one phase: later phases carry this file unchanged.
 */
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { Storage } from '../seams/storage.ts';

/** A mistake in the command line itself: exit status 2. */
export class UsageError extends Error {
  readonly code = 'USAGE';
}

/** The command line was fine but the request cannot be served: exit status 1. */
export class CommandError extends Error {
  readonly code = 'COMMAND';
}

/** The options one command accepts, as node:util `parseArgs` takes them (`--help` is always added). */
export type OptionSpec = Record<string, { type: 'string' | 'boolean'; short?: string }>;

/** Parsed options: a string option's text, `true` for a boolean one, undefined when not given. */
export type OptionValues = Record<string, string | boolean | undefined>;

/**
 * One command of the command line. `dispatch` parses the command's `options` (plus
 * `-h`/`--help`), prints the whole --help text when asked, and otherwise calls `run`.
 */
export interface Command {
  /** What is typed after the phase: `append`, `serve`, … */
  readonly name: string;
  /** Its entry under "Commands:" in --help, exactly as printed (indented, wrapped). */
  readonly usage: string;
  /** The options it accepts. */
  readonly options: OptionSpec;
  /** Do the work. A UsageError means exit status 2; any other error, 1. */
  run(values: OptionValues): Promise<void>;
}

/**
 * Parse `args` strictly against `options` (plus --help); unknown options are usage errors.
 * @example
 * parseOptions('read', ['--dir', 'd'], { dir: { type: 'string' } }); // { dir: 'd' }
 */
export function parseOptions(command: string, args: readonly string[], options: OptionSpec): OptionValues {
  try {
    const { values } = parseArgs({
      args: [...args],
      options: { ...options, help: { type: 'boolean', short: 'h' } },
      strict: true,
      allowPositionals: false,
    });
    return values;
  } catch (e) {
    const code = (e as { code?: unknown }).code;
    const first = firstLine(e);
    if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
      const name = /'([^']+)'/.exec(first)?.[1] ?? first;
      throw new UsageError(`unknown option '${name}' for ${command} (see --help)`);
    }
    if (code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL') {
      const name = /'([^']+)'/.exec(first)?.[1] ?? first;
      throw new UsageError(`unexpected argument '${name}' for ${command} (see --help)`);
    }
    if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
      const name = /'(--?[a-z-]+)/.exec(first)?.[1] ?? 'option';
      throw new UsageError(`option '${name}' needs a value (for a value starting with '-', write ${name}=VALUE)`);
    }
    throw new UsageError(first);
  }
}

/** The `--dir` option, which `command` cannot do without: missing or empty is a usage error. */
export function requireDir(values: OptionValues, command: string): string {
  const dir = values.dir;
  if (typeof dir !== 'string' || dir === '') throw new UsageError(`${command} needs --dir <directory>`);
  return dir;
}

/** What a directory holds, as `--fresh` recognises it: file names, and folders with their own shape. */
interface DirShape {
  readonly files: RegExp;
  readonly dirs: readonly (readonly [RegExp, DirShape])[];
}

/** A log: segment files and their indexes (phase 1), `00000000000000000000.log`. */
const LOG_SHAPE: DirShape = { files: /^\d{20}\.(log|index)$/, dirs: [] };

/**
 * Everything this course's commands write into a `--dir`: a log (phases 1 and 2), or a
 * broker's data directory (phase 3 on): `topics.registry`, one log per partition in
 * `<topic>-<partition>/`, and phase 4's `__consumer_offsets/` (`CURRENT`, `log-N/`);
 * phase 5's `replication-offset-checkpoint`.
 */
const OUR_DIR_SHAPE: DirShape = {
  // Phase 5: the brokers' high-watermark checkpoint.
  files: /^(\d{20}\.(log|index)|topics\.registry(\.tmp)?|replication-offset-checkpoint(\.tmp)?)$/,
  dirs: [
    [/^__consumer_offsets$/, { files: /^CURRENT(\.tmp)?$/, dirs: [[/^log-\d+$/, LOG_SHAPE]] }],
    [/^[A-Za-z0-9._-]+-\d+$/, LOG_SHAPE],
  ],
};

/** The first entry under `dir` that does not fit `shape` (a path), or null if all do. */
async function strangerIn(storage: Storage, dir: string, shape: DirShape): Promise<string | null> {
  let names: string[];
  try {
    names = await storage.list(dir);
  } catch {
    return dir; // not a directory
  }
  for (const name of names) {
    const path = join(dir, name);
    if (shape.files.test(name)) continue;
    const sub = shape.dirs.find(([pattern]) => pattern.test(name));
    if (sub === undefined) return path;
    const stranger = await strangerIn(storage, path, sub[1]);
    if (stranger !== null) return stranger;
  }
  return null;
}

/**
 * `--fresh`: remove `dir` so that the command starts from nothing (offsets from 0, no
 * topics, no groups). The default directory is removed whatever it holds: it is this
 * phase's own, under the OS temp folder. A `--dir` given on the command line is removed
 * only if everything in it is what this course's commands write (segments, a topic
 * registry, partition folders, `__consumer_offsets`); anything else in it, and `--fresh`
 * refuses (exit 1) and removes nothing, so a mistyped `--dir ~` cannot wipe a home folder.
 * @example
 * await freshDir(storage, '/tmp/commitlog-02-wire', true); // gone, whatever it held
 */
export async function freshDir(storage: Storage, dir: string, isDefault: boolean): Promise<void> {
  if (!(await storage.exists(dir))) return;
  if (!isDefault) {
    const stranger = await strangerIn(storage, dir, OUR_DIR_SHAPE);
    if (stranger !== null) {
      throw new CommandError(`--fresh removes only what this course writes, and ${stranger} is not; remove ${dir} yourself, or pick another --dir`);
    }
  }
  await storage.remove(dir);
}

/**
 * The line a command that runs until stopped prints first, on stderr: `pid 1234`, this
 * process's id, the one to `kill`. Under `npm run phase` there are two more processes
 * above it (npm, and the runner), and killing those with `kill -9` leaves this one running.
 */
export function announcePid(): void {
  process.stderr.write(`pid ${process.pid}\n`);
}

/**
 * Parse an optional integer option in [min, MAX_SAFE_INTEGER]; non-numeric text is a usage error.
 * @example
 * integerOption({ max: '10' }, 'max', 0); // 10
 */
export function integerOption(values: OptionValues, name: string, min: number): number | undefined {
  const text = values[name];
  if (text === undefined || typeof text === 'boolean') return undefined;
  const n = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(n) || n < min) {
    throw new UsageError(`--${name} must be an integer >= ${min}, got '${text}'`);
  }
  return n;
}

/** The first line of an error's message: what the command line prints after `error: `. */
export function firstLine(e: unknown): string {
  const message = e instanceof Error ? e.message : String(e);
  return message.split('\n')[0] ?? message;
}

/**
 * Write to stdout and wait while its buffer is full. Without this, a fast producer
 * like `read` queues the whole log in memory, and exiting loses what is still queued.
 */
export async function writeOut(text: string): Promise<void> {
  if (process.stdout.write(text)) return;
  await new Promise<void>((resolveDrain) => process.stdout.once('drain', resolveDrain));
}

/** Resolve once everything written to `stream` so far has been handed to the OS. */
export async function flushed(stream: NodeJS.WriteStream): Promise<void> {
  await new Promise<void>((resolveFlush) => stream.write('', () => resolveFlush()));
}

/** What a phase's --help text is made of; `formatUsage` lays it out. */
export interface UsageParts {
  /** The first line: how to run this phase's command line. */
  readonly synopsis: string;
  /** A line or two on what this phase's command line is. */
  readonly about: string;
  /** The commands, in the order --help lists them. */
  readonly commands: readonly Command[];
  /** The sections after the commands, each a title line (`Options:`) and its lines. */
  readonly sections: readonly string[];
}

/**
 * The --help text: synopsis, about, the commands' entries, the option sections, the
 * `-h, --help` line that ends the last section, and the exit statuses.
 */
export function formatUsage(parts: UsageParts): string {
  const blocks = [parts.synopsis, parts.about, `Commands:\n${parts.commands.map((c) => c.usage).join('\n')}`, ...parts.sections];
  return `${blocks.join('\n\n')}
  -h, --help           show this help

Exit status: 0 success, 1 runtime error, 2 usage error.`;
}

/** What `dispatch` needs from main.ts: the phase's commands and its --help text. */
export interface CommandTable {
  /** Every command, in the order the "unknown command" message lists them. */
  readonly commands: readonly Command[];
  /** The command that runs when none is named (no arguments, or only options). */
  readonly fallback: Command;
  /** The whole --help text. */
  readonly usage: string;
}

/**
 * Run the command `argv` names (`--help`, `-h` or `help` print the usage); rejects with
 * what the command throws, a UsageError for an unknown command or option.
 * @example
 * await dispatch(['read', '--dir', 'd'], { commands, fallback: demo, usage });
 */
export async function dispatch(argv: readonly string[], table: CommandTable): Promise<void> {
  const [first, ...rest] = argv;
  if (first === undefined) return await runCommand(table.fallback, [], table.usage);
  if (first === '--help' || first === '-h' || first === 'help') return printUsage(table.usage);
  if (first.startsWith('-')) return await runCommand(table.fallback, argv, table.usage);
  const command = table.commands.find((c) => c.name === first);
  if (command === undefined) {
    throw new UsageError(`unknown command '${first}' (commands: ${table.commands.map((c) => c.name).join(', ')}; see --help)`);
  }
  await runCommand(command, rest, table.usage);
}

/** Parse a command's options; `--help` prints the usage instead of running it. */
async function runCommand(command: Command, args: readonly string[], usage: string): Promise<void> {
  const values = parseOptions(command.name, args, command.options);
  if (values.help === true) return printUsage(usage);
  await command.run(values);
}

function printUsage(usage: string): void {
  process.stdout.write(`${usage}\n`);
}
