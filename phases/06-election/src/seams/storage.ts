/**
 * The Storage seam: the only way the log touches the disk. Everything above it
 * (segment, index, recovery, log) speaks to a `Storage`, so the same code runs on
 * the real file system (`FsStorage`, here) and on the in-memory disk of the tests
 * and the phase 7 simulator (`MemoryStorage`), which loses unsynced bytes on a
 * simulated crash.
 *
 * The interface is small on purpose and mirrors what a log needs from POSIX:
 * append-only files read at positions, `fdatasync` (`sync`), `ftruncate`, and the
 * directory operations (create, remove, rename) together with `fsync` on the
 * directory itself (`syncDir`). That last one is the step most programs forget:
 * creating a file and fsyncing its data does not make the file's *name* durable;
 * after a power cut the directory may not list it, and every byte in it is gone.
 *
 * Data flow: log → segment / offset index → Storage → node:fs/promises.
 */
import { constants, type FileHandle, mkdir, open, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { StorageError } from '../log/errors.ts';

/**
 * An open file: appended at the end, read at any position.
 *
 * Durability contract: bytes passed to `append` may be lost by a crash until a
 * later `sync()` resolves. A `truncate` may likewise be undone by a crash until
 * the next `sync()`.
 */
export interface StorageFile {
  /** The path the file was opened with. */
  readonly path: string;
  /** Current length in bytes, including bytes appended but not yet synced. */
  size(): number;
  /**
   * Read `length` bytes starting at byte `position`. Near the end of the file the
   * result is shorter (a short read); at or past the end it is empty.
   */
  read(position: number, length: number): Promise<Buffer>;
  /** Append bytes at the end of the file (one write; not durable until `sync`). */
  append(data: Buffer | readonly Buffer[]): Promise<void>;
  /** `fdatasync`: when this resolves, everything appended so far survives a crash. */
  sync(): Promise<void>;
  /** Cut (or zero-extend) the file to `length` bytes. */
  truncate(length: number): Promise<void>;
  /** Release the handle; further calls reject. */
  close(): Promise<void>;
}

/**
 * A directory tree of files. Paths are plain strings built with `node:path`.
 * Every failure is reported as a {@link StorageError} (the cause attached).
 */
export interface Storage {
  /** Open a file for reading and appending; with `create: true` create it when missing. */
  openFile(path: string, opts?: { create?: boolean }): Promise<StorageFile>;
  /** The whole content of a file, or null if it does not exist. */
  readFile(path: string): Promise<Buffer | null>;
  /** Names (not paths) of the entries in `dir`, sorted; [] if `dir` does not exist. */
  list(dir: string): Promise<string[]>;
  /** Create a directory and any missing parents; no error if it exists. */
  mkdir(dir: string): Promise<void>;
  /** Remove a file or a directory tree; no error if it does not exist. */
  remove(path: string): Promise<void>;
  /** Atomically rename `from` to `to`, replacing `to` if it exists. */
  rename(from: string, to: string): Promise<void>;
  /** `fsync` the directory: creates, removes and renames in it so far survive a crash. */
  syncDir(dir: string): Promise<void>;
  /** True if a file or directory exists at `path`. */
  exists(path: string): Promise<boolean>;
}

/**
 * Create `dir` (and missing parents) so that it survives a crash: after each
 * directory is created, its parent is fsynced, because a new directory's name
 * lives in its parent and is not durable until the parent is synced.
 * @example
 * await mkdirDurable(storage, '/data/log'); // then files created in it need syncDir('/data/log')
 */
export async function mkdirDurable(storage: Storage, dir: string): Promise<void> {
  const missing: string[] = [];
  for (let d = dir; !(await storage.exists(d)); d = dirname(d)) {
    missing.push(d);
    if (dirname(d) === d) break; // a root that does not exist: let mkdir report it
  }
  if (missing.length === 0) return;
  await storage.mkdir(dir);
  for (const created of missing.reverse()) await storage.syncDir(dirname(created));
}

/** Run a node:fs call, reporting any failure as a StorageError that names the operation. */
async function fsCall<T>(what: string, path: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (cause) {
    if (cause instanceof StorageError) throw cause;
    const detail = cause instanceof Error ? cause.message : String(cause);
    throw new StorageError(`${what} ${path}: ${detail}`, { cause });
  }
}

function isNotFound(e: unknown): boolean {
  return e instanceof Error && 'code' in e && (e as NodeJS.ErrnoException).code === 'ENOENT';
}

/** A file on the real disk, backed by a node:fs/promises FileHandle. */
class FsFile implements StorageFile {
  readonly path: string;
  readonly #handle: FileHandle;
  /**
   * The file length as this handle knows it. Tracked here rather than by `fstat`
   * on every call so `size()` can be synchronous; valid because the file is only
   * ever written through this handle.
   */
  #sizeBytes: number;
  #closed = false;

  constructor(path: string, handle: FileHandle, sizeBytes: number) {
    this.path = path;
    this.#handle = handle;
    this.#sizeBytes = sizeBytes;
  }

  size(): number {
    return this.#sizeBytes;
  }

  #checkOpen(): void {
    if (this.#closed) throw new StorageError(`${this.path}: file is closed`);
  }

  async read(position: number, length: number): Promise<Buffer> {
    this.#checkOpen();
    const buf = Buffer.allocUnsafe(Math.max(0, length));
    let filled = 0;
    await fsCall('read', this.path, async () => {
      // A positional read may return fewer bytes than asked; loop until EOF.
      while (filled < buf.length) {
        const { bytesRead } = await this.#handle.read(buf, filled, buf.length - filled, position + filled);
        if (bytesRead === 0) break;
        filled += bytesRead;
      }
    });
    return buf.subarray(0, filled);
  }

  async append(data: Buffer | readonly Buffer[]): Promise<void> {
    this.#checkOpen();
    const parts = Buffer.isBuffer(data) ? [data] : [...data];
    const totalBytes = parts.reduce((n, b) => n + b.length, 0);
    // Reserve the range before awaiting, so the position is right even if a caller
    // starts two appends without waiting (the log never does, but the seam is safe).
    const position = this.#sizeBytes;
    this.#sizeBytes += totalBytes;
    try {
      await fsCall('write', this.path, async () => {
        let written = 0;
        let pending = parts;
        while (written < totalBytes) {
          const { bytesWritten } = await this.#handle.writev(pending, position + written);
          written += bytesWritten;
          pending = skipBytes(pending, bytesWritten);
        }
      });
    } catch (e) {
      // What reached the file is unknown; learn the real length so size() stays honest.
      this.#sizeBytes = await this.#handle.stat().then((s) => s.size, () => position);
      throw e;
    }
  }

  async sync(): Promise<void> {
    this.#checkOpen();
    // fdatasync, not fsync: it flushes the data and the metadata needed to read it
    // back (the length), skipping timestamps — enough for durability, and cheaper.
    await fsCall('fdatasync', this.path, () => this.#handle.datasync());
  }

  async truncate(length: number): Promise<void> {
    this.#checkOpen();
    await fsCall('truncate', this.path, () => this.#handle.truncate(length));
    this.#sizeBytes = length;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await fsCall('close', this.path, () => this.#handle.close());
  }
}

/** The buffers left after dropping the first `n` bytes of `parts` (for partial writes). */
function skipBytes(parts: readonly Buffer[], n: number): Buffer[] {
  const rest: Buffer[] = [];
  let skip = n;
  for (const p of parts) {
    if (skip >= p.length) {
      skip -= p.length;
      continue;
    }
    rest.push(skip > 0 ? p.subarray(skip) : p);
    skip = 0;
  }
  return rest;
}

/**
 * Storage on the real file system (node:fs/promises).
 * @example
 * const log = await Log.open(new FsStorage(), '/tmp/my-log');
 */
export class FsStorage implements Storage {
  async openFile(path: string, opts: { create?: boolean } = {}): Promise<StorageFile> {
    // O_RDWR without O_APPEND: we write at positions we track ourselves, which also
    // lets a file be truncated and then appended to from the new end.
    const flags = constants.O_RDWR | (opts.create === true ? constants.O_CREAT : 0);
    const handle = await fsCall('open', path, () => open(path, flags, 0o644));
    try {
      const { size } = await fsCall('stat', path, () => handle.stat());
      return new FsFile(path, handle, size);
    } catch (e) {
      await handle.close().catch(() => undefined);
      throw e;
    }
  }

  async readFile(path: string): Promise<Buffer | null> {
    try {
      return await readFile(path);
    } catch (e) {
      if (isNotFound(e)) return null;
      throw new StorageError(`readFile ${path}: ${(e as Error).message}`, { cause: e });
    }
  }

  async list(dir: string): Promise<string[]> {
    try {
      return (await readdir(dir)).sort();
    } catch (e) {
      if (isNotFound(e)) return [];
      throw new StorageError(`list ${dir}: ${(e as Error).message}`, { cause: e });
    }
  }

  async mkdir(dir: string): Promise<void> {
    await fsCall('mkdir', dir, () => mkdir(dir, { recursive: true }));
  }

  async remove(path: string): Promise<void> {
    await fsCall('remove', path, () => rm(path, { recursive: true, force: true }));
  }

  async rename(from: string, to: string): Promise<void> {
    await fsCall('rename', `${from} -> ${to}`, () => rename(from, to));
  }

  async syncDir(dir: string): Promise<void> {
    // On Linux a directory is fsynced by opening it read-only and calling fsync on
    // the descriptor; that persists the directory's entries (the names of files
    // created, removed or renamed in it).
    await fsCall('fsync directory', dir, async () => {
      const handle = await open(dir, constants.O_RDONLY | constants.O_DIRECTORY);
      try {
        await handle.sync();
      } finally {
        await handle.close();
      }
    });
  }

  async exists(path: string): Promise<boolean> {
    try {
      await stat(path);
      return true;
    } catch (e) {
      if (isNotFound(e)) return false;
      throw new StorageError(`stat ${path}: ${(e as Error).message}`, { cause: e });
    }
  }
}
