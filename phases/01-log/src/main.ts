/**
 * The phase-1 command line: `npm run phase 1 -- <command> [options]`. It is the top of
 * this phase's data flow (CLI → log → segment → storage) and the only file that touches
 * process stdin/stdout/exit codes. Commands:
 *
 *   demo    (default) narrated walk-through in a temporary directory
 *   append  each stdin line becomes one record; prints each assigned offset once durable
 *   read    prints `<offset>\t<value>` lines
 *   dump    prints segments, index entries, batches and records (read-only)
 *
 * Script output goes to stdout; errors are one line on stderr starting `error: `, with
 * exit status 2 for usage errors and 1 for runtime errors, never a stack trace.
 */
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { runDemo } from './demos/log-demo.ts';
import { dumpLines } from './demos/dump.ts';
import { InvalidConfigError, RecordTooLargeError } from './log/errors.ts';
import { listSegmentFiles } from './demos/inspect.ts';
import { DEFAULT_LOG_CONFIG, Log, resolveLogConfig, type LogConfig } from './log/log.ts';
import type { RecordInput } from './log/record-batch.ts';
import { FsStorage } from './seams/storage.ts';

const USAGE = `Usage: npm run phase 1 -- <command> [options]

A segmented commit log on local disk (phase 1).

Commands:
  demo                 narrated walk-through in a temporary directory (the default)
  append --dir D [--segment-bytes N] [--batch N]
                       append each stdin line as one record (value = line, key null),
                       N lines per batch (default 1); prints each assigned offset;
                       exits 0 only once every record is fsynced
  read --dir D [--from O] [--max M]
                       print records as <offset><TAB><value> lines, starting at O
                       (default: the log start offset), at most M (default: all);
                       opens the log, so recovery repairs a torn tail first
  dump --dir D         print segments, index entries, batches and records, like
                       kafka-dump-log.sh; changes nothing on disk

Options:
  --dir D              the log directory (append creates it)
  --segment-bytes N    roll to a new segment before the active one exceeds N bytes
                       (default ${DEFAULT_LOG_CONFIG.segmentBytesMax}; at least 61, one batch header)
  --batch N            records per batch, i.e. per write + fsync (default 1)
  --from O             first offset to print
  --max M              most records to print
  -h, --help           show this help

Exit status: 0 success, 1 runtime error, 2 usage error.`;

/** Bytes asked of `Log.readRecords` per call by `read`; at least one batch comes back regardless. */
const READ_CHUNK_BYTES = 1024 * 1024;

/** Lines of `dump` output gathered into one write. */
const DUMP_CHUNK_LINES = 1000;

/** A mistake in the command line itself: exit status 2. */
class UsageError extends Error {
  readonly code = 'USAGE';
}

/** The command line was fine but the request cannot be served: exit status 1. */
class CommandError extends Error {
  readonly code = 'COMMAND';
}

type OptionSpec = Record<string, { type: 'string' | 'boolean'; short?: string }>;

/** Parse `args` strictly against `options` (plus --help); unknown options are usage errors. */
function parseOptions(command: string, args: readonly string[], options: OptionSpec): Record<string, string | boolean | undefined> {
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

function requireDir(values: Record<string, string | boolean | undefined>, command: string): string {
  const dir = values.dir;
  if (typeof dir !== 'string' || dir === '') throw new UsageError(`${command} needs --dir <directory>`);
  return dir;
}

/** Parse an optional integer option in [min, MAX_SAFE_INTEGER]; non-numeric text is a usage error. */
function integerOption(values: Record<string, string | boolean | undefined>, name: string, min: number): number | undefined {
  const text = values[name];
  if (text === undefined || typeof text === 'boolean') return undefined;
  const n = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(n) || n < min) {
    throw new UsageError(`--${name} must be an integer >= ${min}, got '${text}'`);
  }
  return n;
}

async function commandAppend(args: readonly string[]): Promise<void> {
  const values = parseOptions('append', args, { dir: { type: 'string' }, 'segment-bytes': { type: 'string' }, batch: { type: 'string' } });
  if (values.help === true) return printUsage();
  const dir = requireDir(values, 'append');
  const segmentBytesMax = integerOption(values, 'segment-bytes', 1);
  const batchRecordsMax = integerOption(values, 'batch', 1) ?? 1;
  const config: Partial<LogConfig> = segmentBytesMax === undefined ? {} : { segmentBytesMax };
  try {
    resolveLogConfig(config); // reject a bad --segment-bytes before creating anything
  } catch (e) {
    if (e instanceof InvalidConfigError) throw new UsageError(e.message.replace('segmentBytesMax', '--segment-bytes'));
    throw e;
  }

  const storage = new FsStorage();
  const log = await Log.open(storage, dir, config);
  const lines = createInterface({ input: process.stdin, crlfDelay: Infinity });
  try {
    let pending: RecordInput[] = [];
    let pendingBytes = 0;
    const flush = async (): Promise<void> => {
      if (pending.length === 0) return;
      const records = pending;
      pending = [];
      pendingBytes = 0;
      // Resolves only after the batch is fsynced: printing the offset is the acknowledgement.
      const { baseOffset, lastOffset } = await log.append(records).catch((e: unknown) => {
        if (e instanceof RecordTooLargeError) throw new CommandError(`${e.message} (${records.length} records): use a smaller --batch`);
        throw e;
      });
      if (lastOffset - baseOffset + 1 !== records.length) {
        throw new CommandError(`log assigned ${baseOffset}..${lastOffset} to ${records.length} records`);
      }
      const out: string[] = [];
      for (let offset = baseOffset; offset <= lastOffset; offset++) out.push(String(offset));
      await writeOut(`${out.join('\n')}\n`);
    };
    for await (const line of lines) {
      // CreateTime, as Kafka's console producer sets it. The CLI may read the wall clock;
      // the log itself never does (phase 2 brings the Clock seam).
      const value = Buffer.from(line, 'utf8');
      pending.push({ key: null, value, timestamp: Date.now() });
      pendingBytes += value.length;
      // Past batchBytesMax the append will fail anyway: fail now rather than buffer all of stdin.
      if (pending.length >= batchRecordsMax || pendingBytes > log.config.batchBytesMax) await flush();
    }
    await flush();
  } finally {
    lines.close();
    await log.close();
  }
}

async function commandRead(args: readonly string[]): Promise<void> {
  const values = parseOptions('read', args, { dir: { type: 'string' }, from: { type: 'string' }, max: { type: 'string' } });
  if (values.help === true) return printUsage();
  const dir = requireDir(values, 'read');
  const from = integerOption(values, 'from', 0);
  const max = integerOption(values, 'max', 0) ?? Number.POSITIVE_INFINITY;

  const storage = new FsStorage();
  await requireExistingDir(storage, dir);
  // A directory without segments is an empty log; opening a Log there would create one,
  // and `read` must not write into a directory that may not be a log at all.
  const { segments } = await listSegmentFiles(storage, dir);
  if (segments.length === 0) {
    if (from !== undefined && from !== 0) throw new CommandError(`--from ${from} is outside the log: it is empty (offsets [0, 0))`);
    return;
  }
  const log = await Log.open(storage, dir);
  try {
    const start = log.logStartOffset;
    const end = log.logEndOffset;
    let offset = from ?? start;
    if (offset < start || offset > end) {
      throw new CommandError(`--from ${offset} is outside the log: offsets are [${start}, ${end})`);
    }
    let remaining = max;
    while (remaining > 0 && offset < log.logEndOffset) {
      const records = await log.readRecords(offset, READ_CHUNK_BYTES);
      const out: string[] = [];
      for (const r of records) {
        if (remaining === 0) break;
        if (r.offset < offset) continue;
        out.push(`${r.offset}\t${r.value === null ? 'null' : r.value.toString('utf8')}`);
        remaining--;
        offset = r.offset + 1;
      }
      if (out.length === 0) throw new CommandError(`read at offset ${offset} made no progress`);
      await writeOut(`${out.join('\n')}\n`);
    }
  } finally {
    await log.close();
  }
}

async function commandDump(args: readonly string[]): Promise<void> {
  const values = parseOptions('dump', args, { dir: { type: 'string' } });
  if (values.help === true) return printUsage();
  const dir = requireDir(values, 'dump');
  const storage = new FsStorage();
  await requireExistingDir(storage, dir);
  let chunk: string[] = [];
  for await (const line of dumpLines(storage, dir)) {
    chunk.push(line);
    if (chunk.length >= DUMP_CHUNK_LINES) {
      await writeOut(`${chunk.join('\n')}\n`);
      chunk = [];
    }
  }
  if (chunk.length > 0) await writeOut(`${chunk.join('\n')}\n`);
}

async function commandDemo(args: readonly string[]): Promise<void> {
  const values = parseOptions('demo', args, {});
  if (values.help === true) return printUsage();
  await runDemo((line) => process.stdout.write(`${line}\n`));
}

async function requireExistingDir(storage: FsStorage, dir: string): Promise<void> {
  if (!(await storage.exists(dir))) throw new CommandError(`no such log directory: ${dir}`);
}

function printUsage(): void {
  process.stdout.write(`${USAGE}\n`);
}

/**
 * Write to stdout and wait while its buffer is full. Without this, a fast producer
 * like `read` queues the whole log in memory, and exiting loses what is still queued.
 */
async function writeOut(text: string): Promise<void> {
  if (process.stdout.write(text)) return;
  await new Promise<void>((resolveDrain) => process.stdout.once('drain', resolveDrain));
}

/** Resolve once everything written to `stream` so far has been handed to the OS. */
async function flushed(stream: NodeJS.WriteStream): Promise<void> {
  await new Promise<void>((resolveFlush) => stream.write('', () => resolveFlush()));
}

function firstLine(e: unknown): string {
  const message = e instanceof Error ? e.message : String(e);
  return message.split('\n')[0] ?? message;
}

/** Run one command line; resolves with the process exit status. */
async function main(argv: readonly string[]): Promise<number> {
  const [first, ...rest] = argv;
  const commands = new Map<string, (args: readonly string[]) => Promise<void>>([
    ['append', commandAppend],
    ['read', commandRead],
    ['dump', commandDump],
    ['demo', commandDemo],
  ]);
  try {
    if (first === undefined) await commandDemo([]);
    else if (first === '--help' || first === '-h' || first === 'help') printUsage();
    else if (first.startsWith('-')) await commandDemo(argv);
    else {
      const command = commands.get(first);
      if (command === undefined) throw new UsageError(`unknown command '${first}' (commands: demo, append, read, dump; see --help)`);
      await command(rest);
    }
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
