/**
 * Every bound the broker puts on a client, tested at the bound and one past it:
 * connections (maxConnections), requests in flight per connection
 * (maxInFlightPerConnection), frame size (frameBytesMax) and idleness (idleTimeoutMs,
 * on a ManualClock). Then the hostile clients of issue 12: one that pipelines Fetches and
 * never reads the answers (responseBytesMaxPerConnection), and slowloris clients that
 * drip frames or leave them unfinished (requestReceiveMsMax, queuedRequestBytesMax, and
 * idleTimeoutMs counting from the last complete request), each asserting the bound in
 * bytes or milliseconds while a well-behaved client is served.
 */
import { describe, expect, it } from 'vitest';
import { waitFor } from '../../../shared/src/testing.ts';
import { ManualClock } from '../src/seams/clock.ts';
import { ApiVersions } from '../src/protocol/api-versions.ts';
import { ErrorCode } from '../src/protocol/errors.ts';
import { Fetch } from '../src/protocol/fetch.ts';
import { FRAME_SIZE_BYTES, encodeRequestFrame } from '../src/protocol/header.ts';
import { Produce } from '../src/protocol/produce.ts';
import { encodeBatch } from '../src/log/record-batch.ts';
import { resolveBrokerConfig } from '../src/server/config.ts';
import type { ConnectionStats } from '../src/server/connection.ts';
import { type RawClient, type TestBroker, fetchOne, onTopic, partitionOf, testResources } from './wire-helpers.ts';

const t = testResources();
const broker = t.broker;
const raw = t.raw;

/** One request/response round trip: proves the connection is served. */
async function ping(c: RawClient, correlationId = 1): Promise<void> {
  c.sendRequest(ApiVersions, {}, correlationId);
  const { correlationId: got, res } = await c.nextResponse(ApiVersions);
  expect([got, res.errorCode]).toEqual([correlationId, ErrorCode.NONE]);
}

/** The broker's view of raw client `c`'s connection (undefined until accepted). */
function statsOf(b: TestBroker, c: RawClient): ConnectionStats | undefined {
  return b.broker.connectionStats().find((s) => s.peer === `127.0.0.1:${c.socket.localPort}`);
}

/** An ApiVersions frame whose size field is `size`, padded with body bytes (answered INVALID_REQUEST: trailing bytes). */
function paddedFrame(size: number, correlationId: number): Buffer {
  const headerBytes = 2 + 2 + 4 + 2; // null clientId
  return Buffer.concat(encodeRequestFrame({ apiKey: ApiVersions.apiKey, apiVersion: 0, correlationId, clientId: null }, [Buffer.alloc(size - headerBytes)]));
}

describe('maxConnections', () => {
  it('serves exactly maxConnections clients; one more is closed at once with a logged reason, and a freed slot is reusable', async () => {
    const b = await broker({ maxConnections: 3 });
    const clients = [await raw(b.port), await raw(b.port), await raw(b.port)];
    for (const c of clients) await ping(c);
    expect(b.broker.connectionCount).toBe(3);

    const excess = await raw(b.port); // the kernel accepts; the broker closes it
    await excess.closed;
    expect(b.logs.filter((l) => /refused connection .*: 3 connections open \(maxConnections 3\)/.test(l))).toHaveLength(1);
    for (const c of clients) await ping(c, 2); // the others are untouched

    await clients[0]?.close();
    await waitFor(() => b.broker.connectionCount === 2);
    await ping(await raw(b.port));
  });

  it('defaults to 1024, enough for a 500-producer benchmark', async () => {
    const { BROKER_DEFAULTS } = await import('../src/server/config.ts');
    expect(BROKER_DEFAULTS.maxConnections).toBe(1024);
  });
});

describe('maxInFlightPerConnection', () => {
  it('dispatches at most the bound; the next request is not read until a slot frees; answers stay in order', async () => {
    const b = await broker({ maxInFlightPerConnection: 2, fetchWaitMsMax: 20_000 });
    const c = await raw(b.port);
    const other = await raw(b.port);
    const parkedFetch = (cid: number): Buffer[] =>
      encodeRequestFrame({ apiKey: Fetch.apiKey, apiVersion: Fetch.minVersion, correlationId: cid, clientId: null }, Fetch.encodeRequest(fetchOne({ offset: 0, maxBytes: 1 << 20, maxWaitMs: 20_000 })));
    // At the bound: two long polls, both dispatched.
    c.send([...parkedFetch(1), ...parkedFetch(2)]);
    await waitFor(() => b.broker.parkedFetches === 2);
    // Past the bound: a third fetch and an ApiVersions, in the same write. Neither is dispatched.
    c.send([...parkedFetch(3), ...encodeRequestFrame({ apiKey: ApiVersions.apiKey, apiVersion: 0, correlationId: 4, clientId: null }, [])]);
    await ping(other); // the broker has processed what arrived
    expect(b.broker.parkedFetches).toBe(2);
    expect(c.bufferedFrames).toBe(0);

    // An append answers the two parked fetches; the freed slots take fetch 3 (which finds
    // the new record at once) and then the ApiVersions, answered in order.
    other.sendRequest(Produce, onTopic({ acks: -1, timeoutMs: 1000, records: [encodeBatch([{ value: Buffer.from('x') }], { baseTimestamp: 1 })] }), 2);
    expect((await other.nextResponse(Produce)).res.errorCode).toBe(ErrorCode.NONE);
    expect((await c.nextResponse(Fetch)).correlationId).toBe(1);
    expect((await c.nextResponse(Fetch)).correlationId).toBe(2);
    const third = await c.nextResponse(Fetch);
    expect(third.correlationId).toBe(3);
    expect(Buffer.concat(partitionOf(third.res).records).length).toBeGreaterThan(0);
    expect((await c.nextResponse(ApiVersions)).correlationId).toBe(4);
  });

  it('a client that pipelines far more than the bound and half-closes is slowed down, not refused: all 300 answered in order', async () => {
    const b = await broker({ maxInFlightPerConnection: 1 });
    const c = await raw(b.port);
    const frames: Buffer[] = [];
    for (let i = 0; i < 300; i++) frames.push(...encodeRequestFrame({ apiKey: ApiVersions.apiKey, apiVersion: 0, correlationId: i, clientId: null }, []));
    c.send(frames);
    c.socket.end(); // done sending; the broker still owes 300 answers
    for (let i = 0; i < 300; i++) expect((await c.nextResponse(ApiVersions)).correlationId).toBe(i);
    await c.closed; // and then the broker ends its side
    expect(b.logs).toEqual([]);
  });
});

describe('frameBytesMax', () => {
  it('accepts a frame of exactly frameBytesMax and closes the connection on one byte more', async () => {
    const b = await broker({ frameBytesMax: 1024 });
    const atMax = await raw(b.port);
    const headerBytes = 2 + 2 + 4 + 2; // null clientId
    const fill = (size: number, cid: number): Buffer[] =>
      encodeRequestFrame({ apiKey: ApiVersions.apiKey, apiVersion: 0, correlationId: cid, clientId: null }, [Buffer.alloc(size - headerBytes)]);
    atMax.send(fill(1024, 1));
    // Read and answered (ApiVersions has no body, so: trailing bytes).
    expect((await atMax.nextResponse(ApiVersions)).res).toMatchObject({ errorCode: ErrorCode.INVALID_REQUEST });
    await ping(atMax, 2);

    const past = await raw(b.port);
    past.send(fill(1025, 1));
    await past.closed;
    expect(b.logs.some((l) => /frame of 1025 bytes exceeds frameBytesMax 1024/.test(l))).toBe(true);
    await ping(atMax, 3);
  });
});

describe('idleTimeoutMs (ManualClock)', () => {
  it('keeps a connection idle for idleTimeoutMs - 1 and closes it at idleTimeoutMs, with a logged reason', async () => {
    const clock = new ManualClock();
    const b = await broker({ idleTimeoutMs: 5_000 }, { clock });
    const idle = await raw(b.port);
    const busy = await raw(b.port);
    await waitFor(() => b.broker.connectionCount === 2);
    clock.advance(4_999);
    await ping(busy); // activity on `busy` resets its timer, and shows the broker is serving
    expect(idle.isClosed).toBe(false);
    clock.advance(1);
    await idle.closed;
    expect(b.logs.some((l) => /closed: idle for 5000 ms \(idleTimeoutMs 5000\)/.test(l))).toBe(true);
    expect(busy.isClosed).toBe(false);
    await ping(busy, 2);
  });

  it('a connection with a long poll in flight is not idle; the idle clock starts after the answer', async () => {
    const clock = new ManualClock();
    const b = await broker({ idleTimeoutMs: 1_000, fetchWaitMsMax: 30_000 }, { clock });
    const c = await raw(b.port);
    c.sendRequest(Fetch, fetchOne({ offset: 0, maxBytes: 100, maxWaitMs: 3_000 }), 1);
    await waitFor(() => b.broker.parkedFetches === 1);
    clock.advance(2_999);
    expect(c.isClosed).toBe(false);
    clock.advance(1); // the fetch is answered at 3000
    expect(partitionOf((await c.nextResponse(Fetch)).res).records).toEqual([]);
    clock.advance(999);
    expect(c.isClosed).toBe(false);
    clock.advance(1);
    await c.closed;
  });
});

describe('responseBytesMaxPerConnection', () => {
  it('a client that pipelines 1,000 Fetches and never reads: the broker holds at most the bound plus one answer, and serves another client meanwhile', async () => {
    const budget = 64 * 1024;
    const b = await broker({ responseBytesMaxPerConnection: budget });
    const other = await raw(b.port);
    // A partition of about 2 MB: 128 batches of 16 kB.
    const batch = encodeBatch([{ value: Buffer.alloc(16_000, 'v') }], { baseTimestamp: 1 });
    other.sendRequest(Produce, onTopic({ acks: -1, timeoutMs: 1000, records: Array.from({ length: 128 }, () => batch) }), 1);
    expect((await other.nextResponse(Produce)).res.errorCode).toBe(ErrorCode.NONE);
    const fetch = { offset: 0, maxBytes: 2 * batch.length, maxWaitMs: 0 };
    // One answer as a client that reads gets it: each answer the attacker asks for is this size.
    other.sendRequest(Fetch, fetchOne(fetch), 2);
    const answerBytes = FRAME_SIZE_BYTES + (await other.nextFrame()).length;
    expect(answerBytes).toBeGreaterThan(2 * batch.length);

    const hostile = await raw(b.port);
    hostile.socket.pause(); // never reads: the kernel's buffers fill, then the broker's
    const requests = 1_000; // 32 MB of answers, were they all computed
    const frames: Buffer[] = [];
    for (let i = 0; i < requests; i++) frames.push(...encodeRequestFrame({ apiKey: Fetch.apiKey, apiVersion: Fetch.minVersion, correlationId: i, clientId: null }, Fetch.encodeRequest(fetchOne(fetch))));
    hostile.send(frames);
    // Over the budget with nothing left computing, the broker neither dispatches nor reads.
    await waitFor(() => {
      const s = statsOf(b, hostile);
      return s !== undefined && !s.reading && s.inFlight === 0 && s.responseBytesHeld > budget;
    });
    const stalled = statsOf(b, hostile);
    for (let i = 0; i < 5; i++) await ping(other, 10 + i);
    other.sendRequest(Produce, onTopic({ acks: -1, timeoutMs: 1000, records: [batch] }), 20);
    expect((await other.nextResponse(Produce)).res.errorCode).toBe(ErrorCode.NONE);
    const now = statsOf(b, hostile);
    expect(now?.responseBytesHeld).toBe(stalled?.responseBytesHeld); // nothing more was computed meanwhile
    expect(now?.responseBytesHeldPeak).toBeLessThanOrEqual(budget + answerBytes);

    // Once the client reads, the rest is answered in order, and the bound held throughout.
    hostile.socket.resume();
    for (let i = 0; i < requests; i++) expect((await hostile.nextResponse(Fetch)).correlationId).toBe(i);
    expect(statsOf(b, hostile)?.responseBytesHeldPeak).toBeLessThanOrEqual(budget + answerBytes);
    expect(b.logs).toEqual([]);
  });

  it('counts a Fetch still being computed by its cap: at the bound the next request is dispatched, one byte under it waits for the Fetch', async () => {
    const clock = new ManualClock();
    const longPoll = { offset: 0, maxBytes: 1_000, maxWaitMs: 5_000 };
    // What a parked Fetch reserves (its cap, plus room for its headers), seen on a broker with room to spare.
    const probe = await broker({ fetchWaitMsMax: 10_000 }, { clock });
    const p = await raw(probe.port);
    p.sendRequest(Fetch, fetchOne(longPoll), 1);
    await waitFor(() => probe.broker.parkedFetches === 1);
    const reserved = statsOf(probe, p)?.responseBytesReserved ?? 0;
    expect(reserved).toBeGreaterThan(longPoll.maxBytes);

    for (const [budget, dispatched] of [
      [reserved, true],
      [reserved - 1, false],
    ] as const) {
      const b = await broker({ responseBytesMaxPerConnection: budget, fetchWaitMsMax: 10_000 }, { clock });
      const c = await raw(b.port);
      c.send([...encodeRequestFrame({ apiKey: Fetch.apiKey, apiVersion: Fetch.minVersion, correlationId: 1, clientId: null }, Fetch.encodeRequest(fetchOne(longPoll))), ...encodeRequestFrame({ apiKey: ApiVersions.apiKey, apiVersion: 0, correlationId: 2, clientId: null }, [])]);
      await waitFor(() => b.broker.parkedFetches === 1);
      await ping(await raw(b.port)); // the broker has processed what arrived
      // At the bound the ApiVersions runs (its answer waits behind the Fetch, and now the budget is spent);
      // one byte under it, the ApiVersions is not dispatched (it waits in the link, unread).
      expect(statsOf(b, c)).toMatchObject({ inFlight: dispatched ? 2 : 1, reading: false });
      clock.advance(5_000); // the long poll answers (empty); then the ApiVersions, in order
      expect((await c.nextResponse(Fetch)).correlationId).toBe(1);
      expect((await c.nextResponse(ApiVersions)).correlationId).toBe(2);
      expect(statsOf(b, c)).toMatchObject({ inFlight: 0, waiting: 0, responseBytesReserved: 0, reading: true });
    }
  });
});

describe('requestReceiveMsMax (ManualClock)', () => {
  it('a frame dripped one byte a second is closed requestReceiveMsMax after its first byte, with a logged reason; another client is served throughout', async () => {
    const clock = new ManualClock();
    const b = await broker({ requestReceiveMsMax: 5_000 }, { clock });
    const drip = await raw(b.port);
    const other = await raw(b.port);
    const frame = paddedFrame(100, 1);
    for (let i = 0; i < 5; i++) {
      if (i > 0) clock.advance(1_000);
      drip.send(frame.subarray(i, i + 1));
      await waitFor(() => statsOf(b, drip)?.partialFrameBytes === i + 1); // read, reported by the link, not whole
      await ping(other, i + 1);
    }
    clock.advance(999); // 4,999 ms after the first byte
    await ping(other, 10);
    expect(drip.isClosed).toBe(false);
    clock.advance(1);
    await drip.closed;
    expect(b.logs).toContainEqual(expect.stringMatching(/closed: request frame incomplete after 5000 ms \(requestReceiveMsMax 5000\): 5 of 104 bytes arrived$/));
    await ping(other, 11);
  });

  it('a frame whose last byte arrives requestReceiveMsMax - 1 after its first is served', async () => {
    const clock = new ManualClock();
    const b = await broker({ requestReceiveMsMax: 5_000 }, { clock });
    const c = await raw(b.port);
    const frame = paddedFrame(100, 1);
    c.send(frame.subarray(0, 1));
    await waitFor(() => statsOf(b, c)?.partialFrameBytes === 1);
    clock.advance(4_999);
    c.send(frame.subarray(1));
    expect((await c.nextResponse(ApiVersions)).res.errorCode).toBe(ErrorCode.INVALID_REQUEST); // padded: trailing bytes
    clock.advance(10_000); // no frame is arriving: nothing to time
    await ping(c, 2);
    expect(b.logs).toEqual([]);
  });

  it('does not time a frame while the broker holds it back (requests in flight at the bound); its clock starts when reading resumes', async () => {
    const clock = new ManualClock();
    const b = await broker({ requestReceiveMsMax: 1_000, maxInFlightPerConnection: 1, fetchWaitMsMax: 30_000 }, { clock });
    const c = await raw(b.port);
    // A long poll, and right behind it half of the next request: the broker stops reading at the long poll.
    const longPoll = encodeRequestFrame({ apiKey: Fetch.apiKey, apiVersion: Fetch.minVersion, correlationId: 1, clientId: null }, Fetch.encodeRequest(fetchOne({ offset: 0, maxBytes: 100, maxWaitMs: 10_000 })));
    c.send([...longPoll, paddedFrame(100, 2).subarray(0, 50)]);
    await waitFor(() => b.broker.parkedFetches === 1);
    clock.advance(5_000); // five times requestReceiveMsMax: the half frame's delay is the broker's, not the client's
    await ping(await raw(b.port));
    expect(c.isClosed).toBe(false);
    clock.advance(5_000); // the long poll answers at 10,000; reading resumes and finds the half frame
    expect((await c.nextResponse(Fetch)).correlationId).toBe(1);
    await waitFor(() => statsOf(b, c)?.partialFrameBytes === 50);
    clock.advance(999);
    await ping(await raw(b.port));
    expect(c.isClosed).toBe(false);
    clock.advance(1);
    await c.closed;
    expect(b.logs).toContainEqual(expect.stringMatching(/request frame incomplete after 1000 ms \(requestReceiveMsMax 1000\): 50 of 104 bytes arrived$/));
  });

  it('idleTimeoutMs counts from the last complete request: bytes of an unfinished frame do not reset it', async () => {
    const clock = new ManualClock();
    const b = await broker({ idleTimeoutMs: 5_000, requestReceiveMsMax: 60_000 }, { clock });
    const c = await raw(b.port);
    await ping(c, 1); // the last complete request and answer, at 0
    const frame = paddedFrame(100, 2);
    for (let i = 0; i < 4; i++) {
      clock.advance(1_000);
      c.send(frame.subarray(i, i + 1));
      await waitFor(() => statsOf(b, c)?.partialFrameBytes === i + 1);
    }
    clock.advance(999); // 4,999 ms after the last request, 999 ms after the last byte
    expect(c.isClosed).toBe(false);
    clock.advance(1);
    await c.closed;
    expect(b.logs).toContainEqual(expect.stringMatching(/closed: idle for 5000 ms \(idleTimeoutMs 5000\)/));
  });
});

describe('queuedRequestBytesMax', () => {
  /** Connect to `b` and send the first `bytes` bytes of a frame whose size field is `size`; wait until the broker has them. */
  async function startFrame(b: TestBroker, size: number, correlationId: number, bytes = 14): Promise<{ c: RawClient; rest: Buffer }> {
    const c = await raw(b.port);
    const frame = paddedFrame(size, correlationId);
    c.send(frame.subarray(0, bytes));
    await waitFor(() => statsOf(b, c)?.partialFrameBytes === bytes);
    return { c, rest: frame.subarray(bytes) };
  }

  it('admits frames still arriving by their size up to exactly the bound; one that does not fit waits unread, in arrival order, while whole requests are served', async () => {
    const b = await broker({ frameBytesMax: 1_000, queuedRequestBytesMax: 2_500 });
    const other = await raw(b.port);
    const pool = () => b.broker.queuedRequestBytes;
    const first = await startFrame(b, 1_000, 1);
    const second = await startFrame(b, 1_000, 2);
    expect(pool()).toMatchObject({ maxBytes: 2_500, usedBytes: 2_000, waiting: 0 });
    // One byte past the bound (2,000 + 501): the frame waits, and its connection is not read.
    const past = await startFrame(b, 501, 3);
    expect(pool()).toMatchObject({ usedBytes: 2_000, waiting: 1 });
    expect(statsOf(b, past.c)).toMatchObject({ awaitingRequestBytes: true, reading: false, queuedRequestBytes: 0 });
    past.c.send(past.rest.subarray(0, 100)); // stays with the OS
    await ping(other, 1); // a request that arrives whole is never held back
    expect(statsOf(b, past.c)?.partialFrameBytes).toBe(14);
    // A later frame that would fit still waits behind it.
    const behind = await startFrame(b, 400, 4);
    expect(pool()).toMatchObject({ usedBytes: 2_000, waiting: 2 });

    // The first frame completes and gives its 1,000 bytes back: both waiting frames are admitted (2,000 - 1,000 + 501 + 400).
    first.c.send(first.rest);
    expect((await first.c.nextResponse(ApiVersions)).res.errorCode).toBe(ErrorCode.INVALID_REQUEST); // padded: trailing bytes
    await waitFor(() => pool().usedBytes === 1_901 && pool().waiting === 0);
    await waitFor(() => statsOf(b, past.c)?.partialFrameBytes === 114); // read again
    // Exactly at the bound: 1,901 + 599 = 2,500 is admitted at once.
    const atBound = await startFrame(b, 599, 5);
    expect(pool()).toMatchObject({ usedBytes: 2_500, waiting: 0 });
    expect(statsOf(b, atBound.c)).toMatchObject({ queuedRequestBytes: 599, awaitingRequestBytes: false, reading: true });

    past.c.send(past.rest.subarray(100));
    for (const x of [second, behind, atBound]) x.c.send(x.rest);
    for (const [x, cid] of [
      [past, 3],
      [second, 2],
      [behind, 4],
      [atBound, 5],
    ] as const) {
      expect((await x.c.nextResponse(ApiVersions)).correlationId).toBe(cid);
    }
    await waitFor(() => pool().usedBytes === 0);
    expect(pool().peakBytes).toBe(2_500); // never more than the bound
    await ping(other, 2);
  });

  it('an admitted frame that stalls is closed after requestReceiveMsMax and gives its bytes back; a frame waiting for room is not timed while it waits', async () => {
    const clock = new ManualClock();
    const b = await broker({ frameBytesMax: 1_000, queuedRequestBytesMax: 1_000, requestReceiveMsMax: 5_000 }, { clock });
    const staller = await startFrame(b, 1_000, 1);
    const waiter = await startFrame(b, 1_000, 2);
    expect(b.broker.queuedRequestBytes).toMatchObject({ usedBytes: 1_000, waiting: 1 });
    clock.advance(4_999);
    await ping(await raw(b.port));
    expect([staller.c.isClosed, waiter.c.isClosed]).toEqual([false, false]);
    clock.advance(1);
    await staller.c.closed;
    expect(b.logs).toContainEqual(expect.stringMatching(/request frame incomplete after 5000 ms \(requestReceiveMsMax 5000\): 14 of 1004 bytes arrived$/));
    // Its bytes went to the waiting frame, whose clock starts now (at 5,000), not at its first byte.
    await waitFor(() => statsOf(b, waiter.c)?.awaitingRequestBytes === false);
    expect(b.broker.queuedRequestBytes).toMatchObject({ usedBytes: 1_000, waiting: 0, peakBytes: 1_000 });
    clock.advance(4_999);
    await ping(await raw(b.port));
    expect(waiter.c.isClosed).toBe(false);
    waiter.c.send(waiter.rest);
    expect((await waiter.c.nextResponse(ApiVersions)).correlationId).toBe(2);
    await waitFor(() => b.broker.queuedRequestBytes.usedBytes === 0);
  });
});

describe('the hostile-client bounds are settings', () => {
  it('have defaults, and resolveBrokerConfig refuses a value below each minimum and a queuedRequestBytesMax below frameBytesMax', () => {
    expect(resolveBrokerConfig({ dir: '/d' })).toMatchObject({ responseBytesMaxPerConnection: 8 * 1024 * 1024, requestReceiveMsMax: 30_000, queuedRequestBytesMax: 64 * 1024 * 1024 });
    expect(resolveBrokerConfig({ dir: '/d', responseBytesMaxPerConnection: 1, requestReceiveMsMax: 1, queuedRequestBytesMax: 64, frameBytesMax: 64 })).toMatchObject({ queuedRequestBytesMax: 64 });
    expect(() => resolveBrokerConfig({ dir: '/d', responseBytesMaxPerConnection: 0 })).toThrow('responseBytesMaxPerConnection must be an integer >= 1, got 0');
    expect(() => resolveBrokerConfig({ dir: '/d', requestReceiveMsMax: 0 })).toThrow('requestReceiveMsMax must be an integer >= 1, got 0');
    expect(() => resolveBrokerConfig({ dir: '/d', queuedRequestBytesMax: 63, frameBytesMax: 64 })).toThrow('queuedRequestBytesMax must be an integer >= 64, got 63');
    expect(() => resolveBrokerConfig({ dir: '/d', queuedRequestBytesMax: 1_000, frameBytesMax: 1_001 })).toThrow(
      'queuedRequestBytesMax (1000) must be at least frameBytesMax (1001), or a frame that large could never be admitted',
    );
  });
});
