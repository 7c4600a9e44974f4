/**
 * Running operations against the database: every mutating POSIX operation is one transaction
 * (or one statement), rerun with backoff on serialization failures, deadlocks, lost
 * connections and detected races. READ COMMITTED (PostgreSQL's default) with explicit row
 * locks taken in ascending inode order.
 */
import type { Transaction } from 'kysely';
import { isConnectionLost, isRetryableConflict, type Database } from '../db/index.js';
import { withRetry, type RetryPolicy } from '../util/retry.js';
import { RaceDetected } from './rows.js';
import type { MetaContext } from './context.js';

/** Runs `attempt` with TX_RETRY, recording its latency, reruns and failure when metrics are on. */
async function observed<T>(ctx: Pick<MetaContext, 'metrics'> | undefined, kind: 'transaction' | 'statement', attempt: () => Promise<T>): Promise<T> {
  const metrics = ctx?.metrics;
  if (metrics === undefined) return withRetry(TX_RETRY, attempt, transient, lastError);
  const start = performance.now();
  let attempts = 0;
  try {
    const value = await withRetry(TX_RETRY, () => { attempts++; return attempt(); }, transient, lastError);
    metrics.metaTx(kind, (performance.now() - start) / 1000, attempts - 1, false);
    return value;
  } catch (err) {
    metrics.metaTx(kind, (performance.now() - start) / 1000, attempts - 1, true);
    throw err;
  }
}

/** Up to 30 attempts within 60 s: a database restart is waited out, a dead one is not. */
const TX_RETRY: RetryPolicy = Object.freeze({ maxAttempts: 30, baseDelayMs: 4, maxDelayMs: 2000, budgetMs: 60_000 });

function transient(err: unknown): 'retry' | 'fail' {
  return err instanceof RaceDetected || isRetryableConflict(err) || isConnectionLost(err) ? 'retry' : 'fail';
}

const lastError = (err: unknown): Error => (err instanceof Error ? err : new Error(String(err)));

/** Runs `fn` in one transaction, retried as a whole on transient errors. */
export function inTransaction<T>(ctx: MetaContext, fn: (tx: Transaction<Database>) => Promise<T>): Promise<T> {
  return observed(ctx, 'transaction', () => ctx.db.transaction().execute(fn));
}

/**
 * Runs a single-statement operation (atomic by itself), retried on transient errors; `ctx`
 * (optional) is where its metrics go.
 */
export function statement<T>(fn: () => Promise<T>, ctx?: Pick<MetaContext, 'metrics'>): Promise<T> {
  return observed(ctx, 'statement', fn);
}
