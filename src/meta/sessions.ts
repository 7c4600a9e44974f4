/**
 * Mount sessions: register, heartbeat, expiry, and cleaning a dead session's leftovers
 * (inodes it kept open after their last unlink). Any live client may clean any dead session.
 */
import { sql } from 'kysely';
import { CHANGE_CHANNEL, encodeChanges } from './change-feed.js';
import { destroyInode } from './remove.js';
import type { NodeRow } from './rows.js';
import { inTransaction, statement } from './tx.js';
import { destroyingError, toVolume } from './volume-row.js';
import type { MetaContext } from './context.js';
import type { SessionInfo, SessionRow } from './types.js';

/** The stored info: what the client said about itself, plus the time of its last heartbeat (ms). */
function storedInfo(info: SessionInfo, now: number): string {
  return JSON.stringify({ ...info, heartbeat: now });
}

/**
 * Registers a session, unless `objectfs destroy` has marked the volume. The volume row is read
 * FOR SHARE: destroy marks it while holding it FOR UPDATE and then looks for sessions, so either
 * destroy sees this session (and refuses), or this waits for destroy's mark and refuses.
 */
export async function registerSession(ctx: MetaContext, info: SessionInfo, timeoutMs: number): Promise<number> {
  const sid = await inTransaction(ctx, async (tx) => {
    const volume = await tx.selectFrom('volume').selectAll().where('id', '=', 1).forShare().executeTakeFirstOrThrow();
    if (volume.destroying !== null) throw destroyingError(toVolume(volume));
    const row = await tx.updateTable('counter').set((eb) => ({ value: eb('value', '+', 1n) }))
      .where('name', '=', 'next_session').returning('value').executeTakeFirstOrThrow();
    const id = Number(row.value);
    const now = Date.now();
    await tx.insertInto('session').values({ sid: id, expire: now + timeoutMs, info: storedInfo(info, now) }).execute();
    return id;
  });
  ctx.sid = sid;
  return sid;
}

/**
 * Extends this session; re-creates it if another client already judged it dead and removed it
 * (and with it this client's locks): returns true then.
 */
export async function heartbeat(ctx: MetaContext, info: SessionInfo, timeoutMs: number): Promise<boolean> {
  const sid = ctx.sid;
  if (sid === undefined) return false;
  const now = Date.now();
  const row = await statement(() => ctx.db.insertInto('session').values({ sid, expire: now + timeoutMs, info: storedInfo(info, now) })
    .onConflict((oc) => oc.column('sid').doUpdateSet((eb) => ({ expire: eb.ref('excluded.expire'), info: eb.ref('excluded.info') })))
    // xmax is 0 in a row version made by an INSERT, not by an UPDATE: the upsert created it.
    .returning(sql<boolean>`xmax = 0`.as('created'))
    .executeTakeFirst(), ctx);
  return row?.created === true;
}

export async function listSessions(ctx: Pick<MetaContext, 'db'>): Promise<SessionRow[]> {
  const rows = await ctx.db.selectFrom('session').select(['sid', 'expire', 'info']).orderBy('sid').execute();
  return rows.map((r) => {
    const { heartbeat, ...info } = r.info as SessionInfo & { heartbeat?: number }; // as storedInfo wrote it
    return { sid: Number(r.sid), expire: Number(r.expire), heartbeat: heartbeat ?? 0, info };
  });
}

/** Ends session `sid`: releases the inodes it kept alive, then removes it. Only if `expiredBefore` still holds. */
export async function endSession(ctx: MetaContext, sid: number, expiredBefore?: number): Promise<boolean> {
  return inTransaction(ctx, async (tx) => {
    const gone = await tx.deleteFrom('session').where('sid', '=', BigInt(sid))
      .$if(expiredBefore !== undefined, (qb) => qb.where('expire', '<', BigInt(expiredBefore ?? 0)))
      .executeTakeFirst();
    if (expiredBefore !== undefined && gone.numDeletedRows !== 1n) return false;
    // Its locks go with it; waiters on other hosts are told at commit (NOTIFY is transactional).
    const locked = await tx.deleteFrom('file_lock').where('sid', '=', BigInt(sid)).returning('inode').execute();
    const inodes = new Set(locked.map((r) => Number(r.inode)));
    for (const payload of encodeChanges('session-end', { inos: new Set(), renamed: new Set(), entries: [], locks: inodes })) {
      await sql`SELECT pg_notify(${CHANGE_CHANNEL}, ${payload})`.execute(tx);
    }
    const { rows } = await sql<Pick<NodeRow, 'inode' | 'length' | 'nlink'> & { others: number }>`
      WITH s AS (DELETE FROM sustained WHERE sid = ${sid} RETURNING inode)
      SELECT n.inode, n.length, n.nlink,
             (SELECT count(*)::int FROM sustained o WHERE o.inode = n.inode AND o.sid <> ${sid}) AS others
      FROM s JOIN node n ON n.inode = s.inode FOR UPDATE OF n`.execute(tx);
    for (const r of rows) {
      if (r.nlink === 0 && r.others === 0) await destroyInode(ctx, tx, Number(r.inode), Number(r.length));
    }
    return true;
  });
}

export async function cleanExpiredSessions(ctx: MetaContext, now = Date.now()): Promise<number> {
  const rows = await ctx.db.selectFrom('session').select('sid').where('expire', '<', BigInt(now)).orderBy('sid').limit(1000).execute();
  let cleaned = 0;
  for (const r of rows) {
    if (Number(r.sid) === ctx.sid) continue;
    if (await endSession(ctx, Number(r.sid), now)) cleaned++;
  }
  return cleaned;
}

/** The last close of an inode on this client: an unlinked inode kept for it can now go. */
export async function releaseSustained(ctx: MetaContext, ino: number): Promise<void> {
  const sid = ctx.sid;
  if (sid === undefined) return;
  await inTransaction(ctx, async (tx) => {
    const del = await tx.deleteFrom('sustained').where('sid', '=', BigInt(sid)).where('inode', '=', BigInt(ino)).executeTakeFirst();
    if (del.numDeletedRows !== 1n) return;
    const { rows } = await sql<Pick<NodeRow, 'length' | 'nlink'> & { others: number }>`
      SELECT length, nlink, (SELECT count(*)::int FROM sustained WHERE inode = ${ino}) AS others
      FROM node WHERE inode = ${ino} FOR UPDATE`.execute(tx);
    const row = rows[0];
    if (row !== undefined && row.nlink === 0 && row.others === 0) await destroyInode(ctx, tx, ino, Number(row.length));
  });
}
