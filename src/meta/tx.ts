/**
 * Running operations against the database: every mutating POSIX operation is one transaction
 * (or one statement), rerun with backoff on serialization failures, deadlocks, lost
 * connections and detected races. READ COMMITTED (PostgreSQL's default) with explicit row
 * locks taken in ascending inode order.
 */
import type { Transaction } from 'kysely';
import { isConnectionLost, isRetryableConflict, withRetry, type Database } from '../db/index.js';
import { RaceDetected } from './rows.js';
import type { MetaContext } from './context.js';

function transient(err: unknown): boolean {
  return err instanceof RaceDetected || isRetryableConflict(err) || isConnectionLost(err);
}

/** Runs `fn` in one transaction, retried as a whole on transient errors. */
export function inTransaction<T>(ctx: MetaContext, fn: (tx: Transaction<Database>) => Promise<T>): Promise<T> {
  return withRetry(() => ctx.db.transaction().execute(fn), transient);
}

/** Runs a single-statement operation (atomic by itself), retried on transient errors. */
export function statement<T>(fn: () => Promise<T>): Promise<T> {
  return withRetry(fn, transient);
}
