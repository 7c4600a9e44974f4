/**
 * Sequential-read detection for one open file. A read that starts where the previous one
 * ended (or a first read at the start of the file) doubles the window (from one block up to
 * the maximum); any other read is random and resets it.
 */

/** What one read tells the reader: whether it was sequential, and what to prefetch after it. */
export interface ReadPattern {
  readonly sequential: boolean;
  readonly prefetch: { readonly off: number; readonly len: number } | undefined;
}

export class Readahead {
  readonly #min: number;
  readonly #max: number;
  /** Where a sequential read would start: a file is usually read from its first byte. */
  #nextOffset = 0;
  #window = 0;
  /** Prefetched up to here: never ask for the same range twice. */
  #prefetchedTo = 0;

  constructor(minWindow: number, maxWindow: number) {
    this.#min = minWindow;
    this.#max = Math.max(minWindow, maxWindow);
  }

  onRead(off: number, end: number, fileLength: number): ReadPattern {
    const sequential = off === this.#nextOffset;
    this.#nextOffset = end;
    if (!sequential) {
      this.#window = 0;
      this.#prefetchedTo = end;
      return { sequential, prefetch: undefined };
    }
    this.#window = this.#window === 0 ? this.#min : Math.min(this.#max, this.#window * 2);
    const from = Math.max(end, this.#prefetchedTo);
    const to = Math.min(fileLength, end + this.#window);
    if (to <= from || this.#max === 0) return { sequential, prefetch: undefined };
    this.#prefetchedTo = to;
    return { sequential, prefetch: { off: from, len: to - from } };
  }
}
