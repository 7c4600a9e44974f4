/**
 * What this mount last told the kernel of each file's length and change time, in entry and
 * attribute replies. The kernel keeps attributes for the attribute timeout; when another host
 * changes a file, the change notice drops them, but an open on this host may come first (the
 * notice takes milliseconds, more under load). An open compares the attributes it has just read
 * with these: if they differ, its reply waits until the kernel has dropped its own, so a process
 * that opens after the other host's close reads the new length, not the old one (close-to-open).
 */
import type { Attr } from '../vfs/index.js';

interface Told {
  readonly length: number;
  readonly ctime: bigint;
}

export class KernelAttrs {
  readonly #told = new Map<number, Told>();

  /** A reply gave the kernel `attr`. */
  told(attr: Attr): void {
    this.#told.set(attr.ino, { length: attr.length, ctime: attr.ctime });
  }

  /** The kernel forgot the inode (its lookup count reached 0). */
  forget(ino: number): void {
    this.#told.delete(ino);
  }

  /** Whether the kernel may hold other attributes of `attr.ino` than `attr` (never told: yes). */
  differ(attr: Attr): boolean {
    const told = this.#told.get(attr.ino);
    return told === undefined || told.length !== attr.length || told.ctime !== attr.ctime;
  }

  get size(): number {
    return this.#told.size;
  }
}
