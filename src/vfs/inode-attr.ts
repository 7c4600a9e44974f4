/**
 * What this host knows of an open inode's attributes, safe from results arriving out of order.
 *
 * The operations that return an inode's attributes (getattr, slice commits, setattr) run on
 * pooled connections, so their results can reach us in another order than the database
 * produced them: keeping whichever arrives last can step back to an older length, and reads
 * would then stop short of data that is there (two commits of one file, to different chunks,
 * did exactly that). So the result of an operation that overlapped another one is never kept:
 * it marks the attributes stale, and the next read asks the database again. Attributes read by
 * other means (a lookup by name, an open) are only compared: a difference marks them stale.
 */
import type { Attr } from '../meta/index.js';

export class InodeAttr {
  #attr: Attr;
  #stale = false;
  #inflight = 0;
  #overlapped = false;
  readonly #onChange: () => void;

  /** `onChange` runs whenever the length or mtime changes, or may have (cached chunk maps go). */
  constructor(attr: Attr, onChange: () => void) {
    this.#attr = attr;
    this.#onChange = onChange;
  }

  /** The newest attributes known to be current, unless `stale`. */
  get current(): Attr {
    return this.#attr;
  }

  /** True when `current` may be behind the database. */
  get stale(): boolean {
    return this.#stale;
  }

  /** The file changed elsewhere (another host), or maybe did: ask again before the next read. */
  markStale(): void {
    this.#stale = true;
    this.#onChange();
  }

  /**
   * Runs `op`, which returns the inode's attributes as of its commit or read, and keeps them if
   * no other such operation overlapped it. Returns them either way: they are at least as new
   * as anything that completed before `op` began. With `changesMaps` false the caller handles
   * the chunk maps itself (a commit knows which chunk it changed).
   */
  async track(op: () => Promise<Attr>, changesMaps = true): Promise<Attr> {
    if (++this.#inflight > 1) this.#overlapped = true;
    try {
      const attr = await op();
      if (this.#overlapped) this.observe(attr);
      else this.#keep(attr, changesMaps);
      return attr;
    } finally {
      if (--this.#inflight === 0) this.#overlapped = false;
    }
  }

  /**
   * Attributes that are current, re-read with `fetch` if they may be stale. The stale mark is
   * cleared before the fetch starts, so a change announced during it marks them again.
   */
  async fresh(fetch: () => Promise<Attr>): Promise<Attr> {
    if (!this.#stale) return this.#attr;
    this.#stale = false;
    try {
      return await this.track(fetch);
    } catch (err) {
      this.#stale = true;
      throw err;
    }
  }

  /** Attributes read without ordering (by name, at open): a difference marks them stale. */
  observe(attr: Attr): void {
    if (differs(attr, this.#attr)) this.markStale();
  }

  #keep(attr: Attr, changesMaps: boolean): void {
    if (changesMaps && (attr.length !== this.#attr.length || attr.mtime !== this.#attr.mtime)) this.#onChange();
    this.#attr = attr;
  }
}

function differs(a: Attr, b: Attr): boolean {
  return a.length !== b.length || a.mtime !== b.mtime || a.ctime !== b.ctime || a.nlink !== b.nlink
    || a.mode !== b.mode || a.uid !== b.uid || a.gid !== b.gid;
}
