/**
 * Which inodes are known, for a moment, to have no `security.capability` attribute, or no
 * extended attribute at all (a directory listing says so for every entry: `ls -l` asks for
 * two attributes of each file it lists, which would otherwise cost two round trips each).
 *
 * The kernel asks for that attribute before every write(2) to a FUSE file (to strip file
 * capabilities on write), so without this each write syscall waits for one database round trip
 * that almost always answers "none". An answer is remembered for NO_CAPABILITY_MS, forgotten at
 * once when this host changes the inode's xattrs or another host announces a change of the
 * inode, and never remembered from a read that such a change overtook.
 */
export const CAPABILITY_XATTR = 'security.capability';
/** How long "this inode has no security.capability" is believed without asking again. */
export const NO_CAPABILITY_MS = 1000;
const MAX_INODES = 65_536;

export class NoCapability {
  readonly #until = new Map<number, { readonly until: number; readonly none: boolean }>();
  /** Bumped by every forget: an answer read before it may be older than the change. */
  #epoch = 0;

  /** True while `ino` is known to have no capability attribute. */
  has(ino: number, now = Date.now()): boolean {
    return this.#known(ino, now) !== undefined;
  }

  /** True while `ino` is known to have no extended attribute at all. */
  hasNone(ino: number, now = Date.now()): boolean {
    return this.#known(ino, now)?.none === true;
  }

  #known(ino: number, now: number): { none: boolean } | undefined {
    const known = this.#until.get(ino);
    if (known === undefined) return undefined;
    if (known.until > now) return known;
    this.#until.delete(ino);
    return undefined;
  }

  /** The current epoch, to pass to `remember` for a read starting now. */
  get epoch(): number {
    return this.#epoch;
  }

  /** A read that started at `epoch` found no capability on `ino` (`none`: no attribute at all). */
  remember(ino: number, epoch: number, now = Date.now(), none = false): void {
    if (epoch !== this.#epoch) return;
    if (this.#until.size >= MAX_INODES) this.#until.clear(); // a crude bound; misses only cost a trip
    if (!none && this.#until.get(ino)?.none === true && this.has(ino, now)) return;
    this.#until.set(ino, { until: now + NO_CAPABILITY_MS, none });
  }

  /** The xattrs of these inodes changed (undefined: maybe of any inode). */
  forget(inos?: Iterable<number>): void {
    this.#epoch++;
    if (inos === undefined) this.#until.clear();
    else for (const ino of inos) this.#until.delete(ino);
  }
}
