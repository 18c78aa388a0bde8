/**
 * `demo`: phase 3 in one narrated run. It starts a broker in this process on a free port
 * with its data in a temporary directory, and then, with the real clients over TCP:
 * creates a topic with three partitions and shows the directories that appear; shows bad
 * and reserved names refused with nothing created; sends keyed records and shows each key
 * staying on one partition (murmur2); sends keyless batches and shows the sticky
 * partitioner moving after each batch (KIP-480); reads the topic back and shows that
 * order holds per key (per partition) but not across the topic; restarts the broker to
 * show the registry reloaded. Then it shuts down and removes the directory.
 */
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Admin } from '../client/admin.ts';
import { Consumer, type ConsumedRecord } from '../client/consumer.ts';
import { murmur2, toPositive } from '../client/murmur2.ts';
import { Producer } from '../client/producer.ts';
import { seededRandom } from '../seams/random.ts';
import { Broker } from '../server/broker.ts';
import { realSeams } from '../seams/real.ts';

/** The demo's topic and its partition count. */
const TOPIC = 'orders';
const PARTITIONS = 3;

/**
 * Run the narrated walk-through, writing each line to `say`.
 * @example
 * await runTopicsDemo((line) => process.stdout.write(line + '\n'));
 */
export async function runTopicsDemo(say: (line: string) => void): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'commitlog-topics-demo-'));
  let broker = await Broker.start({ dir, port: 0 }, { ...realSeams(), logger: (line) => say(`   [broker] ${line}`) });
  try {
    say(`A broker on ${broker.host}:${broker.port}, its data in ${dir} (removed at the end).`);
    const admin = new Admin({ ...realSeams(), port: broker.port, clientId: 'demo-admin' });
    await admin.connect();

    say('');
    say(`1. CreateTopics: "${TOPIC}" with ${PARTITIONS} partitions. The registry is written to a temp file, fsynced,`);
    say('   renamed over topics.registry and the directory fsynced; then each partition gets its own log directory:');
    await admin.createTopic({ topic: TOPIC, numPartitions: PARTITIONS });
    say(`   ${(await readdir(dir)).sort().join('  ')}`);

    say('');
    say('2. Names become paths, so they are checked first: [A-Za-z0-9._-]{1,249}, not "." or "..", no "__" for clients.');
    for (const name of ['../etc', 'a/b', '..', '__consumer_offsets', TOPIC]) {
      try {
        await admin.createTopic({ topic: name, numPartitions: 1 });
        say(`   ${JSON.stringify(name)}: created?!`);
      } catch (err) {
        say(`   ${JSON.stringify(name).padEnd(22)} → ${err instanceof Error ? err.message : String(err)}`);
      }
    }
    say(`   the data directory still holds only: ${(await readdir(dir)).sort().join('  ')}`);

    say('');
    say('3. Keyed records: partition = toPositive(murmur2(key)) % 3, the Java client\'s rule, so a key always lands on one partition.');
    const producer = new Producer({ ...realSeams(), port: broker.port, clientId: 'demo-producer', lingerMs: 5, random: seededRandom(3) });
    await producer.connect();
    const users = ['alice', 'bob', 'carol', 'dave'];
    const messages = [1, 2, 3].flatMap((step) => users.map((user) => ({ key: user, value: `${user}:step${step}` })));
    const placed = await producer.send({ topic: TOPIC, messages });
    for (const user of users) {
      const where = placed.filter((_, i) => messages[i]?.key === user).map((r) => `${r.partition}@${r.offset}`);
      const hash = murmur2(Buffer.from(user));
      say(`   ${user.padEnd(6)} murmur2 ${String(hash).padStart(11)} → partition ${toPositive(hash) % PARTITIONS}; its 3 records at ${where.join(', ')}`);
    }

    say('');
    say('4. Keyless records: the sticky partitioner (KIP-480) keeps one partition until a batch is sent, then moves.');
    for (let batch = 0; batch < 4; batch++) {
      const results = await producer.send({ topic: TOPIC, messages: Array.from({ length: 4 }, (_, i) => ({ value: `event-${batch}-${i}` })) });
      const partitions = [...new Set(results.map((r) => r.partition))];
      say(`   send ${batch}: 4 records → one batch on partition ${partitions.join(',')} (offsets ${results.map((r) => r.offset).join(',')})`);
    }
    say('   (per-record round robin would split each 4-record send over all 3 partitions: 3 batches, 3 requests, 3 fsyncs)');
    await producer.disconnect();

    say('');
    say('5. A consumer of every partition: order holds within a partition (so per key), not across the topic.');
    const consumer = new Consumer({ ...realSeams(), port: broker.port, topic: TOPIC, clientId: 'demo-consumer', maxWaitMs: 0 });
    await consumer.connect();
    const read: ConsumedRecord[] = [];
    while (!consumer.caughtUp) read.push(...(await consumer.poll()));
    await consumer.disconnect();
    for (let p = 0; p < PARTITIONS; p++) {
      const values = read.filter((r) => r.partition === p).map((r) => r.value?.toString('utf8') ?? 'null');
      say(`   partition ${p}: ${values.join(' ')}`);
    }
    const alice = read.filter((r) => r.key?.toString() === 'alice').map((r) => r.value?.toString());
    say(`   alice's records, as read: ${alice.join(' ')} (her order, because they share a partition)`);

    say('');
    say('6. Unknown topics are an error (auto-creation is off by default, as auto.create.topics.enable should be in production):');
    const stray = new Producer({ ...realSeams(), port: broker.port, clientId: 'demo-stray', allowAutoTopicCreation: true });
    await stray.connect();
    try {
      await stray.send({ topic: 'no-such-topic', messages: [{ value: 'x' }] });
    } catch (err) {
      say(`   send to "no-such-topic" → ${err instanceof Error ? err.message : String(err)}`);
    }
    await stray.disconnect();
    await admin.disconnect();

    say('');
    say('7. Restart the broker on the same directory: the registry is read back, every partition log recovered.');
    await broker.close();
    broker = await Broker.start({ dir, port: 0 }, { ...realSeams(), logger: (line) => say(`   [broker] ${line}`) });
    for (const t of broker.topics()) say(`   topic ${t.name}: ${t.partitions} partitions`);
  } finally {
    await broker.close();
    await rm(dir, { recursive: true, force: true });
  }
  say('Done: the broker closed cleanly.');
}
