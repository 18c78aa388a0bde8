/**
 * The dependency check every npm script loads before tsx (course/src/preflight.mjs):
 * without node_modules it says "run `npm ci` first" on one line and exits 1, instead
 * of Node's ERR_MODULE_NOT_FOUND stack trace from `--import tsx`; with them it does
 * nothing. And every script that runs TypeScript loads it first and stays one process.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot, tempDir, type TempDir } from '../../shared/src/testing.ts';

let dir: TempDir;
beforeEach(() => {
  dir = tempDir('course-preflight-');
});
afterEach(() => {
  dir.remove();
});

/** A checkout without node_modules: just the preflight file at its place. */
function bareCheckout(): string {
  mkdirSync(join(dir.path, 'course', 'src'), { recursive: true });
  copyFileSync(join(repoRoot, 'course', 'src', 'preflight.mjs'), join(dir.path, 'course', 'src', 'preflight.mjs'));
  return dir.path;
}

describe('preflight', () => {
  it('without npm ci: one line saying to run `npm ci` first, exit 1, before tsx is looked up', () => {
    const root = bareCheckout();
    const r = spawnSync(process.execPath, ['--import', './course/src/preflight.mjs', '--import', 'tsx', '-e', 'console.log("ran")'], { cwd: root, encoding: 'utf8' });
    expect(r.status).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(`error: the dependencies are not installed: run \`npm ci\` first (in ${root})\n`);
    // What the scripts did before: Node's own error and stack trace.
    const before = spawnSync(process.execPath, ['--import', 'tsx', '-e', 'console.log("ran")'], { cwd: root, encoding: 'utf8' });
    expect(before.stderr).toContain('ERR_MODULE_NOT_FOUND');
  });

  it('run on its own (as `npm test` does before tsc and vitest), the same check', () => {
    const root = bareCheckout();
    const r = spawnSync(process.execPath, ['course/src/preflight.mjs'], { cwd: root, encoding: 'utf8' });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^error: the dependencies are not installed: run `npm ci` first/);
  });

  it('with the dependencies installed it does nothing', () => {
    const r = spawnSync(process.execPath, ['--import', './course/src/preflight.mjs', '--import', 'tsx', '-e', 'console.log("ran")'], { cwd: repoRoot, encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('ran\n');
    expect(r.status).toBe(0);
  });

  it('every npm script checks first; those running TypeScript stay one process (exec node …)', () => {
    const scripts = (JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts;
    expect(Object.keys(scripts).length).toBeGreaterThan(0);
    for (const [name, script] of Object.entries(scripts)) {
      if (script.includes('--import tsx')) expect(script, name).toMatch(/^exec node --import \.\/course\/src\/preflight\.mjs --import tsx /);
      else expect(script, name).toMatch(/^node course\/src\/preflight\.mjs && /);
    }
  });
});
