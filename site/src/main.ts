/**
 * `npm run site [-- --serve [--port P]] [--out DIR] [--fix-regions]`: build the course
 * site into `site/dist/` (or DIR) and print where it is; with `--serve`, then serve it
 * on 127.0.0.1 (a free port unless `--port` is given) and print the URL until Ctrl-C.
 * `--fix-regions` first rewrites the fenced copy after every include directive in the
 * repository's markdown from its source region (`regions.ts`), then builds.
 *
 * Progress goes to stderr; the path (or URL) is the one line on stdout, for scripts.
 * A failed build prints every problem and exits 1; bad arguments exit 2.
 */
import { relative, resolve } from 'node:path';
import { buildSite } from './build.ts';
import { createMarkdown } from './markdown.ts';
import { fixRegionCopies } from './regions.ts';
import { SiteBuildError } from './problems.ts';
import { serveStatic } from './serve.ts';

/** Parsed command line. */
export interface SiteArgs {
  readonly serve: boolean;
  readonly port: number;
  readonly out: string | null;
  /** Rewrite stale region copies in markdown before building. */
  readonly fixRegions: boolean;
}

const USAGE = 'usage: npm run site [-- --serve [--port P]] [--out DIR] [--fix-regions]';

/**
 * Parse the site command's arguments; throws a one-line message on bad input.
 * @example parseArgs(['--serve', '--port', '8080']) // { serve: true, port: 8080, out: null, fixRegions: false }
 */
export function parseArgs(argv: readonly string[]): SiteArgs {
  let serve = false;
  let port = 0;
  let out: string | null = null;
  let fixRegions = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--serve') serve = true;
    else if (arg === '--fix-regions') fixRegions = true;
    else if (arg === '--port' || arg === '--out') {
      const value = argv[++i];
      if (value === undefined) throw new Error(`${arg} needs a value`);
      if (arg === '--out') out = value;
      else {
        port = Number(value);
        if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`--port must be an integer in 0..65535, got "${value}"`);
      }
    } else if (arg === '--help' || arg === '-h') throw new Error(USAGE);
    else throw new Error(`unknown argument "${arg}"`);
  }
  if (port !== 0 && !serve) throw new Error('--port only makes sense with --serve');
  return { serve, port, out, fixRegions };
}

async function main(): Promise<void> {
  let args: SiteArgs;
  try {
    args = parseArgs(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`site: ${(err as Error).message}\n${(err as Error).message === USAGE ? '' : `${USAGE}\n`}`);
    process.exit(2);
  }
  const root = resolve(import.meta.dirname, '..', '..');
  const out = args.out === null ? resolve(root, 'site', 'dist') : resolve(args.out);
  const started = process.hrtime.bigint();
  if (args.fixRegions) {
    // Problems a rewrite cannot fix are left for the build to report with the rest.
    const fixed = fixRegionCopies(root, createMarkdown());
    for (const { file, copies } of fixed.rewritten) process.stderr.write(`site: rewrote ${copies} region cop${copies === 1 ? 'y' : 'ies'} in ${file}\n`);
    if (fixed.rewritten.length === 0) process.stderr.write('site: every region copy is up to date\n');
  }
  try {
    const result = await buildSite({ root, out, log: (line) => process.stderr.write(`site: ${line}\n`) });
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    process.stderr.write(
      `site: built ${result.phases.length} phase(s), ${result.pageCount} pages, ${result.linkCount} links checked, in ${seconds.toFixed(1)} s\n` +
        `site: open ${relative(process.cwd(), resolve(out, 'index.html')) || 'index.html'} in a browser, or run npm run site -- --serve\n`,
    );
  } catch (err) {
    if (err instanceof SiteBuildError) {
      process.stderr.write(`site: build failed (${err.problems.length} problem${err.problems.length === 1 ? '' : 's'}):\n${err.problems.map((p) => `  - ${p}\n`).join('')}`);
      process.exit(1);
    }
    throw err;
  }
  if (!args.serve) {
    process.stdout.write(`${out}\n`);
    return;
  }
  const server = await serveStatic(out, { port: args.port });
  process.stdout.write(`${server.url}\n`);
  process.stderr.write('site: serving on 127.0.0.1; Ctrl-C to stop\n');
  const stop = (): void => {
    void server.close().then(() => process.exit(0));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === resolve(import.meta.filename)) {
  await main();
}
