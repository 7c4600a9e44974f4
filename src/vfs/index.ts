/** The vfs layer: POSIX file semantics over the metadata engine and the chunk store. */
export { Vfs, type VfsOptions } from './vfs.js';
export type { DeletionReport } from './deleter.js';
export { COMPACT_THRESHOLD, type CompactOutcome } from './compactor.js';
