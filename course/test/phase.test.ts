/**
 * The phase runner: argument splitting, resolving `3` / `03` / `03-topics` to a
 * folder (and saying so when a phase is planned, or not a phase at all), the command
 * it builds (tsx main.ts, or vitest for `test`), exit codes, the options npm keeps
 * for itself when `--` is forgotten, and subprocess runs on a fixture phase showing
 * that SIGTERM sent to the runner reaches the phase and the runner exits with the
 * phase's code.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { repoRoot, runCli, spawnCli, stopProcess, tempDir, waitFor, waitForExit, waitForLine, type TempDir } from '../../shared/src/testing.ts';
import { main, npmSettingNames, parsePhaseArgs, phaseCommand, runCommand, swallowedMessage, swallowedOptions, usage } from '../src/phase.ts';
import { CourseError, findPhases, resolvePhase } from '../src/phases.ts';
import { basics, writeTree } from './fixtures.ts';

/** The npm that runs these tests (npm_execpath when started by npm), else the one on PATH. */
function npmCliPath(): string {
  if (process.env.npm_execpath !== undefined && process.env.npm_execpath !== '') return process.env.npm_execpath;
  const root = spawnSync('npm', ['root', '-g'], { encoding: 'utf8' }).stdout.trim();
  return join(root, 'npm', 'bin', 'npm-cli.js');
}

let dir: TempDir;
beforeEach(() => {
  dir = tempDir('course-phase-');
  writeTree(dir.path, { ...basics('01-log'), ...basics('02-wire'), 'notes/x.md': 'not a phase\n' });
});
afterEach(() => {
  dir.remove();
});

describe('parsePhaseArgs', () => {
  it.each([
    [['1'], { phase: '1', args: [], test: false }],
    [['3', 'produce', '--port', '9092'], { phase: '3', args: ['produce', '--port', '9092'], test: false }],
    [['03', '--', 'dump', '--dir', 'd'], { phase: '03', args: ['dump', '--dir', 'd'], test: false }],
    [['2', 'test'], { phase: '2', args: [], test: true }],
    [['2', 'test', 'log.test.ts'], { phase: '2', args: ['log.test.ts'], test: true }],
  ])('%j', (argv, expected) => {
    expect(parsePhaseArgs(argv)).toEqual(expected);
  });

  it('requires a phase', () => {
    expect(() => parsePhaseArgs([])).toThrow(/missing phase number/);
    expect(() => parsePhaseArgs(['--port', '1'])).toThrow(CourseError);
  });
});

describe('resolvePhase', () => {
  it('accepts a number, a zero-padded number and a folder name', () => {
    const phases = findPhases(dir.path);
    expect(phases.map((p) => p.name)).toEqual(['01-log', '02-wire']);
    expect(resolvePhase(phases, '1').name).toBe('01-log');
    expect(resolvePhase(phases, '02').name).toBe('02-wire');
    expect(resolvePhase(phases, '02-wire').name).toBe('02-wire');
  });

  it('names the written and planned phases when the phase is unknown, with exit code 2', () => {
    const phases = findPhases(dir.path);
    let caught: unknown;
    try {
      resolvePhase(phases, '9');
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(CourseError);
    expect((caught as CourseError).message).toBe('no phase "9"; written: 1-2 (01-log, 02-wire); planned: 7-8');
    expect((caught as CourseError).exitCode).toBe(2);
  });

  it('says that a planned phase is planned and not written yet, by number or by folder name', () => {
    const phases = findPhases(dir.path);
    const planned = 'phase 7 (07-simulator: deterministic simulation with injected faults) is planned, not written yet; written: 1-2 (01-log, 02-wire); planned: 7-8';
    expect(() => resolvePhase(phases, '7')).toThrow(planned);
    expect(() => resolvePhase(phases, '07-simulator')).toThrow(planned);
    expect(() => resolvePhase(phases, '3')).toThrow('no phase "3"; written: 1-2 (01-log, 02-wire); planned: 7-8');
  });

  it('on the real course: 1-6 are written, 7-8 planned, 9 is not a phase', () => {
    const phases = findPhases();
    expect(usage(phases)).toContain('(N: written: 1-6 (01-log, 02-wire, 03-topics, 04-groups, 05-replication, 06-election); planned: 7-8;');
    expect(() => resolvePhase(phases, '7')).toThrow(/^phase 7 \(07-simulator: deterministic simulation with injected faults\) is planned, not written yet; written: 1-6 /);
    expect(() => resolvePhase(phases, '9')).toThrow(/^no phase "9"; written: 1-6 \(01-log, 02-wire, 03-topics, 04-groups, 05-replication, 06-election\); planned: 7-8$/);
  });
});

describe('phaseCommand', () => {
  it('runs main.ts under tsx\'s loader in one node process, or the phase project under vitest', () => {
    const phase = resolvePhase(findPhases(dir.path), '2');
    expect(phaseCommand(phase, parsePhaseArgs(['2', 'serve', '--port', '0']), '/r')).toEqual({
      bin: process.execPath,
      args: ['--import', 'file:///r/node_modules/tsx/dist/loader.mjs', join(dir.path, '02-wire/src/main.ts'), 'serve', '--port', '0'],
      cwd: '/r',
    });
    expect(phaseCommand(phase, parsePhaseArgs(['2', 'test']), '/r')).toEqual({
      bin: '/r/node_modules/.bin/vitest',
      args: ['run', '--project', '02-wire'],
      cwd: '/r',
    });
  });

  it('exits with the child exit code', async () => {
    expect(await runCommand({ bin: process.execPath, args: ['-e', 'process.exit(3)'], cwd: dir.path })).toBe(3);
  });

  it('rejects an unknown phase before starting anything', async () => {
    await expect(main(['9'], dir.path, {})).rejects.toThrow(/^no phase "9"; written: 1-2 \(01-log, 02-wire\); planned: 7-8$/);
  });
});

describe('options npm keeps for itself (no `--`)', () => {
  const npm = new Set(['loglevel', 'registry', 'cache', 'user-agent', 'userconfig', 'name', 'maxsockets']);
  const started = { npm_lifecycle_event: 'phase' };

  it('finds the npm_config_* variables npm made of a phase\'s options', () => {
    expect(swallowedOptions({ ...started, npm_config_follow: 'true', npm_config_loglevel: 'silent', npm_config_user_agent: 'npm/11' }, npm)).toEqual([{ option: '--follow', value: 'true' }]);
    expect(swallowedOptions({ ...started, npm_config_session_timeout_ms: 'true', npm_config_dir: 'true' }, npm)).toEqual([
      { option: '--dir', value: 'true' },
      { option: '--session-timeout-ms', value: 'true' },
    ]);
    // Phase options npm takes for its own settings: --name, and --max (npm expands it to --maxsockets).
    expect(swallowedOptions({ ...started, npm_config_name: 'orders', npm_config_maxsockets: '10' }, npm)).toEqual([
      { option: '--max', value: '10' },
      { option: '--name', value: 'orders' },
    ]);
  });

  it('looks only when `npm run phase` started the runner, and never at what an npmrc file sets', () => {
    expect(swallowedOptions({ npm_config_follow: 'true' }, npm)).toEqual([]);
    expect(swallowedOptions({ npm_lifecycle_event: 'test', npm_config_follow: 'true' }, npm)).toEqual([]);
    expect(swallowedOptions({ ...started, npm_config_follow: 'true' }, null)).toEqual([]);
    writeTree(dir.path, { 'npmrc': '; a user config\nfollow = true\nname=me\n' });
    expect(swallowedOptions({ ...started, npm_config_follow: 'true', npm_config_name: 'me', npm_config_userconfig: join(dir.path, 'npmrc') }, npm)).toEqual([]);
  });

  it('reads npm\'s own setting names from the npm that started us', () => {
    const names = npmSettingNames({ npm_execpath: npmCliPath() });
    expect(names?.has('loglevel')).toBe(true);
    expect(names?.has('follow')).toBe(false);
    expect(npmSettingNames({})).toBeNull();
  });

  it('says, in one line, to put -- before the phase\'s options', () => {
    expect(swallowedMessage('2', ['consume'], [{ option: '--follow', value: 'true' }])).toBe(
      "npm took --follow for itself (npm reads the options before `--`): put -- before the phase's options, as in npm run phase 2 -- consume --follow",
    );
    expect(swallowedMessage('1', ['dump', 'D'], [{ option: '--dir', value: 'true' }])).toBe(
      "npm took --dir for itself (npm reads the options before `--`): put -- before the phase's options, as in npm run phase 1 -- dump --dir …",
    );
  });

  it('a runner started as `npm run phase 2 consume --follow` refuses with that line and exit 2, and starts nothing', async () => {
    writeTree(dir.path, { '02-wire/src/main.ts': "console.log('phase started');\n" });
    // npm's environment as `npm run phase 2 consume --follow` leaves it, in place of the one these tests run in.
    const inherited = Object.fromEntries(Object.keys(process.env).filter((k) => k.startsWith('npm_')).map((k) => [k, undefined]));
    const env = { ...inherited, COURSE_PHASES_DIR: dir.path, npm_lifecycle_event: 'phase', npm_execpath: npmCliPath(), npm_config_follow: 'true', npm_config_loglevel: 'silent', npm_config_global_prefix: '/usr', npm_config_user_agent: 'npm/11' };
    const r = await runCli('course/src/phase.ts', ['2', 'consume'], { env, cwd: repoRoot });
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe("error: npm took --follow for itself (npm reads the options before `--`): put -- before the phase's options, as in npm run phase 2 -- consume --follow\n");
    // The same runner with the options after `--` (no npm_config_follow) runs the phase.
    const ok = await runCli('course/src/phase.ts', ['2', 'consume', '--follow'], { env: { ...env, npm_config_follow: undefined }, cwd: repoRoot });
    expect(ok.stdout).toBe('phase started\n');
    expect(ok.code).toBe(0);
  });
});

describe('npm run phase (subprocess)', () => {
  it('a SIGTERM sent to `npm run phase` itself reaches the phase (no orphaned broker)', async () => {
    const waiting = [
      "process.on('SIGTERM', () => { console.log('phase got SIGTERM'); process.exit(0); });",
      "console.log('phase ready');",
      // If the signal never arrives (the failure this test looks for) we are orphaned
      // when npm is stopped: notice the new parent and exit, so no process outlives the test.
      'const parent = process.ppid;',
      'setInterval(() => { if (process.ppid !== parent) process.exit(1); }, 100);',
    ].join('\n');
    writeTree(dir.path, { '02-wire/src/main.ts': waiting });
    // npm runs a script through `sh -c`, and sh does not pass a SIGTERM on to its child:
    // the `exec` in the package.json script is what makes npm's own signal reach us.
    const npm = spawn('npm', ['run', 'phase', '2'], { cwd: repoRoot, env: { ...process.env, COURSE_PHASES_DIR: dir.path }, stdio: ['ignore', 'pipe', 'pipe'] });
    try {
      const stdout = npm.stdout;
      await waitForLine(stdout, /^phase ready$/);
      const got = waitForLine(stdout, /^phase got SIGTERM$/);
      npm.kill('SIGTERM');
      await got;
    } finally {
      await stopProcess(npm);
    }
  });

  it('`kill -9` of npm itself: the runner notices and SIGKILLs the phase, so nothing is left running', async () => {
    const waiting = [
      "console.log('phase ready ' + process.pid);",
      // Should the runner fail to stop us, end anyway after a while, so no process outlives the test.
      'setTimeout(() => process.exit(3), 30_000);',
    ].join('\n');
    writeTree(dir.path, { '02-wire/src/main.ts': waiting });
    const npm = spawn('npm', ['run', 'phase', '2'], { cwd: repoRoot, env: { ...process.env, COURSE_PHASES_DIR: dir.path }, stdio: ['ignore', 'pipe', 'pipe'] });
    try {
      const [, pid] = await waitForLine(npm.stdout, /^phase ready (\d+)$/);
      npm.kill('SIGKILL');
      const alive = (): boolean => {
        try {
          process.kill(Number(pid), 0);
          return true;
        } catch {
          return false;
        }
      };
      await waitFor(() => !alive(), 10_000, 50);
    } finally {
      await stopProcess(npm);
    }
  });

  it('forwards SIGTERM to the phase and exits with its code', async () => {
    const waiting = [
      "process.on('SIGTERM', () => { console.log('phase got SIGTERM'); process.exit(7); });",
      "console.log('phase ready ' + process.argv.slice(2).join(' '));",
      'setInterval(() => {}, 1000);',
    ].join('\n');
    writeTree(dir.path, { '02-wire/src/main.ts': waiting });
    const child = spawnCli('course/src/phase.ts', ['2', 'serve', '--port', '0'], { env: { COURSE_PHASES_DIR: dir.path }, cwd: repoRoot });
    try {
      const stdout = child.stdout;
      if (stdout === null) throw new Error('no stdout');
      await waitForLine(stdout, /^phase ready serve --port 0$/);
      const got = waitForLine(stdout, /^phase got SIGTERM$/);
      child.kill('SIGTERM');
      await got;
      expect((await waitForExit(child)).code).toBe(7);
    } finally {
      await stopProcess(child);
    }
  });
});
