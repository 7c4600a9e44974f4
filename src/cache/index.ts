/**
 * The cache layer's public face: the BlockCache contract (types.ts) and its tiers. Files of
 * this folder import types.ts, never this barrel.
 */
export type { BlockCache, CacheUsage, DiskCacheOptions } from './types.js';
export { MemoryCache } from './memory-cache.js';
export type { MemoryCacheOptions, MemoryCacheStats } from './memory-cache.js';
export { DiskCache } from './disk-cache.js';
export type { DiskCacheStats } from './disk-cache.js';
export { TieredCache } from './tiered-cache.js';
/** Where a DiskCache in `dir` keeps a block (for reports by other processes, e.g. `objectfs info`). */
export { blockFilePath } from './block-file.js';
export type { TierUsage } from './tiered-cache.js';
