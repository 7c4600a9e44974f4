/**
 * The trash's own operations (decision 78): listing, restore and expiry. The move to the
 * trash is in trash.ts, which remove.ts and rename.ts call; this file calls them back.
 */
import { sql } from 'kysely';
import { FsError } from '../errors.js';
import { rmdir, unlink } from './remove.js';
import { rename } from './rename.js';
import { lostFound } from './repair.js';
import { HOUR_MS, parseEntryName, parseHourName } from './trash.js';
import { NODE_TYPE_CODE, RENAME_NOREPLACE, ROOT_INO, TRASH_INO, isTrashDir } from './types.js';
import type { Db, MetaContext } from './context.js';

const DIR = NODE_TYPE_CODE.directory;
const DAY_MS = 24 * HOUR_MS;

/** One entry of the trash, as `objectfs trash` lists it. */
export interface TrashEntry {
  /** The hour directory (UTC, `YYYY-MM-DD-HH`) and the entry's name in it. */
  readonly hour: string;
  readonly hourIno: number;
  readonly entry: Buffer;
  readonly ino: number;
  /** Where it was: the parent's inode and the full original name. */
  readonly parent: number;
  readonly name: Buffer;
  readonly type: number;
  readonly length: number;
  /** When it was deleted (ms): its ctime, which the unlink set. */
  readonly deletedAt: number;
}

/** Every entry of the trash (or of one hour directory), oldest hour first, a page at a time. */
export async function listTrash(db: Db, onlyHour?: string): Promise<TrashEntry[]> {
  const out: TrashEntry[] = [];
  for (const hour of await trashHours(db)) {
    if (onlyHour !== undefined && hour.name !== onlyHour) continue;
    for (let after: Buffer | undefined; ;) {
      const page = await trashEntries(db, hour, after);
      out.push(...page);
      const last = page[page.length - 1];
      if (last === undefined || page.length < 1000) break;
      after = last.entry;
    }
  }
  return out;
}

/** The hour directories of the trash, oldest first. */
export async function trashHours(db: Db): Promise<{ name: string; ino: number }[]> {
  const rows = await db.selectFrom('edge').select(['name', 'inode']).where('parent', '=', BigInt(TRASH_INO)).orderBy('name').execute();
  return rows.map((r) => ({ name: r.name.toString('latin1'), ino: Number(r.inode) }));
}

/** Up to `limit` entries of hour directory `hourIno` after `after`, with their original names. */
export async function trashEntries(db: Db, hour: { name: string; ino: number }, after?: Buffer, limit = 1000): Promise<TrashEntry[]> {
  const { rows } = await sql<{ name: Buffer; inode: bigint; type: number; length: bigint; ctime: bigint; full: Buffer | null }>`
    SELECT e.name, e.inode, n.type, n.length, n.ctime, d.name AS full
    FROM edge e JOIN node n ON n.inode = e.inode LEFT JOIN delfile d ON d.inode = e.inode
    WHERE e.parent = ${hour.ino} AND (${after ?? null}::bytea IS NULL OR e.name > ${after ?? null}::bytea)
    ORDER BY e.name LIMIT ${limit}`.execute(db);
  return rows.map((r) => {
    const parsed = parseEntryName(r.name) ?? { parent: ROOT_INO, ino: Number(r.inode), name: r.name };
    // A cut name's whole original is in delfile (a row left from an earlier stay of the same inode is recognised by its prefix).
    const name = r.full !== null && r.full.subarray(0, parsed.name.length).equals(parsed.name) ? r.full : parsed.name;
    return {
      hour: hour.name, hourIno: hour.ino, entry: r.name, ino: Number(r.inode), parent: parsed.parent, name, type: r.type,
      length: Number(r.length), deletedAt: Number(r.ctime / 1_000_000n),
    };
  });
}

/** How a restore went for one entry. */
export type RestoreOutcome =
  | { readonly restored: true; readonly parent: number; readonly name: Buffer; readonly lostFound: boolean }
  | { readonly restored: false; readonly reason: string };

/**
 * Puts a trash entry back: a rename (one transaction) to its original name in its original
 * parent, or under /lost+found (created if missing) when that directory no longer exists.
 * Refuses to overwrite: an existing name is left alone and reported. Owner, mode, times and
 * xattrs are the inode's own and never changed in the trash (the rename sets ctime only).
 */
export async function restoreEntry(ctx: MetaContext, e: TrashEntry): Promise<RestoreOutcome> {
  const parentRow = await ctx.db.selectFrom('node').select(['type', 'nlink']).where('inode', '=', BigInt(e.parent)).executeTakeFirst();
  const parentLives = parentRow !== undefined && parentRow.type === DIR && parentRow.nlink > 0 && !isTrashDir(e.parent);
  const target = parentLives ? e.parent : await lostFound(ctx);
  try {
    await rename(ctx, e.hourIno, e.entry, target, e.name, RENAME_NOREPLACE);
  } catch (err) {
    if (err instanceof FsError && err.code === 'EEXIST') return { restored: false, reason: `${e.name.toString()} exists in directory ${target}: not overwritten` };
    // The parent was removed between the check and the rename: the next attempt uses lost+found.
    if (err instanceof FsError && err.code === 'ENOENT' && parentLives) return restoreEntry(ctx, { ...e, parent: 0 });
    throw err;
  }
  await ctx.db.deleteFrom('delfile').where('inode', '=', BigInt(e.ino)).execute();
  return { restored: true, parent: target, name: e.name, lostFound: !parentLives };
}

/** What one expiry pass did. */
export interface ExpiryReport {
  readonly trashDays: number;
  readonly hours: number;
  readonly entries: number;
}

/**
 * Removes the hour directories whose hour ended more than the trash days before `nowMs` (all of
 * them when the trash days are 0), entry by entry through unlink (one transaction each: the
 * inode goes to deferred deletion, or stays until its last close if open here), then the
 * emptied hour directory. A file deleted into an hour while it expires just keeps it.
 */
export async function expireTrash(ctx: MetaContext, nowMs = Date.now()): Promise<ExpiryReport> {
  const v = await ctx.db.selectFrom('volume').select('trash_days').where('id', '=', 1).executeTakeFirstOrThrow();
  const days = v.trash_days;
  let hours = 0;
  let entries = 0;
  for (const hour of await trashHours(ctx.db)) {
    const h = parseHourName(hour.name);
    if (days > 0 && h !== undefined && (h + 1) * HOUR_MS + days * DAY_MS > nowMs) continue;
    for (;;) {
      const page = await ctx.db.selectFrom('edge').select('name').where('parent', '=', BigInt(hour.ino)).orderBy('name').limit(200).execute();
      for (const r of page) {
        try {
          await unlink(ctx, hour.ino, r.name);
          entries++;
        } catch (err) {
          if (!(err instanceof FsError && (err.code === 'ENOENT' || err.code === 'EISDIR'))) throw err;
        }
      }
      if (page.length < 200) break;
    }
    try {
      await rmdir(ctx, TRASH_INO, Buffer.from(hour.name, 'latin1'));
      hours++;
    } catch (err) {
      if (!(err instanceof FsError && (err.code === 'ENOENT' || err.code === 'ENOTEMPTY'))) throw err;
    }
  }
  return { trashDays: days, hours, entries };
}
