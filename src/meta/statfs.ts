/** statfs from the usage counters (folded values plus the journal not folded yet: exact). */
import { sql } from 'kysely';
import type { MetaContext } from './context.js';
import { USAGE_SQL } from './counters.js';
import type { StatFs } from './types.js';

/** Nominal capacity reported for a volume without a quota: 1 PiB (S3 has no fixed size). */
export const UNLIMITED_SPACE = 2 ** 50;
/** Nominal inode count reported for a volume without an inode quota. */
export const UNLIMITED_INODES = 2 ** 40;

/**
 * The volume's figures, or, asked about directory `ino` (df on a sub-directory mount or on a
 * directory), the nearest directory quota at or above it: its limits and the usage beneath it
 * (a limit it does not set is the volume's).
 */
export async function statfs(ctx: MetaContext, ino?: number): Promise<StatFs> {
  const row = (await USAGE_SQL.execute(ctx.db)).rows[0];
  const usedSpace = Math.max(0, Number(row?.space ?? 0));
  const usedInodes = Math.max(0, Number(row?.inodes ?? 0));
  const totalSpace = ctx.volume.capacity > 0 ? ctx.volume.capacity : Math.max(UNLIMITED_SPACE, usedSpace);
  const totalInodes = ctx.volume.inodes > 0 ? ctx.volume.inodes : Math.max(UNLIMITED_INODES, usedInodes);
  const volume = figures(totalSpace, usedSpace, totalInodes, usedInodes);
  if (ino === undefined || ino === 1) return volume;
  const { rows } = await sql<{ max_space: bigint; max_inodes: bigint; space: bigint; inodes: bigint }>`
    WITH RECURSIVE up(inode, depth) AS (
      SELECT ${ino}::int8, 0 WHERE EXISTS (SELECT 1 FROM dir_quota)
      UNION ALL
      SELECT n.parent, up.depth + 1 FROM node n JOIN up ON n.inode = up.inode WHERE up.inode <> 1 AND n.parent <> 0 AND up.depth < 10000)
    SELECT q.max_space, q.max_inodes,
           q.used_space + coalesce((SELECT sum(space) FROM quota_delta d WHERE d.inode = q.inode), 0) AS space,
           q.used_inodes + coalesce((SELECT sum(inodes) FROM quota_delta d WHERE d.inode = q.inode), 0) AS inodes
    FROM up JOIN dir_quota q ON q.inode = up.inode ORDER BY up.depth LIMIT 1`.execute(ctx.db);
  const q = rows[0];
  if (q === undefined) return volume;
  const space = Math.max(0, Number(q.space));
  const inodes = Math.max(0, Number(q.inodes));
  return figures(
    Number(q.max_space) > 0 ? Number(q.max_space) : totalSpace, space,
    Number(q.max_inodes) > 0 ? Number(q.max_inodes) : totalInodes, inodes);
}

function figures(totalSpace: number, usedSpace: number, totalInodes: number, usedInodes: number): StatFs {
  return {
    totalSpace,
    usedSpace,
    availSpace: Math.max(0, totalSpace - usedSpace),
    totalInodes,
    usedInodes,
    availInodes: Math.max(0, totalInodes - usedInodes),
  };
}
