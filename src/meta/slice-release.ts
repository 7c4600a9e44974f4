/**
 * The metadata side of compaction and deferred deletion.
 *
 * Slices are reference-counted by the chunk entries that name them (slice_ref). Compaction
 * swaps a chunk's list and releases the old slices; truncate and inode deletion move whole
 * lists to dropped_chunk, which `releaseDroppedChunks` turns into reference decrements.
 * A slice whose count reaches zero goes to pending_slice with the time it was released;
 * its objects may be deleted once the safety delay has passed (other hosts may still be
 * reading it through a chunk map they loaded before the release).
 */
import { sql, type Selectable } from 'kysely';
import type { SliceRefTable } from '../db/index.js';
import { decodeSliceEntries, encodeSliceEntries, type SliceEntry } from './slice-list.js';
import { anyOf } from './rows.js';
import { inTransaction } from './tx.js';
import type { Db, MetaContext } from './context.js';

/** A slice whose objects can be deleted. */
export interface ReleasedSlice {
  readonly id: number;
  readonly size: number;
}

/**
 * Adds `n` references to slice `id` (of `size` bytes), creating its row at the first: what
 * every new entry naming the slice (a write, a copy, a compaction) must do.
 */
export async function addSliceRefs(db: Db, id: number, size: number, n: number): Promise<void> {
  await db.insertInto('slice_ref').values({ id, size, refs: n })
    .onConflict((oc) => oc.column('id').doUpdateSet((eb) => ({ refs: eb('slice_ref.refs', '+', n) })))
    .execute();
}

/** How many entries name each slice id in `lists` (hole entries excluded). */
function countIds(lists: readonly (readonly SliceEntry[])[]): Map<number, number> {
  const counts = new Map<number, number>();
  for (const list of lists) for (const e of list) if (e.id !== 0) counts.set(e.id, (counts.get(e.id) ?? 0) + 1);
  return counts;
}

/** Drops `counts` references; slices left with none move to pending_slice. */
async function dropRefs(ctx: MetaContext, db: Db, counts: Map<number, number>): Promise<number> {
  if (counts.size === 0) return 0;
  const ids = [...counts.keys()];
  const by = ids.map((id) => counts.get(id) as number);
  // Sub-statements of one WITH cannot see each other's changes to a row, so the rows that
  // keep references and the rows that lose their last one are handled as disjoint sets.
  const { rows } = await sql<Pick<Selectable<SliceRefTable>, 'id'>>`
    WITH x AS (SELECT * FROM unnest(${ids}::int8[], ${by}::int[]) AS x(id, n)),
    kept AS (
      UPDATE slice_ref r SET refs = r.refs - x.n FROM x WHERE r.id = x.id AND r.refs > x.n
    ), gone AS (
      DELETE FROM slice_ref r USING x WHERE r.id = x.id AND r.refs <= x.n RETURNING r.id, r.size
    )
    INSERT INTO pending_slice (id, size, released_at) SELECT id, size, ${ctx.now()} FROM gone
    ON CONFLICT (id) DO NOTHING
    RETURNING id`.execute(db);
  return rows.length;
}

/**
 * Replaces chunk (ino, index)'s list by `replacement` if its version is still `expectVersion`
 * (nothing was written or truncated meanwhile), bumps the version and releases the old
 * slices. Returns false, changing nothing, when the chunk moved on.
 */
export function swapChunk(ctx: MetaContext, ino: number, index: number, expectVersion: number, replacement: readonly SliceEntry[]): Promise<boolean> {
  return inTransaction(ctx, async (tx) => {
    const row = await tx.selectFrom('chunk').select(['slices', 'version'])
      .where('inode', '=', BigInt(ino)).where('idx', '=', index).forUpdate().executeTakeFirst();
    if (row === undefined || row.version !== expectVersion) return false;
    await tx.updateTable('chunk')
      .set((eb) => ({ slices: encodeSliceEntries(replacement), version: eb('version', '+', 1) }))
      .where('inode', '=', BigInt(ino)).where('idx', '=', index).execute();
    for (const e of replacement) if (e.id !== 0) await addSliceRefs(tx, e.id, e.size, 1);
    await dropRefs(ctx, tx, countIds([decodeSliceEntries(row.slices)]));
    return true;
  });
}

/**
 * Turns up to `limit` dropped chunk lists into reference decrements. Rows are claimed with
 * SKIP LOCKED, so several clients can run this at once without doing the same work twice.
 * Returns the number of lists processed.
 */
export function releaseDroppedChunks(ctx: MetaContext, limit = 100): Promise<number> {
  return inTransaction(ctx, async (tx) => {
    const rows = await tx.deleteFrom('dropped_chunk')
      .where('seq', 'in', (eb) => eb.selectFrom('dropped_chunk').select('seq').orderBy('seq').limit(limit).forUpdate().skipLocked())
      .returning('slices').execute();
    await dropRefs(ctx, tx, countIds(rows.map((r) => decodeSliceEntries(r.slices))));
    return rows.length;
  });
}

/** Slices released before `releasedBefore` (ns): their objects may be deleted now. */
export async function pendingSlices(ctx: MetaContext, releasedBefore: bigint, limit = 1000): Promise<ReleasedSlice[]> {
  const rows = await ctx.db.selectFrom('pending_slice').select(['id', 'size'])
    .where('released_at', '<', releasedBefore).orderBy('id').limit(limit).execute();
  return rows.map((r) => ({ id: Number(r.id), size: r.size }));
}

/** Forgets pending slices whose objects have been deleted. */
export async function forgetPendingSlices(ctx: MetaContext, ids: readonly number[]): Promise<void> {
  if (ids.length === 0) return;
  await ctx.db.deleteFrom('pending_slice').where('id', '=', anyOf(ids)).execute();
}

/** Work waiting for the deferred-deletion job (for `objectfs status`). */
export interface DeletionBacklog {
  /** Chunk lists cut off by truncate or deleted inodes, not yet released. */
  readonly droppedLists: number;
  /** Released slices whose objects are not deleted yet (the safety delay included). */
  readonly pendingSlices: number;
  /** Their bytes (uncompressed slice sizes). */
  readonly pendingBytes: number;
}

export async function deletionBacklog(ctx: MetaContext): Promise<DeletionBacklog> {
  const { rows } = await sql<{ lists: bigint; slices: bigint; bytes: bigint }>`
    SELECT (SELECT count(*) FROM dropped_chunk) AS lists,
           count(*) AS slices, coalesce(sum(size), 0)::int8 AS bytes FROM pending_slice`.execute(ctx.db);
  const r = rows[0];
  return { droppedLists: Number(r?.lists ?? 0), pendingSlices: Number(r?.slices ?? 0), pendingBytes: Number(r?.bytes ?? 0) };
}
