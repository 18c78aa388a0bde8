/**
 * Phase 1 adapter: the segmented log, with no broker yet. Only embedded mode can
 * measure it — the Log opened in the harness's own process on the real filesystem,
 * every append one batch and one fsync (phase 1's behaviour).
 */
import { Log } from '../../../phases/01-log/src/log/log.ts';
import { FsStorage } from '../../../phases/01-log/src/seams/storage.ts';
import { embeddedLog } from './common.ts';
import type { EmbeddedLog, TargetAdapter } from './types.ts';

/** The phase-1 adapter (embedded only). */
export const adapter: TargetAdapter = {
  key: 'phase01',
  phase: 1,
  label: 'phase 1 log',
  ack: 'when Log.append resolves (after its fsync)',
  createProducer: () => Promise.reject(new Error('phase 1 has no broker: only --mode embedded measures it')),
  async openEmbeddedLog(dir): Promise<EmbeddedLog> {
    return embeddedLog(await Log.open(new FsStorage(), dir));
  },
};
