/** Retry with exponential backoff and jitter, for transactions that met a transient error. */
import { setTimeout as sleep } from 'node:timers/promises';

export interface RetryOptions {
  /** Attempts in all, the first included (default 30). */
  readonly attempts?: number;
  /** First backoff in ms (default 2); doubles up to maxDelayMs. */
  readonly baseDelayMs?: number;
  readonly maxDelayMs?: number;
  /** Give up after this many ms in all (default 60 s): bounded waits, never a hang. */
  readonly budgetMs?: number;
  /** Called before each retry (metrics, logs). */
  readonly onRetry?: (err: unknown, attempt: number) => void;
}

/** Runs `fn` until it succeeds, `shouldRetry` says no, or the attempts or budget run out. */
export async function withRetry<T>(fn: (attempt: number) => Promise<T>, shouldRetry: (err: unknown) => boolean, options: RetryOptions = {}): Promise<T> {
  const attempts = options.attempts ?? 30;
  const base = options.baseDelayMs ?? 2;
  const max = options.maxDelayMs ?? 1000;
  const deadline = Date.now() + (options.budgetMs ?? 60_000);
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (err) {
      if (attempt >= attempts || !shouldRetry(err) || Date.now() >= deadline) throw err;
      options.onRetry?.(err, attempt);
      const delay = Math.min(max, base * 2 ** (attempt - 1));
      await sleep(Math.min(delay / 2 + Math.random() * delay / 2, Math.max(0, deadline - Date.now())));
    }
  }
}
