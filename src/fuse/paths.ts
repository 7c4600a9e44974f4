/**
 * Path → inode resolution for the path-based FUSE binding over the inode-based vfs.
 *
 * Paths arrive as latin1 strings, which map byte for byte to the raw name bytes (the patched
 * binding passes them that way, so names need not be UTF-8). Resolved paths are cached for the
 * entry timeout: the kernel caches the same lookups for as long, so this adds no staleness a
 * FUSE user would not already see. Local renames and removals update the cache at once.
 *
 * libfuse hides a file that is unlinked while open by renaming it to `.fuse_hiddenXXXX`. That
 * rename is turned into a real unlink (the inode is kept because it is open) and the hidden
 * path is remembered here, so the name never reaches the database and no host ever lists it.
 */
import { FsError } from '../errors.js';
import { ROOT_INO, type Vfs } from '../vfs/index.js';

/** A name libfuse uses to hide unlinked-but-open files. */
export const HIDDEN_NAME = /^\.fuse_hidden[0-9a-f]{8,}$/;

/** The raw bytes of a path component or path received from the binding. */
export function pathBytes(path: string): Buffer {
  return Buffer.from(path, 'latin1');
}

/** The binding's string for raw name bytes (inverse of pathBytes). */
export function bytesToPath(name: Buffer): string {
  return name.toString('latin1');
}

export function splitParent(path: string): { parentPath: string; name: string } {
  const i = path.lastIndexOf('/');
  return { parentPath: i <= 0 ? '/' : path.slice(0, i), name: path.slice(i + 1) };
}

interface Entry {
  readonly ino: number;
  readonly expires: number;
}

export class PathTable {
  readonly #vfs: Vfs;
  readonly #ttlMs: number;
  readonly #maxEntries: number;
  readonly #entries = new Map<string, Entry>();
  readonly #hidden = new Map<string, number>();

  constructor(vfs: Vfs, ttlMs: number, maxEntries = 200_000) {
    this.#vfs = vfs;
    this.#ttlMs = ttlMs;
    this.#maxEntries = maxEntries;
  }

  /** The inode of `path`. */
  async resolve(path: string): Promise<number> {
    if (path === '/' || path === '') return ROOT_INO;
    const hidden = this.#hidden.get(path);
    if (hidden !== undefined) return hidden;
    const cached = this.#entries.get(path);
    if (cached !== undefined && cached.expires > Date.now()) return cached.ino;
    const { parentPath, name } = splitParent(path);
    const parent = await this.resolve(parentPath);
    const attr = await this.#vfs.lookup(parent, pathBytes(name));
    this.remember(path, attr.ino);
    return attr.ino;
  }

  /** The directory inode and the name of the last component of `path`. */
  async resolveParent(path: string): Promise<{ parent: number; name: Buffer }> {
    const { parentPath, name } = splitParent(path);
    if (name === '') throw FsError.EINVAL(`no name in path ${JSON.stringify(path)}`);
    return { parent: await this.resolve(parentPath), name: pathBytes(name) };
  }

  remember(path: string, ino: number): void {
    if (this.#ttlMs <= 0) return;
    if (this.#entries.size >= this.#maxEntries) {
      // Drop the oldest insertions (Map keeps insertion order): a cheap bound, not an LRU.
      let n = this.#maxEntries >> 4;
      for (const key of this.#entries.keys()) {
        this.#entries.delete(key);
        if (--n <= 0) break;
      }
    }
    this.#entries.set(path, { ino, expires: Date.now() + this.#ttlMs });
  }

  /** Forgets `path` and everything below it. */
  forget(path: string): void {
    this.#entries.delete(path);
    const prefix = `${path}/`;
    for (const key of this.#entries.keys()) if (key.startsWith(prefix)) this.#entries.delete(key);
  }

  isHidden(path: string): boolean {
    return this.#hidden.has(path);
  }

  /** libfuse hid an open file under `path`: it now has no name, only the inode. */
  hide(path: string, ino: number): void {
    this.#hidden.set(path, ino);
  }

  /** libfuse's final unlink of a hidden file: returns its inode, if it was one. */
  unhide(path: string): number | undefined {
    const ino = this.#hidden.get(path);
    this.#hidden.delete(path);
    return ino;
  }
}
