/**
 * The read side of a chunk store: slice ranges → blocks → bytes.
 *
 * Each block goes cache → (else) object store → decode → verify → cache. Fetches are
 * single-flight per key: concurrent readers (and prefetches) of one block share one cache
 * lookup and at most one download. Downloads are bounded by downloadConcurrency; prefetches
 * additionally hold one of at most half as many prefetch slots, so they can never take all
 * download slots from real reads. A real read that joins a prefetch still waiting for its
 * prefetch slot promotes it to a read.
 *
 * A reader's AbortSignal abandons its wait only: the shared download goes on and fills the
 * cache for whoever asks next.
 *
 * A random read (the caller says `partial`) of a small part of a block that no tier holds and
 * no fetch is bringing asks the store for that part alone, a ranged GET, instead of the whole
 * block: the part's place in the object is known when the block was stored raw (or the volume
 * is uncompressed), and the object's size in the answer tells whether it was (raw: the block's
 * length plus the raw header; lz4 objects are always shorter than the block). A part of an
 * lz4 block is useless: the whole block is fetched then, and its slice remembered, so later
 * random reads of it go straight to whole blocks. Parts are not cached (the kernel's page
 * cache keeps what was read) and are not checked against the block's CRC-32, which covers the
 * whole block; see docs/decisions.md.
 */
import type { BlockCache } from '../cache/index.js';
import { ObjectNotFoundError, type ObjectStore } from '../object/index.js';
import { decodeBlock, type Compression } from './codec.js';
import { BlockMissingError } from './errors.js';
import { blockCount, blockKey, blockLength } from './keys.js';
import { RAW_HEADER_BYTES } from './raw-block.js';
import { Semaphore } from './semaphore.js';
import type { BlockStage } from './block-stage.js';
import type { StatsCounters } from './stats.js';
import type { ReadSliceOptions } from './types.js';

/** Prefetches that may wait at once, per download slot; beyond that new ones are dropped. */
const QUEUED_PREFETCHES_PER_SLOT = 8;
/** A random read fetches a part of a block alone when it is at most 1/PART_SHARE of the block. */
const PART_SHARE = 4;
/** Slices remembered as holding lz4 blocks, whose parts cannot be fetched alone. */
const COMPRESSED_SLICES_KEPT = 4096;

/** What the reader needs from the store's options, already validated and defaulted. */
export interface SliceReaderOptions {
  readonly store: ObjectStore;
  readonly cache: BlockCache;
  readonly compression: Compression;
  readonly blockSize: number;
  readonly downloadConcurrency: number;
  readonly codecSlots: Semaphore;
  readonly stats: StatsCounters;
  /** Staged blocks are read from here (write-back): the store may not have them yet. */
  readonly stage: BlockStage | undefined;
}

/** One block of a slice range: its key and the part of it the range covers. */
interface BlockPart {
  readonly key: string;
  readonly len: number;
  /** Offset of the block's first byte in the slice. */
  readonly start: number;
  /** [from, to) inside the block. */
  readonly from: number;
  readonly to: number;
}

interface Flight {
  readonly promise: Promise<Buffer>;
  /** Aborted to promote a waiting prefetch to a read; undefined for reads. */
  readonly promote: AbortController | undefined;
}

/** Reads and prefetches slice ranges through the cache; see the module comment. */
export class SliceReader {
  readonly #o: SliceReaderOptions;
  readonly #downloadSlots: Semaphore;
  readonly #prefetchSlots: Semaphore;
  readonly #maxQueuedPrefetches: number;
  readonly #flights = new Map<string, Flight>();
  /** Prefetches started and not settled (their error counted), for the queue bound and idle(). */
  readonly #prefetches = new Set<Promise<void>>();
  /** Slices found to hold lz4 blocks, oldest first (insertion order of a Set). */
  readonly #compressedSlices = new Set<number>();

  constructor(options: SliceReaderOptions) {
    this.#o = options;
    this.#downloadSlots = new Semaphore(options.downloadConcurrency);
    this.#prefetchSlots = new Semaphore(Math.max(1, Math.floor(options.downloadConcurrency / 2)));
    this.#maxQueuedPrefetches = options.downloadConcurrency * QUEUED_PREFETCHES_PER_SLOT;
  }

  /**
   * `len` bytes at `off` of slice (id, size). Read-only: a range inside one block is a view of
   * the cached block itself (no copy), so the caller must not modify it.
   */
  async read(id: number, size: number, off: number, len: number, options: ReadSliceOptions = {}): Promise<Buffer> {
    const parts = this.#cover(id, size, off, len);
    options.signal?.throwIfAborted();
    const only = parts.length === 1 ? parts[0] : undefined;
    if (only !== undefined) return this.#part(id, only, options);
    const out = Buffer.allocUnsafe(len);
    await Promise.all(parts.map(async (p) => {
      (await this.#part(id, p, options)).copy(out, p.start + p.from - off);
    }));
    return out;
  }

  /** Starts fetching the blocks covering the range into the cache; never throws. */
  prefetch(id: number, size: number, off: number, len: number): void {
    let parts: BlockPart[];
    try {
      parts = this.#cover(id, size, off, len);
    } catch {
      this.#o.stats.prefetchErrors++; // a bad range from the caller: nothing to fetch
      return;
    }
    for (const p of parts) this.#prefetchPart(p);
  }

  #prefetchPart({ key, len }: BlockPart): void {
    if (this.#flights.has(key)) return;
    if (this.#prefetches.size >= this.#maxQueuedPrefetches) {
      this.#o.stats.prefetchesDropped++;
      return;
    }
    const task: Promise<void> = this.#prefetchBlock(key, len)
      .catch(() => { this.#o.stats.prefetchErrors++; })
      .finally(() => { this.#prefetches.delete(task); });
    this.#prefetches.add(task);
  }

  /** Resolves when every fetch started so far has settled (so the cache is no longer written). */
  async idle(): Promise<void> {
    while (this.#flights.size > 0 || this.#prefetches.size > 0) {
      await Promise.allSettled([...this.#prefetches, ...[...this.#flights.values()].map((f) => f.promise)]);
    }
  }

  /** The blocks covering [off, off + len) of a slice; RangeError if the range is not inside it. */
  #cover(id: number, size: number, off: number, len: number): BlockPart[] {
    if (!Number.isSafeInteger(off) || !Number.isSafeInteger(len) || off < 0 || len < 0 || off + len > size) {
      throw new RangeError(`slice ${id}: range [${off}, ${off}+${len}) is not inside its ${size} bytes`);
    }
    const bs = this.#o.blockSize;
    blockCount(size, bs); // validates size
    const parts: BlockPart[] = [];
    if (len === 0) return parts;
    for (let i = Math.floor(off / bs); i * bs < off + len; i++) {
      const start = i * bs;
      const blockLen = blockLength(size, bs, i);
      parts.push({
        key: blockKey(id, i, blockLen), len: blockLen, start,
        from: Math.max(off, start) - start, to: Math.min(off + len, start + blockLen) - start,
      });
    }
    return parts;
  }

  /** The bytes of one part for a reader: a view of its whole block, or the part alone. */
  async #part(id: number, p: BlockPart, { signal, partial = false }: ReadSliceOptions): Promise<Buffer> {
    const alone = partial && (p.to - p.from) * PART_SHARE <= p.len && !this.#compressedSlices.has(id) &&
      !this.#flights.has(p.key) && this.#o.stage?.has(p.key) !== true && !(await this.#o.cache.has(p.key));
    if (alone) {
      const bytes = await this.#rangedGet(id, p, signal);
      if (bytes !== undefined) return bytes;
    }
    return (await this.#block(p.key, p.len, signal)).subarray(p.from, p.to);
  }

  /** The part alone from the store, or undefined if its block is not stored raw. */
  async #rangedGet(id: number, p: BlockPart, signal: AbortSignal | undefined): Promise<Buffer | undefined> {
    const { store, stats, compression } = this.#o;
    const header = compression === 'lz4' ? RAW_HEADER_BYTES : 0;
    let objectSize: number | undefined;
    let bytes: Buffer;
    await this.#downloadSlots.acquire(1, signal);
    try {
      bytes = await store.get(p.key, {
        offset: header + p.from, length: p.to - p.from, signal, onObjectSize: (n) => { objectSize = n; },
      });
    } catch (err) {
      throw err instanceof ObjectNotFoundError ? new BlockMissingError(p.key, { cause: err }) : err;
    } finally {
      this.#downloadSlots.release(1);
    }
    stats.bytesDownloaded += bytes.length;
    if (objectSize === p.len + header && bytes.length === p.to - p.from) {
      stats.blockPartsDownloaded++;
      return bytes;
    }
    // An lz4 block (or a store that does not tell the size): read its slice's blocks whole.
    this.#compressedSlices.add(id);
    if (this.#compressedSlices.size > COMPRESSED_SLICES_KEPT) {
      this.#compressedSlices.delete(this.#compressedSlices.values().next().value as number);
    }
    return undefined;
  }

  /** A block for a reader: joins (and promotes) a fetch in flight or starts one. */
  #block(key: string, len: number, signal: AbortSignal | undefined): Promise<Buffer> {
    const flight = this.#flights.get(key);
    if (flight !== undefined) flight.promote?.abort();
    const promise = flight?.promise ?? this.#start(key, len, false).promise;
    return signal === undefined ? promise : untilAborted(promise, signal);
  }

  async #prefetchBlock(key: string, len: number): Promise<void> {
    // A block in memory needs nothing. One only on disk is read into memory ahead of the reader
    // too (the fetch's cache.get promotes it), so a sequential reader never waits on the disk
    // one block at a time; has() decides for caches without a memory tier.
    const { cache } = this.#o;
    if (cache.hasInMemory !== undefined ? cache.hasInMemory(key) : await cache.has(key)) return;
    const flight = this.#flights.get(key) ?? this.#start(key, len, true);
    await flight.promise;
  }

  #start(key: string, len: number, prefetch: boolean): Flight {
    const promote = prefetch ? new AbortController() : undefined;
    const flight: Flight = { promise: this.#fetch(key, len, promote?.signal), promote };
    this.#flights.set(key, flight);
    const forget = (): void => {
      if (this.#flights.get(key) === flight) this.#flights.delete(key);
    };
    flight.promise.then(forget, forget);
    return flight;
  }

  async #fetch(key: string, len: number, prefetch: AbortSignal | undefined): Promise<Buffer> {
    const { cache, store, stats, stage } = this.#o;
    // BlockCache.get never throws by contract; a broken cache is treated as a miss.
    const cached = await cache.get(key).catch(() => undefined);
    if (cached !== undefined && cached.length === len) {
      stats.cacheHits++;
      return cached;
    }
    const staged = stage?.has(key) === true ? await stage.get(key) : undefined;
    if (staged !== undefined) return this.#decoded(key, len, staged);
    let stored: Buffer;
    const prefetchSlot = prefetch !== undefined && await this.#prefetchSlots.acquire(1, prefetch).then(() => true, () => false);
    try {
      await this.#downloadSlots.acquire(1);
      try {
        stored = await store.get(key);
      } catch (err) {
        throw err instanceof ObjectNotFoundError ? new BlockMissingError(key, { cause: err }) : err;
      } finally {
        this.#downloadSlots.release(1);
      }
    } finally {
      if (prefetchSlot) this.#prefetchSlots.release(1);
    }
    stats.blocksDownloaded++;
    stats.bytesDownloaded += stored.length;
    return this.#decoded(key, len, stored);
  }

  /** Decodes a block as stored, and offers it to the cache. */
  async #decoded(key: string, len: number, stored: Buffer): Promise<Buffer> {
    const { cache, compression, codecSlots } = this.#o;
    const data = await codecSlots.use(() => decodeBlock(stored, compression, len, key, true));
    cache.put(key, data).catch(() => undefined); // never throws by contract; not awaited
    return data;
  }
}

/** `promise`, or the signal's reason as soon as it aborts (the promise itself goes on). */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}
