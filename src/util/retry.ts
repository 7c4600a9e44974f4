/**
 * Bounded retry with capped exponential backoff and full jitter (the AWS architecture-blog
 * scheme): many hosts retrying against one struggling endpoint spread out instead of
 * arriving in waves.
 */
import { setTimeout as sleep } from 'node:timers/promises';

/** Retry policy. All members are required so a caller's defaults are visible in one place. */
export interface RetryPolicy {
  /** Total attempts including the first (>= 1; Infinity: the budget alone limits them). */
  readonly maxAttempts: number;
  /** Backoff ceiling of the first retry, in ms; doubles per retry. */
  readonly baseDelayMs: number;
  /** Upper bound of one backoff, in ms. */
  readonly maxDelayMs: number;
  /** Give up once this many ms have passed since the first attempt: bounded waits, never a hang. */
  readonly budgetMs?: number;
}

/** What a failed attempt means: `retry` tries again (if attempts remain), `fail` rethrows now. */
export type RetryDecision = 'retry' | 'fail';

/**
 * Runs `attempt(n)` (n from 1) until it resolves, `classify` says `fail`, attempts run out or
 * `signal` aborts. On exhaustion `onExhausted(lastError, attempts)` builds the thrown error.
 * An abort is rethrown as the signal's reason so toErrno sees AbortError/TimeoutError.
 */
export async function withRetry<T>(
  policy: RetryPolicy,
  attempt: (n: number) => Promise<T>,
  classify: (err: unknown) => RetryDecision,
  onExhausted: (err: unknown, attempts: number) => Error,
  signal?: AbortSignal,
): Promise<T> {
  const deadline = policy.budgetMs === undefined ? Infinity : Date.now() + policy.budgetMs;
  for (let n = 1; ; n++) {
    signal?.throwIfAborted();
    try {
      return await attempt(n);
    } catch (err) {
      signal?.throwIfAborted();
      if (classify(err) === 'fail') throw err;
      const left = deadline - Date.now();
      if (n >= policy.maxAttempts || left <= 0) throw onExhausted(err, n);
      // The last wait ends at the deadline, so the final attempt comes at the budget, not before.
      await sleep(Math.min(backoffDelay(policy, n), left), undefined, signal ? { signal } : undefined).catch(() => {
        signal?.throwIfAborted();
      });
    }
  }
}

/** Full-jitter delay before retry number `n` (1-based): uniform in [0, min(max, base·2^(n-1))]. */
export function backoffDelay(policy: RetryPolicy, n: number): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.min(n - 1, 30));
  return Math.floor(Math.random() * ceiling);
}
