/**
 * Directory attributes as this mount's own last change of the directory left them (the
 * statement that made the change returned them), to answer the GETATTR the kernel sends after
 * it: the kernel drops its cached attributes of a directory whenever it changes an entry in
 * it, and as it checks permissions itself (default_permissions) it asks for them again before
 * the next create, unlink or rename there. Without this, every create in a directory costs a
 * second round trip to the database.
 *
 * What is kept is what the kernel could have kept itself: it lives no longer than the kernel's
 * attribute timeout, is dropped when another host announces a change of the directory, and is
 * never taken from a change that overlapped another change of the same directory here (the
 * two statements' results may arrive in either order). While a change is in flight, nothing
 * is answered from here.
 */
import type { Attr } from '../vfs/index.js';

/** At most this many directories are remembered (the oldest go first). */
const MAX_ENTRIES = 4096;

export class RecentDirAttrs {
  readonly #kept = new Map<number, { readonly attr: Attr; readonly at: number }>();
  readonly #inFlight = new Map<number, number>();
  /** Directories whose change in flight overlapped another or an announcement: keep nothing. */
  readonly #spoiled = new Set<number>();

  /** `ttlMs`: the kernel's attribute timeout; 0 keeps nothing. */
  constructor(private readonly ttlMs: number, private readonly now: () => number = () => performance.now()) {}

  /** A change of directories `inos` starts: what is kept of them is no longer true. */
  begin(inos: readonly number[]): void {
    for (const ino of new Set(inos)) {
      this.#kept.delete(ino);
      const n = (this.#inFlight.get(ino) ?? 0) + 1;
      this.#inFlight.set(ino, n);
      if (n > 1) this.#spoiled.add(ino);
    }
  }

  /** The change began with `begin(inos)` ended; `attrs`: the directories as it left them, if known. */
  end(inos: readonly number[], attrs: readonly Attr[] = []): void {
    const at = this.now();
    for (const ino of new Set(inos)) {
      const attr = attrs.find((a) => a.ino === ino);
      if (attr !== undefined && this.ttlMs > 0 && !this.#spoiled.has(ino)) this.#keep(ino, attr, at);
      const n = (this.#inFlight.get(ino) ?? 1) - 1;
      if (n > 0) this.#inFlight.set(ino, n);
      else {
        this.#inFlight.delete(ino);
        this.#spoiled.delete(ino);
      }
    }
  }

  /** The attributes of directory `ino` as this mount's last change left them, if still good. */
  get(ino: number): Attr | undefined {
    const e = this.#kept.get(ino);
    if (e === undefined) return undefined;
    if (this.now() - e.at >= this.ttlMs) {
      this.#kept.delete(ino);
      return undefined;
    }
    return e.attr;
  }

  /** Another host changed `ino` (or this mount changed it some other way): forget it. */
  drop(ino: number): void {
    this.#kept.delete(ino);
    if (this.#inFlight.has(ino)) this.#spoiled.add(ino);
  }

  /** Announcements may have been missed: forget everything. */
  clear(): void {
    this.#kept.clear();
    for (const ino of this.#inFlight.keys()) this.#spoiled.add(ino);
  }

  #keep(ino: number, attr: Attr, at: number): void {
    if (this.#kept.size >= MAX_ENTRIES) {
      const oldest = this.#kept.keys().next();
      if (oldest.done !== true) this.#kept.delete(oldest.value);
    }
    this.#kept.set(ino, { attr, at });
  }
}
