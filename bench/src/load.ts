/**
 * The load loops one worker thread runs over its share of the producers.
 *
 * Closed loop (the default): each producer sends one request, awaits its ack, and
 * sends the next, so the offered load adapts to the target. Counted: acks that
 * arrive inside the measured window [startMs + warmupMs, startMs + warmupMs + durationMs);
 * latency is send-to-ack of those requests.
 *
 * Open loop (`--rate R`): requests go out on the Pacer's schedule whether or not
 * earlier ones were acknowledged (round-robin over the worker's producers). Counted:
 * every request whose intended time falls in the measured window, with latency from
 * its intended time to its ack, however late that ack comes (until a drain deadline;
 * requests still unacknowledged then are counted as timed out and charged the time
 * waited so far). Throughput is acks that arrived inside the window.
 *
 * Times are absolute milliseconds from `now()` (performance.timeOrigin + performance.now()),
 * comparable across worker threads.
 */
import { setImmediate as yieldToIo, setTimeout as sleep } from 'node:timers/promises';
import type { RecordableHistogram } from 'node:perf_hooks';
import type { BenchProducer } from './adapters/types.ts';
import { createLatencyHistogram, recordUs } from './histogram.ts';
import { Pacer } from './pacing.ts';

/** Absolute wall-clock time in ms with sub-ms precision, comparable across threads. */
export function now(): number {
  return performance.timeOrigin + performance.now();
}

/** One worker's instructions. */
export interface LoadPlan {
  readonly startMs: number;
  readonly warmupMs: number;
  readonly durationMs: number;
  readonly recordBytes: number;
  readonly recordsPerSend: number;
  /** Aggregate open-loop rate of the whole run (requests/s); null = closed loop. */
  readonly ratePerSec: number | null;
  /** This worker's slot in the global open-loop schedule. */
  readonly slot: number;
  readonly slots: number;
  /** After the window closes, wait at most this long for outstanding acks. */
  readonly drainMs: number;
  /** Open loop: at most this many requests outstanding in this worker (then it waits; latency still counts from the intended time). */
  readonly outstandingMax: number;
}

/** What one worker measured. */
export interface LoadCounts {
  /** Records acknowledged inside the window. */
  records: number;
  requests: number;
  valueBytes: number;
  errors: number;
  timedOut: number;
  firstError: string | null;
}

/** A worker's full result (histograms in µs). */
export interface LoadResult extends LoadCounts {
  histogram: RecordableHistogram;
  /**
   * Open loop: how late each measured send left the generator relative to its intended
   * time (timer granularity, a busy event loop, the thread descheduled by a loaded
   * machine). This lateness is part of the measured latency; reported beside it so a
   * reader can tell the generator's stalls from the target's. Empty in closed loop.
   */
  lagHistogram: RecordableHistogram;
}

/** Await `p` for at most `ms`; true if it settled in time. The timer is cleared either way. */
async function withDeadline(p: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((r) => (timer = setTimeout(() => r(false), Math.max(1, ms))));
  try {
    return await Promise.race([p.then(() => true), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function emptyCounts(): LoadCounts {
  return { records: 0, requests: 0, valueBytes: 0, errors: 0, timedOut: 0, firstError: null };
}

/** Run the plan over `producers`; `onAck` is called per acknowledged request (for progress). */
export async function runLoad(producers: readonly BenchProducer[], plan: LoadPlan, onAck: (records: number) => void = () => {}): Promise<LoadResult> {
  const values = Array.from({ length: plan.recordsPerSend }, () => Buffer.alloc(plan.recordBytes, 0x61));
  return plan.ratePerSec === null ? await closedLoop(producers, plan, values, onAck) : await openLoop(producers, plan, plan.ratePerSec, values, onAck);
}

async function closedLoop(producers: readonly BenchProducer[], plan: LoadPlan, values: Buffer[], onAck: (n: number) => void): Promise<LoadResult> {
  const histogram = createLatencyHistogram();
  const c = emptyCounts();
  const windowStart = plan.startMs + plan.warmupMs;
  const windowEnd = windowStart + plan.durationMs;
  const bytesPerSend = plan.recordBytes * values.length;
  const one = async (p: BenchProducer): Promise<void> => {
    const wait = plan.startMs - now();
    if (wait > 0) await sleep(wait);
    let consecutiveErrors = 0;
    while (now() < windowEnd && consecutiveErrors < 100) {
      const sentMs = now();
      try {
        await p.send(values);
        consecutiveErrors = 0;
      } catch (e) {
        c.errors++;
        c.firstError ??= String(e);
        consecutiveErrors++;
        continue;
      }
      const ackMs = now();
      onAck(values.length);
      if (ackMs >= windowStart && ackMs < windowEnd) {
        recordUs(histogram, (ackMs - sentMs) * 1000);
        c.requests++;
        c.records += values.length;
        c.valueBytes += bytesPerSend;
      }
    }
  };
  let finished = 0;
  const all = Promise.all(producers.map((p) => one(p).finally(() => finished++)));
  const drained = await withDeadline(all, windowEnd + plan.drainMs - now());
  // A producer still inside send() at the deadline has exactly one request outstanding.
  if (!drained) c.timedOut += producers.length - finished;
  return { ...c, histogram, lagHistogram: createLatencyHistogram() };
}

async function openLoop(producers: readonly BenchProducer[], plan: LoadPlan, ratePerSec: number, values: Buffer[], onAck: (n: number) => void): Promise<LoadResult> {
  const histogram = createLatencyHistogram();
  const lagHistogram = createLatencyHistogram();
  const c = emptyCounts();
  const windowStart = plan.startMs + plan.warmupMs;
  const windowEnd = windowStart + plan.durationMs;
  const bytesPerSend = plan.recordBytes * values.length;
  const pacer = new Pacer(ratePerSec, plan.startMs, plan.slot, plan.slots);
  const pending = new Map<number, number>(); // request id → intended time, for requests in the window
  let outstanding = 0;
  let wake: (() => void) | null = null;
  let nextId = 0;
  let turn = 0;
  while (producers.length > 0 && pacer.peek() < windowEnd) {
    const dueMs = pacer.peek();
    const wait = dueMs - now();
    // Never send early; a timer fires up to ~1 ms late, which is charged to the latency.
    if (wait > 0) await sleep(Math.ceil(wait));
    else if (nextId % 256 === 255) await yieldToIo(); // behind schedule: still let acks in
    if (outstanding >= plan.outstandingMax) {
      await new Promise<void>((r) => (wake = r));
      continue;
    }
    pacer.advance();
    const producer = producers[turn++ % producers.length] as BenchProducer;
    const counted = dueMs >= windowStart;
    if (counted) recordUs(lagHistogram, (now() - dueMs) * 1000);
    const id = nextId++;
    if (counted) pending.set(id, dueMs);
    outstanding++;
    producer.send(values).then(
      () => {
        const ackMs = now();
        onAck(values.length);
        if (ackMs >= windowStart && ackMs < windowEnd) {
          c.requests++;
          c.records += values.length;
          c.valueBytes += bytesPerSend;
        }
        if (pending.delete(id)) recordUs(histogram, (ackMs - dueMs) * 1000);
      },
      (e: unknown) => {
        c.errors++;
        c.firstError ??= String(e);
        pending.delete(id);
      },
    ).finally(() => {
      outstanding--;
      const w = wake;
      wake = null;
      w?.();
    });
  }
  const deadline = windowEnd + plan.drainMs;
  while (outstanding > 0 && now() < deadline) {
    await withDeadline(new Promise<void>((r) => (wake = r)), deadline - now());
  }
  // Still unacknowledged at the deadline: charge them the time waited so far (a lower bound).
  const endMs = now();
  for (const dueMs of pending.values()) {
    c.timedOut++;
    recordUs(histogram, (endMs - dueMs) * 1000);
  }
  return { ...c, histogram, lagHistogram };
}
