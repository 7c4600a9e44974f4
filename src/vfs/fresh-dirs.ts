/**
 * Directories this host made, whose names it all knows (decision 89): a lookup of a name that
 * neither this host's own changes nor another host's announcements have put there is answered
 * "no such entry" without a database round trip. Every create looks its name up first, so a
 * directory being filled here (an unpacked archive, a build's output, a dataset being written)
 * pays one round trip per file instead of two.
 *
 * What is kept per directory is the set of names that MAY exist: a name goes in before this
 * host's change that adds it starts; nothing is taken out (a removed name only costs the lookup
 * a round trip again). A directory is known from its mkdir here, when nothing touched it while
 * that mkdir ran, until another host announces a change of it (its own, or of a name in it);
 * all knowledge goes when announcements may have been missed. Another host's new name is
 * therefore unknown here for as long as its announcement takes, as a name this host's kernel
 * has cached as missing is: an exclusive create of it still fails with EEXIST (the database
 * decides), and a create without O_EXCL opens it.
 */
import { isDot, isDotDot, MAX_NAME_BYTES } from '../meta/index.js';

/** Directories known at most; the oldest known is forgotten first. */
export const MAX_FRESH_DIRS = 4096;
/** Names kept per directory; a directory with more is forgotten (its lookups ask again). */
export const MAX_NAMES_PER_DIR = 65_536;

/** A mkdir in progress: whether anything touched its new directory meanwhile. */
export interface MkdirWatch {
  readonly touched: Set<number>;
  everything: boolean;
}

export class FreshDirs {
  /** Directory → the names that may exist in it (Map order: oldest first). */
  readonly #dirs = new Map<number, Set<string>>();
  readonly #watches = new Set<MkdirWatch>();

  /**
   * True when `name` is certainly not in `parent` (as of this host's knowledge). Never for '.'
   * and '..' (they always exist), nor for an empty or too long name (the engine's errno).
   */
  absent(parent: number, name: Buffer): boolean {
    const names = this.#dirs.get(parent);
    if (names === undefined || name.length === 0 || name.length > MAX_NAME_BYTES || isDot(name) || isDotDot(name)) return false;
    return !names.has(name.toString('latin1'));
  }

  /** A name in `parent` may appear now: called before this host's change that adds it. */
  mayExist(parent: number, name: Buffer): void {
    for (const w of this.#watches) w.touched.add(parent);
    const names = this.#dirs.get(parent);
    if (names === undefined) return;
    names.add(name.toString('latin1'));
    if (names.size > MAX_NAMES_PER_DIR) this.#dirs.delete(parent);
  }

  /**
   * Another host changed these inodes: a directory among them is known no more (an
   * announcement names the directory of every name it adds, not always the name).
   */
  changed(inos: Iterable<number>): void {
    for (const ino of inos) {
      this.#dirs.delete(ino);
      for (const w of this.#watches) w.touched.add(ino);
    }
  }

  /** Announcements may have been missed: nothing is known any more. */
  forgetAll(): void {
    this.#dirs.clear();
    for (const w of this.#watches) w.everything = true;
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
    this.#dirs.set(ino, new Set());
    if (this.#dirs.size > MAX_FRESH_DIRS) this.#dirs.delete(this.#dirs.keys().next().value as number);
  }

  get size(): number {
    return this.#dirs.size;
  }
}
