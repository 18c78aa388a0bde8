/**
 * The real seams, chosen in one place. Code below the command line never picks a real
 * implementation on its own: it is handed its seams (course/architecture.md, "Seams"),
 * so that a test can pass in-memory ones and the phase-7 simulator virtual ones, and a
 * forgotten seam is a type error instead of a silent fall-back to real time, disk or
 * sockets. The CLI calls `realSeams()`, and so does a program using `index.ts` (which
 * exports it); code below them never does.
 *
 * Phase 2 adds two seams to phase 1's Storage and Random: the Clock (timeouts, long
 * polls, linger) and the Transport (frames between clients and the broker).
 */
import { type Clock, realClock } from './clock.ts';
import { type Random, realRandom } from './random.ts';
import { FsStorage, type Storage } from './storage.ts';
import { type Transport, tcpTransport } from './transport.ts';

/** Every seam of this phase, real. */
export interface Seams {
  storage: Storage;
  random: Random;
  clock: Clock;
  transport: Transport;
}

/**
 * The production seams: node:fs, `Math.random`, real timers and TCP.
 * @example
 * const broker = await Broker.start({ dir: '/tmp/log', port: 9092 }, realSeams());
 * const producer = new Producer({ port: 9092, ...realSeams() });
 */
export function realSeams(): Seams {
  return { storage: new FsStorage(), random: realRandom, clock: realClock, transport: tcpTransport };
}
