/**
 * `measure`: the numbers quoted in this phase's writeup, measured in the run that prints
 * them. A broker runs in its own process (the `serve` command, spawned by main.ts) with
 * its data in a temporary directory; producers in this process talk to it over TCP on
 * loopback, and every record is acknowledged only after fsync (one fsync per Produce
 * request, as in phases 2 and 3). Three experiments:
 *
 * 1. keyed records over 1, 2, 4 and 8 partitions: throughput and records per request;
 * 2. keyless records over 4 partitions, sticky (KIP-480) versus round robin, with
 *    lingerMs 0 and 5: records per request (batch) and throughput;
 * 3. CreateTopics latency: the registry's atomic update (temp file, fsync, rename,
 *    directory fsync) plus the new partition directory.
 *
 * Results are rows of plain text for stdout; what is being run goes to `say` (stderr).
 * Time comes from the Clock seam (milliseconds), so short runs are coarse: keep `records`
 * in the thousands.
 */
import { Admin } from '../client/admin.ts';
import { Producer } from '../client/producer.ts';
import { realClock } from '../seams/clock.ts';
import { realSeams } from '../seams/real.ts';

/** What to run. */
export interface MeasureOptions {
  host?: string;
  port: number;
  /** Records per experiment row. */
  records: number;
  /** Concurrent producer clients (each its own connection). */
  producers: number;
  /** Value bytes per record. */
  valueBytes: number;
  /** Narration (what is running now). */
  say: (line: string) => void;
}

/** One measured configuration. */
export interface MeasureRow {
  experiment: string;
  partitions: number;
  partitioner: string;
  lingerMs: number;
  records: number;
  requests: number;
  elapsedMs: number;
}

/** Sends each producer keeps outstanding (a closed loop per producer). */
const WINDOW_SENDS = 32;

/**
 * Run the experiments against a broker at `host:port`; resolves with every row.
 * @example
 * const rows = await runMeasure({ port: 9092, records: 20_000, producers: 8, valueBytes: 100, say: console.error });
 */
export async function runMeasure(opts: MeasureOptions): Promise<{ rows: MeasureRow[]; createTopicMs: number[] }> {
  const admin = new Admin({ ...realSeams(), host: opts.host, port: opts.port, clientId: 'measure' });
  await admin.connect();
  const rows: MeasureRow[] = [];
  let topicNumber = 0;
  const freshTopic = async (partitions: number): Promise<string> => {
    const topic = `measure-${topicNumber++}`;
    await admin.createTopic({ topic, numPartitions: partitions });
    return topic;
  };
  try {
    for (const partitions of [1, 2, 4, 8]) {
      opts.say(`keyed records, ${partitions} partition(s) ...`);
      const topic = await freshTopic(partitions);
      rows.push(await produceRun(opts, { experiment: 'keyed', topic, partitions, keyed: true, partitioner: 'sticky', lingerMs: 0 }));
    }
    for (const lingerMs of [0, 5]) {
      for (const partitioner of ['sticky', 'round-robin'] as const) {
        opts.say(`keyless records, 4 partitions, ${partitioner}, lingerMs ${lingerMs} ...`);
        const topic = await freshTopic(4);
        rows.push(await produceRun(opts, { experiment: 'keyless', topic, partitions: 4, keyed: false, partitioner, lingerMs }));
      }
    }
    opts.say('CreateTopics, 20 topics of 1 partition, one at a time ...');
    const createTopicMs: number[] = [];
    for (let i = 0; i < 20; i++) {
      const startedMs = realClock.now();
      await freshTopic(1);
      createTopicMs.push(realClock.now() - startedMs);
    }
    return { rows, createTopicMs };
  } finally {
    await admin.disconnect();
  }
}

interface RunSpec {
  experiment: string;
  topic: string;
  partitions: number;
  keyed: boolean;
  partitioner: 'sticky' | 'round-robin';
  lingerMs: number;
}

async function produceRun(opts: MeasureOptions, spec: RunSpec): Promise<MeasureRow> {
  const producers = await Promise.all(
    Array.from({ length: opts.producers }, async (_, i) => {
      const p = new Producer({ ...realSeams(), host: opts.host, port: opts.port, clientId: `measure-${i}`, lingerMs: spec.lingerMs, keylessPartitioner: spec.partitioner });
      await p.connect();
      // Metadata first, so the clock measures produce traffic only.
      await p.topicMetadata(spec.topic);
      return p;
    }),
  );
  const value = Buffer.alloc(opts.valueBytes, 'x');
  const perProducer = Math.ceil(opts.records / opts.producers);
  const startedMs = realClock.now();
  await Promise.all(
    producers.map(async (p, i) => {
      let next = 0;
      const lane = async (): Promise<void> => {
        while (next < perProducer) {
          const n = next++;
          await p.send({ topic: spec.topic, messages: [{ key: spec.keyed ? `key-${i}-${n % 1000}` : null, value }] });
        }
      };
      await Promise.all(Array.from({ length: WINDOW_SENDS }, lane));
    }),
  );
  const elapsedMs = Math.max(1, realClock.now() - startedMs);
  const requests = producers.reduce((sum, p) => sum + p.requestsSent, 0);
  await Promise.all(producers.map((p) => p.disconnect()));
  return {
    experiment: spec.experiment,
    partitions: spec.partitions,
    partitioner: spec.keyed ? 'murmur2' : spec.partitioner,
    lingerMs: spec.lingerMs,
    records: perProducer * opts.producers,
    requests,
    elapsedMs,
  };
}

/** The rows as an aligned table, one line each, with derived rates. */
export function formatMeasure(rows: readonly MeasureRow[], createTopicMs: readonly number[]): string[] {
  const lines = ['experiment  partitions  partitioner  lingerMs  records  requests  records/request  records/s  elapsedMs'];
  for (const r of rows) {
    lines.push(
      [
        r.experiment.padEnd(10),
        String(r.partitions).padStart(10),
        r.partitioner.padStart(11),
        String(r.lingerMs).padStart(8),
        String(r.records).padStart(7),
        String(r.requests).padStart(8),
        (r.records / r.requests).toFixed(1).padStart(15),
        String(Math.round((r.records * 1000) / r.elapsedMs)).padStart(9),
        String(r.elapsedMs).padStart(9),
      ].join('  '),
    );
  }
  const sorted = [...createTopicMs].sort((a, b) => a - b);
  const median = sorted[Math.floor(sorted.length / 2)] ?? 0;
  lines.push(`create-topic (1 partition): median ${median} ms, max ${sorted[sorted.length - 1] ?? 0} ms over ${sorted.length} topics`);
  return lines;
}
