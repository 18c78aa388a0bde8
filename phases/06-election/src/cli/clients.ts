/**
 * The commands that talk to a broker as a client, over the Transport seam main.ts
 * hands in:
 *
 *   produce   each stdin line becomes one record sent to a topic; prints `<partition>\t<offset>`
 *   consume   prints the records of one partition or of every partition of a topic
 *
 * Both find the broker at `--host` and `--port` (default: where `serve` listens), or,
 * since phase 5, a cluster at `--bootstrap-server H:P[,H:P…]` (Kafka's flag); so do the
 * other client commands, with `clientServers`.
 */
import { createInterface } from 'node:readline';
import type { ServerAddress } from '../client/connection.ts';
import { type ConsumedRecord, Consumer } from '../client/consumer.ts';
import { kafkaErrorName } from '../client/errors.ts';
import { Producer, type RecordMetadata } from '../client/producer.ts';
import { BROKER_DEFAULTS } from '../server/config.ts';
import type { Seams } from '../seams/real.ts';
import { type Command, CommandError, type OptionSpec, type OptionValues, announcePid, UsageError, firstLine, integerOption, writeOut } from './options.ts';

/** `produce` stops reading stdin while the producer holds more than this many unacknowledged bytes. */
const PRODUCE_BUFFER_BYTES_HIGH = 8 * 1024 * 1024;
/** How long `consume --follow` lets the broker hold each fetch. */
const FOLLOW_WAIT_MS = 1000;
/** `produce`'s default delivery timeout (Kafka's `delivery.timeout.ms`). */
const DELIVERY_TIMEOUT_MS_DEFAULT = 120_000;
/** `produce`'s request timeout, unless the delivery timeout is shorter. */
const REQUEST_TIMEOUT_MS = 30_000;

/** The options every client command takes to find the broker or the cluster. */
export const SERVER_OPTIONS: OptionSpec = {
  port: { type: 'string' },
  host: { type: 'string' },
  'bootstrap-server': { type: 'string' },
};

/** Where a client command finds the brokers: the `ClientOptions` fields it sets. */
export interface ClientServers {
  host?: string;
  port?: number;
  bootstrapServers?: ServerAddress[];
}

/**
 * Parse `--bootstrap-server`'s value: `H:P[,H:P…]`, each a non-empty host (an IPv6
 * address in brackets, `[::1]:9092`) and a port in [1, 65535].
 * @throws UsageError naming the first bad entry
 * @example parseBootstrapServers('127.0.0.1:19092,127.0.0.1:19093') // two addresses
 */
export function parseBootstrapServers(text: string): ServerAddress[] {
  const servers: ServerAddress[] = [];
  for (const entry of text.split(',')) {
    const m = /^(\[[^\]]+\]|[^:[\]\s]+):(\d+)$/.exec(entry);
    const port = Number(m?.[2]);
    if (m === null || !Number.isSafeInteger(port) || port < 1 || port > 65_535) {
      throw new UsageError(`--bootstrap-server takes H:P[,H:P...] with ports in [1, 65535], got '${entry}'${text === entry ? '' : ` in '${text}'`}`);
    }
    const host = (m[1] ?? '').replace(/^\[(.*)\]$/, '$1');
    servers.push({ host, port });
  }
  return servers;
}

/**
 * Where a client command finds the brokers: `--bootstrap-server`, or `--host` and
 * `--port`, by default where `serve` listens. Both at once is a usage error.
 */
export function clientServers(values: OptionValues): ClientServers {
  const bootstrap = values['bootstrap-server'];
  if (typeof bootstrap === 'string') {
    if (values.port !== undefined || values.host !== undefined) throw new UsageError('--bootstrap-server replaces --host and --port; give one or the other');
    return { bootstrapServers: parseBootstrapServers(bootstrap) };
  }
  return {
    host: typeof values.host === 'string' ? values.host : BROKER_DEFAULTS.host,
    port: integerOption(values, 'port', 1) ?? BROKER_DEFAULTS.port,
  };
}

/** An error's first line led by Kafka's name for it, where it has one (`NOT_ENOUGH_REPLICAS: …`). */
export function describeFailure(err: unknown): string {
  const line = firstLine(err);
  const name = kafkaErrorName(err);
  return name === null || line.startsWith(name) ? line : `${name}: ${line}`;
}

/** Parse `--acks`: all or -1 (the default, as Kafka 3), or 1. */
export function acksOption(values: OptionValues): -1 | 1 {
  const text = values.acks;
  if (text === undefined || text === 'all' || text === '-1') return -1;
  if (text === '1') return 1;
  throw new UsageError(`--acks must be all, -1 or 1, got '${String(text)}'`);
}

/** The `--topic` option, which `command` cannot do without: missing or empty is a usage error. */
export function requireTopic(values: OptionValues, command: string): string {
  const topic = values.topic;
  if (typeof topic !== 'string' || topic === '') throw new UsageError(`${command} needs --topic <topic>`);
  return topic;
}

/** The two commands `clientCommands` makes. */
export interface ClientCommands {
  readonly produce: Command;
  readonly consume: Command;
}

/**
 * `produce` and `consume`, reaching the broker through `seams`.
 * @example
 * const { produce, consume } = clientCommands(realSeams());
 */
export function clientCommands(seams: Seams): ClientCommands {
  const produce: Command = {
    name: 'produce',
    usage: `  produce --topic T [--key K | --key-separator S] [--partition p] [--port P] [--host H]
          [--bootstrap-server H:P,...] [--acks all|1] [--delivery-timeout-ms N]
          [--linger-ms N] [--batch-bytes N] [--max-in-flight N]
                       send each stdin line as one record (value = line; key K, or the
                       text before the first S in the line, else none); prints
                       <partition><TAB><offset> per line, in input order, once all are acked.
                       Each goes to its partition's leader; --acks all (default): acked
                       once every in-sync replica has it, 1: after the leader's fsync. A
                       record not acked within the delivery timeout (default ${DELIVERY_TIMEOUT_MS_DEFAULT} ms,
                       retries included) fails: exit 1 with the Kafka error`,
    options: {
      ...SERVER_OPTIONS,
      acks: { type: 'string' },
      'delivery-timeout-ms': { type: 'string' },
      topic: { type: 'string' },
      key: { type: 'string' },
      'key-separator': { type: 'string' },
      partition: { type: 'string' },
      'linger-ms': { type: 'string' },
      'batch-bytes': { type: 'string' },
      'max-in-flight': { type: 'string' },
    },
    async run(values) {
      const topic = requireTopic(values, 'produce');
      const fixedKey = typeof values.key === 'string' ? values.key : null;
      const separator = typeof values['key-separator'] === 'string' ? values['key-separator'] : null;
      if (fixedKey !== null && separator !== null) throw new UsageError('produce takes --key or --key-separator, not both');
      if (separator === '') throw new UsageError('--key-separator must not be empty');
      const partition = integerOption(values, 'partition', 0);
      const acks = acksOption(values);
      const deliveryTimeoutMs = integerOption(values, 'delivery-timeout-ms', 1) ?? DELIVERY_TIMEOUT_MS_DEFAULT;
      const producer = new Producer({
        ...seams,
        ...clientServers(values),
        acks,
        deliveryTimeoutMs,
        // Connecting, too, gives up within the delivery timeout.
        requestTimeoutMs: Math.min(REQUEST_TIMEOUT_MS, deliveryTimeoutMs),
        lingerMs: integerOption(values, 'linger-ms', 0),
        batchBytesMax: integerOption(values, 'batch-bytes', 1),
        maxInFlight: integerOption(values, 'max-in-flight', 1),
        clientId: 'cli-produce',
      });
      await producer.connect();
      const startedMs = seams.clock.now();
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
        throw new CommandError(`${describeFailure(failed[0]?.reason)} (${failed.length} of ${results.length} records not acknowledged)`);
      }
      const elapsedMs = Math.max(1, seams.clock.now() - startedMs);
      const out: string[] = [];
      for (const r of results) if (r.status === 'fulfilled') out.push(`${r.value[0]?.partition}\t${r.value[0]?.offset}`);
      if (out.length > 0) await writeOut(`${out.join('\n')}\n`);
      process.stderr.write(
        `${out.length} record${out.length === 1 ? '' : 's'} acknowledged in ${producer.requestsSent} produce request${producer.requestsSent === 1 ? '' : 's'}, ` +
          `${elapsedMs} ms from connect (${Math.round((out.length * 1000) / elapsedMs)} records/s)\n`,
      );
    },
  };

  const consume: Command = {
    name: 'consume',
    usage: `  consume --topic T [--partition p] [--from O] [--max M] [--follow] [--port P] [--host H]
          [--bootstrap-server H:P,...]
                       print records from O (default: the log start offset) of one
                       partition as <offset><TAB><value>, or of every partition as
                       <partition><TAB><offset><TAB><key><TAB><value>; at most M; exits
                       once caught up unless --follow (then runs until SIGINT); offsets
                       are per partition, so --from needs --partition on a topic of several`,
    options: {
      ...SERVER_OPTIONS,
      topic: { type: 'string' },
      partition: { type: 'string' },
      from: { type: 'string' },
      max: { type: 'string' },
      follow: { type: 'boolean' },
    },
    async run(values) {
      const follow = values.follow === true;
      let remaining = integerOption(values, 'max', 0) ?? Number.POSITIVE_INFINITY;
      const consumer = new Consumer({
        ...seams,
        ...clientServers(values),
        topic: requireTopic(values, 'consume'),
        partition: integerOption(values, 'partition', 0),
        fromOffset: integerOption(values, 'from', 0),
        maxWaitMs: follow ? FOLLOW_WAIT_MS : 0,
        clientId: 'cli-consume',
      });
      await consumer.connect();
      if (follow) announcePid(); // it runs until stopped: say which process to stop
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
          let records: ConsumedRecord[];
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
    },
  };

  return { produce, consume };
}
