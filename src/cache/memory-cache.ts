/**
 * L1 block cache: an in-process LRU bounded by bytes (lru-cache v11).
 *
 * Values are stored and returned by reference (a 4 MiB copy per hit would cost more than the
 * cache saves): callers must treat both the Buffer they put and the Buffer they get as
 * read-only.
 */
import { LRUCache } from 'lru-cache';
import type { BlockCache, CacheUsage } from './types.js';

/** A block larger than this fraction of the bound is declined, so one block cannot flush the cache. */
export const MAX_ENTRY_FRACTION = 4;

/** Options of a MemoryCache. */
export interface MemoryCacheOptions {
  /** Upper bound of the bytes of cached blocks; 0 disables the cache. */
  readonly maxBytes: number;
}

/** Counters of a MemoryCache since it was created. */
export interface MemoryCacheStats {
  readonly hits: number;
  readonly misses: number;
  /** Entries dropped to make room (including by a shrinking resize), not by delete(). */
  readonly evictions: number;
}

/** A byte-bounded, least-recently-used BlockCache in memory. */
export class MemoryCache implements BlockCache {
  #maxBytes: number;
  #lru: LRUCache<string, Buffer>;
  #hits = 0;
  #misses = 0;
  #evictions = 0;

  constructor(options: MemoryCacheOptions) {
    checkMaxBytes(options.maxBytes);
    this.#maxBytes = options.maxBytes;
    this.#lru = this.#newLru(options.maxBytes);
  }

  async get(key: string): Promise<Buffer | undefined> {
    const data = this.#lru.get(key);
    if (data === undefined) this.#misses++;
    else this.#hits++;
    return data;
  }

  /** Caches `data` unless it is larger than a quarter of the bound (then it is declined). */
  async put(key: string, data: Buffer): Promise<void> {
    if (!this.#fits(data)) return;
    this.#lru.set(key, data);
  }

  async delete(key: string): Promise<void> {
    this.#lru.delete(key);
  }

  /** Does not count as a use: the entry's LRU position is unchanged. */
  hasInMemory(key: string): boolean {
    return this.#lru.has(key);
  }

  async has(key: string): Promise<boolean> {
    return this.#lru.has(key);
  }

  usage(): CacheUsage {
    return { bytes: this.#lru.calculatedSize, entries: this.#lru.size };
  }

  /** The current byte bound. */
  get maxBytes(): number {
    return this.#maxBytes;
  }

  /**
   * Changes the bound live. lru-cache fixes maxSize at construction, so this rebuilds the LRU,
   * re-inserting from least to most recently used: when shrinking, the oldest entries are the
   * ones that no longer fit (counted as evictions), as are entries now over the entry limit.
   */
  resize(maxBytes: number): void {
    checkMaxBytes(maxBytes);
    const old = this.#lru;
    this.#maxBytes = maxBytes;
    this.#lru = this.#newLru(maxBytes);
    for (const key of old.rkeys()) {
      const data = old.peek(key);
      if (data === undefined) continue;
      if (this.#fits(data)) this.#lru.set(key, data);
      else this.#evictions++;
    }
  }

  /** Hit, miss and eviction counts since creation. */
  stats(): MemoryCacheStats {
    return { hits: this.#hits, misses: this.#misses, evictions: this.#evictions };
  }

  async close(): Promise<void> {
    this.#lru.clear();
  }

  #fits(data: Buffer): boolean {
    return entrySize(data) <= Math.floor(this.#maxBytes / MAX_ENTRY_FRACTION);
  }

  #newLru(maxBytes: number): LRUCache<string, Buffer> {
    return new LRUCache<string, Buffer>({
      // lru-cache wants positive integers; with maxBytes 0 (or < 4) #fits declines every put.
      maxSize: Math.max(1, maxBytes),
      maxEntrySize: Math.max(1, Math.floor(maxBytes / MAX_ENTRY_FRACTION)),
      sizeCalculation: entrySize,
      dispose: (_value, _key, reason) => {
        if (reason === 'evict') this.#evictions++;
      },
    });
  }
}

/** lru-cache rejects size 0; an empty block still costs an entry. */
function entrySize(data: Buffer): number {
  return Math.max(1, data.length);
}

function checkMaxBytes(maxBytes: number): void {
  if (!Number.isSafeInteger(maxBytes) || maxBytes < 0) {
    throw new RangeError(`cache maxBytes must be a non-negative integer, got ${maxBytes}`);
  }
}
