/**
 * Every bound the broker puts on a client, tested at the bound and one past it:
 * connections (maxConnections), requests in flight per connection
 * (maxInFlightPerConnection), frame size (frameBytesMax) and idleness (idleTimeoutMs,
 * on a ManualClock).
 */
import { describe, expect, it } from 'vitest';
import { waitFor } from '../../../shared/src/testing.ts';
import { ManualClock } from '../src/seams/clock.ts';
import { ApiVersions } from '../src/protocol/api-versions.ts';
import { ErrorCode } from '../src/protocol/errors.ts';
import { Fetch } from '../src/protocol/fetch.ts';
import { encodeRequestFrame } from '../src/protocol/header.ts';
import { Produce } from '../src/protocol/produce.ts';
import { encodeBatch } from '../src/log/record-batch.ts';
import { type RawClient, testResources } from './wire-helpers.ts';

const t = testResources();
const broker = t.broker;
const raw = t.raw;

/** One request/response round trip: proves the connection is served. */
async function ping(c: RawClient, correlationId = 1): Promise<void> {
  c.sendRequest(ApiVersions, {}, correlationId);
  const { correlationId: got, res } = await c.nextResponse(ApiVersions);
  expect([got, res.errorCode]).toEqual([correlationId, ErrorCode.NONE]);
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
      encodeRequestFrame({ apiKey: Fetch.apiKey, apiVersion: 0, correlationId: cid, clientId: null }, Fetch.encodeRequest({ offset: 0, maxBytes: 1 << 20, maxWaitMs: 20_000 }));
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
    other.sendRequest(Produce, { acks: -1, timeoutMs: 1000, records: [encodeBatch([{ value: Buffer.from('x') }], { baseTimestamp: 1 })] }, 2);
    expect((await other.nextResponse(Produce)).res.errorCode).toBe(ErrorCode.NONE);
    expect((await c.nextResponse(Fetch)).correlationId).toBe(1);
    expect((await c.nextResponse(Fetch)).correlationId).toBe(2);
    const third = await c.nextResponse(Fetch);
    expect(third.correlationId).toBe(3);
    expect(Buffer.concat(third.res.records).length).toBeGreaterThan(0);
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
    c.sendRequest(Fetch, { offset: 0, maxBytes: 100, maxWaitMs: 3_000 }, 1);
    await waitFor(() => b.broker.parkedFetches === 1);
    clock.advance(2_999);
    expect(c.isClosed).toBe(false);
    clock.advance(1); // the fetch is answered at 3000
    expect((await c.nextResponse(Fetch)).res.records).toEqual([]);
    clock.advance(999);
    expect(c.isClosed).toBe(false);
    clock.advance(1);
    await c.closed;
  });
});
