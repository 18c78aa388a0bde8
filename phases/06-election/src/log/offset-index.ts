/**
 * The sparse offset index of one segment: "the batch with base offset X starts at
 * byte P of the .log file", recorded for one batch every `indexIntervalBytes` of
 * log. A read binary-searches it for the last entry at or below the wanted offset
 * and walks batch headers forward from there, so it touches at most about
 * `indexIntervalBytes` of headers instead of the whole segment.
 *
 * File layout (`<20-digit base offset>.index`), a flat array of 8-byte entries:
 * ```
 * 0  relativeOffset  uint32  batch base offset - segment base offset
 * 4  position        uint32  byte position of that batch in the .log file
 * ```
 * Both columns strictly increase. The first batch of a segment (position 0) is
 * never written: a lookup that finds no entry starts at position 0.
 *
 * Kafka keeps the same two columns but keys each entry by the *last* offset of the
 * batch and preallocates the file; we key by the base offset and append, which
 * makes a torn trailing entry easy to see. The index is only a cache of the log:
 * it is written to disk when the segment rolls or the log closes (fsynced then),
 * never on the append path, and recovery rebuilds it from the log whenever it is
 * missing, torn, or does not agree with the log.
 */
import { strict as assert } from 'node:assert';
import type { StorageFile } from '../seams/storage.ts';

/** Bytes per index entry: relative offset (4) + position (4). */
export const INDEX_ENTRY_BYTES = 8;
const UINT32_MAX = 0xffffffff;

/** One index entry, with the offset made absolute. */
export interface IndexEntry {
  /** Base offset of the batch. */
  offset: number;
  /** Byte position of the batch in the segment's .log file. */
  position: number;
}

/**
 * The sparseness rule: a batch starting at byte `position` gets an entry when it
 * starts at least `indexIntervalBytes` after the last entry (`lastIndexedPosition`,
 * 0 for the segment start, which needs no entry). Shared by the append path and
 * by every rebuild, so a rebuilt index equals the one the appends would have made.
 */
export function isIndexEntryDue(lastIndexedPosition: number, position: number, indexIntervalBytes: number): boolean {
  return position > lastIndexedPosition && position - lastIndexedPosition >= indexIntervalBytes;
}

/**
 * Decode index file bytes, checking that they can be trusted: a whole number of
 * entries, both columns strictly increasing, every position inside the log
 * (`logSizeBytes`), and relative offset 0 exactly at position 0.
 * @returns the entries, or a string saying why the file is inconsistent (then rebuild it).
 */
export function parseIndex(bytes: Buffer, baseOffset: number, logSizeBytes: number): IndexEntry[] | string {
  if (bytes.length % INDEX_ENTRY_BYTES !== 0) {
    return `${bytes.length} bytes is not a whole number of ${INDEX_ENTRY_BYTES}-byte entries (torn trailing entry)`;
  }
  const entries: IndexEntry[] = [];
  for (let at = 0; at < bytes.length; at += INDEX_ENTRY_BYTES) {
    const relativeOffset = bytes.readUInt32BE(at);
    const position = bytes.readUInt32BE(at + 4);
    const previous = entries[entries.length - 1];
    if (previous !== undefined && (relativeOffset <= previous.offset - baseOffset || position <= previous.position)) {
      return `entry ${at / INDEX_ENTRY_BYTES} does not increase (${relativeOffset}, ${position})`;
    }
    if (position >= logSizeBytes) return `entry ${at / INDEX_ENTRY_BYTES} points at byte ${position}, past the log's ${logSizeBytes}`;
    if ((relativeOffset === 0) !== (position === 0)) return `entry ${at / INDEX_ENTRY_BYTES} pairs offset ${relativeOffset} with position ${position}`;
    entries.push({ offset: baseOffset + relativeOffset, position });
  }
  return entries;
}

/**
 * The in-memory index of a segment plus the file it is saved to. Entries live in
 * memory (8 bytes per `indexIntervalBytes` of log, small); the file is brought up
 * to date by {@link OffsetIndex.flush}.
 */
export class OffsetIndex {
  readonly baseOffset: number;
  readonly indexIntervalBytes: number;
  readonly #file: StorageFile;
  #entries: IndexEntry[];
  /** How many leading entries the file already holds, identical to `#entries`. */
  #entriesInFile: number;

  /**
   * @param entries entries known to be right (parsed and checked, or rebuilt)
   * @param entriesInFile how many of them the file already holds, in order
   */
  constructor(file: StorageFile, baseOffset: number, indexIntervalBytes: number, entries: readonly IndexEntry[], entriesInFile: number) {
    assert(entriesInFile <= entries.length, 'the file cannot hold more entries than memory');
    this.#file = file;
    this.baseOffset = baseOffset;
    this.indexIntervalBytes = indexIntervalBytes;
    this.#entries = [...entries];
    this.#entriesInFile = entriesInFile;
  }

  /** Path of the index file. */
  get path(): string {
    return this.#file.path;
  }

  /** The entries, in increasing order. */
  entries(): readonly IndexEntry[] {
    return this.#entries;
  }

  /** True when memory holds entries the file does not (or the file holds stale ones). */
  get dirty(): boolean {
    return this.#entriesInFile !== this.#entries.length || this.#file.size() !== this.#entriesInFile * INDEX_ENTRY_BYTES;
  }

  // #region lookup
  /**
   * The last entry whose offset is ≤ `offset`, or the implicit entry for the
   * segment start `{ offset: baseOffset, position: 0 }`. Binary search.
   * @example
   * const { position } = index.lookup(1234); // walk batch headers from `position`
   */
  lookup(offset: number): IndexEntry {
    let low = 0;
    let high = this.#entries.length - 1;
    let found: IndexEntry = { offset: this.baseOffset, position: 0 };
    while (low <= high) {
      const mid = (low + high) >>> 1;
      const entry = this.#entries[mid] as IndexEntry;
      if (entry.offset <= offset) {
        found = entry;
        low = mid + 1;
      } else {
        high = mid - 1;
      }
    }
    return found;
  }

  /**
   * Tell the index a batch with base offset `offset` now starts at byte `position`.
   * It records an entry when the batch starts at least `indexIntervalBytes` after
   * the previous entry (or the segment start), so entries stay sparse.
   */
  onBatchAppended(offset: number, position: number): void {
    const last = this.#entries[this.#entries.length - 1];
    if (!isIndexEntryDue(last?.position ?? 0, position, this.indexIntervalBytes)) return;
    assert(last === undefined || offset > last.offset, 'index offsets must increase');
    assert(offset - this.baseOffset <= UINT32_MAX && position <= UINT32_MAX, 'index entry must fit in two uint32s');
    this.#entries.push({ offset, position });
  }
  // #endregion lookup

  /** Forget every entry at or after byte `position` (the log was truncated there). */
  truncateToPosition(position: number): void {
    const keep = this.#entries.findIndex((e) => e.position >= position);
    if (keep === -1) return;
    this.#entries.length = keep;
    this.#entriesInFile = Math.min(this.#entriesInFile, keep);
  }

  /**
   * Replace every entry below byte `position` with `entries` (a rebuild from the
   * log up to `position`), keeping entries at or beyond it, which the append path
   * may have added meanwhile.
   */
  replaceBelow(position: number, entries: readonly IndexEntry[]): void {
    const kept = this.#entries.filter((e) => e.position >= position);
    assert(entries.every((e) => e.position < position), 'rebuilt entries must lie below the rebuild limit');
    this.#entries = [...entries, ...kept];
    this.#entriesInFile = 0; // rewrite the whole file at the next flush
  }

  /**
   * Bring the file up to date with memory and fsync it. Called when the segment
   * rolls (a closed segment's index is then final, and recovery will not rescan a
   * closed segment's tail to fill it in) and when the log closes. Between those,
   * a crash loses recent entries; recovery rebuilds them from the log.
   */
  async flush(): Promise<void> {
    if (!this.dirty) return;
    if (this.#file.size() !== this.#entriesInFile * INDEX_ENTRY_BYTES) {
      await this.#file.truncate(this.#entriesInFile * INDEX_ENTRY_BYTES);
    }
    const pending = this.#entries.slice(this.#entriesInFile);
    const bytes = Buffer.alloc(pending.length * INDEX_ENTRY_BYTES);
    pending.forEach((e, i) => {
      bytes.writeUInt32BE(e.offset - this.baseOffset, i * INDEX_ENTRY_BYTES);
      bytes.writeUInt32BE(e.position, i * INDEX_ENTRY_BYTES + 4);
    });
    if (bytes.length > 0) await this.#file.append(bytes);
    await this.#file.sync();
    this.#entriesInFile = this.#entries.length;
  }

  /** Close the file handle (without flushing). */
  async close(): Promise<void> {
    await this.#file.close();
  }
}
