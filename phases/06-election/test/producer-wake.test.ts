/**
 * The producer's wake-up when time passes while it decides. A drain holds a batch whose
 * time has not come (a retry's backoff, an open batch's linger) and arms a timer for that
 * time. With a real clock, a millisecond or more can pass inside one drain; the producer
 * once re-read the clock when arming the timer, found the moment already passed, and armed
 * nothing: the batch then waited for an event that never came (seen as acks=all sends
 * stalling for 30 s after a leader failover). Here a clock that moves 3 ms on every
 * reading makes that happen on every drain: the sends must still go.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Producer } from '../src/client/producer.ts';
import { Broker } from '../src/server/broker.ts';
import { type Clock, ManualClock, type TimerHandle } from '../src/seams/clock.ts';
import { MemoryStorage } from '../src/seams/memory-storage.ts';
import { MemoryTransport } from '../src/seams/memory-transport.ts';
import { seededRandom } from '../src/seams/random.ts';

/** A clock that moves `stepMs` every time it is read; its timers fire when `fireDue` is called. */
class TickingClock implements Clock {
  #nowMs = 1_000_000;
  #timers: { dueMs: number; fn: () => void }[] = [];
  constructor(readonly stepMs: number) {}
  now(): number {
    this.#nowMs += this.stepMs;
    return this.#nowMs;
  }
  setTimeout(fn: () => void, ms: number): TimerHandle {
    const t = { dueMs: this.#nowMs + Math.max(0, ms), fn };
    this.#timers.push(t);
    return t as unknown as TimerHandle;
  }
  clearTimeout(handle: TimerHandle): void {
    this.#timers = this.#timers.filter((t) => t !== (handle as unknown));
  }
  /** Fire every timer due by now (reading the clock once). */
  fireDue(): void {
    const now = this.now();
    const due = this.#timers.filter((t) => t.dueMs <= now);
    this.#timers = this.#timers.filter((t) => t.dueMs > now);
    for (const t of due) t.fn();
  }
}

const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe('producer wake-ups', () => {
  it('sends a lingering batch even when its linger ends while the drain that held it runs', async () => {
    const network = new MemoryTransport();
    const broker = await Broker.start({ dir: '/b', port: 0 }, { storage: new MemoryStorage(), clock: new ManualClock(), transport: network, random: seededRandom(1), logger: () => {} });
    cleanups.push(() => broker.close());
    await broker.createTopic({ name: 't', partitions: 1 });
    const clock = new TickingClock(3);
    // lingerMs 5 with 3 ms per reading: the drain reads the clock before the linger ends, and any later reading is past it.
    const producer = new Producer({ port: broker.port, clock, transport: network, random: seededRandom(2), lingerMs: 5 });
    await producer.connect();
    cleanups.push(async () => {
      const closing = producer.disconnect();
      for (let i = 0; i < 100; i++) {
        clock.fireDue();
        await new Promise((r) => setImmediate(r));
      }
      await closing;
    });
    for (let i = 0; i < 3; i++) {
      let answer: unknown = null;
      void producer.send({ topic: 't', messages: [{ value: `v${i}` }] }).then((r) => (answer = r), (e: unknown) => (answer = e));
      for (let step = 0; step < 50 && answer === null; step++) {
        clock.fireDue();
        await new Promise((r) => setImmediate(r));
      }
      expect(answer).toEqual([{ partition: 0, offset: i }]);
    }
  });
});
