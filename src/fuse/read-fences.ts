/**
 * Holds back kernel invalidations of a file while reads of it are in flight here.
 *
 * The kernel fills the rest of a page with zeros after a short read, and shrinks its length
 * to the end of the read only if the file's attributes did not change meanwhile. An
 * invalidation sent during the read (another host truncated the file, which is also why the
 * read came up short) counts as such a change: the kernel keeps its old, longer length, and
 * the reader is handed the zeros. Sent after the reply, the invalidation finds the length
 * already shrunk. A short pause after the last reply lets the reading thread reach that point.
 */
const SETTLE_MS = 2;

export class ReadFences {
  readonly #inFlight = new Map<number, number>();
  readonly #held = new Map<number, (() => void)[]>();
  /** settled() callers, by inode (kept apart from #held, which keeps two invalidations at most). */
  readonly #waiting = new Map<number, (() => void)[]>();

  /** A read of `ino` started. */
  begin(ino: number): void {
    this.#inFlight.set(ino, (this.#inFlight.get(ino) ?? 0) + 1);
  }

  /** A read of `ino` was answered: held invalidations run once none is left. */
  end(ino: number): void {
    const n = (this.#inFlight.get(ino) ?? 1) - 1;
    if (n > 0) {
      this.#inFlight.set(ino, n);
      return;
    }
    this.#inFlight.delete(ino);
    this.#release(ino, this.#held, true);
    this.#release(ino, this.#waiting, false);
  }

  /**
   * Runs what `from` holds for `ino` once the reading thread has settled. If another read has
   * started meanwhile, invalidations wait for it too (`holdAgain`); an open does not, or a
   * steady reader of the file would keep it from ever being answered.
   */
  #release(ino: number, from: Map<number, (() => void)[]>, holdAgain: boolean): void {
    const held = from.get(ino);
    if (held === undefined) return;
    from.delete(ino);
    setTimeout(() => {
      if (holdAgain && this.#inFlight.has(ino)) from.set(ino, [...(from.get(ino) ?? []), ...held]);
      else for (const run of held) run();
    }, SETTLE_MS).unref();
  }

  /** Runs `invalidate` now, or after the reads of `ino` in flight are answered. */
  after(ino: number, invalidate: () => void): void {
    if (!this.#inFlight.has(ino)) {
      invalidate();
      return;
    }
    const held = this.#held.get(ino);
    if (held === undefined) this.#held.set(ino, [invalidate]);
    else if (held.length < 2) held.push(invalidate); // one more after the first is enough: each drops the whole file
  }

  /**
   * Resolves once no read of `ino` is in flight (at once if none is): for a reply that the
   * kernel's invalidation must precede (an open after another host's change).
   */
  settled(ino: number): Promise<void> {
    if (!this.#inFlight.has(ino)) return Promise.resolve();
    return new Promise((resolve) => {
      const waiting = this.#waiting.get(ino);
      if (waiting === undefined) this.#waiting.set(ino, [resolve]);
      else waiting.push(resolve);
    });
  }

  /** Reads in flight (for the stats gauges). */
  get size(): number {
    return this.#inFlight.size;
  }
}
