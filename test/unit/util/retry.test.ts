/**
 * The retry loop of S3Store and the metadata engine: attempt counting, classification, backoff
 * bounds, abort, and a time budget that alone bounds the metadata policy.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { backoffDelay, withRetry } from '../../../src/util/retry.js';
import { DEFAULT_META_RETRY_MS, metaRetryPolicy } from '../../../src/meta/tx.js';

const fast = { maxAttempts: 4, baseDelayMs: 1, maxDelayMs: 2 };
const exhausted = (err: unknown, n: number): Error => new Error(`gave up after ${n}`, { cause: err });

describe('withRetry', () => {
  test('returns the first success, counting attempts from 1', async () => {
    const seen: number[] = [];
    const v = await withRetry(fast, async (n) => { seen.push(n); if (n < 3) throw new Error('flaky'); return 'ok'; },
      () => 'retry', exhausted);
    assert.equal(v, 'ok');
    assert.deepEqual(seen, [1, 2, 3]);
  });

  test('gives up after maxAttempts with onExhausted', async () => {
    let calls = 0;
    await assert.rejects(withRetry(fast, async () => { calls++; throw new Error('down'); }, () => 'retry', exhausted),
      /gave up after 4/);
    assert.equal(calls, 4);
  });

  test('a "fail" classification rethrows the original error at once', async () => {
    let calls = 0;
    const original = new Error('auth');
    await assert.rejects(withRetry(fast, async () => { calls++; throw original; }, () => 'fail', exhausted),
      (err: unknown) => err === original);
    assert.equal(calls, 1);
  });

  test('an abort during backoff rejects with the signal reason without further attempts', async () => {
    let calls = 0;
    const started = Date.now();
    await assert.rejects(
      withRetry({ maxAttempts: 10, baseDelayMs: 10_000, maxDelayMs: 10_000 }, async () => { calls++; throw new Error('down'); },
        () => 'retry', exhausted, AbortSignal.timeout(50)),
      { name: 'TimeoutError' });
    assert.ok(calls <= 2, `${calls} attempts`);
    assert.ok(Date.now() - started < 2000);
  });

  test('backoff is full jitter, doubling and capped', () => {
    const policy = { maxAttempts: 20, baseDelayMs: 100, maxDelayMs: 1000 };
    for (let i = 0; i < 200; i++) {
      assert.ok(backoffDelay(policy, 1) < 100);
      assert.ok(backoffDelay(policy, 3) < 400);
      assert.ok(backoffDelay(policy, 15) < 1000);
      assert.ok(backoffDelay(policy, 1) >= 0);
    }
  });

  test('a budget: the last attempt comes at the budget, not before and not a backoff later', async () => {
    const budgetMs = 300;
    let calls = 0;
    let last = 0;
    const started = Date.now();
    await assert.rejects(withRetry({ maxAttempts: Infinity, baseDelayMs: 1, maxDelayMs: 250, budgetMs }, async () => {
      calls++;
      last = Date.now() - started;
      throw new Error('down');
    }, () => 'retry', exhausted), /gave up/);
    const elapsed = Date.now() - started;
    assert.ok(last >= budgetMs, `last attempt at ${last} ms`);
    assert.ok(elapsed < budgetMs + 100, `gave up after ${elapsed} ms`);
    assert.ok(calls > 2, `${calls} attempts`);
  });

  test('the metadata policy is bounded by its time budget alone (60 s unless configured)', async () => {
    assert.equal(DEFAULT_META_RETRY_MS, 60_000);
    assert.equal(metaRetryPolicy().budgetMs, 60_000);
    assert.equal(metaRetryPolicy().maxAttempts, Infinity, 'no attempt count ends a long outage early (30 attempts gave up after about 24 s)');
    const started = Date.now();
    await assert.rejects(withRetry(metaRetryPolicy(3000), async () => { throw new Error('down'); }, () => 'retry', exhausted));
    const elapsed = Date.now() - started;
    assert.ok(elapsed >= 3000 && elapsed < 3200, `a 3 s budget gave up after ${elapsed} ms`);
  });
});
