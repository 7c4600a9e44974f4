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
import { quotaErrorOf } from './quota-errors.js';

/** Runs `attempt` with the engine's retry policy, recording latency, reruns and failure when metrics are on. */
async function observed<T>(ctx: RetryContext, kind: 'transaction' | 'statement', attempt: () => Promise<T>): Promise<T> {
  const metrics = ctx.metrics;
  if (metrics === undefined) return withRetry(ctx.retry, attempt, transient, lastError);
  const start = performance.now();
  let attempts = 0;
  try {
    const value = await withRetry(ctx.retry, () => { attempts++; return attempt(); }, transient, lastError);
    metrics.metaTx(kind, (performance.now() - start) / 1000, attempts - 1, false);
    return value;
  } catch (err) {
    metrics.metaTx(kind, (performance.now() - start) / 1000, attempts - 1, true);
    throw err;
  }
}

/** What a retried operation needs from the engine: its retry policy and where metrics go. */
export type RetryContext = Pick<MetaContext, 'metrics' | 'retry'>;

/** Default retry budget of metadata operations (`--meta-retry-timeout`): a restart is waited out. */
export const DEFAULT_META_RETRY_MS = 60_000;

/**
 * The retry policy of metadata operations: as many attempts as fit in `budgetMs` (a count
 * limit would end a long outage early: 30 capped at 2 s each gave up after about 24 s), with
 * backoff from 4 ms doubling to 2 s.
 */
export function metaRetryPolicy(budgetMs = DEFAULT_META_RETRY_MS): RetryPolicy {
  return Object.freeze({ maxAttempts: Infinity, baseDelayMs: 4, maxDelayMs: 2000, budgetMs });
}

function transient(err: unknown): 'retry' | 'fail' {
  return err instanceof RaceDetected || isRetryableConflict(err) || isConnectionLost(err) ? 'retry' : 'fail';
}

const lastError = (err: unknown): Error => (err instanceof Error ? err : new Error(String(err)));

/** Runs `fn` in one transaction, retried as a whole on transient errors. */
export function inTransaction<T>(ctx: MetaContext, fn: (tx: Transaction<Database>) => Promise<T>): Promise<T> {
  // A quota check fails the commit with its own SQLSTATE (migration 0008): EDQUOT or ENOSPC here.
  return observed(ctx, 'transaction', () => ctx.db.transaction().execute(fn)).catch((err: unknown) => { throw quotaErrorOf(err); });
}

/** Runs a single-statement operation (atomic by itself), retried on transient errors. */
export function statement<T>(fn: () => Promise<T>, ctx: RetryContext): Promise<T> {
  return observed(ctx, 'statement', fn).catch((err: unknown) => { throw quotaErrorOf(err); });
}
