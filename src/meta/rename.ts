/**
 * Atomic rename, including replace, RENAME_NOREPLACE and RENAME_EXCHANGE.
 *
 * Protocol (one transaction, READ COMMITTED):
 *  1. read both edges (no locks) and check the cases that need no locks;
 *  2. a directory moving to another parent first takes a volume-wide advisory lock, as the
 *     Linux VFS takes s_vfs_rename_mutex: two such renames checked in parallel could each
 *     pass the loop check and together make a cycle;
 *  3. lock both parents and both inodes in ascending inode order;
 *  4. re-read both edges: if either changed since step 1, rerun the transaction;
 *  5. loop and emptiness checks on fresh data, then the updates.
 */
import { sql } from 'kysely';
import { FsError } from '../errors.js';
import { lockNodes, missingNameError } from './lookup.js';
import { deleteEdge, lastLinkGone } from './remove.js';
import { hasEntries, insertEdge, repointEdge, touchDirectory } from './node-writes.js';
import { anyOf, checkName, isDot, isDotDot, RaceDetected, showName, type NodeRow } from './rows.js';
import { inTransaction } from './tx.js';
import { NODE_TYPE_CODE, RENAME_EXCHANGE, RENAME_NOREPLACE, ROOT_INO, type RenameResult } from './types.js';
import type { Db, MetaContext } from './context.js';

const DIR = NODE_TYPE_CODE.directory;
/** Advisory lock key serialising cross-directory moves of directories ("OBJFSREN"). */
const RENAME_LOCK_KEY = 0x4f424a4653_52454en;

interface Edge { readonly ino: number; readonly type: number }

async function readEdges(db: Db, sp: number, sn: Buffer, dp: number, dn: Buffer): Promise<{ src?: Edge; dst?: Edge }> {
  // One round trip for both names.
  const edge = (which: 's' | 'd', parent: number, name: Buffer) => db.selectFrom('edge')
    .select([sql.lit(which).as('which'), 'inode', 'type'])
    .where('parent', '=', BigInt(parent)).where('name', '=', name);
  const rows = await edge('s', sp, sn).unionAll(edge('d', dp, dn)).execute();
  const out: { src?: Edge; dst?: Edge } = {};
  for (const r of rows) {
    const e = { ino: Number(r.inode), type: r.type };
    if (r.which === 's') out.src = e; else out.dst = e;
  }
  return out;
}

function sameEdge(a: Edge | undefined, b: Edge | undefined): boolean {
  return a?.ino === b?.ino && a?.type === b?.type;
}

/** Is `ancestor` the directory `dir` itself or one of its ancestors? Walks parent links in one query. */
async function isAncestor(db: Db, ancestor: number, dir: number): Promise<boolean> {
  const { rows } = await sql`
    WITH RECURSIVE up(inode, depth) AS (
      SELECT ${dir}::int8, 0
      UNION ALL
      SELECT n.parent, up.depth + 1 FROM node n JOIN up ON n.inode = up.inode
      WHERE up.inode <> ${ROOT_INO} AND up.inode <> ${ancestor} AND up.depth < 100000
    )
    SELECT 1 FROM up WHERE inode = ${ancestor} LIMIT 1`.execute(db);
  return rows.length > 0;
}

function validate(srcName: Buffer, dstName: Buffer, flags: number): void {
  checkName(srcName);
  checkName(dstName);
  if ((flags & ~(RENAME_NOREPLACE | RENAME_EXCHANGE)) !== 0 || flags === (RENAME_NOREPLACE | RENAME_EXCHANGE)) {
    throw FsError.EINVAL(`invalid rename flags ${flags}`);
  }
  if (isDot(srcName) || isDotDot(srcName) || isDot(dstName) || isDotDot(dstName)) {
    throw FsError.of('EBUSY', 'cannot rename "." or ".."');
  }
}

export async function rename(ctx: MetaContext, sp: number, sn: Buffer, dp: number, dn: Buffer, flags = 0): Promise<RenameResult> {
  validate(sn, dn, flags);
  const exchange = (flags & RENAME_EXCHANGE) !== 0;
  const noReplace = (flags & RENAME_NOREPLACE) !== 0;
  return inTransaction(ctx, async (tx) => {
    const first = await readEdges(tx, sp, sn, dp, dn);
    const src = first.src;
    if (src === undefined) throw await missingNameError(tx, sp, sn);
    const dst = first.dst;
    if (dst === undefined && exchange) throw await missingNameError(tx, dp, dn);
    if (dst !== undefined && noReplace) throw FsError.EEXIST(`${showName(dn)} exists in ${dp}`);
    if (dst !== undefined && !exchange) {
      if (src.type === DIR && dst.type !== DIR) throw FsError.ENOTDIR(`${showName(dn)} in ${dp} is not a directory`);
      if (src.type !== DIR && dst.type === DIR) throw FsError.EISDIR(`${showName(dn)} in ${dp} is a directory`);
    }
    // Same inode under both names (or the very same name): POSIX says do nothing.
    if (dst !== undefined && dst.ino === src.ino) return { ino: src.ino };

    const movesDir = (src.type === DIR || (exchange && dst?.type === DIR)) && sp !== dp;
    if (movesDir) await sql`SELECT pg_advisory_xact_lock(${RENAME_LOCK_KEY})`.execute(tx);

    const locked = await lockNodes(tx, dst === undefined ? [sp, dp, src.ino] : [sp, dp, src.ino, dst.ino]);
    const spRow = locked.get(sp);
    const dpRow = locked.get(dp);
    // A parent that is gone was removed (or never existed): the names cannot be resolved.
    if (spRow === undefined) throw FsError.ENOENT(`no directory ${sp}`);
    if (dpRow === undefined) throw FsError.ENOENT(`no directory ${dp}`);
    if (dpRow.type !== DIR) throw FsError.ENOTDIR(`inode ${dp} is not a directory`);
    if (dpRow.nlink === 0) throw FsError.ENOENT(`directory ${dp} was removed`);
    const again = await readEdges(tx, sp, sn, dp, dn);
    if (!sameEdge(again.src, src) || !sameEdge(again.dst, dst)) throw new RaceDetected('edges changed before lock');
    const srcRow = locked.get(src.ino);
    if (srcRow === undefined) throw FsError.EIO(`entry ${showName(sn)} in ${sp} points at missing inode ${src.ino}`);

    if (movesDir) {
      if (src.type === DIR && await isAncestor(tx, src.ino, dp)) throw FsError.EINVAL('cannot move a directory into itself');
      if (exchange && dst?.type === DIR && await isAncestor(tx, dst.ino, sp)) throw FsError.EINVAL('cannot move a directory into itself');
    }
    const now = ctx.now();
    if (exchange && dst !== undefined) {
      await exchangeEdges(tx, { sp, sn, dp, dn, src, dst, now });
      return { ino: src.ino };
    }
    let replacedGone: boolean | undefined;
    if (dst !== undefined) {
      const dstRow = locked.get(dst.ino);
      if (dstRow === undefined) throw FsError.EIO(`entry ${showName(dn)} in ${dp} points at missing inode ${dst.ino}`);
      if (dst.type === DIR) {
        if (await hasEntries(tx, dst.ino)) throw FsError.ENOTEMPTY(`directory ${showName(dn)} is not empty`);
      }
      await repointEdge(tx, dp, dn, src.ino, src.type);
      replacedGone = await dropReplaced(ctx, tx, dst, dstRow, dp, dn, now);
    } else {
      await insertEdge(tx, dp, dn, src.ino, src.type);
    }
    await deleteEdge(tx, sp, sn, src.ino);
    const isDir = src.type === DIR ? 1 : 0;
    if (sp !== dp) {
      await touchDirectory(tx, sp, now, -isDir);
      await touchDirectory(tx, dp, now, isDir);
    } else {
      await touchDirectory(tx, sp, now);
    }
    // A directory's parent link must follow it; a single-link file's is kept for reverse lookups.
    const newParent = src.type === DIR || srcRow.nlink === 1 ? dp : 0;
    await tx.updateTable('node').set({ ctime: now, parent: newParent }).where('inode', '=', BigInt(src.ino)).execute();
    return dst === undefined ? { ino: src.ino } : { ino: src.ino, replaced: dst.ino, replacedGone: replacedGone ?? false };
  });
}

/** The inode that lost its name to a rename: a directory goes (it is empty), a file loses a link. */
async function dropReplaced(ctx: MetaContext, tx: Db, dst: Edge, row: NodeRow, dp: number, dn: Buffer, now: bigint): Promise<boolean> {
  if (dst.type === DIR) {
    await tx.updateTable('node').set((eb) => ({ nlink: eb('nlink', '-', 1) })).where('inode', '=', BigInt(dp)).execute();
    await tx.deleteFrom('node').where('inode', '=', BigInt(dst.ino)).execute();
    await tx.deleteFrom('xattr').where('inode', '=', BigInt(dst.ino)).execute();
    return true;
  }
  const nlink = row.nlink - 1;
  await tx.updateTable('node').set({ nlink, ctime: now }).where('inode', '=', BigInt(dst.ino)).execute();
  if (nlink > 0) return false;
  return lastLinkGone(ctx, tx, dp, dn, dst.ino, dst.type, Number(row.length));
}

interface Exchange { sp: number; sn: Buffer; dp: number; dn: Buffer; src: Edge; dst: Edge; now: bigint }

async function exchangeEdges(tx: Db, x: Exchange): Promise<void> {
  const { sp, sn, dp, dn, src, dst, now } = x;
  await repointEdge(tx, sp, sn, dst.ino, dst.type);
  await repointEdge(tx, dp, dn, src.ino, src.type);
  if (sp !== dp) {
    const delta = (src.type === DIR ? 1 : 0) - (dst.type === DIR ? 1 : 0);
    await touchDirectory(tx, sp, now, -delta);
    await touchDirectory(tx, dp, now, delta);
    // Directories (and files with a single link) record their parent.
    await setParentIfRecorded(tx, src.ino, dp);
    await setParentIfRecorded(tx, dst.ino, sp);
  } else {
    await touchDirectory(tx, sp, now);
  }
  await tx.updateTable('node').set({ ctime: now }).where('inode', '=', anyOf([src.ino, dst.ino])).execute();
}

/** Sets the parent link of `ino` to `parent` if it keeps one (a directory, or a file with one link). */
async function setParentIfRecorded(tx: Db, ino: number, parent: number): Promise<void> {
  await tx.updateTable('node').set({ parent })
    .where('inode', '=', BigInt(ino))
    .where((eb) => eb.or([eb('type', '=', DIR), eb('nlink', '=', 1)]))
    .execute();
}
