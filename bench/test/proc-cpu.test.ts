import { describe, expect, it } from 'vitest';
import { parseProcStat, processTreeCpuMs, treeCpuTicks, type ProcStat } from '../src/proc-cpu.ts';

describe('/proc CPU time', () => {
  it('parses a stat line whose command name contains spaces and parentheses', () => {
    const line = '4242 (node (tsx) x) S 4200 4242 4200 0 -1 4194560 500 0 0 0 120 30 7 3 20 0 11 0 1000 1 1 ...';
    expect(parseProcStat(line)).toEqual({ pid: 4242, ppid: 4200, cpuTicks: 120 + 30 + 7 + 3 });
    expect(parseProcStat('garbage')).toBeNull();
  });

  it('sums a process and all its descendants, not its siblings', () => {
    const s = (pid: number, ppid: number, cpuTicks: number): ProcStat => ({ pid, ppid, cpuTicks });
    const stats = [s(1, 0, 1000), s(10, 1, 5), s(11, 10, 7), s(12, 11, 11), s(20, 1, 100)];
    expect(treeCpuTicks(stats, 10)).toBe(23); // tsx → node → esbuild
    expect(Number.isNaN(treeCpuTicks(stats, 99))).toBe(true);
  });

  it.skipIf(process.platform !== 'linux')('reads this process tree', () => {
    const ms = processTreeCpuMs(process.pid);
    expect(Number.isFinite(ms)).toBe(true);
    expect(ms).toBeGreaterThan(0);
  });
});
