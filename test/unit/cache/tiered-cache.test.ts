/** TieredCache over a real MemoryCache and a real DiskCache (plus a gated L2 to show put ordering). */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BlockCache, CacheUsage } from '../../../src/cache/index.js';
import { DiskCache } from '../../../src/cache/disk-cache.js';
import { MemoryCache } from '../../../src/cache/memory-cache.js';
import { TieredCache } from '../../../src/cache/tiered-cache.js';
import { BLOCK_FILE_HEADER_SIZE as H } from '../../../src/cache/block-file.js';

const KiB = 1024;
const MiB = KiB * KiB;
const key = (n: number): string => `chunks/0/0/${n}_0_${KiB}`;
const block = (seed: number, len = KiB): Buffer => Buffer.alloc(len, seed);

const dirs: string[] = [];
after(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

async function tiers(l1Bytes = MiB, l2Bytes = 10 * MiB): Promise<{ l1: MemoryCache; l2: DiskCache; cache: TieredCache }> {
  const dir = await mkdtemp(join(tmpdir(), 'objectfs-tiered-cache-'));
  dirs.push(dir);
  const l1 = new MemoryCache({ maxBytes: l1Bytes });
  const l2 = await DiskCache.open({ dir, maxBytes: l2Bytes });
  return { l1, l2, cache: new TieredCache(l1, l2) };
}

/** An L2 whose puts wait until released: shows what TieredCache.put and close wait for. */
class GatedCache implements BlockCache {
  readonly map = new Map<string, Buffer>();
  #release!: () => void;
  readonly gate = new Promise<void>((r) => { this.#release = r; });
  open(): void { this.#release(); }
  async get(k: string): Promise<Buffer | undefined> { return this.map.get(k); }
  async put(k: string, d: Buffer): Promise<void> { await this.gate; this.map.set(k, d); }
  async delete(k: string): Promise<void> { this.map.delete(k); }
  async has(k: string): Promise<boolean> { return this.map.has(k); }
  usage(): CacheUsage { return { bytes: 0, entries: this.map.size }; }
  resize(): void {}
  async close(): Promise<void> {}
}

describe('TieredCache', () => {
  test('put goes to both tiers; get is served by L1 first', async () => {
    const { l1, l2, cache } = await tiers();
    await cache.put(key(1), block(1));
    await cache.idle();
    assert.equal(await l1.has(key(1)), true);
    assert.equal(await l2.has(key(1)), true);
    assert.deepEqual(await cache.get(key(1)), block(1));
    assert.equal(l1.stats().hits, 1);
    assert.equal(l2.stats().hits + l2.stats().misses, 0); // L2 not consulted
    await cache.close();
  });

  test('an L2 hit is promoted into L1', async () => {
    const { l1, l2, cache } = await tiers();
    await l2.put(key(2), block(2));
    assert.equal(await cache.has(key(2)), true);
    assert.deepEqual(await cache.get(key(2)), block(2));
    assert.equal(await l1.has(key(2)), true);
    assert.deepEqual(await cache.get(key(2)), block(2));
    assert.deepEqual(l1.stats(), { hits: 1, misses: 1, evictions: 0 });
    assert.equal(l2.stats().hits, 1);
    await cache.close();
  });

  test('a miss in both tiers', async () => {
    const { cache } = await tiers();
    assert.equal(await cache.get(key(3)), undefined);
    assert.equal(await cache.has(key(3)), false);
    await cache.close();
  });

  test('an L1 eviction falls back to L2', async () => {
    const { l1, cache } = await tiers(8 * KiB); // L1 holds 8 blocks
    for (let i = 1; i <= 20; i++) await cache.put(key(i), block(i));
    await cache.idle();
    assert.equal(await l1.has(key(1)), false);
    assert.deepEqual(await cache.get(key(1)), block(1));
    await cache.close();
  });

  test('delete removes from both tiers', async () => {
    const { l1, l2, cache } = await tiers();
    await cache.put(key(4), block(4));
    await cache.idle();
    await cache.delete(key(4));
    assert.equal(await l1.has(key(4)), false);
    assert.equal(await l2.has(key(4)), false);
    assert.equal(await cache.get(key(4)), undefined);
    await cache.close();
  });

  test('usage adds the tiers up; tiers() gives each; resize goes to L2', async () => {
    const { cache } = await tiers();
    for (let i = 1; i <= 3; i++) await cache.put(key(i), block(i));
    await cache.idle();
    assert.deepEqual(cache.tiers(), { l1: { bytes: 3 * KiB, entries: 3 }, l2: { bytes: 3 * (KiB + H), entries: 3 } });
    assert.deepEqual(cache.usage(), { bytes: 3 * KiB + 3 * (KiB + H), entries: 6 });
    cache.resize(KiB + H);
    assert.deepEqual(cache.tiers().l2, { bytes: KiB + H, entries: 1 });
    assert.equal(cache.tiers().l1.entries, 3);
    await cache.close();
  });

  test('put does not wait for L2; close does', async () => {
    const l1 = new MemoryCache({ maxBytes: MiB });
    const l2 = new GatedCache();
    const cache = new TieredCache(l1, l2);
    await cache.put(key(5), block(5)); // resolves although L2 is stuck
    assert.equal(await l1.has(key(5)), true);
    assert.equal(await l2.has(key(5)), false);
    let closed = false;
    const closing = cache.close().then(() => { closed = true; });
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(closed, false);
    l2.open();
    await closing;
    assert.equal(await l2.has(key(5)), true);
  });
});
