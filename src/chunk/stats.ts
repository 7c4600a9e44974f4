/**
 * Counters of one chunk store, bumped by the writer and reader sides and read through
 * ChunkStore.stats() (metrics, tests).
 */
import type { ChunkStoreStats } from './types.js';

/** The mutable counters behind ChunkStoreStats. */
export type StatsCounters = { -readonly [K in keyof ChunkStoreStats]: ChunkStoreStats[K] };

/** All counters at zero. */
export function newStatsCounters(): StatsCounters {
  return {
    blocksUploaded: 0, blocksStaged: 0, bytesUploaded: 0, blocksDownloaded: 0, blockPartsDownloaded: 0, bytesDownloaded: 0,
    cacheHits: 0, prefetchErrors: 0, prefetchesDropped: 0,
  };
}
