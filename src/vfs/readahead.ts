/**
 * Sequential-read detection for one open file. The kernel splits a large read into 128 KiB
 * requests that libfuse's threads deliver out of order (38 % of them in a measured cold read),
 * so "starts where the previous one ended" is too strict: a read is part of the stream when it
 * starts near the furthest point read so far (up to STREAM_SLACK behind or ahead of it). Each
 * read that moves that point forward doubles the window (from one block up to the maximum);
 * a read anywhere else resets it. A first read at offset 0 starts a stream.
 * Returns the range to prefetch after this read, if any.
 */

/** How far behind or ahead of the furthest end read a read may start and still be sequential. */
export const STREAM_SLACK = 1 << 20;

export class Readahead {
  readonly #min: number;
  /** Largest window; 0: readahead is off. */
  readonly #max: number;
  /** End of the furthest read of the current stream; -1 before the first read. */
  #furthest = -1;
  #window = 0;
  /** Prefetched up to here: never ask for the same range twice. */
  #prefetchedTo = 0;

  constructor(minWindow: number, maxWindow: number) {
    this.#min = minWindow;
    this.#max = maxWindow <= 0 ? 0 : Math.max(minWindow, maxWindow);
  }

  onRead(off: number, end: number, fileLength: number): { off: number; len: number } | undefined {
    const inStream = this.#furthest < 0 ? off === 0 : off >= this.#furthest - STREAM_SLACK && off <= this.#furthest + STREAM_SLACK;
    if (!inStream) {
      this.#furthest = end;
      this.#window = 0;
      this.#prefetchedTo = end;
      return undefined;
    }
    if (end > this.#furthest || this.#window === 0) {
      this.#window = this.#window === 0 ? this.#min : Math.min(this.#max, this.#window * 2);
    }
    this.#furthest = Math.max(this.#furthest, end);
    const from = Math.max(this.#furthest, this.#prefetchedTo);
    const to = Math.min(fileLength, this.#furthest + this.#window);
    if (to <= from || this.#max === 0) return undefined;
    this.#prefetchedTo = to;
    return { off: from, len: to - from };
  }
}
