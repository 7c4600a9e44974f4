/**
 * Opening a volume in-process: metadata engine, the volume's object store, memory (and
 * optionally disk) block cache, chunk store and vfs, plus the background jobs every client
 * runs (deferred deletion, cleaning dead sessions). The mount, the tools and programs that
 * embed ObjectFS all start here.
 */
import { join } from 'node:path';
import { DiskCache, MemoryCache, TieredCache, type BlockCache } from '../cache/index.js';
import { BlockStage, DEFAULT_UPLOAD_CONCURRENCY, openChunkStore, type ChunkStore } from '../chunk/index.js';
import { recoverStage, type RecoveryOptions } from './stage-recovery.js';
import { openMeta, ROOT_INO, type MetaEngine, type MetaOptions, type SessionInfo } from '../meta/index.js';
import { MetricsStore, RateLimitedStore, type ObjectStore, type OpenStoreOptions } from '../object/index.js';
import { Vfs, type VfsOptions } from '../vfs/index.js';
import { openVolumeStore } from './volume-store.js';
import { resolveSubdir } from './subdir.js';
import { collectVolumeMetrics } from './volume-metrics.js';
import { startMetaBackups, type MetaBackupOptions } from './meta-backup.js';

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
  /**
   * How often one mount of the volume expires the trash (ms, default 1 h; claimed through
   * claimJob, so only one live mount runs it per period). Only with a session.
   */
  readonly trashExpiryMs?: number;
  /** Passed to the object store (timeouts, retries, credentials). */
  readonly storeOptions?: OpenStoreOptions;
  /** Wraps the object store (fault injection in tests); metrics and rate limits go over it. */
  readonly wrapStore?: (store: ObjectStore) => ObjectStore;
  /** Upload (put) limit in bytes per second; 0 or absent = unlimited. Changeable live. */
  readonly uploadBytesPerSecond?: number;
  /** Download (get) limit in bytes per second; 0 or absent = unlimited. Changeable live. */
  readonly downloadBytesPerSecond?: number;
  /**
   * A directory of the volume (`/a/b`, from its root) that a mount serves as its root: looked up
   * when the volume opens, which fails with a SubdirError (ENOENT, ENOTDIR, EINVAL) if it is not
   * one. Sets `Volume.root`; the vfs itself is not confined to it (the FUSE layer confines a mount).
   */
  readonly subdir?: string;
  /** Metadata backups into the bucket (mounts; meta-backup.ts). None when absent. */
  readonly metaBackup?: MetaBackupOptions;
  /**
   * Bound of the write-back stage in bytes (default a tenth of the disk cache bound). The stage
   * lives beside the disk cache, so write-back (`writeback`) needs `cacheDir` (and `session`).
   */
  readonly writebackLimitBytes?: number;
  /** How long close() waits for the write-back stage to upload before leaving the rest for the next mount (default 60 s). */
  readonly writebackDrainMs?: number;
  /** How the upload of an earlier run's staged leftovers is bounded and reported (stage-recovery.ts). */
  readonly writebackRecovery?: RecoveryOptions;
}

export interface Volume {
  readonly meta: MetaEngine;
  /** The inode of the `subdir` option's directory, as found at open; ROOT_INO without one. */
  readonly root: number;
  readonly vfs: Vfs;
  /** The chunk store under the vfs: write-buffer bound (live reload), counters. */
  readonly chunks: ChunkStore;
  readonly store: ObjectStore;
  readonly cache: BlockCache;
  /** The cache tiers, for live resizing and reports. */
  readonly memoryCache: MemoryCache;
  readonly diskCache: DiskCache | undefined;
  /** The rate limiter in front of the store, for live limits. */
  readonly limits: RateLimitedStore;
  /** The write-back stage, with `writeback` only. */
  readonly stage: BlockStage | undefined;
  /** Commits pending writes, stops background jobs, closes everything. */
  close(): Promise<void>;
}

export const DEFAULT_MEMORY_CACHE = 256 << 20;
export const DEFAULT_DISK_CACHE = 10 * 2 ** 30;
export const DEFAULT_BUFFER = 300 << 20;

export async function openVolume(metaUrl: string, options: OpenVolumeOptions = {}): Promise<Volume> {
  let published: ChunkStore | undefined; // set once the chunk store exists
  const meta = await openMeta(metaUrl, {
    ...options,
    sessionStats: options.sessionStats ?? (() => {
      const queue = published?.uploadQueue() ?? { blocks: 0, oldestMs: 0 };
      return { uploadQueueBlocks: queue.blocks, uploadOldestMs: queue.oldestMs, bufferBytes: published?.bufferedBytes() ?? 0, at: Date.now() };
    }),
  });
  const closers: (() => Promise<void>)[] = [() => meta.close()];
  const closeAll = async () => { for (const c of closers.reverse()) await c().catch(() => undefined); };
  try {
    // First: a sub-directory that is not there fails the open before anything else starts.
    const root = options.subdir === undefined ? ROOT_INO : (await resolveSubdir(meta, options.subdir)).ino;
    const { base, store: volumeStore } = await openVolumeStore(meta.volume.storage, meta.volume.name, options.storeOptions);
    closers.push(() => base.close());
    const wrapped = options.wrapStore ? options.wrapStore(volumeStore) : volumeStore;
    const measured = options.metrics === undefined ? wrapped : new MetricsStore(wrapped, options.metrics);
    const limits = new RateLimitedStore(measured, {
      uploadBytesPerSecond: options.uploadBytesPerSecond ?? 0,
      downloadBytesPerSecond: options.downloadBytesPerSecond ?? 0,
    });
    const store: ObjectStore = limits;
    const memory = new MemoryCache({ maxBytes: options.memoryCacheBytes ?? DEFAULT_MEMORY_CACHE });
    let cache: BlockCache = memory;
    let disk: DiskCache | undefined;
    if (options.cacheDir !== undefined) {
      disk = await DiskCache.open({ dir: join(options.cacheDir, meta.volume.uuid), maxBytes: options.cacheBytes ?? DEFAULT_DISK_CACHE, freeRatio: options.cacheFreeRatio });
      cache = new TieredCache(memory, disk);
    }
    closers.push(() => cache.close());
    let stage: BlockStage | undefined;
    if (options.writeback === true) {
      if (options.cacheDir === undefined) throw new Error('write-back needs the disk cache: its stage lives in the cache directory');
      // The staged mark names the session, which other hosts and status read.
      if (options.session === undefined) throw new Error('write-back needs a session (it is for mounts): the staged data is marked with it');
      stage = await BlockStage.open({
        dir: join(options.cacheDir, `${meta.volume.uuid}.stage`),
        limitBytes: options.writebackLimitBytes ?? Math.max(meta.volume.blockSize, Math.floor((options.cacheBytes ?? DEFAULT_DISK_CACHE) / 10)),
        store,
        concurrency: options.uploadConcurrency ?? DEFAULT_UPLOAD_CONCURRENCY,
        log: options.log === undefined ? undefined : { warn: (m, f) => options.log?.warn(m, f), info: (m, f) => options.log?.info(m, f) },
      });
      const opened = stage;
      closers.push(() => opened.close());
      // A previous run's acknowledged data goes up before this mount serves anything.
      await recoverStage(stage, meta, options.log, options.writebackRecovery);
    }
    let vfs: Vfs | undefined;
    const chunks = openChunkStore({
      store,
      cache,
      blockSize: meta.volume.blockSize,
      compression: meta.volume.compression,
      uploadConcurrency: options.uploadConcurrency,
      downloadConcurrency: options.downloadConcurrency,
      bufferBytes: options.bufferBytes ?? DEFAULT_BUFFER,
      storageClass: options.storageClass ?? meta.volume.storageClass,
      onBufferFull: () => vfs?.relieveBufferPressure(),
      ...(stage === undefined ? {} : { stage }),
    });
    closers.push(() => chunks.close());
    published = chunks;
    vfs = new Vfs(meta, chunks, options);
    const theVfs = vfs;
    if (options.metrics !== undefined) closers.push(collectorRemover(options.metrics, { memory, disk, chunks }));
    if (options.session !== undefined) await meta.registerSession(options.session);
    const stopBackground = startBackground(meta, theVfs, options.backgroundMs ?? 10_000, options.session === undefined ? 0 : options.trashExpiryMs ?? TRASH_EXPIRY_MS);
    const stopBackups = options.metaBackup === undefined ? async () => undefined : startMetaBackups(meta, store, options.metaBackup);
    let closed = false;
    return {
      meta, root, vfs: theVfs, chunks, store, cache, memoryCache: memory, diskCache: disk, limits, stage,
      async close() {
        if (closed) return;
        closed = true;
        await stopBackups();
        await stopBackground();
        try {
          await theVfs.flushAll();
          if (stage !== undefined) await drainStage(theVfs, stage, options.writebackDrainMs ?? 60_000, options.log);
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

/**
 * Unmount with write-back: waits (up to `limitMs`) for the stage to upload what it holds; the
 * rest stays staged on disk and the next mount with this cache directory uploads it first.
 */
async function drainStage(vfs: Vfs, stage: BlockStage, limitMs: number, log: OpenVolumeOptions['log']): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<boolean>((resolve) => { timer = setTimeout(() => resolve(true), limitMs); });
  const drained = vfs.stagedDrained().then(() => false);
  try {
    if (await Promise.race([drained, timedOut])) {
      const left = stage.backlog();
      log?.warn(`write-back: ${left.blocks} staged block(s) not uploaded within ${limitMs / 1000} s of unmounting; they stay in ${stage.dir} and the next mount with this cache directory uploads them first`);
    }
  } finally {
    clearTimeout(timer);
  }
}

/** The collectors of a volume's metrics, as a closer. */
function collectorRemover(metrics: NonNullable<OpenVolumeOptions['metrics']>, parts: Parameters<typeof collectVolumeMetrics>[1]): () => Promise<void> {
  const remove = collectVolumeMetrics(metrics, parts);
  return async () => remove();
}

/** Default period of trash expiry: hour directories expire a whole hour at a time. */
const TRASH_EXPIRY_MS = 3_600_000;

/**
 * Every `intervalMs`: commits slices left open too long, cleans dead sessions, expires the
 * trash when this mount wins its claim (every `trashExpiryMs`; 0: never), runs deferred
 * deletion. Returns a stopper.
 */
function startBackground(meta: MetaEngine, vfs: Vfs, intervalMs: number, trashExpiryMs: number): () => Promise<void> {
  if (intervalMs <= 0) return async () => undefined;
  let running: Promise<void> = Promise.resolve();
  // When to ask for the claim next: asking costs a statement, so not at every tick.
  let nextExpiryAsk = 0;
  const expireTrash = async (): Promise<void> => {
    if (trashExpiryMs <= 0 || Date.now() < nextExpiryAsk) return;
    nextExpiryAsk = Date.now() + Math.min(trashExpiryMs, 60_000);
    if (!await meta.claimJob('trash-expiry', trashExpiryMs)) return;
    await meta.reportJob('trash-expiry', { ...await meta.expireTrash(), at: Date.now() });
  };
  const timer = setInterval(() => {
    running = running.then(async () => {
      vfs.sealOldSlices();
      await meta.cleanExpiredSessions().catch(() => undefined);
      await expireTrash().catch(() => undefined);
      await vfs.runDeletion().catch(() => undefined);
    });
  }, intervalMs);
  timer.unref();
  return async () => {
    clearInterval(timer);
    await running;
  };
}
