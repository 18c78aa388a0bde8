/**
 * Durability and shutdown: an fsync failure becomes KAFKA_STORAGE_ERROR (never an ack), a
 * full append queue a retriable THROTTLING_QUOTA_EXCEEDED;
 * graceful close answers in-flight requests and parked long polls and closes idle
 * connections; the shutdown deadline (ManualClock) cuts off a request stuck in fsync and an
 * idle client that never closes its side; and
 * SIGTERM to a broker process under produce load loses no acknowledged record.
 */
import { once } from 'node:events';
import { connect } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { freePort, spawnCli, stopProcess, tempDir, waitFor, waitForExit, waitForLine } from '../../../shared/src/testing.ts';
import { ManualClock } from '../src/seams/clock.ts';
import { Admin } from '../src/client/admin.ts';
import { Consumer } from '../src/client/consumer.ts';
import { ConnectionClosedError, StorageBrokerError, ThrottledBrokerError } from '../src/client/errors.ts';
import { Producer } from '../src/client/producer.ts';
import { Log } from '../src/log/log.ts';
import { MemoryStorage } from '../src/seams/memory-storage.ts';
import { Fetch } from '../src/protocol/fetch.ts';
import { FsStorage } from '../src/seams/storage.ts';
import { partitionDirName } from '../src/topics/names.ts';
import { HookedStorage } from './hooked-storage.ts';
import { RawClient, TOPIC, fetchOne, startBroker, testResources } from './wire-helpers.ts';
import { realSeams } from '../src/seams/real.ts';

const t = testResources();

describe('durability over the wire', () => {
  it('a failed fsync is answered with KAFKA_STORAGE_ERROR, never an acknowledgement', async () => {
    const storage = new HookedStorage(new MemoryStorage());
    const b = await startBroker({ dir: '/log' }, { storage });
    t.defer(() => b.stop());
    const p = new Producer({ ...realSeams(), port: b.port });
    await p.connect();
    t.defer(() => p.disconnect());
    expect(await p.send({ topic: TOPIC, messages: [{ value: 'durable' }] })).toEqual([{ partition: 0, offset: 0 }]);
    // (Open files hold the hooks object, so change it in place.)
    storage.hooks.beforeSync = () => {
      throw new Error('EIO');
    };
    await expect(p.send({ topic: TOPIC, messages: [{ value: 'lost' }] })).rejects.toBeInstanceOf(StorageBrokerError);
    delete storage.hooks.beforeSync;
    // The log refuses appends after an fsync failure until reopened (phase 1's rule).
    await expect(p.send({ topic: TOPIC, messages: [{ value: 'after' }] })).rejects.toMatchObject({ errorCode: 56 });
  });

  it("a full append queue is answered with THROTTLING_QUOTA_EXCEEDED, retriable, and the broker carries on", async () => {
    const storage = new HookedStorage(new MemoryStorage());
    const b = await startBroker({ dir: '/log', log: { appendQueueMax: 1 } }, { storage });
    t.defer(() => b.stop());
    // Two connections: answers on one connection come in request order, so a refusal of a
    // second request on the same one would wait behind the held first.
    const p = new Producer({ ...realSeams(), port: b.port });
    const other = new Producer({ ...realSeams(), port: b.port });
    await Promise.all([p.connect(), other.connect()]);
    t.defer(() => p.disconnect(), () => other.disconnect());
    let release: () => void = () => undefined;
    const held = new Promise<void>((resolve) => (release = resolve));
    let syncing = false;
    storage.hooks.beforeSync = () => {
      syncing = true;
      return held;
    };
    const first = p.send({ topic: TOPIC, messages: [{ value: 'queued' }] });
    await waitFor(() => syncing);
    const second = other.send({ topic: TOPIC, messages: [{ value: 'refused' }] });
    await expect(second).rejects.toBeInstanceOf(ThrottledBrokerError);
    await expect(second).rejects.toMatchObject({ errorCode: 89, retriable: true });
    delete storage.hooks.beforeSync;
    release();
    expect(await first).toEqual([{ partition: 0, offset: 0 }]);
    expect(await other.send({ topic: TOPIC, messages: [{ value: 'retried' }] })).toEqual([{ partition: 0, offset: 1 }]);
    expect(b.logs).toEqual([]);
  });
});

describe('graceful shutdown (in process)', () => {
  it('answers in-flight produces and parked fetches, closes idle connections, and keeps every acked record', async () => {
    const tmp = tempDir('wire-shutdown-');
    t.defer(() => tmp.remove());
    const dir = join(tmp.path, 'log');
    const b = await startBroker({ dir, fetchWaitMsMax: 60_000 });
    t.defer(() => b.stop());
    const idle = await RawClient.connect(b.port);
    const poller = await RawClient.connect(b.port);
    poller.sendRequest(Fetch, fetchOne({ offset: 0, maxBytes: 1000, maxWaitMs: 60_000 }), 1);
    await waitFor(() => b.broker.parkedFetches === 1);

    const producers = await Promise.all(
      Array.from({ length: 4 }, async (_, i) => {
        const p = new Producer({ ...realSeams(), port: b.port, clientId: `p${i}` });
        await p.connect();
        return p;
      }),
    );
    const acked = new Map<number, string>();
    const failures: unknown[] = [];
    const sends = producers.flatMap((p, i) =>
      Array.from({ length: 50 }, (_, k) =>
        p.send({ topic: TOPIC, messages: [{ value: `p${i}-${k}` }] }).then(
          ([r]) => void acked.set(r?.offset ?? -1, `p${i}-${k}`),
          (e: unknown) => void failures.push(e),
        ),
      ),
    );
    await waitFor(() => acked.size >= 10);
    const closing = b.broker.close();
    // The parked fetch is answered now, not after its 60 s.
    expect((await poller.nextResponse(Fetch)).res.errorCode).toBe(0);
    await Promise.all([idle.closed, poller.closed, closing]);
    await Promise.all(sends);
    for (const e of failures) expect(e).toBeInstanceOf(ConnectionClosedError);
    expect(acked.size + failures.length).toBe(200);

    const log = await Log.open(new FsStorage(), join(dir, partitionDirName(TOPIC, 0)));
    try {
      for (const [offset, value] of acked) {
        const [record] = await log.readRecords(offset, 1000);
        expect(record?.value?.toString()).toBe(value);
      }
    } finally {
      await log.close();
    }
    await Promise.all(producers.map((p) => p.disconnect().catch(() => undefined)));
  });

  it('after shutdownDeadlineMs a request stuck in fsync is cut off, unacknowledged (ManualClock)', async () => {
    const clock = new ManualClock();
    let releaseSync: () => void = () => undefined;
    const stuck = new Promise<void>((resolve) => (releaseSync = resolve));
    const storage = new HookedStorage(new MemoryStorage());
    const b = await startBroker({ dir: '/log', shutdownDeadlineMs: 2_000 }, { storage, clock });
    t.defer(() => b.stop());
    // retries 0: since phase 5 a producer retries a lost connection after a backoff on its
    // clock, which this test never advances; the cut-off itself is what is tested here.
    const p = new Producer({ ...realSeams(), port: b.port, clock, retries: 0 });
    await p.connect();
    let syncing = false;
    storage.hooks.beforeSync = () => {
      syncing = true;
      return stuck;
    };
    const send = p.send({ topic: TOPIC, messages: [{ value: 'never acked' }] });
    send.catch(() => undefined);
    await waitFor(() => syncing); // the broker is inside the produce, waiting for fsync
    const closing = b.broker.close();
    clock.advance(1_999);
    expect(b.logs.filter((l) => /shutdown deadline/.test(l))).toEqual([]);
    clock.advance(1);
    await expect(send).rejects.toBeInstanceOf(ConnectionClosedError);
    expect(b.logs.some((l) => /shutdown deadline of 2000 ms passed with 1 requests in flight/.test(l))).toBe(true);
    releaseSync(); // the log can now finish the write and close
    await closing;
    await p.disconnect().catch(() => undefined);
  });

  it('an idle client that never closes its side holds shutdown no longer than shutdownDeadlineMs (ManualClock)', async () => {
    const clock = new ManualClock();
    const b = await startBroker({ dir: '/log', shutdownDeadlineMs: 2_000 }, { storage: new MemoryStorage(), clock });
    t.defer(() => b.stop());
    // allowHalfOpen: this client's socket does not end itself when the broker's FIN arrives.
    const stubborn = connect({ host: '127.0.0.1', port: b.port, allowHalfOpen: true });
    t.defer(() => stubborn.destroy());
    stubborn.on('error', () => undefined);
    stubborn.resume(); // read (and drop) whatever arrives, so 'end' is emitted
    await once(stubborn, 'connect');
    await waitFor(() => b.broker.connectionCount === 1);
    const told = once(stubborn, 'end');
    let shutDown = false;
    const closing = b.broker.close().then(() => (shutDown = true));
    await told; // the broker ended its side at once: nothing was in flight
    expect([shutDown, b.broker.connectionCount]).toEqual([false, 1]); // the client has not answered
    clock.advance(2_000);
    await closing;
    expect(b.broker.connectionCount).toBe(0);
    expect(b.logs.some((l) => /shutdown deadline of 2000 ms passed with 0 requests in flight/.test(l))).toBe(true);
  });
});

describe('SIGTERM to a broker process under load', () => {
  it('exits 0, and every acknowledged offset is readable with its value after a restart', async () => {
    const tmp = tempDir('wire-sigterm-');
    t.defer(() => tmp.remove());
    const dir = join(tmp.path, 'log');
    const port = await freePort();
    const child = spawnCli(fileURLToPath(new URL('../src/main.ts', import.meta.url)), ['serve', '--dir', dir, '--port', String(port)]);
    t.defer(() => stopProcess(child));
    const stderr: string[] = [];
    child.stderr?.on('data', (b: Buffer) => stderr.push(b.toString()));
    await waitForLine(child.stdout as NodeJS.ReadableStream, new RegExp(`^listening on 127\\.0\\.0\\.1:${port}$`));
    const admin = new Admin({ ...realSeams(), port });
    await admin.connect();
    await admin.createTopic({ topic: TOPIC, numPartitions: 1 });
    await admin.disconnect();

    const acked = new Map<number, string>();
    let stopped = false;
    const producers = await Promise.all(
      Array.from({ length: 6 }, async () => {
        const p = new Producer({ ...realSeams(), port, maxInFlight: 3 });
        await p.connect();
        return p;
      }),
    );
    const loops = producers.map(async (p, i) => {
      for (let k = 0; !stopped; k++) {
        const values = [`p${i}-${k}-a`, `p${i}-${k}-b`];
        try {
          const results = await p.send({ topic: TOPIC, messages: values.map((value) => ({ value })) });
          results.forEach((r, j) => acked.set(r.offset, values[j] as string));
        } catch {
          return; // the broker went away: this send was not acknowledged
        }
      }
    });
    await waitFor(() => acked.size >= 200, 20_000);
    child.kill('SIGTERM');
    expect(await waitForExit(child, 20_000)).toEqual({ code: 0, signal: null });
    stopped = true;
    await Promise.all(loops);
    await Promise.all(producers.map((p) => p.disconnect().catch(() => undefined)));
    expect(stderr.join('')).toMatch(/SIGTERM: shutting down/);

    // Restart on the same directory and read everything back over the wire.
    const b = await startBroker({ dir });
    try {
      const consumer = new Consumer({ ...realSeams(), port: b.port, topic: TOPIC, maxWaitMs: 0 });
      await consumer.connect();
      const stored = new Map<number, string>();
      for (let offset = 0; ; ) {
        const r = await consumer.fetchResult(offset);
        for (const rec of r.records) stored.set(rec.offset, rec.value?.toString() ?? 'null');
        offset = r.nextOffset;
        if (offset >= r.highWatermark) break;
      }
      await consumer.disconnect();
      for (const [offset, value] of acked) expect(stored.get(offset)).toBe(value);
    } finally {
      await b.stop();
    }
  });
});
