/**
 * Entry point of one load-generator worker thread. The main thread (served.ts)
 * starts several so that one JavaScript thread's speed never caps the load.
 *
 * Protocol with the main thread:
 *   workerData: WorkerSetup
 *   worker → main: { type: 'ready' } once its producers are connected
 *   main → worker: { type: 'start', plan: LoadPlan }
 *   worker → main: { type: 'progress', acked } about every 250 ms
 *   worker → main: { type: 'done', counts, histogram, lagHistogram } (histograms are structured-cloned)
 *   worker → main: { type: 'error', message } on any setup failure
 */
import { parentPort, workerData } from 'node:worker_threads';
import { loadAdapter } from './adapters/index.ts';
import type { BenchProducer } from './adapters/types.ts';
import { runLoad, type LoadPlan } from './load.ts';

/** What a worker is told at start. */
export interface WorkerSetup {
  readonly targetKey: string;
  readonly port: number;
  readonly producers: number;
  /** Connect at most this many producers at once (the listen backlog is finite). */
  readonly connectConcurrency: number;
}

async function connectAll(setup: WorkerSetup): Promise<BenchProducer[]> {
  const adapter = await loadAdapter(setup.targetKey);
  const producers: BenchProducer[] = [];
  for (let i = 0; i < setup.producers; i += setup.connectConcurrency) {
    const n = Math.min(setup.connectConcurrency, setup.producers - i);
    producers.push(...(await Promise.all(Array.from({ length: n }, () => adapter.createProducer(setup.port)))));
  }
  return producers;
}

async function main(): Promise<void> {
  const port = parentPort;
  if (!port) throw new Error('load-worker must run in a worker thread');
  const setup = workerData as WorkerSetup;
  let producers: BenchProducer[] = [];
  try {
    producers = await connectAll(setup);
  } catch (e) {
    port.postMessage({ type: 'error', message: `connecting producers: ${String(e)}` });
    return;
  }
  const plan = await new Promise<LoadPlan>((resolve) => {
    port.once('message', (m: { type: 'start'; plan: LoadPlan }) => resolve(m.plan));
    port.postMessage({ type: 'ready' });
  });
  let acked = 0;
  const timer = setInterval(() => port.postMessage({ type: 'progress', acked }), 250);
  try {
    const { histogram, lagHistogram, ...counts } = await runLoad(producers, plan, (n) => (acked += n));
    port.postMessage({ type: 'done', counts, histogram, lagHistogram });
  } catch (e) {
    port.postMessage({ type: 'error', message: String(e) });
  } finally {
    clearInterval(timer);
    await Promise.allSettled(producers.map((p) => p.close()));
  }
}

void main();
