/**
 * The metadata engine contract. One implementation (MetaStore, over Kysely) serves both
 * PostgreSQL and PGlite; the difference is only the Kysely dialect chosen in db/.
 *
 * Every mutating method is one database transaction (or one statement) and is atomic:
 * another engine instance (another host) sees the state before or after it, never a mix.
 * Errors are FsError with the POSIX errno a kernel filesystem would return.
 */
import type {
  Attr, AttrChanges, Caller, ChunkRecord, DirPage, MetaLog, NewEntryAttr, RenameResult, SessionInfo, SessionRow, SessionStats, SliceCommit, StatFs,
  UnlinkResult, VolumeRecord,
} from './types.js';
import type { Metrics } from '../metrics/index.js';
import type { SliceEntry } from './slice-list.js';
import type { AppendPlacement, ChunkAppend } from './chunks.js';
import type { CopyResult } from './range-copy.js';
import type { DeletionBacklog, ReleasedSlice } from './slice-release.js';
import type { ChangeListener } from './change-feed.js';
import type { MetaMaintenance } from './maintenance.js';
import type { HeldLock, ListedLock, LockKind, LockRequest, LockResult } from './locks.js';
import type { LockType } from './lock-ranges.js';
import type { JobRecord } from './jobs.js';
import type { ExpiryReport, RestoreOutcome, TrashEntry } from './trash-admin.js';
import type { Writable } from 'node:stream';
import type { DumpSummary } from '../db/index.js';
import type { DirQuota, QuotaCheck, QuotaSnapshot } from './quota.js';
import type { StagedBacklog, StagedSlice } from './staged.js';

export interface MetaEngine {
  /** The volume record read at open. */
  readonly volume: VolumeRecord;

  getattr(ino: number): Promise<Attr>;
  /** The inode named `name` in directory `parent` ('.' and '..' included). */
  lookup(parent: number, name: Buffer): Promise<Attr>;
  /** Creates a regular file, FIFO, socket or device node. EEXIST if the name is taken. */
  mknod(caller: Caller, parent: number, name: Buffer, type: 'file' | 'fifo' | 'socket' | 'blockdev' | 'chardev', mode: number, rdev?: number): Promise<NewEntryAttr>;
  mkdir(caller: Caller, parent: number, name: Buffer, mode: number): Promise<NewEntryAttr>;
  symlink(caller: Caller, parent: number, name: Buffer, target: Buffer): Promise<NewEntryAttr>;
  /** A new name for an existing non-directory inode. */
  link(ino: number, parent: number, name: Buffer): Promise<Attr>;
  readlink(ino: number): Promise<Buffer>;
  unlink(parent: number, name: Buffer): Promise<UnlinkResult>;
  /** Removes an empty directory; returns its attributes as it left (nlink 0, ctime the removal's). */
  rmdir(parent: number, name: Buffer): Promise<Attr>;
  /**
   * Atomic rename; `flags` is 0, RENAME_NOREPLACE or RENAME_EXCHANGE. `targetLikelyFree`, a
   * hint only (the result is the same either way): the caller saw the target missing lately,
   * so the one-statement rename is tried first.
   */
  rename(srcParent: number, srcName: Buffer, dstParent: number, dstName: Buffer, flags?: number, targetLikelyFree?: boolean): Promise<RenameResult>;
  /** Changes attributes; a length change truncates or extends (holes read as zeros). */
  setattr(ino: number, changes: AttrChanges): Promise<Attr>;
  /** A page of entries after `after` (exclusive), ascending by name bytes; '.' and '..' are not listed. */
  readdir(ino: number, options?: { after?: Buffer; limit?: number }): Promise<DirPage>;

  getxattr(ino: number, name: Buffer): Promise<Buffer>;
  /** `flags`: 0, XATTR_CREATE (EEXIST if present) or XATTR_REPLACE (ENODATA if absent). */
  setxattr(ino: number, name: Buffer, value: Buffer, flags?: number): Promise<void>;
  listxattr(ino: number): Promise<Buffer[]>;
  removexattr(ino: number, name: Buffer): Promise<void>;

  /** The volume's figures, or asked about a directory, those of the nearest directory quota at or above it. */
  statfs(ino?: number): Promise<StatFs>;

  /** Sets or changes directory `ino`'s quota (undefined keeps a limit, 0 removes it); a new one's usage is scanned. */
  setQuota(ino: number, limits: { maxSpace?: number | undefined; maxInodes?: number | undefined }): Promise<DirQuota>;
  /** Directory `ino`'s quota and usage, if it has one. */
  getQuota(ino: number): Promise<DirQuota | undefined>;
  /** Every directory quota with its usage. */
  listQuotas(): Promise<DirQuota[]>;
  /** Removes directory `ino`'s quota; false if it had none. */
  deleteQuota(ino: number): Promise<boolean>;
  /** Compares quota usage with a scan of each tree (or `ino`'s); `repair` replaces what differs. */
  checkQuotas(options: { ino?: number | undefined; repair: boolean }): Promise<QuotaCheck[]>;
  /** The figures write(2) is checked against (one statement). */
  quotaSnapshot(): Promise<QuotaSnapshot>;
  /** The quota'd directories above any name of `ino`. */
  quotaDirsOf(ino: number): Promise<number[]>;
  /** The quota'd directories at or above directory `dir`. */
  quotaDirsAbove(dir: number): Promise<number[]>;

  /** The slice list of chunk `index` of `ino` (empty when never written). */
  readChunk(ino: number, index: number): Promise<ChunkRecord>;
  /** The first chunk of each regular file of `inos` (absent ones left out), in one statement. */
  firstChunks(inos: readonly number[]): Promise<Map<number, ChunkRecord>>;
  /** An open's attributes and the first chunk's slice list, from one snapshot (one statement). */
  openRecord(ino: number): Promise<{ attr: Attr; firstChunk: ChunkRecord }>;
  /** Appends a written slice to its chunk and grows the length: one transaction. */
  commitSlice(commit: SliceCommit): Promise<Attr>;
  /** A new, never used slice id (allocated from the database in batches). */
  newSliceId(): Promise<number>;
  /**
   * Appends entries to chunks of a file and grows it to at least `length`, in one transaction;
   * each entry naming a slice adds a reference to it (copy_file_range shares slices; fallocate
   * appends holes).
   */
  appendSlices(ino: number, appends: readonly ChunkAppend[], length: number): Promise<Attr>;
  /**
   * Commits slice `id` (all `size` bytes, uploaded) at the end of the file as the database has
   * it, in one transaction: O_APPEND from several hosts at once loses nothing. Returns where it went.
   */
  commitAppend(ino: number, id: number, size: number, mtime: bigint, staged?: boolean): Promise<AppendPlacement>;
  /** Write-back: the staged slices `ids` have every block in the object store now (one statement). */
  unstageSlices(ids: readonly number[]): Promise<void>;
  /** Write-back: who staged slice `id` if its blocks are not uploaded yet, else undefined. */
  stagedSlice(id: number): Promise<StagedSlice | undefined>;
  /** Write-back: every staged slice (fsck). */
  stagedSlices(): Promise<StagedSlice[]>;
  /** Write-back: each session's staged backlog (status). */
  stagedBacklog(): Promise<StagedBacklog[]>;
  /**
   * copy_file_range in metadata: up to `len` bytes of `src` at `srcOff` appear in `dst` at
   * `dstOff` by reference to the same slices (one transaction; no object is read or written).
   */
  copyRange(src: number, srcOff: number, dst: number, dstOff: number, len: number): Promise<CopyResult>;

  /**
   * Compaction's swap: replaces chunk (ino, index)'s list by `replacement` if its version is
   * still `expectVersion`, bumps the version and releases the replaced slices. False if the
   * chunk changed meanwhile (nothing is changed then).
   */
  swapChunk(ino: number, index: number, expectVersion: number, replacement: readonly SliceEntry[]): Promise<boolean>;
  /** Turns up to `limit` dropped chunk lists (truncate, deleted inodes) into released slices; returns how many. */
  releaseDroppedChunks(limit?: number): Promise<number>;
  /** Slices no entry references any more, released before `releasedBefore` (ns). */
  pendingSlices(releasedBefore: bigint, limit?: number): Promise<ReleasedSlice[]>;
  /** Forgets pending slices once their objects are deleted. */
  forgetPendingSlices(ids: readonly number[]): Promise<void>;
  /** Work waiting for deferred deletion (counts only). */
  deletionBacklog(): Promise<DeletionBacklog>;

  /** This client opened `ino`: an unlink of its last link keeps it until closeInode. */
  openInode(ino: number): void;
  /** The matching close; the last close of an unlinked inode deletes it. */
  closeInode(ino: number): Promise<void>;

  /** Registers this client as a mount session and starts its heartbeat; returns the session id. */
  registerSession(info: SessionInfo): Promise<number>;
  /** Pushes this session's expiry forward. */
  heartbeat(): Promise<void>;
  listSessions(): Promise<SessionRow[]>;
  /** Removes sessions whose heartbeat expired and their leftovers (locks too); returns how many. */
  cleanExpiredSessions(now?: number): Promise<number>;
  /** This client's session id, once registered. */
  readonly sessionId: number | undefined;
  /** Calls `listener` when a heartbeat finds this session was taken for dead (its locks are gone). */
  onSessionLost(listener: () => void): void;

  /** Sets or clears a lock of this session (one transaction): granted, or the lock in the way. */
  setLock(req: LockRequest): Promise<LockResult>;
  /** The first lock of another owner that would stop `req` (F_GETLK). */
  testLock(req: LockRequest & { type: LockType }): Promise<HeldLock | undefined>;
  /** Drops the locks of `kind` that `owner` of this session holds on `ino`; true if any. */
  releaseLocks(ino: number, owner: bigint, kind: LockKind): Promise<boolean>;
  /** Every lock held on the volume (status). */
  listLocks(): Promise<ListedLock[]>;

  /**
   * Claims background job `name` for this session unless some session claimed it within
   * `everyMs` (one statement): true means run it now. One mount of the volume at a time wins.
   */
  claimJob(name: string, everyMs: number, now?: number): Promise<boolean>;
  /** Records what the last run of job `name` reported (JSON-serialisable; status shows it). */
  reportJob(name: string, info: unknown): Promise<void>;
  /** Every job's last claim and report. */
  listJobs(): Promise<JobRecord[]>;
  /**
   * Writes a dump of the whole metadata (docs/dump-format.md) into `out` from one snapshot
   * (the metadata backups). On PGlite it holds the one connection while it runs.
   */
  dumpTo(out: Writable): Promise<DumpSummary>;

  /** Every entry of the trash (decision 78), or of its hour directory `hour` (`YYYY-MM-DD-HH`). */
  listTrash(hour?: string): Promise<TrashEntry[]>;
  /** Puts a trash entry back under its original name (or /lost+found); never overwrites. */
  restoreFromTrash(entry: TrashEntry): Promise<RestoreOutcome>;
  /** Deletes the hour directories of the trash older than the trash days at `now` (ms). */
  expireTrash(now?: number): Promise<ExpiryReport>;

  /**
   * Calls `listener` when other clients announce changes (PostgreSQL: LISTEN/NOTIFY; the
   * embedded engine has no other clients). Returns the unsubscribe function.
   */
  onChange(listener: ChangeListener): () => void;

  /** Folds the usage journal into the counters now (usage is exact without it; this keeps the journal short). */
  flushCounters(): Promise<void>;
  /** Scans and repairs for fsck and gc (maintenance.ts). */
  maintenance(): MetaMaintenance;
  /**
   * Folds the usage journal, ends this session (if any: releasing what it kept open) and
   * releases the database. Never throws: what fails is logged (a session not ended expires).
   */
  close(): Promise<void>;
}

/** Settings written by `objectfs format`. */
export interface FormatSettings {
  readonly name: string;
  readonly storage: string;
  readonly blockSize: number;
  readonly compression: 'lz4' | 'none';
  readonly trashDays: number;
  readonly capacity?: number;
  readonly inodes?: number;
}

export interface MetaOptions {
  /** Seconds between session heartbeats (default 12). */
  readonly heartbeatSeconds?: number;
  /** Seconds after the last heartbeat when a session counts as dead (default 60). */
  readonly sessionTimeoutSeconds?: number;
  /** Milliseconds between folds of the usage journal (default 1000; 0: never, for one-shot tools). */
  readonly counterFlushMs?: number;
  /** Maximum database connections of this engine (default 10; PGlite always 1). */
  readonly maxConnections?: number;
  /** Records transaction latency and restarts (objectfs_meta_tx_*). */
  readonly metrics?: Metrics;
  /** Figures this client publishes in its session record at each heartbeat (`objectfs status`). */
  readonly sessionStats?: () => SessionStats;
  /**
   * How long an operation keeps retrying a lost connection (or a conflict) before it fails,
   * in ms (default 60 s, `--meta-retry-timeout`).
   */
  readonly retryTimeoutMs?: number;
  /** Where the engine reports trouble that no caller sees (background work, close). */
  readonly log?: MetaLog;
}
