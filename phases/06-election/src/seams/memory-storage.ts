/**
 * An in-memory disk that can crash. Tests (and the phase 7 simulator) run the real
 * log on it and then call `crash()` to pull the power cord: exactly what was made
 * durable survives, and nothing else.
 *
 * The model, deliberately pessimistic:
 * - each file remembers how much of it is durable (`syncedLength`). `sync()` makes
 *   all of it durable; on a crash the unsynced tail is lost, or, with `tornBytes`,
 *   a prefix of it survives (a write torn part-way, as a real disk can leave it).
 *   A truncate is undone by a crash until the next `sync()`.
 * - each directory remembers its durable entries. A create, remove or rename only
 *   changes the live entries; `syncDir(dir)` copies them to the durable ones. On a
 *   crash the directory goes back to its durable entries: a file created but whose
 *   directory was never synced disappears, with its data, however often the file
 *   itself was synced. Directories are entries of their parent, like files.
 * - a crash invalidates every open handle (the process died): calls on them reject.
 *
 * The tree is a graph of nodes (like inodes), so a removed file stays readable
 * through an open handle, and a rename moves a node rather than copying bytes.
 */
import { strict as assert } from 'node:assert';
import { basename, dirname, resolve, sep } from 'node:path';
import { StorageError } from '../log/errors.ts';
import { type Random, seededRandom } from './random.ts';
import type { Storage, StorageFile } from './storage.ts';

interface FileNode {
  readonly kind: 'file';
  /** Live bytes are `data[0, length)`; `data` grows by doubling. */
  data: Buffer;
  length: number;
  /** `data[0, syncedLength)` is durable. */
  syncedLength: number;
  /**
   * Durable bytes cut off by a truncate that has not been synced yet: the durable
   * content is `data[0, syncedLength) + truncatedDurableTail`. Null when no
   * unsynced truncate cut into the durable bytes.
   */
  truncatedDurableTail: Buffer | null;
}

interface DirNode {
  readonly kind: 'dir';
  /** Entries as the running process sees them. */
  children: Map<string, Node>;
  /** Entries as of the last `syncDir`: what a crash leaves. */
  durableChildren: Map<string, Node>;
}

type Node = FileNode | DirNode;

/** Options for {@link MemoryStorage.crash}. */
export interface CrashOptions {
  /**
   * How much of each file's unsynced tail survives: a byte count (capped at the
   * tail's length) or `'random'` (uniform in [0, tail length], drawn per file).
   * Default 0: every unsynced byte is lost.
   */
  tornBytes?: number | 'random';
  /** Source of randomness for `'random'`, returning [0, 1). Default: a PRNG seeded by the constructor. */
  random?: Random;
}

function newDir(): DirNode {
  return { kind: 'dir', children: new Map(), durableChildren: new Map() };
}

/** Path components of an absolute, normalised path: '/a/b' → ['a', 'b']. */
function components(path: string): string[] {
  return resolve(path).split(sep).filter((c) => c.length > 0);
}

/**
 * A crashable in-memory {@link Storage}.
 * @example
 * const storage = new MemoryStorage();
 * const log = await Log.open(storage, '/log');
 * await log.append([{ value: Buffer.from('a') }]);
 * storage.crash({ tornBytes: 'random' });          // `log` is dead now
 * const again = await Log.open(storage, '/log');   // recovery runs; 'a' is there
 */
export class MemoryStorage implements Storage {
  #root: DirNode = newDir();
  /** Bumped by every crash; handles from an older generation are dead. */
  #generation = 0;
  readonly #random: Random;

  /** @param opts.seed seed of the PRNG used by `crash({ tornBytes: 'random' })` without `random`. */
  constructor(opts: { seed?: number } = {}) {
    this.#random = seededRandom(opts.seed ?? 1);
  }

  /** The node at `path`, or null if any component is missing. */
  #lookup(path: string): Node | null {
    let node: Node = this.#root;
    for (const name of components(path)) {
      if (node.kind !== 'dir') return null;
      const child: Node | undefined = node.children.get(name);
      if (child === undefined) return null;
      node = child;
    }
    return node;
  }

  /** The directory that holds `path`'s entry; throws if it does not exist. */
  #parentDir(path: string, what: string): DirNode {
    const parent = this.#lookup(dirname(resolve(path)));
    if (parent === null || parent.kind !== 'dir') {
      throw new StorageError(`${what} ${path}: no such directory ${dirname(resolve(path))}`);
    }
    return parent;
  }

  async openFile(path: string, opts: { create?: boolean } = {}): Promise<StorageFile> {
    const parent = this.#parentDir(path, 'open');
    const name = basename(resolve(path));
    let node = parent.children.get(name);
    if (node === undefined) {
      if (opts.create !== true) throw new StorageError(`open ${path}: no such file`);
      node = { kind: 'file', data: Buffer.alloc(64), length: 0, syncedLength: 0, truncatedDurableTail: null };
      parent.children.set(name, node);
    }
    if (node.kind !== 'file') throw new StorageError(`open ${path}: is a directory`);
    return new MemoryFile(path, node, () => this.#generation);
  }

  async readFile(path: string): Promise<Buffer | null> {
    const node = this.#lookup(path);
    if (node === null) return null;
    if (node.kind !== 'file') throw new StorageError(`readFile ${path}: is a directory`);
    return Buffer.from(node.data.subarray(0, node.length));
  }

  async list(dir: string): Promise<string[]> {
    const node = this.#lookup(dir);
    if (node === null) return [];
    if (node.kind !== 'dir') throw new StorageError(`list ${dir}: not a directory`);
    return [...node.children.keys()].sort();
  }

  async mkdir(dir: string): Promise<void> {
    let node: DirNode = this.#root;
    for (const name of components(dir)) {
      let child = node.children.get(name);
      if (child === undefined) {
        child = newDir();
        node.children.set(name, child);
      }
      if (child.kind !== 'dir') throw new StorageError(`mkdir ${dir}: ${name} is a file`);
      node = child;
    }
  }

  async remove(path: string): Promise<void> {
    const parent = this.#lookup(dirname(resolve(path)));
    if (parent === null || parent.kind !== 'dir') return;
    parent.children.delete(basename(resolve(path)));
  }

  async rename(from: string, to: string): Promise<void> {
    const fromParent = this.#parentDir(from, 'rename');
    const node = fromParent.children.get(basename(resolve(from)));
    if (node === undefined) throw new StorageError(`rename ${from}: no such file`);
    const toParent = this.#parentDir(to, 'rename');
    fromParent.children.delete(basename(resolve(from)));
    toParent.children.set(basename(resolve(to)), node);
  }

  async syncDir(dir: string): Promise<void> {
    const node = this.#lookup(dir);
    if (node === null || node.kind !== 'dir') throw new StorageError(`syncDir ${dir}: no such directory`);
    node.durableChildren = new Map(node.children);
  }

  async exists(path: string): Promise<boolean> {
    return this.#lookup(path) !== null;
  }

  /**
   * Simulate a power failure. Every directory reverts to its last synced entries,
   * every file to its synced bytes (plus, with `tornBytes`, a prefix of its
   * unsynced tail), and every handle opened before the crash becomes invalid.
   * The storage itself stays usable: open the log again to run recovery.
   */
  crash(opts: CrashOptions = {}): void {
    this.#generation += 1;
    const tornBytes = opts.tornBytes ?? 0;
    const random = opts.random ?? this.#random;
    assert(tornBytes === 'random' || (Number.isSafeInteger(tornBytes) && tornBytes >= 0), 'tornBytes must be a count or "random"');
    const visited = new Set<Node>();
    const restore = (node: Node): void => {
      if (visited.has(node)) return; // a node can be durable under two names after an unsynced rename
      visited.add(node);
      if (node.kind === 'dir') {
        node.children = new Map(node.durableChildren);
        for (const child of node.children.values()) restore(child);
        return;
      }
      restoreFile(node, tornBytes, random);
    };
    restore(this.#root);
  }
}

/** Reset one file to what survives a crash. */
function restoreFile(node: FileNode, tornBytes: number | 'random', random: () => number): void {
  let content: Buffer;
  if (node.truncatedDurableTail !== null) {
    // The truncate never became durable: the disk still has the old bytes.
    content = Buffer.concat([node.data.subarray(0, node.syncedLength), node.truncatedDurableTail]);
  } else {
    const unsyncedBytes = node.length - node.syncedLength;
    const kept =
      tornBytes === 'random'
        ? Math.min(unsyncedBytes, Math.floor(random() * (unsyncedBytes + 1)))
        : Math.min(unsyncedBytes, tornBytes);
    content = Buffer.from(node.data.subarray(0, node.syncedLength + kept));
  }
  node.data = Buffer.alloc(Math.max(64, content.length));
  content.copy(node.data);
  node.length = content.length;
  // What is on the platter after the reboot is, by definition, durable.
  node.syncedLength = content.length;
  node.truncatedDurableTail = null;
}

/** A handle on a FileNode; dead once the storage crashes or the handle is closed. */
class MemoryFile implements StorageFile {
  readonly path: string;
  readonly #node: FileNode;
  readonly #openedInGeneration: number;
  readonly #currentGeneration: () => number;
  #closed = false;

  constructor(path: string, node: FileNode, currentGeneration: () => number) {
    this.path = path;
    this.#node = node;
    this.#currentGeneration = currentGeneration;
    this.#openedInGeneration = currentGeneration();
  }

  #checkAlive(): void {
    if (this.#closed) throw new StorageError(`${this.path}: file is closed`);
    if (this.#currentGeneration() !== this.#openedInGeneration) {
      throw new StorageError(`${this.path}: handle opened before a crash`);
    }
  }

  size(): number {
    this.#checkAlive();
    return this.#node.length;
  }

  async read(position: number, length: number): Promise<Buffer> {
    this.#checkAlive();
    const start = Math.min(position, this.#node.length);
    const end = Math.min(position + Math.max(0, length), this.#node.length);
    return Buffer.from(this.#node.data.subarray(start, end)); // a copy: later writes must not show through
  }

  async append(data: Buffer | readonly Buffer[]): Promise<void> {
    this.#checkAlive();
    const parts = Buffer.isBuffer(data) ? [data] : data;
    const node = this.#node;
    const totalBytes = parts.reduce((n, b) => n + b.length, 0);
    ensureCapacity(node, node.length + totalBytes);
    for (const part of parts) {
      part.copy(node.data, node.length);
      node.length += part.length;
    }
  }

  async sync(): Promise<void> {
    this.#checkAlive();
    this.#node.syncedLength = this.#node.length;
    this.#node.truncatedDurableTail = null;
  }

  async truncate(length: number): Promise<void> {
    this.#checkAlive();
    assert(Number.isSafeInteger(length) && length >= 0, 'truncate length must be a non-negative integer');
    const node = this.#node;
    if (length < node.syncedLength) {
      // Remember the durable bytes being cut, so a crash before the next sync can undo the cut.
      const cut = Buffer.from(node.data.subarray(length, node.syncedLength));
      node.truncatedDurableTail =
        node.truncatedDurableTail === null ? cut : Buffer.concat([cut, node.truncatedDurableTail]);
      node.syncedLength = length;
    }
    if (length > node.length) {
      ensureCapacity(node, length);
      node.data.fill(0, node.length, length);
    }
    node.length = length;
  }

  async close(): Promise<void> {
    this.#closed = true;
  }
}

function ensureCapacity(node: FileNode, bytes: number): void {
  if (node.data.length >= bytes) return;
  let capacity = node.data.length;
  while (capacity < bytes) capacity *= 2;
  const grown = Buffer.alloc(capacity);
  node.data.copy(grown, 0, 0, node.length);
  node.data = grown;
}
