/**
 * Chunk store contract: slices of bytes ↔ immutable block objects. Knows block sizes,
 * compression, caching and upload/download scheduling; knows nothing of inodes or files
 * (like JuiceFS's chunk package).
 *
 * A slice (id, size) is stored as blocks of at most `blockSize` bytes, block i under
 * blockKey(id, i, len_i). Blocks are compressed (lz4) off the main thread.
 */
import type { BlockCache } from '../cache/index.js';
import type { ObjectStore } from '../object/index.js';
import type { BlockStage } from './block-stage.js';

export interface ChunkStoreOptions {
  /** The volume's object store (already prefixed with the volume name). */
  readonly store: ObjectStore;
  readonly cache: BlockCache;
  readonly blockSize: number;
  readonly compression: 'lz4' | 'none';
  /** Block uploads in flight at once (default 16). */
  readonly uploadConcurrency?: number;
  /** Block downloads in flight at once (default 16). */
  readonly downloadConcurrency?: number;
  /** Bytes of written-but-not-uploaded data held in memory before writers wait (default 300 MiB). */
  readonly bufferBytes?: number;
  /** Storage class for new objects (S3 only). */
  readonly storageClass?: string;
  /**
   * Called (at most about once per 100 ms) when an append has to wait for buffer space, so the
   * owner of other slices can finish their partial blocks: those are never uploaded otherwise,
   * and a buffer full of them would wait forever.
   */
  readonly onBufferFull?: () => void;
  /**
   * The write-back stage (decision 90): blocks of slices written with `staged` go there instead
   * of straight to the store, and reads look there before the store.
   */
  readonly stage?: BlockStage;
}

/** How a new slice is stored. */
export interface SliceWriterOptions {
  /** Stage its blocks on the local disk (the stage uploads them later) instead of uploading them. */
  readonly staged?: boolean;
}

/** Writes one new slice: appends only; full blocks upload in the background as they fill. */
export interface SliceWriter {
  readonly id: number;
  /** Bytes appended so far: the slice's size once finished. */
  readonly length: number;
  /**
   * Appends bytes (copied; the caller may reuse `data` once the promise settles). Resolves once
   * buffered; waits while the store's write buffer is full (back-pressure). Rejects if an upload
   * of this slice failed (with that error), and with RangeError past CHUNK_SIZE bytes in total.
   * Appends and finish() take effect in call order even when not awaited one by one.
   */
  append(data: Buffer): Promise<void>;
  /**
   * Uploads the remaining partial block and waits for every block of the slice to be stored.
   * Rejects with the first upload error; it never resolves unless every block landed.
   */
  finish(): Promise<void>;
  /** Abandons the slice: buffered data is dropped; blocks already stored become garbage for gc. */
  abort(): void;
}

export interface ChunkStore {
  readonly blockSize: number;
  /** A writer of new slice `id`; `staged` needs the store's stage (RangeError without one). */
  newSliceWriter(id: number, options?: SliceWriterOptions): SliceWriter;
  /** Resolves once every block of a staged slice is in the object store (at once if none is staged). */
  sliceStored(id: number, size: number): Promise<void>;
  /** Removes a stored slice's blocks from the stage (after the metadata stopped calling it staged). */
  releaseStaged(id: number, size: number): Promise<void>;
  /**
   * `len` bytes at offset `off` of slice (id, size). Blocks come from the cache, else from the
   * store (then cached). A missing block is BlockMissingError (EIO), never zeros. Read-only:
   * the result may be a view of a cached block.
   */
  readSlice(id: number, size: number, off: number, len: number, options?: ReadSliceOptions): Promise<Buffer>;
  /** Starts fetching the blocks covering [off, off+len) of a slice into the cache; never rejects. */
  prefetch(id: number, size: number, off: number, len: number): void;
  /** Deletes every block of a slice from the store and the cache (idempotent). */
  deleteSlice(id: number, size: number): Promise<void>;
  /** Bytes currently buffered for upload (write-buffer use). */
  bufferedBytes(): number;
  /** The write-buffer bound in bytes. */
  bufferLimit(): number;
  /** Changes the write-buffer bound live (raised to one block if smaller). */
  setBufferLimit(bytes: number): void;
  /**
   * Blocks handed to the uploader and not yet stored, and the age in ms of the oldest of them
   * (0 when none): written data younger than that may not have reached the object store.
   */
  uploadQueue(): { readonly blocks: number; readonly oldestMs: number };
  /** Counters since the store was opened (metrics, tests). */
  stats(): ChunkStoreStats;
  /**
   * Waits for in-flight uploads and downloads and refuses new work. Does not close the object
   * store or the cache (they belong to the caller), and does not finish open writers.
   */
  close(): Promise<void>;
}

/** How a slice range is read. */
export interface ReadSliceOptions {
  /** Abandons the wait (a shared download goes on). */
  readonly signal?: AbortSignal | undefined;
  /**
   * A random read: a small part of a block no cache holds may be fetched alone (a ranged GET
   * of a raw block) instead of the whole block.
   */
  readonly partial?: boolean;
}

/** Counters of one chunk store since it was opened. */
export interface ChunkStoreStats {
  /** Block objects stored by writers (staged blocks count once uploaded by the stage, not here). */
  readonly blocksUploaded: number;
  /** Blocks written to the write-back stage. */
  readonly blocksStaged: number;
  /** Bytes sent to the object store (after compression). */
  readonly bytesUploaded: number;
  /** Block objects fetched from the object store (read and prefetch cache misses). */
  readonly blocksDownloaded: number;
  /** Parts of raw blocks fetched alone (ranged GETs of random reads). */
  readonly blockPartsDownloaded: number;
  /** Bytes fetched from the object store (before decompression). */
  readonly bytesDownloaded: number;
  /** Block fetches answered by the cache. */
  readonly cacheHits: number;
  /** Prefetches that failed (errors are swallowed and only counted here). */
  readonly prefetchErrors: number;
  /** Prefetches not started because too many were already queued. */
  readonly prefetchesDropped: number;
}
