/**
 * `wire-demo` (phase 2's `demo`): the wire in one narrated run. It starts a broker in this
 * process on a free port with its data in a temporary directory and a one-partition
 * topic, then drives it with the real `Producer` and `Consumer` over TCP through a tapped
 * transport (the Transport seam), printing every frame that crosses the wire in hex with
 * its fields named: the ApiVersions handshake, the Metadata the producer asks for, a
 * Produce carrying a RecordBatch, a Fetch returning it, and a long poll that an append
 * wakes. Then it shuts the broker down gracefully and removes the directory.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Consumer } from '../client/consumer.ts';
import { Producer } from '../client/producer.ts';
import { type FrameLink, type Transport, tcpTransport } from '../seams/transport.ts';
import { apiByKey } from '../protocol/apis.ts';
import { ByteReader } from '../protocol/bytes.ts';
import { LATEST_TIMESTAMP } from '../protocol/list-offsets.ts';
import { splitBatches } from '../protocol/records.ts';
import { type BatchHeader, readBatchHeader } from '../log/record-batch.ts';
import { decodeRequestHeader, decodeResponseHeader } from '../protocol/header.ts';
import { Broker } from '../server/broker.ts';
import { realClock } from '../seams/clock.ts';
import { realSeams } from '../seams/real.ts';

/** The demo's topic: one partition, so the frames stay short. */
const TOPIC = 'wire-demo';

/** Hex bytes shown per line, and at most this many bytes of one field. */
const HEX_BYTES_PER_LINE = 16;
const HEX_BYTES_PER_FIELD_MAX = 64;

interface Field {
  name: string;
  start: number;
  end: number;
  value: unknown;
}

/**
 * Run the narrated walk-through, writing each line to `say`.
 * @example
 * await runWireDemo((line) => process.stdout.write(line + '\n'));
 */
export async function runWireDemo(say: (line: string) => void): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'commitlog-wire-demo-'));
  const broker = await Broker.start({ dir, port: 0 }, { ...realSeams(), logger: (line) => say(`   [broker] ${line}`) });
  try {
    await broker.createTopic({ name: TOPIC, partitions: 1 });
    say(`A broker on ${broker.host}:${broker.port}, its data in ${dir} (removed at the end), topic ${TOPIC} with 1 partition.`);
    say('Every frame below is shown as it crossed the TCP connection: hex on the left, the field it encodes on the right.');
    const seen = new Set<string>();
    const transport = tappedTransport(tcpTransport, (direction, frame, apiKey) => {
      const api = apiByKey(apiKey);
      const kind = `${direction} ${apiKey}`;
      const label = `${direction === 'request' ? '→ request ' : '← response'} ${api?.name ?? `api ${apiKey}`}, ${frame.length + 4} bytes`;
      if (seen.has(kind)) {
        say(`${label} (layout shown above)`);
        return;
      }
      seen.add(kind);
      say(label);
      for (const line of annotateFrame(direction, frame, apiKey)) say(`    ${line}`);
    });

    say('');
    say('1. The producer connects and asks which APIs and versions the broker speaks (ApiVersions).');
    const producer = new Producer({ ...realSeams(), port: broker.port, transport, clientId: 'demo' });
    await producer.connect();

    say('');
    say(`2. Three records in one send() to ${TOPIC}: the producer asks Metadata for the partition count once,`);
    say('   then one RecordBatch v2 goes in one Produce request to partition 0, answered after fsync.');
    const sent = await producer.send({ topic: TOPIC, messages: [{ value: 'alpha' }, { key: 'k', value: 'beta' }, { value: 'gamma' }] });
    say(`   offsets: ${sent.map((r) => r.offset).join(', ')}`);

    say('');
    say('3. A consumer connects and fetches from offset 0: the stored batch comes back byte for byte.');
    const consumer = new Consumer({ ...realSeams(), port: broker.port, transport, clientId: 'demo', topic: TOPIC, partition: 0, fromOffset: 0, maxWaitMs: 2_000 });
    await consumer.connect();
    const fetched = await consumer.fetch(0);
    say(`   records: ${fetched.map((r) => `${r.offset}=${r.value?.toString('utf8') ?? 'null'}`).join('  ')}`);

    say('');
    say('4. A long poll: fetch at the log end offset waits (up to maxWaitMs 2000) until a produce lands.');
    const end = await consumer.listOffset(LATEST_TIMESTAMP);
    const startedMs = realClock.now();
    const polled = consumer.fetch(end);
    while (broker.parkedFetches === 0) await new Promise<void>((resolve) => realClock.setTimeout(() => resolve(), 1));
    say(`   the broker parked the fetch (parkedFetches = ${broker.parkedFetches}); now a produce:`);
    const [late] = await producer.send({ topic: TOPIC, messages: [{ value: 'delta' }] });
    const woken = await polled;
    say(`   produced offset ${late?.offset}; the parked fetch returned ${woken.map((r) => `${r.offset}=${r.value?.toString('utf8')}`).join(' ')}, ${realClock.now() - startedMs} ms after it was sent`);

    say('');
    say('5. Clients disconnect; the broker shuts down gracefully (stop accepting, answer in-flight, sync and close the log).');
    await consumer.disconnect();
    await producer.disconnect();
  } finally {
    await broker.close();
    await rm(dir, { recursive: true, force: true });
  }
  say('Done: the broker closed cleanly.');
}

/**
 * Wrap a transport so every frame in either direction is reported (with the api key it
 * belongs to; a response's is looked up by correlation id) before it is delivered.
 */
export function tappedTransport(inner: Transport, onFrame: (direction: 'request' | 'response', frame: Buffer, apiKey: number) => void): Transport {
  return {
    // The demo taps only the client's side; the broker listens on the inner transport.
    listen: (host, port, options, accept) => inner.listen(host, port, options, accept),
    async connect(host, port, handlers, options) {
      const apiKeyByCorrelationId = new Map<number, number>();
      const link: FrameLink = await inner.connect(
        host,
        port,
        {
          frame(frame) {
            const correlationId = frame.length >= 4 ? frame.readInt32BE(0) : -1;
            onFrame('response', frame, apiKeyByCorrelationId.get(correlationId) ?? -1);
            apiKeyByCorrelationId.delete(correlationId);
            handlers.frame(frame);
          },
          closed: (error) => handlers.closed(error),
        },
        options,
      );
      return {
        send(chunks) {
          const frame = Buffer.concat(chunks).subarray(4);
          const header = decodeRequestHeader(new ByteReader(frame));
          apiKeyByCorrelationId.set(header.correlationId, header.apiKey);
          onFrame('request', frame, header.apiKey);
          return link.send(chunks);
        },
        close: () => link.close(),
        abort: () => link.abort(),
      };
    },
  };
}

/**
 * Decode a frame (without its size prefix) with a tracing reader and lay out each field:
 * its bytes in hex, its name, its value.
 */
export function annotateFrame(direction: 'request' | 'response', frame: Buffer, apiKey: number): string[] {
  const fields: Field[] = [];
  const r = new ByteReader(frame, 0, frame.length, (name, start, end, value) => fields.push({ name, start, end, value }));
  const api = apiByKey(apiKey);
  try {
    if (direction === 'request') decodeRequestHeader(r);
    else decodeResponseHeader(r);
    if (direction === 'request') api?.decodeRequest(r);
    else api?.decodeResponse(r);
  } catch (err) {
    fields.push({ name: 'undecodable', start: r.position, end: frame.length, value: err instanceof Error ? err.message : String(err) });
  }
  const size = Buffer.alloc(4);
  size.writeInt32BE(frame.length);
  const lines = [row(hex(size), 'size', frame.length)];
  for (const f of fields) {
    if (f.name === 'records' && Buffer.isBuffer(f.value)) {
      lines.push(row(hex(frame.subarray(f.start, f.start + 4)), 'records length', f.value.length));
      lines.push(...annotateBatches(f.value));
      continue;
    }
    lines.push(...hexRows(frame.subarray(f.start, f.end), f.name, describe(f)));
  }
  return lines;
}

/** The RecordBatch v2 header fields (phase 1's record-batch.ts), in order, with their sizes. */
const BATCH_HEADER_FIELDS: readonly [keyof BatchHeader, number][] = [
  ['baseOffset', 8],
  ['batchLength', 4],
  ['partitionLeaderEpoch', 4],
  ['magic', 1],
  ['crc', 4],
  ['attributes', 2],
  ['lastOffsetDelta', 4],
  ['baseTimestamp', 8],
  ['maxTimestamp', 8],
  ['producerId', 8],
  ['producerEpoch', 2],
  ['baseSequence', 4],
  ['recordsCount', 4],
];

/** Each batch in a records field: its header fields by name, then its records as bytes. */
function annotateBatches(records: Buffer): string[] {
  const lines: string[] = [];
  let batches: Buffer[];
  try {
    batches = splitBatches(records);
  } catch {
    return hexRows(records, 'records', 'not a sequence of batches');
  }
  for (const batch of batches) {
    const header = readBatchHeader(batch);
    let at = 0;
    for (const [name, size] of BATCH_HEADER_FIELDS) {
      const value = name === 'crc' ? `0x${header.crc.toString(16).padStart(8, '0')}` : String(header[name]);
      lines.push(row(hex(batch.subarray(at, at + size)), `  ${name}`, value));
      at += size;
    }
    lines.push(...hexRows(batch.subarray(at), '  records', `${header.recordsCount} records, ${batch.length - at} bytes`));
  }
  return lines;
}

function hexRows(bytes: Buffer, name: string, value: string): string[] {
  const lines: string[] = [];
  const shown = bytes.subarray(0, HEX_BYTES_PER_FIELD_MAX);
  for (let i = 0; i < shown.length; i += HEX_BYTES_PER_LINE) {
    const slice = hex(shown.subarray(i, i + HEX_BYTES_PER_LINE));
    lines.push(i === 0 ? row(slice, name, value) : row(slice, '', ''));
  }
  if (shown.length === 0) lines.push(row('', name, value));
  if (bytes.length > shown.length) lines.push(row(`… ${bytes.length - shown.length} more bytes`, '', ''));
  return lines;
}

function describe(f: Field): string {
  if (Buffer.isBuffer(f.value)) return `${f.value.length} bytes`;
  if (f.name === 'apiKey') return `${String(f.value)} (${apiByKey(Number(f.value))?.name ?? 'unknown'})`;
  return typeof f.value === 'string' ? JSON.stringify(f.value) : String(f.value);
}

function row(hexText: string, name: string, value: unknown): string {
  return name === '' ? hexText : `${hexText.padEnd(HEX_BYTES_PER_LINE * 3 + 2)}${name.padEnd(24)}${String(value)}`;
}

function hex(bytes: Buffer): string {
  return [...bytes].map((b) => b.toString(16).padStart(2, '0')).join(' ');
}
