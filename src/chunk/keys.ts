/**
 * Chunk geometry and block object keys (pure: no I/O).
 *
 * A file is cut into chunks of CHUNK_SIZE bytes; each write run inside one chunk becomes a
 * slice (an immutable object with a unique positive id); a slice is stored as blocks of at
 * most the volume block size, one object per block. Every key of a slice follows from
 * (id, size, blockSize), and every key parses back to (id, index, length), so gc and fsck
 * can work from a bucket listing alone.
 */

/** log2 of the chunk size: a file offset's chunk index is `offset / 2^CHUNK_BITS`. */
export const CHUNK_BITS = 26;
/** Bytes per chunk (64 MiB). A slice lies inside one chunk, so it is never larger. */
export const CHUNK_SIZE = 2 ** CHUNK_BITS;
/** Block size of a new volume (4 MiB); fixed at format. */
export const DEFAULT_BLOCK_SIZE = 4 * 1024 * 1024;
/** Largest block size a volume may be formatted with (16 MiB). */
export const MAX_BLOCK_SIZE = 16 * 1024 * 1024;
/** Smallest block size a volume may be formatted with (64 KiB). */
export const MIN_BLOCK_SIZE = 64 * 1024;
/** Largest id a slice may have: ids are JS numbers, so they stay below 2^53. */
export const MAX_SLICE_ID = Number.MAX_SAFE_INTEGER;

/**
 * Block key format, relative to the volume prefix (a PrefixedStore adds `<volume>/`):
 *
 *     chunks/{floor(id / 1e6)}/{floor(id / 1e3)}/{id}_{blockIndex}_{blockLen}
 *
 * - id: slice id, decimal, 1 ≤ id ≤ 2^53 - 1, no leading zeros;
 * - blockIndex: 0-based index of the block inside the slice;
 * - blockLen: the block's UNCOMPRESSED length in bytes, 1 ≤ blockLen ≤ MAX_BLOCK_SIZE.
 *   Every block but the last of a slice is exactly the volume block size.
 *
 * The two directory levels spread keys over prefixes (S3 partitions by prefix, file stores
 * by directory) and keep a slice's blocks together. Same layout as JuiceFS.
 */
export const BLOCK_KEY_PREFIX = 'chunks/';

const BLOCK_KEY_RE = /^chunks\/(0|[1-9]\d{0,15})\/(0|[1-9]\d{0,15})\/([1-9]\d{0,15})_(0|[1-9]\d{0,15})_([1-9]\d{0,15})$/;

/** The fields a block key encodes. */
export interface BlockKeyParts {
  readonly sliceId: number;
  readonly blockIndex: number;
  /** Uncompressed length of the block in bytes. */
  readonly blockLen: number;
}

/** Why (sliceId, blockIndex, blockLen) cannot name a block, or undefined when it can. */
function blockKeyProblem(sliceId: number, blockIndex: number, blockLen: number): string | undefined {
  if (!Number.isSafeInteger(sliceId) || sliceId < 1) return `slice id ${sliceId} is not an integer in [1, 2^53)`;
  if (!Number.isSafeInteger(blockIndex) || blockIndex < 0) return `block index ${blockIndex} is not a non-negative integer`;
  if (!Number.isSafeInteger(blockLen) || blockLen < 1 || blockLen > MAX_BLOCK_SIZE) {
    return `block length ${blockLen} is not an integer in [1, ${MAX_BLOCK_SIZE}]`;
  }
  // Blocks before this one are full blocks of the volume block size, which is at least
  // MIN_BLOCK_SIZE and at least blockLen; the slice must still fit in one chunk.
  if (blockIndex * Math.max(MIN_BLOCK_SIZE, blockLen) + blockLen > CHUNK_SIZE) {
    return `block ${blockIndex} of length ${blockLen} cannot lie inside one ${CHUNK_SIZE}-byte chunk`;
  }
  return undefined;
}

/** floor(n / d) for a safe integer n ≥ 0, exact (no rounding of n / d near 2^53). */
function floorDiv(n: number, d: number): number {
  return (n - (n % d)) / d;
}

/**
 * Key of one block object of a slice (see BLOCK_KEY_PREFIX for the format).
 * Throws RangeError when the arguments cannot name a block.
 */
export function blockKey(sliceId: number, blockIndex: number, blockLen: number): string {
  const problem = blockKeyProblem(sliceId, blockIndex, blockLen);
  if (problem !== undefined) throw new RangeError(`blockKey: ${problem}`);
  return `${BLOCK_KEY_PREFIX}${floorDiv(sliceId, 1e6)}/${floorDiv(sliceId, 1e3)}/${sliceId}_${blockIndex}_${blockLen}`;
}

/**
 * The fields of a block key, or undefined when `key` is not exactly a key that blockKey
 * produces (wrong directory numbers, leading zeros, signs, out-of-range values, a volume
 * prefix, trailing text…). gc treats such keys as foreign and leaves them alone.
 */
export function parseBlockKey(key: string): BlockKeyParts | undefined {
  const m = BLOCK_KEY_RE.exec(key);
  if (m === null) return undefined;
  const sliceId = Number(m[3]);
  const blockIndex = Number(m[4]);
  const blockLen = Number(m[5]);
  if (blockKeyProblem(sliceId, blockIndex, blockLen) !== undefined) return undefined;
  // Re-encoding checks the directory levels and that no digit string lost precision.
  if (blockKey(sliceId, blockIndex, blockLen) !== key) return undefined;
  return Object.freeze({ sliceId, blockIndex, blockLen });
}

function checkSliceGeometry(fn: string, size: number, blockSize: number): void {
  if (!Number.isSafeInteger(size) || size < 0 || size > CHUNK_SIZE) {
    throw new RangeError(`${fn}: slice size ${size} is not an integer in [0, ${CHUNK_SIZE}]`);
  }
  if (!Number.isSafeInteger(blockSize) || blockSize < MIN_BLOCK_SIZE || blockSize > MAX_BLOCK_SIZE) {
    throw new RangeError(`${fn}: block size ${blockSize} is not an integer in [${MIN_BLOCK_SIZE}, ${MAX_BLOCK_SIZE}]`);
  }
}

/** Number of blocks of a slice of `size` bytes: ceil(size / blockSize); 0 for an empty slice. */
export function blockCount(size: number, blockSize: number): number {
  checkSliceGeometry('blockCount', size, blockSize);
  return floorDiv(size, blockSize) + (size % blockSize === 0 ? 0 : 1);
}

/**
 * Uncompressed length of block `blockIndex` of a slice of `size` bytes: blockSize for every
 * block but the last, the remainder for the last. Throws RangeError past the last block.
 */
export function blockLength(size: number, blockSize: number, blockIndex: number): number {
  const count = blockCount(size, blockSize);
  if (!Number.isSafeInteger(blockIndex) || blockIndex < 0 || blockIndex >= count) {
    throw new RangeError(`blockLength: block ${blockIndex} is not in [0, ${count}) for a slice of ${size} bytes`);
  }
  return Math.min(blockSize, size - blockIndex * blockSize);
}

/**
 * Every block key of a slice, in block order: the full blocks, then the shorter tail (if
 * size is not a multiple of blockSize). Empty for a slice of size 0.
 */
export function sliceBlockKeys(sliceId: number, sliceSize: number, blockSize: number): string[] {
  if (!Number.isSafeInteger(sliceId) || sliceId < 1) throw new RangeError(`sliceBlockKeys: slice id ${sliceId} is not an integer in [1, 2^53)`);
  const count = blockCount(sliceSize, blockSize);
  const keys: string[] = new Array<string>(count);
  for (let i = 0; i < count; i++) keys[i] = blockKey(sliceId, i, blockLength(sliceSize, blockSize, i));
  return keys;
}
