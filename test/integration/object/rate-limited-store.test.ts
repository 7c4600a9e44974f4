/**
 * RateLimitedStore over a real FileStore: a limit slows puts and gets to about its rate, a
 * limit changed live takes effect for the next requests, 0 removes it.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileStore, RateLimitedStore } from '../../../src/object/index.js';

const MiB = 1 << 20;
let dir: string | undefined;
after(async () => { if (dir) await rm(dir, { recursive: true, force: true }); });

async function seconds(fn: () => Promise<unknown>): Promise<number> {
  const t = performance.now();
  await fn();
  return (performance.now() - t) / 1000;
}

test('puts and gets are held to the limit; the limit changes live', async () => {
  dir = await mkdtemp(join(tmpdir(), 'rate-'));
  const store = new RateLimitedStore(new FileStore(dir), { uploadBytesPerSecond: 2 * MiB, downloadBytesPerSecond: 0 });
  const data = Buffer.alloc(MiB, 1);
  // 6 MiB at 2 MiB/s with one second of burst: at least 2 s.
  const limitedPut = await seconds(async () => { for (let i = 0; i < 6; i++) await store.put(`k${i}`, data); });
  assert.ok(limitedPut >= 1.9, `6 MiB of puts at 2 MiB/s took ${limitedPut.toFixed(2)} s`);
  const freeGet = await seconds(async () => { for (let i = 0; i < 6; i++) await store.get(`k${i}`); });
  store.setLimits({ uploadBytesPerSecond: 0, downloadBytesPerSecond: 2 * MiB });
  const limitedGet = await seconds(async () => { for (let i = 0; i < 6; i++) await store.get(`k${i}`); });
  assert.ok(limitedGet >= 1.9 && limitedGet > freeGet, `gets: ${limitedGet.toFixed(2)} s limited, ${freeGet.toFixed(2)} s free`);
  assert.deepEqual(store.limits(), { uploadBytesPerSecond: 0, downloadBytesPerSecond: 2 * MiB });
  const freePut = await seconds(async () => { for (let i = 0; i < 6; i++) await store.put(`j${i}`, data); });
  assert.ok(freePut < limitedPut, 'the upload limit was lifted');
  await store.close();
});
