/**
 * The slice list of one chunk: its binary record and the overlay that turns it into the
 * visible view (pure: no I/O).
 *
 * A chunk's record is the list of slice entries in write order. Later entries win byte by
 * byte; bytes no entry covers read as zeros; the inode's length cuts the view. Truncate and
 * hole punching append entries with id 0 instead of deleting anything, so a record only
 * grows until compaction replaces it with one entry.
 */

/**
 * Bytes per chunk (2^26 = 64 MiB). The same value as CHUNK_SIZE in chunk/keys.ts: meta/ may
 * not import chunk/ (chunk knows nothing of inodes, meta nothing of objects), so the format
 * constant is repeated here and a unit test pins the two together.
 */
export const CHUNK_SIZE = 2 ** 26;

/**
 * Wire format of one slice entry: 24 bytes, big-endian, entries concatenated in write order
 * (JuiceFS-like):
 *
 *     offset  size  field
 *          0     4  pos   u32  offset of the entry's first byte inside the chunk
 *          4     8  id    u64  slice id; 0 = a hole (the entry reads as zeros)
 *         12     4  size  u32  total size of the slice object (ignored when id = 0)
 *         16     4  off   u32  offset inside the slice where the visible bytes start (ignored when id = 0)
 *         20     4  len   u32  number of visible bytes
 *
 * Invariants (checked by encode and decode): pos + len ≤ CHUNK_SIZE; id < 2^53; when
 * id ≠ 0, size ≤ CHUNK_SIZE and off + len ≤ size.
 */
export const SLICE_ENTRY_SIZE = 24;

const MAX_U32 = 0xffff_ffff;
const TWO_32 = 2 ** 32;

/** One entry of a chunk's slice list: `len` bytes at chunk offset `pos` come from slice `id` at `off`. */
export interface SliceEntry {
  /** Offset of the entry inside the chunk. */
  readonly pos: number;
  /** Slice id; 0 is a hole (zeros). */
  readonly id: number;
  /** Total size of the slice object. */
  readonly size: number;
  /** Offset inside the slice of the entry's first byte. */
  readonly off: number;
  /** Number of bytes the entry covers. */
  readonly len: number;
}

/**
 * One segment of a chunk's visible view: bytes [pos, pos + len) of the chunk are bytes
 * [off, off + len) of slice `id` (of total size `size`). A hole segment has id 0, off 0 and
 * size 0 and reads as zeros.
 */
export interface ChunkSegment {
  readonly pos: number;
  readonly len: number;
  readonly id: number;
  readonly off: number;
  readonly size: number;
}

function isU32(n: number): boolean {
  return Number.isInteger(n) && n >= 0 && n <= MAX_U32;
}

/** Why an entry breaks the format invariants, or undefined when it is valid. */
function entryProblem(e: SliceEntry): string | undefined {
  if (!Number.isSafeInteger(e.id) || e.id < 0) return `id ${e.id} is not an integer in [0, 2^53)`;
  for (const field of ['pos', 'size', 'off', 'len'] as const) {
    if (!isU32(e[field])) return `${field} ${e[field]} is not a u32`;
  }
  if (e.pos + e.len > CHUNK_SIZE) return `pos ${e.pos} + len ${e.len} is past the chunk end ${CHUNK_SIZE}`;
  if (e.id !== 0) {
    if (e.size > CHUNK_SIZE) return `slice size ${e.size} is larger than a chunk (${CHUNK_SIZE})`;
    if (e.off + e.len > e.size) return `off ${e.off} + len ${e.len} is past the slice size ${e.size}`;
  }
  return undefined;
}

function checkEntry(fn: string, e: SliceEntry, index: number): void {
  const problem = entryProblem(e);
  if (problem !== undefined) throw new RangeError(`${fn}: entry ${index}: ${problem}`);
}

function writeEntry(buf: Buffer, at: number, e: SliceEntry): void {
  buf.writeUInt32BE(e.pos, at);
  buf.writeUInt32BE(Math.floor(e.id / TWO_32), at + 4);
  buf.writeUInt32BE(e.id % TWO_32, at + 8);
  buf.writeUInt32BE(e.size, at + 12);
  buf.writeUInt32BE(e.off, at + 16);
  buf.writeUInt32BE(e.len, at + 20);
}

/** The 24-byte record of one entry. Throws RangeError when the entry breaks the format invariants. */
export function encodeSliceEntry(e: SliceEntry): Buffer {
  checkEntry('encodeSliceEntry', e, 0);
  const buf = Buffer.allocUnsafe(SLICE_ENTRY_SIZE);
  writeEntry(buf, 0, e);
  return buf;
}

/** The record of a whole list: the entries' 24-byte records concatenated in order. */
export function encodeSliceEntries(list: readonly SliceEntry[]): Buffer {
  const buf = Buffer.allocUnsafe(list.length * SLICE_ENTRY_SIZE);
  list.forEach((e, i) => {
    checkEntry('encodeSliceEntries', e, i);
    writeEntry(buf, i * SLICE_ENTRY_SIZE, e);
  });
  return buf;
}

/**
 * Entries of a chunk record, in record (write) order, as frozen objects. Throws an Error
 * starting with "corrupt slice list" when the length is not a multiple of SLICE_ENTRY_SIZE
 * or an entry breaks the format invariants: such a record is corruption, not user error.
 */
export function decodeSliceEntries(buf: Uint8Array): SliceEntry[] {
  if (buf.length % SLICE_ENTRY_SIZE !== 0) {
    throw new Error(`corrupt slice list: length ${buf.length} is not a multiple of ${SLICE_ENTRY_SIZE}`);
  }
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const n = buf.length / SLICE_ENTRY_SIZE;
  const out: SliceEntry[] = new Array<SliceEntry>(n);
  for (let i = 0; i < n; i++) {
    const at = i * SLICE_ENTRY_SIZE;
    const e: SliceEntry = Object.freeze({
      pos: view.getUint32(at),
      id: view.getUint32(at + 4) * TWO_32 + view.getUint32(at + 8),
      size: view.getUint32(at + 12),
      off: view.getUint32(at + 16),
      len: view.getUint32(at + 20),
    });
    // ids ≥ 2^53 are not exact as numbers; entryProblem rejects them (isSafeInteger).
    const problem = entryProblem(e);
    if (problem !== undefined) throw new Error(`corrupt slice list: entry ${i}: ${problem}`);
    out[i] = e;
  }
  return out;
}

interface Segment {
  pos: number;
  len: number;
  id: number;
  off: number;
  size: number;
}

/**
 * Lay entry `e` over `segs` (sorted by pos, non-overlapping, possibly with gaps): the parts
 * of older segments it covers go, the parts sticking out on either side stay.
 * O(log n) search plus one splice.
 */
function overlay(segs: Segment[], e: SliceEntry): void {
  const start = e.pos;
  const end = e.pos + e.len;
  // First segment ending after `start`; since segments are disjoint and sorted, ends are sorted too.
  let lo = 0;
  let hi = segs.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const s = segs[mid]!;
    if (s.pos + s.len > start) hi = mid;
    else lo = mid + 1;
  }
  let j = lo;
  while (j < segs.length && segs[j]!.pos < end) j++;
  const replacement: Segment[] = [];
  if (lo < j) {
    const first = segs[lo]!;
    if (first.pos < start) replacement.push({ ...first, len: start - first.pos });
  }
  replacement.push(e.id === 0
    ? { pos: start, len: e.len, id: 0, off: 0, size: 0 }
    : { pos: start, len: e.len, id: e.id, off: e.off, size: e.size });
  if (lo < j) {
    const last = segs[j - 1]!;
    const lastEnd = last.pos + last.len;
    if (lastEnd > end) {
      const skipped = end - last.pos;
      replacement.push({ pos: end, len: lastEnd - end, id: last.id, off: last.id === 0 ? 0 : last.off + skipped, size: last.size });
    }
  }
  segs.splice(lo, j - lo, ...replacement);
}

/** Append `s` to `out`, merging it into the previous segment when it continues it. */
function pushMerged(out: ChunkSegment[], s: Segment): void {
  if (s.len === 0) return;
  const prev = out[out.length - 1];
  if (prev !== undefined && prev.id === s.id && prev.pos + prev.len === s.pos
    && (s.id === 0 || (prev.off + prev.len === s.off && prev.size === s.size))) {
    out[out.length - 1] = Object.freeze({ pos: prev.pos, len: prev.len + s.len, id: prev.id, off: prev.off, size: prev.size });
    return;
  }
  out.push(Object.freeze({ pos: s.pos, len: s.len, id: s.id, off: s.off, size: s.size }));
}

/**
 * The visible view of a chunk: ordered, non-overlapping, contiguous segments covering
 * [0, end) where later entries win byte by byte and uncovered bytes are hole segments
 * (id 0, off 0, size 0). Without `chunkLength`, end is the largest pos + len of any entry
 * (so a trailing hole entry stays, and an empty list gives []); with it, the view covers
 * exactly [0, chunkLength): cut there, and padded with a hole when the entries end earlier.
 *
 * The view is canonical: no zero-length segments, and neighbours are merged when they are
 * both holes or continue the same slice (same id, contiguous off), so equal content gives
 * equal views. Cost: O(n log n) search plus O(n) splice moves per entry; fine for the few
 * thousand entries a chunk holds before compaction.
 */
export function buildChunkView(entries: readonly SliceEntry[], chunkLength?: number): ChunkSegment[] {
  if (chunkLength !== undefined && (!Number.isInteger(chunkLength) || chunkLength < 0 || chunkLength > CHUNK_SIZE)) {
    throw new RangeError(`buildChunkView: chunk length ${chunkLength} is not an integer in [0, ${CHUNK_SIZE}]`);
  }
  const segs: Segment[] = [];
  let end = 0;
  entries.forEach((e, i) => {
    checkEntry('buildChunkView', e, i);
    if (e.len === 0) return;
    overlay(segs, e);
    end = Math.max(end, e.pos + e.len);
  });
  const limit = chunkLength ?? end;
  const out: ChunkSegment[] = [];
  let cursor = 0;
  for (const s of segs) {
    if (s.pos >= limit) break;
    if (s.pos > cursor) pushMerged(out, { pos: cursor, len: s.pos - cursor, id: 0, off: 0, size: 0 });
    pushMerged(out, { ...s, len: Math.min(s.pos + s.len, limit) - s.pos });
    cursor = s.pos + s.len;
  }
  if (cursor < limit) pushMerged(out, { pos: cursor, len: limit - cursor, id: 0, off: 0, size: 0 });
  return out;
}

/**
 * Whether compacting the list into one entry would help: more than one entry, or a single
 * entry that hides bytes of its slice (off > 0, len < size) or covers nothing (len 0). A
 * single hole entry or a single entry showing its whole slice is already compact.
 */
export function compactable(entries: readonly SliceEntry[]): boolean {
  if (entries.length > 1) return true;
  const e = entries[0];
  if (e === undefined) return false;
  if (e.len === 0) return true;
  return e.id !== 0 && (e.off > 0 || e.len < e.size);
}

/** Slice ids a chunk record refers to (see referencedSliceIds). */
export interface SliceIdRefs {
  /** Ids (≠ 0) with at least one visible byte in the view. */
  readonly visible: ReadonlySet<number>;
  /** Every id ≠ 0 that appears in the record, visible or not. */
  readonly all: ReadonlySet<number>;
}

/**
 * Slice ids of a record: `all` are the ones it holds a reference to; `visible` the ones a
 * read can still reach (within `chunkLength` when given, see buildChunkView). After
 * compaction rewrites the visible bytes, every id of `all` can be released; ids in `all` but
 * not `visible` are dead weight even before.
 */
export function referencedSliceIds(entries: readonly SliceEntry[], chunkLength?: number): SliceIdRefs {
  const all = new Set<number>();
  for (const e of entries) if (e.id !== 0) all.add(e.id);
  const visible = new Set<number>();
  for (const s of buildChunkView(entries, chunkLength)) if (s.id !== 0) visible.add(s.id);
  return { visible, all };
}
