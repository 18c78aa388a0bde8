/**
 * `npm run course -- <command>`: the maintenance commands of the course.
 *
 *   check                  verify the snapshot rule and the seam rule for every phase
 *   carry <phase> <file>   copy a fix forward to later phases that carry the same code
 *   list                   print the phases with their titles and summaries
 *
 * The logic lives in check.ts and carry.ts; this file parses arguments and prints.
 * Results go to stdout as plain lines; errors are one `error: …` line on stderr.
 */
import { parseArgs } from 'node:util';
import { carry, formatCarry } from './carry.ts';
import { checkCourse, formatProblem, readManifest } from './check.ts';
import { CourseError, defaultPhasesDir, findPhases, isMainModule, repoRoot, runMain } from './phases.ts';

/** The usage text printed by `help` and on a usage error. */
export const USAGE = `usage: npm run course -- <command>

commands:
  check [--phases-dir DIR]                 check the snapshot rule (phase.json manifests) and the seam rule
  carry <phase> <file> [--from-rev REV] [--dry-run]
                                           copy a fixed file to each later phase whose copy equals the
                                           old version (from git, default HEAD); stops at the first phase
                                           that changed the file
  list [--phases-dir DIR]                  print the phases with their titles and summaries
  help                                     print this text`;

/** Run `course check` on a phases folder; returns the exit code. */
export function runCheck(phasesDir: string, out: (line: string) => void): number {
  const { phases, problems } = checkCourse(phasesDir);
  for (const p of problems) out(formatProblem(p));
  if (problems.length > 0) {
    out(`course check: ${problems.length} problem${problems.length === 1 ? '' : 's'} in ${phases.length} phase${phases.length === 1 ? '' : 's'}`);
    return 1;
  }
  out(`course check: ${phases.length} phase${phases.length === 1 ? '' : 's'} OK`);
  return 0;
}

/** The lines of `course list`. */
export function listLines(phasesDir: string): string[] {
  const lines: string[] = [];
  for (const phase of findPhases(phasesDir)) {
    const { manifest } = readManifest(phase.path);
    const title = manifest !== null && manifest.title !== '' ? manifest.title : '(no title: phase.json missing or invalid)';
    lines.push(`${phase.name.padEnd(18)} ${title}`);
    if (manifest !== null && manifest.summary !== '') lines.push(`${''.padEnd(18)} ${manifest.summary}`);
  }
  return lines;
}

/** Parse the arguments and run one command; returns the exit code. */
export async function main(argv: readonly string[]): Promise<number> {
  const out = (line: string): void => {
    process.stdout.write(`${line}\n`);
  };
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      options: {
        'phases-dir': { type: 'string' },
        'from-rev': { type: 'string' },
        'dry-run': { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (err) {
    throw new CourseError(`${err instanceof Error ? err.message : String(err)} (see npm run course -- help)`, 2);
  }
  const [command, ...rest] = parsed.positionals;
  const phasesDir = parsed.values['phases-dir'] ?? defaultPhasesDir;
  if (command === undefined || command === 'help' || parsed.values.help === true) {
    out(USAGE);
    return command === undefined && parsed.values.help !== true ? 2 : 0;
  }
  const expectArgs = (n: number, shape: string): void => {
    if (rest.length !== n) throw new CourseError(`${command} takes ${shape} (see npm run course -- help)`, 2);
  };
  switch (command) {
    case 'check':
      expectArgs(0, 'no arguments');
      return runCheck(phasesDir, out);
    case 'list':
      expectArgs(0, 'no arguments');
      for (const line of listLines(phasesDir)) out(line);
      return 0;
    case 'carry': {
      expectArgs(2, '<phase> <file>');
      const fromRev = parsed.values['from-rev'] ?? 'HEAD';
      const dryRun = parsed.values['dry-run'] === true;
      const result = carry({ repoRoot, phase: rest[0] ?? '', file: rest[1] ?? '', fromRev, dryRun });
      for (const line of formatCarry(result, fromRev, dryRun)) out(line);
      if (!result.unchanged) out('run `npm run course -- check` to confirm the phase.json manifests still match');
      return 0;
    }
    default:
      throw new CourseError(`unknown command ${JSON.stringify(command)}; commands: check, carry, list, help`, 2);
  }
}

if (isMainModule(import.meta.url)) runMain(() => main(process.argv.slice(2)));
