/**
 * Open directory streams: opendir's handle and the position a listing resumes from.
 *
 * Offsets: entry i of the stream ('.' is 0, '..' is 1, then the names in byte order) carries
 * offset i + 1, the offset to resume from after it. A stream remembers the last name the
 * kernel took, so the next request continues after it with one keyset query (names added or
 * removed meanwhile never make it repeat or skip a name that stayed). Nothing is buffered
 * between requests: every readdirplus reply carries attributes read for it, never older ones
 * (the kernel would take stale sizes over what it knows). An offset other than the one
 * expected (seekdir, rewinddir) starts over and skips.
 *
 * A directory removed here while a stream on it is open keeps its last attributes until that
 * stream's release: `fstat` of the descriptor answers them (no links), as a local disk does,
 * where the database no longer has the inode.
 */
import type { Attr, DirEntry } from '../vfs/index.js';

/** Fetches up to `limit` entries after `after` (exclusive); `next` undefined at the end. */
export type PageSource = (ino: number, after: Buffer | undefined, limit: number) => Promise<{ entries: readonly DirEntry[]; next?: Buffer | undefined }>;

interface Stream {
  readonly ino: number;
  /** Stream index of the next entry expected. */
  next: number;
  /** The name of the entry before `next` (undefined: before the first name). */
  after: Buffer | undefined;
  /** The last query reached the end of the directory. */
  lastWasEnd: boolean;
  /** Every name up to the end was taken: nothing more to list. */
  ended: boolean;
}

/** Offsets 0 and 1 are the dot entries. */
export const DOTS = 2;

export class DirStreams {
  readonly #streams = new Map<number, Stream>();
  /** Directories removed here while open: their attributes as they left, until the last release. */
  readonly #removed = new Map<number, Attr>();
  readonly #source: PageSource;
  #nextFh = 1;

  constructor(source: PageSource) {
    this.#source = source;
  }

  open(ino: number): number {
    const fh = this.#nextFh++;
    this.#streams.set(fh, { ino, next: DOTS, after: undefined, lastWasEnd: false, ended: false });
    return fh;
  }

  release(fh: number): void {
    const ino = this.#streams.get(fh)?.ino;
    this.#streams.delete(fh);
    if (ino !== undefined && this.#removed.has(ino) && !this.#isOpen(ino)) this.#removed.delete(ino);
  }

  /** This host removed directory `gone.ino`: kept if a stream on it is open. */
  removed(gone: Attr): void {
    if (this.#isOpen(gone.ino)) this.#removed.set(gone.ino, gone);
  }

  /** The attributes of an open directory this host removed (undefined for any other). */
  removedAttr(ino: number): Attr | undefined {
    return this.#removed.get(ino);
  }

  #isOpen(ino: number): boolean {
    for (const s of this.#streams.values()) if (s.ino === ino) return true;
    return false;
  }

  get size(): number {
    return this.#streams.size;
  }

  /** Up to `limit` names from stream index `from` (>= 2). */
  async entriesFrom(fh: number, from: number, limit: number): Promise<readonly DirEntry[]> {
    const s = this.#streams.get(fh);
    if (s === undefined) return [];
    if (from === s.next && s.ended) return [];
    if (from !== s.next) {
      // Start over and skip what lies before `from`.
      s.next = DOTS;
      s.after = undefined;
      s.ended = false;
      while (s.next < from) {
        const skipped = await this.#source(s.ino, s.after, Math.min(from - s.next, 10_000));
        const last = skipped.entries[skipped.entries.length - 1];
        if (last === undefined) return [];
        s.after = last.name;
        s.next += skipped.entries.length;
      }
    }
    const page = await this.#source(s.ino, s.after, limit);
    s.lastWasEnd = page.next === undefined;
    return page.entries;
  }

  /**
   * The kernel took `taken` of the `offered` entries returned by entriesFrom(fh, from), the last
   * of them `last`.
   */
  consumed(fh: number, from: number, taken: number, offered: number, last: Buffer | undefined): void {
    const s = this.#streams.get(fh);
    if (s === undefined || s.next !== from) return;
    if (taken === offered && s.lastWasEnd) s.ended = true;
    if (last === undefined || taken === 0) return;
    s.next = from + taken;
    s.after = last;
  }
}
