/**
 * The pure judgements of fsck and gc about block objects: which blocks a slice needs, whether
 * a stored object's size is plausible for its block, and which gc category a listed object
 * falls in. No I/O, unit-tested on their own.
 */
import { blockCount, blockLength, type BlockKeyParts } from '../chunk/index.js';
import { SLICE_SOURCE, type ListedBlock, type LiveSlice } from '../meta/index.js';

/** lz4's worst case for n input bytes (LZ4_compressBound) plus the 4-byte length prefix (a raw block, n + 8, is within it). */
function lz4Bound(n: number): number {
  return n + Math.floor(n / 255) + 16 + 4;
}

/** Whether an object of `stored` bytes can hold a block of `blockLen` uncompressed bytes. */
export function plausibleSize(stored: number, blockLen: number, compression: 'lz4' | 'none'): boolean {
  if (compression === 'none') return stored === blockLen;
  return stored >= 5 && stored <= lz4Bound(blockLen);
}

/** One block a slice needs. */
export interface NeededBlock {
  readonly index: number;
  readonly len: number;
}

/** The blocks of a slice of `size` bytes. */
export function neededBlocks(size: number, blockSize: number): NeededBlock[] {
  const n = blockCount(size, blockSize);
  const out: NeededBlock[] = [];
  for (let i = 0; i < n; i++) out.push({ index: i, len: blockLength(size, blockSize, i) });
  return out;
}

/** What is wrong with one block of a slice (fsck). */
export interface BlockProblem {
  readonly sliceId: number;
  readonly index: number;
  readonly len: number;
  readonly what: 'missing' | 'wrong-size';
  /** Stored size when the object exists. */
  readonly stored?: number;
}

/** The needed blocks of slice (id, size) that `listed` (its listed objects) lacks or holds with an impossible size. */
export function checkSliceBlocks(id: number, size: number, blockSize: number, listed: readonly ListedBlock[], compression: 'lz4' | 'none'): BlockProblem[] {
  const stored = new Map<string, number>();
  for (const b of listed) if (b.sliceId === id) stored.set(`${b.blockIndex}_${b.blockLen}`, b.size);
  const problems: BlockProblem[] = [];
  for (const b of neededBlocks(size, blockSize)) {
    const s = stored.get(`${b.index}_${b.len}`);
    if (s === undefined) problems.push({ sliceId: id, index: b.index, len: b.len, what: 'missing' });
    else if (!plausibleSize(s, b.len, compression)) problems.push({ sliceId: id, index: b.index, len: b.len, what: 'wrong-size', stored: s });
  }
  return problems;
}

/** gc's categories of a listed object. */
export const GC_CATEGORIES = ['valid', 'pending', 'leaked', 'skipped', 'mismatched', 'foreign'] as const;
export type GcCategory = (typeof GC_CATEGORIES)[number];

/**
 * S3 reports LastModified in whole seconds, so an object may look up to 1 s older than it
 * is; it counts as old enough only when it would be even 1 s younger.
 */
export const MTIME_SLACK_MS = 1000;

/**
 * The category of one listed object under `chunks/`:
 * - foreign: not a block key (never touched);
 * - valid: its slice is named by a chunk list (or only by slice_ref, which gc does not
 *   second-guess), and the key is one of that slice's blocks; mismatched: named, but the key's
 *   index/length (or the stored size) does not fit the slice — kept, reported;
 * - pending: no chunk list names its slice, a dropped list or pending_slice does (deferred
 *   deletion handles it);
 * - leaked: nothing names its slice and it is older than the safety window; skipped: the same
 *   but younger (an upload not committed yet looks exactly like this).
 */
export function classifyObject(
  parts: BlockKeyParts | undefined, storedSize: number, mtimeMs: number, named: readonly LiveSlice[],
  blockSize: number, compression: 'lz4' | 'none', cutoffMs: number,
): GcCategory {
  if (parts === undefined) return 'foreign';
  const fits = (s: LiveSlice): boolean => {
    if (s.id !== parts.sliceId || parts.blockIndex >= blockCount(s.size, blockSize)) return false;
    return blockLength(s.size, blockSize, parts.blockIndex) === parts.blockLen;
  };
  const holding = named.filter((s) => s.id === parts.sliceId);
  if (holding.length === 0) return mtimeMs + MTIME_SLACK_MS < cutoffMs ? 'leaked' : 'skipped';
  if (!holding.some(fits) || !plausibleSize(storedSize, parts.blockLen, compression)) return 'mismatched';
  const inChunk = holding.some((s) => (s.sources & SLICE_SOURCE.chunk) !== 0);
  const queued = holding.some((s) => (s.sources & (SLICE_SOURCE.dropped | SLICE_SOURCE.pending)) !== 0);
  return !inChunk && queued ? 'pending' : 'valid';
}
