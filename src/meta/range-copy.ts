/**
 * copy_file_range in metadata only: the target's chunks get entries that name the source's
 * slices (one more reference each), so no block is read or written. One transaction locks
 * the source's node and chunk rows while it reads them: no compaction or deletion can release
 * a slice between reading the source's map and referencing its slices.
 */
import type { Transaction } from 'kysely';
import type { Database } from '../db/index.js';
import { FsError } from '../errors.js';
import { MAX_FILE_LENGTH } from './attr.js';
import { appendInTransaction, type ChunkAppend } from './chunks.js';
import type { MetaContext } from './context.js';
import { getattr } from './lookup.js';
import { toAttr } from './rows.js';
import { buildChunkView, CHUNK_SIZE, decodeSliceEntries } from './slice-list.js';
import { inTransaction } from './tx.js';
import { NODE_TYPE_CODE, type Attr } from './types.js';

/** Hole entries (id 0) over [off, off + len), split at chunk boundaries. */
export function zeroAppends(off: number, len: number): ChunkAppend[] {
  const out: ChunkAppend[] = [];
  for (let at = off; at < off + len;) {
    const index = Math.floor(at / CHUNK_SIZE);
    const end = Math.min(off + len, (index + 1) * CHUNK_SIZE);
    out.push({ index, entry: { pos: at - index * CHUNK_SIZE, id: 0, size: 0, off: 0, len: end - at } });
    at = end;
  }
  return out;
}

/** A visible piece of a source file: `len` bytes at file offset `fileOff` from slice `id` at `off`. */
export interface SourcePiece {
  readonly fileOff: number;
  readonly id: number;
  readonly size: number;
  readonly off: number;
  readonly len: number;
}

/**
 * The entries that make [dstOff, dstOff + len) of a file show what [srcOff, srcOff + len) of
 * the source shows: holes over the whole range first (later entries win), then every source
 * piece at its place, split where the destination crosses a chunk boundary (pure).
 */
export function copyAppends(pieces: readonly SourcePiece[], srcOff: number, dstOff: number, len: number): ChunkAppend[] {
  const out = zeroAppends(dstOff, len);
  for (const p of pieces) {
    let fileAt = dstOff + (p.fileOff - srcOff);
    let sliceAt = p.off;
    let left = p.len;
    while (left > 0) {
      const index = Math.floor(fileAt / CHUNK_SIZE);
      const n = Math.min(left, (index + 1) * CHUNK_SIZE - fileAt);
      out.push({ index, entry: { pos: fileAt - index * CHUNK_SIZE, id: p.id, size: p.size, off: sliceAt, len: n } });
      fileAt += n;
      sliceAt += n;
      left -= n;
    }
  }
  return out;
}

/** The visible slice pieces of [off, end) from the chunk lists of a file of `length` bytes (pure). */
export function piecesOf(lists: ReadonlyMap<number, Buffer>, off: number, end: number, length: number): SourcePiece[] {
  const pieces: SourcePiece[] = [];
  for (let index = Math.floor(off / CHUNK_SIZE); index * CHUNK_SIZE < end; index++) {
    const base = index * CHUNK_SIZE;
    const list = lists.get(index);
    if (list === undefined) continue;
    for (const seg of buildChunkView(decodeSliceEntries(list), Math.min(CHUNK_SIZE, length - base))) {
      const from = Math.max(off, base + seg.pos);
      const to = Math.min(end, base + seg.pos + seg.len);
      if (seg.id === 0 || to <= from) continue;
      pieces.push({ fileOff: from, id: seg.id, size: seg.size, off: seg.off + (from - base - seg.pos), len: to - from });
    }
  }
  return pieces;
}

export interface CopyResult {
  /** Bytes copied (0 at or past the source's end). */
  readonly copied: number;
  /** The target's attributes afterwards. */
  readonly attr: Attr;
}

/** Copies up to `len` bytes of `src` at `srcOff` to `dst` at `dstOff` (see the file comment). */
export async function copyRange(ctx: MetaContext, src: number, srcOff: number, dst: number, dstOff: number, len: number): Promise<CopyResult> {
  const mtime = ctx.now();
  const result = await inTransaction(ctx, async (tx) => {
    const nodes = await lockNodes(tx, src, dst);
    const source = nodes.get(src);
    const target = nodes.get(dst);
    if (source === undefined || target === undefined) throw FsError.ENOENT(`no inode ${source === undefined ? src : dst}`);
    if (source.type !== NODE_TYPE_CODE.file || target.type !== NODE_TYPE_CODE.file) throw FsError.EINVAL('copy_file_range between non-regular files');
    const n = Math.max(0, Math.min(len, source.length - srcOff));
    if (n === 0) return { copied: 0, row: undefined };
    if (dstOff + n > MAX_FILE_LENGTH) throw FsError.EFBIG(`length ${dstOff + n}`);
    if (src === dst && srcOff < dstOff + n && dstOff < srcOff + n) throw FsError.EINVAL('overlapping ranges of one file');
    const first = Math.floor(srcOff / CHUNK_SIZE);
    const last = Math.floor((srcOff + n - 1) / CHUNK_SIZE);
    const rows = await tx.selectFrom('chunk').select(['idx', 'slices'])
      .where('inode', '=', BigInt(src)).where('idx', '>=', first).where('idx', '<=', last).forShare().execute();
    const lists = new Map(rows.map((r) => [Number(r.idx), r.slices]));
    const appends = copyAppends(piecesOf(lists, srcOff, srcOff + n, source.length), srcOff, dstOff, n);
    const row = await appendInTransaction(tx, dst, appends, dstOff + n, mtime);
    return { copied: n, row };
  });
  if (result.row === undefined) return { copied: 0, attr: await getattr(ctx.db, dst) };
  return { copied: result.copied, attr: toAttr(result.row) };
}

/** Locks both nodes in ascending inode order (the source shared unless it is the target). */
async function lockNodes(tx: Transaction<Database>, src: number, dst: number): Promise<Map<number, { type: number; length: number }>> {
  const out = new Map<number, { type: number; length: number }>();
  for (const ino of [...new Set([src, dst])].sort((a, b) => a - b)) {
    const row = await tx.selectFrom('node').select(['type', 'length']).where('inode', '=', BigInt(ino))
      .$call((qb) => (ino === dst ? qb.forUpdate() : qb.forShare())).executeTakeFirst();
    if (row !== undefined) out.set(ino, { type: Number(row.type), length: Number(row.length) });
  }
  return out;
}
