/**
 * The cluster as the metadata log says it is: the log replayed, record by record. The
 * controller keeps one (its decisions are computed from it), and every broker keeps its
 * own copy, built from the records it fetches from the controller; the two agree up to
 * the offset each has read (`nextOffset`), because replay is deterministic.
 *
 * `apply` is the only way in, and it does exactly what a record says: no decisions here
 * (those are `election.ts`, made by the controller before it writes the records).
 */
import { tpKey } from '../topics/partition.ts';
import type { BrokerState, PartitionState } from './election.ts';
import type { MetadataRecord } from './records.ts';

/** A registered broker. */
export interface BrokerInfo extends BrokerState {
  readonly host: string;
  readonly port: number;
}

/** A topic and its settings. */
export interface TopicInfo {
  readonly name: string;
  readonly partitions: number;
  readonly configs: readonly (readonly [string, string])[];
}

/**
 * A replayed metadata log.
 * @example
 * const image = new MetadataImage();
 * for (const r of await log.readRecords(0, 1 << 20)) image.apply(decodeMetadataRecord(r), r.offset);
 * image.partition('orders', 0)?.leader;
 */
export class MetadataImage {
  readonly #brokers = new Map<number, BrokerInfo>();
  readonly #topics = new Map<string, TopicInfo>();
  readonly #partitions = new Map<string, PartitionState>();
  #nextOffset = 0;

  /** The offset of the next record to apply (how far this image has read the log). */
  get nextOffset(): number {
    return this.#nextOffset;
  }

  /** Registered brokers by id. */
  get brokers(): ReadonlyMap<number, BrokerInfo> {
    return this.#brokers;
  }

  /** Topics by name. */
  get topics(): ReadonlyMap<string, TopicInfo> {
    return this.#topics;
  }

  /** Every partition, in no particular order. */
  partitions(): PartitionState[] {
    return [...this.#partitions.values()];
  }

  /** One partition's state. */
  partition(topic: string, partition: number): PartitionState | undefined {
    return this.#partitions.get(tpKey({ topic, partition }));
  }

  /** The partitions of one topic, by partition number. */
  partitionsOf(topic: string): PartitionState[] {
    const t = this.#topics.get(topic);
    if (t === undefined) return [];
    const out: PartitionState[] = [];
    for (let p = 0; p < t.partitions; p++) {
      const s = this.partition(topic, p);
      if (s !== undefined) out.push(s);
    }
    return out;
  }

  /** A registered, unfenced broker: one that may lead and be in an ISR. */
  isEligible(id: number): boolean {
    const b = this.#brokers.get(id);
    return b !== undefined && !b.fenced;
  }

  /**
   * Apply the record at `offset`. Records must come in log order, each once.
   * @throws RangeError for an offset out of order (a bug in the caller)
   */
  apply(record: MetadataRecord, offset: number): void {
    if (offset < this.#nextOffset) throw new RangeError(`metadata record at offset ${offset} applied after ${this.#nextOffset - 1}`);
    this.#nextOffset = offset + 1;
    switch (record.type) {
      case 'register-broker':
        this.#brokers.set(record.id, { id: record.id, host: record.host, port: record.port, brokerEpoch: offset, fenced: true });
        return;
      case 'fence-broker':
      case 'unfence-broker': {
        const b = this.#brokers.get(record.id);
        // A record about an incarnation that registered again since changes nothing.
        if (b === undefined || b.brokerEpoch !== record.brokerEpoch) return;
        this.#brokers.set(record.id, { ...b, fenced: record.type === 'fence-broker' });
        return;
      }
      case 'topic':
        this.#topics.set(record.name, { name: record.name, partitions: record.partitions, configs: record.configs });
        return;
      case 'partition': {
        const { type: _type, ...state } = record;
        this.#partitions.set(tpKey(state), state);
        return;
      }
    }
  }
}
