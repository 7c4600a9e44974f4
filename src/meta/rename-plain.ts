/**
 * The common rename in one statement (one round trip, no BEGIN or COMMIT): a name that moves
 * to a free name, a file anywhere or a directory within its parent. Everything else (a target
 * that exists, RENAME_EXCHANGE, a directory changing parents, a missing name, a race) is left
 * to the full protocol in rename.ts, which gives the errno; this only says "not done".
 *
 * The statement locks both parents and the source inode in ascending inode order, as the full
 * protocol does, before it writes. Its snapshot may predate those locks, so every write
 * depends on the source edge's delete, which rechecks the edge on its newest version: an edge
 * renamed or removed meanwhile deletes nothing, and nothing else is written. A target name
 * that appeared meanwhile fails the insert (unique violation), which rolls the statement back.
 */
import { sql } from 'kysely';
import { isUniqueViolation } from '../db/index.js';
import { NODE_COLUMNS, toAttr, type NodeRow } from './rows.js';
import { statement } from './tx.js';
import { NODE_TYPE_CODE, type RenameResult } from './types.js';
import type { MetaContext } from './context.js';

const DIR = NODE_TYPE_CODE.directory;

/** Moves `sn` in `sp` to the free name `dn` in `dp` in one statement; undefined if the full protocol must decide. */
export async function renamePlain(ctx: MetaContext, sp: number, sn: Buffer, dp: number, dn: Buffer): Promise<RenameResult | undefined> {
  const sameParent = sp === dp;
  try {
    return await statement(async () => {
      const now = ctx.now();
      // l: the parents and the source inode, locked in ascending order (a directory's own inode
      // is never its parent's, so three rows, or two within one directory).
      const { rows } = await sql<NodeRow & { moved: bigint }>`
        WITH s AS (SELECT inode FROM edge WHERE parent = ${sp} AND name = ${sn}),
        l AS (
          SELECT inode, type, nlink FROM node WHERE inode IN (${sp}, ${dp}, (SELECT inode FROM s))
          ORDER BY inode FOR UPDATE
        ),
        x AS (
          DELETE FROM edge
          WHERE parent = ${sp} AND name = ${sn} AND inode = (SELECT inode FROM s)
            AND (type <> ${DIR} OR ${sameParent})
            AND (SELECT count(*) FROM l) = ${sameParent ? 2 : 3}
            AND EXISTS (SELECT 1 FROM l WHERE inode = ${dp} AND type = ${DIR} AND nlink > 0)
            AND NOT EXISTS (SELECT 1 FROM edge WHERE parent = ${dp} AND name = ${dn})
          RETURNING inode, type
        ),
        t AS (INSERT INTO edge (parent, name, inode, type) SELECT ${dp}, ${dn}, inode, type FROM x),
        p AS (
          UPDATE node SET mtime = ${now}, ctime = ${now}
          WHERE inode IN (${sp}, ${dp}) AND EXISTS (SELECT 1 FROM x) RETURNING ${NODE_COLUMNS}
        ),
        n AS (
          -- A directory's parent link follows it; a file keeps one only while it has one name.
          UPDATE node SET ctime = ${now}, parent = CASE WHEN type = ${DIR} OR nlink = 1 THEN ${dp}::int8 ELSE 0 END
          WHERE inode = (SELECT inode FROM x)
        )
        SELECT ${NODE_COLUMNS}, (SELECT inode FROM x) AS moved FROM p`.execute(ctx.db);
      const first = rows[0];
      if (first === undefined) return undefined;
      return { ino: Number(first.moved), dirs: rows.map(({ moved: _moved, ...row }) => toAttr(row)) };
    }, ctx);
  } catch (err) {
    // The target name appeared after the statement's snapshot: the full protocol sees it.
    if (isUniqueViolation(err, 'edge_pkey')) return undefined;
    throw err;
  }
}
