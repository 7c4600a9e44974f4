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
    const held = this.#held.get(ino);
    if (held === undefined) return;
    this.#held.delete(ino);
    setTimeout(() => {
      if (this.#inFlight.has(ino)) this.#held.set(ino, [...(this.#held.get(ino) ?? []), ...held]);
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

  /** Reads in flight (for the stats gauges). */
  get size(): number {
    return this.#inFlight.size;
  }
}
