/**
 * The in-memory Transport (src/seams/memory-transport.ts), first link by link, on a
 * scheduler the test runs by hand (so "nothing happens inside send" is visible): addresses
 * (deterministic ports, EADDRINUSE, ECONNREFUSED, Listener.close), per-direction FIFO
 * (also under a scheduler that runs tasks in reverse), the frame limits as ProtocolErrors,
 * backpressure (send's result, sendBlocked, unsentBytes, the listener's unsentBytesMax,
 * drained, pause and resume), frame progress (partialFrame), half-close in both
 * directions, abort, write after end and resetAll. Then the real broker over it: a client
 * that pipelines 300 requests past maxInFlightPerConnection, over a link bound smaller
 * than one answer, then half-closes, gets all 300 answers in order and a clean close.
 *
 * This file is the same in every phase from 2 on; the producer/consumer round trip,
 * which differs per phase, is in memory-broker.test.ts.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from '../../../shared/src/testing.ts';
import { ByteReader } from '../src/protocol/bytes.ts';
import { ProtocolError } from '../src/protocol/errors.ts';
import { ApiVersions } from '../src/protocol/api-versions.ts';
import { decodeResponseHeader, encodeRequestFrame } from '../src/protocol/header.ts';
import { Broker } from '../src/server/broker.ts';
import { ManualClock } from '../src/seams/clock.ts';
import { MemoryStorage } from '../src/seams/memory-storage.ts';
import { EPHEMERAL_PORT_FIRST, LINK_BYTES_MAX_DEFAULT, MemoryNetworkError, MemoryTransport } from '../src/seams/memory-transport.ts';
import { seededRandom } from '../src/seams/random.ts';
import { realSeams } from '../src/seams/real.ts';
import type { FrameHandlers, FrameLink, ListenOptions, Listener, ServerLink, ServerLinkHandlers, Transport } from '../src/seams/transport.ts';

const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** One turn of the event loop: every promise continuation queued so far runs. */
const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** A scheduler the test runs by hand: tasks wait, in order, until `run`. */
class Tasks {
  readonly queue: (() => void)[] = [];
  /** Run tasks last-in first-out instead (a scheduler that reorders everything). */
  reverse = false;
  readonly schedule = (fn: () => void): void => {
    this.queue.push(fn);
  };

  /** Run tasks (and the promise continuations they lead to) until none is left. */
  async run(): Promise<void> {
    for (;;) {
      await turn();
      if (this.queue.length === 0) return;
      while (this.queue.length > 0) (this.reverse ? (this.queue.pop() as () => void) : (this.queue.shift() as () => void))();
    }
  }
}

/** Every event an end delivered, in order: `frame:<utf-8>`, `ended`, `drained`, `closed`. */
class Recorder {
  readonly events: string[] = [];
  /** Every `partialFrame` a server end reported, as `<receivedBytes>/<frameBytes>` (kept apart from `events`). */
  readonly partials: string[] = [];
  /** What `closed` came with; undefined while open. */
  error: Error | null | undefined = undefined;
  /** Called with each frame, after it is recorded. */
  onFrame: (frame: Buffer) => void = () => {};
  readonly client: FrameHandlers = {
    frame: (f) => this.#frame(f),
    closed: (e) => this.#closed(e),
  };
  readonly server: ServerLinkHandlers = {
    frame: (f) => this.#frame(f),
    partialFrame: (received, size) => this.partials.push(`${received}/${size ?? '?'}`),
    ended: () => this.events.push('ended'),
    drained: () => this.events.push('drained'),
    closed: (e) => this.#closed(e),
  };

  /** The payloads of the frames received, in order. */
  get frames(): string[] {
    return this.events.filter((e) => e.startsWith('frame:')).map((e) => e.slice('frame:'.length));
  }

  #frame(f: Buffer): void {
    this.events.push(`frame:${f.toString('utf8')}`);
    this.onFrame(f);
  }

  #closed(e: Error | null): void {
    this.events.push('closed');
    this.error = e;
  }
}

/** One frame (size prefix, then the payload) as the chunks `send` takes. */
function frame(payload: string | Buffer): Buffer[] {
  const body = typeof payload === 'string' ? Buffer.from(payload, 'utf8') : payload;
  const size = Buffer.alloc(4);
  size.writeInt32BE(body.length);
  return [size, body];
}

const LIMITS: ListenOptions = { frameBytesMax: 64, frameBytesMin: 2, backlog: 8 };

interface Pair {
  readonly listener: Listener;
  readonly client: FrameLink;
  readonly server: ServerLink;
  readonly clientEvents: Recorder;
  readonly serverEvents: Recorder;
}

/** Listen on 127.0.0.1 (port 0), connect once, run the scheduler until the link is up. */
async function pair(net: MemoryTransport, tasks: Tasks, limits: Partial<ListenOptions> = {}, clientFrameBytesMax = 64): Promise<Pair> {
  const serverEvents = new Recorder();
  const clientEvents = new Recorder();
  const accepted: ServerLink[] = [];
  const listener = await net.listen('127.0.0.1', 0, { ...LIMITS, ...limits }, (link) => {
    accepted.push(link);
    return serverEvents.server;
  });
  const connecting = net.connect('127.0.0.1', listener.port, clientEvents.client, { frameBytesMax: clientFrameBytesMax });
  await tasks.run();
  const client = await connecting;
  const server = accepted[0];
  if (server === undefined) throw new Error('not accepted');
  return { listener, client, server, clientEvents, serverEvents };
}

/** `link`, with `onPause` called on each `pause()`. */
function countPauses(link: ServerLink, onPause: () => void): ServerLink {
  return {
    peer: link.peer,
    get sendBlocked() {
      return link.sendBlocked;
    },
    get unsentBytes() {
      return link.unsentBytes;
    },
    send: (chunks) => link.send(chunks),
    pause: () => {
      onPause();
      link.pause();
    },
    resume: () => link.resume(),
    end: () => link.end(),
    abort: () => link.abort(),
  };
}

function codeOf(err: Error | null | undefined): string | undefined {
  return err instanceof MemoryNetworkError ? err.code : undefined;
}

describe('addresses', () => {
  it('port 0 counts up from 40000, the same every run; a taken address rejects with EADDRINUSE', async () => {
    expect(EPHEMERAL_PORT_FIRST).toBe(40_000);
    const net = new MemoryTransport();
    const accept = (): ServerLinkHandlers => new Recorder().server;
    const a = await net.listen('127.0.0.1', 0, LIMITS, accept);
    const b = await net.listen('127.0.0.1', 0, LIMITS, accept);
    const fixed = await net.listen('127.0.0.1', 9092, LIMITS, accept);
    expect([a.port, b.port, fixed.port, a.host]).toEqual([40_000, 40_001, 9092, '127.0.0.1']);
    await expect(net.listen('127.0.0.1', 9092, LIMITS, accept)).rejects.toMatchObject({ code: 'EADDRINUSE', message: 'listen EADDRINUSE: address already in use 127.0.0.1:9092' });
    await expect(net.listen('127.0.0.1', 40_001, LIMITS, accept)).rejects.toMatchObject({ code: 'EADDRINUSE' });
    // Another host is another address; a taken port is skipped by port 0.
    expect((await net.listen('10.0.0.2', 9092, LIMITS, accept)).port).toBe(9092);
    await net.listen('127.0.0.1', 40_002, LIMITS, accept);
    expect((await net.listen('127.0.0.1', 0, LIMITS, accept)).port).toBe(40_003);
    // A second network is a fresh one: the same ports again.
    expect((await new MemoryTransport().listen('127.0.0.1', 0, LIMITS, accept)).port).toBe(40_000);
    await expect(net.listen('127.0.0.1', 65_536, LIMITS, accept)).rejects.toBeInstanceOf(RangeError);
  });

  it('connect where nobody listens rejects with ECONNREFUSED', async () => {
    const net = new MemoryTransport();
    const err: unknown = await net.connect('127.0.0.1', 9092, new Recorder().client, { frameBytesMax: 64 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MemoryNetworkError);
    expect(err).toMatchObject({ code: 'ECONNREFUSED', message: 'connect ECONNREFUSED 127.0.0.1:9092' });
    await expect(net.connect('127.0.0.1', -1, new Recorder().client, { frameBytesMax: 64 })).rejects.toBeInstanceOf(RangeError);
  });

  it('Listener.close stops accepting and frees the address; links already accepted stay open', async () => {
    const tasks = new Tasks();
    const net = new MemoryTransport({ schedule: tasks.schedule });
    const p = await pair(net, tasks);
    expect(p.server.peer).toBe('memory:1');
    await p.listener.close();
    await p.listener.close(); // twice is fine
    const refused = net.connect('127.0.0.1', p.listener.port, new Recorder().client, { frameBytesMax: 64 });
    refused.catch(() => undefined);
    await tasks.run();
    await expect(refused).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    p.client.send(frame('still here'));
    p.server.send(frame('and here'));
    await tasks.run();
    expect([p.serverEvents.frames, p.clientEvents.frames]).toEqual([['still here'], ['and here']]);
    // The address can be taken again, and the new listener's peers are new links.
    const again = await pair(net, tasks);
    expect(again.listener.port).toBe(40_001); // port 0 moves on; the freed 40000 would be taken by an explicit listen
    expect(again.server.peer).toBe('memory:2');
    expect((await net.listen('127.0.0.1', p.listener.port, LIMITS, () => new Recorder().server)).port).toBe(40_000);
  });
});

describe('frames', () => {
  it('are delivered in scheduled tasks, never inside send, in FIFO order each way, as a byte stream', async () => {
    const tasks = new Tasks();
    const net = new MemoryTransport({ schedule: tasks.schedule });
    const p = await pair(net, tasks);
    for (const s of ['one', 'two', 'three']) expect(p.client.send(frame(s))).toBe(true);
    const mutable = Buffer.from('four');
    p.client.send(frame(mutable));
    mutable.write('XXXX'); // send copied the bytes, as a kernel does
    p.server.send(frame('ans-a'));
    p.server.send(frame('ans-b'));
    expect([p.serverEvents.events, p.clientEvents.events, tasks.queue.length > 0]).toEqual([[], [], true]);
    await tasks.run();
    expect(p.serverEvents.frames).toEqual(['one', 'two', 'three', 'four']);
    expect(p.clientEvents.frames).toEqual(['ans-a', 'ans-b']);
    // A frame split over two sends, and two frames in one send: bytes, not messages.
    const [size, body] = frame('split');
    p.client.send([size as Buffer, (body as Buffer).subarray(0, 2)]);
    await tasks.run();
    expect(p.serverEvents.frames).toHaveLength(4);
    p.client.send([(body as Buffer).subarray(2), ...frame('xx'), ...frame('yy')]);
    await tasks.run();
    expect(p.serverEvents.frames.slice(4)).toEqual(['split', 'xx', 'yy']);
  });

  it('stay FIFO per direction even when the scheduler runs tasks in reverse', async () => {
    const tasks = new Tasks();
    const net = new MemoryTransport({ schedule: tasks.schedule });
    const p = await pair(net, tasks);
    tasks.reverse = true;
    const sent: string[] = [];
    for (let i = 0; i < 50; i++) {
      sent.push(`m${i}`);
      p.client.send(frame(`m${i}`));
      p.server.send(frame(`resp${i}`));
      if (i % 7 === 0) await tasks.run();
    }
    p.client.close();
    await tasks.run();
    expect(p.serverEvents.frames).toEqual(sent);
    expect(p.serverEvents.events.at(-1)).toBe('ended');
    expect(p.clientEvents.frames).toEqual(sent.map((s) => s.replace('m', 'resp')));
  });

  it('work with the default scheduler (queueMicrotask)', async () => {
    const net = new MemoryTransport();
    const accepted: ServerLink[] = [];
    const serverEvents = new Recorder();
    serverEvents.onFrame = (f) => accepted[0]?.send(frame(`echo ${f.toString()}`));
    const listener = await net.listen('127.0.0.1', 0, LIMITS, (link) => {
      accepted.push(link);
      return serverEvents.server;
    });
    const clientEvents = new Recorder();
    const client = await net.connect('127.0.0.1', listener.port, clientEvents.client, { frameBytesMax: 64 });
    client.send(frame('hi'));
    expect(serverEvents.events).toEqual([]);
    await waitFor(() => clientEvents.frames.length === 1);
    expect(clientEvents.frames).toEqual(['echo hi']);
    client.close();
    await waitFor(() => serverEvents.events.includes('ended'));
    accepted[0]?.end();
    await waitFor(() => clientEvents.error !== undefined && serverEvents.error !== undefined);
    expect([clientEvents.error, serverEvents.error, net.openLinks]).toEqual([null, null, 0]);
  });
});

describe('frame limits, as FrameDecoder enforces them over TCP', () => {
  it('the server end takes a frame of exactly frameBytesMax; one byte more closes the link with a ProtocolError', async () => {
    const tasks = new Tasks();
    const net = new MemoryTransport({ schedule: tasks.schedule });
    const p = await pair(net, tasks, { frameBytesMax: 16 });
    p.client.send(frame('x'.repeat(16)));
    p.client.send(frame('y'.repeat(17)));
    p.client.send(frame('never'));
    await tasks.run();
    expect(p.serverEvents.events).toEqual([`frame:${'x'.repeat(16)}`, 'closed']);
    expect(p.serverEvents.error).toBeInstanceOf(ProtocolError);
    expect(p.serverEvents.error?.message).toBe('frame of 17 bytes exceeds frameBytesMax 16');
    expect(p.clientEvents.events).toEqual(['closed']);
    expect(codeOf(p.clientEvents.error)).toBe('ECONNRESET');
    expect(net.openLinks).toBe(0);
  });

  it('the server end closes the link on a frame under frameBytesMin', async () => {
    const tasks = new Tasks();
    const net = new MemoryTransport({ schedule: tasks.schedule });
    const p = await pair(net, tasks, { frameBytesMin: 3 });
    p.client.send(frame('abc'));
    p.client.send(frame('ab'));
    await tasks.run();
    expect(p.serverEvents.events).toEqual(['frame:abc', 'closed']);
    expect(p.serverEvents.error).toBeInstanceOf(ProtocolError);
    expect(p.serverEvents.error?.message).toBe('frame of 2 bytes is smaller than the 3-byte minimum');
    expect(codeOf(p.clientEvents.error)).toBe('ECONNRESET');
  });

  it("the client end enforces the connect's frameBytesMax (and a response header's 4-byte minimum)", async () => {
    const tasks = new Tasks();
    const net = new MemoryTransport({ schedule: tasks.schedule });
    const p = await pair(net, tasks, {}, 8);
    p.server.send(frame('12345678'));
    p.server.send(frame('123456789'));
    await tasks.run();
    expect(p.clientEvents.events).toEqual(['frame:12345678', 'closed']);
    expect(p.clientEvents.error).toBeInstanceOf(ProtocolError);
    expect(p.clientEvents.error?.message).toBe('frame of 9 bytes exceeds frameBytesMax 8');
    expect(codeOf(p.serverEvents.error)).toBe('ECONNRESET');

    const q = await pair(net, tasks, {}, 8);
    q.server.send(frame('abc'));
    await tasks.run();
    expect(q.clientEvents.error?.message).toBe('frame of 3 bytes is smaller than the 4-byte minimum');
  });
});

describe('frame progress', () => {
  it('partialFrame follows each delivery that leaves a frame incomplete, with its size once four bytes are here; never for whole frames, never while paused', async () => {
    const tasks = new Tasks();
    const net = new MemoryTransport({ schedule: tasks.schedule });
    const p = await pair(net, tasks);
    p.client.send(frame('whole'));
    await tasks.run();
    expect([p.serverEvents.frames, p.serverEvents.partials]).toEqual([['whole'], []]);
    const [size, body] = frame('abcdefgh') as [Buffer, Buffer];
    p.client.send([size.subarray(0, 2)]); // half the size field: size not known yet
    await tasks.run();
    p.client.send([size.subarray(2), body.subarray(0, 3)]);
    await tasks.run();
    expect(p.serverEvents.partials).toEqual(['2/?', '7/8']);
    p.server.pause();
    p.client.send([body.subarray(3, 5)]);
    await tasks.run();
    expect(p.serverEvents.partials).toEqual(['2/?', '7/8']); // paused: nothing taken, nothing reported
    p.server.resume();
    await tasks.run();
    expect(p.serverEvents.partials).toEqual(['2/?', '7/8', '9/8']);
    // The rest, and a whole frame and the start of another in the same send.
    p.client.send([body.subarray(5), ...frame('next'), Buffer.from([0, 0])]);
    await tasks.run();
    expect(p.serverEvents.frames).toEqual(['whole', 'abcdefgh', 'next']);
    expect(p.serverEvents.partials).toEqual(['2/?', '7/8', '9/8', '2/?']);
  });
});

describe('backpressure', () => {
  it("unsentBytes is what the server end's pipe holds; a listener's unsentBytesMax below linkBytesMax blocks send there", async () => {
    const tasks = new Tasks();
    const net = new MemoryTransport({ schedule: tasks.schedule, linkBytesMax: 100 });
    const p = await pair(net, tasks, { unsentBytesMax: 10 });
    expect(p.server.send(frame('123456'))).toBe(true); // 10 unsent: at the bound
    expect([p.server.unsentBytes, p.server.sendBlocked]).toEqual([10, false]);
    expect(p.server.send(frame('7890'))).toBe(false); // 18 > 10
    expect([p.server.unsentBytes, p.server.sendBlocked]).toEqual([18, true]);
    p.client.send(frame('x'.repeat(40))); // the other direction keeps linkBytesMax
    await tasks.run();
    expect([p.server.unsentBytes, p.server.sendBlocked, p.serverEvents.events]).toEqual([0, false, [`frame:${'x'.repeat(40)}`, 'drained']]);
  });

  it('send returns false past linkBytesMax and until the pipe is empty; sendBlocked says so; drained follows once', async () => {
    expect(LINK_BYTES_MAX_DEFAULT).toBe(1024 * 1024);
    const tasks = new Tasks();
    const net = new MemoryTransport({ schedule: tasks.schedule, linkBytesMax: 20 });
    expect(net.linkBytesMax).toBe(20);
    const p = await pair(net, tasks);
    expect(p.server.send(frame('x'.repeat(16)))).toBe(true); // 20 bytes unsent: at the bound, not past it
    expect(p.server.sendBlocked).toBe(false);
    expect(p.server.send(frame('yyyy'))).toBe(false); // 28 > 20; the frame is taken anyway
    expect(p.server.sendBlocked).toBe(true);
    expect(p.server.send(frame('zzzz'))).toBe(false);
    await tasks.run();
    expect(p.clientEvents.frames).toEqual(['x'.repeat(16), 'yyyy', 'zzzz']);
    expect(p.serverEvents.events).toEqual(['drained']);
    expect(p.server.sendBlocked).toBe(false);
    expect(p.server.send(frame('wwww'))).toBe(true);
  });

  it('a paused server end takes nothing from the pipe, so the client is held back; resume delivers in order', async () => {
    const tasks = new Tasks();
    const net = new MemoryTransport({ schedule: tasks.schedule, linkBytesMax: 20 });
    const p = await pair(net, tasks);
    p.server.pause();
    const results: boolean[] = [];
    for (let i = 0; i < 6; i++) {
      results.push(p.client.send(frame(`req${i}`))); // 8 bytes each
      await tasks.run();
    }
    expect(results).toEqual([true, true, false, false, false, false]);
    expect(p.serverEvents.events).toEqual([]);
    p.client.close();
    await tasks.run();
    expect(p.serverEvents.events).toEqual([]); // not even the end, while paused
    p.server.resume();
    expect(p.serverEvents.events).toEqual([]); // resume schedules delivery
    await tasks.run();
    expect(p.serverEvents.events).toEqual(['frame:req0', 'frame:req1', 'frame:req2', 'frame:req3', 'frame:req4', 'frame:req5', 'ended']);
  });

  it('pause() inside a frame handler stops delivery at once: frames already cut wait in the link', async () => {
    const tasks = new Tasks();
    const net = new MemoryTransport({ schedule: tasks.schedule });
    const p = await pair(net, tasks);
    p.serverEvents.onFrame = () => p.server.pause();
    p.client.send([...frame('aa'), ...frame('bb'), ...frame('cc')]); // one send, three frames
    await tasks.run();
    expect(p.serverEvents.frames).toEqual(['aa']);
    p.server.resume();
    await tasks.run();
    expect(p.serverEvents.frames).toEqual(['aa', 'bb']);
    p.serverEvents.onFrame = () => {};
    p.server.resume();
    p.server.resume(); // resuming twice is fine
    await tasks.run();
    expect(p.serverEvents.frames).toEqual(['aa', 'bb', 'cc']);
  });
});

describe('closing', () => {
  it('client close(): the server gets ended after the earlier frames, answers, ends; both close cleanly', async () => {
    const tasks = new Tasks();
    const net = new MemoryTransport({ schedule: tasks.schedule });
    const p = await pair(net, tasks);
    p.client.send(frame('q1'));
    p.client.send(frame('q2'));
    p.client.close();
    p.client.close(); // idempotent
    await tasks.run();
    expect(p.serverEvents.events).toEqual(['frame:q1', 'frame:q2', 'ended']);
    expect(p.clientEvents.events).toEqual([]); // half-open: the client waits for its answers
    p.server.send(frame('ans1'));
    p.server.send(frame('ans2'));
    p.server.end();
    p.server.end(); // the broker may end twice
    expect(p.clientEvents.events).toEqual([]);
    await tasks.run();
    expect(p.clientEvents.events).toEqual(['frame:ans1', 'frame:ans2', 'closed']);
    expect(p.serverEvents.events).toEqual(['frame:q1', 'frame:q2', 'ended', 'closed']);
    expect([p.clientEvents.error, p.serverEvents.error, net.openLinks]).toEqual([null, null, 0]);
  });

  it('server end(): the client gets the frames sent before it, then closed(null); its side ends too, so the server gets ended, then closed', async () => {
    const tasks = new Tasks();
    const net = new MemoryTransport({ schedule: tasks.schedule });
    const p = await pair(net, tasks);
    p.server.send(frame('last'));
    p.server.end();
    await tasks.run();
    expect(p.clientEvents.events).toEqual(['frame:last', 'closed']);
    expect(p.clientEvents.error).toBeNull();
    expect(p.serverEvents.events).toEqual(['ended', 'closed']);
    expect(p.serverEvents.error).toBeNull();
    expect(p.client.send(frame('too late'))).toBe(false);
  });

  it('abort() by the client: it closes with null, the server with a reset; frames not yet delivered are dropped', async () => {
    const tasks = new Tasks();
    const net = new MemoryTransport({ schedule: tasks.schedule });
    const p = await pair(net, tasks);
    p.client.send(frame('delivered'));
    await tasks.run();
    p.client.send(frame('dropped'));
    p.server.send(frame('dropped too'));
    p.client.abort();
    p.client.abort();
    expect([p.clientEvents.events, p.serverEvents.events]).toEqual([[], ['frame:delivered']]); // closed is scheduled, too
    await tasks.run();
    expect(p.clientEvents.events).toEqual(['closed']);
    expect(p.clientEvents.error).toBeNull();
    expect(p.serverEvents.events).toEqual(['frame:delivered', 'closed']);
    expect(p.serverEvents.error).toBeInstanceOf(MemoryNetworkError);
    expect(p.serverEvents.error?.message).toMatch(/ECONNRESET/);
    expect(codeOf(p.serverEvents.error)).toBe('ECONNRESET');
    // Everything after closed is a no-op.
    expect(p.server.send(frame('x'))).toBe(false);
    p.server.end();
    p.server.abort();
    p.server.resume();
    await tasks.run();
    expect(p.serverEvents.events).toEqual(['frame:delivered', 'closed']);
  });

  it('abort() by the server, even while paused with frames waiting: the client gets a reset', async () => {
    const tasks = new Tasks();
    const net = new MemoryTransport({ schedule: tasks.schedule });
    const p = await pair(net, tasks);
    p.server.pause();
    p.client.send(frame('held'));
    p.client.close();
    await tasks.run();
    p.server.abort();
    await tasks.run();
    expect(p.serverEvents.events).toEqual(['closed']);
    expect(p.serverEvents.error).toBeNull();
    expect(p.clientEvents.events).toEqual(['closed']);
    expect(codeOf(p.clientEvents.error)).toBe('ECONNRESET');
  });

  it('send after close() fails the link, as a socket does (ERR_STREAM_WRITE_AFTER_END)', async () => {
    const tasks = new Tasks();
    const net = new MemoryTransport({ schedule: tasks.schedule });
    const p = await pair(net, tasks);
    p.client.close();
    expect(p.client.send(frame('late'))).toBe(false);
    await tasks.run();
    expect(codeOf(p.clientEvents.error)).toBe('ERR_STREAM_WRITE_AFTER_END');
    expect(codeOf(p.serverEvents.error)).toBe('ECONNRESET');
  });

  it('a client frame handler that throws closes the link with that error (as tcpTransport)', async () => {
    const tasks = new Tasks();
    const net = new MemoryTransport({ schedule: tasks.schedule });
    const p = await pair(net, tasks);
    const bug = new Error('bug in the client');
    p.clientEvents.onFrame = () => {
      throw bug;
    };
    p.server.send(frame('boom'));
    p.server.send(frame('never'));
    await tasks.run();
    expect(p.clientEvents.events).toEqual(['frame:boom', 'closed']);
    expect(p.clientEvents.error).toBe(bug);
    expect(codeOf(p.serverEvents.error)).toBe('ECONNRESET');
  });

  it('a refusing accept (abort inside accept) gives the client its link, then a reset', async () => {
    const tasks = new Tasks();
    const net = new MemoryTransport({ schedule: tasks.schedule });
    const listener = await net.listen('127.0.0.1', 0, LIMITS, (link) => {
      link.abort();
      return new Recorder().server;
    });
    const clientEvents = new Recorder();
    const connecting = net.connect('127.0.0.1', listener.port, clientEvents.client, { frameBytesMax: 64 });
    let connected = false;
    void connecting.then(() => (connected = true));
    await tasks.run();
    expect(connected).toBe(true);
    expect(clientEvents.events).toEqual(['closed']);
    expect(codeOf(clientEvents.error)).toBe('ECONNRESET');
  });

  it('resetAll() kills every open link (both ends get ECONNRESET); listeners keep accepting', async () => {
    const tasks = new Tasks();
    const net = new MemoryTransport({ schedule: tasks.schedule });
    const a = await pair(net, tasks);
    const b = await pair(net, tasks);
    a.client.send(frame('in flight'));
    expect(net.openLinks).toBe(2);
    expect(net.resetAll()).toBe(2);
    await tasks.run();
    for (const r of [a.clientEvents, a.serverEvents, b.clientEvents, b.serverEvents]) {
      expect(r.events).toEqual(['closed']);
      expect(codeOf(r.error)).toBe('ECONNRESET');
    }
    expect([net.openLinks, net.resetAll()]).toEqual([0, 0]);
    const recorder = new Recorder();
    const connecting = net.connect('127.0.0.1', a.listener.port, recorder.client, { frameBytesMax: 64 });
    await tasks.run();
    (await connecting).close();
    await tasks.run();
    expect(net.openLinks).toBe(1); // half-closed: the new link's server end got ended but has not ended its side
  });
});

describe('the real broker over a MemoryTransport', () => {
  it('a client that pipelines 300 requests past maxInFlightPerConnection over a link bound smaller than one answer, then half-closes, gets all 300 answers in order', async () => {
    const network = new MemoryTransport({ linkBytesMax: 16 }); // every answer is larger: each send blocks the broker
    const clock = new ManualClock();
    const logs: string[] = [];
    // Count the broker's pause() calls on its links: its backpressure did run.
    let pauses = 0;
    const counting: Transport = {
      connect: (host, port, handlers, options) => network.connect(host, port, handlers, options),
      listen: (host, port, options, accept) => network.listen(host, port, options, (link) => accept(countPauses(link, () => pauses++))),
    };
    const seams = { ...realSeams(), random: seededRandom(1) };
    const broker = await Broker.start(
      { dir: '/log', port: 0, maxInFlightPerConnection: 1 },
      { ...seams, storage: new MemoryStorage(), transport: counting, clock, logger: (line) => logs.push(line) },
    );
    cleanups.push(() => broker.close());
    expect(broker.port).toBe(EPHEMERAL_PORT_FIRST);
    const answers: number[] = [];
    let closed: Error | null | undefined;
    const link = await network.connect(broker.host, broker.port, { frame: (f) => answers.push(decodeResponseHeader(new ByteReader(f))), closed: (e) => (closed = e) }, { frameBytesMax: 1 << 20 });
    const sendResults: boolean[] = [];
    for (let i = 0; i < 300; i++) sendResults.push(link.send(encodeRequestFrame({ apiKey: ApiVersions.apiKey, apiVersion: 0, correlationId: i, clientId: null }, [])));
    expect(sendResults.filter((ok) => !ok).length).toBeGreaterThan(0); // the client was held back too
    link.close();
    await waitFor(() => closed !== undefined);
    expect(answers).toEqual(Array.from({ length: 300 }, (_, i) => i));
    expect(closed).toBeNull();
    expect(pauses).toBeGreaterThan(0);
    await waitFor(() => broker.connectionCount === 0);
    expect([logs, network.openLinks]).toEqual([[], 0]);
  });
});
