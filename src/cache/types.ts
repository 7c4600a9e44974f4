/**
 * Block cache contract. Keys are block keys (`chunks/…`, src/chunk/keys.ts); values are the
 * UNCOMPRESSED block bytes. Blocks are immutable, so an entry never needs invalidation: it is
 * either present and right, or absent. A cache may drop anything at any time.
 */

export interface CacheUsage {
  readonly bytes: number;
  readonly entries: number;
}

export interface BlockCache {
  /** The cached block, or undefined (a miss, or an entry found corrupt and dropped). */
  get(key: string): Promise<Buffer | undefined>;
  /**
   * Offers a block to the cache. Never fails for capacity reasons (a full cache evicts or
   * declines); I/O errors of a disk cache are swallowed and counted, never thrown to readers.
   */
  put(key: string, data: Buffer): Promise<void>;
  /** Forgets a block (after its slice was deleted). */
  delete(key: string): Promise<void>;
  /** Whether a block is held, without reading it (for `objectfs info`). */
  has(key: string): Promise<boolean>;
  /**
   * Whether a block is held in memory (no I/O to read it). Readahead fetches what is not:
   * a block only on disk is read into memory ahead of the reader. Absent: has() decides.
   */
  hasInMemory?(key: string): boolean;
  usage(): CacheUsage;
  /** Changes the byte bound live (hot reload); shrinking evicts. */
  resize(maxBytes: number): void;
  close(): Promise<void>;
}

export interface DiskCacheOptions {
  /** Directory of this volume's cache (created if needed), e.g. /var/cache/objectfs/<uuid>. */
  readonly dir: string;
  /** Upper bound of cached bytes. */
  readonly maxBytes: number;
  /** Keep at least this fraction of the file system free (default 0.1); stop caching below it. */
  readonly freeRatio?: number;
  /** Block files written at once (default 4). */
  readonly writeConcurrency?: number;
  /** Data bytes of puts queued or being written; puts beyond it are dropped (default 64 MiB). */
  readonly maxPendingBytes?: number;
  /**
   * Longest time between two free-space checks (statfs) while writing, in ms (default 2000);
   * a check also follows every 64 MiB written (less on a nearly full file system) and every
   * ENOSPC. 0 checks before every write.
   */
  readonly freeSpaceCheckMs?: number;
}
