/**
 * A vitest reporter that ends the run with one plain line CI can read:
 * `N passed, N failed` (plus `, N skipped` when any test was skipped).
 *
 * A test file that fails to import (syntax error, missing module, a throw at top
 * level) has no tests to count; it is counted as one failure so it cannot hide.
 */
import type { Reporter, TestModule } from 'vitest/node';

export default class SummaryReporter implements Reporter {
  onTestRunEnd(testModules: ReadonlyArray<TestModule>, unhandledErrors: ReadonlyArray<unknown>): void {
    let passed = 0;
    let failed = 0;
    let skipped = 0;
    for (const mod of testModules) {
      let counted = 0;
      for (const test of mod.children.allTests()) {
        counted++;
        const state = test.result().state;
        if (state === 'passed') passed++;
        else if (state === 'failed') failed++;
        else skipped++;
      }
      // A module-level error (import failure, throw in a hook) fails the file even
      // when every counted test passed.
      if (mod.errors().length > 0 || (counted === 0 && mod.state() === 'failed')) failed++;
    }
    failed += unhandledErrors.length;
    const tail = skipped > 0 ? `, ${skipped} skipped` : '';
    process.stdout.write(`\n${passed} passed, ${failed} failed${tail}\n`);
  }
}
