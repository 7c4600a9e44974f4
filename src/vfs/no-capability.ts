/**
 * Which inodes are known, for a moment, to have no `security.capability` attribute.
 *
 * The kernel asks for that attribute before every write(2) to a FUSE file (to strip file
 * capabilities on write), so without this each write syscall waits for one database round trip
 * that almost always answers "none". An answer is remembered for NO_CAPABILITY_MS, forgotten at
 * once when this host changes the inode's xattrs or another host announces a change of the
 * inode, and never remembered from a read that such a change overtook.
 */
import { LRUCache } from 'lru-cache';

export const CAPABILITY_XATTR = 'security.capability';
/** How long "this inode has no security.capability" is believed without asking again. */
export const NO_CAPABILITY_MS = 1000;
/** Inodes remembered at most; the least recently used answer goes first (a miss costs one trip). */
const MAX_INODES = 65_536;

/** A clock in milliseconds (tests pass their own). */
export interface Clock {
  now(): number;
}

export class NoCapability {
  // lru-cache keeps the expiry: an entry older than its ttl is never returned (and is deleted
  // when looked at). ttlResolution 0 reads the clock on every check instead of caching it for
  // a millisecond, so an injected clock is obeyed exactly.
  readonly #known: LRUCache<number, true>;
  /** Bumped by every forget: an answer read before it may be older than the change. */
  #epoch = 0;

  constructor(clock?: Clock) {
    this.#known = new LRUCache<number, true>({
      max: MAX_INODES, ttl: NO_CAPABILITY_MS, ttlResolution: 0, ...(clock === undefined ? {} : { perf: clock }),
    });
  }

  /** True while `ino` is known to have no capability attribute. */
  has(ino: number): boolean {
    return this.#known.get(ino) === true;
  }

  /** The current epoch, to pass to `remember` for a read starting now. */
  get epoch(): number {
    return this.#epoch;
  }

  /** A read that started at `epoch` found no capability on `ino`. */
  remember(ino: number, epoch: number): void {
    if (epoch === this.#epoch) this.#known.set(ino, true);
  }

  /** The xattrs of these inodes changed (undefined: maybe of any inode). */
  forget(inos?: Iterable<number>): void {
    this.#epoch++;
    if (inos === undefined) this.#known.clear();
    else for (const ino of inos) this.#known.delete(ino);
  }
}
