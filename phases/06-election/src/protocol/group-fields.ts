/**
 * Field groups that several consumer-group APIs share (JoinGroup, SyncGroup,
 * OffsetFetch, DescribeGroups): an array of strings, and a list of partitions grouped
 * by topic the way Kafka writes them, so a topic name is sent once, not once per
 * partition.
 *
 * String array:
 *
 * | bytes | field | type          | notes |
 * | ----- | ----- | ------------- | ----- |
 * | 4     | count | i32           | >= 0  |
 * | 2+N   | item  | string        | each  |
 *
 * Partition list (topics in first-appearance order, partitions in list order):
 *
 * | bytes | field          | type   | notes          |
 * | ----- | -------------- | ------ | -------------- |
 * | 4     | topicCount     | i32    | >= 0           |
 * |       | per topic:     |        |                |
 * | 2+N   | topic          | string |                |
 * | 4     | partitionCount | i32    | >= 0           |
 * | 4     | partition      | i32    | each           |
 */
import type { TopicPartition } from '../topics/partition.ts';
import { type ByteReader, type ByteWriter, stringBytes } from './bytes.ts';


/**
 * Group items by their `topic`, keeping first-appearance order of topics and the
 * order of items within a topic.
 * @example groupByTopic([{ topic: 'a', partition: 1 }, { topic: 'b', partition: 0 }, { topic: 'a', partition: 0 }])
 * // [['a', [a1, a0]], ['b', [b0]]]
 */
export function groupByTopic<T extends { topic: string }>(items: readonly T[]): [string, T[]][] {
  const byTopic = new Map<string, T[]>();
  for (const item of items) {
    const list = byTopic.get(item.topic);
    if (list === undefined) byTopic.set(item.topic, [item]);
    else list.push(item);
  }
  return [...byTopic];
}

/** Encoded size of a string array. */
export function stringArrayBytes(items: readonly string[]): number {
  let n = 4;
  for (const s of items) n += stringBytes(s);
  return n;
}

/** Write a string array. */
export function writeStringArray(w: ByteWriter, items: readonly string[]): ByteWriter {
  w.i32(items.length);
  for (const s of items) w.string(s);
  return w;
}

/** Read a string array (count checked against the bytes left: 2 per empty string). */
export function readStringArray(r: ByteReader, field: string): string[] {
  const count = r.arrayCount(field, 2);
  const out: string[] = [];
  for (let i = 0; i < count; i++) out.push(r.string(field));
  return out;
}

/** Encoded size of a partition list. */
export function partitionListBytes(list: readonly TopicPartition[]): number {
  let n = 4;
  for (const [topic, parts] of groupByTopic(list)) n += stringBytes(topic) + 4 + 4 * parts.length;
  return n;
}

/** Write a partition list, grouped by topic. */
export function writePartitionList(w: ByteWriter, list: readonly TopicPartition[]): ByteWriter {
  const grouped = groupByTopic(list);
  w.i32(grouped.length);
  for (const [topic, parts] of grouped) {
    w.string(topic).i32(parts.length);
    for (const p of parts) w.i32(p.partition);
  }
  return w;
}

/** Read a partition list into a flat array. */
export function readPartitionList(r: ByteReader, field: string): TopicPartition[] {
  const out: TopicPartition[] = [];
  const topics = r.arrayCount(`${field}.topicCount`, 2 + 4);
  for (let t = 0; t < topics; t++) {
    const topic = r.string(`${field}.topic`);
    const count = r.arrayCount(`${field}.partitionCount`, 4);
    for (let i = 0; i < count; i++) out.push({ topic, partition: r.i32(`${field}.partition`) });
  }
  return out;
}
