/**
 * The kernel's lookup counts: how many references the kernel holds on each inode it was given
 * (every entry reply adds one; FORGET gives them back). An inode with a count is one the kernel
 * may cache, so only those are worth a cache invalidation when another host changes them.
 */
export class LookupCounts {
  readonly #counts = new Map<number, number>();

  /** One more reference (a successful entry reply). */
  add(ino: number, n = 1): void {
    this.#counts.set(ino, (this.#counts.get(ino) ?? 0) + n);
  }

  /** The kernel forgot `n` references. */
  forget(ino: number, n: number): void {
    const left = (this.#counts.get(ino) ?? 0) - n;
    if (left > 0) this.#counts.set(ino, left);
    else this.#counts.delete(ino);
  }

  has(ino: number): boolean {
    return this.#counts.has(ino);
  }

  get size(): number {
    return this.#counts.size;
  }

  inodes(): IterableIterator<number> {
    return this.#counts.keys();
  }
}
