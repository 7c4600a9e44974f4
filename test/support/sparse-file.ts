/**
 * An in-memory model of one file's bytes for randomized data-path tests: a length plus the
 * written extents, so a file with data near offset 128 MiB costs only the bytes written.
 * Bytes inside the length that no extent covers are zeros, as in a POSIX file with holes.
 */

/** Bytes [off, off + data.length) of the file. Extents never overlap and are kept sorted. */
interface Extent {
  readonly off: number;
  readonly data: Buffer;
}

export class SparseFile {
  #length = 0;
  #extents: Extent[] = [];

  get length(): number {
    return this.#length;
  }

  /** Bytes held by extents (the model's memory cost). */
  get storedBytes(): number {
    return this.#extents.reduce((n, e) => n + e.data.length, 0);
  }

  /** pwrite(2): the bytes land at `off` (copied), the length grows to cover them. */
  write(off: number, data: Buffer): void {
    if (data.length === 0) return; // a zero-length write changes nothing, not even the length
    const end = off + data.length;
    this.#cut(off, end);
    this.#extents.push({ off, data: Buffer.from(data) });
    this.#extents.sort((a, b) => a.off - b.off);
    this.#length = Math.max(this.#length, end);
  }

  /** ftruncate(2): shrinking forgets the bytes past the end; growing adds zeros. */
  truncate(length: number): void {
    if (length < this.#length) this.#cut(length, this.#length);
    this.#length = length;
  }

  /** pread(2): up to `len` bytes at `off`, short at the end of the file. */
  read(off: number, len: number): Buffer {
    const end = Math.min(off + len, this.#length);
    const out = Buffer.alloc(Math.max(0, end - off));
    for (const e of this.#extents) {
      const from = Math.max(off, e.off);
      const to = Math.min(end, e.off + e.data.length);
      if (to > from) e.data.copy(out, from - off, from - e.off, to - e.off);
    }
    return out;
  }

  /** The written ranges [off, end), sorted (adjacent extents are not merged). */
  ranges(): Array<readonly [number, number]> {
    return this.#extents.map((e) => [e.off, e.off + e.data.length] as const);
  }

  /** Removes [from, to) from every extent, splitting the ones that straddle it. */
  #cut(from: number, to: number): void {
    const kept: Extent[] = [];
    for (const e of this.#extents) {
      const eEnd = e.off + e.data.length;
      if (eEnd <= from || e.off >= to) {
        kept.push(e);
        continue;
      }
      if (e.off < from) kept.push({ off: e.off, data: e.data.subarray(0, from - e.off) });
      if (eEnd > to) kept.push({ off: to, data: e.data.subarray(to - e.off) });
    }
    this.#extents = kept;
  }
}

/** Where two buffers first differ, for assertion messages ("" when equal). */
export function firstDifference(got: Buffer, want: Buffer): string {
  if (got.length !== want.length) return `length ${got.length}, expected ${want.length}`;
  for (let i = 0; i < got.length; i++) {
    if (got[i] !== want[i]) {
      let j = i;
      while (j < got.length && got[j] !== want[j]) j++;
      return `first difference at +${i} (got ${got[i]}, expected ${want[i]}; ${j - i} bytes differ in a row)`;
    }
  }
  return '';
}
