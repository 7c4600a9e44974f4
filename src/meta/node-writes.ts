/** Single-table writes that several operation families make, in the query builder's terms. */
import type { Db } from './context.js';

/**
 * A directory whose entries changed: mtime and ctime to `now`, and its link count moved by
 * `links` (the subdirectories it gained or lost, whose ".." names it).
 */
export async function touchDirectory(db: Db, ino: number, now: bigint, links = 0): Promise<void> {
  await db.updateTable('node')
    .set((eb) => ({ nlink: eb('nlink', '+', links), mtime: now, ctime: now }))
    .where('inode', '=', BigInt(ino))
    .execute();
}

/** A new name `name` in directory `parent` for inode `ino` of node type `type`. */
export async function insertEdge(db: Db, parent: number, name: Buffer, ino: number, type: number): Promise<void> {
  await db.insertInto('edge').values({ parent, name, inode: ino, type }).execute();
}

/** Whether directory `ino` has any entry. */
export async function hasEntries(db: Db, ino: number): Promise<boolean> {
  const row = await db.selectFrom('edge').select('inode').where('parent', '=', BigInt(ino)).limit(1).executeTakeFirst();
  return row !== undefined;
}
