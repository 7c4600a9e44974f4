/** statfs from the usage counters (stored values plus this client's unflushed deltas). */
import { sql } from 'kysely';
import type { MetaContext } from './context.js';
import type { StatFs } from './types.js';

/** Nominal capacity reported for a volume without a quota: 1 PiB (S3 has no fixed size). */
export const UNLIMITED_SPACE = 2 ** 50;
/** Nominal inode count reported for a volume without an inode quota. */
export const UNLIMITED_INODES = 2 ** 40;

export async function statfs(ctx: MetaContext): Promise<StatFs> {
  const { rows } = await sql<{ name: string; value: bigint }>`
    SELECT name, value FROM counter WHERE name IN ('used_space', 'used_inodes')`.execute(ctx.db);
  const stored = new Map(rows.map((r) => [r.name, Number(r.value)]));
  const pending = ctx.usage.pending();
  const usedSpace = Math.max(0, (stored.get('used_space') ?? 0) + pending.space);
  const usedInodes = Math.max(0, (stored.get('used_inodes') ?? 0) + pending.inodes);
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
