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
import { sql, type RawBuilder } from 'kysely';
import { MAX_NAME_BYTES, NODE_TYPE_CODE, ROOT_INO, TRASH_INO, isTrashDir } from './types.js';
import type { Db, MetaContext } from './context.js';
import { HOUR_MS, hourName } from './trash-hours.js';

export { HOUR_MS, hourName, parseHourName } from './trash-hours.js';

const DIR = NODE_TYPE_CODE.directory;

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
 * The steps of a statement that move to the trash every (inode, type) row of the CTE `g`, each
 * a non-directory that just lost its last name `name` in `parent`: they make the trash and the
 * hour directory of `nowNs` if missing (a new hour adds a link to the trash) and insert each
 * row's trash name (`te`, returning the inode; the whole name in `delfile` when it was cut).
 * The statement itself must set the inode's link count to 1 and its parent to `hourIno`: one
 * statement cannot update a row twice, and its caller may update that row already.
 */
export function trashSteps(parent: number, name: Buffer, nowNs: bigint): { hourIno: number; steps: RawBuilder<unknown> } {
  const nowMs = Number(nowNs / 1_000_000n);
  const hourIno = TRASH_INO + 1 + Math.floor(nowMs / HOUR_MS);
  // The entry's name, `<parent>-<ino>-<name>` cut to 255 bytes, made in SQL: only the statement knows the inode.
  const steps = sql`
    gn AS (SELECT inode, type, ${Buffer.from(`${parent}-`)}::bytea || convert_to(inode::text || '-', 'UTF8') || ${name}::bytea AS whole FROM g),
    h AS (INSERT INTO node (inode, type, mode, uid, gid, atime, mtime, ctime, nlink, length, rdev, parent)
          SELECT ${hourIno}, ${DIR}, ${0o700}, 0, 0, ${nowNs}, ${nowNs}, ${nowNs}, 2, 0, 0, ${TRASH_INO} FROM (SELECT 1 FROM g LIMIT 1) AS one
          ON CONFLICT (inode) DO NOTHING RETURNING inode),
    t AS (INSERT INTO node (inode, type, mode, uid, gid, atime, mtime, ctime, nlink, length, rdev, parent)
          SELECT ${TRASH_INO}, ${DIR}, ${0o700}, 0, 0, ${nowNs}, ${nowNs}, ${nowNs}, 2 + (SELECT count(*) FROM h), 0, 0, ${ROOT_INO}
          FROM (SELECT 1 FROM g LIMIT 1) AS one
          ON CONFLICT (inode) DO NOTHING RETURNING inode),
    tl AS (UPDATE node SET nlink = nlink + 1 WHERE inode = ${TRASH_INO} AND EXISTS (SELECT 1 FROM h) AND NOT EXISTS (SELECT 1 FROM t)),
    he AS (INSERT INTO edge (parent, name, inode, type) SELECT ${TRASH_INO}, ${Buffer.from(hourName(nowMs))}, inode, ${DIR} FROM h),
    te AS (INSERT INTO edge (parent, name, inode, type) SELECT ${hourIno}, substring(whole FROM 1 FOR ${MAX_NAME_BYTES}), inode, type FROM gn RETURNING inode),
    d AS (INSERT INTO delfile (inode, length, deleted_at, name) SELECT inode, 0, ${nowMs}, ${name} FROM gn WHERE octet_length(whole) > ${MAX_NAME_BYTES}
          ON CONFLICT (inode) DO UPDATE SET name = excluded.name, deleted_at = excluded.deleted_at)`;
  return { hourIno, steps };
}

/**
 * Moves inode `ino` (a non-directory whose last name, `name` in `parent`, was just deleted in
 * this transaction, so its link count is 0) to the trash, if the volume keeps a trash: one
 * statement reads the trash days (so `config --trash-days` applies at once, on every host),
 * creates the trash and the hour directory if missing and gives the inode its trash name.
 */
export async function moveToTrash(ctx: MetaContext, tx: Db, parent: number, name: Buffer, ino: number, type: number): Promise<boolean> {
  if (type === DIR || isTrashDir(parent)) return false; // deleting from the trash really deletes
  const { hourIno, steps } = trashSteps(parent, name, ctx.now());
  const { rows } = await sql<{ trashed: number }>`
    WITH g AS (SELECT ${ino}::int8 AS inode, ${type}::smallint AS type FROM volume WHERE id = 1 AND trash_days > 0),
    ${steps},
    n AS (UPDATE node SET nlink = 1, parent = ${hourIno} WHERE inode = ${ino} AND EXISTS (SELECT 1 FROM te))
    SELECT (SELECT count(*)::int FROM te) AS trashed`.execute(tx);
  return (rows[0]?.trashed ?? 0) > 0;
}
