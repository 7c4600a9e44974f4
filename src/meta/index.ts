/**
 * The meta layer's public face: the MetaEngine contract (engine.ts), its value types
 * (types.ts) and the functions that open and format a volume's metadata. Files of this folder
 * import engine.ts and types.ts, never this barrel.
 */
export type { FormatSettings, MetaEngine, MetaOptions } from './engine.js';
export * from './types.js';
export type { SliceEntry } from './slice-list.js';
export type { AppendPlacement, ChunkAppend } from './chunks.js';
export { zeroAppends, type CopyResult } from './range-copy.js';
export type { DeletionBacklog, ReleasedSlice } from './slice-release.js';
export { buildChunkView, CHUNK_SIZE, decodeSliceEntries, type ChunkSegment } from './slice-list.js';
export * from './maintenance.js';
export { LOST_FOUND } from './repair.js';
export { nowNs } from './context.js';
export type { StagedBacklog, StagedSlice } from './staged.js';
export { isDot, isDotDot } from './rows.js';
export type { JobRecord } from './jobs.js';
export type { ExpiryReport, RestoreOutcome, TrashEntry } from './trash-admin.js';
export { hourName, parseHourName } from './trash.js';
export type { DirQuota, QuotaCheck, QuotaSnapshot } from './quota.js';
export type { HeldLock, ListedLock, LockKind, LockRequest, LockResult } from './locks.js';
export { LOCK_EOF, type LockType } from './lock-ranges.js';
export type { Change, ChangeListener, EntryName } from './change-feed.js';

export { openMeta, formatMeta, readVolume, type FormatResult } from './open-meta.js';
export { configureVolume, type VolumeChanges } from './volume-config.js';
export { NotFormattedError, VolumeExistsError, ImmutableSettingError, SchemaTooNewError, VolumeDestroyingError, VolumeUuidMismatchError } from './errors.js';
export { openDestroyMeta, sameUuid, uuidMismatch, type DestroyMeta } from './destroy.js';
