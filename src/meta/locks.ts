/**
 * File locks in the database (decision 66): granting, testing and releasing flock(2), POSIX and
 * OFD locks for this client's session, each change one transaction that first locks the file's
 * node row, so that two hosts asking at once are served one after the other and never both
 * granted conflicting locks. A flock and a POSIX lock never conflict with each other (as on
 * Linux); OFD locks are POSIX locks whose owner is an open file.
 */
import { sql, type Selectable, type Transaction } from 'kysely';
import type { Database, FileLockTable } from '../db/index.js';
import { FsError } from '../errors.js';
import { LOCK_EOF, applyLock, conflicts, releasesAny, type LockRange, type LockType } from './lock-ranges.js';
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

/** objectfs_grant_lock's row: the columns of the lock in the way, prefixed c_ (c_sid NULL: granted). */
type GrantRow = { [K in Exclude<keyof LockRow, 'sid'> as `c_${K}`]: LockRow[K] } & { c_sid: LockRow['sid'] | null; c_released: boolean };

/** objectfs_grant_lock (migration 0004): the owner's lock replaced by `type` over [lo, hi), unless another is in the way. */
async function grant(ctx: MetaContext, sid: number, req: LockRequest, type: LockType): Promise<LockResult> {
  const { rows } = await statement(() => sql<GrantRow>`
    SELECT c_sid, c_owner, c_type, c_lo, c_hi, c_pid, c_released FROM objectfs_grant_lock(${req.ino}::int8, ${KIND[req.kind]}::int2, ${sid}::int8, ${toDb(req.owner)}::int8,
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

/** A lock as `objectfs status` lists it. */
export interface ListedLock extends HeldLock {
  readonly ino: number;
  readonly kind: LockKind;
}

/** Every lock held on the volume, by session then inode (for status). */
export async function listLocks(ctx: MetaContext): Promise<ListedLock[]> {
  const rows = await statement(() => ctx.db.selectFrom('file_lock').select(['inode', 'kind', ...LOCK_COLUMNS])
    .orderBy('sid').orderBy('inode').orderBy('lo').execute(), ctx);
  return rows.map((r) => ({ ...held(r), ino: Number(r.inode), kind: r.kind === KIND.flock ? 'flock' : 'posix' }));
}

export { conflicts };
