/**
 * Consume mode: fill a broker's log with `records` records (in large batches, so the
 * fill is quick), then time one consumer reading from offset 0 until it has caught up
 * with everything filled. Reported: records/s and MB/s of values read, fetch
 * requests/s, per-fetch latency, and the broker's CPU time during the catch-up.
 */
import type { BenchProducer, TargetAdapter } from './adapters/types.ts';
import { createLatencyHistogram, latencySummaryMs, percentileCurveMs, recordUs } from './histogram.ts';
import { now } from './load.ts';
import { round, type RunContext } from './served.ts';
import { runSchema, type RunObject } from './run-object.ts';

/** Consume workload. */
export interface ConsumeWorkload {
  records: number;
  recordBytes: number;
  /** Records per produce request while filling. */
  fillBatchRecords: number;
}

/** Fill through `adapter`'s producers, then time a consumer catching up. */
export async function runConsume(
  adapter: TargetAdapter,
  broker: { port: number; cpuTimeMs(): number },
  w: ConsumeWorkload,
  ctx: RunContext,
): Promise<RunObject> {
  if (!adapter.createConsumer) throw new Error(`${adapter.label} has no consumer adapter`);
  const startedAt = new Date().toISOString();
  const producers: BenchProducer[] = await Promise.all(Array.from({ length: 4 }, () => adapter.createProducer(broker.port)));
  const value = Buffer.alloc(w.recordBytes, 0x61);
  let filled = 0;
  let nextBatch = 0;
  const batches = Math.ceil(w.records / w.fillBatchRecords);
  await Promise.all(producers.map(async (p) => {
    for (let b = nextBatch++; b < batches; b = nextBatch++) {
      const n = Math.min(w.fillBatchRecords, w.records - b * w.fillBatchRecords);
      await p.send(Array.from({ length: n }, () => value));
      filled += n;
      ctx.progress.update(`[${adapter.label}] filling: ${filled}/${w.records} records`);
    }
  }));
  await Promise.all(producers.map((p) => p.close()));
  ctx.progress.end();

  const consumer = await adapter.createConsumer(broker.port);
  const histogram = createLatencyHistogram();
  let offset = 0;
  let records = 0;
  let valueBytes = 0;
  let fetches = 0;
  let emptyFetches = 0;
  const cpu0 = broker.cpuTimeMs();
  const t0 = now();
  while (records < w.records && emptyFetches < 100) {
    const sentMs = now();
    const got = await consumer.fetch(offset);
    recordUs(histogram, (now() - sentMs) * 1000);
    fetches++;
    if (got.records === 0) emptyFetches++;
    records += got.records;
    valueBytes += got.valueBytes;
    offset = got.nextOffset;
    if (fetches % 50 === 0) ctx.progress.update(`[${adapter.label}] consuming: ${records}/${w.records} records`);
  }
  const elapsedSec = (now() - t0) / 1000;
  const cpu1 = broker.cpuTimeMs();
  ctx.progress.end();
  await consumer.close();
  const brokerCpuMs = Number.isFinite(cpu0) && Number.isFinite(cpu1) ? Math.round(cpu1 - cpu0) : null;
  const notes = [`consumer caught up on ${records} records in ${round(elapsedSec, 3)} s; latency is per fetch request`];
  if (records < w.records) notes.push(`stopped after 100 empty fetches with ${records}/${w.records} records`);
  return {
    schema: runSchema, kind: 'run', label: `${adapter.label} consumer`, target: adapter.key, phase: adapter.phase, mode: 'consume', startedAt,
    recordsPerSec: round(records / elapsedSec), requestsPerSec: round(fetches / elapsedSec), mbPerSec: round(valueBytes / 1e6 / elapsedSec, 3),
    records, requests: fetches, valueBytes, errors: 0, timedOut: 0, firstError: null,
    latencyMs: latencySummaryMs(histogram), latencyCurveMs: percentileCurveMs(histogram),
    brokerCpuMs, brokerCpuCores: brokerCpuMs === null ? null : round(brokerCpuMs / (elapsedSec * 1000), 3), loadgenCpuMs: null,
    generatorLagMs: { p99: null, max: null },
    workload: {
      producers: 1, recordBytes: w.recordBytes, recordsPerSend: w.fillBatchRecords, warmupSec: 0, durationSec: round(elapsedSec, 3),
      workers: 0, loop: 'closed', targetRatePerSec: null,
      transport: 'TCP 127.0.0.1; broker in its own process; one consumer in the main thread', ack: 'n/a (reads)',
    },
    machine: ctx.machine, command: ctx.command, notes,
  };
}
