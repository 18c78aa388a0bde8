/**
 * The one error type the site builder throws. Every stage (loading the course,
 * rendering markdown, resolving repository links, typedoc, the link checker) collects
 * what is wrong as plain one-line messages instead of stopping at the first, so a
 * single failed build tells the author everything to fix. `main.ts` prints them and
 * exits non-zero; tests assert on them.
 */

/** A failed site build: `problems` holds one human-readable line per defect. */
export class SiteBuildError extends Error {
  /** Stable code for callers that switch on error kinds. */
  readonly code = 'SITE_BUILD_FAILED';
  /** One line per defect, e.g. `phases/01-log/README.md: broken link "src/nope.ts" (no such file)`. */
  readonly problems: readonly string[];

  /**
   * @example
   * throw new SiteBuildError(['phases/02-wire has no README.md (every phase needs its writeup)']);
   */
  constructor(problems: readonly string[]) {
    super(`site build failed:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'SiteBuildError';
    this.problems = problems;
  }
}

/** Throw a {@link SiteBuildError} when `problems` is not empty. */
export function failOnProblems(problems: readonly string[]): void {
  if (problems.length > 0) throw new SiteBuildError(problems);
}
