/**
 * Scrape-time collectors for the parts of an open volume whose state lives in the component:
 * cache tiers (hits, misses, evictions, bytes, bounds), the write buffer and the upload queue.
 * Event counters (requests, FUSE ops, transactions) are recorded by the layers themselves.
 */
import type { DiskCache, MemoryCache } from '../cache/index.js';
import type { ChunkStore } from '../chunk/index.js';
import type { Metrics } from '../metrics/index.js';

export interface VolumeParts {
  readonly memory: MemoryCache;
  readonly disk: DiskCache | undefined;
  readonly chunks: ChunkStore;
}

/** Registers the collectors; returns a function that removes them (at close). */
export function collectVolumeMetrics(metrics: Metrics, parts: VolumeParts): () => void {
  const { m } = metrics;
  return metrics.onCollect(() => {
    const tiers: [string, MemoryCache | DiskCache][] = [['memory', parts.memory]];
    if (parts.disk !== undefined) tiers.push(['disk', parts.disk]);
    for (const [tier, cache] of tiers) {
      const stats = cache.stats();
      const usage = cache.usage();
      metrics.syncCounter(m.cacheHits, { tier }, stats.hits);
      metrics.syncCounter(m.cacheMisses, { tier }, stats.misses);
      metrics.syncCounter(m.cacheEvictions, { tier }, stats.evictions);
      m.cacheBytes.set({ tier }, usage.bytes);
      m.cacheBlocks.set({ tier }, usage.entries);
      m.cacheLimitBytes.set({ tier }, cache.maxBytes);
    }
    const chunkStats = parts.chunks.stats();
    metrics.syncCounter(m.blocksUploaded, {}, chunkStats.blocksUploaded);
    metrics.syncCounter(m.blocksDownloaded, {}, chunkStats.blocksDownloaded);
    metrics.syncCounter(m.blockPartsDownloaded, {}, chunkStats.blockPartsDownloaded);
    m.writeBufferBytes.set(parts.chunks.bufferedBytes());
    m.writeBufferLimitBytes.set(parts.chunks.bufferLimit());
    const queue = parts.chunks.uploadQueue();
    m.uploadQueueBlocks.set(queue.blocks);
    m.uploadOldestSeconds.set(queue.oldestMs / 1000);
  });
}
