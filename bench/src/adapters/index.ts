/**
 * The adapter registry: which targets the harness can drive, and how to load each.
 * Adapters are imported lazily, so a phase folder that does not exist yet (or an
 * adapter whose phase is broken) never stops the others from running.
 *
 * Adding a phase: write `phaseNN.ts` next to `phase02.ts` against that phase's own
 * client library (phases with topics reuse `topics.ts`), and add one entry below. The newest phase with `serves: true`
 * becomes the default of `npm run bench`.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../paths.ts';
import type { TargetAdapter } from './types.ts';

/** One registered target. */
export interface AdapterEntry {
  readonly key: string;
  /** Phase number, or null for targets that are not phases (fake, redis). */
  readonly phase: number | null;
  /** Phase folder relative to the repo root; its src/main.ts must exist for the entry to be available. */
  readonly folder: string | null;
  /** Has a broker that can be served (`startBroker`). */
  readonly serves: boolean;
  /** Has an in-process log (`openEmbeddedLog`). */
  readonly embeds: boolean;
  load(): Promise<TargetAdapter>;
}

/** Every registered target, phases in order. */
export const adapterEntries: readonly AdapterEntry[] = [
  { key: 'fake', phase: null, folder: null, serves: true, embeds: true, load: async () => (await import('./fake.ts')).adapter },
  { key: 'redis', phase: null, folder: null, serves: false, embeds: false, load: async () => (await import('./redis.ts')).adapter },
  { key: 'phase01', phase: 1, folder: 'phases/01-log', serves: false, embeds: true, load: async () => (await import('./phase01.ts')).adapter },
  { key: 'phase02', phase: 2, folder: 'phases/02-wire', serves: true, embeds: true, load: async () => (await import('./phase02.ts')).adapter },
  { key: 'phase03', phase: 3, folder: 'phases/03-topics', serves: true, embeds: true, load: async () => await (await import('./topics.ts')).topicsAdapter(3, 'phases/03-topics') },
  { key: 'phase04', phase: 4, folder: 'phases/04-groups', serves: true, embeds: true, load: async () => await (await import('./topics.ts')).topicsAdapter(4, 'phases/04-groups') },
  // Phase 5 is a three-broker cluster, measured twice: acks=all (the default, `--phase 5`) and acks=1 (`--phase phase05-acks1`).
  { key: 'phase05', phase: 5, folder: 'phases/05-replication', serves: true, embeds: true, load: async () => (await import('./phase05.ts')).adapter },
  { key: 'phase05-acks1', phase: 5, folder: 'phases/05-replication', serves: true, embeds: false, load: async () => (await import('./phase05.ts')).acksOneAdapter },
  { key: 'phase06', phase: 6, folder: 'phases/06-election', serves: true, embeds: true, load: async () => (await import('./phase06.ts')).adapter },
];

/** Whether an entry's phase folder is present in this checkout. */
export function isAvailable(e: AdapterEntry): boolean {
  return e.folder === null || existsSync(join(repoRoot, e.folder, 'src', 'main.ts'));
}

/** Available phase entries, oldest first. */
export function phaseEntries(): AdapterEntry[] {
  return adapterEntries.filter((e) => e.phase !== null && isAvailable(e)).sort((a, b) => (a.phase ?? 0) - (b.phase ?? 0));
}

/** The newest available phase that serves (or, for embedded mode, embeds); null if none. */
export function defaultEntry(need: 'serves' | 'embeds'): AdapterEntry | null {
  const candidates = phaseEntries().filter((e) => e[need]);
  const newest = candidates[candidates.length - 1];
  // A phase measured several ways (phase 5: acks=all, acks=1) defaults to its first entry.
  return candidates.find((e) => e.phase === newest?.phase) ?? null;
}

/** Find an entry by `--phase` value: a number (2 or 02) or a key (`fake`). */
export function findEntry(phase: string): AdapterEntry | null {
  const n = /^\d+$/.test(phase) ? Number(phase) : null;
  return adapterEntries.find((e) => (n !== null ? e.phase === n : e.key === phase)) ?? null;
}

/** Load an adapter by key (used by worker threads, which receive only the key). */
export async function loadAdapter(key: string): Promise<TargetAdapter> {
  const entry = adapterEntries.find((e) => e.key === key);
  if (!entry) throw new Error(`no adapter registered for ${key}`);
  if (!isAvailable(entry)) throw new Error(`${entry.folder} is not in this checkout`);
  return await entry.load();
}

/** Phase folders in this checkout (`phases/NN-name`) that no registered adapter covers. */
export function phaseFoldersWithoutAdapter(): string[] {
  const covered = new Set(adapterEntries.map((e) => e.folder));
  let names: string[] = [];
  try {
    names = readdirSync(join(repoRoot, 'phases')).filter((n) => /^\d\d-/.test(n));
  } catch {
    return [];
  }
  return names.sort().map((n) => `phases/${n}`).filter((f) => !covered.has(f) && existsSync(join(repoRoot, f, 'src', 'main.ts')));
}
