/** The vfs layer: POSIX file semantics over the metadata engine and the chunk store. */
export { Vfs, DEFAULT_READAHEAD, MAX_UNCOMMITTED_MS, type VfsOptions } from './vfs.js';
export type { DeletionReport } from './deleter.js';
export { StagedUploads } from './staged-uploads.js';
export { COMPACT_THRESHOLD, type CompactOutcome } from './compactor.js';
/** Value types the vfs speaks, re-exported so upper layers need not import meta/. */
export { LOCK_EOF, ROOT_INO, stMode, type Attr, type AttrChanges, type ChangedDirs, type DirEntry, type NewEntryAttr, type NodeType, type StatFs } from '../meta/index.js';
/** Who asks for an operation: the permission rules (access.ts) apply to it. */
export type { Caller } from './access.js';
