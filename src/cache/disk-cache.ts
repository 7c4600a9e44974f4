/**
 * L2 block cache: one file per block under a directory, bounded by bytes and by the free
 * space of its file system, and rebuilt from the directory at open so it survives restarts.
 *
 * Invariants:
 * - A file under a key's name is complete: it is written as `<key>.tmp-<random>` and renamed.
 *   There is no fsync: a crash can still leave a renamed file whose data never reached the
 *   disk, which the header's length and crc catch on the next get (the file is then dropped).
 * - The in-memory index (key → file size, Map order = least recently used first) is the truth
 *   about what is cached; `bytes` is the sum of its sizes. Only one DiskCache may use a
 *   directory at a time (nothing locks it).
 * - Bytes being written are reserved against maxBytes before the write starts, so the files
 *   never add up to more than maxBytes.
 * - No method rejects for an I/O reason: errors are counted in stats() and the block is
 *   simply not cached (or not served). An invalid key is a programming error: get/has/delete
 *   reject with a TypeError, put (which callers often do not await) counts it as an error.
 */
import { randomBytes } from 'node:crypto';
import { lstat, mkdir, open, opendir, readFile, rename, statfs, unlink } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { setImmediate as nextTurn } from 'node:timers/promises';
import type { BlockCache, CacheUsage, DiskCacheOptions } from './types.js';
import { BLOCK_FILE_HEADER_SIZE, TEMP_SUFFIX_RE, blockFilePath, decodeBlockFile, encodeBlockHeader } from './block-file.js';

/** Default fraction of the cache's file system kept free. */
export const DEFAULT_FREE_RATIO = 0.1;
/** Default number of block files written at once. */
export const DEFAULT_WRITE_CONCURRENCY = 4;
/** Default bound of the data bytes of queued and running puts. */
export const DEFAULT_MAX_PENDING_BYTES = 64 * 1024 * 1024;
/** Default longest time between two statfs checks while writing. */
export const DEFAULT_FREE_SPACE_CHECK_MS = 2000;
/**
 * A statfs check is also due after this many bytes written since the last one, or after half
 * the room the last check found above the ratio if that is less (small file systems).
 */
const FREE_SPACE_CHECK_BYTES = 64 * 1024 * 1024;
/** This many write errors in a row (EROFS, EACCES, a dying disk …) disable puts for DISABLE_MS. */
const ERRORS_TO_DISABLE = 8;
const DISABLE_MS = 60_000;
/** Directory entries handled between two yields to the event loop during the open scan. */
const SCAN_BATCH = 256;

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

interface PendingWrite {
  readonly key: string;
  readonly data: Buffer;
  /** Bytes of the file: header + data. */
  readonly size: number;
  /** Set by delete() while the write runs: the file is removed again instead of indexed. */
  cancelled: boolean;
  readonly done: Promise<void>;
  readonly resolve: () => void;
}

interface ScannedFile {
  readonly key: string;
  readonly size: number;
  readonly mtimeMs: number;
}

/** A BlockCache of files in a local directory. Create it with `await DiskCache.open(options)`. */
export class DiskCache implements BlockCache {
  readonly #options: Readonly<Required<DiskCacheOptions>>;
  #maxBytes: number;
  /** key → file size; iteration order is least recently used first. */
  readonly #index = new Map<string, number>();
  #bytes = 0;
  /** Bytes of files being written, already counted against maxBytes. */
  #reserved = 0;
  readonly #pending = new Map<string, PendingWrite>();
  readonly #queue: PendingWrite[] = [];
  #running = 0;
  #pendingBytes = 0;
  /** Unlinks in flight by key, so a new write of the same key waits for the old file to go. */
  readonly #unlinking = new Map<string, Promise<void>>();
  #lowSpace = false;
  #lastSpaceCheck = 0;
  #writtenSinceSpaceCheck = 0;
  /** Bytes that may be written before the next statfs is due (see FREE_SPACE_CHECK_BYTES). */
  #spaceCheckAfterBytes = 0;
  #spaceCheck: Promise<void> | undefined;
  #errorsInARow = 0;
  #disabledUntil = 0;
  #closed = false;
  /** Resolves to the open error, or undefined once the directory is created and scanned. */
  readonly #ready: Promise<unknown>;
  #broken = false;
  #hits = 0;
  #misses = 0;
  #writes = 0;
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
    const pending = this.#pending.get(key);
    if (pending !== undefined && !pending.cancelled) { // being written: serve the bytes we hold
      this.#hits++;
      return pending.data;
    }
    const size = this.#index.get(key);
    if (size === undefined || this.#closed) {
      this.#misses++;
      return undefined;
    }
    this.#index.delete(key); // touch: move to the most recently used end
    this.#index.set(key, size);
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
    if (this.#index.has(key)) { // blocks are immutable: the cached copy is the same bytes
      this.#touch(key);
      return;
    }
    const pending = this.#pending.get(key);
    if (pending !== undefined) {
      pending.cancelled = false; // put again after a delete: keep the file after all
      return pending.done;
    }
    const size = BLOCK_FILE_HEADER_SIZE + data.length;
    if (this.#broken || this.#isDisabled() || size > this.#maxBytes) {
      this.#declined++;
      return;
    }
    if (this.#lowSpace) {
      if (this.#spaceCheckDue()) void this.#checkSpace(); // so a recovered disk is noticed
      this.#declined++;
      return;
    }
    if (this.#pendingBytes + data.length > this.#options.maxPendingBytes) {
      this.#dropped++;
      return;
    }
    let resolve!: () => void;
    const done = new Promise<void>((r) => { resolve = r; });
    const write: PendingWrite = { key, data, size, cancelled: false, done, resolve };
    this.#pending.set(key, write);
    this.#pendingBytes += data.length;
    this.#queue.push(write);
    this.#pump();
    return done;
  }

  /** Forgets the block; a write of it still in progress is removed once it completes. */
  async delete(key: string): Promise<void> {
    this.#path(key);
    await this.#ready;
    const pending = this.#pending.get(key);
    if (pending !== undefined) pending.cancelled = true;
    await this.#drop(key);
  }

  async has(key: string): Promise<boolean> {
    this.#path(key);
    await this.#ready;
    const pending = this.#pending.get(key);
    return this.#index.has(key) || (pending !== undefined && !pending.cancelled);
  }

  /** Bytes and number of complete block files (header included), not counting writes in flight. */
  usage(): CacheUsage {
    return { bytes: this.#bytes, entries: this.#index.size };
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
      hits: this.#hits, misses: this.#misses, writes: this.#writes, evictions: this.#evictions,
      corruptions: this.#corruptions, errors: this.#errors, declined: this.#declined,
      dropped: this.#dropped, tempFilesRemoved: this.#tempFilesRemoved,
      disabled: this.#isDisabled(), lowSpace: this.#lowSpace,
    };
  }

  /** Declines new puts and waits for queued writes and unlinks to finish. Files stay for the next open. */
  async close(): Promise<void> {
    this.#closed = true;
    await this.#ready;
    while (this.#pending.size > 0 || this.#unlinking.size > 0 || this.#spaceCheck !== undefined) {
      await Promise.all([
        ...[...this.#pending.values()].map((w) => w.done), ...this.#unlinking.values(), this.#spaceCheck,
      ]);
    }
  }

  // ---- writing ----

  #pump(): void {
    while (this.#running < this.#options.writeConcurrency) {
      const write = this.#queue.shift();
      if (write === undefined) return;
      this.#running++;
      void this.#write(write).finally(() => {
        this.#running--;
        this.#pendingBytes -= write.data.length;
        if (this.#pending.get(write.key) === write) this.#pending.delete(write.key);
        write.resolve();
        this.#pump();
      });
    }
  }

  /** Writes one block file; never rejects. */
  async #write(w: PendingWrite): Promise<void> {
    if (this.#spaceCheckDue()) await this.#checkSpace();
    if (w.cancelled) return;
    if (this.#lowSpace || this.#isDisabled()) {
      this.#declined++;
      return;
    }
    if (this.#reserved + w.size > this.#maxBytes) { // the writes in flight already fill the bound
      this.#declined++;
      return;
    }
    this.#reserved += w.size; // before evicting, so concurrent writes cannot both claim the room
    try {
      await this.#evictDownToFit();
      await this.#unlinking.get(w.key); // an old unlink of this key must not remove the new file
      await writeBlockFile(blockFilePath(this.#options.dir, w.key), w.data);
    } catch (err) {
      this.#writeFailed(err);
      return;
    } finally {
      this.#reserved -= w.size;
    }
    this.#writes++;
    this.#errorsInARow = 0;
    this.#writtenSinceSpaceCheck += w.size;
    if (w.cancelled) {
      await this.#unlinkFile(w.key);
      return;
    }
    this.#index.set(w.key, w.size);
    this.#bytes += w.size;
  }

  #writeFailed(err: unknown): void {
    this.#errors++;
    // Out of space between two statfs checks: look now (close() waits for it), so the cache
    // gives space back to the ratio even if no other write comes.
    if ((err as NodeJS.ErrnoException).code === 'ENOSPC') void this.#checkSpace();
    if (++this.#errorsInARow >= ERRORS_TO_DISABLE) {
      this.#errorsInARow = 0;
      this.#disabledUntil = Date.now() + DISABLE_MS;
    }
  }

  #isDisabled(): boolean {
    return Date.now() < this.#disabledUntil;
  }

  // ---- bounds ----

  /** Evicts until the indexed and reserved bytes fit under maxBytes, and waits for those files to go. */
  async #evictDownToFit(): Promise<void> {
    const unlinks: Promise<void>[] = [];
    while (this.#index.size > 0 && this.#bytes + this.#reserved > this.#maxBytes) {
      unlinks.push(this.#evictOldest());
    }
    await Promise.all(unlinks);
  }

  #evictDownTo(maxBytes: number): void {
    while (this.#index.size > 0 && this.#bytes > maxBytes) void this.#evictOldest();
  }

  #evictOldest(): Promise<void> {
    const oldest = this.#index.keys().next();
    if (oldest.done === true) return Promise.resolve();
    this.#evictions++;
    return this.#drop(oldest.value);
  }

  #spaceCheckDue(): boolean {
    return Date.now() - this.#lastSpaceCheck >= this.#options.freeSpaceCheckMs
      || this.#writtenSinceSpaceCheck >= this.#spaceCheckAfterBytes;
  }

  /** statfs the directory; below freeRatio, evict what would bring it back up and decline puts. */
  #checkSpace(): Promise<void> {
    this.#spaceCheck ??= this.#doCheckSpace().finally(() => { this.#spaceCheck = undefined; });
    return this.#spaceCheck;
  }

  async #doCheckSpace(): Promise<void> {
    this.#lastSpaceCheck = Date.now();
    this.#writtenSinceSpaceCheck = 0;
    let st: { bsize: number; blocks: number; bavail: number };
    try {
      st = await statfs(this.#options.dir);
    } catch {
      this.#errors++;
      return;
    }
    const missingBlocks = Math.ceil(this.#options.freeRatio * st.blocks) - st.bavail;
    this.#lowSpace = missingBlocks > 0;
    this.#spaceCheckAfterBytes = Math.min(FREE_SPACE_CHECK_BYTES, Math.max(0, -missingBlocks * st.bsize / 2));
    let toFree = missingBlocks * st.bsize;
    const unlinks: Promise<void>[] = [];
    while (toFree > 0 && this.#index.size > 0) {
      const oldest = this.#index.values().next();
      toFree -= oldest.done === true ? 0 : oldest.value;
      unlinks.push(this.#evictOldest());
    }
    await Promise.all(unlinks);
  }

  // ---- files ----

  #touch(key: string): void {
    const size = this.#index.get(key);
    if (size === undefined) return;
    this.#index.delete(key);
    this.#index.set(key, size);
  }

  /** Removes the key from the index (if there) and its file from the disk. */
  #drop(key: string): Promise<void> {
    const size = this.#index.get(key);
    if (size !== undefined) {
      this.#index.delete(key);
      this.#bytes -= size;
    }
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

  // ---- open ----

  async #init(): Promise<void> {
    await mkdir(this.#options.dir, { recursive: true });
    const files = await this.#scan();
    files.sort((a, b) => a.mtimeMs - b.mtimeMs); // no access times kept: oldest written = least recent
    for (const f of files) {
      this.#index.set(f.key, f.size);
      this.#bytes += f.size;
    }
    this.#evictDownTo(this.#maxBytes); // maxBytes may have shrunk since the last run
    await this.#checkSpace();
  }

  /**
   * Walks the directory with async fs calls, SCAN_BATCH entries at a time with a yield to the
   * event loop in between, so a cache of a million files does not stall a mount starting up.
   */
  async #scan(): Promise<ScannedFile[]> {
    const files: ScannedFile[] = [];
    const dirs: string[] = [''];
    for (let rel = dirs.pop(); rel !== undefined; rel = dirs.pop()) {
      const names: { name: string; isDir: boolean; isFile: boolean }[] = [];
      for await (const ent of await opendir(join(this.#options.dir, rel), { bufferSize: SCAN_BATCH })) {
        names.push({ name: ent.name, isDir: ent.isDirectory(), isFile: ent.isFile() });
        if (names.length >= SCAN_BATCH) {
          await this.#scanBatch(rel, names.splice(0), files, dirs);
          await nextTurn();
        }
      }
      await this.#scanBatch(rel, names, files, dirs);
    }
    return files;
  }

  async #scanBatch(rel: string, entries: readonly { name: string; isDir: boolean; isFile: boolean }[],
    files: ScannedFile[], dirs: string[]): Promise<void> {
    await Promise.all(entries.map(async ({ name, isDir, isFile }) => {
      const key = rel === '' ? name : `${rel}/${name}`;
      const path = join(this.#options.dir, key);
      if (isDir) {
        dirs.push(key);
      } else if (isFile && TEMP_SUFFIX_RE.test(name)) {
        await unlink(path).then(() => { this.#tempFilesRemoved++; }, () => { this.#errors++; });
      } else if (isFile) {
        const st = await lstat(path).catch(() => undefined); // vanished: nothing to index
        if (st === undefined) return;
        if (st.size < BLOCK_FILE_HEADER_SIZE) { // cannot even hold a header
          this.#corruptions++;
          await unlink(path).catch(() => { this.#errors++; });
        } else {
          files.push({ key, size: st.size, mtimeMs: st.mtimeMs });
        }
      }
    }));
  }
}

/** Writes header + data to a temp file next to `path` and renames it over `path`. */
async function writeBlockFile(path: string, data: Buffer): Promise<void> {
  const tmp = `${path}.tmp-${randomBytes(6).toString('hex')}`;
  try {
    await mkdir(dirname(path), { recursive: true });
    const fh = await open(tmp, 'wx', 0o600);
    try {
      await writeAll(fh, encodeBlockHeader(data), 0);
      await writeAll(fh, data, BLOCK_FILE_HEADER_SIZE);
    } finally {
      await fh.close();
    }
    await rename(tmp, path);
  } catch (err) {
    await unlink(tmp).catch(() => undefined); // may not exist; a leftover is removed at next open
    throw err;
  }
}

/** fh.write may write less than asked (e.g. just before ENOSPC): loop until all is written. */
async function writeAll(fh: FileHandle, buf: Buffer, position: number): Promise<void> {
  for (let done = 0; done < buf.length;) {
    const { bytesWritten } = await fh.write(buf, done, buf.length - done, position + done);
    done += bytesWritten;
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
