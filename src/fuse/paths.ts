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
 * name is remembered here, so it never reaches the database and no host ever lists it. Hidden
 * names are unique per mount, so they are kept by name and directory inode, not by path: libfuse
 * moves them along when their directory is renamed, and passes no path at all once the
 * directory is removed (the operations on open handles then use the handle).
 */
import { FsError } from '../errors.js';
import type { Attr } from '../meta/index.js';
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

/** How long attributes returned by a create stay good for the getattr libfuse sends right after it. */
const FRESH_MS = 100;

interface Fresh {
  readonly attr: Attr;
  readonly until: number;
}

interface HiddenFile {
  readonly dir: number;
  readonly ino: number;
}

export class PathTable {
  readonly #vfs: Vfs;
  readonly #ttlMs: number;
  readonly #maxEntries: number;
  readonly #entries = new Map<string, Entry>();
  /** Attributes of paths just created here, used once by the getattr that follows. */
  readonly #fresh = new Map<string, Fresh>();
  /** Hidden name → the open inode it stands for. */
  readonly #hidden = new Map<string, HiddenFile>();
  /**
   * Bumped whenever paths are forgotten. A lookup (or listing) that began before a removal may
   * answer after it: what it found is then not remembered, or a removed name would resolve
   * again until the entry timeout.
   */
  #epoch = 0;

  constructor(vfs: Vfs, ttlMs: number, maxEntries = 200_000) {
    this.#vfs = vfs;
    this.#ttlMs = ttlMs;
    this.#maxEntries = maxEntries;
  }

  /** The inode of `path`. */
  async resolve(path: string): Promise<number> {
    return (await this.resolveAttr(path)).ino;
  }

  /**
   * The inode of `path` and, when this call had to look it up (or it was just created), its
   * attributes: getattr then needs no second trip.
   */
  async resolveAttr(path: string): Promise<{ ino: number; attr: Attr | undefined; hidden?: true }> {
    if (path === '/' || path === '') return { ino: ROOT_INO, attr: undefined };
    const fresh = this.#fresh.get(path);
    if (fresh !== undefined) {
      this.#fresh.delete(path);
      if (fresh.until > Date.now()) return { ino: fresh.attr.ino, attr: this.#vfs.withLocalWrites(fresh.attr) };
    }
    const cached = this.#entries.get(path);
    if (cached !== undefined && cached.expires > Date.now()) return { ino: cached.ino, attr: undefined };
    const epoch = this.#epoch;
    const { parentPath, name } = splitParent(path);
    const parent = await this.resolve(parentPath);
    const hidden = this.#hidden.get(name);
    if (hidden !== undefined && hidden.dir === parent) return { ino: hidden.ino, attr: undefined, hidden: true };
    const attr = await this.#vfs.lookup(parent, pathBytes(name));
    this.remember(path, attr.ino, epoch);
    return { ino: attr.ino, attr };
  }

  /** `path` was just created (or linked) here with these attributes. */
  created(path: string, attr: Attr): void {
    this.remember(path, attr.ino);
    const now = Date.now();
    if (this.#fresh.size >= 256) for (const [key, f] of this.#fresh) if (f.until <= now) this.#fresh.delete(key);
    this.#fresh.set(path, { attr, until: now + FRESH_MS });
  }

  /** The directory inode and the name of the last component of `path`. */
  async resolveParent(path: string): Promise<{ parent: number; name: Buffer }> {
    const { parentPath, name } = splitParent(path);
    if (name === '') throw FsError.EINVAL(`no name in path ${JSON.stringify(path)}`);
    return { parent: await this.resolve(parentPath), name: pathBytes(name) };
  }

  /** Where forgetting stands now: pass it to remember() for what is looked up from here on. */
  get epoch(): number {
    return this.#epoch;
  }

  /**
   * `path` leads to `ino`. With `since` (an earlier `epoch`), only if nothing was forgotten in
   * between: the answer may predate a removal that has been applied since.
   */
  remember(path: string, ino: number, since?: number): void {
    if (this.#ttlMs <= 0 || (since !== undefined && since !== this.#epoch)) return;
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
    this.#epoch++;
    this.#entries.delete(path);
    this.#fresh.delete(path);
    const prefix = `${path}/`;
    for (const key of this.#entries.keys()) if (key.startsWith(prefix)) this.#entries.delete(key);
    for (const key of this.#fresh.keys()) if (key.startsWith(prefix)) this.#fresh.delete(key);
  }

  /**
   * libfuse hid an open file of directory `dir` under `path`: it now has no name, only the inode.
   * Also drops hidden names of files closed since: libfuse sends no final unlink for a file whose
   * directory was removed.
   */
  hide(path: string, dir: number, ino: number): void {
    for (const [name, file] of this.#hidden) if (!this.#vfs.isOpen(file.ino)) this.#hidden.delete(name);
    this.#hidden.set(splitParent(path).name, { dir, ino });
  }

  /**
   * Another host changed these inodes (renamed, removed, replaced …): forget every path that
   * resolved to one of them, and the paths below it. One pass over the table per batch.
   */
  forgetInodes(inos: ReadonlySet<number>): void {
    this.#epoch++; // also for names being looked up right now, not in the table yet
    const gone: string[] = [];
    for (const [path, entry] of this.#entries) if (inos.has(entry.ino)) gone.push(path);
    for (const [path, fresh] of this.#fresh) if (inos.has(fresh.attr.ino)) gone.push(path);
    for (const path of gone) this.forget(path);
  }

  /** Forgets every resolved path (announcements from other hosts may have been missed). */
  forgetAll(): void {
    this.#epoch++;
    this.#entries.clear();
    this.#fresh.clear();
  }

  /** Whether `path` names a file libfuse hid (by its last component). */
  isHidden(path: string): boolean {
    return this.#hidden.has(splitParent(path).name);
  }

  /** libfuse's final unlink of a hidden file: returns its inode, if it was one. */
  unhide(path: string): number | undefined {
    const { name } = splitParent(path);
    const file = this.#hidden.get(name);
    this.#hidden.delete(name);
    return file?.ino;
  }
}
