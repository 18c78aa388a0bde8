/**
 * Phase 1's commands, which work on a log directory directly, without a broker:
 *
 *   append  each stdin line becomes one record; prints each assigned offset once durable
 *   read    prints `<offset>\t<value>` lines
 *   dump    prints segments, index entries, batches and records (read-only)
 *
 * They are handed their seams (a Storage for the files, a wall clock for the records'
 * CreateTime) by main.ts. Later phases carry this file unchanged; a phase whose
 * directories look different hands `logCommands` its own `DumpFormat`.
 */
import { createInterface } from 'node:readline';
import { dumpLines } from '../demos/dump.ts';
import { listSegmentFiles } from '../demos/inspect.ts';
import { InvalidConfigError, RecordTooLargeError } from '../log/errors.ts';
import { DEFAULT_LOG_CONFIG, Log, resolveLogConfig, type LogConfig } from '../log/log.ts';
import type { RecordInput } from '../log/record-batch.ts';
import type { Storage } from '../seams/storage.ts';
import { type Command, CommandError, UsageError, freshDir, integerOption, requireDir, writeOut } from './options.ts';

/** Bytes asked of `Log.readRecords` per call by `read`; at least one batch comes back regardless. */
const READ_CHUNK_BYTES = 1024 * 1024;

/** Lines of `dump` output gathered into one write. */
const DUMP_CHUNK_LINES = 1000;

/** What the log commands are handed by main.ts. */
export interface LogCommandSeams {
  /** The log's files. */
  readonly storage: Storage;
  /** Wall-clock milliseconds, the CreateTime `append` gives each record. */
  readonly clock: { now(): number };
}

/** What `dump` prints for a directory, and its entry in --help. */
export interface DumpFormat {
  readonly usage: string;
  /** The dump's lines for the (existing) directory `dir`. */
  lines(storage: Storage, dir: string): AsyncIterable<string>;
}

/** Phase 1's dump: one log directory, like kafka-dump-log.sh. */
export const LOG_DIR_DUMP: DumpFormat = {
  usage: `  dump --dir D         print segments, index entries, batches and records, like
                       kafka-dump-log.sh; changes nothing on disk`,
  lines: dumpLines,
};

/** The --help lines for these commands' options, under "Options:" after `--dir` (which main.ts describes). */
export const LOG_OPTIONS_USAGE = `  --segment-bytes N    roll to a new segment before the active one exceeds N bytes
                       (default ${DEFAULT_LOG_CONFIG.segmentBytesMax}; at least 61, one batch header)
  --batch N            records per batch, i.e. per write + fsync (default 1)
  --from O             first offset to print
  --max M              most records to print`;

/** The three commands `logCommands` makes. */
export interface LogCommands {
  readonly append: Command;
  readonly read: Command;
  readonly dump: Command;
}

/**
 * `append`, `read` and `dump` on `seams`; `dump` prints what `dumpFormat` says.
 * @example
 * const { append, read, dump } = logCommands({ storage: new MemoryStorage(), clock: { now: () => 0 } });
 */
export function logCommands(seams: LogCommandSeams, dumpFormat: DumpFormat = LOG_DIR_DUMP): LogCommands {
  const append: Command = {
    name: 'append',
    usage: `  append --dir D [--fresh] [--segment-bytes N] [--batch N]
                       append each stdin line as one record (value = line, key null),
                       N lines per batch (default 1); prints each assigned offset;
                       exits 0 only once every record is fsynced. --fresh: remove D
                       first, so offsets start at 0 (only if all in it is what these
                       commands write: segment and index files)`,
    options: { dir: { type: 'string' }, fresh: { type: 'boolean' }, 'segment-bytes': { type: 'string' }, batch: { type: 'string' } },
    async run(values) {
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
      if (values.fresh === true) await freshDir(seams.storage, dir, false);

      const log = await Log.open(seams.storage, dir, config);
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
          // CreateTime, as Kafka's console producer sets it, from the wall clock main.ts
          // hands in; the log itself never reads the time.
          const value = Buffer.from(line, 'utf8');
          pending.push({ key: null, value, timestamp: seams.clock.now() });
          pendingBytes += value.length;
          // Past batchBytesMax the append will fail anyway: fail now rather than buffer all of stdin.
          if (pending.length >= batchRecordsMax || pendingBytes > log.config.batchBytesMax) await flush();
        }
        await flush();
      } finally {
        lines.close();
        await log.close();
      }
    },
  };

  const read: Command = {
    name: 'read',
    usage: `  read --dir D [--from O] [--max M]
                       print records as <offset><TAB><value> lines, starting at O
                       (default: the log start offset), at most M (default: all);
                       opens the log, so recovery repairs a torn tail first`,
    options: { dir: { type: 'string' }, from: { type: 'string' }, max: { type: 'string' } },
    async run(values) {
      const dir = requireDir(values, 'read');
      const from = integerOption(values, 'from', 0);
      const max = integerOption(values, 'max', 0) ?? Number.POSITIVE_INFINITY;

      const storage = seams.storage;
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
    },
  };

  const dump: Command = {
    name: 'dump',
    usage: dumpFormat.usage,
    options: { dir: { type: 'string' } },
    async run(values) {
      const dir = requireDir(values, 'dump');
      await requireExistingDir(seams.storage, dir);
      let chunk: string[] = [];
      for await (const line of dumpFormat.lines(seams.storage, dir)) {
        chunk.push(line);
        if (chunk.length >= DUMP_CHUNK_LINES) {
          await writeOut(`${chunk.join('\n')}\n`);
          chunk = [];
        }
      }
      if (chunk.length > 0) await writeOut(`${chunk.join('\n')}\n`);
    },
  };

  return { append, read, dump };
}

async function requireExistingDir(storage: Storage, dir: string): Promise<void> {
  if (!(await storage.exists(dir))) throw new CommandError(`no such log directory: ${dir}`);
}
