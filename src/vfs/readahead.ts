/**
 * Sequential-read detection for one open file. A read that starts where the previous one
 * ended doubles the window (from one block up to the maximum); any other read resets it.
 * Returns the range to prefetch after this read, if any.
 */
export class Readahead {
  readonly #min: number;
  readonly #max: number;
  #nextOffset = -1;
  #window = 0;
  /** Prefetched up to here: never ask for the same range twice. */
  #prefetchedTo = 0;

  constructor(minWindow: number, maxWindow: number) {
    this.#min = minWindow;
    this.#max = Math.max(minWindow, maxWindow);
  }

  onRead(off: number, end: number, fileLength: number): { off: number; len: number } | undefined {
    const sequential = off === this.#nextOffset;
    this.#nextOffset = end;
    if (!sequential) {
      this.#window = 0;
      this.#prefetchedTo = end;
      return undefined;
    }
    this.#window = this.#window === 0 ? this.#min : Math.min(this.#max, this.#window * 2);
    const from = Math.max(end, this.#prefetchedTo);
    const to = Math.min(fileLength, end + this.#window);
    if (to <= from || this.#max === 0) return undefined;
    this.#prefetchedTo = to;
    return { off: from, len: to - from };
  }
}
