/**
 * Directories whose names this host all knows (decisions 89 and 99): a lookup of a name that
 * neither this host's own changes nor another host's announcements have put there is answered
 * "no such entry" without a database round trip. Every create looks its name up first, so a
 * directory being filled here (an unpacked archive, a build's output, a dataset being written)
 * pays one round trip per file instead of two; and in a directory listed here, the names a
 * build or an interpreter probes for and does not find (include paths, module paths), or the
 * new name of a rename, cost none.
 *
 * What is kept per directory is the set of names that MAY exist: a name goes in before this
 * host's change that adds it starts; nothing is taken out (a removed name only costs the lookup
 * a round trip again). A directory is known from its mkdir here, or from a listing of it read
 * to its end here, when nothing touched it while that mkdir or listing ran, until another host
 * announces a change of it (its own, or of a name in it); all knowledge goes when
 * announcements may have been missed. Another host's new name is therefore unknown here for
 * as long as its announcement takes, as a name this host's kernel has cached as missing is: an
 * exclusive create of it still fails with EEXIST (the database decides), and a create without
 * O_EXCL opens it. The trash's directories are never learnt from a listing: this host's
 * deletions add names there without a create.
 */
import { isDot, isDotDot, isTrashDir, MAX_NAME_BYTES, ROOT_INO, TRASH_NAME } from '../meta/index.js';

/** Directories known at most; the oldest known is forgotten first. */
export const MAX_FRESH_DIRS = 4096;
/** Names kept per directory; a directory with more is forgotten (its lookups ask again). */
export const MAX_NAMES_PER_DIR = 65_536;

/** Listings read page by page at once, at most; the oldest is dropped (it only learns nothing). */
export const MAX_LISTINGS = 64;

/** A mkdir or listing in progress: whether anything touched its directory meanwhile. */
export interface MkdirWatch {
  readonly touched: Set<number>;
  everything: boolean;
}

/** A listing of one directory being read from its first name: the names seen so far. */
export interface Listing {
  readonly ino: number;
  readonly names: Set<string>;
  /** Something may have added a name to the directory while the listing ran. */
  spoiled: boolean;
}

export class FreshDirs {
  /** Directory → the names that may exist in it (Map order: oldest first). */
  readonly #dirs = new Map<number, Set<string>>();
  readonly #watches = new Set<MkdirWatch>();
  /** Directories with changes of this host in flight that may add a name (mayExist, not settled). */
  readonly #adding = new Map<number, number>();
  /** Listings being read (a page in flight, or kept between two pages). */
  readonly #active = new Set<Listing>();
  /** Listings between two pages, by `<ino>/<the next page's cursor>` (Map order: oldest first). */
  readonly #listings = new Map<string, Listing>();
  readonly #answers: boolean;

  /** `answers` false: nothing is ever answered missing from memory (the bookkeeping still runs). */
  constructor(answers = true) {
    this.#answers = answers;
  }

  /**
   * True when `name` is certainly not in `parent` (as of this host's knowledge). Never for '.'
   * and '..' (they always exist), nor for the root's `.trash`, nor for an empty or too long
   * name (the engine's errno).
   */
  absent(parent: number, name: Buffer): boolean {
    const names = this.#answers ? this.#dirs.get(parent) : undefined;
    if (names === undefined || name.length === 0 || name.length > MAX_NAME_BYTES || isDot(name) || isDotDot(name)) return false;
    // The trash has no entry in the root, so no listing shows it; the engine resolves its name.
    if (parent === ROOT_INO && name.toString('latin1') === TRASH_NAME) return false;
    return !names.has(name.toString('latin1'));
  }

  /** A name in `parent` may appear now: called before this host's change that adds it. */
  mayExist(parent: number, name: Buffer): void {
    this.#adding.set(parent, (this.#adding.get(parent) ?? 0) + 1);
    for (const w of this.#watches) w.touched.add(parent);
    this.#spoil(parent);
    const names = this.#dirs.get(parent);
    if (names === undefined) return;
    names.add(name.toString('latin1'));
    if (names.size > MAX_NAMES_PER_DIR) this.#dirs.delete(parent);
  }

  /** The change that called mayExist(parent, …) ended (committed or not). */
  settled(parent: number): void {
    const n = (this.#adding.get(parent) ?? 1) - 1;
    if (n > 0) this.#adding.set(parent, n);
    else this.#adding.delete(parent);
  }

  /**
   * Another host changed these inodes: a directory among them is known no more (an
   * announcement names the directory of every name it adds, not always the name).
   */
  changed(inos: Iterable<number>): void {
    for (const ino of inos) {
      this.#dirs.delete(ino);
      for (const w of this.#watches) w.touched.add(ino);
      this.#spoil(ino);
    }
  }

  /** Announcements may have been missed: nothing is known any more. */
  forgetAll(): void {
    this.#dirs.clear();
    for (const w of this.#watches) w.everything = true;
    for (const l of this.#active) l.spoiled = true;
  }

  /** Called before a mkdir starts; `made` with its result. */
  watchMkdir(): MkdirWatch {
    const watch: MkdirWatch = { touched: new Set(), everything: false };
    this.#watches.add(watch);
    return watch;
  }

  /** The mkdir watched by `watch` made `ino` (undefined: it failed): known empty unless touched. */
  made(watch: MkdirWatch, ino: number | undefined): void {
    this.#watches.delete(watch);
    if (ino === undefined || watch.everything || watch.touched.has(ino)) return;
    this.#learn(ino, new Set());
  }

  /**
   * Called before a page of `ino`'s listing is read: from its first name (`after` undefined) a
   * listing starts; after a name, it continues the listing whose last page ended there, if
   * one is kept. Undefined: this page teaches nothing.
   */
  beforePage(ino: number, after: Buffer | undefined): Listing | undefined {
    if (isTrashDir(ino)) return undefined;
    if (after !== undefined) {
      const key = `${ino}/${after.toString('latin1')}`;
      const listing = this.#listings.get(key);
      this.#listings.delete(key);
      return listing;
    }
    const listing: Listing = { ino, names: new Set(), spoiled: false };
    this.#active.add(listing);
    return listing;
  }

  /**
   * The page read after `beforePage` gave `listing`: its names, and the cursor of the next
   * page (undefined at the end of the directory, where the listing's names become known).
   */
  afterPage(listing: Listing, names: Iterable<Buffer>, next: Buffer | undefined): void {
    for (const name of names) listing.names.add(name.toString('latin1'));
    if (listing.names.size > MAX_NAMES_PER_DIR) return this.abandon(listing);
    if (next !== undefined) {
      const key = `${listing.ino}/${next.toString('latin1')}`;
      const other = this.#listings.get(key); // two streams at one place: the older one stops here
      if (other !== undefined) this.abandon(other);
      this.#listings.set(key, listing);
      if (this.#listings.size > MAX_LISTINGS) this.abandon(this.#listings.values().next().value as Listing);
      return;
    }
    this.#active.delete(listing);
    // A change of this host that began before the listing may add a name the listing missed.
    if (listing.spoiled || this.#adding.has(listing.ino)) return;
    this.#learn(listing.ino, listing.names);
  }

  /** A listing that will not be read to its end (its page failed, or its reader stopped). */
  abandon(listing: Listing): void {
    this.#active.delete(listing);
    for (const [key, kept] of this.#listings) {
      if (kept === listing) this.#listings.delete(key);
    }
  }

  #spoil(ino: number): void {
    for (const l of this.#active) if (l.ino === ino) l.spoiled = true;
  }

  /** `ino` holds at most `names` (and whatever this host's changes put there from now on). */
  #learn(ino: number, names: Set<string>): void {
    this.#dirs.delete(ino); // newest last
    this.#dirs.set(ino, names);
    if (this.#dirs.size > MAX_FRESH_DIRS) this.#dirs.delete(this.#dirs.keys().next().value as number);
  }

  get size(): number {
    return this.#dirs.size;
  }
}
