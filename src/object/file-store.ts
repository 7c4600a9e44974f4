/**
 * ObjectStore on a local directory: one file per key, '/' in keys become subdirectories.
 * The embedded default backend (`file:///dir`) and the reference implementation the
 * conformance suite checks S3 against.
 *
 * Atomicity: put writes `<name>.tmp-<random>` in the target directory, fsyncs it, renames it
 * over the key and fsyncs the directory, so a reader (or a crash) sees the old object, the new
 * one or nothing, never a prefix. A crashed put leaves a `.tmp-` file that list skips and
 * keys can never be named like.
 *
 * Limitation: a key cannot also be the directory of another ("a" and "a/b"); put of the second
 * fails with an ObjectStoreError. ObjectFS block keys never collide that way.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, open, rename, stat, unlink } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { GetOptions, ListOptions, ObjectInfo, ObjectPage, ObjectStore, PutOptions } from './types.js';
import { ObjectNotFoundError, ObjectStoreError, StorageUnavailableError } from './errors.js';
import { checkRange } from './check-range.js';
import { TEMP_SUFFIX_RE, walkKeys } from './sorted-walk.js';

/** Longest key segment (file name) in bytes; leaves room for the temp suffix within NAME_MAX 255. */
export const MAX_SEGMENT_BYTES = 200;

/** An ObjectStore whose objects are files under one root directory. */
export class FileStore implements ObjectStore {
  readonly #root: string;
  #closed = false;

  /** `root` is created on the first put; a missing root lists as empty. */
  constructor(root: string) {
    this.#root = resolve(root);
  }

  describe(): string {
    return pathToFileURL(this.#root).href.replace(/\/?$/, '/');
  }

  async get(key: string, options: GetOptions = {}): Promise<Buffer> {
    const { offset = 0, length, signal, onObjectSize } = options;
    checkRange(offset, length);
    const path = this.#path(key, signal);
    let fh: FileHandle;
    try {
      fh = await open(path, 'r');
    } catch (err) {
      if (isAbsence(err)) throw new ObjectNotFoundError(key, this.describe(), { cause: err });
      throw this.#ioError('get', key, err);
    }
    try {
      const size = (await fh.stat()).size;
      onObjectSize?.(size);
      const start = Math.min(offset, size);
      const end = length === undefined ? size : Math.min(size, offset + length);
      const buf = Buffer.allocUnsafe(end - start);
      let done = 0;
      while (done < buf.length) {
        const { bytesRead } = await fh.read(buf, done, buf.length - done, start + done);
        if (bytesRead === 0) break;
        done += bytesRead;
      }
      return buf.subarray(0, done);
    } catch (err) {
      // open() succeeds on a directory; reading it is EISDIR: the key is a prefix, not an object.
      if ((err as NodeJS.ErrnoException).code === 'EISDIR') throw new ObjectNotFoundError(key, this.describe(), { cause: err });
      throw this.#ioError('get', key, err);
    } finally {
      await fh.close();
    }
  }

  async put(key: string, data: Buffer, options: PutOptions = {}): Promise<void> {
    const path = this.#path(key, options.signal);
    const dir = dirname(path);
    const tmp = `${path}.tmp-${randomBytes(6).toString('hex')}`;
    try {
      const created = await mkdir(dir, { recursive: true });
      if (created !== undefined) await this.#syncNewDirs(dir, created);
      const fh = await open(tmp, 'wx', 0o644);
      try {
        await fh.writeFile(data);
        await fh.sync();
      } finally {
        await fh.close();
      }
      await rename(tmp, path);
      await syncDir(dir);
    } catch (err) {
      await unlink(tmp).catch(() => undefined); // best effort; list ignores leftovers anyway
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOTDIR' || code === 'EEXIST' || code === 'EISDIR') {
        throw new ObjectStoreError(
          `put "${key}" on ${this.describe()}: the key collides with another key used as its directory (or vice versa)`,
          { cause: err });
      }
      throw this.#ioError('put', key, err);
    }
  }

  async delete(key: string, options: { signal?: AbortSignal } = {}): Promise<void> {
    const path = this.#path(key, options.signal);
    try {
      await unlink(path);
    } catch (err) {
      // A directory under that name is a prefix of other keys, not an object: nothing to delete.
      if (isAbsence(err) || (err as NodeJS.ErrnoException).code === 'EISDIR') return;
      throw this.#ioError('delete', key, err);
    }
  }

  async head(key: string, options: { signal?: AbortSignal } = {}): Promise<ObjectInfo | undefined> {
    const path = this.#path(key, options.signal);
    try {
      return await statObject(key, path);
    } catch (err) {
      throw this.#ioError('head', key, err);
    }
  }

  async list(options: ListOptions = {}): Promise<ObjectPage> {
    const { prefix = '', token, limit = 1000, signal } = options;
    if (!Number.isSafeInteger(limit) || limit < 1) throw new RangeError(`list limit must be a positive integer, got ${limit}`);
    this.#checkOpen();
    const keys = walkKeys(this.#root, { prefix, after: token });
    const objects: ObjectInfo[] = [];
    let more = false;
    try {
      for await (const key of keys) {
        signal?.throwIfAborted();
        if (objects.length === limit) { more = true; break; } // one key past the page: not the end
        // Keys found on disk were written by put (or by hand): stat them without re-validating.
        const info = await statObject(key, join(this.#root, key));
        if (info) objects.push(info); // else deleted since the directory was read
      }
    } catch (err) {
      if (signal?.aborted || err instanceof ObjectStoreError) throw err;
      throw this.#ioError('list', prefix, err);
    }
    const last = objects.at(-1);
    return more && last ? { objects, next: last.key } : { objects };
  }

  async close(): Promise<void> {
    this.#closed = true;
  }

  #checkOpen(): void {
    if (this.#closed) throw new ObjectStoreError(`${this.describe()} is closed`);
  }

  /** Validates `key` (it must not escape the root or look like a temp file) and maps it to a path. */
  #path(key: string, signal: AbortSignal | undefined): string {
    this.#checkOpen();
    signal?.throwIfAborted();
    const segments = key.split('/');
    for (const s of segments) {
      if (s === '' || s === '.' || s === '..' || s.includes('\0') || TEMP_SUFFIX_RE.test(s)
        || Buffer.byteLength(s) > MAX_SEGMENT_BYTES) {
        throw new TypeError(`invalid object key "${key}" for a file store: empty, ".", ".." or temp-like segment, or a segment over ${MAX_SEGMENT_BYTES} bytes`);
      }
    }
    return join(this.#root, ...segments);
  }

  /** mkdir -p made `created` and below; fsync each new directory's parent so the entries survive a crash. */
  async #syncNewDirs(dir: string, created: string): Promise<void> {
    for (let d = dir; ; d = dirname(d)) {
      await syncDir(dirname(d));
      if (d === created || d === dirname(d)) break;
    }
  }

  #ioError(op: string, key: string, err: unknown): Error {
    if (err instanceof ObjectStoreError || (err instanceof Error && err.name === 'AbortError')) return err;
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    return new StorageUnavailableError(`${op} "${key}" on ${this.describe()} failed: ${code}: ${(err as Error).message}`,
      { cause: err });
  }
}

/** Info of the regular file at `path`, or undefined if there is none (absent or a directory). */
async function statObject(key: string, path: string): Promise<ObjectInfo | undefined> {
  try {
    const st = await stat(path);
    return st.isFile() ? { key, size: st.size, mtime: Math.trunc(st.mtimeMs) } : undefined;
  } catch (err) {
    if (isAbsence(err)) return undefined;
    throw err;
  }
}

function isAbsence(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException).code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

async function syncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } catch (err) {
    // Some filesystems cannot fsync a directory; their renames are as durable as they get.
    if ((err as NodeJS.ErrnoException).code !== 'EINVAL') throw err;
  } finally {
    await fh.close();
  }
}
