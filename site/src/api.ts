/**
 * API reference pages: one typedoc run per phase, all in this process, into
 * `phases/NN/api/`. Entry points are the phase's `src/index.ts` when it has one, else
 * every `src/**\/*.ts`. The program is the phase's tsconfig (or the root one) with its
 * file list cut down to `src/`, so a type error in a test does not stop the docs, but
 * one in `src/` does.
 *
 * Works in a fresh clone without a git remote: `disableGit` with a
 * `sourceLinkTemplate` that points "Defined in src/log.ts:42" at our own source page
 * (`src/log.ts.html#L42`). Links typedoc must emit before it knows the page depth
 * (source links, the "Writeup"/"Course" toolbar links) use the placeholder
 * {@link SITE_ROOT_PLACEHOLDER}, replaced by a relative path in every written page.
 *
 * Every typedoc warning or error (unresolved `{@link}`, a referenced but unexported
 * type, a compile error in `src/`) is collected and fails the build.
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { Application, Logger, LogLevel } from 'typedoc';
import type { Phase } from './repo.ts';
import { sitePathFor } from './repo.ts';

/** Stands for "the site root, relative to this page" inside typedoc's output. */
export const SITE_ROOT_PLACEHOLDER = '__site_root__/';

/** Languages typedoc may highlight in doc comments (others would be a warning). */
const HIGHLIGHT_LANGUAGES = [
  'bash', 'console', 'css', 'diff', 'html', 'javascript', 'js', 'json', 'jsonc', 'sh',
  'shellscript', 'text', 'ts', 'tsx', 'typescript', 'yaml',
];

/** A typedoc logger that keeps every warning and error instead of printing it. */
class CollectingLogger extends Logger {
  readonly messages: string[] = [];
  override log(message: string, level: LogLevel): void {
    if (level >= LogLevel.Warn) this.messages.push(`${level >= LogLevel.Error ? 'error' : 'warning'}: ${message}`);
  }
}

/**
 * One line per typedoc message: colours stripped, the code excerpt TypeScript adds
 * after the first line dropped, paths made relative to the repository root.
 * @example conciseMessage('error: \x1b[96m../repo/phases/01-log/src/a.ts\x1b[0m:3:1 - error TS2307: …\n  3 import …', '/x/repo')
 */
export function conciseMessage(message: string, root: string): string {
  // eslint-disable-next-line no-control-regex
  const plain = message.replace(/\x1b\[[0-9;]*m/g, '');
  const first = plain.split('\n').find((line) => line.trim() !== '') ?? plain;
  const fromCwd = relative(process.cwd(), root);
  let line = fromCwd === '' ? first : first.replaceAll(fromCwd + sep, '');
  line = line.replaceAll(root + sep, '');
  return line.replace(/\s+/g, ' ').trim();
}

/** The TypeScript files of a phase that typedoc documents. */
export function apiEntryPoints(phase: Phase): string[] {
  if (phase.files.includes('src/index.ts')) return ['src/index.ts'];
  return phase.files.filter((f) => f.startsWith('src/') && f.endsWith('.ts') && !f.endsWith('.d.ts'));
}

/**
 * Finish typedoc's HTML under `dir` (the API folder of the phase in `phaseDir`):
 * source links into files outside the phase (inherited members of `Error`, Node's
 * types) lose their link and keep their text, since the site publishes no
 * `node_modules`; then the site-root placeholder becomes the relative path from each
 * page to the site root `siteRoot`.
 */
export function resolvePlaceholders(siteRoot: string, dir: string, phaseDir: string): void {
  const escaped = phaseDir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const outside = new RegExp(`<a href="${SITE_ROOT_PLACEHOLDER}${escaped}/\\.\\./[^"]*"[^>]*>([^<]*)</a>`, 'g');
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const abs = join(dir, entry.name);
    if (entry.isDirectory()) {
      resolvePlaceholders(siteRoot, abs, phaseDir);
    } else if (entry.name.endsWith('.html')) {
      const html = readFileSync(abs, 'utf8');
      if (!html.includes(SITE_ROOT_PLACEHOLDER)) continue;
      const depth = relative(siteRoot, dir).split(sep).filter((s) => s !== '').length;
      const fixed = html
        .replace(outside, (_m, text: string) => text.replace(/^(?:\.\.\/)+(?:.*\/)?(node_modules\/)/, '$1'))
        .replaceAll(SITE_ROOT_PLACEHOLDER, depth === 0 ? '' : '../'.repeat(depth));
      writeFileSync(abs, fixed);
    }
  }
}

/**
 * Run typedoc for one phase into `<outRoot>/phases/NN/api/`. Returns the problems
 * (typedoc warnings and errors, prefixed with the phase folder); empty on success.
 * @param root absolute repository root
 * @param outRoot absolute site output directory
 * @param title the API pages' title, e.g. `Phase 1 API: The segmented commit log`
 */
export async function buildPhaseApi(root: string, outRoot: string, phase: Phase, title: string): Promise<string[]> {
  const phaseAbs = join(root, phase.dir);
  const entries = apiEntryPoints(phase);
  const out = join(outRoot, phase.dir, 'api');
  const tsconfig = existsSync(join(phaseAbs, 'tsconfig.json')) ? join(phaseAbs, 'tsconfig.json') : join(root, 'tsconfig.json');
  const writeupHref = SITE_ROOT_PLACEHOLDER + sitePathFor(`${phase.dir}/README.md`, 'file');
  const app = await Application.bootstrapWithPlugins({
    name: title,
    entryPoints: entries.map((e) => join(phaseAbs, e)),
    entryPointStrategy: 'resolve',
    tsconfig,
    plugin: [],
    readme: 'none',
    disableGit: true,
    basePath: phaseAbs,
    displayBasePath: phaseAbs,
    sourceLinkTemplate: `${SITE_ROOT_PLACEHOLDER}${phase.dir}/{path}.html#L{line}`,
    navigationLinks: { Writeup: writeupHref, Course: `${SITE_ROOT_PLACEHOLDER}index.html` },
    hideGenerator: true,
    githubPages: false,
    cacheBust: false,
    includeVersion: false,
    cleanOutputDir: true,
    favicon: join(import.meta.dirname, '..', 'assets', 'favicon.svg'),
    highlightLanguages: HIGHLIGHT_LANGUAGES,
    treatWarningsAsErrors: true,
    skipErrorChecking: false,
  });
  const where = `${phase.dir} (typedoc)`;
  if (app.logger.hasErrors() || app.logger.hasWarnings()) {
    return [`${where}: typedoc options were rejected (see the messages above)`];
  }
  const logger = new CollectingLogger();
  app.logger = logger;
  // Documentation covers src/ only: tests may use helpers the docs must not depend on.
  const srcFiles = phase.files.filter((f) => f.startsWith('src/') && /\.(ts|tsx|mts|cts)$/.test(f)).map((f) => join(phaseAbs, f));
  app.options.setCompilerOptions(srcFiles, app.options.getCompilerOptions(logger), app.options.getProjectReferences());
  const project = await app.convert();
  if (project !== undefined && logger.messages.length === 0) {
    app.validate(project);
    if (logger.messages.length === 0) await app.generateDocs(project, out);
  }
  if (project === undefined && logger.messages.length === 0) logger.messages.push('error: typedoc could not convert the project');
  if (logger.messages.length > 0) return logger.messages.map((m) => `${where}: ${conciseMessage(m, root)}`);
  resolvePlaceholders(outRoot, out, phase.dir);
  return [];
}
