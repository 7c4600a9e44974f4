/**
 * File locks in the database (decision 66): granting, testing and releasing flock(2), POSIX and
 * OFD locks for this client's session, each change one transaction that first locks the file's
 * node row, so that two hosts asking at once are served one after the other and never both
 * granted conflicting locks. A flock and a POSIX lock never conflict with each other (as on
 * Linux); OFD locks are POSIX locks whose owner is an open file.
 */
import type { Selectable, Transaction } from 'kysely';
import type { Database, FileLockTable } from '../db/index.js';
import { FsError } from '../errors.js';
import { applyLock, conflicts, releasesAny, type LockRange, type LockType } from './lock-ranges.js';
import { inTransaction, statement } from './tx.js';
import type { Db, MetaContext } from './context.js';

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

/** owner is unsigned 64-bit from the kernel, int8 (signed) in the database. */
const toDb = (owner: bigint): bigint => BigInt.asIntN(64, owner);

/** What a lock query reads of a file_lock row. */
const LOCK_COLUMNS = ['sid', 'owner', 'type', 'lo', 'hi', 'pid'] as const;
type LockRow = Pick<Selectable<FileLockTable>, (typeof LOCK_COLUMNS)[number]>;

function held(row: LockRow): HeldLock {
  return {
    sid: Number(row.sid), owner: BigInt.asUintN(64, row.owner), type: row.type === TYPE.write ? 'write' : 'read',
    lo: Number(row.lo), hi: Number(row.hi), pid: row.pid,
  };
}

function sessionOf(ctx: MetaContext): number {
  if (ctx.sid === undefined) throw FsError.of('ENOLCK', 'locks need a registered session (a mount)');
  return ctx.sid;
}

/** Locks the file's node row: lock changes of one file are serialized across hosts. */
async function lockFile(tx: Transaction<Database>, ino: number): Promise<void> {
  const row = await tx.selectFrom('node').select('inode').where('inode', '=', BigInt(ino)).forUpdate().executeTakeFirst();
  if (row === undefined) throw FsError.ENOENT(`no inode ${ino}`);
}

/** The first lock of another owner that conflicts with a `type` lock of [lo, hi). */
async function firstConflict(db: Transaction<Database> | MetaContext['db'], sid: number, req: LockRequest, type: LockType): Promise<HeldLock | undefined> {
  const row = await db.selectFrom('file_lock').select(LOCK_COLUMNS)
    .where('inode', '=', BigInt(req.ino)).where('kind', '=', KIND[req.kind])
    .where('lo', '<', BigInt(req.hi)).where('hi', '>', BigInt(req.lo))
    .where((eb) => eb.not(eb.and([eb('sid', '=', BigInt(sid)), eb('owner', '=', toDb(req.owner))])))
    // A write lock is stopped by any lock, a read lock only by write locks.
    .$if(type === 'read', (qb) => qb.where('type', '=', TYPE.write))
    .orderBy('lo').limit(1).executeTakeFirst();
  return row === undefined ? undefined : held(row);
}

/** Deletes the locks of `kind` that (`sid`, `owner`) holds on the file (a query to complete). */
function ownLocks(db: Db, ino: number, kind: LockKind, sid: number, owner: bigint) {
  return db.deleteFrom('file_lock')
    .where('inode', '=', BigInt(ino)).where('kind', '=', KIND[kind])
    .where('sid', '=', BigInt(sid)).where('owner', '=', toDb(owner));
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
    const rows = await ownLocks(tx, req.ino, req.kind, sid, req.owner).returning(LOCK_COLUMNS).execute();
    const before = rows.map(held).sort((a, b) => a.lo - b.lo);
    // flock holds the whole file: a new flock replaces the old one (a conversion, not atomic on Linux either).
    const after = req.kind === 'flock' ? (req.type === undefined ? [] : [{ type: req.type, lo: req.lo, hi: req.hi }]) : applyLock(before, req.lo, req.hi, req.type);
    if (after.length > 0) {
      await tx.insertInto('file_lock').values(after.map((r) => ({
        inode: req.ino, sid, owner: toDb(req.owner), kind: KIND[req.kind], type: TYPE[r.type], lo: r.lo, hi: r.hi, pid: req.pid,
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
  const result = await statement(() => ownLocks(ctx.db, ino, kind, sid, owner).executeTakeFirst(), ctx);
  return result.numDeletedRows > 0n;
}

export { conflicts };
