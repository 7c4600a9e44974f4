/** MemoryCache: the byte bound, LRU order, the entry-size limit, live resize and counters. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryCache } from '../../../src/cache/memory-cache.js';

const KiB = 1024;
const key = (n: number): string => `chunks/0/0/${n}_0_${KiB}`;
const block = (len: number, fill: number): Buffer => Buffer.alloc(len, fill);

describe('MemoryCache', () => {
  test('round trip, has, delete', async () => {
    const cache = new MemoryCache({ maxBytes: 64 * KiB });
    assert.equal(await cache.get(key(1)), undefined);
    assert.equal(await cache.has(key(1)), false);
    await cache.put(key(1), block(KiB, 1));
    assert.deepEqual(await cache.get(key(1)), block(KiB, 1));
    assert.equal(await cache.has(key(1)), true);
    assert.deepEqual(cache.usage(), { bytes: KiB, entries: 1 });
    await cache.delete(key(1));
    assert.equal(await cache.has(key(1)), false);
    assert.deepEqual(cache.usage(), { bytes: 0, entries: 0 });
    await cache.delete(key(1)); // idempotent
  });

  test('the byte bound holds under many puts of varying sizes', async () => {
    const maxBytes = 100 * KiB;
    const cache = new MemoryCache({ maxBytes });
    let sizes = 0;
    for (let i = 0; i < 2000; i++) {
      const len = 1 + ((i * 7919) % (maxBytes / 4)); // up to the entry limit, never over it
      sizes += len;
      await cache.put(key(i), block(len, i & 0xff));
      const { bytes, entries } = cache.usage();
      assert.ok(bytes <= maxBytes, `after put ${i}: ${bytes} > ${maxBytes}`);
      assert.ok(entries >= 1);
    }
    assert.ok(sizes > 10 * maxBytes);
    assert.ok(cache.stats().evictions > 0);
  });

  test('evicts the least recently used; get and put count as use, has does not', async () => {
    const cache = new MemoryCache({ maxBytes: 4 * KiB * 4 }); // room for exactly 4 blocks of 4 KiB
    for (let i = 1; i <= 4; i++) await cache.put(key(i), block(4 * KiB, i));
    await cache.get(key(1)); // 1 becomes the most recent: order 2,3,4,1
    assert.equal(await cache.has(key(2)), true); // does not refresh 2
    await cache.put(key(5), block(4 * KiB, 5)); // evicts 2
    assert.equal(await cache.has(key(2)), false);
    await cache.put(key(3), block(4 * KiB, 3)); // re-put refreshes 3: order 4,1,5,3
    await cache.put(key(6), block(4 * KiB, 6)); // evicts 4
    assert.deepEqual(
      await Promise.all([1, 2, 3, 4, 5, 6].map((n) => cache.has(key(n)))),
      [true, false, true, false, true, true]);
    assert.equal(cache.stats().evictions, 2);
  });

  test('declines a block larger than a quarter of the bound', async () => {
    const cache = new MemoryCache({ maxBytes: 40 * KiB });
    await cache.put(key(1), block(10 * KiB, 1)); // exactly a quarter: accepted
    await cache.put(key(2), block(10 * KiB + 1, 2));
    assert.equal(await cache.has(key(1)), true);
    assert.equal(await cache.has(key(2)), false);
    assert.deepEqual(cache.usage(), { bytes: 10 * KiB, entries: 1 });
    assert.equal(cache.stats().evictions, 0); // declining is not evicting

    const off = new MemoryCache({ maxBytes: 0 });
    await off.put(key(1), block(1, 1));
    assert.deepEqual(off.usage(), { bytes: 0, entries: 0 });
  });

  test('resize shrinks by evicting the least recently used, and grows', async () => {
    const cache = new MemoryCache({ maxBytes: 80 * KiB });
    for (let i = 1; i <= 8; i++) await cache.put(key(i), block(10 * KiB, i));
    await cache.get(key(1)); // most recent now
    cache.resize(40 * KiB);
    assert.deepEqual(cache.usage(), { bytes: 40 * KiB, entries: 4 });
    assert.deepEqual(
      await Promise.all([1, 2, 3, 4, 5, 6, 7, 8].map((n) => cache.has(key(n)))),
      [true, false, false, false, false, true, true, true]);
    assert.equal(cache.stats().evictions, 4);
    // Order survives the rebuild: 6 is now the least recent.
    await cache.put(key(9), block(10 * KiB, 9));
    assert.equal(await cache.has(key(6)), false);
    // Entries over the new entry limit (a quarter) go too.
    cache.resize(20 * KiB);
    assert.deepEqual(cache.usage(), { bytes: 0, entries: 0 });
    cache.resize(1024 * KiB);
    await cache.put(key(10), block(200 * KiB, 10));
    assert.deepEqual(cache.usage(), { bytes: 200 * KiB, entries: 1 });
    assert.throws(() => cache.resize(-1), RangeError);
  });

  test('stats count hits, misses and evictions', async () => {
    const cache = new MemoryCache({ maxBytes: 8 * KiB });
    await cache.put(key(1), block(2 * KiB, 1));
    await cache.get(key(1));
    await cache.get(key(1));
    await cache.get(key(2));
    for (let i = 3; i < 10; i++) await cache.put(key(i), block(2 * KiB, i));
    await cache.delete(key(9)); // a delete is not an eviction
    assert.deepEqual(cache.stats(), { hits: 2, misses: 1, evictions: 4 });
  });

  test('rejects a bad bound', () => {
    assert.throws(() => new MemoryCache({ maxBytes: -1 }), RangeError);
    assert.throws(() => new MemoryCache({ maxBytes: 1.5 }), RangeError);
  });
});
