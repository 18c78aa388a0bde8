/**
 * The phase-3 command line: `npm run phase 3 -- <command> [options]`. It is the top of
 * this phase's data flow (CLI → client → wire → server → partitions → log → segment →
 * storage) and the only file that touches process stdin/stdout/exit codes and signals.
 * Commands:
 *
 *   serve         (default) run a broker until SIGTERM/SIGINT, then shut down gracefully
 *   create-topic  create a topic with N partitions (CreateTopics)
 *   topics        list the broker's topics, partitions and settings (Metadata)
 *   produce       each stdin line becomes one record sent to a topic; prints `<partition>\t<offset>`
 *   consume       prints the records of one partition or of every partition of a topic
 *   demo          topics, partitions, keys and the sticky partitioner, narrated
 *   wire-demo     phase 2's demo: a producer and a consumer, every frame shown in hex
 *   log-demo      phase 1's narrated walk-through of the log on disk
 *   measure       the writeup's numbers: partitions, partitioners, create-topic latency
 *   append    (phase 1, no broker) each stdin line becomes one record; prints each offset
 *   read      (phase 1, no broker) prints `<offset>\t<value>` lines
 *   dump      prints the registry, then per partition segments, index entries, batches and records (read-only)
 *
 * Script output goes to stdout; errors are one line on stderr starting `error: `, with
 * exit status 2 for usage errors and 1 for runtime errors, never a stack trace.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { Admin } from './client/admin.ts';
import { Consumer } from './client/consumer.ts';
import { Producer, type RecordMetadata } from './client/producer.ts';
import { realClock } from './seams/clock.ts';
import { runDemo } from './demos/log-demo.ts';
import { dumpLines } from './demos/dump.ts';
import { InvalidConfigError, RecordTooLargeError } from './log/errors.ts';
import { listSegmentFiles } from './demos/inspect.ts';
import { formatMeasure, runMeasure } from './demos/measure.ts';
import { DEFAULT_LOG_CONFIG, Log, resolveLogConfig, type LogConfig } from './log/log.ts';
import type { RecordInput } from './log/record-batch.ts';
import { Broker } from './server/broker.ts';
import { type BrokerConfig, BROKER_DEFAULTS, BrokerConfigError } from './server/config.ts';
import { DEFAULT_REGISTRY_LIMITS, type RegistryLimits } from './topics/registry.ts';
import { FsStorage } from './seams/storage.ts';
import { runTopicsDemo } from './demos/topics-demo.ts';
import { dumpDataDirLines, isDataDir } from './demos/topics-dump.ts';
import { runWireDemo } from './demos/wire-demo.ts';
import { realSeams } from './seams/real.ts';

/** Where `serve` keeps its log unless told otherwise: outside the repository, kept between runs. */
const DEFAULT_SERVE_DIR = join(tmpdir(), 'commitlog-03-topics');

const USAGE = `Usage: npm run phase 3 -- <command> [options]

A commit log of topics split into partitions, served over TCP (phase 3).

Commands:
  serve [--dir D] [--port P] [--host H] [--auto-create-topics] [--default-partitions N] [limits]
                       run a broker (the default); prints "listening on H:P" once it
                       accepts connections; SIGTERM or SIGINT shuts it down gracefully.
                       Defaults: --dir ${DEFAULT_SERVE_DIR}, --port ${BROKER_DEFAULTS.port}, --host ${BROKER_DEFAULTS.host}
  create-topic --name T --partitions N [--segment-bytes N] [--retention-bytes N] [--port P] [--host H]
                       create topic T with N partitions (and its own segment size and
                       retention, Kafka's segment.bytes and retention.bytes;
                       write --retention-bytes=-1 for unlimited)
  topics [--port P] [--host H]
                       print one line per topic: <topic><TAB><partitions>[<TAB>settings]
  produce --topic T [--key K | --key-separator S] [--partition p] [--port P] [--host H]
          [--linger-ms N] [--batch-bytes N] [--max-in-flight N]
                       send each stdin line as one record (value = line; key K, or the
                       text before the first S in the line, else none); prints
                       <partition><TAB><offset> per line, in input order, once all are acked
  consume --topic T [--partition p] [--from O] [--max M] [--follow] [--port P] [--host H]
                       print records from O (default: the log start offset) of one
                       partition as <offset><TAB><value>, or of every partition as
                       <partition><TAB><offset><TAB><key><TAB><value>; at most M; exits
                       once caught up unless --follow (then runs until SIGINT); offsets
                       are per partition, so --from needs --partition on a topic of several
  demo                 topics, partitions, keys and the sticky partitioner, narrated
  wire-demo            phase 2's demo: producer and consumer, every frame in hex
  log-demo             phase 1's narrated walk-through of the log on disk
  measure [--records N] [--producers N] [--value-bytes N] [--port P]
                       start a broker process (or use the one at --port) and measure
                       keyed throughput over 1-8 partitions, sticky versus round-robin
                       batching, and create-topic latency; prints a table
  append --dir D [--segment-bytes N] [--batch N]
                       append each stdin line as one record (value = line, key null),
                       N lines per batch (default 1); prints each assigned offset;
                       exits 0 only once every record is fsynced
  read --dir D [--from O] [--max M]
                       print records as <offset><TAB><value> lines, starting at O
                       (default: the log start offset), at most M (default: all);
                       opens the log, so recovery repairs a torn tail first
  dump --dir D         print segments, index entries, batches and records, like
                       kafka-dump-log.sh; changes nothing on disk. On a broker's
                       --dir: the topic registry, then every partition

Options:
  --dir D              the log directory, or the broker's data directory (append and serve create it)
  --segment-bytes N    roll to a new segment before the active one exceeds N bytes
                       (default ${DEFAULT_LOG_CONFIG.segmentBytesMax}; at least 61, one batch header)
  --batch N            records per batch, i.e. per write + fsync (default 1)
  --from O             first offset to print
  --max M              most records to print

Topics (serve):
  --auto-create-topics      create a topic the first time it is produced to (off by default)
  --default-partitions N    partitions of an auto-created topic (default ${BROKER_DEFAULTS.defaultPartitions})

Broker limits (serve):
  --max-connections N       connections at most (default ${BROKER_DEFAULTS.maxConnections})
  --max-in-flight N         unanswered requests per connection (default ${BROKER_DEFAULTS.maxInFlightPerConnection})
  --idle-timeout-ms N       close idle connections after N ms (default ${BROKER_DEFAULTS.idleTimeoutMs})
  --frame-bytes-max N       largest request frame (default ${BROKER_DEFAULTS.frameBytesMax})
  --fetch-wait-ms-max N     longest fetch long poll (default ${BROKER_DEFAULTS.fetchWaitMsMax})
  --fetch-bytes-max N       most bytes one fetch reads, whatever the client asks (default ${BROKER_DEFAULTS.fetchBytesMax})
  --shutdown-deadline-ms N  graceful shutdown waits this long for in-flight requests (default ${BROKER_DEFAULTS.shutdownDeadlineMs})
  --topics-max N            topics at most, internal ones included (default ${DEFAULT_REGISTRY_LIMITS.topicsMax})
  --partitions-per-topic-max N  partitions of one topic at most (default ${DEFAULT_REGISTRY_LIMITS.partitionsPerTopicMax})
  --partitions-total-max N  partitions over all topics at most (default ${DEFAULT_REGISTRY_LIMITS.partitionsTotalMax})
  -h, --help           show this help

Exit status: 0 success, 1 runtime error, 2 usage error.`;

/** Bytes asked of `Log.readRecords` per call by `read`; at least one batch comes back regardless. */
const READ_CHUNK_BYTES = 1024 * 1024;
/** `produce` stops reading stdin while the producer holds more than this many unacknowledged bytes. */
const PRODUCE_BUFFER_BYTES_HIGH = 8 * 1024 * 1024;
/** How long `consume --follow` lets the broker hold each fetch. */
const FOLLOW_WAIT_MS = 1000;

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
  // A broker's data directory (it has a topic registry) or one log directory (from `append`).
  const lines = (await isDataDir(storage, dir)) ? dumpDataDirLines(storage, dir) : dumpLines(storage, dir);
  let chunk: string[] = [];
  for await (const line of lines) {
    chunk.push(line);
    if (chunk.length >= DUMP_CHUNK_LINES) {
      await writeOut(`${chunk.join('\n')}\n`);
      chunk = [];
    }
  }
  if (chunk.length > 0) await writeOut(`${chunk.join('\n')}\n`);
}

async function commandLogDemo(args: readonly string[]): Promise<void> {
  const values = parseOptions('log-demo', args, {});
  if (values.help === true) return printUsage();
  await runDemo((line) => process.stdout.write(`${line}\n`));
}

async function commandDemo(args: readonly string[]): Promise<void> {
  const values = parseOptions('demo', args, {});
  if (values.help === true) return printUsage();
  await runTopicsDemo((line) => process.stdout.write(`${line}\n`));
}

async function commandWireDemo(args: readonly string[]): Promise<void> {
  const values = parseOptions('wire-demo', args, {});
  if (values.help === true) return printUsage();
  await runWireDemo((line) => process.stdout.write(`${line}\n`));
}

const BROKER_LIMIT_OPTIONS: Record<string, keyof BrokerConfig> = {
  'max-connections': 'maxConnections',
  'max-in-flight': 'maxInFlightPerConnection',
  'idle-timeout-ms': 'idleTimeoutMs',
  'frame-bytes-max': 'frameBytesMax',
  'fetch-wait-ms-max': 'fetchWaitMsMax',
  'fetch-bytes-max': 'fetchBytesMax',
  'shutdown-deadline-ms': 'shutdownDeadlineMs',
};

/** `serve` options for the topic registry's bounds (topic-registry.ts). */
const TOPIC_LIMIT_OPTIONS: Record<string, keyof RegistryLimits> = {
  'topics-max': 'topicsMax',
  'partitions-per-topic-max': 'partitionsPerTopicMax',
  'partitions-total-max': 'partitionsTotalMax',
};

async function commandServe(args: readonly string[]): Promise<void> {
  const spec: OptionSpec = {
    dir: { type: 'string' },
    port: { type: 'string' },
    host: { type: 'string' },
    'segment-bytes': { type: 'string' },
    'auto-create-topics': { type: 'boolean' },
    'default-partitions': { type: 'string' },
  };
  for (const name of [...Object.keys(BROKER_LIMIT_OPTIONS), ...Object.keys(TOPIC_LIMIT_OPTIONS)]) spec[name] = { type: 'string' };
  const values = parseOptions('serve', args, spec);
  if (values.help === true) return printUsage();
  const config: Partial<BrokerConfig> = {
    dir: typeof values.dir === 'string' && values.dir !== '' ? values.dir : DEFAULT_SERVE_DIR,
    port: integerOption(values, 'port', 0) ?? BROKER_DEFAULTS.port,
    host: typeof values.host === 'string' ? values.host : BROKER_DEFAULTS.host,
    autoCreateTopics: values['auto-create-topics'] === true,
    defaultPartitions: integerOption(values, 'default-partitions', 1) ?? BROKER_DEFAULTS.defaultPartitions,
  };
  for (const [option, key] of Object.entries(BROKER_LIMIT_OPTIONS)) {
    const n = integerOption(values, option, 0);
    if (n !== undefined) Object.assign(config, { [key]: n });
  }
  const topicLimits: Partial<RegistryLimits> = {};
  for (const [option, key] of Object.entries(TOPIC_LIMIT_OPTIONS)) {
    const n = integerOption(values, option, 0);
    if (n !== undefined) topicLimits[key] = n;
  }
  config.topicLimits = topicLimits;
  const segmentBytesMax = integerOption(values, 'segment-bytes', 1);
  if (segmentBytesMax !== undefined) config.log = { segmentBytesMax };

  let broker: Broker;
  try {
    broker = await Broker.start(config, realSeams());
  } catch (e) {
    if (e instanceof InvalidConfigError || e instanceof BrokerConfigError) throw new UsageError(firstLine(e));
    throw new CommandError(`cannot start the broker: ${firstLine(e)}`);
  }
  // Handlers first, then "listening": until Node has a handler, a signal gets the OS's
  // default action and kills us, so a supervisor (or test) that sends SIGINT as soon as
  // it reads the line would otherwise sometimes see a crash instead of a clean stop.
  const signalled = new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGTERM', () => resolve('SIGTERM'));
    process.once('SIGINT', () => resolve('SIGINT'));
  });
  process.stderr.write(`data in ${config.dir}: ${broker.topics().length} topics\n`);
  process.stdout.write(`listening on ${broker.host}:${broker.port}\n`);
  const signal = await signalled;
  // A second signal while shutting down means "now": exit without waiting for the deadline.
  const forceExit = (): never => process.exit(1);
  process.once('SIGTERM', forceExit);
  process.once('SIGINT', forceExit);
  process.stderr.write(`${signal}: shutting down (stop accepting, finish in-flight requests, close the log)\n`);
  await broker.close();
  process.stderr.write('broker stopped cleanly\n');
}

function clientAddress(values: Record<string, string | boolean | undefined>): { host: string; port: number } {
  return {
    host: typeof values.host === 'string' ? values.host : BROKER_DEFAULTS.host,
    port: integerOption(values, 'port', 1) ?? BROKER_DEFAULTS.port,
  };
}

async function commandProduce(args: readonly string[]): Promise<void> {
  const values = parseOptions('produce', args, {
    port: { type: 'string' },
    host: { type: 'string' },
    topic: { type: 'string' },
    key: { type: 'string' },
    'key-separator': { type: 'string' },
    partition: { type: 'string' },
    'linger-ms': { type: 'string' },
    'batch-bytes': { type: 'string' },
    'max-in-flight': { type: 'string' },
  });
  if (values.help === true) return printUsage();
  const topic = requireTopic(values, 'produce');
  const fixedKey = typeof values.key === 'string' ? values.key : null;
  const separator = typeof values['key-separator'] === 'string' ? values['key-separator'] : null;
  if (fixedKey !== null && separator !== null) throw new UsageError('produce takes --key or --key-separator, not both');
  if (separator === '') throw new UsageError('--key-separator must not be empty');
  const partition = integerOption(values, 'partition', 0);
  const producer = new Producer({ ...realSeams(),
    ...clientAddress(values),
    lingerMs: integerOption(values, 'linger-ms', 0),
    batchBytesMax: integerOption(values, 'batch-bytes', 1),
    maxInFlight: integerOption(values, 'max-in-flight', 1),
    clientId: 'cli-produce',
  });
  await producer.connect();
  const startedMs = realClock.now();
  const lines = createInterface({ input: process.stdin, crlfDelay: Infinity });
  const sends: Promise<RecordMetadata[]>[] = [];
  let oldestUnawaited = 0;
  try {
    for await (const line of lines) {
      const cut = separator === null ? -1 : line.indexOf(separator);
      const key = cut >= 0 && separator !== null ? line.slice(0, cut) : fixedKey;
      const value = cut >= 0 && separator !== null ? line.slice(cut + separator.length) : line;
      const sent = producer.send({ topic, messages: [{ key, value, ...(partition === undefined ? {} : { partition }) }] });
      sent.catch(() => undefined); // reported below, in input order
      sends.push(sent);
      // Backpressure: stop reading stdin while too much is unacknowledged.
      while (producer.bufferedBytes > PRODUCE_BUFFER_BYTES_HIGH && oldestUnawaited < sends.length) {
        await sends[oldestUnawaited++]?.catch(() => undefined);
      }
    }
    await producer.flush();
  } finally {
    lines.close();
    await producer.disconnect();
  }
  const results = await Promise.allSettled(sends);
  const failed = results.filter((r) => r.status === 'rejected');
  if (failed.length > 0) {
    throw new CommandError(`${failed.length} of ${results.length} records were not acknowledged: ${firstLine(failed[0]?.reason)}`);
  }
  const elapsedMs = Math.max(1, realClock.now() - startedMs);
  const out: string[] = [];
  for (const r of results) if (r.status === 'fulfilled') out.push(`${r.value[0]?.partition}\t${r.value[0]?.offset}`);
  if (out.length > 0) await writeOut(`${out.join('\n')}\n`);
  process.stderr.write(
    `${out.length} record${out.length === 1 ? '' : 's'} acknowledged in ${producer.requestsSent} produce request${producer.requestsSent === 1 ? '' : 's'}, ` +
      `${elapsedMs} ms from connect (${Math.round((out.length * 1000) / elapsedMs)} records/s)\n`,
  );
}

async function commandConsume(args: readonly string[]): Promise<void> {
  const values = parseOptions('consume', args, {
    port: { type: 'string' },
    host: { type: 'string' },
    topic: { type: 'string' },
    partition: { type: 'string' },
    from: { type: 'string' },
    max: { type: 'string' },
    follow: { type: 'boolean' },
  });
  if (values.help === true) return printUsage();
  const follow = values.follow === true;
  let remaining = integerOption(values, 'max', 0) ?? Number.POSITIVE_INFINITY;
  const consumer = new Consumer({ ...realSeams(),
    ...clientAddress(values),
    topic: requireTopic(values, 'consume'),
    partition: integerOption(values, 'partition', 0),
    fromOffset: integerOption(values, 'from', 0),
    maxWaitMs: follow ? FOLLOW_WAIT_MS : 0,
    clientId: 'cli-consume',
  });
  await consumer.connect();
  // One partition reads like phase 2's single log; several need the partition and key.
  const several = consumer.partitions.length > 1;
  if (several && values.from !== undefined) {
    await consumer.disconnect();
    throw new UsageError(`--from needs --partition: offsets are per partition, and ${String(values.topic)} has ${consumer.partitions.length}`);
  }
  let stopping = false;
  const stop = (): void => {
    stopping = true;
    void consumer.disconnect();
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  try {
    while (remaining > 0 && !stopping) {
      let records;
      try {
        records = await consumer.poll();
      } catch (e) {
        if (stopping) break;
        throw e;
      }
      const out: string[] = [];
      for (const r of records) {
        if (remaining === 0) break;
        const value = r.value === null ? 'null' : r.value.toString('utf8');
        out.push(several ? `${r.partition}\t${r.offset}\t${r.key === null ? 'null' : r.key.toString('utf8')}\t${value}` : `${r.offset}\t${value}`);
        remaining--;
      }
      if (out.length > 0) await writeOut(`${out.join('\n')}\n`);
      if (!follow && consumer.caughtUp) break;
    }
  } finally {
    await consumer.disconnect();
  }
}

async function commandCreateTopic(args: readonly string[]): Promise<void> {
  const values = parseOptions('create-topic', args, {
    port: { type: 'string' },
    host: { type: 'string' },
    name: { type: 'string' },
    partitions: { type: 'string' },
    'segment-bytes': { type: 'string' },
    'retention-bytes': { type: 'string' },
  });
  if (values.help === true) return printUsage();
  const name = values.name;
  if (typeof name !== 'string') throw new UsageError('create-topic needs --name <topic>');
  const numPartitions = integerOption(values, 'partitions', 1);
  if (numPartitions === undefined) throw new UsageError('create-topic needs --partitions <count>');
  const segmentBytesMax = integerOption(values, 'segment-bytes', 1);
  const retentionText = values['retention-bytes'];
  // -1 (unlimited) is a legal retention, so this one option takes a sign.
  let retentionBytesMax: number | undefined;
  if (typeof retentionText === 'string') {
    retentionBytesMax = Number(retentionText);
    if (!/^-?\d+$/.test(retentionText) || !Number.isSafeInteger(retentionBytesMax) || retentionBytesMax < -1) {
      throw new UsageError(`--retention-bytes must be -1 (unlimited) or an integer >= 0, got '${retentionText}'`);
    }
  }
  const admin = new Admin({ ...realSeams(), ...clientAddress(values), clientId: 'cli-create-topic' });
  await admin.connect();
  try {
    await admin.createTopic({ topic: name, numPartitions, segmentBytesMax, retentionBytesMax });
  } finally {
    await admin.disconnect();
  }
  process.stderr.write(`created topic ${name} with ${numPartitions} partition${numPartitions === 1 ? '' : 's'}\n`);
}

async function commandTopics(args: readonly string[]): Promise<void> {
  const values = parseOptions('topics', args, { port: { type: 'string' }, host: { type: 'string' } });
  if (values.help === true) return printUsage();
  const admin = new Admin({ ...realSeams(), ...clientAddress(values), clientId: 'cli-topics' });
  await admin.connect();
  try {
    const topics = await admin.listTopics();
    const out = topics.map((t) => {
      const settings = t.configs.map((c) => `${c.name}=${c.value ?? 'default'}`).join(',');
      return `${t.topic}\t${t.partitions}${settings === '' ? '' : `\t${settings}`}`;
    });
    if (out.length > 0) await writeOut(`${out.join('\n')}\n`);
  } finally {
    await admin.disconnect();
  }
}

function requireTopic(values: Record<string, string | boolean | undefined>, command: string): string {
  const topic = values.topic;
  if (typeof topic !== 'string' || topic === '') throw new UsageError(`${command} needs --topic <topic>`);
  return topic;
}

async function commandMeasure(args: readonly string[]): Promise<void> {
  const values = parseOptions('measure', args, {
    records: { type: 'string' },
    producers: { type: 'string' },
    'value-bytes': { type: 'string' },
    port: { type: 'string' },
    host: { type: 'string' },
  });
  if (values.help === true) return printUsage();
  const records = integerOption(values, 'records', 1) ?? 20_000;
  const producers = integerOption(values, 'producers', 1) ?? 8;
  const valueBytes = integerOption(values, 'value-bytes', 0) ?? 100;
  const host = typeof values.host === 'string' ? values.host : BROKER_DEFAULTS.host;
  let port = integerOption(values, 'port', 1);
  let dir: string | null = null;
  let child: ReturnType<typeof spawn> | null = null;
  try {
    if (port === undefined) {
      // The broker in its own process, as a learner runs it: this file's `serve` command.
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
    ['serve', commandServe],
    ['produce', commandProduce],
    ['consume', commandConsume],
    ['create-topic', commandCreateTopic],
    ['topics', commandTopics],
    ['demo', commandDemo],
    ['wire-demo', commandWireDemo],
    ['measure', commandMeasure],
    ['log-demo', commandLogDemo],
    ['append', commandAppend],
    ['read', commandRead],
    ['dump', commandDump],
  ]);
  try {
    if (first === undefined) await commandServe([]);
    else if (first === '--help' || first === '-h' || first === 'help') printUsage();
    else if (first.startsWith('-')) await commandServe(argv);
    else {
      const command = commands.get(first);
      if (command === undefined) {
        throw new UsageError(`unknown command '${first}' (commands: ${[...commands.keys()].join(', ')}; see --help)`);
      }
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
