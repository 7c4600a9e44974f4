/**
 * Opening a volume in-process: metadata engine, the volume's object store, memory (and
 * optionally disk) block cache, chunk store and vfs, plus the background jobs every client
 * runs (deferred deletion, cleaning dead sessions). The mount, the tools and programs that
 * embed ObjectFS all start here.
 */
import { join } from 'node:path';
import { DiskCache, MemoryCache, TieredCache, type BlockCache } from '../cache/index.js';
import { openChunkStore } from '../chunk/index.js';
import { openMeta, type MetaEngine, type MetaOptions, type SessionInfo } from '../meta/index.js';
import type { ObjectStore, OpenStoreOptions } from '../object/index.js';
import { Vfs, type VfsOptions } from '../vfs/index.js';
import { openVolumeStore } from './volume-store.js';

export interface OpenVolumeOptions extends MetaOptions, VfsOptions {
  /** Memory cache bound in bytes (default 256 MiB). */
  readonly memoryCacheBytes?: number;
  /** Disk cache directory; the volume's uuid is appended. No disk cache when absent. */
  readonly cacheDir?: string;
  /** Disk cache bound in bytes (default 10 GiB). */
  readonly cacheBytes?: number;
  /** Keep this fraction of the cache's file system free (default 0.1). */
  readonly cacheFreeRatio?: number;
  /** Write buffer bound in bytes (default 300 MiB). */
  readonly bufferBytes?: number;
  readonly uploadConcurrency?: number;
  readonly downloadConcurrency?: number;
  readonly storageClass?: string;
  /** Register a session (mounts do; one-shot tools need not). */
  readonly session?: SessionInfo;
  /** Interval of the background jobs in ms (default 10 s; 0 disables them). */
  readonly backgroundMs?: number;
  /** Passed to the object store (timeouts, retries, credentials). */
  readonly storeOptions?: OpenStoreOptions;
  /** Wraps the object store (fault injection in tests, metrics). */
  readonly wrapStore?: (store: ObjectStore) => ObjectStore;
}

export interface Volume {
  readonly meta: MetaEngine;
  readonly vfs: Vfs;
  readonly store: ObjectStore;
  readonly cache: BlockCache;
  /** Commits pending writes, stops background jobs, closes everything. */
  close(): Promise<void>;
}

export const DEFAULT_MEMORY_CACHE = 256 << 20;
export const DEFAULT_DISK_CACHE = 10 * 2 ** 30;
export const DEFAULT_BUFFER = 300 << 20;

export async function openVolume(metaUrl: string, options: OpenVolumeOptions = {}): Promise<Volume> {
  const meta = await openMeta(metaUrl, options);
  const closers: (() => Promise<void>)[] = [() => meta.close()];
  const closeAll = async () => { for (const c of closers.reverse()) await c().catch(() => undefined); };
  try {
    const { base, store: volumeStore } = await openVolumeStore(meta.volume.storage, meta.volume.name, options.storeOptions);
    const store = options.wrapStore ? options.wrapStore(volumeStore) : volumeStore;
    closers.push(() => base.close());
    const memory = new MemoryCache({ maxBytes: options.memoryCacheBytes ?? DEFAULT_MEMORY_CACHE });
    let cache: BlockCache = memory;
    if (options.cacheDir !== undefined) {
      const disk = await DiskCache.open({ dir: join(options.cacheDir, meta.volume.uuid), maxBytes: options.cacheBytes ?? DEFAULT_DISK_CACHE, freeRatio: options.cacheFreeRatio });
      cache = new TieredCache(memory, disk);
    }
    closers.push(() => cache.close());
    let vfs: Vfs | undefined;
    const chunks = openChunkStore({
      store,
      cache,
      blockSize: meta.volume.blockSize,
      compression: meta.volume.compression,
      uploadConcurrency: options.uploadConcurrency,
      downloadConcurrency: options.downloadConcurrency,
      bufferBytes: options.bufferBytes ?? DEFAULT_BUFFER,
      storageClass: options.storageClass,
      onBufferFull: () => vfs?.relieveBufferPressure(),
    });
    closers.push(() => chunks.close());
    vfs = new Vfs(meta, chunks, options);
    const theVfs = vfs;
    if (options.session !== undefined) await meta.registerSession(options.session);
    const stopBackground = startBackground(meta, theVfs, options.backgroundMs ?? 10_000);
    let closed = false;
    return {
      meta, vfs: theVfs, store, cache,
      async close() {
        if (closed) return;
        closed = true;
        await stopBackground();
        try {
          await theVfs.flushAll();
        } finally {
          await closeAll();
        }
      },
    };
  } catch (err) {
    await closeAll();
    throw err;
  }
}

/** Runs deferred deletion and dead-session cleanup every `intervalMs`; returns a stopper. */
function startBackground(meta: MetaEngine, vfs: Vfs, intervalMs: number): () => Promise<void> {
  if (intervalMs <= 0) return async () => undefined;
  let running: Promise<void> = Promise.resolve();
  const timer = setInterval(() => {
    running = running.then(async () => {
      await meta.cleanExpiredSessions().catch(() => undefined);
      await vfs.runDeletion().catch(() => undefined);
    });
  }, intervalMs);
  timer.unref();
  return async () => {
    clearInterval(timer);
    await running;
  };
}
