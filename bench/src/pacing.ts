/**
 * The open-loop schedule. In open-loop mode the load generator does not wait for an
 * acknowledgement before the next send: send k of the whole run is due at
 * `startMs + k * 1000 / ratePerSec`, whatever happened to earlier sends. Latency is
 * measured from that intended time, so when the broker stalls, every send that
 * should have gone out during the stall is charged the stall (no coordinated omission).
 *
 * The schedule is split between workers by slot: worker `slot` of `slots` owns the
 * sends with k ≡ slot (mod slots), so together they issue exactly the global schedule.
 */

/** Walks one slot's share of the global schedule. */
export class Pacer {
  private k: number;
  private readonly intervalMs: number;

  /**
   * @param ratePerSec aggregate rate of the whole run (all slots together)
   * @param startMs absolute time of send 0
   * @example
   * const pacer = new Pacer(1000, t0, 0, 2); // slot 0 of 2: sends 0, 2, 4 … at t0, t0+2 ms, …
   */
  constructor(ratePerSec: number, private readonly startMs: number, private readonly slot = 0, private readonly slots = 1) {
    if (!(ratePerSec > 0)) throw new RangeError(`rate must be > 0, got ${ratePerSec}`);
    if (!Number.isInteger(slots) || slots < 1 || !Number.isInteger(slot) || slot < 0 || slot >= slots) {
      throw new RangeError(`bad slot ${slot} of ${slots}`);
    }
    this.intervalMs = 1000 / ratePerSec;
    this.k = slot;
  }

  /** Intended time (absolute ms) of this slot's next send. */
  peek(): number {
    return this.startMs + this.k * this.intervalMs;
  }

  /** Move to this slot's following send. */
  advance(): void {
    this.k += this.slots;
  }

  /** Global index of the next send (for tests and round-robin). */
  get index(): number {
    return this.k;
  }
}

/** All intended send times of one slot in [fromMs, toMs). */
export function scheduleTimes(ratePerSec: number, startMs: number, fromMs: number, toMs: number, slot = 0, slots = 1): number[] {
  const pacer = new Pacer(ratePerSec, startMs, slot, slots);
  const times: number[] = [];
  while (pacer.peek() < toMs) {
    if (pacer.peek() >= fromMs) times.push(pacer.peek());
    pacer.advance();
  }
  return times;
}
