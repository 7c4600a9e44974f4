/**
 * setattr: mode, owner, times and length. Without a length change it is one UPDATE; a length
 * change is a transaction that also cuts the chunk lists so that no old byte beyond the new
 * end can reappear when the file grows again.
 */
import { sql } from 'kysely';
import { FsError } from '../errors.js';
import { lockNodes } from './lookup.js';
import { NODE_COLUMN_NAMES, toAttr, type NodeRow } from './rows.js';
import { CHUNK_SIZE, encodeSliceEntry } from './slice-list.js';
import { inTransaction, statement } from './tx.js';
import { NODE_TYPE_CODE, type Attr, type AttrChanges } from './types.js';
import type { Db, MetaContext } from './context.js';

/** Largest file length: 2^53 - 1 would do for JS, but keep chunk indexes well inside int4. */
export const MAX_FILE_LENGTH = 2 ** 50;

function timeOf(ctx: MetaContext, t: bigint | 'now' | undefined, now: bigint): bigint | null {
  if (t === undefined) return null;
  return t === 'now' ? now : t;
}

async function updateAttrs(ctx: MetaContext, db: Db, ino: number, changes: AttrChanges, extra: { length?: number } = {}): Promise<NodeRow | undefined> {
  const now = ctx.now();
  const atime = timeOf(ctx, changes.atime, now);
  const mtime = extra.length !== undefined && changes.mtime === undefined ? now : timeOf(ctx, changes.mtime, now);
  return db.updateTable('node')
    .set({
      ...(changes.mode === undefined ? {} : { mode: changes.mode & 0o7777 }),
      ...(changes.uid === undefined ? {} : { uid: changes.uid }),
      ...(changes.gid === undefined ? {} : { gid: changes.gid }),
      ...(atime === null ? {} : { atime }),
      ...(mtime === null ? {} : { mtime }),
      ctime: changes.ctime ?? now,
      ...(extra.length === undefined ? {} : { length: extra.length }),
    })
    .where('inode', '=', BigInt(ino))
    .returning(NODE_COLUMN_NAMES)
    .executeTakeFirst();
}

export async function setattr(ctx: MetaContext, ino: number, changes: AttrChanges): Promise<Attr> {
  if (changes.length === undefined) {
    const row = await statement(() => updateAttrs(ctx, ctx.db, ino, changes), ctx);
    if (row === undefined) throw FsError.ENOENT(`no inode ${ino}`);
    return toAttr(row);
  }
  const length = changes.length;
  if (!Number.isSafeInteger(length) || length < 0) throw FsError.EINVAL(`invalid length ${length}`);
  if (length > MAX_FILE_LENGTH) throw FsError.EFBIG(`length ${length} exceeds ${MAX_FILE_LENGTH}`);
  return inTransaction(ctx, async (tx) => {
    const row = (await lockNodes(tx, [ino])).get(ino);
    if (row === undefined) throw FsError.ENOENT(`no inode ${ino}`);
    if (row.type === NODE_TYPE_CODE.directory) throw FsError.EISDIR(`inode ${ino} is a directory`);
    if (row.type !== NODE_TYPE_CODE.file) throw FsError.EINVAL(`inode ${ino} is not a regular file`);
    const old = Number(row.length);
    if (length < old) await cutChunks(ctx, tx, ino, length, old);
    const updated = await updateAttrs(ctx, tx, ino, changes, { length });
    return toAttr(updated as NodeRow);
  });
}

/**
 * Shrinking from `old` to `length`: whole chunks past the end go to deferred deletion; the
 * chunk holding the new end gets a zero entry over [length, old) so a later extension reads
 * zeros there.
 */
async function cutChunks(ctx: MetaContext, tx: Db, ino: number, length: number, old: number): Promise<void> {
  const keep = Math.ceil(length / CHUNK_SIZE); // chunks [0, keep) survive
  await sql`
    WITH d AS (DELETE FROM chunk WHERE inode = ${ino} AND idx >= ${keep} RETURNING inode, slices)
    INSERT INTO dropped_chunk (inode, slices, dropped_at) SELECT inode, slices, ${ctx.now()} FROM d`.execute(tx);
  const pos = length % CHUNK_SIZE;
  if (pos === 0) return;
  const idx = keep - 1;
  const end = Math.min(old - idx * CHUNK_SIZE, CHUNK_SIZE);
  const zero = encodeSliceEntry({ pos, id: 0, size: 0, off: 0, len: end - pos });
  await tx.updateTable('chunk')
    .set((eb) => ({ slices: eb('slices', '||', zero), version: eb('version', '+', 1) }))
    .where('inode', '=', BigInt(ino)).where('idx', '=', idx)
    .execute();
}
