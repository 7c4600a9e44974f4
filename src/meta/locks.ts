/**
 * File locks in the database (decision 66): granting, testing and releasing flock(2), POSIX and
 * OFD locks for this client's session, each change one transaction that first locks the file's
 * node row, so that two hosts asking at once are served one after the other and never both
 * granted conflicting locks. A flock and a POSIX lock never conflict with each other (as on
 * Linux); OFD locks are POSIX locks whose owner is an open file.
 */
import { sql, type Transaction } from 'kysely';
import type { Database } from '../db/index.js';
import { FsError } from '../errors.js';
import { LOCK_EOF, applyLock, conflicts, releasesAny, type LockRange, type LockType } from './lock-ranges.js';
import { inTransaction, statement } from './tx.js';
import type { MetaContext } from './context.js';

export type LockKind = 'posix' | 'flock';

export interface LockRequest {
  readonly ino: number;
  /** The kernel's lock owner on this client (64 bits). */
  readonly owner: bigint;
  readonly kind: LockKind;
  /** undefined: unlock. */
  readonly type: LockType | undefined;
  readonly lo: number;
  readonly hi: number;
  /** The requesting process on this client (reported by F_GETLK to processes here). */
  readonly pid: number;
  /** The caller knows `owner` holds no lock of `kind` on the file: a grant needs no merge. */
  readonly holdsNone?: boolean;
}

/** A lock held by someone: what F_GETLK reports, and what a refused request ran into. */
export interface HeldLock extends LockRange {
  /** The holder's session: this client's own, or another mount's. */
  readonly sid: number;
  readonly owner: bigint;
  readonly pid: number;
}

export interface LockResult {
  /** The lock that stands in the way (nothing changed), or undefined: granted. */
  readonly conflict: HeldLock | undefined;
  /** The request gave up something (an unlock or a downgrade): waiters may now proceed. */
  readonly released: boolean;
}

const KIND = { posix: 1, flock: 2 } as const;
const TYPE = { read: 1, write: 2 } as const;

/** owner is unsigned 64-bit from the kernel, int8 in the database. */
const toDb = (owner: bigint): string => BigInt.asIntN(64, owner).toString();

interface LockRow { sid: string; owner: string; type: number; lo: string; hi: string; pid: number }

function held(row: LockRow): HeldLock {
  return {
    sid: Number(row.sid), owner: BigInt.asUintN(64, BigInt(row.owner)), type: row.type === TYPE.write ? 'write' : 'read',
    lo: Number(row.lo), hi: Number(row.hi), pid: row.pid,
  };
}

function sessionOf(ctx: MetaContext): number {
  if (ctx.sid === undefined) throw FsError.of('ENOLCK', 'locks need a registered session (a mount)');
  return ctx.sid;
}

/** Locks the file's node row: lock changes of one file are serialized across hosts. */
async function lockFile(tx: Transaction<Database>, ino: number): Promise<void> {
  const { rows } = await sql`SELECT 1 FROM node WHERE inode = ${ino} FOR UPDATE`.execute(tx);
  if (rows.length === 0) throw FsError.ENOENT(`no inode ${ino}`);
}

/** The first lock of another owner that conflicts with a `type` lock of [lo, hi). */
async function firstConflict(db: Transaction<Database> | MetaContext['db'], sid: number, req: LockRequest, type: LockType): Promise<HeldLock | undefined> {
  const { rows } = await sql<LockRow>`
    SELECT sid, owner, type, lo, hi, pid FROM file_lock
    WHERE inode = ${req.ino} AND kind = ${KIND[req.kind]} AND lo < ${req.hi} AND hi > ${req.lo}
      AND NOT (sid = ${sid} AND owner = ${toDb(req.owner)}::int8)
      AND (type = ${TYPE.write} OR ${TYPE[type]}::int2 = ${TYPE.write})
    ORDER BY lo LIMIT 1`.execute(db);
  const row = rows[0];
  return row === undefined ? undefined : held(row);
}

/**
 * Sets or clears a lock (F_SETLK, flock): granted, or refused with the lock in the way. One
 * round trip for the common cases (an unlock of the whole file; a flock; a lock by an owner that
 * holds nothing else on the file), else one transaction that merges and splits ranges.
 */
export async function setLock(ctx: MetaContext, req: LockRequest): Promise<LockResult> {
  const sid = sessionOf(ctx);
  try {
    if (req.type === undefined && req.lo === 0 && req.hi === LOCK_EOF) return { conflict: undefined, released: await releaseOwner(ctx, req.ino, req.owner, req.kind) };
    if (req.type !== undefined && (req.kind === 'flock' || req.holdsNone === true)) return await grant(ctx, sid, req, req.type);
    return await setLockInTransaction(ctx, sid, req);
  } catch (err) {
    if ((err as { code?: unknown }).code === FOREIGN_KEY_VIOLATION) throw FsError.of('ENOLCK', 'this mount\'s session was taken for dead: its locks are gone', err);
    if ((err as { code?: unknown }).code === NO_DATA_FOUND) throw FsError.ENOENT(`no inode ${req.ino}`);
    throw err;
  }
}

/** SQLSTATEs of objectfs_grant_lock and of a lock row whose session is gone. */
const NO_DATA_FOUND = 'P0002';
const FOREIGN_KEY_VIOLATION = '23503';

/** objectfs_grant_lock (migration 0004): the owner's lock replaced by `type` over [lo, hi), unless another is in the way. */
async function grant(ctx: MetaContext, sid: number, req: LockRequest, type: LockType): Promise<LockResult> {
  const { rows } = await statement(() => sql<{ c_sid: string | null; c_owner: string; c_type: number; c_lo: string; c_hi: string; c_pid: number; c_released: boolean }>`
    SELECT * FROM objectfs_grant_lock(${req.ino}::int8, ${KIND[req.kind]}::int2, ${sid}::int8, ${toDb(req.owner)}::int8,
      ${TYPE[type]}::int2, ${req.lo}::int8, ${req.hi}::int8, ${req.pid}::int4)`.execute(ctx.db), ctx);
  const row = rows[0];
  if (row === undefined) throw new Error('objectfs_grant_lock returned no row');
  if (row.c_sid === null) return { conflict: undefined, released: row.c_released };
  return { conflict: held({ sid: row.c_sid, owner: row.c_owner, type: row.c_type, lo: row.c_lo, hi: row.c_hi, pid: row.c_pid }), released: false };
}

async function setLockInTransaction(ctx: MetaContext, sid: number, req: LockRequest): Promise<LockResult> {
  return inTransaction(ctx, async (tx) => {
    await lockFile(tx, req.ino);
    if (req.type !== undefined) {
      const conflict = await firstConflict(tx, sid, req, req.type);
      if (conflict !== undefined) return { conflict, released: false };
    }
    const { rows } = await sql<LockRow>`
      DELETE FROM file_lock WHERE inode = ${req.ino} AND kind = ${KIND[req.kind]} AND sid = ${sid} AND owner = ${toDb(req.owner)}::int8
      RETURNING sid, owner, type, lo, hi, pid`.execute(tx);
    const before = rows.map(held).sort((a, b) => a.lo - b.lo);
    // flock holds the whole file: a new flock replaces the old one (a conversion, not atomic on Linux either).
    const after = req.kind === 'flock' ? (req.type === undefined ? [] : [{ type: req.type, lo: req.lo, hi: req.hi }]) : applyLock(before, req.lo, req.hi, req.type);
    if (after.length > 0) {
      await tx.insertInto('file_lock').values(after.map((r) => ({
        inode: req.ino, sid, owner: BigInt.asIntN(64, req.owner), kind: KIND[req.kind], type: TYPE[r.type], lo: r.lo, hi: r.hi, pid: req.pid,
      }))).execute();
    }
    return { conflict: undefined, released: releasesAny(before, after) };
  });
}

/** F_GETLK: the first lock of another owner that would stop a `type` lock of the range. */
export async function testLock(ctx: MetaContext, req: LockRequest & { type: LockType }): Promise<HeldLock | undefined> {
  const sid = sessionOf(ctx);
  return statement(() => firstConflict(ctx.db, sid, req, req.type), ctx);
}

/** Drops every lock of `kind` that `owner` holds on the file (close, release); true if there were any. */
export async function releaseOwner(ctx: MetaContext, ino: number, owner: bigint, kind: LockKind): Promise<boolean> {
  const sid = sessionOf(ctx);
  const result = await statement(() => sql`
    DELETE FROM file_lock WHERE inode = ${ino} AND kind = ${KIND[kind]} AND sid = ${sid} AND owner = ${toDb(owner)}::int8`.execute(ctx.db), ctx);
  return (result.numAffectedRows ?? 0n) > 0n;
}

/** A lock as `objectfs status` lists it. */
export interface ListedLock extends HeldLock {
  readonly ino: number;
  readonly kind: LockKind;
}

/** Every lock held on the volume, by session then inode (for status). */
export async function listLocks(ctx: MetaContext): Promise<ListedLock[]> {
  const { rows } = await statement(() => sql<LockRow & { inode: string; kind: number }>`
    SELECT inode, kind, sid, owner, type, lo, hi, pid FROM file_lock ORDER BY sid, inode, lo`.execute(ctx.db), ctx);
  return rows.map((r) => ({ ...held(r), ino: Number(r.inode), kind: r.kind === KIND.flock ? 'flock' : 'posix' }));
}

export { conflicts };
