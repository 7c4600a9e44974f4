/**
 * fsck's repairs. Each is one transaction that locks the rows it changes and re-counts under
 * those locks, so it is right even if the volume changed since the scan: writers of the same
 * rows (link, unlink, mkdir, commitSlice, the deleter) wait for it, and it sees whatever they
 * committed before.
 */
import { sql } from 'kysely';
import { FsError } from '../errors.js';
import { mkdir } from './create.js';
import { lookup } from './lookup.js';
import { insertEdge, touchDirectory } from './node-writes.js';
import { anyOf } from './rows.js';
import { decodedEntries } from './slice-sql.js';
import { inTransaction } from './tx.js';
import { NODE_TYPE_CODE, ROOT_INO } from './types.js';
import type { MetaContext } from './context.js';
import type { RepairResult } from './maintenance.js';

const DIR = NODE_TYPE_CODE.directory;
/** Name of the directory under the root that orphaned inodes are moved to. */
export const LOST_FOUND = 'lost+found';

/** The link count of a node as its edges imply: 2 + subdirectories for a directory, edges otherwise. */
async function impliedLinks(db: Parameters<typeof lookup>[0], ino: number, typeCode: number): Promise<{ links: number; edges: number }> {
  const { rows } = await sql<{ edges: number; subdirs: number }>`
    SELECT (SELECT count(*)::int FROM edge WHERE inode = ${ino}) AS edges,
           (SELECT count(*)::int FROM edge WHERE parent = ${ino} AND type = ${DIR}) AS subdirs`.execute(db);
  const r = rows[0] ?? { edges: 0, subdirs: 0 };
  return { links: typeCode === DIR ? 2 + r.subdirs : r.edges, edges: r.edges };
}

export function repairLinkCount(ctx: MetaContext, ino: number): Promise<RepairResult> {
  return inTransaction(ctx, async (tx) => {
    const row = await tx.selectFrom('node').select(['type', 'nlink']).where('inode', '=', BigInt(ino)).forUpdate().executeTakeFirst();
    if (row === undefined) return { changed: false, detail: `inode ${ino} is gone` };
    const { links } = await impliedLinks(tx, ino, row.type);
    // A file with no edge is an orphan (lost+found) or kept open after its last unlink: not a count to fix.
    if (row.type !== DIR && links === 0) return { changed: false, detail: `inode ${ino} has no edge` };
    if (links === row.nlink) return { changed: false, detail: `inode ${ino} link count ${links} already right` };
    await tx.updateTable('node').set({ nlink: links, ctime: ctx.now() }).where('inode', '=', BigInt(ino)).execute();
    return { changed: true, detail: `inode ${ino}: link count ${row.nlink} → ${links}` };
  });
}

/** The /lost+found directory, created (0700, root's) if missing. */
export async function lostFound(ctx: MetaContext): Promise<number> {
  const name = Buffer.from(LOST_FOUND);
  try {
    return (await mkdir(ctx, { uid: 0, gid: 0 }, ROOT_INO, name, 0o700)).ino;
  } catch (err) {
    if (!(err instanceof FsError) || err.code !== 'EEXIST') throw err;
  }
  const attr = await lookup(ctx.db, ROOT_INO, name);
  if (attr.type !== 'directory') throw FsError.ENOTDIR(`/${LOST_FOUND} exists and is not a directory`);
  return attr.ino;
}

export async function moveToLostFound(ctx: MetaContext, ino: number): Promise<RepairResult> {
  const dir = await lostFound(ctx);
  return inTransaction(ctx, async (tx) => {
    const rows = await tx.selectFrom('node').select(['inode', 'type']).where('inode', '=', anyOf([dir, ino])).orderBy('inode').forUpdate().execute();
    const node = rows.find((r) => Number(r.inode) === ino);
    if (node === undefined) return { changed: false, detail: `inode ${ino} is gone` };
    const { rows: held } = await sql<{ edges: number; kept: boolean }>`
      SELECT (SELECT count(*)::int FROM edge WHERE inode = ${ino}) AS edges,
             EXISTS (SELECT 1 FROM sustained WHERE inode = ${ino}) AS kept`.execute(tx);
    if ((held[0]?.edges ?? 0) > 0 || held[0]?.kept === true) return { changed: false, detail: `inode ${ino} is no longer orphaned` };
    let name = Buffer.from(`#${ino}`);
    const taken = await tx.selectFrom('edge').select('inode').where('parent', '=', BigInt(dir)).where('name', '=', name).executeTakeFirst();
    if (taken !== undefined) name = Buffer.from(`#${ino}.${Date.now()}`);
    const now = ctx.now();
    await insertEdge(tx, dir, name, ino, node.type);
    const { links } = await impliedLinks(tx, ino, node.type);
    await tx.updateTable('node').set({ nlink: links, parent: dir, ctime: now }).where('inode', '=', BigInt(ino)).execute();
    await touchDirectory(tx, dir, now, node.type === DIR ? 1 : 0);
    return { changed: true, detail: `inode ${ino} moved to /${LOST_FOUND}/${name.toString()}` };
  });
}

export function repairUsage(ctx: MetaContext): Promise<RepairResult> {
  return inTransaction(ctx, async (tx) => {
    // Folds (counters.ts) take these locks too: once we hold them none is half done, and the
    // next statement's snapshot sees every fold that finished.
    await tx.selectFrom('counter').select('name').where('name', 'in', ['used_space', 'used_inodes']).forUpdate().execute();
    // One snapshot for the nodes and the journal: the counters become the nodes' sums minus
    // the journal rows not folded yet (changes committed later journal themselves).
    const { rows } = await sql<{ name: string; before: bigint; after: bigint }>`
      WITH computed AS (
        SELECT (SELECT coalesce(sum((length + 4095) / 4096 * 4096), 0)::int8 FROM node) AS space, (SELECT count(*) FROM node) AS inodes
      ), journal AS (
        SELECT coalesce(sum(space), 0)::int8 AS space, coalesce(sum(inodes), 0)::int8 AS inodes FROM usage_delta
      ), old AS (SELECT name, value FROM counter WHERE name IN ('used_space', 'used_inodes'))
      UPDATE counter c SET value = CASE c.name WHEN 'used_space' THEN computed.space - journal.space ELSE computed.inodes - journal.inodes END
      FROM computed, journal, old WHERE c.name = old.name
      RETURNING c.name, old.value + CASE c.name WHEN 'used_space' THEN journal.space ELSE journal.inodes END AS before,
                CASE c.name WHEN 'used_space' THEN computed.space ELSE computed.inodes END AS after`.execute(tx);
    const changes = rows.filter((r) => r.before !== r.after).map((r) => `${r.name} ${r.before} → ${r.after}`);
    return { changed: changes.length > 0, detail: changes.length > 0 ? `usage counters: ${changes.join(', ')}` : 'usage counters already right' };
  });
}

export function repairSliceRefs(ctx: MetaContext, slices: readonly { readonly id: number; readonly size: number }[]): Promise<Map<number, RepairResult>> {
  if (slices.length === 0) return Promise.resolve(new Map());
  const ids = slices.map((s) => s.id);
  return inTransaction(ctx, async (tx) => {
    // A row for every slice, so each can be locked; writers that add or drop references
    // (commitSlice, swapChunk, releaseDroppedChunks) update these rows and so wait for us.
    await tx.insertInto('slice_ref').values(slices.map((s) => ({ id: s.id, size: s.size, refs: 0 }))).onConflict((oc) => oc.column('id').doNothing()).execute();
    const locked = await tx.selectFrom('slice_ref').select(['id', 'size', 'refs']).where('id', '=', anyOf(ids)).orderBy('id').forUpdate().execute();
    const { rows: counted } = await sql<{ id: bigint; n: number }>`
      SELECT x.id, count(*)::int AS n FROM (
        SELECT e.id FROM chunk c ${decodedEntries('c')} WHERE e.id = ANY(${ids}::int8[])
        UNION ALL SELECT e.id FROM dropped_chunk d ${decodedEntries('d')} WHERE e.id = ANY(${ids}::int8[])
      ) x GROUP BY x.id`.execute(tx);
    const actual = new Map(counted.map((r) => [Number(r.id), r.n]));
    const results = new Map<number, RepairResult>();
    const now = ctx.now();
    for (const row of locked) {
      const id = Number(row.id);
      const n = actual.get(id) ?? 0;
      if (n === 0) {
        await tx.deleteFrom('slice_ref').where('id', '=', BigInt(id)).execute();
        await tx.insertInto('pending_slice').values({ id, size: row.size, released_at: now }).onConflict((oc) => oc.column('id').doNothing()).execute();
        results.set(id, { changed: true, detail: `slice ${id}: no entry names it; released for deletion` });
        continue;
      }
      const unpended = await tx.deleteFrom('pending_slice').where('id', '=', BigInt(id)).executeTakeFirst();
      if (n !== row.refs) await tx.updateTable('slice_ref').set({ refs: n }).where('id', '=', BigInt(id)).execute();
      const what = [n !== row.refs ? `references ${row.refs} → ${n}` : '', unpended.numDeletedRows > 0n ? 'taken out of pending deletion' : ''].filter(Boolean);
      results.set(id, { changed: what.length > 0, detail: `slice ${id}: ${what.join(', ') || 'already right'}` });
    }
    return results;
  });
}

export async function namedSliceIds(ctx: MetaContext, ids: readonly number[]): Promise<Set<number>> {
  if (ids.length === 0) return new Set();
  const rows = await ctx.db.selectFrom('slice_ref').select('id').where('id', '=', anyOf(ids))
    .union(ctx.db.selectFrom('pending_slice').select('id').where('id', '=', anyOf(ids)))
    .execute();
  return new Set(rows.map((r) => Number(r.id)));
}
