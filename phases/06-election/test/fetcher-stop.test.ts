/**
 * A follower's fetcher must stop promptly, whatever its leader is doing: `Broker.close()`
 * (SIGTERM) awaits `ReplicaFetcher.stop()`, so a fetcher that cannot stop holds the whole
 * shutdown past `shutdownDeadlineMs`.
 *
 * Found with `cluster`: when broker 3 could not start because something else held its
 * port (a listener that accepts and never answers), SIGTERM to brokers 1 and 2 did not
 * stop them within 15 s and the supervisor had to SIGKILL them. `stop()` closes the
 * fetcher's connection only once `Connection.connect` has returned; while the connect's
 * ApiVersions handshake is unanswered (a frozen, SIGSTOPped leader does the same), the
 * loop waits for the request timeout, `fetchWaitMs + 30 000` ms, and `stop()` with it.
 */
import { describe, expect, it } from 'vitest';
import { ReplicaFetcher } from '../src/replication/fetcher.ts';
import { realClock } from '../src/seams/clock.ts';
import { MemoryTransport } from '../src/seams/memory-transport.ts';

describe('ReplicaFetcher.stop', () => {
  it('returns promptly while the leader accepts the connection but never answers', async () => {
    const network = new MemoryTransport();
    // A "leader" that takes the connection and ignores every frame (a frozen process does that over TCP).
    let accepted = 0;
    const listener = await network.listen('127.0.0.1', 19_501, { frameBytesMax: 1 << 20, frameBytesMin: 1, backlog: 8 }, () => {
      accepted++;
      return { frame: () => {}, ended: () => {}, drained: () => {}, closed: () => {}, partialFrame: () => {} };
    });
    const logs: string[] = [];
    const fetcher = new ReplicaFetcher({
      brokerId: 2,
      leader: { id: 1, host: '127.0.0.1', port: 19_501 },
      partitions: [],
      clock: realClock,
      transport: network,
      fetchWaitMs: 100,
      fetchBytesMax: 1 << 20,
      retryBackoffMs: 50,
      logger: (line) => logs.push(line),
    });
    try {
      fetcher.start();
      await new Promise<void>((resolve) => queueMicrotask(resolve));
      await new Promise<void>((resolve) => setImmediate(resolve));
      expect(accepted).toBe(1); // connected; its ApiVersions request is now waiting for an answer
      const started = Date.now();
      const outcome = await Promise.race([
        fetcher.stop().then(() => 'stopped'),
        new Promise<string>((resolve) => setTimeout(() => resolve('still waiting'), 2000).unref()),
      ]);
      expect(outcome, `stop() did not return within 2 s (it returned after ${Date.now() - started} ms or not at all)`).toBe('stopped');
    } finally {
      await listener.close();
    }
  });
});
