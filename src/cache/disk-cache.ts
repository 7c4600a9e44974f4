/**
 * L2 block cache: one file per block under a directory, bounded by bytes and by the free
 * space of its file system, and rebuilt from the directory at open so it survives restarts.
 * This file owns the index and the BlockCache contract; its parts are the in-memory index
 * (disk-index.ts), the write queue and the file format on disk (write-pump.ts, block-file.ts),
 * the free-space watch (free-space.ts), turning puts off while the disk keeps failing
 * (put-errors.ts) and the scan at open (restart-scan.ts).
 *
 * Invariants:
 * - A file under a key's name is complete (write-pump.ts).
 * - The in-memory index is the truth about what is cached. Only one DiskCache may use a
 *   directory at a time (nothing locks it).
 * - Bytes being written are reserved against maxBytes before the write starts, so the files
 *   never add up to more than maxBytes.
 * - No method rejects for an I/O reason: errors are counted in stats() and the block is
 *   simply not cached (or not served). An invalid key is a programming error: get/has/delete
 *   reject with a TypeError, put (which callers often do not await) counts it as an error.
 */
import { mkdir, readFile, unlink } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { BlockCache, CacheUsage, DiskCacheOptions } from './types.js';
import { BLOCK_FILE_HEADER_SIZE, blockFilePath, decodeBlockFile } from './block-file.js';
import { DiskIndex } from './disk-index.js';
import { FreeSpace } from './free-space.js';
import { PutErrors } from './put-errors.js';
import { scanCacheDir } from './restart-scan.js';
import { WritePump, writeBlockFile, type PendingWrite } from './write-pump.js';

/** Default fraction of the cache's file system kept free. */
export const DEFAULT_FREE_RATIO = 0.1;
/** Default number of block files written at once. */
export const DEFAULT_WRITE_CONCURRENCY = 4;
/** Default bound of the data bytes of queued and running puts. */
export const DEFAULT_MAX_PENDING_BYTES = 64 * 1024 * 1024;
/** Default longest time between two statfs checks while writing. */
export const DEFAULT_FREE_SPACE_CHECK_MS = 2000;

/** Counters and state of a DiskCache. */
export interface DiskCacheStats {
  readonly hits: number;
  readonly misses: number;
  /** Block files written. */
  readonly writes: number;
  /** Entries removed to respect maxBytes or the free-space ratio. */
  readonly evictions: number;
  /** Files found damaged (by get, or too short at open) and deleted. */
  readonly corruptions: number;
  /** I/O errors swallowed (failed writes, reads, unlinks, statfs), plus puts with invalid keys. */
  readonly errors: number;
  /** Puts not cached because the cache was closed, disabled, short of space, or the block too big. */
  readonly declined: number;
  /** Puts dropped because maxPendingBytes of writes were already queued. */
  readonly dropped: number;
  /** Leftover temp files removed by the open scan. */
  readonly tempFilesRemoved: number;
  /** Whether puts are currently off after repeated write errors. */
  readonly disabled: boolean;
  /** Whether the last statfs found less free space than freeRatio (puts are declined). */
  readonly lowSpace: boolean;
}

/** A BlockCache of files in a local directory. Create it with `await DiskCache.open(options)`. */
export class DiskCache implements BlockCache {
  readonly #options: Readonly<Required<DiskCacheOptions>>;
  #maxBytes: number;
  readonly #index = new DiskIndex();
  readonly #writes: WritePump;
  readonly #space: FreeSpace;
  readonly #putErrors = new PutErrors();
  /** Unlinks in flight by key, so a new write of the same key waits for the old file to go. */
  readonly #unlinking = new Map<string, Promise<void>>();
  #closed = false;
  /** Resolves to the open error, or undefined once the directory is created and scanned. */
  readonly #ready: Promise<unknown>;
  #broken = false;
  #hits = 0;
  #misses = 0;
  #written = 0;
  #evictions = 0;
  #corruptions = 0;
  #errors = 0;
  #declined = 0;
  #dropped = 0;
  #tempFilesRemoved = 0;

  /**
   * Starts creating and scanning the directory; every method waits for that first. Prefer
   * `DiskCache.open`, which also reports a directory that cannot be created or read (a cache
   * made with `new` then just stays empty and declines puts).
   */
  constructor(options: DiskCacheOptions) {
    this.#options = Object.freeze(checkOptions(options));
    this.#maxBytes = this.#options.maxBytes;
    this.#writes = new WritePump(this.#options.writeConcurrency, this.#options.maxPendingBytes, (w) => this.#write(w));
    this.#space = new FreeSpace(this.#options.dir, this.#options.freeRatio, this.#options.freeSpaceCheckMs);
    this.#ready = this.#init().then(() => undefined, (err: unknown) => {
      this.#broken = true;
      return err ?? new Error('unknown error');
    });
  }

  /** Creates the directory if needed and indexes the blocks already in it (removing temp files). */
  static async open(options: DiskCacheOptions): Promise<DiskCache> {
    const cache = new DiskCache(options);
    const err = await cache.#ready;
    if (err !== undefined) {
      const code = (err as NodeJS.ErrnoException).code ?? 'error';
      throw new Error(`cannot open the disk cache in ${cache.#options.dir}: ${code}: ${(err as Error).message}`, { cause: err });
    }
    return cache;
  }

  /** The directory of the cache (absolute). */
  get dir(): string {
    return this.#options.dir;
  }

  async get(key: string): Promise<Buffer | undefined> {
    const path = this.#path(key);
    await this.#ready;
    const pending = this.#writes.get(key);
    if (pending !== undefined && !pending.cancelled) { // being written: serve the bytes we hold
      this.#hits++;
      return pending.data;
    }
    if (this.#closed || this.#index.use(key) === undefined) { // use: move to the most recently used end
      this.#misses++;
      return undefined;
    }
    let file: Buffer;
    try {
      file = await readFile(path);
    } catch (err) {
      if (!isAbsence(err)) this.#errors++;
      this.#misses++;
      await this.#drop(key); // gone (evicted meanwhile) or unreadable: forget it either way
      return undefined;
    }
    const decoded = decodeBlockFile(file);
    if (!decoded.ok) {
      this.#corruptions++;
      this.#misses++;
      await this.#drop(key);
      return undefined;
    }
    this.#hits++;
    return decoded.data;
  }

  /**
   * Resolves once the block's file is written, or at once if it is declined; never rejects.
   * `data` is kept by reference until written: the caller must not modify it.
   */
  async put(key: string, data: Buffer): Promise<void> {
    try {
      blockFilePath(this.#options.dir, key);
    } catch {
      this.#errors++;
      return;
    }
    if (this.#closed) { // checked before waiting, so a put made before close() is still written
      this.#declined++;
      return;
    }
    await this.#ready;
    if (this.#index.use(key) !== undefined) return; // blocks are immutable: the cached copy is the same bytes
    const pending = this.#writes.get(key);
    if (pending !== undefined) {
      pending.cancelled = false; // put again after a delete: keep the file after all
      return pending.done;
    }
    const size = BLOCK_FILE_HEADER_SIZE + data.length;
    if (this.#broken || this.#putErrors.disabled || size > this.#maxBytes) {
      this.#declined++;
      return;
    }
    if (this.#space.low) {
      if (this.#space.due) void this.#checkSpace(); // so a recovered disk is noticed
      this.#declined++;
      return;
    }
    const write = this.#writes.enqueue(key, data, size);
    if (write === undefined) {
      this.#dropped++;
      return;
    }
    return write.done;
  }

  /** Forgets the block; a write of it still in progress is removed once it completes. */
  async delete(key: string): Promise<void> {
    this.#path(key);
    await this.#ready;
    const pending = this.#writes.get(key);
    if (pending !== undefined) pending.cancelled = true;
    await this.#drop(key);
  }

  async has(key: string): Promise<boolean> {
    this.#path(key);
    await this.#ready;
    const pending = this.#writes.get(key);
    return this.#index.has(key) || (pending !== undefined && !pending.cancelled);
  }

  /** Bytes and number of complete block files (header included), not counting writes in flight. */
  usage(): CacheUsage {
    return { bytes: this.#index.bytes, entries: this.#index.size };
  }

  /** The current byte bound. */
  get maxBytes(): number {
    return this.#maxBytes;
  }

  /** Changes the byte bound; shrinking evicts least recently used files (in the background). */
  resize(maxBytes: number): void {
    checkNonNegative('maxBytes', maxBytes);
    this.#maxBytes = maxBytes;
    this.#evictDownTo(maxBytes);
  }

  stats(): DiskCacheStats {
    return {
      hits: this.#hits, misses: this.#misses, writes: this.#written, evictions: this.#evictions,
      corruptions: this.#corruptions, errors: this.#errors, declined: this.#declined,
      dropped: this.#dropped, tempFilesRemoved: this.#tempFilesRemoved,
      disabled: this.#putErrors.disabled, lowSpace: this.#space.low,
    };
  }

  /** Declines new puts and waits for queued writes and unlinks to finish. Files stay for the next open. */
  async close(): Promise<void> {
    this.#closed = true;
    await this.#ready;
    for (;;) {
      const busy = [...this.#writes.inFlight(), ...this.#unlinking.values(), ...(this.#space.running === undefined ? [] : [this.#space.running])];
      if (busy.length === 0) return;
      await Promise.all(busy);
    }
  }

  /** Writes one block file (the pump's job); never rejects. */
  async #write(w: PendingWrite): Promise<void> {
    if (this.#space.due) await this.#checkSpace();
    if (w.cancelled) return;
    if (this.#space.low || this.#putErrors.disabled) {
      this.#declined++;
      return;
    }
    if (this.#index.reserved + w.size > this.#maxBytes) { // the writes in flight already fill the bound
      this.#declined++;
      return;
    }
    this.#index.reserve(w.size); // before evicting, so concurrent writes cannot both claim the room
    try {
      await this.#evictDownToFit();
      await this.#unlinking.get(w.key); // an old unlink of this key must not remove the new file
      await writeBlockFile(blockFilePath(this.#options.dir, w.key), w.data);
    } catch (err) {
      this.#writeFailed(err);
      return;
    } finally {
      this.#index.unreserve(w.size);
    }
    this.#written++;
    this.#putErrors.succeeded();
    this.#space.wrote(w.size);
    if (w.cancelled) {
      await this.#unlinkFile(w.key);
      return;
    }
    this.#index.add(w.key, w.size);
  }

  #writeFailed(err: unknown): void {
    this.#errors++;
    // Out of space between two statfs checks: look now (close() waits for it), so the cache
    // gives space back to the ratio even if no other write comes.
    if ((err as NodeJS.ErrnoException).code === 'ENOSPC') void this.#checkSpace();
    this.#putErrors.failed();
  }

  // ---- bounds ----

  /** Evicts until the indexed and reserved bytes fit under maxBytes, and waits for those files to go. */
  async #evictDownToFit(): Promise<void> {
    const unlinks: Promise<void>[] = [];
    while (this.#index.size > 0 && this.#index.bytes + this.#index.reserved > this.#maxBytes) {
      unlinks.push(this.#evictOldest());
    }
    await Promise.all(unlinks);
  }

  #evictDownTo(maxBytes: number): void {
    while (this.#index.size > 0 && this.#index.bytes > maxBytes) void this.#evictOldest();
  }

  #evictOldest(): Promise<void> {
    const oldest = this.#index.oldest();
    if (oldest === undefined) return Promise.resolve();
    this.#evictions++;
    return this.#drop(oldest.key);
  }

  /** statfs the directory; below freeRatio, evict what would bring it back up (puts are declined meanwhile). */
  #checkSpace(): Promise<void> {
    return this.#space.check(async (bytes) => {
      let toFree = bytes;
      const unlinks: Promise<void>[] = [];
      while (toFree > 0 && this.#index.size > 0) {
        toFree -= this.#index.oldest()?.size ?? 0;
        unlinks.push(this.#evictOldest());
      }
      await Promise.all(unlinks);
    }, () => { this.#errors++; });
  }

  // ---- files ----

  /** Removes the key from the index (if there) and its file from the disk. */
  #drop(key: string): Promise<void> {
    this.#index.remove(key);
    return this.#unlinkFile(key);
  }

  /** Unlinks key's file after any earlier unlink of it; tracked so writes and close can wait. */
  #unlinkFile(key: string): Promise<void> {
    const path = blockFilePath(this.#options.dir, key);
    const before = this.#unlinking.get(key) ?? Promise.resolve();
    const p: Promise<void> = before.then(() => unlink(path)).catch((err: unknown) => {
      if (!isAbsence(err)) this.#errors++;
    }).finally(() => {
      if (this.#unlinking.get(key) === p) this.#unlinking.delete(key);
    });
    this.#unlinking.set(key, p);
    return p;
  }

  #path(key: string): string {
    return blockFilePath(this.#options.dir, key);
  }

  async #init(): Promise<void> {
    await mkdir(this.#options.dir, { recursive: true });
    const scan = await scanCacheDir(this.#options.dir);
    for (const f of scan.files) this.#index.add(f.key, f.size);
    this.#tempFilesRemoved += scan.tempFilesRemoved;
    this.#corruptions += scan.corruptions;
    this.#errors += scan.errors;
    this.#evictDownTo(this.#maxBytes); // maxBytes may have shrunk since the last run
    await this.#checkSpace();
  }
}

function checkOptions(options: DiskCacheOptions): Required<DiskCacheOptions> {
  const {
    dir, maxBytes, freeRatio = DEFAULT_FREE_RATIO, writeConcurrency = DEFAULT_WRITE_CONCURRENCY,
    maxPendingBytes = DEFAULT_MAX_PENDING_BYTES, freeSpaceCheckMs = DEFAULT_FREE_SPACE_CHECK_MS,
  } = options;
  if (typeof dir !== 'string' || dir === '') throw new TypeError('disk cache dir must be a non-empty path');
  checkNonNegative('maxBytes', maxBytes);
  if (!(freeRatio >= 0 && freeRatio < 1)) throw new RangeError(`disk cache freeRatio must be in [0, 1), got ${freeRatio}`);
  if (!Number.isSafeInteger(writeConcurrency) || writeConcurrency < 1) {
    throw new RangeError(`disk cache writeConcurrency must be a positive integer, got ${writeConcurrency}`);
  }
  checkNonNegative('maxPendingBytes', maxPendingBytes);
  checkNonNegative('freeSpaceCheckMs', freeSpaceCheckMs);
  return { dir: resolve(dir), maxBytes, freeRatio, writeConcurrency, maxPendingBytes, freeSpaceCheckMs };
}

function checkNonNegative(name: string, value: number): void {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new RangeError(`disk cache ${name} must be a non-negative integer, got ${value}`);
  }
}

function isAbsence(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException).code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}
