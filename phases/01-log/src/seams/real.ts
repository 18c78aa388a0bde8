/**
 * The real seams, chosen in one place. Code below the command line never picks a real
 * implementation on its own: it is handed its seams (course/architecture.md, "Seams"),
 * so that a test can pass in-memory ones and the phase-7 simulator virtual ones, and a
 * forgotten seam is a type error instead of a silent fall-back to the real disk.
 * The CLI calls `realSeams()`, and so does a program using `index.ts` (which exports it);
 * code below them never does.
 *
 * Phase 1 has two seams: Storage (files) and Random (the torn-write draws of
 * `MemoryStorage`). Later phases add Clock and Transport here.
 */
import { type Random, realRandom } from './random.ts';
import { FsStorage, type Storage } from './storage.ts';

/** Every seam of this phase, real. */
export interface Seams {
  storage: Storage;
  random: Random;
}

/**
 * The production seams: node:fs and `Math.random`.
 * @example
 * const log = await Log.open(realSeams().storage, '/tmp/log');
 */
export function realSeams(): Seams {
  return { storage: new FsStorage(), random: realRandom };
}
