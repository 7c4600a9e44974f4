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
import { deleteEdge, releaseInode } from './remove.js';
import { checkName, isDot, isDotDot, RaceDetected, showName, type NodeRow } from './rows.js';
import { inTransaction } from './tx.js';
import { NODE_TYPE_CODE, RENAME_EXCHANGE, RENAME_NOREPLACE, ROOT_INO, type RenameResult } from './types.js';
import type { Db, MetaContext } from './context.js';

const DIR = NODE_TYPE_CODE.directory;
/** Advisory lock key serialising cross-directory moves of directories ("OBJFSREN"). */
const RENAME_LOCK_KEY = 0x4f424a4653_52454en;

interface Edge { readonly ino: number; readonly type: number }

async function readEdges(db: Db, sp: number, sn: Buffer, dp: number, dn: Buffer): Promise<{ src?: Edge; dst?: Edge }> {
  const { rows } = await sql<{ which: string; inode: bigint; type: number }>`
    SELECT 's' AS which, inode, type FROM edge WHERE parent = ${sp} AND name = ${sn}
    UNION ALL
    SELECT 'd' AS which, inode, type FROM edge WHERE parent = ${dp} AND name = ${dn}`.execute(db);
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
        const { rows } = await sql`SELECT 1 FROM edge WHERE parent = ${dst.ino} LIMIT 1`.execute(tx);
        if (rows.length > 0) throw FsError.ENOTEMPTY(`directory ${showName(dn)} is not empty`);
      }
      await sql`UPDATE edge SET inode = ${src.ino}, type = ${src.type} WHERE parent = ${dp} AND name = ${dn}`.execute(tx);
      replacedGone = await dropReplaced(ctx, tx, dst, dstRow, dp, now);
    } else {
      await sql`INSERT INTO edge (parent, name, inode, type) VALUES (${dp}, ${dn}, ${src.ino}, ${src.type})`.execute(tx);
    }
    await deleteEdge(tx, sp, sn, src.ino);
    const isDir = src.type === DIR ? 1 : 0;
    if (sp !== dp) {
      await sql`UPDATE node SET nlink = nlink - ${isDir}, mtime = ${now}, ctime = ${now} WHERE inode = ${sp}`.execute(tx);
      await sql`UPDATE node SET nlink = nlink + ${isDir}, mtime = ${now}, ctime = ${now} WHERE inode = ${dp}`.execute(tx);
    } else {
      await sql`UPDATE node SET mtime = ${now}, ctime = ${now} WHERE inode = ${sp}`.execute(tx);
    }
    // A directory's parent link must follow it; a single-link file's is kept for reverse lookups.
    const newParent = src.type === DIR || srcRow.nlink === 1 ? dp : 0;
    await sql`UPDATE node SET ctime = ${now}, parent = ${newParent} WHERE inode = ${src.ino}`.execute(tx);
    return dst === undefined ? { ino: src.ino } : { ino: src.ino, replaced: dst.ino, replacedGone: replacedGone ?? false };
  });
}

/** The inode that lost its name to a rename: a directory goes (it is empty), a file loses a link. */
async function dropReplaced(ctx: MetaContext, tx: Db, dst: Edge, row: NodeRow, dp: number, now: bigint): Promise<boolean> {
  if (dst.type === DIR) {
    await sql`UPDATE node SET nlink = nlink - 1 WHERE inode = ${dp}`.execute(tx);
    await sql`DELETE FROM node WHERE inode = ${dst.ino}`.execute(tx);
    await sql`DELETE FROM xattr WHERE inode = ${dst.ino}`.execute(tx);
    return true;
  }
  const nlink = row.nlink - 1;
  await sql`UPDATE node SET nlink = ${nlink}, ctime = ${now} WHERE inode = ${dst.ino}`.execute(tx);
  if (nlink > 0) return false;
  await releaseInode(ctx, tx, dst.ino, Number(row.length));
  return true;
}

interface Exchange { sp: number; sn: Buffer; dp: number; dn: Buffer; src: Edge; dst: Edge; now: bigint }

async function exchangeEdges(tx: Db, x: Exchange): Promise<void> {
  const { sp, sn, dp, dn, src, dst, now } = x;
  await sql`UPDATE edge SET inode = ${dst.ino}, type = ${dst.type} WHERE parent = ${sp} AND name = ${sn}`.execute(tx);
  await sql`UPDATE edge SET inode = ${src.ino}, type = ${src.type} WHERE parent = ${dp} AND name = ${dn}`.execute(tx);
  if (sp !== dp) {
    const delta = (src.type === DIR ? 1 : 0) - (dst.type === DIR ? 1 : 0);
    await sql`UPDATE node SET nlink = nlink - ${delta}, mtime = ${now}, ctime = ${now} WHERE inode = ${sp}`.execute(tx);
    await sql`UPDATE node SET nlink = nlink + ${delta}, mtime = ${now}, ctime = ${now} WHERE inode = ${dp}`.execute(tx);
    // Directories (and files with a single link) record their parent.
    await sql`UPDATE node SET parent = ${dp} WHERE inode = ${src.ino} AND (type = ${DIR} OR nlink = 1)`.execute(tx);
    await sql`UPDATE node SET parent = ${sp} WHERE inode = ${dst.ino} AND (type = ${DIR} OR nlink = 1)`.execute(tx);
  } else {
    await sql`UPDATE node SET mtime = ${now}, ctime = ${now} WHERE inode = ${sp}`.execute(tx);
  }
  await sql`UPDATE node SET ctime = ${now} WHERE inode IN (${src.ino}, ${dst.ino})`.execute(tx);
}
