/**
 * The chunk layer's public face: the ChunkStore contract (types.ts), the store, block keys and
 * errors. Files of this folder import types.ts, never this barrel.
 */
export type { ChunkStore, ChunkStoreOptions, ChunkStoreStats, ReadSliceOptions, SliceWriter, SliceWriterOptions } from './types.js';
export { BlockStage, type BlockStageOptions, type StageBacklog } from './block-stage.js';
export { openChunkStore, DEFAULT_BUFFER_BYTES, DEFAULT_DOWNLOAD_CONCURRENCY, DEFAULT_UPLOAD_CONCURRENCY } from './chunk-store.js';
export { BlockMissingError, BlockCorruptError } from './errors.js';
export { decodeBlock } from './codec.js';
export { COMPRESSIONS, type Compression } from './compressions.js';
export * from './keys.js';
