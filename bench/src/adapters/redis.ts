/**
 * The Redis Streams peer as a load target: each producer is one pipelined RESP
 * connection; a send of k records is k `XADD bench * v <value>` commands written
 * together, acknowledged when all k replies are back. The server itself is started
 * by redis-peer.ts, not here (it is not a phase and has no `serve` CLI).
 */
import { RespConnection } from '../resp.ts';
import type { BenchProducer, TargetAdapter } from './types.ts';

/** Stream key the benchmark appends to. */
export const streamKey = 'bench';

/** The redis target adapter. */
export const adapter: TargetAdapter = {
  key: 'redis',
  phase: null,
  ack: 'after the AOF fsync (appendfsync always)',
  label: 'redis XADD',
  async createProducer(port: number): Promise<BenchProducer> {
    const conn = await RespConnection.connect(port);
    return {
      send: async (values) => {
        await conn.pipeline(values.map((v) => ['XADD', streamKey, '*', 'v', v]));
      },
      close: () => conn.close(),
    };
  },
};
