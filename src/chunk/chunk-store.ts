/**
 * openChunkStore: the ChunkStore over an ObjectStore and a BlockCache, wiring the shared
 * write side (BlockUploader), the read side (SliceReader) and one limiter of codec work.
 */
import type { BlockCache } from '../cache/index.js';
import type { ObjectStore } from '../object/index.js';
import type { ChunkStore, ChunkStoreOptions, ChunkStoreStats, ReadSliceOptions, SliceWriter, SliceWriterOptions } from './types.js';
import type { BlockStage } from './block-stage.js';
import { BlockUploader } from './block-uploader.js';
import { COMPRESSIONS, type Compression } from './codec.js';
import { MAX_BLOCK_SIZE, MIN_BLOCK_SIZE, sliceBlockKeys } from './keys.js';
import { Semaphore } from './semaphore.js';
import { SliceReader } from './slice-reader.js';
import { BufferedSliceWriter } from './slice-writer.js';
import { newStatsCounters, type StatsCounters } from './stats.js';

/** Default block uploads in flight. */
export const DEFAULT_UPLOAD_CONCURRENCY = 16;
/** Default block downloads in flight. */
export const DEFAULT_DOWNLOAD_CONCURRENCY = 16;
/** Default write-buffer budget (300 MiB). */
export const DEFAULT_BUFFER_BYTES = 300 * 1024 * 1024;

/**
 * Blocks handed to the lz4 worker at once (each waits there as a copy): two keep the worker
 * busy while the next input is prepared, without queueing buffer-sized copies behind it.
 */
const CODEC_CONCURRENCY = 2;

function positiveInt(name: string, value: number | undefined, fallback: number): number {
  const v = value ?? fallback;
  if (!Number.isSafeInteger(v) || v < 1) throw new RangeError(`chunk store: ${name} ${v} is not a positive integer`);
  return v;
}

/**
 * Opens a chunk store. The store and cache stay the caller's: close() does not close them.
 *
 * `bufferBytes` below one block is raised to one block (a writer reserves whole blocks).
 * Throws RangeError on a block size outside [MIN_BLOCK_SIZE, MAX_BLOCK_SIZE], an unknown
 * compression or a non-positive limit.
 *
 * @example
 * const chunks = openChunkStore({ store, cache, blockSize: DEFAULT_BLOCK_SIZE, compression: 'lz4' });
 * const w = chunks.newSliceWriter(sliceId);
 * await w.append(data);
 * await w.finish();                       // every block is in the store now
 * const bytes = await chunks.readSlice(sliceId, w.length, 0, w.length);
 */
export function openChunkStore(options: ChunkStoreOptions): ChunkStore {
  return new ObjectChunkStore(options);
}

/** ChunkStore over an ObjectStore with a BlockCache in front. */
class ObjectChunkStore implements ChunkStore {
  readonly blockSize: number;
  readonly #store: ObjectStore;
  readonly #cache: BlockCache;
  readonly #uploader: BlockUploader;
  readonly #reader: SliceReader;
  readonly #deleteConcurrency: number;
  readonly #stage: BlockStage | undefined;
  readonly #stats: StatsCounters = newStatsCounters();
  #closed = false;

  constructor(options: ChunkStoreOptions) {
    const { store, cache, blockSize, compression } = options;
    if (!Number.isSafeInteger(blockSize) || blockSize < MIN_BLOCK_SIZE || blockSize > MAX_BLOCK_SIZE) {
      throw new RangeError(`chunk store: block size ${blockSize} is not an integer in [${MIN_BLOCK_SIZE}, ${MAX_BLOCK_SIZE}]`);
    }
    if (!(COMPRESSIONS as readonly string[]).includes(compression)) {
      throw new RangeError(`chunk store: unknown compression ${JSON.stringify(compression)} (expected ${COMPRESSIONS.join(' or ')})`);
    }
    const uploadConcurrency = positiveInt('uploadConcurrency', options.uploadConcurrency, DEFAULT_UPLOAD_CONCURRENCY);
    const downloadConcurrency = positiveInt('downloadConcurrency', options.downloadConcurrency, DEFAULT_DOWNLOAD_CONCURRENCY);
    const bufferBytes = Math.max(blockSize, positiveInt('bufferBytes', options.bufferBytes, DEFAULT_BUFFER_BYTES));
    const codecSlots = new Semaphore(CODEC_CONCURRENCY);
    this.blockSize = blockSize;
    this.#store = store;
    this.#cache = cache;
    this.#deleteConcurrency = uploadConcurrency;
    this.#stage = options.stage;
    this.#uploader = new BlockUploader({
      store, cache, compression: compression as Compression, storageClass: options.storageClass,
      uploadConcurrency, bufferBytes, onBufferFull: options.onBufferFull, codecSlots, stats: this.#stats, stage: options.stage,
    });
    this.#reader = new SliceReader({
      store, cache, compression: compression as Compression, blockSize, downloadConcurrency, codecSlots, stats: this.#stats, stage: options.stage,
    });
  }

  newSliceWriter(id: number, options?: SliceWriterOptions): SliceWriter {
    this.#checkOpen();
    const staged = options?.staged === true;
    if (staged && this.#stage === undefined) throw new RangeError(`slice ${id}: staged writes need a write-back stage`);
    return new BufferedSliceWriter(id, this.#uploader, this.blockSize, staged);
  }

  async sliceStored(id: number, size: number): Promise<void> {
    await this.#stage?.stored(sliceBlockKeys(id, size, this.blockSize));
  }

  async releaseStaged(id: number, size: number): Promise<void> {
    await this.#stage?.release(sliceBlockKeys(id, size, this.blockSize));
  }

  readSlice(id: number, size: number, off: number, len: number, options?: ReadSliceOptions): Promise<Buffer> {
    if (this.#closed) return Promise.reject(this.#closedError());
    return this.#reader.read(id, size, off, len, options);
  }

  prefetch(id: number, size: number, off: number, len: number): void {
    if (!this.#closed) this.#reader.prefetch(id, size, off, len);
  }

  async deleteSlice(id: number, size: number): Promise<void> {
    this.#checkOpen();
    const keys = sliceBlockKeys(id, size, this.blockSize);
    await this.#stage?.discard(keys);
    for (let i = 0; i < keys.length; i += this.#deleteConcurrency) {
      await Promise.all(keys.slice(i, i + this.#deleteConcurrency).map(async (key) => {
        // A cache entry that survives a failed cache delete is only wasted space: slice ids
        // are never reused, so nobody will ask for the key again.
        await Promise.all([this.#store.delete(key), this.#cache.delete(key).catch(() => undefined)]);
      }));
    }
  }

  bufferedBytes(): number {
    return this.#uploader.bufferedBytes;
  }

  bufferLimit(): number {
    return this.#uploader.bufferLimit;
  }

  setBufferLimit(bytes: number): void {
    if (!Number.isSafeInteger(bytes) || bytes < 0) throw new RangeError(`chunk store: bufferBytes ${bytes} is not a byte count`);
    this.#uploader.setBufferLimit(Math.max(this.blockSize, bytes));
  }

  uploadQueue(): { blocks: number; oldestMs: number } {
    return this.#uploader.queue();
  }

  stats(): ChunkStoreStats {
    return Object.freeze({ ...this.#stats });
  }

  async close(): Promise<void> {
    this.#closed = true;
    await Promise.all([this.#uploader.idle(), this.#reader.idle()]);
  }

  #checkOpen(): void {
    if (this.#closed) throw this.#closedError();
  }

  #closedError(): Error {
    return new Error(`chunk store on ${this.#store.describe()} is closed`);
  }
}
