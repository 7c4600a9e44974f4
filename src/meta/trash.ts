/**
 * The trash (decision 78): a file (any non-directory) that loses its last name to unlink or
 * to a rename over it moves, in the same transaction, to `/.trash/<hour>/<parent>-<ino>-<name>`
 * while the volume's trash days are above 0 (the move itself; trash-admin.ts lists, restores
 * and expires).
 *
 * `/.trash` is the fixed inode TRASH_INO with no entry in the root (lookup knows its name),
 * created with the first hour directory. Hour directories have fixed inodes as well
 * (TRASH_INO + 1 + hours since the epoch): two hosts deleting in the same new hour both
 * insert it with ON CONFLICT DO NOTHING, and only the one whose row went in adds the link of
 * the trash directory. Entry names embed the inode, so they never collide; a name that does
 * not fit in 255 bytes is cut, and the whole original is kept in `delfile`.
 */
import { sql } from 'kysely';
import { MAX_NAME_BYTES, NODE_TYPE_CODE, ROOT_INO, TRASH_INO, isTrashDir } from './types.js';
import type { Db, MetaContext } from './context.js';

const DIR = NODE_TYPE_CODE.directory;
export const HOUR_MS = 3_600_000;

/** `2026-12-05-16`: the UTC hour that `ms` falls in. */
export function hourName(ms: number): string {
  return new Date(ms).toISOString().slice(0, 13).replace('T', '-');
}

/** Hours since the epoch that an hour directory's name stands for, or undefined if it is not one. */
export function parseHourName(name: string): number | undefined {
  const m = /^(\d{4})-(\d{2})-(\d{2})-(\d{2})$/.exec(name);
  if (m === null) return undefined;
  const ms = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]));
  return Number.isFinite(ms) && hourName(ms) === name ? ms / HOUR_MS : undefined;
}

/** The name of a trash entry: original parent, inode and name, cut to 255 bytes. */
export function entryName(parent: number, ino: number, name: Buffer): { name: Buffer; cut: boolean } {
  const full = Buffer.concat([Buffer.from(`${parent}-${ino}-`), name]);
  return full.length <= MAX_NAME_BYTES ? { name: full, cut: false } : { name: full.subarray(0, MAX_NAME_BYTES), cut: true };
}

/** What a trash entry's name says; undefined for a name that is not one. */
export function parseEntryName(name: Buffer): { parent: number; ino: number; name: Buffer } | undefined {
  const first = name.indexOf(0x2d);
  const second = first < 0 ? -1 : name.indexOf(0x2d, first + 1);
  if (second < 0) return undefined;
  const parent = Number(name.subarray(0, first).toString('latin1'));
  const ino = Number(name.subarray(first + 1, second).toString('latin1'));
  if (!Number.isSafeInteger(parent) || !Number.isSafeInteger(ino) || second + 1 >= name.length) return undefined;
  return { parent, ino, name: name.subarray(second + 1) };
}

/**
 * Moves inode `ino` (a non-directory whose last name, `name` in `parent`, was just deleted in
 * this transaction, so its link count is 0) to the trash, if the volume keeps a trash: one
 * statement reads the trash days (so `config --trash-days` applies at once, on every host),
 * creates the trash and the hour directory if missing and gives the inode its trash name.
 * A second statement only when this made a new hour directory (the trash's link count).
 */
export async function moveToTrash(ctx: MetaContext, tx: Db, parent: number, name: Buffer, ino: number, type: number): Promise<boolean> {
  if (type === DIR || isTrashDir(parent)) return false; // deleting from the trash really deletes
  const nowNs = ctx.now();
  const nowMs = Number(nowNs / 1_000_000n);
  const hour = Math.floor(nowMs / HOUR_MS);
  const hourIno = TRASH_INO + 1 + hour;
  const entry = entryName(parent, ino, name);
  const { rows } = await sql<{ trashed: number; new_hour: number }>`
    WITH v AS (SELECT 1 FROM volume WHERE id = 1 AND trash_days > 0),
    t AS (INSERT INTO node (inode, type, mode, uid, gid, atime, mtime, ctime, nlink, length, rdev, parent)
          SELECT ${TRASH_INO}, ${DIR}, ${0o700}, 0, 0, ${nowNs}, ${nowNs}, ${nowNs}, 2, 0, 0, ${ROOT_INO} FROM v
          ON CONFLICT (inode) DO NOTHING),
    h AS (INSERT INTO node (inode, type, mode, uid, gid, atime, mtime, ctime, nlink, length, rdev, parent)
          SELECT ${hourIno}, ${DIR}, ${0o700}, 0, 0, ${nowNs}, ${nowNs}, ${nowNs}, 2, 0, 0, ${TRASH_INO} FROM v
          ON CONFLICT (inode) DO NOTHING RETURNING inode),
    he AS (INSERT INTO edge (parent, name, inode, type) SELECT ${TRASH_INO}, ${Buffer.from(hourName(nowMs))}, inode, ${DIR} FROM h),
    e AS (INSERT INTO edge (parent, name, inode, type) SELECT ${hourIno}, ${entry.name}, ${ino}, ${type} FROM v RETURNING inode),
    n AS (UPDATE node SET nlink = 1, parent = ${hourIno} WHERE inode = ${ino} AND EXISTS (SELECT 1 FROM e)),
    d AS (INSERT INTO delfile (inode, length, deleted_at, name) SELECT ${ino}, 0, ${nowMs}, ${name} FROM e WHERE ${entry.cut}
          ON CONFLICT (inode) DO UPDATE SET name = excluded.name, deleted_at = excluded.deleted_at)
    SELECT (SELECT count(*)::int FROM e) AS trashed, (SELECT count(*)::int FROM h) AS new_hour`.execute(tx);
  const r = rows[0];
  if (r === undefined || r.trashed === 0) return false;
  if (r.new_hour > 0) await tx.updateTable('node').set((eb) => ({ nlink: eb('nlink', '+', 1) })).where('inode', '=', BigInt(TRASH_INO)).execute();
  return true;
}
