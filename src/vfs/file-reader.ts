/**
 * Reading a byte range of a file: chunk maps → visible segments (newest wins, holes are
 * zeros, the length cuts) → slice reads from the chunk store, in parallel.
 */
import { ERRNO_CODES, errnoName, FsError, toErrno, type ErrnoCode } from '../errors.js';
import { buildChunkView, CHUNK_SIZE, type ChunkRecord } from '../meta/index.js';
import type { ChunkStore } from '../chunk/index.js';

/** One piece of a file range that comes from a slice. */
export interface SlicePiece {
  /** Offset of the piece in the file. */
  readonly fileOff: number;
  readonly id: number;
  readonly size: number;
  /** Offset inside the slice. */
  readonly off: number;
  readonly len: number;
}

/** The slice pieces of a file range, and where the range really ends. */
export interface MappedRange {
  readonly pieces: SlicePiece[];
  /**
   * The end of the range as the chunk maps know it: cut at the file length each map was read
   * with, so that bytes a truncate left as a zero entry (and a later write on another host
   * refilled) are never shown under a length read at another time.
   */
  readonly end: number;
}

/**
 * The slice pieces that make up [off, end) of a file of `length` bytes. Bytes not covered by
 * any piece (below the returned end) are zeros. `chunkMap` returns a chunk's record (cached by
 * the caller).
 */
export async function mapRange(off: number, end: number, length: number, chunkMap: (index: number) => Promise<ChunkRecord>): Promise<MappedRange> {
  end = Math.min(end, length);
  if (end <= off) return { pieces: [], end: off };
  const first = Math.floor(off / CHUNK_SIZE);
  const last = Math.floor((end - 1) / CHUNK_SIZE);
  const records = await Promise.all(Array.from({ length: last - first + 1 }, (_, i) => chunkMap(first + i)));
  for (const record of records) length = Math.min(length, record.length);
  end = Math.max(off, Math.min(end, length));
  const pieces: SlicePiece[] = [];
  records.forEach((record, i) => {
    const index = first + i;
    const base = index * CHUNK_SIZE;
    const chunkLength = Math.min(CHUNK_SIZE, length - base);
    if (chunkLength <= 0) return;
    for (const seg of buildChunkView(record.slices, chunkLength)) {
      if (seg.id === 0) continue;
      const from = Math.max(off, base + seg.pos);
      const to = Math.min(end, base + seg.pos + seg.len);
      if (to <= from) continue;
      pieces.push({ fileOff: from, id: seg.id, size: seg.size, off: seg.off + (from - base - seg.pos), len: to - from });
    }
  });
  return { pieces, end };
}

/**
 * Reads [off, end) of a file (holes are zeros). Read-only: a range that one slice piece covers
 * is returned as readSlice gave it, a view of a cached block. `partial`: a random read (see
 * ReadSliceOptions).
 */
export async function readRange(chunks: ChunkStore, off: number, end: number, pieces: readonly SlicePiece[], partial = false): Promise<Buffer> {
  const options = { partial };
  const only = pieces.length === 1 ? pieces[0] : undefined;
  if (only !== undefined && only.fileOff === off && only.len === end - off) return chunks.readSlice(only.id, only.size, only.off, only.len, options);
  const out = Buffer.alloc(Math.max(0, end - off));
  await Promise.all(pieces.map(async (p) => {
    const data = await chunks.readSlice(p.id, p.size, p.off, p.len, options);
    data.copy(out, p.fileOff - off);
  }));
  return out;
}

/**
 * A failed read keeps its errno where its cause has one (ESTALE, EINTR of an abort, ETIMEDOUT,
 * a missing block's or an unreachable store's EIO …), as an FsError of that code with the cause
 * kept; anything else becomes EIO. The message names the position either way.
 */
export function readError(err: unknown, ino: number, off: number): unknown {
  if (err instanceof FsError) return err;
  let known = true;
  const code = errnoName(toErrno(err, () => { known = false; }));
  const message = `reading inode ${ino} at ${off}: ${(err as Error).message}`;
  if (!known) return FsError.EIO(message, err);
  return (ERRNO_CODES as readonly string[]).includes(code) ? FsError.of(code as ErrnoCode, message, err) : err;
}
