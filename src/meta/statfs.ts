/** statfs from the usage counters (folded values plus the journal not folded yet: exact). */
import type { MetaContext } from './context.js';
import { USAGE_SQL } from './counters.js';
import type { StatFs } from './types.js';

/** Nominal capacity reported for a volume without a quota: 1 PiB (S3 has no fixed size). */
export const UNLIMITED_SPACE = 2 ** 50;
/** Nominal inode count reported for a volume without an inode quota. */
export const UNLIMITED_INODES = 2 ** 40;

export async function statfs(ctx: MetaContext): Promise<StatFs> {
  const row = (await USAGE_SQL.execute(ctx.db)).rows[0];
  const usedSpace = Math.max(0, Number(row?.space ?? 0));
  const usedInodes = Math.max(0, Number(row?.inodes ?? 0));
  const totalSpace = ctx.volume.capacity > 0 ? ctx.volume.capacity : Math.max(UNLIMITED_SPACE, usedSpace);
  const totalInodes = ctx.volume.inodes > 0 ? ctx.volume.inodes : Math.max(UNLIMITED_INODES, usedInodes);
  return {
    totalSpace,
    usedSpace,
    availSpace: Math.max(0, totalSpace - usedSpace),
    totalInodes,
    usedInodes,
    availInodes: Math.max(0, totalInodes - usedInodes),
  };
}
