/**
 * Finding the phase folders. Every course tool (the phase runner, the diff, the
 * snapshot check, carry) starts here: `phases/` holds one folder per phase, named
 * `NN-name` (`01-log`, `02-wire`, …), and a learner names a phase by its number
 * (`3`, `03`) or its folder name (`03-topics`). This module also holds the error
 * type and the tiny CLI plumbing the course entry points share: an error becomes
 * one `error: …` line and a non-zero exit, never a stack trace.
 */
import { readdirSync, realpathSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** Absolute path of the repository root (course/src/ is two levels below it). */
export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Absolute path of the repository's `phases/` folder. */
export const defaultPhasesDir = join(repoRoot, 'phases');

/** Folder names of phases: two digits, a dash, a lowercase kebab-case name. */
export const PHASE_NAME_PATTERN = /^(\d\d)-([a-z0-9]+(?:-[a-z0-9]+)*)$/;

/** One phase folder on disk. */
export interface PhaseDir {
  /** The phase number, 1-based (`3` for `03-topics`). */
  readonly num: number;
  /** The folder name, which is also the vitest project name (`03-topics`). */
  readonly name: string;
  /** Absolute path of the folder. */
  readonly path: string;
}

/**
 * An error a course tool reports as one line (`error: <message>`) with `exitCode`:
 * 2 for a usage mistake (unknown phase, bad option), 1 for anything else.
 */
export class CourseError extends Error {
  readonly exitCode: number;
  constructor(message: string, exitCode = 1) {
    super(message);
    this.name = 'CourseError';
    this.exitCode = exitCode;
  }
}

/**
 * The phase folders under `phasesDir` whose names match {@link PHASE_NAME_PATTERN},
 * sorted by number then name. Anything else in `phases/` is left out here (the
 * course check reports it). A missing `phases/` yields `[]`.
 * @example
 * findPhases('/work/main/phases').map((p) => p.name); // ['01-log', '02-wire']
 */
export function findPhases(phasesDir: string = defaultPhasesDir): PhaseDir[] {
  let entries;
  try {
    entries = readdirSync(phasesDir, { withFileTypes: true });
  } catch {
    return [];
  }
  const phases: PhaseDir[] = [];
  for (const entry of entries) {
    if (!entry.isDirectory()) continue;
    const m = PHASE_NAME_PATTERN.exec(entry.name);
    if (m === null || m[1] === undefined) continue;
    phases.push({ num: Number(m[1]), name: entry.name, path: join(phasesDir, entry.name) });
  }
  return phases.sort((a, b) => a.num - b.num || a.name.localeCompare(b.name));
}

/** A phase the course plans but has not written yet. */
export interface PlannedPhase {
  readonly num: number;
  /** Its folder name once it exists. */
  readonly name: string;
  /** What it will add, in a few words. */
  readonly adds: string;
}

/**
 * The phases the course plans beyond those written, as course/introduction.md's map and
 * the README's layout name them (course/test/planned.test.ts keeps the three in step).
 * A planned phase whose folder exists is simply a phase: {@link resolvePhase} looks at
 * the folders first.
 */
export const PLANNED_PHASES: readonly PlannedPhase[] = [
  { num: 7, name: '07-simulator', adds: 'deterministic simulation with injected faults' },
  { num: 8, name: '08-group-commit', adds: 'idempotent producers, group commit' },
];

/** `1-4` for consecutive numbers, else the numbers listed (`1, 3`). */
function numberRange(nums: readonly number[]): string {
  if (nums.length === 0) return 'none';
  const first = nums[0] ?? 0;
  const last = nums[nums.length - 1] ?? 0;
  const consecutive = nums.every((n, i) => n === first + i);
  if (consecutive && nums.length > 1) return `${first}-${last}`;
  return nums.join(', ');
}

/**
 * What exists and what is planned, for messages and usage texts:
 * `written: 1-4 (01-log, 02-wire, 03-topics, 04-groups); planned: 5-8`.
 */
export function describePhases(phases: readonly PhaseDir[], planned: readonly PlannedPhase[] = PLANNED_PHASES): string {
  const written = phases.length > 0 ? `${numberRange(phases.map((p) => p.num))} (${phases.map((p) => p.name).join(', ')})` : 'none yet';
  const notYet = planned.filter((p) => !phases.some((w) => w.num === p.num)).map((p) => p.num);
  return notYet.length > 0 ? `written: ${written}; planned: ${numberRange(notYet)}` : `written: ${written}`;
}

/**
 * Resolve what a learner typed (`3`, `03`, `03-topics`) to a phase folder.
 * Throws a usage {@link CourseError} (exit code 2): for a planned phase, that it is
 * planned and not written yet; for anything else, that there is no such phase; both
 * name the phases that exist.
 * @example
 * resolvePhase(findPhases(), '1').name; // '01-log'
 * resolvePhase(findPhases(), '5'); // throws: phase 5 (05-replication: …) is planned, not written yet; …
 */
export function resolvePhase(phases: readonly PhaseDir[], spec: string, planned: readonly PlannedPhase[] = PLANNED_PHASES): PhaseDir {
  const trimmed = spec.trim();
  const byNumber = /^\d{1,2}$/.test(trimmed);
  const matches = (p: { num: number; name: string }): boolean => (byNumber ? p.num === Number(trimmed) : p.name === trimmed);
  const found = phases.find(matches);
  if (found !== undefined) return found;
  const plan = planned.find(matches);
  if (plan !== undefined) {
    throw new CourseError(`phase ${plan.num} (${plan.name}: ${plan.adds}) is planned, not written yet; ${describePhases(phases, planned)}`, 2);
  }
  throw new CourseError(`no phase ${JSON.stringify(spec)}; ${describePhases(phases, planned)}`, 2);
}

/** True when the module with this `import.meta.url` is the script node was started with. */
export function isMainModule(moduleUrl: string): boolean {
  const entry = process.argv[1];
  if (entry === undefined) return false;
  if (pathToFileURL(resolve(entry)).href === moduleUrl) return true;
  try {
    // Through a symlinked checkout the two spellings differ; compare real paths.
    return realpathSync(entry) === realpathSync(fileURLToPath(moduleUrl));
  } catch {
    return false;
  }
}

/**
 * Run a CLI's main function: its resolved number becomes the exit code; a thrown
 * error becomes one `error: …` line on stderr (no stack trace) and exit code 1, or
 * the {@link CourseError}'s own code.
 */
export function runMain(main: () => Promise<number>): void {
  main().then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      const message = err instanceof Error ? err.message : String(err);
      process.stderr.write(`error: ${message.split('\n')[0] ?? message}\n`);
      process.exitCode = err instanceof CourseError ? err.exitCode : 1;
    },
  );
}
