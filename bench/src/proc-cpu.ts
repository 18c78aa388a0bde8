/**
 * CPU time of another process tree, read from Linux `/proc/<pid>/stat`.
 *
 * The broker runs as one node process under tsx's loader, but tsx may start esbuild
 * as a child and a target may fork helpers (redis-server does, to rewrite its AOF), so
 * the cost is summed over the spawned process and every descendant. Fields used from `stat` (1-based, after the `comm`
 * field in parentheses, which may itself contain spaces and parentheses):
 * 4 ppid, 14 utime, 15 stime, 16 cutime, 17 cstime — all times in clock ticks.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

/** The parts of `/proc/<pid>/stat` the harness uses. */
export interface ProcStat {
  readonly pid: number;
  readonly ppid: number;
  /** utime + stime + cutime + cstime, in clock ticks. */
  readonly cpuTicks: number;
}

/** Parse one `/proc/<pid>/stat` line; null if it does not look like one. */
export function parseProcStat(text: string): ProcStat | null {
  const open = text.indexOf('(');
  const close = text.lastIndexOf(')');
  if (open < 0 || close < open) return null;
  const pid = Number(text.slice(0, open).trim());
  // After ") " come fields 3.. : state, ppid, pgrp, ... ; index 0 here is field 3.
  const rest = text.slice(close + 2).trim().split(/\s+/);
  const field = (n: number): number => Number(rest[n - 3]);
  const ppid = field(4);
  const ticks = field(14) + field(15) + field(16) + field(17);
  if (!Number.isInteger(pid) || !Number.isInteger(ppid) || !Number.isFinite(ticks)) return null;
  return { pid, ppid, cpuTicks: ticks };
}

let clockTicksPerSec: number | undefined;

/** `getconf CLK_TCK` (almost always 100), read once. */
export function clockTicksPerSecond(): number {
  if (clockTicksPerSec === undefined) {
    try {
      clockTicksPerSec = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      clockTicksPerSec = 100;
    }
  }
  return clockTicksPerSec;
}

function readAllStats(): ProcStat[] {
  const stats: ProcStat[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const s = parseProcStat(readFileSync(`/proc/${name}/stat`, 'utf8'));
      if (s) stats.push(s);
    } catch {
      // The process exited between readdir and read: it is no longer part of any tree.
    }
  }
  return stats;
}

/** Sum the CPU ticks of `rootPid` and all its descendants among `stats`. */
export function treeCpuTicks(stats: readonly ProcStat[], rootPid: number): number {
  const children = new Map<number, ProcStat[]>();
  let root: ProcStat | undefined;
  for (const s of stats) {
    if (s.pid === rootPid) root = s;
    const list = children.get(s.ppid) ?? [];
    list.push(s);
    children.set(s.ppid, list);
  }
  if (!root) return Number.NaN;
  let total = 0;
  const stack: ProcStat[] = [root];
  const seen = new Set<number>();
  while (stack.length > 0) {
    const s = stack.pop() as ProcStat;
    if (seen.has(s.pid)) continue;
    seen.add(s.pid);
    total += s.cpuTicks;
    stack.push(...(children.get(s.pid) ?? []));
  }
  return total;
}

/** Pids of `rootPid` and its descendants (for a last-resort kill of a tree we started). */
export function processTreePids(rootPid: number): number[] {
  if (process.platform !== 'linux') return [rootPid];
  const stats = readAllStats();
  const pids: number[] = [];
  const stack = [rootPid];
  while (stack.length > 0) {
    const pid = stack.pop() as number;
    pids.push(pid);
    for (const s of stats) if (s.ppid === pid && !pids.includes(s.pid)) stack.push(s.pid);
  }
  return pids;
}

/** CPU time (user + system) of a process tree in ms; NaN if not on Linux or the process is gone. */
export function processTreeCpuMs(rootPid: number): number {
  if (process.platform !== 'linux') return Number.NaN;
  return (treeCpuTicks(readAllStats(), rootPid) * 1000) / clockTicksPerSecond();
}
