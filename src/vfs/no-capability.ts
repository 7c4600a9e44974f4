/**
 * Which inodes are known, for a moment, to have no `security.capability` attribute, or no
 * extended attribute at all.
 *
 * The kernel asks for that attribute before every write(2) to a FUSE file (to strip file
 * capabilities on write), so without this each write syscall waits for one database round trip
 * that almost always answers "none". A directory listing says for every entry whether it has
 * any attribute (one index probe per row): `ls -l` asks for two attributes of each file it
 * lists, which would otherwise cost two round trips per file. Answers are forgotten at once
 * when this host changes the inode's xattrs or another host announces a change of the inode
 * (or the announcements may have been missed), and never remembered from a read that such a
 * change overtook; the time limits bound them only if an announcement is lost.
 */
import { ExpiringMap, type Clock } from '../util/expiring-map.js';

export const CAPABILITY_XATTR = 'security.capability';
/** How long "this inode has no security.capability" is believed without asking again. */
export const NO_CAPABILITY_MS = 1000;
/** How long "this inode has no xattrs" from a listing is believed (a long listing's `ls -l` must outlast it). */
export const NO_XATTRS_MS = 10_000;
/** Inodes remembered at most; the least recently used answer goes first (a miss costs one trip). */
export const MAX_INODES = 262_144;


type Known = 'no-capability' | 'no-xattrs';

export class NoCapability {
  /** An entry older than its ttl is never returned (and is dropped when looked at). */
  readonly #known: ExpiringMap<number, Known>;
  /** Bumped by every forget: an answer read before it may be older than the change. */
  #epoch = 0;

  constructor(clock?: Clock) {
    this.#known = new ExpiringMap<number, Known>(MAX_INODES, clock);
  }

  /** True while `ino` is known to have no capability attribute. */
  has(ino: number): boolean {
    return this.#known.get(ino) !== undefined;
  }

  /** True while `ino` is known to have no extended attribute at all. */
  hasNone(ino: number): boolean {
    return this.#known.get(ino) === 'no-xattrs';
  }

  /** The current epoch, to pass to `remember` for a read starting now. */
  get epoch(): number {
    return this.#epoch;
  }

  /** A read that started at `epoch` found no capability on `ino` (`none`: no attribute at all). */
  remember(ino: number, epoch: number, none = false): void {
    if (epoch !== this.#epoch) return;
    if (none) this.#known.set(ino, 'no-xattrs', NO_XATTRS_MS);
    else if (!this.hasNone(ino)) this.#known.set(ino, 'no-capability', NO_CAPABILITY_MS);
  }

  /** The xattrs of these inodes changed (undefined: maybe of any inode). */
  forget(inos?: Iterable<number>): void {
    this.#epoch++;
    if (inos === undefined) this.#known.clear();
    else for (const ino of inos) this.#known.delete(ino);
  }
}
