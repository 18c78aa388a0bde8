/**
 * The summary line CI reads: a real vitest run over fixture files, checking that a
 * file failing outside any test (an import error, a throw in beforeAll) is counted as
 * a failure and not hidden among skipped tests.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../src/testing.ts';

/** Run vitest with only the summary reporter on `files` (name → source); return stdout and exit code. */
async function runVitest(files: Record<string, string>): Promise<{ code: number | null; stdout: string }> {
  // Inside the repository, so the fixtures resolve `vitest` from its node_modules.
  const dir = mkdtempSync(join(repoRoot, 'shared', 'test', '.fixture-'));
  try {
    for (const [name, source] of Object.entries(files)) writeFileSync(join(dir, name), source);
    writeFileSync(join(dir, 'vitest.config.ts'), "export default { test: { include: ['*.test.ts'] } };\n");
    const reporter = join(repoRoot, 'shared', 'src', 'summary-reporter.ts');
    const vitest = join(repoRoot, 'node_modules', 'vitest', 'vitest.mjs');
    const child = spawn(process.execPath, [vitest, 'run', '--root', dir, '--reporter', reporter], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
    return { code, stdout };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const pass = "import { expect, it } from 'vitest';\nit('passes', () => expect(1).toBe(1));\nit.skip('is skipped', () => undefined);\n";
const hookThrows = "import { beforeAll, describe, expect, it } from 'vitest';\ndescribe('s', () => {\n  beforeAll(() => { throw new Error('hook'); });\n  it('never runs', () => expect(1).toBe(1));\n});\n";
const importFails = "import './missing-module.ts';\nimport { it } from 'vitest';\nit('never runs', () => undefined);\n";

describe('summary reporter', () => {
  it('ends with "N passed, N failed, N skipped" and counts files that fail outside a test', async () => {
    const r = await runVitest({ 'a.test.ts': pass, 'b.test.ts': hookThrows, 'c.test.ts': importFails });
    expect(r.stdout.trimEnd().split('\n').at(-1)).toBe('1 passed, 2 failed, 2 skipped');
    expect(r.code).not.toBe(0);
  });

  it('omits the skipped count when nothing was skipped', async () => {
    const r = await runVitest({ 'a.test.ts': "import { it } from 'vitest';\nit('a', () => undefined);\nit('b', () => undefined);\n" });
    expect(r.stdout.trimEnd().split('\n').at(-1)).toBe('2 passed, 0 failed');
    expect(r.code).toBe(0);
  });
});
