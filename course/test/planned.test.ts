/**
 * What exists and what is planned is said the same way everywhere: the runner's and
 * the diff's messages (course/src/phases.ts, PLANNED_PHASES), the map in
 * course/introduction.md, the README's layout, and the site's home page
 * (site/src/repo.ts). Phases 1-8, each either a folder or planned, and nothing else.
 */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PLANNED_PHASES as SITE_PLANNED } from '../../site/src/repo.ts';
import { repoRoot } from '../../shared/src/testing.ts';
import { main as diffMain } from '../src/diff.ts';
import { PLANNED_PHASES, findPhases } from '../src/phases.ts';
import { basics, writeTree } from './fixtures.ts';
import { tempDir } from '../../shared/src/testing.ts';

const read = (rel: string): string => readFileSync(join(repoRoot, rel), 'utf8');

describe('planned phases', () => {
  it('the written phases and the planned ones are 1-8, each once', () => {
    const written = findPhases().map((p) => p.num);
    const planned = PLANNED_PHASES.filter((p) => !written.includes(p.num)).map((p) => p.num);
    expect([...written, ...planned].sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
  });

  it('introduction.md, the README and the site name the same planned folders', () => {
    const intro = read('course/introduction.md');
    const readme = read('README.md');
    for (const p of PLANNED_PHASES) {
      expect(intro, p.name).toMatch(new RegExp(`^\\| ${p.num} \\| \`${p.name}\` \\|`, 'm'));
      expect(readme, p.name).toMatch(new RegExp(`^  ${p.name}/ .*\\(planned`, 'm'));
      expect(SITE_PLANNED.find((s) => s.number === p.num)?.name, p.name).toBe(p.name);
    }
  });

  it('npm run diff says a planned phase is planned, and 9 is no phase (not "no phase 8")', async () => {
    const dir = tempDir('course-planned-');
    try {
      writeTree(dir.path, { ...basics('01-log'), ...basics('02-wire') });
      await expect(diffMain(['9', '--phases-dir', dir.path])).rejects.toThrow(/^no phase "9"; written: 1-2 \(01-log, 02-wire\); planned: 7-8$/);
      await expect(diffMain(['7', '--phases-dir', dir.path])).rejects.toThrow(/^phase 7 \(07-simulator: deterministic simulation with injected faults\) is planned, not written yet; /);
    } finally {
      dir.remove();
    }
  });
});
