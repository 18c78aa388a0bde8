/**
 * `demo`: the phase in one narrated run, with a real broker on a free port and a
 * temporary data directory (removed at the end). Three group consumers share a topic of
 * six partitions; one of them dies without a word (its connections are cut, as a
 * `kill -9` would leave them: no LeaveGroup, no final commit); the demo measures how long
 * its partitions stay unconsumed, checks that every record was processed at least once
 * and counts the ones processed twice. Then it restarts the broker and shows that the
 * committed offsets came back from `__consumer_offsets`. Every number it prints is
 * measured in the run (Clock seam: the real clock here).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Clock } from '../seams/clock.ts';
import { Connection } from '../client/connection.ts';
import { GroupConsumer, type GroupJoinEvent } from '../client/group-consumer.ts';
import { Producer } from '../client/producer.ts';
import { type FrameLink, type Transport, tcpTransport } from '../seams/transport.ts';
import { describeGroup } from '../cli/groups.ts';
import { Broker } from '../server/broker.ts';
import { realSeams } from '../seams/real.ts';

const TOPIC = 'orders';
const GROUP = 'billing';
const PARTITIONS = 6;
const RECORDS_PER_ROUND = 600;
const SESSION_TIMEOUT_MS = 1000;

/** A transport whose connections can all be cut at once: a process dying. */
function killableTransport(): { transport: Transport; kill(): void } {
  const links: FrameLink[] = [];
  let dead = false;
  return {
    transport: {
      listen: (host, port, options, accept) => tcpTransport.listen(host, port, options, accept),
      async connect(host, port, handlers, options) {
        if (dead) throw new Error('this consumer is dead');
        const link = await tcpTransport.connect(host, port, handlers, options);
        links.push(link);
        return link;
      },
    },
    kill() {
      dead = true;
      for (const link of links) link.abort();
    },
  };
}

/** Resolve once `condition()` holds, checking on every consumed record or join. */
class Waiter {
  readonly #waiting: { condition: () => boolean; resolve: () => void }[] = [];
  until(condition: () => boolean): Promise<void> {
    if (condition()) return Promise.resolve();
    return new Promise((resolve) => this.#waiting.push({ condition, resolve }));
  }
  poke(): void {
    for (const w of [...this.#waiting]) {
      if (!w.condition()) continue;
      this.#waiting.splice(this.#waiting.indexOf(w), 1);
      w.resolve();
    }
  }
}

/**
 * Run the narrated demo, writing narration to `say`.
 * @example
 * await runGroupDemo(realClock, (line) => process.stdout.write(line + '\n'));
 */
export async function runGroupDemo(clock: Clock, say: (line: string) => void): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'groups-demo-'));
  let broker = await Broker.start({ dir, port: 0 }, { ...realSeams(), logger: () => undefined });
  const consumers: { name: string; consumer: GroupConsumer; kill(): void; run: Promise<void> }[] = [];
  try {
    const started = clock.now();
    const at = (): string => `${String(clock.now() - started).padStart(5)} ms`;
    say(`A broker on 127.0.0.1:${broker.port}, data in ${dir} (removed at the end).`);
    await broker.createTopic({ name: TOPIC, partitions: PARTITIONS });
    say(`Topic ${TOPIC} with ${PARTITIONS} partitions; group ${GROUP}; session timeout ${SESSION_TIMEOUT_MS} ms.`);
    say('');

    // Every processed record, by "partition:offset", with how often it was processed.
    const processed = new Map<string, number>();
    const owners = new Map<string, string>();
    const generations = new Map<string, number>();
    const waiter = new Waiter();
    const start = (name: string): void => {
      const { transport, kill } = killableTransport();
      const consumer = new GroupConsumer({ port: broker.port, groupId: GROUP, clientId: name, sessionTimeoutMs: SESSION_TIMEOUT_MS, maxWaitMs: 100, transport, clock });
      consumer.on('group.join', (e: GroupJoinEvent) => {
        for (const [k, v] of owners) if (v === name) owners.delete(k);
        for (const tp of e.assignment) owners.set(String(tp.partition), name);
        generations.set(name, e.generation);
        say(`${at()}  ${name} in generation ${e.generation}: ${e.assignment.map((tp) => tp.partition).join(' ') || '(nothing yet)'}`);
        waiter.poke();
      });
      const run = consumer.connect().then(() => {
        consumer.subscribe({ topic: TOPIC });
        return consumer.run({
          autoCommitIntervalMs: 200,
          eachMessage: ({ partition, message }) => {
            const k = `${partition}:${message.offset}`;
            processed.set(k, (processed.get(k) ?? 0) + 1);
            waiter.poke();
          },
        });
      });
      consumers.push({ name, consumer, kill, run: run.catch(() => undefined) });
    };

    say('1. Three consumers join one by one; watch the cooperative rounds hand partitions over.');
    for (const name of ['alice', 'bob', 'carol']) {
      start(name);
      await waiter.until(() => [...owners.values()].includes(name));
    }
    // Settled: every partition owned, and all three in the same (latest) generation.
    await waiter.until(() => owners.size === PARTITIONS && generations.size === 3 && new Set(generations.values()).size === 1);

    const producer = new Producer({ ...realSeams(), port: broker.port, clock });
    await producer.connect();
    const produced = new Set<string>();
    const produce = async (round: number): Promise<void> => {
      const messages = Array.from({ length: RECORDS_PER_ROUND }, (_, i) => ({ key: `customer-${i % 50}`, value: `order-${round}-${i}` }));
      for (const r of await producer.send({ topic: TOPIC, messages })) produced.add(`${r.partition}:${r.offset}`);
    };
    const allProcessed = (): boolean => [...produced].every((k) => processed.has(k));

    say('');
    say(`2. Produce ${RECORDS_PER_ROUND} keyed records; each consumer processes its partitions.`);
    await produce(1);
    await waiter.until(allProcessed);
    say(`${at()}  all ${produced.size} processed`);

    say('');
    say('3. carol dies: connections cut, no LeaveGroup, no last commit. More records arrive.');
    const carol = consumers.find((c) => c.name === 'carol');
    const carolPartitions = [...owners].filter(([, v]) => v === 'carol').map(([k]) => k);
    const killedAt = clock.now();
    carol?.kill();
    await produce(2);
    await waiter.until(() => carolPartitions.every((p) => owners.get(p) !== 'carol' && owners.has(p)));
    const takeoverMs = clock.now() - killedAt;
    await waiter.until(allProcessed);
    const twice = [...processed.values()].filter((n) => n > 1).length;
    say(`${at()}  carol's partitions ${carolPartitions.join(' ')} taken over ${takeoverMs} ms after she died`);
    say(`        produced ${produced.size}, processed ${[...produced].filter((k) => processed.has(k)).length} (none skipped), processed twice: ${twice}`);
    say('        (the twice-processed ones were done by carol after her last commit: at-least-once)');

    say('');
    say('4. The survivors leave cleanly (commit, LeaveGroup); the group as the broker sees it:');
    for (const c of consumers) if (c.name !== 'carol') await c.consumer.disconnect();
    await Promise.all(consumers.map((c) => c.run));
    const show = async (): Promise<void> => {
      const conn = await Connection.connect({ ...realSeams(), port: broker.port, clock });
      try {
        await describeGroup(conn, GROUP, (line) => say(`   ${line}`));
      } finally {
        await conn.close();
      }
    };
    await show();

    say('');
    say('5. Restart the broker: the committed offsets are replayed from __consumer_offsets.');
    await producer.disconnect();
    await broker.close();
    const restartAt = clock.now();
    broker = await Broker.start({ dir, port: broker.port }, { ...realSeams(), logger: () => undefined });
    say(`   broker back in ${clock.now() - restartAt} ms`);
    await show();
  } finally {
    for (const c of consumers) c.kill();
    await broker.close();
    await rm(dir, { recursive: true, force: true });
  }
}
