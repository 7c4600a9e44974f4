/**
 * The write-back stage (decision 90): encoded blocks kept durably on the local disk until a
 * background uploader has put them in the object store. A put returns once the block is
 * written, fsynced and renamed into place (and the directory fsynced), so a close that waited
 * for its blocks' puts loses nothing to a crash: the next open of the same directory finds the
 * leftovers, and their owner uploads them before anything else.
 *
 * Invariants:
 * - a file under a key's name is complete (written as `.tmp`, fsynced, renamed);
 * - a block stays readable here (get) until release() or discard(), which come after its
 *   upload (release) or after its slice was deleted (discard);
 * - uploads run in staging order, `concurrency` at a time; a failed upload is retried with
 *   backoff until it succeeds or the stage closes (the block stays staged meanwhile);
 * - bytes staged and not uploaded yet stay under `limitBytes` (one block may exceed it when
 *   none is pending): a put waits for room, which uploads make. Room is not tied to release():
 *   a slice is released only once all its blocks are uploaded and committed, so writers waiting
 *   for room with half-staged slices would otherwise hold it forever. Uploads never wait for
 *   puts, so back-pressure cannot deadlock.
 */
import { mkdir, open, readdir, readFile, rename, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ObjectStore } from '../object/index.js';

const TMP_SUFFIX = '.tmp';
/** First and longest wait between two attempts of a failing upload. */
const RETRY_FIRST_MS = 500;
const RETRY_MAX_MS = 15_000;

export interface BlockStageOptions {
  /** The stage's directory (created); one stage per directory at a time. */
  readonly dir: string;
  /** Bound of staged bytes: puts wait while it is reached. */
  readonly limitBytes: number;
  /** Where the blocks go. */
  readonly store: ObjectStore;
  /** Uploads in flight at once. */
  readonly concurrency: number;
  /** Told when an upload fails (it is retried) and when one succeeds again after failures. */
  readonly log?: { warn(message: string, fields?: Record<string, unknown>): void; info(message: string, fields?: Record<string, unknown>): void };
}

type EntryState = 'queued' | 'uploading' | 'uploaded';

interface Entry {
  readonly size: number;
  readonly sha256: string | undefined;
  state: EntryState;
  /** The slice was deleted while this block uploaded: remove the object again afterwards, or stop retrying. */
  discarded: boolean;
  /** Resolved when the block is in the object store (or discarded). */
  readonly stored: Promise<void>;
  readonly markStored: () => void;
}

/** What the stage holds, for status and metrics. */
export interface StageBacklog {
  /** Blocks staged and not yet uploaded. */
  readonly blocks: number;
  /** Bytes on the stage's disk (uploaded blocks not yet released included). */
  readonly bytes: number;
}

/** Durable local stage of blocks with a background uploader; see the module comment. */
export class BlockStage {
  readonly dir: string;
  /** Keys found staged when the stage was opened (a previous run's leftovers), oldest first. */
  readonly leftovers: readonly string[];
  readonly #o: BlockStageOptions;
  readonly #entries = new Map<string, Entry>();
  readonly #queue: string[] = [];
  readonly #roomWaiters: (() => void)[] = [];
  /** Bytes of the stage's files (uploaded and not released included). */
  #bytes = 0;
  /** Of those, bytes not uploaded yet: what the bound counts. */
  #pendingBytes = 0;
  #uploading = 0;
  #failing = 0;
  /** Since when every upload attempt has failed (undefined: the last one succeeded), and the last error. */
  #failingSince: number | undefined;
  #lastFailure: unknown;
  #closed = false;
  /** Aborts uploads and their backoff waits at close. */
  readonly #closing = new AbortController();
  #dirSync: Promise<void> | undefined;
  #dirSyncNext: Promise<void> | undefined;
  readonly #idleWaiters: (() => void)[] = [];

  private constructor(options: BlockStageOptions, leftovers: { key: string; size: number }[]) {
    this.dir = options.dir;
    this.#o = options;
    this.leftovers = leftovers.map((l) => l.key);
    for (const { key, size } of leftovers) this.#add(key, size, undefined);
    this.#pump();
  }

  /** Opens (creates) the stage in `options.dir`: removes torn writes and queues leftovers for upload. */
  static async open(options: BlockStageOptions): Promise<BlockStage> {
    if (!Number.isSafeInteger(options.limitBytes) || options.limitBytes < 1) throw new RangeError(`stage limit ${options.limitBytes} is not a positive byte count`);
    await mkdir(options.dir, { recursive: true });
    const found: { key: string; size: number; mtime: number }[] = [];
    for (const name of await readdir(options.dir)) {
      const path = join(options.dir, name);
      // A .tmp file is a put that never returned: nobody was told its block was staged.
      if (name.endsWith(TMP_SUFFIX)) {
        await unlink(path).catch(() => undefined);
        continue;
      }
      const st = await stat(path);
      if (st.isFile()) found.push({ key: decodeURIComponent(name), size: st.size, mtime: st.mtimeMs });
    }
    found.sort((a, b) => a.mtime - b.mtime || (a.key < b.key ? -1 : 1));
    return new BlockStage(options, found);
  }

  /**
   * Stages an encoded block durably and queues its upload; waits first while the stage is full.
   * `sha256` (hex of `data`) is passed on to the upload.
   */
  async put(key: string, data: Buffer, sha256?: string): Promise<void> {
    this.#checkOpen();
    if (this.#entries.has(key)) return; // blocks are immutable: staged already
    while (this.#pendingBytes > 0 && this.#pendingBytes + data.length > this.#o.limitBytes) {
      await new Promise<void>((resolve) => this.#roomWaiters.push(resolve));
      this.#checkOpen();
    }
    // Reserved before the write, so concurrent puts respect the bound.
    this.#bytes += data.length;
    this.#pendingBytes += data.length;
    try {
      const path = this.#path(key);
      const file = await open(path + TMP_SUFFIX, 'w');
      try {
        await file.writeFile(data);
        await file.sync();
      } finally {
        await file.close();
      }
      await rename(path + TMP_SUFFIX, path);
      await this.#syncDir();
    } catch (err) {
      this.#bytes -= data.length;
      this.#uploadedOrDropped(data.length);
      throw err;
    }
    // #add counts it again.
    this.#bytes -= data.length;
    this.#pendingBytes -= data.length;
    this.#add(key, data.length, sha256);
    this.#pump();
  }

  /** The encoded block if it is staged here, else undefined (read it from the object store). */
  async get(key: string): Promise<Buffer | undefined> {
    if (!this.#entries.has(key)) return undefined;
    // Released meanwhile (uploaded): the object store has it.
    return readFile(this.#path(key)).catch(() => undefined);
  }

  /** True while `key` is staged here. */
  has(key: string): boolean {
    return this.#entries.has(key);
  }

  /** Resolves once every one of `keys` staged here is in the object store (keys not staged count as stored). */
  async stored(keys: readonly string[]): Promise<void> {
    await Promise.all(keys.map((key) => this.#entries.get(key)?.stored));
  }

  /** Forgets uploaded blocks and removes their files (after the metadata stopped calling them staged). */
  async release(keys: readonly string[]): Promise<void> {
    for (const key of keys) {
      const entry = this.#entries.get(key);
      if (entry === undefined) continue;
      if (entry.state !== 'uploaded') throw new Error(`staged block ${key} is not uploaded yet`);
      await this.#remove(key, entry);
    }
  }

  /**
   * Their slice was deleted: blocks not uploaded yet are dropped, one uploading is deleted from
   * the object store again once its upload ends (the caller deletes the uploaded ones).
   */
  async discard(keys: readonly string[]): Promise<void> {
    for (const key of keys) {
      const entry = this.#entries.get(key);
      if (entry === undefined) continue;
      if (entry.state === 'uploading') {
        entry.discarded = true;
        continue;
      }
      if (entry.state === 'queued') this.#queue.splice(this.#queue.indexOf(key), 1);
      await this.#remove(key, entry);
    }
  }

  /** Uploads fail with no success since `sinceMs` (Date.now() clock); undefined while they work. */
  uploadFailure(): { readonly sinceMs: number; readonly error: unknown } | undefined {
    return this.#failingSince === undefined ? undefined : { sinceMs: this.#failingSince, error: this.#lastFailure };
  }

  backlog(): StageBacklog {
    let blocks = 0;
    for (const e of this.#entries.values()) if (e.state !== 'uploaded') blocks++;
    return { blocks, bytes: this.#bytes };
  }

  /** Resolves when nothing staged is waiting for or in upload. */
  async drain(): Promise<void> {
    while (this.#queue.length > 0 || this.#uploading > 0) await new Promise<void>((resolve) => this.#idleWaiters.push(resolve));
  }

  /** Stops uploading (running uploads end first); what is staged stays for the next open. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#closing.abort(new Error('the write-back stage is closing'));
    for (const wake of this.#roomWaiters.splice(0)) wake();
    while (this.#uploading > 0) await new Promise<void>((resolve) => this.#idleWaiters.push(resolve));
  }

  #path(key: string): string {
    return join(this.dir, encodeURIComponent(key));
  }

  #add(key: string, size: number, sha256: string | undefined): void {
    let markStored!: () => void;
    const stored = new Promise<void>((resolve) => { markStored = resolve; });
    this.#entries.set(key, { size, sha256, state: 'queued', discarded: false, stored, markStored });
    this.#bytes += size;
    this.#pendingBytes += size;
    this.#queue.push(key);
  }

  async #remove(key: string, entry: Entry): Promise<void> {
    this.#entries.delete(key);
    if (entry.state !== 'uploaded') this.#uploadedOrDropped(entry.size);
    entry.markStored();
    this.#bytes -= entry.size;
    await unlink(this.#path(key)).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOENT') throw err;
    });
  }

  /** `bytes` no longer wait for upload: writers waiting for room may go on. */
  #uploadedOrDropped(bytes: number): void {
    this.#pendingBytes -= bytes;
    for (const wake of this.#roomWaiters.splice(0)) wake();
  }

  /** Starts uploads while slots are free. */
  #pump(): void {
    while (!this.#closed && this.#uploading < this.#o.concurrency && this.#queue.length > 0) {
      const key = this.#queue.shift() as string;
      const entry = this.#entries.get(key);
      if (entry === undefined || entry.state !== 'queued') continue;
      entry.state = 'uploading';
      this.#uploading++;
      void this.#upload(key, entry).finally(() => {
        this.#uploading--;
        this.#pump();
        if (this.#queue.length === 0 && this.#uploading === 0 || this.#closed) for (const wake of this.#idleWaiters.splice(0)) wake();
      });
    }
  }

  /** Uploads one block, retrying with backoff until it lands or the stage closes. */
  async #upload(key: string, entry: Entry): Promise<void> {
    for (let wait = RETRY_FIRST_MS; ; wait = Math.min(RETRY_MAX_MS, wait * 2)) {
      try {
        const data = await readFile(this.#path(key));
        await this.#o.store.put(key, data, { signal: this.#closing.signal, ...(entry.sha256 === undefined ? {} : { sha256: entry.sha256 }) });
        break;
      } catch (err) {
        if (this.#closed) {
          entry.state = 'queued'; // stays staged for the next open
          return;
        }
        this.#lastFailure = err;
        this.#failingSince ??= Date.now();
        if (this.#failing++ === 0) this.#o.log?.warn('uploading staged blocks fails; retrying', { key, err });
        await sleep(wait, undefined, { signal: this.#closing.signal, ref: false }).catch(() => undefined);
        // Its slice was deleted meanwhile: no more attempts. Should a failed attempt have
        // stored it after all, gc finds the object unreferenced.
        if (entry.discarded) {
          await this.#remove(key, entry).catch(() => undefined);
          return;
        }
      }
    }
    if (this.#failing > 0) {
      this.#o.log?.info('uploading staged blocks works again', { failedAttempts: this.#failing });
      this.#failing = 0;
    }
    this.#failingSince = undefined;
    entry.state = 'uploaded';
    this.#uploadedOrDropped(entry.size);
    entry.markStored();
    if (entry.discarded) {
      await this.#o.store.delete(key).catch(() => undefined); // else gc finds it as a leak
      await this.#remove(key, entry).catch(() => undefined);
    }
  }

  /** fsyncs the directory after a rename; concurrent callers share one fsync started after their rename. */
  #syncDir(): Promise<void> {
    if (this.#dirSync === undefined) {
      this.#dirSync = this.#fsyncDir().finally(() => { this.#dirSync = undefined; });
      return this.#dirSync;
    }
    this.#dirSyncNext ??= this.#dirSync.then(() => {
      this.#dirSyncNext = undefined;
      return this.#syncDir();
    });
    return this.#dirSyncNext;
  }

  async #fsyncDir(): Promise<void> {
    const dir = await open(this.dir, 'r');
    try {
      await dir.sync();
    } finally {
      await dir.close();
    }
  }

  #checkOpen(): void {
    if (this.#closed) throw new Error(`the write-back stage in ${this.dir} is closed`);
  }
}
