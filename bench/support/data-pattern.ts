/**
 * The bytes the data benchmark writes, as a pure function of (file, offset), so every read can
 * be checked without keeping the file in memory.
 *
 * A pool of POOL_BYTES is generated once per kind. The file's 1 MiB request i (offset
 * i·1 MiB) is the pool slice starting at `(i · STRIDE) mod POOL_SPAN` pages; a small file
 * (64 KiB) uses the slice of its own seed the same way. STRIDE is odd, so requests i and j get
 * the same slice only when i ≡ j mod (POOL_SPAN / 4 KiB) = 16,384, i.e. 16 GiB apart: a read
 * that returns the wrong offset's bytes is caught.
 *
 * - 'random': crypto-random bytes. lz4 finds nothing to compress (the stored block is a few
 *   bytes longer than the data), but it still scans every byte.
 * - 'text':   log-like lines with random numbers, which lz4 compresses about 2-3×.
 */
import { randomBytes } from 'node:crypto';
import { makeRng } from '../../test/support/prng.js';

export const KiB = 1024;
export const MiB = 1024 * KiB;
/** Pages the pool slices may start at. */
const POOL_SPAN = 64 * MiB;
/** Start of slice i, in pages of 4 KiB (odd multiplier: a bijection mod 16,384). */
const STRIDE_PAGES = 7919;
/** A slice of up to this many bytes may start anywhere in POOL_SPAN. */
export const MAX_SLICE = 4 * MiB;
const POOL_BYTES = POOL_SPAN + MAX_SLICE;

export const DATA_KINDS = ['random', 'text'] as const;
export type DataKind = (typeof DATA_KINDS)[number];

export class DataPattern {
  readonly kind: DataKind;
  readonly #pool: Buffer;

  private constructor(kind: DataKind, pool: Buffer) {
    this.kind = kind;
    this.#pool = pool;
  }

  static create(kind: DataKind, seed: number): DataPattern {
    return new DataPattern(kind, kind === 'random' ? randomBytes(POOL_BYTES) : textPool(POOL_BYTES, seed));
  }

  /** `len` (≤ MAX_SLICE) bytes of slice `i`, from `off` inside it (a view into the pool). */
  slice(i: number, len: number, off = 0): Buffer {
    if (off + len > MAX_SLICE) throw new RangeError(`slice [${off}, ${off + len}) is longer than ${MAX_SLICE}`);
    const start = ((i * STRIDE_PAGES) % (POOL_SPAN / (4 * KiB))) * 4 * KiB + off;
    return this.#pool.subarray(start, start + len);
  }

  /** The file's bytes at [off, off + len) for a file written in `unit`-byte requests (unit ≤ MAX_SLICE). */
  fileBytes(off: number, len: number, unit: number): Buffer {
    const first = Math.floor(off / unit);
    if (Math.floor((off + len - 1) / unit) === first) return this.slice(first, len, off - first * unit);
    const out = Buffer.allocUnsafe(len);
    for (let pos = off; pos < off + len;) {
      const i = Math.floor(pos / unit);
      const n = Math.min(off + len, (i + 1) * unit) - pos;
      this.slice(i, n, pos - i * unit).copy(out, pos - off);
      pos += n;
    }
    return out;
  }
}

const WORDS = ['GET', 'PUT', 'read', 'write', 'lookup', 'getattr', 'open', 'release', 'flush', 'ok', 'ENOENT', 'EIO'];

/** Log-like text: timestamps, levels, ids and numbers, about 100 bytes a line. */
function textPool(bytes: number, seed: number): Buffer {
  const rng = makeRng(seed);
  const out = Buffer.allocUnsafe(bytes);
  let pos = 0;
  let t = Date.UTC(2026, 10, 27);
  while (pos < bytes) {
    t += rng.int(0, 50);
    const line =
      `${new Date(t).toISOString()} ${rng.next() < 0.9 ? 'INFO ' : 'WARN '} objectfs op=${WORDS[rng.int(0, WORDS.length - 1)]} ` +
      `ino=${rng.int(1, 999_999)} off=${rng.int(0, 1 << 30)} len=${rng.int(1, 1 << 20)} ` +
      `id=${rng.int(0, 0xffff_ffff).toString(16).padStart(8, '0')} dur_us=${rng.int(10, 99_999)}\n`;
    pos += out.write(line, pos, 'latin1');
  }
  return out;
}
