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
import { applyLock, conflicts, releasesAny, type LockRange, type LockType } from './lock-ranges.js';
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

/** Sets or clears a lock (F_SETLK, flock): granted, or refused with the lock in the way. */
export async function setLock(ctx: MetaContext, req: LockRequest): Promise<LockResult> {
  const sid = sessionOf(ctx);
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

export { conflicts };
