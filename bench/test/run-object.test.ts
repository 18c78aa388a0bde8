import { describe, expect, it } from 'vitest';
import { runSchema, validateRunObject, type RunObject } from '../src/run-object.ts';

/** A complete, valid run object (the shape --json prints). */
function sampleRun(): RunObject {
  return {
    schema: runSchema, kind: 'run', label: 'phase 2 broker', target: 'phase02', phase: 2, mode: 'served',
    startedAt: '2026-01-01T00:00:00.000Z', recordsPerSec: 812.4, requestsPerSec: 812.4, mbPerSec: 0.081,
    records: 4062, requests: 4062, valueBytes: 406_200, errors: 0, timedOut: 0, firstError: null,
    latencyMs: { p50: 600, p90: 700, p99: 750, p999: 790, max: 801, mean: 610 },
    latencyCurveMs: [[50, 600], [100, 801]],
    brokerCpuMs: 3100, brokerCpuCores: 0.62, loadgenCpuMs: 2000, generatorLagMs: { p99: null, max: null },
    workload: {
      producers: 500, recordBytes: 100, recordsPerSend: 1, warmupSec: 1, durationSec: 5, workers: 2,
      loop: 'closed', targetRatePerSec: null, transport: 'TCP 127.0.0.1', ack: "after the broker's fsync",
    },
    machine: { cores: 2, cpuModel: 'AMD EPYC', node: 'v20.20.2', os: 'Linux', memoryGiB: 24, dataFs: 'ext4 /dev/vda', loadAvg1m: 0.5 },
    command: 'npm run bench', notes: [],
  };
}

describe('run object schema', () => {
  it('accepts a complete run object, and one with no latency samples (nulls)', () => {
    expect(validateRunObject(sampleRun())).toEqual([]);
    const empty = { ...sampleRun(), latencyMs: { p50: null, p90: null, p99: null, p999: null, max: null, mean: null }, latencyCurveMs: [] };
    expect(validateRunObject(empty)).toEqual([]);
  });

  it('accepts a JSON round trip (what scripts read)', () => {
    expect(validateRunObject(JSON.parse(JSON.stringify(sampleRun())))).toEqual([]);
  });

  it.each([
    ['recordsPerSec', undefined],
    ['recordsPerSec', Number.NaN],
    ['mode', 'fast'],
    ['phase', 0],
    ['command', ''],
    ['latencyMs', { p50: 1 }],
    ['workload', { producers: 500 }],
    ['machine', null],
    ['brokerCpuMs', 'lots'],
  ])('rejects a run whose %s is %j', (key, value) => {
    const bad = { ...sampleRun(), [key]: value } as Record<string, unknown>;
    if (value === undefined) delete bad[key];
    const problems = validateRunObject(bad);
    expect(problems.length).toBeGreaterThan(0);
    expect(problems.join('\n')).toContain(key);
  });

  it('requires the search summary on a find-max object', () => {
    expect(validateRunObject({ ...sampleRun(), kind: 'find-max' })).not.toEqual([]);
    expect(validateRunObject({ ...sampleRun(), kind: 'find-max', findMax: { p99MsMax: 20, maxRatePerSec: 400, steps: [] } })).toEqual([]);
  });
});
