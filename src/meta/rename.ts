/**
 * Atomic rename, including replace, RENAME_NOREPLACE and RENAME_EXCHANGE.
 *
 * Protocol (one transaction, READ COMMITTED):
 *  1. one statement reads both edges and locks both parents and the inodes the edges name, in
 *     ascending inode order;
 *  2. a directory moving to another parent needs a volume-wide advisory lock taken before any
 *     row lock, as the Linux VFS takes s_vfs_rename_mutex (two such renames checked in parallel
 *     could each pass the loop check and together make a cycle): when step 1 finds one, the
 *     transaction reruns, taking the advisory lock first;
 *  3. loop and emptiness checks on fresh data;
 *  4. one statement moves the names, touches the parents and the moved inode, and only counts
 *     as done if the edges are still the ones read in step 1 (an edge read may be older than
 *     the locks): otherwise, or if a name appeared at the target meanwhile, the transaction
 *     reruns.
 * A rename is four round trips: BEGIN, step 1, step 4, COMMIT. Replacing a file adds its
 * link count (and the trash move or release when that was its last link). A rename to a name
 * the caller saw missing tries rename-plain.ts's single statement first.
 */
import { sql } from 'kysely';
import { FsError } from '../errors.js';
import { edgeNow, missingNameError } from './lookup.js';
import { lastLinkGone } from './remove.js';
import { hasEntries, touchDirectory } from './node-writes.js';
import { anyOf, checkName, isDot, isDotDot, NODE_COLUMNS, RaceDetected, showName, toAttr, type NodeRow } from './rows.js';
import { isUniqueViolation } from '../db/index.js';
import { inTransaction } from './tx.js';
import { renamePlain } from './rename-plain.js';
import { NODE_TYPE_CODE, RENAME_EXCHANGE, RENAME_NOREPLACE, ROOT_INO, type Attr, type RenameResult } from './types.js';
import type { Db, MetaContext } from './context.js';

const DIR = NODE_TYPE_CODE.directory;
/** Advisory lock key serialising cross-directory moves of directories ("OBJFSREN"). */
const RENAME_LOCK_KEY = 0x4f424a4653_52454en;

interface Edge { readonly ino: number; readonly type: number }

interface EdgesAndLocks { readonly src?: Edge; readonly dst?: Edge; readonly locked: Map<number, NodeRow> }

/**
 * Both edges, and the rows of both parents and of the inodes the edges name, locked in
 * ascending inode order: one round trip. The edges come from the statement's snapshot, which
 * may predate the locks; the moving statement checks them again.
 */
async function lockAndReadEdges(db: Db, sp: number, sn: Buffer, dp: number, dn: Buffer): Promise<EdgesAndLocks> {
  const { rows } = await sql<NodeRow & { s_ino: bigint | null; s_type: number | null; d_ino: bigint | null; d_type: number | null }>`
    WITH s AS (SELECT inode, type FROM edge WHERE parent = ${sp} AND name = ${sn}),
         d AS (SELECT inode, type FROM edge WHERE parent = ${dp} AND name = ${dn})
    SELECT ${NODE_COLUMNS}, (SELECT inode FROM s) AS s_ino, (SELECT type FROM s) AS s_type,
           (SELECT inode FROM d) AS d_ino, (SELECT type FROM d) AS d_type
    FROM node WHERE inode IN (${sp}, ${dp}, (SELECT inode FROM s), (SELECT inode FROM d))
    ORDER BY inode FOR UPDATE`.execute(db);
  const locked = new Map<number, NodeRow>();
  let src: Edge | undefined;
  let dst: Edge | undefined;
  for (const { s_ino, s_type, d_ino, d_type, ...row } of rows) {
    locked.set(Number(row.inode), row);
    if (s_ino !== null && s_type !== null) src = { ino: Number(s_ino), type: s_type };
    if (d_ino !== null && d_type !== null) dst = { ino: Number(d_ino), type: d_type };
  }
  return { ...(src === undefined ? {} : { src }), ...(dst === undefined ? {} : { dst }), locked };
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

/**
 * `targetLikelyFree`: the caller saw the target name missing lately, so the one-statement
 * rename (rename-plain.ts) is tried first; a wrong guess costs that statement's round trip.
 */
export async function rename(ctx: MetaContext, sp: number, sn: Buffer, dp: number, dn: Buffer, flags = 0, targetLikelyFree = false): Promise<RenameResult> {
  validate(sn, dn, flags);
  const exchange = (flags & RENAME_EXCHANGE) !== 0;
  const noReplace = (flags & RENAME_NOREPLACE) !== 0;
  if (targetLikelyFree && !exchange) {
    const done = await renamePlain(ctx, sp, sn, dp, dn);
    if (done !== undefined) return done;
  }
  // Learnt on a first try that found a directory moving to another parent: the reruns take the
  // advisory lock before any row lock.
  let dirMove = false;
  return inTransaction(ctx, async (tx) => {
    if (dirMove) await sql`SELECT pg_advisory_xact_lock(${RENAME_LOCK_KEY})`.execute(tx);
    const { src, dst, locked } = await lockAndReadEdges(tx, sp, sn, dp, dn);
    if (src === undefined) throw await missingNameError(tx, sp, sn);
    if (dst === undefined && exchange) throw await missingNameError(tx, dp, dn);
    if (dst !== undefined && noReplace) throw FsError.EEXIST(`${showName(dn)} exists in ${dp}`);
    if (dst !== undefined && !exchange) {
      if (src.type === DIR && dst.type !== DIR) throw FsError.ENOTDIR(`${showName(dn)} in ${dp} is not a directory`);
      if (src.type !== DIR && dst.type === DIR) throw FsError.EISDIR(`${showName(dn)} in ${dp} is a directory`);
    }
    // Same inode under both names (or the very same name): POSIX says do nothing.
    if (dst !== undefined && dst.ino === src.ino) return { ino: src.ino };

    const movesDir = (src.type === DIR || (exchange && dst?.type === DIR)) && sp !== dp;
    if (movesDir && !dirMove) {
      dirMove = true;
      throw new RaceDetected('a directory moves to another parent: rerun with the rename lock first');
    }
    const spRow = locked.get(sp);
    const dpRow = locked.get(dp);
    // A parent that is gone was removed (or never existed): the names cannot be resolved.
    if (spRow === undefined) throw FsError.goneDirectory(sp);
    if (dpRow === undefined) throw FsError.goneDirectory(dp);
    if (dpRow.type !== DIR) throw FsError.ENOTDIR(`inode ${dp} is not a directory`);
    if (dpRow.nlink === 0) throw FsError.goneDirectory(dp, `directory ${dp} was removed`);
    const srcRow = locked.get(src.ino) ?? await vanished(tx, sp, sn, src);

    if (movesDir) {
      if (src.type === DIR && await isAncestor(tx, src.ino, dp)) throw FsError.EINVAL('cannot move a directory into itself');
      if (exchange && dst?.type === DIR && await isAncestor(tx, dst.ino, sp)) throw FsError.EINVAL('cannot move a directory into itself');
    }
    const now = ctx.now();
    if (exchange && dst !== undefined) {
      await exchangeEdges(tx, { sp, sn, dp, dn, src, dst, now });
      return { ino: src.ino };
    }
    const dstRow = dst === undefined ? undefined : locked.get(dst.ino) ?? await vanished(tx, dp, dn, dst);
    if (dst !== undefined) {
      if (dst.type === DIR && await hasEntries(tx, dst.ino)) throw FsError.ENOTEMPTY(`directory ${showName(dn)} is not empty`);
    }
    const dirs = await moveEdge(tx, { sp, sn, dp, dn, src, dst, now, srcNlink: srcRow.nlink });
    if (dst === undefined || dstRow === undefined) return { ino: src.ino, dirs };
    const replacedGone = await dropReplaced(ctx, tx, dst, dstRow, dp, dn, now);
    // A replaced directory takes a link of the target's with it, after the statement above.
    return { ino: src.ino, replaced: dst.ino, replacedGone, ...(dst.type === DIR ? {} : { dirs }) };
  });
}

/**
 * An edge whose inode was not there to lock: deleted since the edge was read (rerun), or an
 * edge that points at nothing (EIO, not endless reruns).
 */
async function vanished(tx: Db, parent: number, name: Buffer, edge: Edge): Promise<never> {
  const now = await edgeNow(tx, parent, name);
  if (now?.ino === edge.ino && !now.inodeExists) throw FsError.EIO(`entry ${showName(name)} in ${parent} points at missing inode ${edge.ino}`);
  throw new RaceDetected(`inode ${edge.ino} of ${showName(name)} went before it was locked`);
}

interface Move { sp: number; sn: Buffer; dp: number; dn: Buffer; src: Edge; dst: Edge | undefined; now: bigint; srcNlink: number }

/**
 * One statement: the target name points at the source inode (a new edge, or the replaced
 * one repointed if it still names `dst`), the source edge goes if it still names `src`, the
 * parents are touched (a directory's link moves with it) and the moved inode's ctime and
 * parent link are set. Anything not as read reruns the transaction, as does a name that
 * appeared at the target since (a unique violation). Returns the parents as it left them.
 */
async function moveEdge(tx: Db, m: Move): Promise<Attr[]> {
  const { sp, sn, dp, dn, src, dst, now } = m;
  const isDir = src.type === DIR ? 1 : 0;
  // A directory's parent link must follow it; a single-link file's is kept for reverse lookups.
  const newParent = src.type === DIR || m.srcNlink === 1 ? dp : 0;
  const target = dst === undefined
    ? sql`INSERT INTO edge (parent, name, inode, type) VALUES (${dp}, ${dn}, ${src.ino}, ${src.type}) RETURNING 1`
    : sql`UPDATE edge SET inode = ${src.ino}, type = ${src.type} WHERE parent = ${dp} AND name = ${dn} AND inode = ${dst.ino} RETURNING 1`;
  let moved: (NodeRow & { t: number; s: number })[];
  try {
    ({ rows: moved } = await sql<NodeRow & { t: number; s: number }>`
      WITH t AS (${target}),
      s AS (DELETE FROM edge WHERE parent = ${sp} AND name = ${sn} AND inode = ${src.ino} RETURNING 1),
      p AS (UPDATE node SET mtime = ${now}, ctime = ${now},
                   nlink = nlink + CASE WHEN ${sp === dp} THEN 0 WHEN inode = ${sp} THEN ${-isDir}::int ELSE ${isDir}::int END
            WHERE inode IN (${sp}, ${dp}) RETURNING ${NODE_COLUMNS}),
      n AS (UPDATE node SET ctime = ${now}, parent = ${newParent} WHERE inode = ${src.ino})
      SELECT ${NODE_COLUMNS}, (SELECT count(*)::int FROM t) AS t, (SELECT count(*)::int FROM s) AS s FROM p`.execute(tx));
  } catch (err) {
    if (isUniqueViolation(err, 'edge_pkey')) throw new RaceDetected(`${showName(dn)} appeared in ${dp}`);
    throw err;
  }
  const first = moved[0];
  if (first?.t !== 1 || first.s !== 1) throw new RaceDetected('edges changed before the lock');
  return moved.map(({ t: _t, s: _s, ...row }) => toAttr(row));
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
  // The edges were read before the locks: each must still name what was read.
  const { rows: [swapped] } = await sql<{ n: number }>`
    WITH u AS (UPDATE edge SET inode = CASE WHEN parent = ${sp} AND name = ${sn} THEN ${dst.ino}::int8 ELSE ${src.ino}::int8 END,
                              type = CASE WHEN parent = ${sp} AND name = ${sn} THEN ${dst.type}::smallint ELSE ${src.type}::smallint END
               WHERE (parent = ${sp} AND name = ${sn} AND inode = ${src.ino}) OR (parent = ${dp} AND name = ${dn} AND inode = ${dst.ino})
               RETURNING 1)
    SELECT count(*)::int AS n FROM u`.execute(tx);
  if (swapped?.n !== 2) throw new RaceDetected('edges changed before the lock');
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
