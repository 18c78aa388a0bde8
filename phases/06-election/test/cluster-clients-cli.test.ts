/**
 * The client commands against a cluster, as a learner runs them: three broker processes
 * started with `serve --cluster FILE --id N --dir D` on free loopback ports, then
 * `describe-topic`, `create-topic`, `topics`, `produce`, `consume` and `consume --group`
 * with `--bootstrap-server`, each naming one or two brokers only. Then the leader of a
 * partition is killed: a produce to it fails within its delivery timeout with the Kafka
 * error name (leaders are fixed in phase 5, so nothing takes over), and describe-topic
 * shows the dead leader's partition as unknown and the ISR of the others shrinking.
 * Usage errors of the new options are one line and exit 2, before any connection.
 */
import type { ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { freePort, runCli, spawnCli, stopProcess, tempDir, waitFor, waitForExit, waitForLine } from '../../../shared/src/testing.ts';
import { partitionForKey } from '../src/client/murmur2.ts';

/** This phase's CLI, found from this file so a later phase's copy runs its own. */
const MAIN = fileURLToPath(new URL('../src/main.ts', import.meta.url));
const REPLICAS = [
  [1, 2, 3],
  [2, 3, 1],
  [3, 1, 2],
];

/** The describe-topic line of one partition. */
const line = (p: number, isr: string, hw: number | '-', leo: number | '-'): string =>
  `Topic: t\tPartition: ${p}\tLeader: ${REPLICAS[p]?.[0]}\tReplicas: ${REPLICAS[p]?.join(',')}\tIsr: ${isr}\tHighWatermark: ${hw}\tLogEndOffset: ${leo}`;

describe('client commands with --bootstrap-server, against three broker processes over TCP', () => {
  it('produce, consume (plain and in a group) and describe-topic through any broker; create-topic refused; a dead leader fails produce in time', async () => {
    const tmp = tempDir('cluster-clients-cli-');
    const children = new Map<number, ChildProcess>();
    try {
      const ports = new Set<number>();
      while (ports.size < 3) ports.add(await freePort());
      const [p1 = 0, p2 = 0, p3 = 0] = [...ports];
      const portOf = new Map([
        [1, p1],
        [2, p2],
        [3, p3],
      ]);
      const clusterPath = join(tmp.path, 'cluster.json');
      writeFileSync(
        clusterPath,
        JSON.stringify({
          brokers: [1, 2, 3].map((id) => ({ id, host: '127.0.0.1', port: portOf.get(id) })),
          topics: [{ name: 't', replicas: REPLICAS }],
          minInsyncReplicas: 2,
          replicaLagTimeMaxMs: 1000,
        }),
      );
      for (const id of [1, 2, 3]) {
        children.set(id, spawnCli(MAIN, ['serve', '--cluster', clusterPath, '--id', String(id), '--dir', join(tmp.path, `b${id}`), '--replica-fetch-wait-ms', '200']));
      }
      await Promise.all([1, 2, 3].map((id) => waitForLine(children.get(id)?.stdout as NodeJS.ReadableStream, new RegExp(`^listening on 127\\.0\\.0\\.1:${portOf.get(id)}$`))));
      const servers = (...ids: number[]): string => ids.map((id) => `127.0.0.1:${portOf.get(id)}`).join(',');

      const [fresh, refused, listed] = await Promise.all([
        runCli(MAIN, ['describe-topic', '--bootstrap-server', servers(2), '--topic', 't']),
        runCli(MAIN, ['create-topic', '--bootstrap-server', servers(3), '--name', 'extra', '--partitions', '1']),
        runCli(MAIN, ['topics', '--bootstrap-server', servers(1, 2)]),
      ]);
      expect([fresh.code, fresh.stderr]).toEqual([0, '']);
      expect(fresh.stdout).toBe(`${[0, 1, 2].map((p) => line(p, REPLICAS[p]?.join(',') ?? '', 0, 0)).join('\n')}\n`);
      expect([refused.code, refused.stdout]).toEqual([1, '']);
      expect(refused.stderr).toBe('error: POLICY_VIOLATION: topics are static in a phase-5 cluster: add the topic to the cluster file and restart the brokers\n');
      expect([listed.code, listed.stderr]).toEqual([0, '']);
      expect(listed.stdout).toMatch(/^t\t3$/m);
      expect(listed.stdout).not.toMatch(/^extra\t/m);

      // Keyed records through broker 3 alone: each lands on its key's partition, at its leader.
      const keys = Array.from({ length: 24 }, (_, i) => `user-${i}`);
      const produced = await runCli(MAIN, ['produce', '--bootstrap-server', servers(3), '--topic', 't', '--key-separator', ':'], {
        input: keys.map((k, i) => `${k}:event-${i}\n`).join(''),
      });
      expect(produced.code, produced.stderr).toBe(0);
      const landed = produced.stdout.trimEnd().split('\n').map((l) => l.split('\t').map(Number));
      expect(landed.map(([p]) => p)).toEqual(keys.map((k) => partitionForKey(Buffer.from(k), 3)));
      const counts = [0, 1, 2].map((p) => landed.filter(([q]) => q === p).length);
      expect(counts.every((n) => n > 0)).toBe(true);

      const [described, consumed, grouped, unknown] = await Promise.all([
        runCli(MAIN, ['describe-topic', '--bootstrap-server', servers(1), '--topic', 't']),
        runCli(MAIN, ['consume', '--bootstrap-server', servers(1), '--topic', 't']),
        runCli(MAIN, ['consume', '--bootstrap-server', servers(2, 3), '--topic', 't', '--group', 'g', '--max', String(keys.length)]),
        runCli(MAIN, ['produce', '--bootstrap-server', servers(2), '--topic', 'other-than-t', '--acks', '1'], { input: 'x\n' }),
      ]);
      // acks=all was answered: each leader's high watermark covers its records.
      expect(described.stdout).toBe(`${[0, 1, 2].map((p) => line(p, REPLICAS[p]?.join(',') ?? '', counts[p] ?? -1, counts[p] ?? -1)).join('\n')}\n`);
      expect(consumed.code, consumed.stderr).toBe(0);
      const rows = consumed.stdout.trimEnd().split('\n').map((l) => l.split('\t'));
      expect(rows.map(([p, o, k, v]) => `${p}/${o}/${k}/${v}`).sort()).toEqual(keys.map((k, i) => `${landed[i]?.[0]}/${landed[i]?.[1]}/${k}/event-${i}`).sort());
      expect(grouped.code, grouped.stderr).toBe(0);
      expect(grouped.stderr).toMatch(/assigned t-0 t-1 t-2/);
      expect(grouped.stdout.trimEnd().split('\n').map((l) => l.split('\t').slice(0, 2).join('/')).sort()).toEqual(landed.map(([p, o]) => `${p}/${o}`).sort());
      // Topics are static: producing to another one is an unknown topic, not an auto-created one.
      expect([unknown.code, unknown.stderr]).toEqual([1, 'error: UNKNOWN_TOPIC_OR_PARTITION: topic "other-than-t" (1 of 1 records not acknowledged)\n']);
      const [one, groups, group] = await Promise.all([
        runCli(MAIN, ['produce', '--bootstrap-server', servers(2), '--topic', 't', '--partition', '1', '--acks', '1'], { input: 'acked by the leader\n' }),
        // The group lives on its coordinator, broker 1 (the cluster file's first), whichever broker is asked.
        runCli(MAIN, ['groups', '--bootstrap-server', servers(3)]),
        runCli(MAIN, ['describe-group', '--bootstrap-server', servers(2), '--group', 'g']),
      ]);
      expect([one.code, one.stdout]).toEqual([0, `1\t${counts[1]}\n`]);
      expect([groups.code, groups.stdout, groups.stderr]).toEqual([0, 'g\tEmpty\t0\n', '']);
      expect([group.code, group.stderr]).toEqual([0, '']);
      const groupRows = group.stdout.trimEnd().split('\n').slice(2).map((l) => l.split(/\s+/).slice(0, 3).join(' '));
      expect(groupRows).toEqual([0, 1, 2].map((p) => `t ${p} ${counts[p]}`));

      // SIGKILL broker 3, partition 2's leader. Phase 5 has no election: partition 2 is
      // unavailable, and a produce to it fails, with Kafka's error name, in well under
      // its delivery timeout (the retry budget runs out first).
      const victim = children.get(3) as ChildProcess;
      victim.kill('SIGKILL');
      await waitForExit(victim);
      // No wall-clock bound (process start-up dominates on a loaded machine): the error itself
      // says the retry budget ran out (NETWORK_EXCEPTION) long before the 60 s delivery
      // timeout, which would have been REQUEST_TIMED_OUT.
      const lost = await runCli(MAIN, ['produce', '--bootstrap-server', servers(1, 3), '--topic', 't', '--partition', '2', '--delivery-timeout-ms', '60000'], { input: 'lost\n' });
      expect([lost.code, lost.stdout]).toEqual([1, '']);
      expect(lost.stderr).toMatch(new RegExp(`^error: NETWORK_EXCEPTION: cannot connect to broker 3 at 127\\.0\\.0\\.1:${p3}: connect ECONNREFUSED [^\\n]* \\(1 of 1 records not acknowledged\\)\\n$`));

      // describe-topic: partition 2 unknown (its leader is gone), the others' ISR shrinks to the live replicas.
      const expected = [line(0, '1,2', counts[0] ?? -1, counts[0] ?? -1), line(1, '2,1', (counts[1] ?? -1) + 1, (counts[1] ?? -1) + 1), line(2, '-', '-', '-')].join('\n');
      let last = await runCli(MAIN, ['describe-topic', '--bootstrap-server', servers(2), '--topic', 't']);
      await waitFor(
        async () => {
          if (last.stdout === `${expected}\n`) return true;
          last = await runCli(MAIN, ['describe-topic', '--bootstrap-server', servers(2), '--topic', 't']);
          return last.stdout === `${expected}\n`;
        },
        30_000,
        0,
      ).catch((e: unknown) => {
        throw new Error(`${(e as Error).message}; describe-topic printed:\n${last.stdout}${last.stderr}\nexpected:\n${expected}`);
      });
      expect(last.code).toBe(0);
      expect(last.stderr).toMatch(new RegExp(`^partitions 2: no answer from the leader: NETWORK_EXCEPTION: cannot connect to broker 3 at 127\\.0\\.0\\.1:${p3}: `));
    } finally {
      for (const child of children.values()) await stopProcess(child);
      tmp.remove();
    }
  });

  it('--bootstrap-server, --acks and --delivery-timeout-ms mistakes are one line and exit 2, before connecting', async () => {
    const format = "error: --bootstrap-server takes H:P[,H:P...] with ports in [1, 65535], got";
    const cases: [string[], string][] = [
      [['produce', '--bootstrap-server', 'nope', '--topic', 't'], `${format} 'nope'`],
      [['consume', '--bootstrap-server', '127.0.0.1:1,bad:', '--topic', 't'], `${format} 'bad:' in '127.0.0.1:1,bad:'`],
      [['describe-topic', '--bootstrap-server', '127.0.0.1:70000', '--topic', 't'], `${format} '127.0.0.1:70000'`],
      [['create-topic', '--bootstrap-server=', '--name', 'x', '--partitions', '1'], `${format} ''`],
      [['groups', '--bootstrap-server', 'h:1,,h:2'], `${format} '' in 'h:1,,h:2'`],
      [['consume', '--topic', 't', '--group', 'g', '--bootstrap-server', 'h'], `${format} 'h'`],
      [['topics', '--bootstrap-server', '127.0.0.1:9092', '--port', '9092'], 'error: --bootstrap-server replaces --host and --port; give one or the other'],
      [['describe-group', '--group', 'g', '--bootstrap-server', '127.0.0.1:9092', '--host', 'h'], 'error: --bootstrap-server replaces --host and --port; give one or the other'],
      [['produce', '--topic', 't', '--bootstrap-server', '127.0.0.1:1', '--acks', '2'], "error: --acks must be all, -1 or 1, got '2'"],
      [['produce', '--topic', 't', '--bootstrap-server', '127.0.0.1:1', '--delivery-timeout-ms', '0'], "error: --delivery-timeout-ms must be an integer >= 1, got '0'"],
      [['describe-topic', '--bootstrap-server', '127.0.0.1:1'], 'error: describe-topic needs --topic <topic>'],
    ];
    const results = await Promise.all(cases.map(([args]) => runCli(MAIN, args, { input: 'x\n' })));
    for (const [i, r] of results.entries()) {
      expect([cases[i]?.[0].join(' '), r.code, r.stdout, r.stderr]).toEqual([cases[i]?.[0].join(' '), 2, '', `${cases[i]?.[1]}\n`]);
    }
  });
});
