/**
 * The inodes this client has open. An inode that loses its last link while open here is
 * kept (nlink 0, recorded in `sustained` under this session) until its last close.
 */
export class OpenFiles {
  readonly #counts = new Map<number, number>();

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
}
