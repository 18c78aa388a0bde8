/**
 * The commands that talk to a broker as a client, over the Transport seam main.ts
 * hands in:
 *
 *   produce   each stdin line becomes one record sent to the broker; prints the offsets
 *   consume   prints `<offset>\t<value>` lines fetched from the broker
 *
 * Both find the broker at `--host` and `--port` (default: where `serve` listens).
 */
import { createInterface } from 'node:readline';
import { Consumer, type FetchResult } from '../client/consumer.ts';
import { Producer, type RecordMetadata } from '../client/producer.ts';
import { BROKER_DEFAULTS } from '../server/config.ts';
import type { Seams } from '../seams/real.ts';
import { type Command, CommandError, type OptionValues, announcePid, firstLine, integerOption, writeOut } from './options.ts';

/** `produce` stops reading stdin while the producer holds more than this many unacknowledged bytes. */
const PRODUCE_BUFFER_BYTES_HIGH = 8 * 1024 * 1024;
/** How long `consume --follow` lets the broker hold each fetch. */
const FOLLOW_WAIT_MS = 1000;

function clientAddress(values: OptionValues): { host: string; port: number } {
  return {
    host: typeof values.host === 'string' ? values.host : BROKER_DEFAULTS.host,
    port: integerOption(values, 'port', 1) ?? BROKER_DEFAULTS.port,
  };
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
    usage: `  produce [--port P] [--host H] [--linger-ms N] [--batch-bytes N] [--max-in-flight N]
                       send each stdin line as one record (value = line, key null);
                       prints each line's offset, in input order, once all are acked`,
    options: {
      port: { type: 'string' },
      host: { type: 'string' },
      'linger-ms': { type: 'string' },
      'batch-bytes': { type: 'string' },
      'max-in-flight': { type: 'string' },
    },
    async run(values) {
      const producer = new Producer({
        ...seams,
        ...clientAddress(values),
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
          const sent = producer.send({ messages: [{ key: null, value: line }] });
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
      const elapsedMs = Math.max(1, seams.clock.now() - startedMs);
      const out: string[] = [];
      for (const r of results) if (r.status === 'fulfilled') out.push(String(r.value[0]?.offset));
      if (out.length > 0) await writeOut(`${out.join('\n')}\n`);
      process.stderr.write(
        `${out.length} record${out.length === 1 ? '' : 's'} acknowledged in ${producer.requestsSent} produce request${producer.requestsSent === 1 ? '' : 's'}, ` +
          `${elapsedMs} ms from connect (${Math.round((out.length * 1000) / elapsedMs)} records/s)\n`,
      );
    },
  };

  const consume: Command = {
    name: 'consume',
    usage: `  consume [--port P] [--host H] [--from O] [--max M] [--follow]
                       print records as <offset><TAB><value> lines from O (default:
                       the log start offset), at most M; exits once caught up unless
                       --follow (then runs until SIGINT)`,
    options: {
      port: { type: 'string' },
      host: { type: 'string' },
      from: { type: 'string' },
      max: { type: 'string' },
      follow: { type: 'boolean' },
    },
    async run(values) {
      const follow = values.follow === true;
      let remaining = integerOption(values, 'max', 0) ?? Number.POSITIVE_INFINITY;
      const consumer = new Consumer({
        ...seams,
        ...clientAddress(values),
        fromOffset: integerOption(values, 'from', 0),
        maxWaitMs: follow ? FOLLOW_WAIT_MS : 0,
        clientId: 'cli-consume',
      });
      await consumer.connect();
      if (follow) announcePid(); // it runs until stopped: say which process to stop
      let stopping = false;
      const stop = (): void => {
        stopping = true;
        void consumer.disconnect();
      };
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
      try {
        let offset = consumer.position;
        while (remaining > 0 && !stopping) {
          let result: FetchResult;
          try {
            result = await consumer.fetchResult(offset);
          } catch (e) {
            if (stopping) break;
            throw e;
          }
          const out: string[] = [];
          for (const r of result.records) {
            if (remaining === 0) break;
            out.push(`${r.offset}\t${r.value === null ? 'null' : r.value.toString('utf8')}`);
            remaining--;
          }
          if (out.length > 0) await writeOut(`${out.join('\n')}\n`);
          offset = result.nextOffset;
          if (!follow && offset >= result.highWatermark) break;
        }
      } finally {
        await consumer.disconnect();
      }
    },
  };

  return { produce, consume };
}
