/**
 * Mount sessions: register, heartbeat, expiry, and cleaning a dead session's leftovers
 * (inodes it kept open after their last unlink). Any live client may clean any dead session.
 */
import { sql } from 'kysely';
import { CHANGE_CHANNEL, encodeChanges } from './change-feed.js';
import { destroyInode } from './remove.js';
import { inTransaction, statement } from './tx.js';
import type { MetaContext } from './context.js';
import type { SessionInfo, SessionRow } from './types.js';

/** The stored info: what the client said about itself, plus the time of its last heartbeat (ms). */
function storedInfo(info: SessionInfo, now: number): string {
  return JSON.stringify({ ...info, heartbeat: now });
}

export async function registerSession(ctx: MetaContext, info: SessionInfo, timeoutMs: number): Promise<number> {
  const { rows } = await statement(() => sql<{ value: bigint }>`
    UPDATE counter SET value = value + 1 WHERE name = 'next_session' RETURNING value`.execute(ctx.db), ctx);
  const sid = Number(rows[0]?.value);
  const now = Date.now();
  await statement(() => sql`INSERT INTO session (sid, expire, info) VALUES (${sid}, ${now + timeoutMs}, ${storedInfo(info, now)})`.execute(ctx.db), ctx);
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
  const { rows } = await statement(() => sql<{ created: boolean }>`
    INSERT INTO session (sid, expire, info) VALUES (${sid}, ${now + timeoutMs}, ${storedInfo(info, now)})
    ON CONFLICT (sid) DO UPDATE SET expire = EXCLUDED.expire, info = EXCLUDED.info
    RETURNING (xmax = 0) AS created`.execute(ctx.db), ctx);
  return rows[0]?.created === true;
}

export async function listSessions(ctx: MetaContext): Promise<SessionRow[]> {
  const { rows } = await sql<{ sid: bigint; expire: bigint; info: SessionInfo & { heartbeat?: number } }>`
    SELECT sid, expire, info FROM session ORDER BY sid`.execute(ctx.db);
  return rows.map((r) => {
    const { heartbeat, ...info } = r.info;
    return { sid: Number(r.sid), expire: Number(r.expire), heartbeat: heartbeat ?? 0, info };
  });
}

/** Ends session `sid`: releases the inodes it kept alive, then removes it. Only if `expiredBefore` still holds. */
export async function endSession(ctx: MetaContext, sid: number, expiredBefore?: number): Promise<boolean> {
  return inTransaction(ctx, async (tx) => {
    const gone = expiredBefore === undefined
      ? await sql`DELETE FROM session WHERE sid = ${sid}`.execute(tx)
      : await sql`DELETE FROM session WHERE sid = ${sid} AND expire < ${expiredBefore}`.execute(tx);
    if (expiredBefore !== undefined && gone.numAffectedRows !== 1n) return false;
    // Its locks go with it; waiters on other hosts are told at commit (NOTIFY is transactional).
    const { rows: locked } = await sql<{ inode: string }>`DELETE FROM file_lock WHERE sid = ${sid} RETURNING inode`.execute(tx);
    const inodes = new Set(locked.map((r) => Number(r.inode)));
    for (const payload of encodeChanges('session-end', { inos: new Set(), renamed: new Set(), entries: [], locks: inodes })) {
      await sql`SELECT pg_notify(${CHANGE_CHANNEL}, ${payload})`.execute(tx);
    }
    const { rows } = await sql<{ inode: bigint; length: bigint; nlink: number; others: number }>`
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
  const { rows } = await sql<{ sid: bigint }>`SELECT sid FROM session WHERE expire < ${now} ORDER BY sid LIMIT 1000`.execute(ctx.db);
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
    const del = await sql`DELETE FROM sustained WHERE sid = ${sid} AND inode = ${ino}`.execute(tx);
    if (del.numAffectedRows !== 1n) return;
    const { rows } = await sql<{ length: bigint; nlink: number; others: number }>`
      SELECT length, nlink, (SELECT count(*)::int FROM sustained WHERE inode = ${ino}) AS others
      FROM node WHERE inode = ${ino} FOR UPDATE`.execute(tx);
    const row = rows[0];
    if (row !== undefined && row.nlink === 0 && row.others === 0) await destroyInode(ctx, tx, ino, Number(row.length));
  });
}
