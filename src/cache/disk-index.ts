/**
 * What a DiskCache holds, in memory: key → file size in least-recently-used order, their sum,
 * and the bytes of files being written (reserved against the bound before the write starts, so
 * the files never add up to more than it). This index, not the directory, is the truth about
 * what is cached.
 */
export class DiskIndex {
  /** key → file size; iteration order is least recently used first. */
  readonly #sizes = new Map<string, number>();
  #bytes = 0;
  #reserved = 0;

  get size(): number {
    return this.#sizes.size;
  }

  /** Bytes of the indexed files. */
  get bytes(): number {
    return this.#bytes;
  }

  /** Bytes of files being written. */
  get reserved(): number {
    return this.#reserved;
  }

  has(key: string): boolean {
    return this.#sizes.has(key);
  }

  /** The file size of `key`, marked most recently used; undefined if not indexed. */
  use(key: string): number | undefined {
    const size = this.#sizes.get(key);
    if (size === undefined) return undefined;
    this.#sizes.delete(key);
    this.#sizes.set(key, size);
    return size;
  }

  /** Indexes a complete file as the most recently used. */
  add(key: string, size: number): void {
    this.remove(key);
    this.#sizes.set(key, size);
    this.#bytes += size;
  }

  /** Forgets `key`; returns whether it was indexed. */
  remove(key: string): boolean {
    const size = this.#sizes.get(key);
    if (size === undefined) return false;
    this.#sizes.delete(key);
    this.#bytes -= size;
    return true;
  }

  /** The least recently used key and its size. */
  oldest(): { key: string; size: number } | undefined {
    const first = this.#sizes.entries().next();
    return first.done === true ? undefined : { key: first.value[0], size: first.value[1] };
  }

  reserve(bytes: number): void {
    this.#reserved += bytes;
  }

  unreserve(bytes: number): void {
    this.#reserved -= bytes;
  }
}
