/**
 * The machine and invocation a result was measured on. Absolute figures only mean
 * something next to these: cores, CPU model, Node version, OS, the filesystem the
 * data lived on (fsync cost is the disk's), and the load average when the run
 * started (this machine may be shared).
 */
import { readFileSync, realpathSync } from 'node:fs';
import { cpus, loadavg, release, totalmem, type as osType, arch } from 'node:os';

/** Machine description stored in every run object. */
export interface MachineInfo {
  cores: number;
  cpuModel: string;
  node: string;
  os: string;
  memoryGiB: number;
  /** Filesystem type and device holding the data directory (e.g. "ext4 /dev/vda"). */
  dataFs: string;
  loadAvg1m: number;
}

function cpuModel(): string {
  try {
    const m = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'));
    if (m?.[1]) return m[1].trim();
  } catch {
    // not Linux
  }
  return cpus()[0]?.model ?? 'unknown';
}

/** "ext4 /dev/vda" for the mount holding `path` (longest matching mount point), or "unknown". */
export function filesystemOf(path: string): string {
  try {
    const real = realpathSync(path);
    let best = { point: '', text: 'unknown' };
    for (const line of readFileSync('/proc/mounts', 'utf8').split('\n')) {
      const [device, point, type] = line.split(' ');
      if (!device || !point || !type) continue;
      const inside = real === point || real.startsWith(point.endsWith('/') ? point : `${point}/`);
      if (inside && point.length >= best.point.length) best = { point, text: `${type} ${device}` };
    }
    return best.text;
  } catch {
    return 'unknown';
  }
}

/** Describe this machine; `dataDir` is where target data is written. */
export function machineInfo(dataDir: string): MachineInfo {
  return {
    cores: cpus().length,
    cpuModel: cpuModel(),
    node: process.version,
    os: `${osType()} ${release()} ${arch()}`,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    dataFs: filesystemOf(dataDir),
    loadAvg1m: Math.round((loadavg()[0] ?? 0) * 100) / 100,
  };
}

function quote(arg: string): string {
  return /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
}

/** The command line as the user typed it: `npm run bench -- …` when run through npm. */
export function commandLine(argv: readonly string[] = process.argv.slice(2)): string {
  const args = argv.map(quote).join(' ');
  if (process.env.npm_lifecycle_event === 'bench') return args === '' ? 'npm run bench' : `npm run bench -- ${args}`;
  return `tsx bench/src/main.ts${args === '' ? '' : ` ${args}`}`;
}
