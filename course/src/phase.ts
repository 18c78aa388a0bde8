/**
 * `npm run phase <N> [-- <command> [options]]`: run phase N the way a learner does.
 * `N` is a phase number (`3`, `03`) or folder name (`03-topics`). Everything after
 * it goes verbatim to `phases/0N-name/src/main.ts`, started under tsx with the
 * terminal attached; `npm run phase N -- test [vitest args]` runs that phase's
 * tests instead (`vitest run --project 0N-name`).
 *
 * The child gets SIGINT and SIGTERM sent to this process (so `kill <pid>` of the
 * runner stops the broker gracefully) and this process exits with the child's exit
 * code. A SIGKILL cannot be forwarded: when npm above us dies of one (`kill -9` of the
 * npm pid), the runner notices it is orphaned and SIGKILLs the phase too, so nothing is
 * left running; the phase's own pid (long-running commands print `pid N`) works as well.
 * Options typed before `--` are taken by npm for itself; the runner sees them in
 * `npm_config_*` and says to put `--` first instead of running the phase without them.
 * Arguments are not parsed with util.parseArgs because they belong to the phase's own
 * CLI and are forwarded untouched.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { constants } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { CourseError, defaultPhasesDir, describePhases, findPhases, isMainModule, repoRoot, resolvePhase, runMain, type PhaseDir } from './phases.ts';

/**
 * The usage text for a missing phase argument, naming the phases written and planned.
 * @example
 * usage(findPhases()); // 'usage: npm run phase <N> [-- <command> [options]]   (N: written: 1-4 (01-log, …); planned: 5-8; …)'
 */
export function usage(phases: readonly PhaseDir[] = findPhases(defaultPhasesDir)): string {
  return `usage: npm run phase <N> [-- <command> [options]]   (N: ${describePhases(phases)}; command \`test\` runs the phase tests)`;
}

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
export function parsePhaseArgs(argv: readonly string[], phasesDir: string = defaultPhasesDir): PhaseArgs {
  const [phase, ...rest] = argv;
  if (phase === undefined || phase === '' || phase.startsWith('-')) throw new CourseError(`missing phase number; ${usage(findPhases(phasesDir))}`, 2);
  const args = rest[0] === '--' ? rest.slice(1) : rest;
  if (args[0] === 'test') return { phase, args: args.slice(1), test: true };
  return { phase, args, test: false };
}

/**
 * npm config names a phase option becomes on npm's command line although npm knows the
 * name: `--name` is one of npm's own settings, and npm expands `--max` to its
 * `--maxsockets` (it accepts any unambiguous prefix of a setting). Keyed by the
 * `npm_config_*` name, valued by the option the learner typed.
 */
const NPM_NAMES_OF_PHASE_OPTIONS: Readonly<Record<string, string>> = { name: 'name', maxsockets: 'max' };

/** What npm exports to every script besides its settings (@npmcli/config's set-envs.js). */
const NPM_ALWAYS_EXPORTS: readonly string[] = ['global-prefix', 'local-prefix', 'npm-version'];

/**
 * The names of npm's own settings (`loglevel`, `registry`, …), from the npm that started
 * this process (`npm_execpath`), or null when they cannot be read (not started by npm, or
 * an npm whose files are laid out differently).
 */
export function npmSettingNames(env: NodeJS.ProcessEnv = process.env): ReadonlySet<string> | null {
  const npmCli = env.npm_execpath;
  if (npmCli === undefined || npmCli === '') return null;
  try {
    const { definitions } = createRequire(npmCli)('@npmcli/config/lib/definitions') as { definitions: Record<string, unknown> };
    return new Set([...Object.keys(definitions), ...NPM_ALWAYS_EXPORTS]);
  } catch {
    return null;
  }
}

/** The setting names in the npmrc files npm read (the project's, the user's, the global one). */
function npmrcKeys(env: NodeJS.ProcessEnv): Set<string> {
  const keys = new Set<string>();
  const files = [env.npm_config_local_prefix === undefined ? undefined : join(env.npm_config_local_prefix, '.npmrc'), env.npm_config_userconfig, env.npm_config_globalconfig];
  for (const file of files) {
    if (file === undefined || file === '') continue;
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n')) {
      const m = /^\s*([^\s=;#][^=]*?)\s*=/.exec(line);
      if (m?.[1] !== undefined) keys.add(m[1].replace(/-/g, '_').toLowerCase());
    }
  }
  return keys;
}

/** An option npm kept for itself: as typed (`--follow`) and the value npm gave it (`true`, or the word after it). */
export interface SwallowedOption {
  readonly option: string;
  readonly value: string;
}

/**
 * The options npm kept for itself when `npm run phase N <command> --opt` was typed without
 * `--`: npm reads every option before `--` as one of its settings and hands it to the
 * script only as an `npm_config_<name>` environment variable (`--follow` becomes
 * `npm_config_follow=true`, and the word after `--dir` stays behind as a stray
 * argument). Only looked for when `npm run phase` started us (`npm_lifecycle_event`);
 * a variable counts when npm has no setting of that name (`npmSettings`, from
 * {@link npmSettingNames}) or it is one of the phase options npm mistakes for its own
 * (`--name`, `--max`), and no npmrc file sets it.
 * @example
 * swallowedOptions({ npm_lifecycle_event: 'phase', npm_config_follow: 'true' }, new Set(['loglevel'])); // [{ option: '--follow', value: 'true' }]
 */
export function swallowedOptions(env: NodeJS.ProcessEnv, npmSettings: ReadonlySet<string> | null = npmSettingNames(env)): SwallowedOption[] {
  if (env.npm_lifecycle_event !== 'phase' || npmSettings === null) return [];
  const inNpmrc = npmrcKeys(env);
  const found: SwallowedOption[] = [];
  for (const [key, value] of Object.entries(env)) {
    if (!key.startsWith('npm_config_') || value === undefined) continue;
    const name = key.slice('npm_config_'.length);
    if (inNpmrc.has(name)) continue;
    const typed = NPM_NAMES_OF_PHASE_OPTIONS[name] ?? (npmSettings.has(name.replace(/_/g, '-')) ? undefined : name.replace(/_/g, '-'));
    if (typed !== undefined) found.push({ option: `--${typed}`, value });
  }
  return found.sort((a, b) => a.option.localeCompare(b.option));
}

/**
 * The one-line error for options npm kept (see {@link swallowedOptions}), with the
 * command as it should have been typed.
 * @example
 * swallowedMessage('2', ['consume'], [{ option: '--follow', value: 'true' }]);
 * // "npm took --follow for itself (npm reads the options before `--`): put -- before the phase's options, as in npm run phase 2 -- consume --follow"
 */
export function swallowedMessage(phase: string, args: readonly string[], swallowed: readonly SwallowedOption[]): string {
  const names = swallowed.map((s) => s.option).join(', ');
  const command = args[0] !== undefined && !args[0].startsWith('-') ? `${args[0]} ` : '';
  const first = swallowed[0];
  const example = first === undefined ? '' : `${first.option}${first.value === 'true' ? '' : ` ${first.value}`}`;
  const more = swallowed.length > 1 || args.length > 1 ? ' …' : '';
  return `npm took ${names} for itself (npm reads the options before \`--\`): put -- before the phase's options, as in npm run phase ${phase} -- ${command}${example}${more}`;
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
 * Start the command with the terminal attached, forward SIGINT/SIGTERM (and follow
 * npm's SIGKILL: see the file comment), and resolve with the exit code to use
 * (128 + signal number if the child was killed).
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
  // `kill -9` of npm (the process a learner sees) cannot be forwarded, and would leave
  // this runner and the phase running, orphaned. So watch for it: once our parent is
  // gone, the phase gets the same SIGKILL, as if it had been sent to the phase itself.
  const parent = process.ppid;
  const orphanWatch = setInterval(() => {
    if (process.ppid !== parent && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }, 200);
  orphanWatch.unref();
  try {
    return await new Promise<number>((resolveCode, reject) => {
      child.once('error', (err) => reject(new CourseError(`cannot start ${cmd.bin}: ${err.message}`)));
      child.once('exit', (code, signal) => {
        if (code !== null) resolveCode(code);
        else resolveCode(128 + (signal !== null ? constants.signals[signal] : 0));
      });
    });
  } finally {
    clearInterval(orphanWatch);
    for (const s of signals) process.off(s, forward);
  }
}

/**
 * The runner's main: refuse options npm kept for itself, resolve the phase (saying so
 * if it is planned, or not a phase), check its entry point exists, run it.
 * `COURSE_PHASES_DIR` overrides the phases folder (the tests point it at fixtures).
 */
export async function main(argv: readonly string[], phasesDir: string = process.env.COURSE_PHASES_DIR ?? defaultPhasesDir, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const parsed = parsePhaseArgs(argv, phasesDir);
  const swallowed = swallowedOptions(env);
  if (swallowed.length > 0) throw new CourseError(swallowedMessage(parsed.phase, parsed.args, swallowed), 2);
  const phase = resolvePhase(findPhases(phasesDir), parsed.phase);
  const cmd = phaseCommand(phase, parsed);
  if (!parsed.test && !existsSync(phaseEntry(phase))) throw new CourseError(`phases/${phase.name}/src/main.ts does not exist`);
  if (!existsSync(parsed.test ? cmd.bin : join(repoRoot, 'node_modules', 'tsx'))) throw new CourseError('dependencies not installed; run npm ci first');
  return await runCommand(cmd);
}

if (isMainModule(import.meta.url)) runMain(() => main(process.argv.slice(2)));
