import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Semaphore } from '../../../src/chunk/semaphore.js';

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('Semaphore', () => {
  test('grants up to capacity, then queues', async () => {
    const s = new Semaphore(2);
    await s.acquire();
    await s.acquire();
    assert.equal(s.used, 2);
    let granted = false;
    const p = s.acquire().then(() => { granted = true; });
    await tick();
    assert.equal(granted, false);
    assert.equal(s.waiting, 1);
    s.release();
    await p;
    assert.equal(granted, true);
    assert.equal(s.used, 2);
  });

  test('FIFO: a small request waits behind a large one that does not fit yet', async () => {
    const s = new Semaphore(10);
    await s.acquire(6);
    const order: string[] = [];
    const big = s.acquire(8).then(() => order.push('big'));
    const small = s.acquire(1).then(() => order.push('small'));
    await tick();
    assert.deepEqual(order, [], 'small would fit, but big is ahead');
    assert.equal(s.tryAcquire(1), false, 'tryAcquire does not jump the queue');
    s.release(6);
    await Promise.all([big, small]);
    assert.deepEqual(order, ['big', 'small']);
    assert.equal(s.used, 9);
  });

  test('an aborted waiter leaves the queue and lets later ones through', async () => {
    const s = new Semaphore(4);
    await s.acquire(3);
    const ac = new AbortController();
    const big = s.acquire(4, ac.signal);
    const small = s.acquire(1);
    await tick();
    ac.abort(new Error('gone'));
    await assert.rejects(big, /gone/);
    await small;
    assert.equal(s.used, 4);
    assert.equal(s.waiting, 0);
    await assert.rejects(s.acquire(1, ac.signal), /gone/, 'an aborted signal rejects (never throws synchronously)');
  });

  test('use() releases on failure too', async () => {
    const s = new Semaphore(1);
    await assert.rejects(s.use(async () => { throw new Error('x'); }), /x/);
    assert.equal(s.used, 0);
    assert.equal(await s.use(async () => 7), 7);
  });

  test('rejects bad units and over-release', () => {
    const s = new Semaphore(2);
    assert.throws(() => s.tryAcquire(3), RangeError);
    assert.throws(() => s.tryAcquire(0), RangeError);
    assert.throws(() => s.release(1), RangeError);
    assert.throws(() => new Semaphore(0), RangeError);
  });
});
