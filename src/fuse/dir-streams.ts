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
 */
import type { DirEntry } from '../vfs/index.js';

/** Fetches up to `limit` entries after `after` (exclusive); `next` undefined at the end. */
export type PageSource = (ino: number, after: Buffer | undefined, limit: number) => Promise<{ entries: readonly DirEntry[]; next?: Buffer | undefined }>;

interface Stream {
  readonly ino: number;
  /** Stream index of the next entry expected. */
  next: number;
  /** The name of the entry before `next` (undefined: before the first name). */
  after: Buffer | undefined;
}

/** Offsets 0 and 1 are the dot entries. */
export const DOTS = 2;

export class DirStreams {
  readonly #streams = new Map<number, Stream>();
  readonly #source: PageSource;
  #nextFh = 1;

  constructor(source: PageSource) {
    this.#source = source;
  }

  open(ino: number): number {
    const fh = this.#nextFh++;
    this.#streams.set(fh, { ino, next: DOTS, after: undefined });
    return fh;
  }

  release(fh: number): void {
    this.#streams.delete(fh);
  }

  get size(): number {
    return this.#streams.size;
  }

  /** Up to `limit` names from stream index `from` (>= 2). */
  async entriesFrom(fh: number, from: number, limit: number): Promise<readonly DirEntry[]> {
    const s = this.#streams.get(fh);
    if (s === undefined) return [];
    if (from !== s.next) {
      // Start over and skip what lies before `from`.
      s.next = DOTS;
      s.after = undefined;
      while (s.next < from) {
        const skipped = await this.#source(s.ino, s.after, Math.min(from - s.next, 10_000));
        const last = skipped.entries[skipped.entries.length - 1];
        if (last === undefined) return [];
        s.after = last.name;
        s.next += skipped.entries.length;
      }
    }
    return (await this.#source(s.ino, s.after, limit)).entries;
  }

  /** The kernel took entries from stream index `from` up to `last` (inclusive). */
  consumed(fh: number, from: number, taken: number, last: Buffer | undefined): void {
    const s = this.#streams.get(fh);
    if (s === undefined || s.next !== from || last === undefined || taken === 0) return;
    s.next = from + taken;
    s.after = last;
  }
}
