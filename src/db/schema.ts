/**
 * Kysely table types. Column meanings (the stored format) are described in
 * migrations/0001-initial.ts; int8 columns arrive as bigint (see open-database.ts).
 */
import type { ColumnType, Generated } from 'kysely';

type Int8 = ColumnType<bigint, bigint | number, bigint | number>;

export interface VolumeTable {
  id: number;
  uuid: string;
  name: string;
  block_size: number;
  compression: string;
  storage: string;
  trash_days: number;
  format_version: number;
  capacity: Int8;
  inodes: Int8;
  created_at: Int8;
  /** Storage class of new objects; NULL = the bucket's default (migration 0002). */
  storage_class: string | null;
  /** When `objectfs destroy` began (ms since the epoch); NULL = not being destroyed (migration 0005). */
  destroying: ColumnType<bigint | null, bigint | number | null | undefined, bigint | number | null>;
}

export interface CounterTable {
  name: string;
  value: Int8;
}

export interface NodeTable {
  inode: Int8;
  type: number;
  mode: number;
  uid: Int8;
  gid: Int8;
  atime: Int8;
  mtime: Int8;
  ctime: Int8;
  nlink: number;
  length: Int8;
  rdev: number;
  parent: Int8;
}

export interface EdgeTable {
  parent: Int8;
  name: Buffer;
  inode: Int8;
  type: number;
}

export interface SymlinkTable {
  inode: Int8;
  target: Buffer;
}

export interface XattrTable {
  inode: Int8;
  name: Buffer;
  value: Buffer;
}

export interface ChunkTable {
  inode: Int8;
  idx: number;
  slices: Buffer;
  version: Generated<number>;
}

export interface SliceRefTable {
  id: Int8;
  size: number;
  refs: number;
}

export interface DroppedChunkTable {
  seq: Generated<bigint>;
  inode: Int8;
  slices: Buffer;
  dropped_at: Int8;
}

export interface PendingSliceTable {
  id: Int8;
  size: number;
  released_at: Int8;
}

/** The whole original name of a trash entry whose entry name was cut (migration 0007, meta/trash.ts). */
export interface DelfileTable {
  inode: Int8;
  length: Int8;
  deleted_at: Int8;
  name: Buffer | null;
}

/** The usage journal (migration 0003): one row per change of usage, folded into `counter`. */
export interface UsageDeltaTable {
  space: Int8;
  inodes: Int8;
}

export interface SessionTable {
  sid: Int8;
  expire: Int8;
  info: ColumnType<unknown, string, string>;
}

export interface SustainedTable {
  sid: Int8;
  inode: Int8;
}

export interface FileLockTable {
  inode: Int8;
  sid: Int8;
  owner: Int8;
  kind: number;
  type: number;
  lo: Int8;
  hi: Int8;
  pid: number;
}

/** One row per background job that one mount at a time runs (migration 0006, meta/jobs.ts). */
export interface JobTable {
  name: string;
  sid: Int8 | null;
  /** When a session last claimed it (ms since the epoch). */
  claimed_at: Int8;
  /** What the last run reported (JSON), NULL before the first report. */
  info: ColumnType<unknown, string | null, string | null>;
}

/** A directory's quota (migration 0008): limits (0 = none) and folded usage of the names beneath it. */
export interface DirQuotaTable {
  inode: Int8;
  max_space: Int8;
  max_inodes: Int8;
  used_space: Int8;
  used_inodes: Int8;
}

/** Usage changes of quota'd directories not folded yet (migration 0008); `named`: from a name change, checked at commit. */
export interface QuotaDeltaTable {
  inode: Int8;
  space: Int8;
  inodes: Int8;
  named: boolean;
}

/** A committed slice staged on a mount's disk and not yet uploaded (migration 0009, write-back). */
export interface StagedSliceTable {
  id: Int8;
  size: number;
  /** The session that staged it (the stage is on that session's host, in its cache directory). */
  sid: Int8;
  inode: Int8;
  /** When it was committed (ms since the epoch). */
  staged_at: Int8;
}

export interface Database {
  volume: VolumeTable;
  counter: CounterTable;
  node: NodeTable;
  edge: EdgeTable;
  symlink: SymlinkTable;
  xattr: XattrTable;
  chunk: ChunkTable;
  slice_ref: SliceRefTable;
  dropped_chunk: DroppedChunkTable;
  pending_slice: PendingSliceTable;
  delfile: DelfileTable;
  session: SessionTable;
  sustained: SustainedTable;
  file_lock: FileLockTable;
  usage_delta: UsageDeltaTable;
  job: JobTable;
  dir_quota: DirQuotaTable;
  quota_delta: QuotaDeltaTable;
  staged_slice: StagedSliceTable;
}
