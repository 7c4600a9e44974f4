/** Chunk slice lists: reading one, and committing a written slice (one statement). */
import { sql } from 'kysely';
import { FsError } from '../errors.js';
import { nodeRow } from './lookup.js';
import { NODE_COLUMNS_N, toAttr, type NodeRow } from './rows.js';
import { CHUNK_SIZE, decodeSliceEntries, encodeSliceEntry } from './slice-list.js';
import { statement } from './tx.js';
import { NODE_TYPE_CODE, type Attr } from './types.js';
import type { MetaContext } from './context.js';
import type { ChunkRecord, SliceCommit } from './index.js';
import { MAX_FILE_LENGTH } from './attr.js';

/**
 * The slice list of a chunk. ENOENT when the inode itself is gone (deleted by another host while
 * open here): its chunk rows are gone too, and an empty list would read as zeros.
 */
export async function readChunk(ctx: MetaContext, ino: number, index: number): Promise<ChunkRecord> {
  const { rows } = await sql<{ slices: Buffer | null; version: number | null }>`
    SELECT c.slices, c.version FROM node n LEFT JOIN chunk c ON c.inode = n.inode AND c.idx = ${index}
    WHERE n.inode = ${ino}`.execute(ctx.db);
  const row = rows[0];
  if (row === undefined) throw FsError.ENOENT(`no inode ${ino}`);
  if (row.slices === null || row.version === null) return { slices: [], version: 0 };
  return { slices: decodeSliceEntries(row.slices), version: row.version };
}

/**
 * Appends the slice entry to its chunk, records the slice's reference, and grows the file
 * length and mtime, in one statement. The node row is locked first, so the length and the
 * chunk list change together for every reader.
 */
export async function commitSlice(ctx: MetaContext, commit: SliceCommit): Promise<Attr> {
  const { ino, index, entry } = commit;
  if (!Number.isInteger(index) || index < 0 || index * CHUNK_SIZE >= MAX_FILE_LENGTH) throw FsError.EFBIG(`chunk index ${index}`);
  if (commit.length > MAX_FILE_LENGTH) throw FsError.EFBIG(`length ${commit.length}`);
  const encoded = encodeSliceEntry(entry);
  const mtime = commit.mtime ?? ctx.now();
  const rows = await statement(async () => (await sql<NodeRow>`
    WITH o AS (
      SELECT inode FROM node WHERE inode = ${ino} AND type = ${NODE_TYPE_CODE.file} FOR UPDATE
    ), n AS (
      UPDATE node SET length = GREATEST(node.length, ${commit.length}::int8), mtime = ${mtime}, ctime = ${mtime}
      FROM o WHERE node.inode = o.inode
      RETURNING node.*
    ), c AS (
      INSERT INTO chunk (inode, idx, slices, version) SELECT inode, ${index}, ${encoded}, 1 FROM n
      ON CONFLICT (inode, idx) DO UPDATE SET slices = chunk.slices || EXCLUDED.slices, version = chunk.version + 1
    ), r AS (
      INSERT INTO slice_ref (id, size, refs) SELECT ${entry.id}::int8, ${entry.size}::int, 1 FROM n WHERE ${entry.id}::int8 <> 0
      ON CONFLICT (id) DO UPDATE SET refs = slice_ref.refs + 1
    )
    SELECT ${NODE_COLUMNS_N} FROM n`.execute(ctx.db)).rows, ctx);
  const row = rows[0];
  if (row === undefined) {
    const node = await nodeRow(ctx.db, ino);
    if (node === undefined) throw FsError.ENOENT(`no inode ${ino}`);
    throw FsError.EINVAL(`inode ${ino} is not a regular file`);
  }
  return toAttr(row);
}
