/**
 * The write side shared by every SliceWriter of one chunk store: the write-buffer byte budget
 * and the upload scheduler (bounded parallelism, compression, put, then cache).
 *
 * Budget unit: a writer reserves a whole block (blockSize bytes) when it starts filling one,
 * and the reservation is returned when that block's upload has completed (the unused part of
 * a short tail block is returned when it is dispatched). Reserving whole blocks up front,
 * instead of counting bytes as they are appended, is what makes the budget deadlock-free: a
 * writer only ever waits at a block boundary, while it holds no partial block, so the budget
 * is held by uploads (which finish) and by the partial blocks of writers that are NOT waiting
 * (idle slices, which onBufferFull asks their owner to finish). Counting appended bytes would
 * let N writers blocked mid-block hold the whole budget with nothing left to upload.
 */
import type { BlockCache } from '../cache/index.js';
import type { ObjectStore } from '../object/index.js';
import type { BlockStage } from './block-stage.js';
import { encodeBlockForUpload, type Compression } from './codec.js';
import type { StatsCounters } from './stats.js';
import { Semaphore } from './semaphore.js';

/** How often (at most) onBufferFull is called while appends wait, in ms. */
export const BUFFER_FULL_NOTIFY_MS = 100;

/** What the uploader needs from the store's options, already validated and defaulted. */
export interface BlockUploaderOptions {
  readonly store: ObjectStore;
  readonly cache: BlockCache;
  readonly compression: Compression;
  readonly storageClass: string | undefined;
  readonly uploadConcurrency: number;
  /** Write-buffer budget in bytes (at least one block). */
  readonly bufferBytes: number;
  readonly onBufferFull: (() => void) | undefined;
  /** Shared limiter of lz4 work on the libuv pool. */
  readonly codecSlots: Semaphore;
  readonly stats: StatsCounters;
  /** Where staged blocks go (write-back). */
  readonly stage: BlockStage | undefined;
}

/** Write-buffer budget plus bounded background uploads, shared by all writers of a store. */
export class BlockUploader {
  readonly #o: BlockUploaderOptions;
  readonly #budget: Semaphore;
  readonly #slots: Semaphore;
  readonly #inflight = new Set<Promise<void>>();
  /** Blocks handed to upload() and not yet settled: sequence number → time handed (ms). Oldest first. */
  readonly #queued = new Map<number, number>();
  #nextSeq = 0;
  #lastNotify = 0;

  constructor(options: BlockUploaderOptions) {
    this.#o = options;
    this.#budget = new Semaphore(options.bufferBytes);
    this.#slots = new Semaphore(options.uploadConcurrency);
  }

  /** Bytes reserved for blocks being filled or uploaded. */
  get bufferedBytes(): number {
    return this.#budget.used;
  }

  /**
   * Reserves `bytes` of the write buffer, waiting (FIFO) while it is full and nudging the
   * owner through onBufferFull meanwhile. Rejects with the signal's reason on abort.
   */
  async reserve(bytes: number, signal: AbortSignal): Promise<void> {
    if (this.#budget.tryAcquire(bytes)) return;
    this.#notifyFull();
    // Keep nudging: the owner may have had nothing to finish the first time.
    const timer = setInterval(() => this.#notifyFull(), BUFFER_FULL_NOTIFY_MS);
    timer.unref();
    try {
      await this.#budget.acquire(bytes, signal);
    } finally {
      clearInterval(timer);
    }
  }

  /** The write-buffer bound in bytes. */
  get bufferLimit(): number {
    return this.#budget.capacity;
  }

  /** Changes the write-buffer bound live; `bytes` must hold at least one block (the caller checks). */
  setBufferLimit(bytes: number): void {
    this.#budget.setCapacity(bytes);
  }

  /** Blocks waiting for or in upload, and since when the oldest of them waits (ms; 0 if none). */
  queue(now = Date.now()): { blocks: number; oldestMs: number } {
    const first = this.#queued.values().next();
    return { blocks: this.#queued.size, oldestMs: first.done === true ? 0 : Math.max(0, now - first.value) };
  }

  /** Returns reserved bytes that will not be uploaded (a dropped or short block). */
  unreserve(bytes: number): void {
    if (bytes > 0) this.#budget.release(bytes);
  }

  /**
   * Uploads one block in the background: waits for an upload slot, compresses, puts, then
   * offers the uncompressed block to the cache (not awaited: a slow cache must not hold the
   * write path). `reserved` bytes of budget are returned when it settles, success or not.
   * `block` is given up: it must not be used afterwards (it may be handed to the codec worker,
   * and the cache keeps its bytes). `staged`: to the stage, not the store.
   */
  upload(key: string, block: Buffer, reserved: number, signal: AbortSignal, staged = false): Promise<void> {
    const seq = this.#nextSeq++;
    this.#queued.set(seq, Date.now());
    const done = this.#upload(key, block, signal, staged).finally(() => {
      this.#queued.delete(seq);
      this.unreserve(reserved);
    });
    const tracked = done.then(() => undefined, () => undefined);
    this.#inflight.add(tracked);
    void tracked.then(() => this.#inflight.delete(tracked));
    return done;
  }

  /** Resolves when every upload started so far has settled. */
  async idle(): Promise<void> {
    while (this.#inflight.size > 0) await Promise.all(this.#inflight);
  }

  async #upload(key: string, block: Buffer, signal: AbortSignal, staged: boolean): Promise<void> {
    const { store, cache, compression, storageClass, codecSlots, stats, stage } = this.#o;
    let data = block;
    await this.#slots.acquire(1, signal);
    try {
      signal.throwIfAborted();
      // The block goes to the codec worker without a copy; `data` is where it is afterwards.
      const encoded = await codecSlots.use(() => encodeBlockForUpload(block, compression, true));
      const { bytes, sha256 } = encoded;
      data = encoded.data;
      signal.throwIfAborted();
      if (staged) {
        await (stage as BlockStage).put(key, bytes, sha256);
        stats.blocksStaged++;
      } else {
        await store.put(key, bytes, {
          signal, ...(storageClass === undefined ? {} : { storageClass }), ...(sha256 === undefined ? {} : { sha256 }),
        });
        stats.blocksUploaded++;
        stats.bytesUploaded += bytes.length;
      }
    } finally {
      this.#slots.release(1);
    }
    // BlockCache.put never throws by contract; the catch only keeps a broken cache from
    // becoming an unhandled rejection. The block is safely stored either way.
    cache.put(key, data).catch(() => undefined);
  }

  #notifyFull(): void {
    const cb = this.#o.onBufferFull;
    const now = Date.now();
    if (cb === undefined || now - this.#lastNotify < BUFFER_FULL_NOTIFY_MS) return;
    this.#lastNotify = now;
    try {
      cb();
    } catch (err) {
      // The owner's bug must not wedge a writer; make it visible instead of throwing here.
      process.emitWarning(err instanceof Error ? err : new Error(String(err)), 'ObjectFSChunkWarning');
    }
  }
}
