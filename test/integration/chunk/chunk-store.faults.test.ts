/**
 * Chunk store failure paths and scheduling, on a FaultyStore over a real FileStore: failed
 * uploads, abort, the write-buffer budget, single-flight downloads, prefetch bounds.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { MemoryCache } from '../../../src/cache/index.js';
import { CHUNK_SIZE, openChunkStore, type ChunkStore, type ChunkStoreOptions } from '../../../src/chunk/index.js';
import { toErrno } from '../../../src/errors.js';
import { FaultyStore, FileStore, StorageUnavailableError } from '../../../src/object/index.js';
import { makeRng, testSeed } from '../../support/prng.js';
import { KiB, MiB, blockObjects, checkReads, testData, writeSlice } from './chunk-fixtures.js';

const BLOCK = 64 * KiB;
const EIO = 5;
const seed = testSeed();

interface Sut {
  readonly faulty: FaultyStore;
  readonly cache: MemoryCache;
  readonly chunks: ChunkStore;
  /** Another chunk store on the same objects with an empty cache. */
  cold(options?: Partial<ChunkStoreOptions>): ChunkStore;
}

async function withSut(options: Partial<ChunkStoreOptions>, fn: (sut: Sut) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'objectfs-chunk-faults-'));
  const faulty = new FaultyStore(new FileStore(dir));
  const cache = new MemoryCache({ maxBytes: 256 * MiB });
  const open = (cache: MemoryCache, o: Partial<ChunkStoreOptions>): ChunkStore =>
    openChunkStore({ store: faulty, cache, blockSize: BLOCK, compression: 'lz4', ...options, ...o });
  const chunks = open(cache, {});
  try {
    await fn({ faulty, cache, chunks, cold: (o = {}) => open(new MemoryCache({ maxBytes: 256 * MiB }), o) });
    await chunks.close();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function isUnavailable(err: unknown): boolean {
  assert.ok(err instanceof StorageUnavailableError, `expected StorageUnavailableError, got ${String(err)}`);
  assert.equal(toErrno(err), EIO);
  return true;
}

describe(`chunk store failures (OBJECTFS_SEED=${seed})`, () => {
  test('puts that always fail: finish rejects with the store error, nothing is stored, the budget is returned', async () => {
    await withSut({}, async ({ faulty, chunks }) => {
      faulty.failAlways(['put']);
      const w = chunks.newSliceWriter(1);
      // Appends may already see the failure of an earlier block; finish must.
      const appended = (async () => { for (let i = 0; i < 8; i++) await w.append(Buffer.alloc(BLOCK / 2, i)); })();
      await appended.catch(isUnavailable);
      await assert.rejects(w.finish(), isUnavailable);
      await assert.rejects(w.append(Buffer.alloc(1)), isUnavailable, 'a failed slice stays failed');
      assert.deepEqual(await blockObjects(faulty), []);
      assert.equal(chunks.bufferedBytes(), 0);
    });
  });

  test('one failed put fails its slice only; a concurrent slice finishes', async () => {
    await withSut({ uploadConcurrency: 1 }, async ({ faulty, chunks }) => {
      const rng = makeRng(seed);
      const good = testData(6 * BLOCK, rng);
      const w = chunks.newSliceWriter(2);
      faulty.failNext(1, ['put']);
      await w.append(Buffer.alloc(BLOCK, 1)).catch(isUnavailable); // its block takes the one failure
      const other = writeSlice(chunks, 3, good, rng);
      await w.append(Buffer.alloc(3 * BLOCK, 2)).catch(isUnavailable);
      await assert.rejects(w.finish(), isUnavailable);
      await other;
      await checkReads(chunks, 3, good, rng, 5);
      assert.ok((await blockObjects(faulty)).every((k) => !k.includes('/2_')), 'no block of the failed slice after its first');
      assert.equal(chunks.bufferedBytes(), 0);
    });
  });

  test('the store going down mid-slice fails it; after comeBack a new slice works', async () => {
    await withSut({}, async ({ faulty, chunks }) => {
      const w = chunks.newSliceWriter(4);
      await w.append(Buffer.alloc(2 * BLOCK, 7));
      faulty.goDown();
      await w.append(Buffer.alloc(BLOCK, 8)).catch(isUnavailable);
      await assert.rejects(w.finish(), isUnavailable);
      faulty.comeBack();
      const rng = makeRng(seed + 1);
      const data = testData(3 * BLOCK + 1, rng);
      await writeSlice(chunks, 5, data, rng);
      await checkReads(chunks, 5, data, rng, 5);
    });
  });

  test('abort drops buffered data and returns its budget; the writer refuses further use', async () => {
    await withSut({}, async ({ faulty, chunks }) => {
      faulty.setLatency(30);
      const w = chunks.newSliceWriter(6);
      await w.append(Buffer.alloc(2 * BLOCK + 100, 1));
      assert.ok(chunks.bufferedBytes() > 0);
      w.abort();
      await assert.rejects(w.append(Buffer.alloc(1)), { name: 'AbortError' });
      await assert.rejects(w.finish(), { name: 'AbortError' });
      await chunks.close(); // in-flight puts are cancelled or complete: either way nothing is held
      assert.equal(chunks.bufferedBytes(), 0);
    });
  });

  test('a slice never exceeds 64 MiB: the append past it is a RangeError', async () => {
    await withSut({}, async ({ chunks }) => {
      const w = chunks.newSliceWriter(8);
      await w.append(Buffer.alloc(CHUNK_SIZE - 10));
      await assert.rejects(w.append(Buffer.alloc(11)), RangeError);
      await w.append(Buffer.alloc(10));
      await assert.rejects(w.append(Buffer.alloc(1)), RangeError);
      await w.finish();
      assert.equal(w.length, CHUNK_SIZE);
    });
  });
});

describe(`chunk store scheduling (OBJECTFS_SEED=${seed})`, () => {
  test('back-pressure: concurrent writers never hold more than the write buffer', async () => {
    const budget = 4 * BLOCK;
    let fullCalls = 0;
    await withSut({ bufferBytes: budget, uploadConcurrency: 3, onBufferFull: () => { fullCalls++; } }, async ({ faulty, chunks, cold }) => {
      faulty.setLatency(15);
      let max = 0;
      let sampling = true;
      const sample = (): void => { max = Math.max(max, chunks.bufferedBytes()); };
      const sampler = (async () => { while (sampling) { sample(); await new Promise((r) => setImmediate(r)); } })();
      const rng = makeRng(seed + 2);
      const datas = Array.from({ length: 8 }, () => testData(rng.int(3 * BLOCK, 6 * BLOCK), rng));
      await Promise.all(datas.map(async (data, i) => {
        const w = chunks.newSliceWriter(100 + i);
        for (let off = 0; off < data.length;) {
          const n = Math.min(data.length - off, rng.int(1, 40 * KiB)); // unaligned appends
          await w.append(data.subarray(off, off + n));
          sample();
          off += n;
        }
        await w.finish();
      }));
      sampling = false;
      await sampler;
      assert.ok(max <= budget + BLOCK, `max buffered ${max} > budget ${budget} + one block`);
      assert.ok(max > budget / 2, `the budget was actually used (max ${max})`);
      assert.ok(fullCalls > 0, 'onBufferFull was called while appends waited');
      assert.equal(chunks.bufferedBytes(), 0);
      faulty.heal();
      const reader = cold();
      for (const [i, data] of datas.entries()) await checkReads(reader, 100 + i, data, rng, 5);
    });
  });

  test('onBufferFull lets the owner finish idle slices so a waiting append proceeds', async () => {
    const idle: Array<{ finish(): Promise<void> }> = [];
    const finishing: Array<Promise<void>> = [];
    await withSut({
      bufferBytes: 3 * BLOCK,
      onBufferFull: () => { for (const w of idle.splice(0)) finishing.push(w.finish()); },
    }, async ({ chunks }) => {
      for (let i = 0; i < 3; i++) {
        const w = chunks.newSliceWriter(200 + i);
        await w.append(Buffer.from('partial')); // holds a block of budget, never fills it
        idle.push(w);
      }
      const big = chunks.newSliceWriter(210);
      await big.append(Buffer.alloc(4 * BLOCK, 3)); // would wait forever without the callback
      await big.finish();
      await Promise.all(finishing);
      assert.equal(finishing.length, 3);
      assert.equal(chunks.bufferedBytes(), 0);
    });
  });

  test('single flight: 20 concurrent reads of one cold block make exactly one get', async () => {
    await withSut({}, async ({ faulty, cold }) => {
      const rng = makeRng(seed + 3);
      const data = testData(2 * BLOCK, rng);
      await writeSlice(cold(), 30, data, rng);
      faulty.setLatency(40);
      const reader = cold();
      const before = faulty.calls('get');
      const reads = await Promise.all(Array.from({ length: 20 }, (_, i) => reader.readSlice(30, data.length, i * 100, 1000)));
      assert.equal(faulty.calls('get') - before, 1);
      for (const [i, got] of reads.entries()) assert.ok(got.equals(data.subarray(i * 100, i * 100 + 1000)));
      assert.equal(reader.stats().blocksDownloaded, 1);
    });
  });

  test('prefetch fills the cache in the background and never takes all download slots from reads', async () => {
    await withSut({ downloadConcurrency: 4 }, async ({ faulty, cold }) => {
      const rng = makeRng(seed + 4);
      const data = testData(40 * BLOCK, rng);
      await writeSlice(cold(), 40, data, rng);
      faulty.setLatency(50);
      const reader = cold({ downloadConcurrency: 4 });
      reader.prefetch(40, data.length, 0, 30 * BLOCK); // 30 blocks: 15 rounds of 2 slots ≈ 750 ms
      await sleep(10); // the prefetches are queued first
      const t0 = performance.now();
      const got = await reader.readSlice(40, data.length, 35 * BLOCK, 10);
      const readMs = performance.now() - t0;
      assert.ok(got.equals(data.subarray(35 * BLOCK, 35 * BLOCK + 10)));
      assert.ok(readMs < 300, `a read behind 30 prefetches took ${readMs.toFixed(0)} ms`);
      while (reader.stats().blocksDownloaded < 31) await sleep(20); // 30 prefetched + the read
      const gets = faulty.calls('get');
      const again = await Promise.all([0, 10, 29].map((b) => reader.readSlice(40, data.length, b * BLOCK, BLOCK)));
      assert.ok(again[2]?.equals(data.subarray(29 * BLOCK, 30 * BLOCK)));
      assert.equal(faulty.calls('get'), gets, 'prefetched blocks are read from the cache');
      assert.equal(reader.stats().prefetchErrors, 0);
      await reader.close();
    });
  });

  test('a read promotes a waiting prefetch of its block; an aborted read leaves the download going', async () => {
    await withSut({ downloadConcurrency: 2 }, async ({ faulty, cold }) => {
      const rng = makeRng(seed + 5);
      const data = testData(12 * BLOCK, rng);
      await writeSlice(cold(), 50, data, rng);
      faulty.setLatency(50);
      const reader = cold({ downloadConcurrency: 2 });
      const before = faulty.calls('get');
      reader.prefetch(50, data.length, 0, 12 * BLOCK); // one prefetch slot: block 11 is ~11 rounds away
      await sleep(10); // every block's prefetch is in flight (waiting for the prefetch slot)
      const t0 = performance.now();
      await reader.readSlice(50, data.length, 11 * BLOCK, 1);
      assert.ok(performance.now() - t0 < 300, 'the read did not wait behind the prefetch queue');
      const ac = new AbortController();
      const aborted = reader.readSlice(50, data.length, 10 * BLOCK, 1, { signal: ac.signal });
      ac.abort();
      await assert.rejects(aborted, { name: 'AbortError' });
      await reader.close();
      assert.equal(faulty.calls('get') - before, 12, 'each block was fetched exactly once');
      assert.equal(reader.stats().blocksDownloaded, 12);
    });
  });
});
