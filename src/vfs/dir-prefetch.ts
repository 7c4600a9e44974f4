/**
 * Prefetch of a listed directory's small files (`--prefetch-dir`, decision 92). A listing page
 * names its regular files with their lengths; those that fit in one block are queued, their
 * first chunks' maps read in one statement per batch, and their blocks fetched into the caches
 * a few at a time, so that a program that lists a directory and then reads its files (cp -r,
 * tar, rsync, a dataset loader) finds each one in memory. Only the caches change: the maps
 * read here are not the ones reads use, so nothing is served from them.
 */
import type { ChunkStore } from '../chunk/index.js';
import type { ChunkRecord, DirEntry, MetaEngine } from '../meta/index.js';
import { mapRange } from './file-reader.js';

/** Files whose maps one statement reads. */
const BATCH = 64;

export interface DirPrefetchOptions {
  /** Files fetched at once (default 8: half the default download slots, reads keep the rest). */
  readonly concurrency?: number;
  /** Files queued at most; a listing beyond it is not prefetched (default 10,000). */
  readonly maxQueued?: number;
}

/** Counters of the prefetcher, for tests and metrics. */
export interface DirPrefetchStats {
  /** Files whose data was fetched (or found in the cache). */
  readonly files: number;
  /** Files not queued because the queue was full. */
  readonly dropped: number;
  /** Files whose prefetch failed (a hint only: the reader's own read reports errors). */
  readonly errors: number;
}

export class DirPrefetch {
  readonly #meta: MetaEngine;
  readonly #chunks: ChunkStore;
  readonly #concurrency: number;
  readonly #maxQueued: number;
  /** Queued inodes, in listing order. */
  readonly #queue = new Set<number>();
  #pump: Promise<void> | undefined;
  readonly #stats = { files: 0, dropped: 0, errors: 0 };

  constructor(meta: MetaEngine, chunks: ChunkStore, options: DirPrefetchOptions = {}) {
    this.#meta = meta;
    this.#chunks = chunks;
    this.#concurrency = options.concurrency ?? 8;
    this.#maxQueued = options.maxQueued ?? 10_000;
  }

  /** Queues the small regular files of a listing page. */
  listed(entries: readonly DirEntry[]): void {
    for (const e of entries) {
      if (e.type !== 'file' || e.attr.length === 0 || e.attr.length > this.#chunks.blockSize || this.#queue.has(e.ino)) continue;
      if (this.#queue.size >= this.#maxQueued) {
        this.#stats.dropped++;
        continue;
      }
      this.#queue.add(e.ino);
    }
    this.#kick();
  }

  /** Starts the pump if files wait and it is not running (again after it ends: a listing may come in between). */
  #kick(): void {
    if (this.#pump !== undefined || this.#queue.size === 0) return;
    this.#pump = this.#drain().finally(() => {
      this.#pump = undefined;
      this.#kick();
    });
  }

  stats(): DirPrefetchStats {
    return { ...this.#stats };
  }

  /** Resolves when the queue is empty and nothing is being fetched. */
  async idle(): Promise<void> {
    while (this.#pump !== undefined) await this.#pump;
  }

  /** Drops what is queued and waits for the files being fetched (unmount). */
  async stop(): Promise<void> {
    this.#queue.clear();
    await this.idle();
  }

  async #drain(): Promise<void> {
    while (this.#queue.size > 0) {
      const batch: number[] = [];
      for (const ino of this.#queue) {
        batch.push(ino);
        if (batch.length === BATCH) break;
      }
      let maps: Map<number, ChunkRecord>;
      try {
        maps = await this.#meta.firstChunks(batch);
      } catch {
        maps = new Map();
        this.#stats.errors += batch.length;
      }
      let next = 0;
      const worker = async (): Promise<void> => {
        while (next < batch.length) {
          const ino = batch[next++] as number;
          const record = maps.get(ino);
          if (record !== undefined) await this.#fetch(record);
        }
      };
      await Promise.all(Array.from({ length: this.#concurrency }, worker));
      for (const ino of batch) this.#queue.delete(ino);
    }
  }

  /** Reads the file's first chunk through the chunk store, which caches its blocks. */
  async #fetch(record: ChunkRecord): Promise<void> {
    try {
      const length = Math.min(record.length, this.#chunks.blockSize);
      const { pieces } = await mapRange(0, length, length, async () => record);
      await Promise.all(pieces.map((p) => this.#chunks.readSlice(p.id, p.size, p.off, p.len)));
      this.#stats.files++;
    } catch {
      this.#stats.errors++;
    }
  }
}
