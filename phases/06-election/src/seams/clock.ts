/**
 * The Clock seam (course/architecture.md §3): the only door through which broker and client code reads
 * the time or schedules work for later. Linger timers, long-poll deadlines, idle
 * timeouts, request timeouts and the shutdown deadline all go through a `Clock`, so a
 * test (or the phase-7 simulator) can swap `realClock` for a `ManualClock` and move time
 * forward by hand: a thirty-second long poll then takes no real time, and the order in
 * which timers fire is exactly reproducible. This file is the one place in `src/` that
 * touches `Date.now` and the global timer functions.
 */

declare const timerBrand: unique symbol;

/** An opaque handle for a scheduled callback; pass it back to `clearTimeout` to cancel. */
export interface TimerHandle {
  readonly [timerBrand]: true;
}

/** Time and timers. `now()` is wall-clock milliseconds (it also stamps record timestamps). */
export interface Clock {
  /** Current time in milliseconds since the Unix epoch (or since the start of a ManualClock). */
  now(): number;
  /** Run `fn` once, `ms` milliseconds from now (0 = on a later turn, never synchronously). */
  setTimeout(fn: () => void, ms: number): TimerHandle;
  /** Cancel a timer; a handle that already fired or was cleared is ignored. */
  clearTimeout(handle: TimerHandle): void;
}

/**
 * The real clock: `Date.now` and Node's timers. Timers are `unref`'d: a timer never keeps
 * the process alive on its own, because every timer here guards work that something else
 * (an open socket, a pending fsync) already keeps alive, and a CLI must exit as soon as its
 * sockets are closed rather than wait for a request timeout it no longer needs.
 * @example
 * const h = realClock.setTimeout(() => console.log('later'), 100);
 * realClock.clearTimeout(h);
 */
export const realClock: Clock = {
  now: () => Date.now(),
  setTimeout(fn, ms) {
    const t = setTimeout(fn, Math.max(0, ms));
    t.unref();
    return t as unknown as TimerHandle;
  },
  clearTimeout(handle) {
    clearTimeout(handle as unknown as NodeJS.Timeout);
  },
};

interface ManualTimer {
  readonly dueMs: number;
  readonly seq: number;
  readonly fn: () => void;
}

/**
 * A clock that only moves when told to. Timers fire inside `advance`, in due-time order
 * (ties in the order they were set), with `now()` equal to each timer's due time while it
 * runs, so a callback that sets another timer sees consistent time.
 * @example
 * const clock = new ManualClock();
 * clock.setTimeout(() => console.log('fired at', clock.now()), 50);
 * clock.advance(49); // nothing
 * clock.advance(1);  // "fired at 50"
 */
export class ManualClock implements Clock {
  #nowMs: number;
  #seq = 0;
  #timers: ManualTimer[] = [];

  /** Start at `startMs` (default 0). */
  constructor(startMs = 0) {
    this.#nowMs = startMs;
  }

  /** The current manual time in ms. */
  now(): number {
    return this.#nowMs;
  }

  /** Schedule `fn` at `now() + ms` (negative or non-finite `ms` count as 0). */
  setTimeout(fn: () => void, ms: number): TimerHandle {
    const delayMs = Number.isFinite(ms) && ms > 0 ? ms : 0;
    const timer: ManualTimer = { dueMs: this.#nowMs + delayMs, seq: this.#seq++, fn };
    this.#timers.push(timer);
    return timer as unknown as TimerHandle;
  }

  /** Cancel a pending timer. */
  clearTimeout(handle: TimerHandle): void {
    const i = this.#timers.indexOf(handle as unknown as ManualTimer);
    if (i >= 0) this.#timers.splice(i, 1);
  }

  /** Number of timers not yet fired or cleared (handy in tests). */
  get pendingTimers(): number {
    return this.#timers.length;
  }

  /** Move time forward by `ms`, firing every timer that falls due on the way. */
  advance(ms: number): void {
    if (!(ms >= 0)) throw new RangeError(`ManualClock.advance: ms must be >= 0, got ${ms}`);
    const targetMs = this.#nowMs + ms;
    for (;;) {
      let next: ManualTimer | undefined;
      for (const t of this.#timers) {
        if (t.dueMs <= targetMs && (next === undefined || t.dueMs < next.dueMs || (t.dueMs === next.dueMs && t.seq < next.seq))) next = t;
      }
      if (next === undefined) break;
      this.#timers.splice(this.#timers.indexOf(next), 1);
      this.#nowMs = next.dueMs;
      next.fn();
    }
    this.#nowMs = targetMs;
  }
}
