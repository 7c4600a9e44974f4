/** Reads of single inodes and names: getattr, lookup, readlink, and errno diagnosis. */
import { sql, type Nullable, type Selectable } from 'kysely';
import type { SymlinkTable } from '../db/index.js';
import { FsError } from '../errors.js';
import { anyOf, checkName, isDot, isDotDot, NODE_COLUMN_NAMES, NODE_COLUMNS_N, showName, toAttr, type NodeRow } from './rows.js';
import { NODE_TYPE_CODE, ROOT_INO, TRASH_INO, TRASH_NAME, type Attr } from './types.js';
import type { Db } from './context.js';

const DIR = NODE_TYPE_CODE.directory;

/** The node row of `ino`, or undefined. */
export function nodeRow(db: Db, ino: number): Promise<NodeRow | undefined> {
  return db.selectFrom('node').select(NODE_COLUMN_NAMES).where('inode', '=', BigInt(ino)).executeTakeFirst();
}

export async function getattr(db: Db, ino: number): Promise<Attr> {
  const row = await nodeRow(db, ino);
  if (row === undefined) throw FsError.ENOENT(`no inode ${ino}`);
  return toAttr(row);
}

/** Attributes of the directory `ino`: ENOENT if absent, ENOTDIR if not a directory. */
export async function getDirectory(db: Db, ino: number): Promise<Attr> {
  const attr = await getattr(db, ino);
  if (attr.type !== 'directory') throw FsError.ENOTDIR(`inode ${ino} is not a directory`);
  return attr;
}

/**
 * Why a name in `parent` could not be used: ENOTDIR when the parent is not a directory,
 * ENOENT otherwise (FsError.goneDirectory when the parent itself is gone). Called only on
 * error paths, so the fast paths pay nothing for it.
 */
export async function missingNameError(db: Db, parent: number, name: Buffer): Promise<FsError> {
  const row = await nodeRow(db, parent);
  if (row === undefined) return FsError.goneDirectory(parent);
  if (row.type !== DIR) return FsError.ENOTDIR(`inode ${parent} is not a directory`);
  if (row.nlink === 0) return FsError.goneDirectory(parent, `directory ${parent} was removed`);
  return FsError.ENOENT(`no entry ${showName(name)} in ${parent}`);
}

/**
 * The edge `name` in `parent` as it is now, and whether its inode exists: what a statement that
 * found it changed or missing learns on its error path (a race to rerun, or an edge to nothing).
 */
export async function edgeNow(db: Db, parent: number, name: Buffer): Promise<{ ino: number; type: number; inodeExists: boolean } | undefined> {
  const row = await db.selectFrom('edge').leftJoin('node', 'node.inode', 'edge.inode')
    .select(['edge.type', 'edge.inode', 'node.inode as node'])
    .where('edge.parent', '=', BigInt(parent)).where('edge.name', '=', name).executeTakeFirst();
  return row === undefined ? undefined : { ino: Number(row.inode), type: row.type, inodeExists: row.node !== null };
}

/**
 * One round trip, found or not: the parent's row, left-joined with the edge and its node, says
 * which of ENOENT (no parent, or no such name), ENOTDIR or the attributes it is. A missing name
 * is as common as a found one (every create looks its name up first).
 */
export async function lookup(db: Db, parent: number, name: Buffer): Promise<Attr> {
  checkName(name);
  if (isDot(name)) return getDirectory(db, parent);
  if (isDotDot(name)) {
    const dir = await getDirectory(db, parent);
    return dir.ino === ROOT_INO ? dir : getattr(db, dir.parent);
  }
  // The trash has no entry in the root (so no listing shows it), but its name finds it.
  if (parent === ROOT_INO && name.toString('latin1') === TRASH_NAME) return getattr(db, TRASH_INO);
  // The edge and its node are NULL when the name is missing (the left joins found nothing).
  const { rows } = await sql<Nullable<NodeRow> & { parent_type: NodeRow['type'] }>`
    SELECT p.type AS parent_type, ${NODE_COLUMNS_N}
    FROM node p LEFT JOIN edge e ON e.parent = p.inode AND e.name = ${name}
    LEFT JOIN node n ON n.inode = e.inode
    WHERE p.inode = ${parent}`.execute(db);
  const row = rows[0];
  if (row === undefined) throw FsError.goneDirectory(parent);
  if (row.parent_type !== DIR) throw FsError.ENOTDIR(`inode ${parent} is not a directory`);
  if (row.inode === null) throw FsError.ENOENT(`no entry ${showName(name)} in ${parent}`);
  return toAttr(row as NodeRow); // a node row was found: none of its columns is NULL
}

export async function readlink(db: Db, ino: number): Promise<Buffer> {
  const { rows } = await sql<Nullable<Pick<Selectable<SymlinkTable>, 'target'>> & Pick<NodeRow, 'type'>>`
    SELECT s.target, n.type FROM node n LEFT JOIN symlink s ON s.inode = n.inode WHERE n.inode = ${ino}`.execute(db);
  const row = rows[0];
  if (row === undefined) throw FsError.ENOENT(`no inode ${ino}`);
  if (row.target === null) throw FsError.EINVAL(`inode ${ino} is not a symbolic link`);
  return row.target;
}

/** Locks the given nodes in ascending inode order and returns their fresh rows. */
export async function lockNodes(db: Db, inos: readonly number[]): Promise<Map<number, NodeRow>> {
  const unique = [...new Set(inos)].sort((a, b) => a - b);
  const rows = await db.selectFrom('node').select(NODE_COLUMN_NAMES)
    .where('inode', '=', anyOf(unique)).orderBy('inode').forUpdate().execute();
  return new Map(rows.map((r) => [Number(r.inode), r]));
}
