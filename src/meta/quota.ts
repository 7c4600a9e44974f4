/**
 * Directory quotas and the quota figures the vfs checks writes against (decision 79).
 *
 * Usage of a quota'd directory is kept by triggers (migration 0008) in the transaction that
 * changed it, so it is exact whatever the hosts do; the only client work is folding the
 * journal (counters.ts) and, here, setting limits, reading usage and recomputing it.
 * A name added past a limit fails its commit with SQLSTATE OQ001 (EDQUOT) or, for the volume's
 * inode quota, OQ002 (ENOSPC): quota-errors.ts maps them where every operation's errors pass (tx.ts).
 */
import { sql } from 'kysely';
import { FsError } from '../errors.js';
import { USAGE_SQL } from './counters.js';
import { inTransaction, statement } from './tx.js';
import { NODE_TYPE_CODE } from './types.js';
import type { Db, MetaContext } from './context.js';

/** A directory's quota: limits (0 = none) and the usage of the names beneath it. */
export interface DirQuota {
  readonly inode: number;
  readonly maxSpace: number;
  readonly maxInodes: number;
  readonly usedSpace: number;
  readonly usedInodes: number;
}

/** What a `quota check` found for one directory: recorded usage and a fresh scan. */
export interface QuotaCheck {
  readonly inode: number;
  readonly usedSpace: number;
  readonly usedInodes: number;
  readonly scannedSpace: number;
  readonly scannedInodes: number;
  /** True when the recorded usage was replaced by the scan. */
  readonly repaired: boolean;
}

/** The figures write(2) is checked against: the volume's and each quota'd directory's. */
export interface QuotaSnapshot {
  readonly capacity: number;
  readonly usedSpace: number;
  readonly dirs: ReadonlyMap<number, { readonly maxSpace: number; readonly usedSpace: number }>;
}

/** Every directory quota with usage as of now (folded + journal), in inode order. */
const QUOTAS_SQL = (where: ReturnType<typeof sql>) => sql<{ inode: bigint; max_space: bigint; max_inodes: bigint; space: bigint; inodes: bigint }>`
  SELECT q.inode, q.max_space, q.max_inodes,
         q.used_space + coalesce((SELECT sum(space) FROM quota_delta d WHERE d.inode = q.inode), 0) AS space,
         q.used_inodes + coalesce((SELECT sum(inodes) FROM quota_delta d WHERE d.inode = q.inode), 0) AS inodes
  FROM dir_quota q ${where} ORDER BY q.inode`;

function toQuota(r: { inode: bigint; max_space: bigint; max_inodes: bigint; space: bigint; inodes: bigint }): DirQuota {
  return { inode: Number(r.inode), maxSpace: Number(r.max_space), maxInodes: Number(r.max_inodes), usedSpace: Number(r.space), usedInodes: Number(r.inodes) };
}

export async function listQuotas(ctx: MetaContext): Promise<DirQuota[]> {
  return statement(async () => (await QUOTAS_SQL(sql``).execute(ctx.db)).rows.map(toQuota), ctx);
}

export async function getQuota(ctx: MetaContext, ino: number): Promise<DirQuota | undefined> {
  return statement(async () => {
    const row = (await QUOTAS_SQL(sql`WHERE q.inode = ${ino}`).execute(ctx.db)).rows[0];
    return row === undefined ? undefined : toQuota(row);
  }, ctx);
}

/** Usage beneath directory `ino` by a full scan (every name once; the directory itself not counted). */
async function scanUsage(db: Db, ino: number): Promise<{ space: number; inodes: number }> {
  const { rows } = await sql<{ space: bigint; inodes: bigint }>`
    SELECT u.space - (SELECT (length + 4095) / 4096 * 4096 FROM node WHERE inode = ${ino}) AS space, u.inodes - 1 AS inodes
    FROM objectfs_tree_usage(${ino}) u`.execute(db);
  return { space: Number(rows[0]?.space ?? 0), inodes: Number(rows[0]?.inodes ?? 0) };
}

/**
 * Sets (or changes) the limits of directory `ino`; `undefined` keeps a limit, 0 removes it.
 * A new quota's usage comes from one scan in the same transaction, so the limit applies from
 * then on (a writer beneath it committing while the scan runs may be missed: `quota check
 * --repair` recomputes).
 */
export async function setQuota(ctx: MetaContext, ino: number, limits: { maxSpace?: number | undefined; maxInodes?: number | undefined }): Promise<DirQuota> {
  await inTransaction(ctx, async (tx) => {
    const node = await tx.selectFrom('node').select(['type', 'nlink']).where('inode', '=', BigInt(ino)).forShare().executeTakeFirst();
    if (node === undefined || node.nlink === 0) throw FsError.ENOENT(`no directory ${ino}`);
    if (node.type !== NODE_TYPE_CODE.directory) throw FsError.ENOTDIR(`inode ${ino} is not a directory`);
    const old = await tx.selectFrom('dir_quota').select('inode').where('inode', '=', BigInt(ino)).forUpdate().executeTakeFirst();
    if (old !== undefined) {
      await tx.updateTable('dir_quota').set({
        ...(limits.maxSpace === undefined ? {} : { max_space: limits.maxSpace }),
        ...(limits.maxInodes === undefined ? {} : { max_inodes: limits.maxInodes }),
      }).where('inode', '=', BigInt(ino)).execute();
      return;
    }
    const used = await scanUsage(tx, ino);
    await tx.insertInto('dir_quota').values({
      inode: ino, max_space: limits.maxSpace ?? 0, max_inodes: limits.maxInodes ?? 0, used_space: used.space, used_inodes: used.inodes,
    }).execute();
  });
  const quota = await getQuota(ctx, ino);
  if (quota === undefined) throw FsError.ENOENT(`quota of ${ino} was deleted meanwhile`);
  return quota;
}

/** Removes the quota of `ino`; false if it had none. Its journal rows go with the next fold. */
export async function deleteQuota(ctx: MetaContext, ino: number): Promise<boolean> {
  return inTransaction(ctx, async (tx) => {
    const res = await tx.deleteFrom('dir_quota').where('inode', '=', BigInt(ino)).executeTakeFirst();
    await tx.deleteFrom('quota_delta').where('inode', '=', BigInt(ino)).execute();
    return res.numDeletedRows > 0n;
  });
}

/**
 * Compares each quota's usage (or only `ino`'s) with a scan of its tree; with `repair`, a
 * differing one is replaced, in one transaction per directory that locks its quota row and
 * clears its journal (the scan and the new figures are one snapshot).
 */
export async function checkQuotas(ctx: MetaContext, options: { ino?: number | undefined; repair: boolean }): Promise<QuotaCheck[]> {
  const quotas = options.ino === undefined ? await listQuotas(ctx) : [await getQuota(ctx, options.ino)].filter((q) => q !== undefined);
  const out: QuotaCheck[] = [];
  for (const q of quotas) {
    out.push(await inTransaction(ctx, async (tx) => {
      // REPEATABLE READ would need its own transaction mode; the row lock plus one statement
      // reading both the recorded usage and the scan gives one snapshot.
      await tx.selectFrom('dir_quota').select('inode').where('inode', '=', BigInt(q.inode)).forUpdate().execute();
      const { rows } = await sql<{ space: bigint; inodes: bigint; used_space: bigint; used_inodes: bigint; own: bigint }>`
        SELECT u.space, u.inodes, (SELECT (length + 4095) / 4096 * 4096 FROM node WHERE inode = ${q.inode}) AS own,
               q.used_space + coalesce((SELECT sum(space) FROM quota_delta d WHERE d.inode = q.inode), 0) AS used_space,
               q.used_inodes + coalesce((SELECT sum(inodes) FROM quota_delta d WHERE d.inode = q.inode), 0) AS used_inodes
        FROM dir_quota q, objectfs_tree_usage(q.inode) u WHERE q.inode = ${q.inode}`.execute(tx);
      const r = rows[0];
      if (r === undefined) return { inode: q.inode, usedSpace: 0, usedInodes: 0, scannedSpace: 0, scannedInodes: 0, repaired: false };
      const scannedSpace = Number(r.space) - Number(r.own ?? 0n);
      const scannedInodes = Number(r.inodes) - 1;
      const differs = scannedSpace !== Number(r.used_space) || scannedInodes !== Number(r.used_inodes);
      if (differs && options.repair) {
        await tx.deleteFrom('quota_delta').where('inode', '=', BigInt(q.inode)).execute();
        await tx.updateTable('dir_quota').set({ used_space: scannedSpace, used_inodes: scannedInodes }).where('inode', '=', BigInt(q.inode)).execute();
      }
      return { inode: q.inode, usedSpace: Number(r.used_space), usedInodes: Number(r.used_inodes), scannedSpace, scannedInodes, repaired: differs && options.repair };
    }));
  }
  return out;
}

/** The volume's space usage and every directory's space limit and usage, in one statement. */
export async function quotaSnapshot(ctx: MetaContext): Promise<QuotaSnapshot> {
  return statement(async () => {
    const { rows } = await sql<{ inode: bigint | null; max_space: bigint | null; space: bigint; vol_space: bigint; capacity: bigint }>`
      WITH v AS (${USAGE_SQL}), q AS (${QUOTAS_SQL(sql`WHERE q.max_space > 0`)})
      SELECT q.inode, q.max_space, q.space, v.space AS vol_space, (SELECT capacity FROM volume WHERE id = 1) AS capacity
      FROM v LEFT JOIN q ON true`.execute(ctx.db);
    const dirs = new Map<number, { maxSpace: number; usedSpace: number }>();
    for (const r of rows) if (r.inode !== null) dirs.set(Number(r.inode), { maxSpace: Number(r.max_space), usedSpace: Number(r.space) });
    return { capacity: Number(rows[0]?.capacity ?? 0), usedSpace: Number(rows[0]?.vol_space ?? 0), dirs };
  }, ctx);
}

/** The quota'd directories above every name of `ino` (each once). */
export async function quotaDirsOf(ctx: MetaContext, ino: number): Promise<number[]> {
  return statement(async () => {
    const { rows } = await sql<{ d: bigint }>`
      SELECT DISTINCT d FROM edge e, unnest(objectfs_quota_dirs(e.parent)) d WHERE e.inode = ${ino}`.execute(ctx.db);
    return rows.map((r) => Number(r.d));
  }, ctx);
}

/** The quota'd directories at or above directory `dir`. */
export async function quotaDirsAbove(ctx: MetaContext, dir: number): Promise<number[]> {
  return statement(async () => {
    const { rows } = await sql<{ d: bigint }>`SELECT unnest(objectfs_quota_dirs(${dir})) AS d`.execute(ctx.db);
    return rows.map((r) => Number(r.d));
  }, ctx);
}
