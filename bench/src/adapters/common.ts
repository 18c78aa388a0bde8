/**
 * The pieces every phase adapter shares: wrapping a phase's Log as the embedded
 * target and a phase's Consumer as the catch-up reader. The Log API (phase 1) and the
 * consumer's `fetchResult` have the same shape in every phase so far, so the wrappers
 * are typed structurally rather than against one phase's classes.
 */
import type { BenchConsumer, BenchProducer, EmbeddedLog } from './types.ts';

/** What the embedded benchmark needs from a phase's Log. */
export interface LogLike {
  append(records: readonly { value: Buffer }[]): Promise<unknown>;
  close(): Promise<void>;
}

/** What the consume benchmark needs from a phase's Consumer. */
export interface ConsumerLike {
  fetchResult(offset: number): Promise<{ records: readonly { value: Buffer | null }[]; nextOffset: number }>;
  disconnect(): Promise<void>;
}

/** What the served benchmark needs from a phase's Producer (phase 3 on: topics and partitions). */
export interface TopicProducerLike {
  connect(): Promise<void>;
  send(req: { topic: string; messages: { value: Buffer; partition: number }[] }): Promise<unknown>;
  disconnect(): Promise<void>;
}

/** Connect `producer`; each `send(values)` is one send of those values to partition 0 of `topic`. */
export async function topicProducer(producer: TopicProducerLike, topic: string): Promise<BenchProducer> {
  await producer.connect();
  return {
    send: async (values) => {
      await producer.send({ topic, messages: values.map((value) => ({ value, partition: 0 })) });
    },
    close: () => producer.disconnect(),
  };
}

/** Each `append(values)` becomes one `log.append` of one batch (one write, one fsync). */
export function embeddedLog(log: LogLike): EmbeddedLog {
  return {
    append: async (values) => {
      await log.append(values.map((value) => ({ value })));
    },
    close: () => log.close(),
  };
}

/** Each `fetch(offset)` is one Fetch request; counts records and value bytes. */
export function benchConsumer(consumer: ConsumerLike): BenchConsumer {
  return {
    fetch: async (offset) => {
      const r = await consumer.fetchResult(offset);
      let valueBytes = 0;
      for (const rec of r.records) valueBytes += rec.value?.length ?? 0;
      return { records: r.records.length, valueBytes, nextOffset: r.nextOffset };
    },
    close: () => consumer.disconnect(),
  };
}
