/**
 * The client library against a real broker: the producer's linger, batch-size and
 * in-flight bounds, its buffer limit, error codes turned into typed exceptions, request
 * timeouts (ManualClock), and the consumer's fetch loop.
 */
import { type Server, createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { waitFor } from '../../../shared/src/testing.ts';
import { ManualClock } from '../src/seams/clock.ts';
import { Connection } from '../src/client/connection.ts';
import { Consumer } from '../src/client/consumer.ts';
import {
  BrokerError,
  BrokerNotAvailableError,
  ClientLimitError,
  CorruptMessageBrokerError,
  InvalidRequestBrokerError,
  MessageTooLargeBrokerError,
  OffsetOutOfRangeBrokerError,
  RequestTimeoutError,
  UnsupportedVersionBrokerError,
  brokerErrorFor,
} from '../src/client/errors.ts';
import { Producer } from '../src/client/producer.ts';
import { ApiVersions } from '../src/protocol/api-versions.ts';
import { ErrorCode } from '../src/protocol/errors.ts';
import { encodeResponseFrame } from '../src/protocol/header.ts';
import { Fetch } from '../src/protocol/fetch.ts';
import { splitBatches } from '../src/protocol/records.ts';
import { decodeBatch } from '../src/log/record-batch.ts';
import { TOPIC, fetchOne, partitionOf, testResources } from './wire-helpers.ts';
import { realSeams } from '../src/seams/real.ts';

const t = testResources();
const broker = t.broker;

async function producer(opts: ConstructorParameters<typeof Producer>[0]): Promise<Producer> {
  const p = new Producer(opts);
  await p.connect();
  t.defer(() => p.disconnect());
  return p;
}

/** Record counts of the stored batches, read over the wire. */
async function storedBatchSizes(port: number): Promise<{ counts: number[]; bytes: number[] }> {
  const conn = await Connection.connect({ ...realSeams(), port });
  try {
    const res = await conn.request(Fetch, fetchOne({ offset: 0, maxBytes: 1 << 20, maxWaitMs: 0 }));
    const batches = partitionOf(res).records.flatMap((r) => splitBatches(r));
    return { counts: batches.map((b) => decodeBatch(b).records.length), bytes: batches.map((b) => b.length) };
  } finally {
    await conn.close();
  }
}

describe('Producer batching', () => {
  it('holds records for lingerMs and sends them as one batch when it expires (ManualClock)', async () => {
    const b = await broker();
    const clock = new ManualClock(1_700_000_000_000);
    const p = await producer({ ...realSeams(), port: b.port, lingerMs: 50, clock });
    await p.topicMetadata(TOPIC); // since phase 3 a send waits for metadata first; fetch it now so the sends batch at once
    const sends = ['a', 'b', 'c'].map((value) => p.send({ topic: TOPIC, messages: [{ value }] }));
    clock.advance(49);
    expect(p.inFlight).toBe(0);
    clock.advance(1);
    expect(p.inFlight).toBe(1);
    expect((await Promise.all(sends)).map((r) => r[0]?.offset)).toEqual([0, 1, 2]);
    expect((await storedBatchSizes(b.port)).counts).toEqual([3]);
  });

  it('starts a new batch before batchBytesMax would be exceeded', async () => {
    const b = await broker();
    const p = await producer({ ...realSeams(), port: b.port, batchBytesMax: 400, maxInFlight: 5 });
    const values = Array.from({ length: 10 }, (_, i) => `${i}`.padEnd(50, '.'));
    const results = await p.send({ topic: TOPIC, messages: values.map((value) => ({ value })) });
    expect(results.map((r) => r.offset)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    const { counts, bytes } = await storedBatchSizes(b.port);
    expect(counts).toEqual([4, 4, 2]);
    for (const n of bytes) expect(n).toBeLessThanOrEqual(400);
  });

  it('never has more than maxInFlight requests outstanding; queued batches go as slots free', async () => {
    const b = await broker();
    const p = await producer({ ...realSeams(), port: b.port, batchBytesMax: 1, maxInFlight: 2 }); // one record per batch
    await p.topicMetadata(TOPIC);
    let maxSeen = 0;
    const sends = Array.from({ length: 20 }, (_, i) => {
      const s = p.send({ topic: TOPIC, messages: [{ value: `v${i}` }] });
      maxSeen = Math.max(maxSeen, p.inFlight);
      void s.then(() => (maxSeen = Math.max(maxSeen, p.inFlight)));
      return s;
    });
    expect(p.inFlight).toBe(2);
    const offsets = (await Promise.all(sends)).map((r) => r[0]?.offset);
    expect(offsets).toEqual(Array.from({ length: 20 }, (_, i) => i));
    expect(maxSeen).toBe(2);
  });

  it('accepts sends up to exactly bufferBytesMax, refuses one byte more, and accepts again once acknowledged', async () => {
    const b = await broker();
    const p = await producer({ ...realSeams(), port: b.port, bufferBytesMax: 1_000, lingerMs: 0 });
    await expect(p.send({ topic: TOPIC, messages: [{ value: Buffer.alloc(2_000) }] })).rejects.toBeInstanceOf(ClientLimitError);
    const first = p.send({ topic: TOPIC, messages: [{ value: Buffer.alloc(600) }] });
    const recordOverheadBytes = p.bufferedBytes - 600; // the producer's per-record allowance beyond key and value
    const fillBytes = 1_000 - p.bufferedBytes - recordOverheadBytes; // a value that brings the buffer to exactly the bound
    await expect(p.send({ topic: TOPIC, messages: [{ value: Buffer.alloc(fillBytes + 1) }] })).rejects.toThrow(/producer buffer full: \d+ \+ \d+ bytes > bufferBytesMax 1000/);
    const atBound = p.send({ topic: TOPIC, messages: [{ value: Buffer.alloc(fillBytes) }] });
    expect(p.bufferedBytes).toBe(1_000);
    await expect(p.send({ topic: TOPIC, messages: [{ value: null }] })).rejects.toThrow(/producer buffer full/);
    expect((await Promise.all([first, atBound])).map((r) => r[0]?.offset)).toEqual([0, 1]);
    expect(p.bufferedBytes).toBe(0);
    await p.send({ topic: TOPIC, messages: [{ value: Buffer.alloc(600) }] });
  });
});

describe('typed exceptions', () => {
  it('maps broker error codes to exception classes', async () => {
    const b = await broker({ log: { batchBytesMax: 256 } });
    const p = await producer({ ...realSeams(), port: b.port });
    const tooLarge = p.send({ topic: TOPIC, messages: [{ value: Buffer.alloc(500) }] });
    await expect(tooLarge).rejects.toBeInstanceOf(MessageTooLargeBrokerError);
    await expect(tooLarge).rejects.toMatchObject({ errorCode: 10, type: 'MESSAGE_TOO_LARGE' });

    const consumer = new Consumer({ ...realSeams(), port: b.port, topic: TOPIC, maxWaitMs: 0 });
    await consumer.connect();
    t.defer(() => consumer.disconnect());
    await expect(consumer.fetch(5)).rejects.toBeInstanceOf(OffsetOutOfRangeBrokerError);

    const table: [number, new (...a: never[]) => BrokerError][] = [
      [ErrorCode.CORRUPT_MESSAGE, CorruptMessageBrokerError],
      [ErrorCode.BROKER_NOT_AVAILABLE, BrokerNotAvailableError],
      [ErrorCode.UNSUPPORTED_VERSION, UnsupportedVersionBrokerError],
      [ErrorCode.INVALID_REQUEST, InvalidRequestBrokerError],
      [ErrorCode.INVALID_REQUIRED_ACKS, InvalidRequestBrokerError],
    ];
    for (const [code, cls] of table) expect(brokerErrorFor(code, 'm')).toBeInstanceOf(cls);
    expect(brokerErrorFor(ErrorCode.UNKNOWN_SERVER_ERROR, null).message).toBe('UNKNOWN_SERVER_ERROR');
  });

  it('times out a request the broker never answers and closes the connection (ManualClock)', async () => {
    const sockets: import('node:net').Socket[] = [];
    let requested = false;
    const silent: Server = createServer((s) => {
      sockets.push(s);
      s.on('data', () => (requested = true)); // reads the request, never answers
    });
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    t.defer(async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => silent.close(() => resolve()));
    });
    const address = silent.address();
    if (address === null || typeof address === 'string') throw new Error('no port');
    const clock = new ManualClock();
    const connecting = Connection.connect({ ...realSeams(), port: address.port, clock, requestTimeoutMs: 1_000 });
    await waitFor(() => requested);
    clock.advance(999);
    expect(clock.pendingTimers).toBe(1); // the request's timeout is still armed at 999 ms
    clock.advance(1);
    expect(clock.pendingTimers).toBe(0); // and fired at 1000 ms
    await expect(connecting).rejects.toBeInstanceOf(RequestTimeoutError);
  });
});

describe('correlation ids', () => {
  it('a response whose correlation id does not match the oldest request fails it and closes the connection', async () => {
    const liar: Server = createServer((s) => {
      s.on('data', () => {
        // A well-formed ApiVersions answer, but to correlation id 42 (the client sent 0).
        s.write(Buffer.concat(encodeResponseFrame(42, ApiVersions.encodeResponse({ errorCode: 0, errorMessage: null, apis: [] }))));
      });
      s.on('error', () => undefined);
    });
    await new Promise<void>((resolve) => liar.listen(0, '127.0.0.1', resolve));
    t.defer(() => new Promise<void>((resolve) => liar.close(() => resolve())));
    const address = liar.address();
    if (address === null || typeof address === 'string') throw new Error('no port');
    await expect(Connection.connect({ ...realSeams(), port: address.port })).rejects.toThrow(/correlation id 42 does not match the oldest request \(0\)/);
  });
});

describe('Consumer', () => {
  it('run() delivers every record in order from the log start, then stops on disconnect', async () => {
    const b = await broker();
    const p = await producer({ ...realSeams(), port: b.port, batchBytesMax: 200 });
    await p.send({ topic: TOPIC, messages: Array.from({ length: 30 }, (_, i) => ({ key: `k${i % 3}`, value: `v${i}` })) });
    const consumer = new Consumer({ ...realSeams(), port: b.port, topic: TOPIC, maxBytes: 150, maxWaitMs: 100 });
    await consumer.connect();
    expect(consumer.position).toBe(0);
    const seen: string[] = [];
    const running = consumer.run({
      eachMessage: async (m) => {
        seen.push(`${m.offset}:${m.key?.toString()}:${m.value?.toString()}`);
        if (seen.length === 35) await consumer.disconnect();
      },
    });
    await waitFor(() => seen.length === 30);
    await p.send({ topic: TOPIC, messages: Array.from({ length: 5 }, (_, i) => ({ key: 'late', value: `late${i}` })) }); // a long poll picks these up
    await running;
    expect(seen.slice(0, 3)).toEqual(['0:k0:v0', '1:k1:v1', '2:k2:v2']);
    expect(seen.map((s) => Number(s.split(':')[0]))).toEqual(Array.from({ length: 35 }, (_, i) => i));
  });
});
