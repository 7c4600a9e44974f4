/**
 * Creating names: mknod (files, FIFOs, sockets, devices), mkdir, symlink and link.
 *
 * A create is ONE statement: a data-modifying CTE that locks and touches the parent (only if
 * it is a live directory), inserts the edge (the unique key (parent, name) turns a duplicate
 * into EEXIST and rolls the whole statement back) and inserts the node. Any writer of edges
 * under a directory holds that directory's row lock, which is what makes rmdir's emptiness
 * check sound.
 */
import { sql } from 'kysely';
import { FsError } from '../errors.js';
import { isUniqueViolation } from '../db/index.js';
import { lockNodes, missingNameError } from './lookup.js';
import { insertEdge, touchDirectory } from './node-writes.js';
import { checkNewName, DIR_COLUMNS_P, dirRowOf, NODE_COLUMN_NAMES, NODE_COLUMNS, NODE_COLUMNS_N, showName, toAttr, type DirColumns, type NodeRow } from './rows.js';
import { inTransaction, statement } from './tx.js';
import { MAX_SYMLINK_BYTES, NODE_TYPE_CODE, type Attr, type Caller, type NewEntryAttr, type NodeType } from './types.js';
import type { MetaContext } from './context.js';

const S_ISGID = 0o2000;

interface NewNode {
  readonly type: NodeType;
  readonly mode: number;
  readonly rdev?: number;
  readonly target?: Buffer;
}

async function createNode(ctx: MetaContext, caller: Caller, parent: number, name: Buffer, node: NewNode): Promise<NewEntryAttr> {
  checkNewName(name);
  // Retried like the statement: an outage may begin with the refill of the id batch.
  const ino = await statement(() => ctx.inodeIds.next(), ctx);
  const isDir = node.type === 'directory';
  const typeCode = NODE_TYPE_CODE[node.type];
  const mode = node.mode & 0o7777;
  const length = node.target?.length ?? 0;
  const target = node.target ?? null;
  try {
    const row = await statement(async () => {
      const now = ctx.now();
      // A setgid directory hands its group to new entries, and its setgid bit to new directories.
      const { rows } = await sql<NodeRow & DirColumns>`
        WITH p AS (
          UPDATE node SET mtime = ${now}, ctime = ${now}, nlink = nlink + ${isDir ? 1 : 0}
          WHERE inode = ${parent} AND type = ${NODE_TYPE_CODE.directory} AND nlink > 0
          RETURNING ${NODE_COLUMNS}
        ), e AS (
          INSERT INTO edge (parent, name, inode, type)
          SELECT p.inode, ${name}::bytea, ${ino}::int8, ${typeCode}::smallint FROM p RETURNING inode
        ), n AS (
          INSERT INTO node (inode, type, mode, uid, gid, atime, mtime, ctime, nlink, length, rdev, parent)
          SELECT ${ino}::int8, ${typeCode}::smallint,
                 ${mode}::int | CASE WHEN ${isDir} AND (p.mode & ${S_ISGID}) <> 0 THEN ${S_ISGID} ELSE 0 END,
                 ${caller.uid}::int8, CASE WHEN (p.mode & ${S_ISGID}) <> 0 THEN p.gid ELSE ${caller.gid}::int8 END,
                 ${now}::int8, ${now}::int8, ${now}::int8, ${isDir ? 2 : 1}::int, ${length}::int8, ${node.rdev ?? 0}::int, p.inode
          FROM p JOIN e ON true
          RETURNING ${NODE_COLUMNS}
        ), s AS (
          INSERT INTO symlink (inode, target) SELECT n.inode, ${target}::bytea FROM n WHERE ${target}::bytea IS NOT NULL
        )
        SELECT ${NODE_COLUMNS_N}, ${DIR_COLUMNS_P} FROM n, p`.execute(ctx.db);
      return rows[0];
    }, ctx);
    if (row === undefined) throw await missingNameError(ctx.db, parent, name);
    return { ...toAttr(row), dirs: [toAttr(dirRowOf(row))] };
  } catch (err) {
    if (isUniqueViolation(err, 'edge_pkey')) throw FsError.EEXIST(`${showName(name)} exists in ${parent}`);
    throw err;
  }
}

export function mknod(ctx: MetaContext, caller: Caller, parent: number, name: Buffer, type: 'file' | 'fifo' | 'socket' | 'blockdev' | 'chardev', mode: number, rdev = 0): Promise<NewEntryAttr> {
  return createNode(ctx, caller, parent, name, { type, mode, rdev });
}

export function mkdir(ctx: MetaContext, caller: Caller, parent: number, name: Buffer, mode: number): Promise<NewEntryAttr> {
  return createNode(ctx, caller, parent, name, { type: 'directory', mode });
}

export async function symlink(ctx: MetaContext, caller: Caller, parent: number, name: Buffer, target: Buffer): Promise<NewEntryAttr> {
  if (target.length === 0) throw FsError.ENOENT('empty symlink target');
  if (target.length > MAX_SYMLINK_BYTES) throw FsError.ENAMETOOLONG(`symlink target of ${target.length} bytes`);
  if (target.includes(0)) throw FsError.EINVAL('symlink target contains NUL');
  return createNode(ctx, caller, parent, name, { type: 'symlink', mode: 0o777, target });
}

/** A new hard link: locks the parent and the inode (ascending), then adds the edge. */
export async function link(ctx: MetaContext, ino: number, parent: number, name: Buffer): Promise<Attr> {
  checkNewName(name);
  try {
    return await inTransaction(ctx, async (tx) => {
      const locked = await lockNodes(tx, [ino, parent]);
      const node = locked.get(ino);
      const dir = locked.get(parent);
      if (node === undefined) throw FsError.ENOENT(`no inode ${ino}`);
      if (dir === undefined) throw FsError.goneDirectory(parent);
      if (dir.type !== NODE_TYPE_CODE.directory) throw FsError.ENOTDIR(`inode ${parent} is not a directory`);
      if (dir.nlink === 0) throw FsError.goneDirectory(parent, `directory ${parent} was removed`);
      if (node.type === NODE_TYPE_CODE.directory) throw FsError.EPERM('hard links to directories are not allowed');
      if (node.nlink === 0) throw FsError.ENOENT(`inode ${ino} has been unlinked`);
      const now = ctx.now();
      await insertEdge(tx, parent, name, ino, node.type);
      await touchDirectory(tx, parent, now);
      // A file with several links keeps no parent link (0).
      const row = await tx.updateTable('node').set((eb) => ({ nlink: eb('nlink', '+', 1), ctime: now, parent: 0 }))
        .where('inode', '=', BigInt(ino)).returning(NODE_COLUMN_NAMES).executeTakeFirstOrThrow();
      return toAttr(row);
    });
  } catch (err) {
    if (isUniqueViolation(err, 'edge_pkey')) throw FsError.EEXIST(`${showName(name)} exists in ${parent}`);
    throw err;
  }
}
