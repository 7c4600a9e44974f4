/**
 * The inodes this client has open. An inode that loses its last link while open here is
 * kept (nlink 0, recorded in `sustained` under this session) until its last close.
 */
export class OpenFiles {
  readonly #counts = new Map<number, number>();
  /** Inodes this client kept alive after their last unlink (a `sustained` row may exist). */
  readonly #kept = new Set<number>();

  open(ino: number): void {
    this.#counts.set(ino, (this.#counts.get(ino) ?? 0) + 1);
  }

  /** Returns true when this was the last open of `ino` here. */
  close(ino: number): boolean {
    const n = this.#counts.get(ino) ?? 0;
    if (n <= 1) {
      this.#counts.delete(ino);
      return n === 1;
    }
    this.#counts.set(ino, n - 1);
    return false;
  }

  isOpen(ino: number): boolean {
    return this.#counts.has(ino);
  }

  /** `ino` lost its last link while open here. */
  markKept(ino: number): void {
    this.#kept.add(ino);
  }

  /**
   * Whether `ino` may have a `sustained` row of this client, forgetting the mark: the last
   * close needs a database transaction only then, not for every file.
   */
  takeKept(ino: number): boolean {
    return this.#kept.delete(ino);
  }
}
