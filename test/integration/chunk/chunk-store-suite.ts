/**
 * The chunk store behaviours every object store backend must give: exact block layout, byte
 * for byte read-back at any range, cold reads from the store, missing blocks as EIO, deletion.
 * Run on FileStore and on S3Store (s3rver) by chunk-store.test.ts.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { MemoryCache } from '../../../src/cache/index.js';
import {
  BlockMissingError, CHUNK_SIZE, DEFAULT_BLOCK_SIZE, blockKey, openChunkStore, sliceBlockKeys,
  type ChunkStore, type ChunkStoreOptions,
} from '../../../src/chunk/index.js';
import { toErrno } from '../../../src/errors.js';
import { FaultyStore, type ObjectStore } from '../../../src/object/index.js';
import { makeRng, testSeed } from '../../support/prng.js';
import { KiB, MiB, blockObjects, checkObjects, checkReads, mbps, testData, writeSlice } from './chunk-fixtures.js';

/** A fresh, empty store for one test and how to get rid of it. */
export interface Backend {
  readonly store: ObjectStore;
  cleanup(): Promise<void>;
}

const SMALL_BLOCK = 64 * KiB;
const EIO = 5;

/** A chunk store over `store` with its own, empty memory cache (a fresh host, as far as caching goes). */
export function chunkStoreOn(store: ObjectStore, options: Partial<ChunkStoreOptions> = {}): ChunkStore {
  return openChunkStore({
    store, cache: new MemoryCache({ maxBytes: 512 * MiB }), blockSize: SMALL_BLOCK, compression: 'lz4', ...options,
  });
}

/** How a backend is tested. */
export interface SuiteOptions {
  /** Bound of the event-loop delay p99 while writing 64 MiB, in ms (default 50). */
  readonly maxLoopDelayMs?: number;
}

/** Registers the suite for one backend; `open(hint)` makes a fresh backend per test. */
export function chunkStoreSuite(name: string, open: (hint: string) => Promise<Backend>, options: SuiteOptions = {}): void {
  const maxLoopDelayMs = options.maxLoopDelayMs ?? 50;
  const seed = testSeed();

  async function withBackend(hint: string, fn: (store: ObjectStore) => Promise<void>): Promise<void> {
    const backend = await open(hint);
    try {
      await fn(backend.store);
    } finally {
      await backend.cleanup();
    }
  }

  describe(`chunk store on ${name} (OBJECTFS_SEED=${seed})`, () => {
    const sizes = [0, 1, SMALL_BLOCK - 1, SMALL_BLOCK, SMALL_BLOCK + 1, 5 * SMALL_BLOCK + 12345, CHUNK_SIZE];
    for (const compression of ['lz4', 'none'] as const) {
      for (const size of sizes) {
        test(`${compression}, 64 KiB blocks: a slice of ${size} bytes round-trips, warm and cold`, async () => {
          await withBackend(`chunk-${compression}-${size}`, async (store) => {
            const rng = makeRng(seed + size);
            const data = testData(size, rng);
            const writer = chunkStoreOn(store, { compression });
            await writeSlice(writer, 7, data, rng);
            assert.equal(writer.bufferedBytes(), 0);
            await checkObjects(store, 7, data, SMALL_BLOCK, compression);
            await checkReads(writer, 7, data, rng);
            // Another host: nothing cached, so every block comes from the store, once.
            const cold = chunkStoreOn(store, { compression });
            const whole = await cold.readSlice(7, size, 0, size);
            assert.ok(whole.equals(data));
            assert.equal(cold.stats().blocksDownloaded, sliceBlockKeys(7, size, SMALL_BLOCK).length);
            assert.equal(cold.stats().cacheHits, 0);
            await checkReads(cold, 7, data, rng);
            assert.equal(cold.stats().blocksDownloaded, sliceBlockKeys(7, size, SMALL_BLOCK).length, 'later reads hit the cache');
            await Promise.all([writer.close(), cold.close()]);
          });
        });
      }
    }

    test('default 4 MiB blocks: a 64 MiB slice, timed, with the event loop kept responsive', async (t) => {
      await withBackend('chunk-default-64m', async (store) => {
        const rng = makeRng(seed);
        const data = testData(CHUNK_SIZE, rng);
        const writer = chunkStoreOn(store, { blockSize: DEFAULT_BLOCK_SIZE });
        // A work loop on the main thread delays it on every try; a busy neighbour on a shared CI
        // machine (GC, another process) rarely twice: the better of two tries is judged.
        let writeMs = Infinity, p99 = Infinity, max = Infinity;
        for (let attempt = 0; attempt < 2 && p99 >= maxLoopDelayMs; attempt++) {
          if (attempt > 0) await writer.deleteSlice(1_234_567, CHUNK_SIZE);
          // Sampled every millisecond: at 5 ms a write of half a second gave about 90 samples,
          // whose p99 was the single longest stall (one GC pause failed a slow machine's run).
          const delay = monitorEventLoopDelay({ resolution: 1 });
          delay.enable();
          const t0 = performance.now();
          await writeSlice(writer, 1_234_567, data, rng, MiB);
          const ms = performance.now() - t0;
          delay.disable();
          if (delay.percentile(99) / 1e6 < p99) {
            [writeMs, p99, max] = [ms, delay.percentile(99) / 1e6, delay.max / 1e6];
          }
        }
        await checkObjects(store, 1_234_567, data, DEFAULT_BLOCK_SIZE, 'lz4');
        const cold = chunkStoreOn(store, { blockSize: DEFAULT_BLOCK_SIZE });
        const t1 = performance.now();
        const whole = await cold.readSlice(1_234_567, CHUNK_SIZE, 0, CHUNK_SIZE);
        const readMs = performance.now() - t1;
        assert.ok(whole.equals(data));
        await checkReads(cold, 1_234_567, data, rng);
        t.diagnostic(`${name}: 64 MiB append+finish ${mbps(CHUNK_SIZE, writeMs)} MB/s (${writeMs.toFixed(0)} ms), `
          + `cold readSlice ${mbps(CHUNK_SIZE, readMs)} MB/s (${readMs.toFixed(0)} ms), `
          + `event-loop delay during the write p99 ${p99.toFixed(1)} ms, max ${max.toFixed(1)} ms`);
        assert.ok(p99 < maxLoopDelayMs, `event-loop delay p99 ${p99.toFixed(1)} ms during a 64 MiB write`);
        await Promise.all([writer.close(), cold.close()]);
      });
    });

    test('default 4 MiB blocks: a short slice spanning three blocks', async () => {
      await withBackend('chunk-default-short', async (store) => {
        const rng = makeRng(seed + 1);
        const data = testData(2 * DEFAULT_BLOCK_SIZE + 12345, rng);
        const chunks = chunkStoreOn(store, { blockSize: DEFAULT_BLOCK_SIZE, compression: 'none' });
        await writeSlice(chunks, 99, data, rng);
        await checkObjects(store, 99, data, DEFAULT_BLOCK_SIZE, 'none');
        await checkReads(chunkStoreOn(store, { blockSize: DEFAULT_BLOCK_SIZE, compression: 'none' }), 99, data, rng);
      });
    });

    test('a block dropped from the cache is read from the store again', async () => {
      await withBackend('chunk-cache-drop', async (store) => {
        const rng = makeRng(seed + 2);
        const data = testData(3 * SMALL_BLOCK, rng);
        const cache = new MemoryCache({ maxBytes: 64 * MiB });
        const chunks = openChunkStore({ store, cache, blockSize: SMALL_BLOCK, compression: 'lz4' });
        await writeSlice(chunks, 5, data, rng);
        assert.ok(await cache.has(blockKey(5, 1, SMALL_BLOCK)), 'uploads fill the cache');
        await chunks.readSlice(5, data.length, 0, data.length);
        assert.equal(chunks.stats().blocksDownloaded, 0);
        await cache.delete(blockKey(5, 1, SMALL_BLOCK));
        const got = await chunks.readSlice(5, data.length, SMALL_BLOCK + 10, 100);
        assert.ok(got.equals(data.subarray(SMALL_BLOCK + 10, SMALL_BLOCK + 110)));
        assert.equal(chunks.stats().blocksDownloaded, 1);
      });
    });

    test('a missing block is BlockMissingError (EIO), never zeros; prefetch of it only counts', async () => {
      await withBackend('chunk-missing', async (store) => {
        const rng = makeRng(seed + 3);
        const data = testData(3 * SMALL_BLOCK, rng);
        await writeSlice(chunkStoreOn(store), 11, data, rng);
        const gone = blockKey(11, 1, SMALL_BLOCK);
        await store.delete(gone);
        const cold = chunkStoreOn(store);
        await assert.rejects(cold.readSlice(11, data.length, SMALL_BLOCK - 5, 10), (err: unknown) => {
          assert.ok(err instanceof BlockMissingError);
          assert.equal(err.key, gone);
          assert.equal(toErrno(err), EIO);
          assert.match(err.message, /11_1_65536/);
          return true;
        });
        const ok = await cold.readSlice(11, data.length, 0, SMALL_BLOCK); // other blocks still read
        assert.ok(ok.equals(data.subarray(0, SMALL_BLOCK)));
        cold.prefetch(11, data.length, 0, data.length);
        await cold.close(); // waits for the prefetch
        assert.equal(cold.stats().prefetchErrors, 1);
      });
    });

    test('a random (partial) read of a raw block GETs the part alone; of an lz4 block, the whole block, once per slice', async () => {
      await withBackend('chunk-partial', async (faultless) => {
        const store = new FaultyStore(faultless); // counts the requests
        const rng = makeRng(seed + 5);
        const raw = randomBytes(3 * SMALL_BLOCK + 999); // incompressible: stored raw
        const text = Buffer.alloc(3 * SMALL_BLOCK, 'compressible slice text '); // stored lz4
        await writeSlice(chunkStoreOn(store), 31, raw, rng);
        await writeSlice(chunkStoreOn(store), 32, text, rng);
        for (const compression of ['lz4', 'none'] as const) {
          const cold = chunkStoreOn(store, { compression });
          if (compression === 'none') await writeSlice(cold, 33, raw, rng);
          const id = compression === 'lz4' ? 31 : 33;
          await cold.close(); // the writer's cache holds the blocks: read through a fresh one
          const reader = chunkStoreOn(store, { compression });
          let gets = store.calls('get');
          // Within a block, across two blocks (two parts), and the short last block.
          for (const [off, len] of [[SMALL_BLOCK + 4096, 4096], [2 * SMALL_BLOCK - 100, 200], [3 * SMALL_BLOCK + 10, 200]] as const) {
            const got = await reader.readSlice(id, raw.length, off, len, { partial: true });
            assert.ok(got.equals(raw.subarray(off, off + len)), `${compression}: bytes of [${off}, +${len})`);
          }
          assert.equal(store.calls('get') - gets, 4, `${compression}: one ranged GET per part`);
          assert.deepEqual([reader.stats().blockPartsDownloaded, reader.stats().blocksDownloaded], [4, 0]);
          assert.equal(reader.stats().bytesDownloaded, 4096 + 200 + 200, 'only the parts crossed the wire');
          // A part of more than a quarter of its block, and any read not called partial, takes the whole block.
          gets = store.calls('get');
          const big = await reader.readSlice(id, raw.length, 0, SMALL_BLOCK / 2, { partial: true });
          assert.ok(big.equals(raw.subarray(0, SMALL_BLOCK / 2)));
          assert.ok((await reader.readSlice(id, raw.length, SMALL_BLOCK + 8192, 10)).equals(raw.subarray(SMALL_BLOCK + 8192, SMALL_BLOCK + 8202)));
          assert.equal(store.calls('get') - gets, 2);
          assert.equal(reader.stats().blocksDownloaded, 2);
          // A cached block answers a partial read from memory.
          gets = store.calls('get');
          assert.ok((await reader.readSlice(id, raw.length, 100, 4096, { partial: true })).equals(raw.subarray(100, 4196)));
          assert.equal(store.calls('get') - gets, 0, 'the cached block, no request');
          await reader.close();
        }
        // lz4: the first part GET is useless and the whole block follows; the slice is then
        // known to be compressed and the next partial read goes straight to a whole block.
        const reader = chunkStoreOn(store);
        let gets = store.calls('get');
        assert.ok((await reader.readSlice(32, text.length, 4096, 4096, { partial: true })).equals(text.subarray(4096, 8192)));
        assert.equal(store.calls('get') - gets, 2, 'a ranged GET, then the whole block');
        gets = store.calls('get');
        assert.ok((await reader.readSlice(32, text.length, 2 * SMALL_BLOCK + 7, 4096, { partial: true })).equals(text.subarray(2 * SMALL_BLOCK + 7, 2 * SMALL_BLOCK + 4103)));
        assert.equal(store.calls('get') - gets, 1, 'the whole block alone');
        assert.deepEqual([reader.stats().blockPartsDownloaded, reader.stats().blocksDownloaded], [0, 2]);
        // A missing block is still BlockMissingError when read in part.
        await store.delete(blockKey(31, 1, SMALL_BLOCK));
        await assert.rejects(reader.readSlice(31, raw.length, SMALL_BLOCK + 5, 10, { partial: true }), BlockMissingError);
        await reader.close();
      });
    });

    test('deleteSlice removes every block from the store and the cache, idempotently', async () => {
      await withBackend('chunk-delete', async (store) => {
        const rng = makeRng(seed + 4);
        const chunks = chunkStoreOn(store);
        const a = testData(10 * SMALL_BLOCK + 1, rng);
        const b = testData(SMALL_BLOCK, rng);
        await writeSlice(chunks, 21, a, rng);
        await writeSlice(chunks, 22, b, rng);
        await chunks.deleteSlice(21, a.length);
        assert.deepEqual(await blockObjects(store), sliceBlockKeys(22, b.length, SMALL_BLOCK));
        await assert.rejects(chunks.readSlice(21, a.length, 0, 1), BlockMissingError); // not served from the cache
        await chunks.deleteSlice(21, a.length);
        await chunks.deleteSlice(22, b.length);
        await chunks.deleteSlice(23, 0);
        assert.deepEqual(await blockObjects(store), []);
      });
    });
  });
}
