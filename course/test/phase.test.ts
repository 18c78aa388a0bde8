/**
 * The phase runner: argument splitting, resolving `3` / `03` / `03-topics` to a
 * folder, the command it builds (tsx main.ts, or vitest for `test`), exit codes,
 * and one subprocess run on a fixture phase showing that SIGTERM sent to the runner
 * reaches the phase and the runner exits with the phase's code.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { repoRoot, spawnCli, stopProcess, tempDir, waitForExit, waitForLine, type TempDir } from '../../shared/src/testing.ts';
import { main, parsePhaseArgs, phaseCommand, runCommand } from '../src/phase.ts';
import { CourseError, findPhases, resolvePhase } from '../src/phases.ts';
import { basics, writeTree } from './fixtures.ts';

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

  it('names the existing phases when the phase is unknown, with exit code 2', () => {
    const phases = findPhases(dir.path);
    let caught: unknown;
    try {
      resolvePhase(phases, '7');
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(CourseError);
    expect((caught as CourseError).message).toBe('no phase "7"; existing phases: 01-log, 02-wire');
    expect((caught as CourseError).exitCode).toBe(2);
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
    await expect(main(['9'], dir.path)).rejects.toThrow(/existing phases: 01-log, 02-wire/);
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
