/**
 * Wakes long-polling fetches when the log grows. A Fetch at the log end offset parks here
 * with a deadline (a Clock timer); every durable append calls `notifyAll`, which resolves
 * every parked wait so each fetch re-reads the log. Shutdown also calls it, so no fetch
 * keeps the broker waiting for its full `maxWaitMs`. The number of parked waits is bounded
 * by connections x in-flight requests per connection, both limited by the broker config.
 */
import type { Clock, TimerHandle } from '../seams/clock.ts';

interface Waiter {
  timer: TimerHandle;
  wake: () => void;
}

/**
 * Parked long-poll waits.
 * @example
 * await notifier.wait(500); // resolves on the next append, or after 500 ms
 */
export class AppendNotifier {
  readonly #clock: Clock;
  readonly #waiters = new Set<Waiter>();

  constructor(clock: Clock) {
    this.#clock = clock;
  }

  /** Waits currently parked. */
  get size(): number {
    return this.#waiters.size;
  }

  // #region long-poll
  /** Resolve on the next `notifyAll` or after `timeoutMs`, whichever comes first. */
  wait(timeoutMs: number): Promise<void> {
    return new Promise((resolve) => {
      const waiter: Waiter = {
        timer: this.#clock.setTimeout(() => {
          this.#waiters.delete(waiter);
          resolve();
        }, timeoutMs),
        wake: resolve,
      };
      this.#waiters.add(waiter);
    });
  }

  /** Wake every parked wait (an append became durable, or the broker is shutting down). */
  notifyAll(): void {
    if (this.#waiters.size === 0) return;
    for (const w of this.#waiters) {
      this.#clock.clearTimeout(w.timer);
      w.wake();
    }
    this.#waiters.clear();
  }
  // #endregion long-poll
}
