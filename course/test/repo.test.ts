/**
 * The course check on this repository: every phase's phase.json matches what the
 * phase actually adds, changes and removes, and phase code uses the seams. This is
 * how the check runs as part of `npm test`; `npm run course -- check` prints the
 * same problems.
 */
import { describe, expect, it } from 'vitest';
import { checkCourse, formatProblem } from '../src/check.ts';
import { defaultPhasesDir } from '../src/phases.ts';

describe('this repository', () => {
  it('passes the course check (snapshot manifests, required files, seams)', () => {
    const { problems } = checkCourse(defaultPhasesDir);
    expect(problems.map(formatProblem)).toEqual([]);
  });
});
