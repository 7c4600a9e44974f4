/**
 * Removing names: unlink and rmdir, and what happens to an inode that loses its last link.
 *
 * Locking: read the edge, lock parent and child in ascending inode order, then delete the
 * edge only if it still points at the same child (else the transaction reruns).
 */
import { sql } from 'kysely';
import { FsError } from '../errors.js';
import { edgeNow, lockNodes, missingNameError } from './lookup.js';
import { checkName, DIR_COLUMNS_P, dirRowOf, isDot, isDotDot, NODE_COLUMNS, RaceDetected, showName, toAttr, type DirColumns, type NodeRow } from './rows.js';
import { hasEntries, touchDirectory } from './node-writes.js';
import { inTransaction, statement } from './tx.js';
import { moveToTrash, trashSteps } from './trash.js';
import { isTrashDir, NODE_TYPE_CODE, type Attr, type UnlinkResult } from './types.js';
import type { Db, MetaContext } from './context.js';

const DIR = NODE_TYPE_CODE.directory;

/** The edge `name` in `parent`, or the right errno. */
export async function readEdge(db: Db, parent: number, name: Buffer): Promise<{ ino: number; type: number }> {
  const row = await db.selectFrom('edge').select(['inode', 'type'])
    .where('parent', '=', BigInt(parent)).where('name', '=', name).executeTakeFirst();
  if (row === undefined) throw await missingNameError(db, parent, name);
  return { ino: Number(row.inode), type: row.type };
}

/**
 * Deletes the edge (parent, name) if it still points at `ino`; otherwise what was read
 * before the locks is stale and the transaction must rerun.
 */
export async function deleteEdge(db: Db, parent: number, name: Buffer, ino: number): Promise<void> {
  const res = await db.deleteFrom('edge')
    .where('parent', '=', BigInt(parent)).where('name', '=', name).where('inode', '=', BigInt(ino))
    .executeTakeFirst();
  if (res.numDeletedRows !== 1n) throw new RaceDetected(`edge ${showName(name)} in ${parent} changed`);
}

/**
 * An inode whose link count reached zero: kept while this client has it open (recorded in
 * `sustained` so a dead session's leftovers can be found), otherwise deleted now, with its
 * chunks handed to deferred deletion in the same transaction.
 */
export async function releaseInode(ctx: MetaContext, db: Db, ino: number, length: number): Promise<boolean> {
  if (ctx.sid !== undefined && ctx.openFiles.isOpen(ino)) {
    await db.insertInto('sustained').values({ sid: ctx.sid, inode: ino }).onConflict((oc) => oc.doNothing()).execute();
    // Marked before the commit: if the transaction rolls back, the last close only finds no row.
    ctx.openFiles.markKept(ino);
    return false;
  }
  await destroyInode(ctx, db, ino, length);
  return true;
}

/**
 * What happens to a non-directory that lost its last name (`name` in `parent`): the trash, or
 * else releaseInode (kept while open here, otherwise destroyed). True if the inode is gone
 * (or will go at its last close); false if it lives on in the trash. `trashDays`, when the
 * caller read it in this transaction, spares the move's statement when the trash is off.
 */
export async function lastLinkGone(ctx: MetaContext, tx: Db, parent: number, name: Buffer, ino: number, type: number, length: number, trashDays?: number): Promise<boolean> {
  if (trashDays !== 0 && await moveToTrash(ctx, tx, parent, name, ino, type)) return false;
  await releaseInode(ctx, tx, ino, length);
  return true;
}

/** Deletes an inode and everything hanging off it; its chunks go to deferred deletion. */
export async function destroyInode(ctx: MetaContext, db: Db, ino: number, length: number): Promise<void> {
  const now = ctx.now();
  await sql`
    WITH d AS (DELETE FROM chunk WHERE inode = ${ino} RETURNING inode, slices),
         x AS (DELETE FROM xattr WHERE inode = ${ino}),
         s AS (DELETE FROM symlink WHERE inode = ${ino}),
         n AS (DELETE FROM node WHERE inode = ${ino}),
         t AS (DELETE FROM delfile WHERE inode = ${ino})
    INSERT INTO dropped_chunk (inode, slices, dropped_at) SELECT inode, slices, ${now} FROM d`.execute(db);
}

/**
 * With the volume's trash on (as this client last read it), one statement (unlinkInOne);
 * when that does not apply, three round trips: BEGIN; one statement that locks parent and
 * child in ascending inode order (the edge read in its first part names the child), then
 * deletes the edge only if it still names that child, touches the parent and drops the
 * child's link count; COMMIT (plus one when the last link goes: the trash move, or the
 * release). The statement returns the parent as it left it, and the trash days (read live, in
 * this transaction: with the trash off, the last link's release needs no statement of the
 * trash's).
 */
export async function unlink(ctx: MetaContext, parent: number, name: Buffer): Promise<UnlinkResult> {
  checkName(name);
  if (isDot(name) || isDotDot(name)) throw FsError.EISDIR(`cannot unlink ${showName(name)}`);
  if (ctx.volume.trashDays > 0 && !isTrashDir(parent)) {
    const done = await unlinkInOne(ctx, parent, name);
    if (done !== undefined) return done;
  }
  return inTransaction(ctx, async (tx) => {
    const now = ctx.now();
    // The locks come first: the scalar subqueries over `l` run before the delete scans.
    const { rows } = await sql<Pick<NodeRow, 'inode' | 'type' | 'nlink' | 'length'> & { trash_days: number } & DirColumns>`
      WITH l AS (
        SELECT inode FROM node
        WHERE inode IN (${parent}, (SELECT inode FROM edge WHERE parent = ${parent} AND name = ${name}))
        ORDER BY inode FOR UPDATE
      ),
      e AS (DELETE FROM edge WHERE parent = ${parent} AND name = ${name} AND type <> ${DIR}
              AND inode = (SELECT inode FROM l WHERE inode <> ${parent}) AND (SELECT count(*) FROM l) = 2
            RETURNING inode),
      p AS (UPDATE node SET mtime = ${now}, ctime = ${now} WHERE inode = ${parent} AND EXISTS (SELECT 1 FROM e) RETURNING ${NODE_COLUMNS}),
      c AS (UPDATE node SET nlink = nlink - 1, ctime = ${now} WHERE inode = (SELECT inode FROM e) RETURNING inode, type, nlink, length)
      SELECT c.inode, c.type, c.nlink, c.length, (SELECT trash_days FROM volume WHERE id = 1) AS trash_days, ${DIR_COLUMNS_P} FROM c, p`.execute(tx);
    const after = rows[0];
    if (after === undefined) throw await whyNotUnlinked(tx, parent, name);
    const ino = Number(after.inode);
    // The trash move below changes the trash's directories, not this one.
    const dirs = [toAttr(dirRowOf(after))];
    if (after.nlink > 0) return { ino, gone: false, dirs };
    const gone = await lastLinkGone(ctx, tx, parent, name, ino, after.type, Number(after.length), after.trash_days);
    return gone ? { ino, gone, dirs } : { ino, gone, trashed: true, dirs };
  });
}

/**
 * Unlink as one statement (no BEGIN or COMMIT), when it keeps the inode: a name of a file
 * with other names, or the last name while the trash is on (read live), the file moving to the
 * trash in the same statement. Locks as unlink's transaction does. Undefined when it does not
 * apply (the last name with the trash off needs this client's open files: releaseInode), or
 * when the name is missing, a directory or changed meanwhile: unlink's transaction decides.
 */
async function unlinkInOne(ctx: MetaContext, parent: number, name: Buffer): Promise<UnlinkResult | undefined> {
  return statement(async () => {
    const now = ctx.now();
    const { hourIno, steps } = trashSteps(parent, name, now);
    const { rows } = await sql<{ inode: bigint; trashed: number } & DirColumns>`
      WITH l AS (
        SELECT inode, nlink FROM node
        WHERE inode IN (${parent}, (SELECT inode FROM edge WHERE parent = ${parent} AND name = ${name}))
        ORDER BY inode FOR UPDATE
      ),
      e AS (DELETE FROM edge WHERE parent = ${parent} AND name = ${name} AND type <> ${DIR}
              AND inode = (SELECT inode FROM l WHERE inode <> ${parent}) AND (SELECT count(*) FROM l) = 2
              AND ((SELECT nlink FROM l WHERE inode <> ${parent}) > 1
                   OR (SELECT trash_days > 0 FROM volume WHERE id = 1))
            RETURNING inode, type),
      g AS (SELECT e.inode, e.type FROM e JOIN l ON l.inode = e.inode WHERE l.nlink = 1),
      ${steps},
      p AS (UPDATE node SET mtime = ${now}, ctime = ${now} WHERE inode = ${parent} AND EXISTS (SELECT 1 FROM e) RETURNING ${NODE_COLUMNS}),
      c AS (UPDATE node SET ctime = ${now},
                   nlink = CASE WHEN EXISTS (SELECT 1 FROM g) THEN 1 ELSE nlink - 1 END,
                   parent = CASE WHEN EXISTS (SELECT 1 FROM g) THEN ${hourIno}::int8 ELSE parent END
            WHERE inode = (SELECT inode FROM e) RETURNING inode)
      SELECT c.inode, (SELECT count(*)::int FROM te) AS trashed, ${DIR_COLUMNS_P} FROM c, p`.execute(ctx.db);
    const after = rows[0];
    if (after === undefined) return undefined;
    const result = { ino: Number(after.inode), gone: false, dirs: [toAttr(dirRowOf(after))] };
    return after.trashed > 0 ? { ...result, trashed: true } : result;
  }, ctx);
}

/**
 * Why unlink's statement removed nothing: no such name (the right errno), a directory, an edge
 * that points at nothing (EIO, not endless reruns), or a race (rerun).
 */
async function whyNotUnlinked(tx: Db, parent: number, name: Buffer): Promise<Error> {
  const edge = await edgeNow(tx, parent, name);
  if (edge === undefined) return missingNameError(tx, parent, name);
  if (edge.type === DIR) return FsError.EISDIR(`${showName(name)} in ${parent} is a directory`);
  if (!edge.inodeExists) return FsError.EIO(`entry ${showName(name)} in ${parent} points at missing inode ${edge.ino}`);
  return new RaceDetected(`edge ${showName(name)} in ${parent} changed`);
}

/**
 * Removes an empty directory; returns its attributes as it left (no links, ctime the removal's):
 * what `fstat` of a descriptor this host holds open on it answers from then on.
 */
export async function rmdir(ctx: MetaContext, parent: number, name: Buffer): Promise<Attr> {
  checkName(name);
  if (isDot(name)) throw FsError.EINVAL('cannot remove "."');
  if (isDotDot(name)) throw FsError.ENOTEMPTY('cannot remove ".."');
  return inTransaction(ctx, async (tx) => {
    const edge = await readEdge(tx, parent, name);
    if (edge.type !== DIR) throw FsError.ENOTDIR(`${showName(name)} in ${parent} is not a directory`);
    const locked = await lockNodes(tx, [parent, edge.ino]);
    if (!locked.has(parent) || !locked.has(edge.ino)) throw new RaceDetected('node vanished');
    // Creators lock the directory row, which we now hold: this check cannot be overtaken.
    if (await hasEntries(tx, edge.ino)) throw FsError.ENOTEMPTY(`directory ${showName(name)} is not empty`);
    await deleteEdge(tx, parent, name, edge.ino);
    const now = ctx.now();
    await touchDirectory(tx, parent, now, -1);
    await destroyInode(ctx, tx, edge.ino, 0);
    return { ...toAttr(locked.get(edge.ino) as NodeRow), nlink: 0, ctime: now };
  });
}
