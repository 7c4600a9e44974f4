/** Chunk slice lists: reading one, committing a written slice (one statement), appending shared or zero entries (one transaction). */
import { sql, type Nullable, type Selectable, type Transaction } from 'kysely';
import type { ChunkTable, Database } from '../db/index.js';
import { FsError } from '../errors.js';
import { nodeRow } from './lookup.js';
import { NODE_COLUMN_NAMES, NODE_COLUMNS_N, toAttr, type NodeRow } from './rows.js';
import { addSliceRefs } from './slice-release.js';
import { CHUNK_SIZE, decodeSliceEntries, encodeSliceEntry, type SliceEntry } from './slice-list.js';
import { inTransaction, statement } from './tx.js';
import { NODE_TYPE_CODE, type Attr } from './types.js';
import type { MetaContext } from './context.js';
import type { ChunkRecord, SliceCommit } from './types.js';
import { MAX_FILE_LENGTH } from './attr.js';

/** The node columns qualified with the table's own name (an UPDATE ... FROM names two). */
const NODE_COLUMNS_NODE = sql.raw(NODE_COLUMN_NAMES.map((c) => `node.${c}`).join(', '));

/**
 * The slice list of a chunk, with the file's length read in the same statement (one snapshot).
 * ENOENT when the inode itself is gone (deleted by another host while open here): its chunk
 * rows are gone too, and an empty list would read as zeros.
 */
export async function readChunk(ctx: MetaContext, ino: number, index: number): Promise<ChunkRecord> {
  const { rows } = await sql<Nullable<Pick<Selectable<ChunkTable>, 'slices' | 'version'>> & Pick<NodeRow, 'length'>>`
    SELECT c.slices, c.version, n.length FROM node n LEFT JOIN chunk c ON c.inode = n.inode AND c.idx = ${index}
    WHERE n.inode = ${ino}`.execute(ctx.db);
  const row = rows[0];
  if (row === undefined) throw FsError.ENOENT(`no inode ${ino}`);
  return chunkRecord(row.slices, row.version, Number(row.length));
}

/** A chunk row's list as read (null: never written, an empty list) with the length of its snapshot. */
function chunkRecord(slices: Buffer | null, version: number | null, length: number): ChunkRecord {
  if (slices === null || version === null) return { slices: [], version: 0, length };
  return { slices: decodeSliceEntries(slices), version, length };
}

/**
 * What an open of a regular file needs, in one statement: the attributes and the slice list
 * of the first chunk (a small file's whole map), so that the first read needs no query of its
 * own. The chunk's record carries the length read with it, as readChunk's does.
 */
export async function openRecord(ctx: MetaContext, ino: number): Promise<{ attr: Attr; firstChunk: ChunkRecord }> {
  const { rows } = await sql<NodeRow & Nullable<Pick<Selectable<ChunkTable>, 'slices' | 'version'>>>`
    SELECT ${NODE_COLUMNS_N}, c.slices, c.version FROM node n LEFT JOIN chunk c ON c.inode = n.inode AND c.idx = 0
    WHERE n.inode = ${ino}`.execute(ctx.db);
  const row = rows[0];
  if (row === undefined) throw FsError.ENOENT(`no inode ${ino}`);
  const { slices, version, ...node } = row;
  const attr = toAttr(node);
  return { attr, firstChunk: chunkRecord(slices, version, attr.length) };
}

/**
 * The first chunk's record of each of `inos` that is still a regular file, in one statement
 * (prefetching a listed directory's small files, decision 92). Absent inodes are left out.
 */
export async function firstChunks(ctx: MetaContext, inos: readonly number[]): Promise<Map<number, ChunkRecord>> {
  const records = new Map<number, ChunkRecord>();
  if (inos.length === 0) return records;
  const { rows } = await sql<Pick<NodeRow, 'inode' | 'length'> & Nullable<Pick<Selectable<ChunkTable>, 'slices' | 'version'>>>`
    SELECT n.inode, n.length, c.slices, c.version FROM node n LEFT JOIN chunk c ON c.inode = n.inode AND c.idx = 0
    WHERE n.inode = ANY(${[...inos]}::int8[]) AND n.type = ${NODE_TYPE_CODE.file}`.execute(ctx.db);
  for (const row of rows) records.set(Number(row.inode), chunkRecord(row.slices, row.version, Number(row.length)));
  return records;
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
      RETURNING ${NODE_COLUMNS_NODE}
    ), c AS (
      INSERT INTO chunk (inode, idx, slices, version) SELECT inode, ${index}, ${encoded}, 1 FROM n
      ON CONFLICT (inode, idx) DO UPDATE SET slices = chunk.slices || EXCLUDED.slices, version = chunk.version + 1
    ), r AS (
      INSERT INTO slice_ref (id, size, refs) SELECT ${entry.id}::int8, ${entry.size}::int, 1 FROM n WHERE ${entry.id}::int8 <> 0
      ON CONFLICT (id) DO UPDATE SET refs = slice_ref.refs + 1
    )${commit.staged === true ? sql`, s AS (${stagedRow(ctx, entry.id, entry.size, ino)} FROM n)` : sql``}
    SELECT ${NODE_COLUMNS_N} FROM n`.execute(ctx.db)).rows, ctx);
  const row = rows[0];
  if (row === undefined) {
    const node = await nodeRow(ctx.db, ino);
    if (node === undefined) throw FsError.ENOENT(`no inode ${ino}`);
    throw FsError.EINVAL(`inode ${ino} is not a regular file`);
  }
  return toAttr(row);
}

/**
 * The staged_slice row of a slice committed by a write-back mount (staged.ts), as the start of
 * an INSERT ... SELECT: the caller adds the FROM (or nothing). Needs this client's session.
 */
function stagedRow(ctx: MetaContext, id: number, size: number, ino: number) {
  if (ctx.sid === undefined) throw new Error('a staged slice needs a registered session (write-back is for mounts)');
  return sql`INSERT INTO staged_slice (id, size, sid, inode, staged_at) SELECT ${id}::int8, ${size}::int, ${ctx.sid}::int8, ${ino}::int8, ${Date.now()}::int8`;
}

/** An entry to append to chunk `index` of a file (see appendSlices). */
export interface ChunkAppend {
  readonly index: number;
  readonly entry: SliceEntry;
}

/**
 * Appends entries to several chunks of one file, adds one reference per entry to each slice
 * they name, and grows the file to at least `length`, in one transaction: fallocate's zero
 * entries (id 0) change the file all at once or not at all.
 */
export async function appendSlices(ctx: MetaContext, ino: number, appends: readonly ChunkAppend[], length: number): Promise<Attr> {
  const mtime = ctx.now();
  const row = await inTransaction(ctx, async (tx) => {
    const old = await tx.selectFrom('node').select('type').where('inode', '=', BigInt(ino)).forUpdate().executeTakeFirst();
    if (old === undefined) throw FsError.ENOENT(`no inode ${ino}`);
    if (Number(old.type) !== NODE_TYPE_CODE.file) throw FsError.EINVAL(`inode ${ino} is not a regular file`);
    return appendInTransaction(tx, ino, appends, length, mtime);
  });
  return toAttr(row);
}

/** Where an O_APPEND slice went: the file offset the database gave it, and the file after. */
export interface AppendPlacement {
  readonly at: number;
  readonly attr: Attr;
}

/**
 * Commits an O_APPEND slice at the end of the file as the database has it now (decision 67):
 * the node row is locked, its length read, and the slice placed there (split at chunk
 * boundaries, each piece naming the same slice), in one transaction. A slice's blocks do not
 * depend on where it sits in the file, so two hosts appending at once both land whole, one after
 * the other, whatever each believed the length to be when it wrote.
 */
export async function commitAppend(ctx: MetaContext, ino: number, id: number, size: number, mtime: bigint, staged = false): Promise<AppendPlacement> {
  return inTransaction(ctx, async (tx) => {
    const old = await tx.selectFrom('node').select(['type', 'length']).where('inode', '=', BigInt(ino)).forUpdate().executeTakeFirst();
    if (old === undefined) throw FsError.ENOENT(`no inode ${ino}`);
    if (Number(old.type) !== NODE_TYPE_CODE.file) throw FsError.EINVAL(`inode ${ino} is not a regular file`);
    const at = Number(old.length);
    const row = await appendInTransaction(tx, ino, slicePlacement(at, id, size), at + size, mtime);
    if (staged) await sql`${stagedRow(ctx, id, size, ino)}`.execute(tx);
    return { at, attr: toAttr(row) };
  });
}

/** The chunk entries that put the whole of slice `id` (`size` bytes) at file offset `at`. */
export function slicePlacement(at: number, id: number, size: number): ChunkAppend[] {
  const out: ChunkAppend[] = [];
  for (let done = 0; done < size;) {
    const index = Math.floor((at + done) / CHUNK_SIZE);
    const pos = at + done - index * CHUNK_SIZE;
    const len = Math.min(size - done, CHUNK_SIZE - pos);
    out.push({ index, entry: { pos, id, size, off: done, len } });
    done += len;
  }
  return out;
}

/**
 * appendSlices' writes inside a caller's transaction, which holds the node row locked: chunk
 * lists in ascending index order, then slice references in ascending id order (a fixed lock
 * order), then the length and times.
 */
export async function appendInTransaction(tx: Transaction<Database>, ino: number, appends: readonly ChunkAppend[], length: number, mtime: bigint): Promise<NodeRow> {
  if (length > MAX_FILE_LENGTH) throw FsError.EFBIG(`length ${length}`);
  const byChunk = new Map<number, Buffer[]>();
  const refs = new Map<number, { size: number; n: number }>();
  for (const { index, entry } of appends) {
    if (!Number.isInteger(index) || index < 0 || index * CHUNK_SIZE >= MAX_FILE_LENGTH) throw FsError.EFBIG(`chunk index ${index}`);
    byChunk.set(index, [...(byChunk.get(index) ?? []), encodeSliceEntry(entry)]);
    if (entry.id !== 0) refs.set(entry.id, { size: entry.size, n: (refs.get(entry.id)?.n ?? 0) + 1 });
  }
  for (const [index, entries] of [...byChunk].sort((a, b) => a[0] - b[0])) {
    await tx.insertInto('chunk').values({ inode: ino, idx: index, slices: Buffer.concat(entries), version: 1 })
      .onConflict((oc) => oc.columns(['inode', 'idx']).doUpdateSet((eb) => ({
        slices: eb('chunk.slices', '||', eb.ref('excluded.slices')),
        version: eb('chunk.version', '+', 1),
      })))
      .execute();
  }
  for (const [id, { size, n }] of [...refs].sort((a, b) => a[0] - b[0])) await addSliceRefs(tx, id, size, n);
  return tx.updateTable('node')
    .set((eb) => ({ length: eb.fn<bigint>('greatest', ['length', eb.val(BigInt(length))]), mtime, ctime: mtime }))
    .where('inode', '=', BigInt(ino))
    .returning(NODE_COLUMN_NAMES)
    .executeTakeFirstOrThrow();
}
