/**
 * Test plumbing for phase 1: a Storage that wraps another and lets a test watch or
 * interfere with file operations — count the bytes read, fail an fsync, or hold
 * an fsync forever so a test can crash the disk while an append waits for it.
 */
import type { Storage, StorageFile } from '../src/seams/storage.ts';

/** Hooks a test can set (and change) at any time. */
export interface StorageHooks {
  /** Called after every file read with the bytes returned. */
  onRead?: (path: string, position: number, bytes: number) => void;
  /**
   * Called before every file fsync and directory fsync. Throw to make the fsync
   * fail; return a promise to delay it (a promise that never settles holds it).
   */
  beforeSync?: (path: string, kind: 'file' | 'dir') => void | Promise<void>;
  /** Called before every append; throw to make the write fail. */
  beforeAppend?: (path: string, bytes: number) => void;
}

class HookedFile implements StorageFile {
  readonly #inner: StorageFile;
  readonly #owner: HookedStorage;

  constructor(inner: StorageFile, owner: HookedStorage) {
    this.#inner = inner;
    this.#owner = owner;
  }

  /** Read through the owner on every call, so a test can swap hooks on open files. */
  get #hooks(): StorageHooks {
    return this.#owner.hooks;
  }

  get path(): string {
    return this.#inner.path;
  }

  size(): number {
    return this.#inner.size();
  }

  async read(position: number, length: number): Promise<Buffer> {
    const bytes = await this.#inner.read(position, length);
    this.#hooks.onRead?.(this.path, position, bytes.length);
    return bytes;
  }

  async append(data: Buffer | readonly Buffer[]): Promise<void> {
    const bytes = Buffer.isBuffer(data) ? data.length : data.reduce((n, b) => n + b.length, 0);
    this.#hooks.beforeAppend?.(this.path, bytes);
    await this.#inner.append(data);
  }

  async sync(): Promise<void> {
    await this.#hooks.beforeSync?.(this.path, 'file');
    await this.#inner.sync();
  }

  truncate(length: number): Promise<void> {
    return this.#inner.truncate(length);
  }

  close(): Promise<void> {
    return this.#inner.close();
  }
}

/** A Storage that forwards to `inner`, calling `hooks` on the way. */
export class HookedStorage implements Storage {
  readonly inner: Storage;
  hooks: StorageHooks;

  constructor(inner: Storage, hooks: StorageHooks = {}) {
    this.inner = inner;
    this.hooks = hooks;
  }

  async openFile(path: string, opts?: { create?: boolean }): Promise<StorageFile> {
    return new HookedFile(await this.inner.openFile(path, opts), this);
  }

  readFile(path: string): Promise<Buffer | null> {
    return this.inner.readFile(path);
  }

  list(dir: string): Promise<string[]> {
    return this.inner.list(dir);
  }

  mkdir(dir: string): Promise<void> {
    return this.inner.mkdir(dir);
  }

  remove(path: string): Promise<void> {
    return this.inner.remove(path);
  }

  rename(from: string, to: string): Promise<void> {
    return this.inner.rename(from, to);
  }

  async syncDir(dir: string): Promise<void> {
    await this.hooks.beforeSync?.(dir, 'dir');
    await this.inner.syncDir(dir);
  }

  exists(path: string): Promise<boolean> {
    return this.inner.exists(path);
  }
}

/**
 * Make every fsync (file or directory) from now on hang forever, until the test
 * replaces `storage.hooks`. Resolves once an fsync is being held, so the test
 * knows the write before it has happened; rejects if none arrives within
 * `deadlineMs` (a log that never fsyncs must fail the test, not hang it).
 */
export function holdNextSync(storage: HookedStorage, deadlineMs = 5_000): Promise<void> {
  return new Promise((held, reject) => {
    const timer = setTimeout(() => reject(new Error(`no fsync within ${deadlineMs} ms`)), deadlineMs);
    timer.unref?.();
    storage.hooks = {
      ...storage.hooks,
      beforeSync: () => {
        clearTimeout(timer);
        held();
        return new Promise<void>(() => undefined);
      },
    };
  });
}

/**
 * Wait for `held` (from {@link holdNextSync}) while `work` (the append that should reach
 * the fsync) runs; if `work` settles first, it finished without an fsync: reject at
 * once, instead of waiting for the hold's deadline.
 * @example
 * const held = holdNextSync(storage);
 * await untilHeld(held, log.append(batch));
 */
export async function untilHeld(held: Promise<void>, work: Promise<unknown>): Promise<void> {
  work.catch(() => undefined); // never acknowledged: the fsync hangs, or it failed
  const finished = work.then(
    () => Promise.reject(new Error('the append was acknowledged without an fsync')),
    (e: unknown) => Promise.reject(new Error(`the append failed before its fsync: ${e instanceof Error ? e.message : String(e)}`)),
  );
  await Promise.race([held, finished]);
}

/** Rewrite a file's bytes through the Storage seam (works on both storages). */
export async function rewriteFile(storage: Storage, path: string, mutate: (bytes: Buffer) => Buffer): Promise<void> {
  const file = await storage.openFile(path);
  try {
    const bytes = mutate(await file.read(0, file.size()));
    await file.truncate(0);
    if (bytes.length > 0) await file.append(bytes);
    await file.sync();
  } finally {
    await file.close();
  }
}
