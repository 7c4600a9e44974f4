/**
 * ObjectFS as a library: format a volume, open its metadata engine or its object store, read
 * its status, without FUSE. The mount, fsck and gc are built on the same entry points.
 *
 * @example
 * import { formatVolume, openMeta } from 'objectfs';
 * await formatVolume({ metaUrl: 'pglite:///var/lib/objectfs/meta', name: 'data', storage: 'file:///var/lib/objectfs/blocks' });
 * const meta = await openMeta('pglite:///var/lib/objectfs/meta');
 * const dir = await meta.mkdir({ uid: 0, gid: 0 }, 1, Buffer.from('docs'), 0o755);
 * await meta.close();
 */
export { FsError, CliError, toErrno, errnoName, type ErrnoCode } from './errors.js';
export { formatVolume, validateFormatRequest, FormatSettingsError, StorageNotEmptyError, StorageProbeError, type FormatRequest } from './volume/format-volume.js';
export { volumeStatus, type VolumeStatus } from './volume/volume-status.js';
export { openVolumeStore, volumePrefix } from './volume/volume-store.js';
export {
  openMeta, formatMeta, configureVolume, type VolumeChanges, NotFormattedError, VolumeExistsError, ImmutableSettingError, SchemaTooNewError,
  VolumeDestroyingError, VolumeUuidMismatchError,
  ROOT_INO, RENAME_NOREPLACE, RENAME_EXCHANGE, XATTR_CREATE, XATTR_REPLACE, stMode,
  type MetaEngine, type MetaOptions, type Attr, type AttrChanges, type DirEntry, type DirPage,
  type NodeType, type StatFs, type VolumeRecord, type SessionInfo, type SessionRow, type ChunkRecord, type SliceCommit,
} from './meta/index.js';
export { openObjectStore, parseStorageUrl, type ObjectStore, type ObjectInfo } from './object/index.js';
export { MetaUrlError, MetaUnavailableError, MetaNotFoundError, DirLockedError } from './db/index.js';
export { openVolume, type OpenVolumeOptions, type Volume } from './volume/open-volume.js';
export { SubdirError } from './volume/subdir.js';
/** `Caller`: who asks (uid, gid, supplementary groups); every vfs operation that POSIX checks takes one. */
export { Vfs, type VfsOptions, type Caller } from './vfs/index.js';
/** Pass a Metrics to openVolume to record; `metrics.text()` is the Prometheus exposition text. */
export { Metrics, MetricsServer, METRIC_DEFS } from './metrics/index.js';
export {
  runFsck, runGc, DEFAULT_GC_WINDOW_MS, GC_CATEGORIES, runDestroy, DestroyDeclinedError, DestroySessionsError,
  type DestroyOptions, type DestroyPlan, type DestroyReport, type FsckOptions, type FsckReport, type FsckProblem, type GcOptions, type GcReport, type Progress, type ProgressPhase,
} from './maintenance/index.js';
