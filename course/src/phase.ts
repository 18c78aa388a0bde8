/**
 * `npm run phase <N> [-- <command> [options]]`: run phase N the way a learner does.
 * `N` is a phase number (`3`, `03`) or folder name (`03-topics`). Everything after
 * it goes verbatim to `phases/0N-name/src/main.ts`, started under tsx with the
 * terminal attached; `npm run phase N -- test [vitest args]` runs that phase's
 * tests instead (`vitest run --project 0N-name`).
 *
 * The child gets SIGINT and SIGTERM sent to this process (so `kill <pid>` of the
 * runner stops the broker gracefully) and this process exits with the child's exit
 * code. Arguments are not parsed with util.parseArgs because they belong to the
 * phase's own CLI and are forwarded untouched.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { constants } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { CourseError, defaultPhasesDir, findPhases, isMainModule, repoRoot, resolvePhase, runMain, type PhaseDir } from './phases.ts';

/** The usage text for a missing phase argument. */
export const USAGE = 'usage: npm run phase <N> [-- <command> [options]]   (N = 1..8; command `test` runs the phase tests)';

/** What the learner asked for. */
export interface PhaseArgs {
  /** The phase as typed (`3`, `03`, `03-topics`). */
  readonly phase: string;
  /** Arguments for the phase's main.ts (or for vitest when `test` is true). */
  readonly args: string[];
  /** True for `npm run phase N -- test`. */
  readonly test: boolean;
}

/**
 * Split the runner's argv into the phase and the arguments forwarded to it. A `--`
 * after the phase (left when the runner is started directly, not through npm) is dropped.
 * @example
 * parsePhaseArgs(['3', 'produce', '--port', '9092']); // { phase: '3', args: ['produce', '--port', '9092'], test: false }
 */
export function parsePhaseArgs(argv: readonly string[]): PhaseArgs {
  const [phase, ...rest] = argv;
  if (phase === undefined || phase === '' || phase.startsWith('-')) throw new CourseError(`missing phase number; ${USAGE}`, 2);
  const args = rest[0] === '--' ? rest.slice(1) : rest;
  if (args[0] === 'test') return { phase, args: args.slice(1), test: true };
  return { phase, args, test: false };
}

/** A process to start: executable, arguments, working directory. */
export interface Command {
  readonly bin: string;
  readonly args: string[];
  readonly cwd: string;
}

/**
 * The command that runs a phase: `node --import <tsx loader> phases/0N-x/src/main.ts …args`,
 * or `vitest run --project 0N-x …args` for the test command. Runs from the repository
 * root, where vitest.config.ts lives. The phase runs under tsx's loader in one process
 * (not the `tsx` launcher, which would add a process of its own), so the signals this
 * runner forwards reach the phase itself.
 */
export function phaseCommand(phase: PhaseDir, parsed: PhaseArgs, root: string = repoRoot): Command {
  const modules = join(root, 'node_modules');
  if (parsed.test) return { bin: join(modules, '.bin', 'vitest'), args: ['run', '--project', phase.name, ...parsed.args], cwd: root };
  const loader = pathToFileURL(join(modules, 'tsx', 'dist', 'loader.mjs')).href;
  return { bin: process.execPath, args: ['--import', loader, phaseEntry(phase), ...parsed.args], cwd: root };
}

/** The phase's entry point, `phases/0N-x/src/main.ts`. */
export function phaseEntry(phase: PhaseDir): string {
  return join(phase.path, 'src', 'main.ts');
}

/**
 * Start the command with the terminal attached, forward SIGINT/SIGTERM, and
 * resolve with the exit code to use (128 + signal number if the child was killed).
 */
export async function runCommand(cmd: Command): Promise<number> {
  const child = spawn(cmd.bin, cmd.args, { cwd: cmd.cwd, stdio: 'inherit' });
  // A Ctrl-C in a terminal already reaches the child (same process group), so each
  // signal is forwarded once: a second forwarded SIGINT could turn a graceful
  // shutdown into a forced one. `kill <runner pid>` still reaches the child.
  const forwarded = new Set<NodeJS.Signals>();
  const forward = (signal: NodeJS.Signals): void => {
    if (forwarded.has(signal) || child.exitCode !== null || child.signalCode !== null) return;
    forwarded.add(signal);
    child.kill(signal);
  };
  const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM'];
  for (const s of signals) process.on(s, forward);
  try {
    return await new Promise<number>((resolveCode, reject) => {
      child.once('error', (err) => reject(new CourseError(`cannot start ${cmd.bin}: ${err.message}`)));
      child.once('exit', (code, signal) => {
        if (code !== null) resolveCode(code);
        else resolveCode(128 + (signal !== null ? constants.signals[signal] : 0));
      });
    });
  } finally {
    for (const s of signals) process.off(s, forward);
  }
}

/**
 * The runner's main: resolve the phase, check its entry point exists, run it.
 * `COURSE_PHASES_DIR` overrides the phases folder (the tests point it at fixtures).
 */
export async function main(argv: readonly string[], phasesDir: string = process.env.COURSE_PHASES_DIR ?? defaultPhasesDir): Promise<number> {
  const parsed = parsePhaseArgs(argv);
  const phase = resolvePhase(findPhases(phasesDir), parsed.phase);
  const cmd = phaseCommand(phase, parsed);
  if (!parsed.test && !existsSync(phaseEntry(phase))) throw new CourseError(`phases/${phase.name}/src/main.ts does not exist`);
  if (!existsSync(parsed.test ? cmd.bin : join(repoRoot, 'node_modules', 'tsx'))) throw new CourseError('dependencies not installed; run npm ci first');
  return await runCommand(cmd);
}

if (isMainModule(import.meta.url)) runMain(() => main(process.argv.slice(2)));
