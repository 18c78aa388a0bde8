/**
 * One vitest project per phase folder, plus the non-phase areas (shared, course,
 * bench, site). Phases are discovered from `phases/`, so a new phase folder joins
 * `npm test` without editing this file. `npm run phase N -- test` selects one project.
 */
import { existsSync, readdirSync } from 'node:fs';
import { defineConfig } from 'vitest/config';

const phaseDirs = readdirSync('phases', { withFileTypes: true })
  .filter((d) => d.isDirectory() && /^\d\d-/.test(d.name))
  .map((d) => d.name)
  .sort();

const areas = ['shared', 'course', 'bench', 'site'].filter((a) => existsSync(`${a}/test`));

export default defineConfig({
  test: {
    reporters: ['default', './shared/src/summary-reporter.ts'],
    projects: [
      ...phaseDirs.map((name) => ({
        test: {
          name,
          root: `phases/${name}`,
          include: ['test/**/*.test.ts'],
          testTimeout: 60_000,
          hookTimeout: 60_000,
        },
      })),
      ...areas.map((name) => ({
        test: {
          name,
          root: name,
          include: ['test/**/*.test.ts'],
          testTimeout: 120_000,
          hookTimeout: 120_000,
        },
      })),
    ],
  },
});
