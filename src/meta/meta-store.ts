/** MetaStore: the MetaEngine over Kysely. Each method delegates to its operation family. */
import type { Writable } from 'node:stream';
import { dumpDatabase, type DumpSummary, type OpenDatabase } from '../db/index.js';
import * as attr from './attr.js';
import { ChangeFeed, type ChangeListener, type EntryName } from './change-feed.js';
import * as chunks from './chunks.js';
import { nowNs, type MetaContext } from './context.js';
import { UsageCounters } from './counters.js';
import * as create from './create.js';
import { IdAllocator } from './ids.js';
import { MaintenanceStore } from './maintenance-store.js';
import type { MetaMaintenance } from './maintenance.js';
import * as lookup from './lookup.js';
import { OpenFiles } from './open-files.js';
import * as rangeCopy from './range-copy.js';
import type { CopyResult } from './range-copy.js';
import * as readdir from './readdir.js';
import * as remove from './remove.js';
import * as rename from './rename.js';
import * as sessions from './sessions.js';
import * as jobs from './jobs.js';
import * as trash from './trash-admin.js';
import * as quota from './quota.js';
import type { DirQuota, QuotaCheck, QuotaSnapshot } from './quota.js';
import * as locks from './locks.js';
import type { HeldLock, LockKind, LockRequest, LockResult } from './locks.js';
import type { LockType } from './lock-ranges.js';
import * as release from './slice-release.js';
import { statfs } from './statfs.js';
import { metaRetryPolicy, statement } from './tx.js';
import * as xattr from './xattr.js';
import * as staged from './staged.js';
import type { MetaEngine, MetaOptions } from './engine.js';
import type { ChunkRecord, MetaLog, SliceCommit } from './types.js';
import type { SliceEntry } from './slice-list.js';
import type { Attr, AttrChanges, Caller, DirPage, NewEntryAttr, RenameResult, SessionInfo, SessionRow, SessionStats, StatFs, UnlinkResult, VolumeRecord } from './types.js';

/** Ids handed to a client per database round trip. */
const INODE_BATCH = 1000;
const SLICE_BATCH = 1000;

export class MetaStore implements MetaEngine {
  readonly volume: VolumeRecord;
  readonly #database: OpenDatabase;
  readonly #ctx: MetaContext;
  readonly #heartbeatMs: number;
  readonly #sessionTimeoutMs: number;
  readonly #sessionStats: (() => SessionStats) | undefined;
  readonly #log: MetaLog | undefined;
  #sessionInfo: SessionInfo | undefined;
  #heartbeatTimer: NodeJS.Timeout | undefined;
  #beating: Promise<void> | undefined;
  /** When this client's session was last renewed (ms), and before when it may not reap others (sessionReaper). */
  #lastBeatAt = 0;
  #reapAfter = 0;
  /** Announcements to and from other clients (PostgreSQL only). */
  readonly #feed: ChangeFeed | undefined;
  #closed = false;
  readonly #sessionLost: (() => void)[] = [];

  constructor(database: OpenDatabase, volume: VolumeRecord, options: MetaOptions = {}) {
    this.volume = volume;
    this.#database = database;
    this.#heartbeatMs = (options.heartbeatSeconds ?? 12) * 1000;
    this.#sessionTimeoutMs = (options.sessionTimeoutSeconds ?? 60) * 1000;
    this.#sessionStats = options.sessionStats;
    this.#log = options.log;
    const db = database.db;
    this.#ctx = {
      db,
      volume,
      inodeIds: new IdAllocator(db, 'next_inode', INODE_BATCH),
      sliceIds: new IdAllocator(db, 'next_slice', SLICE_BATCH),
      usage: new UsageCounters(db, options.counterFlushMs ?? 1000, options.log),
      openFiles: new OpenFiles(),
      sid: undefined,
      now: nowNs,
      metrics: options.metrics,
      retry: metaRetryPolicy(options.retryTimeoutMs),
    };
    this.#feed = database.listen === undefined ? undefined : new ChangeFeed(db, database.listen, options.metrics);
  }

  /**
   * Runs a mutating operation, then announces the inodes it touched and those that lost a name
   * (from its result) to other clients.
   */
  async #announce<T>(op: Promise<T>, touched: (result: T) => Iterable<number | undefined>, renamed?: (result: T) => Iterable<number | undefined>, entries: readonly EntryName[] | ((result: T) => readonly EntryName[]) = []): Promise<T> {
    const result = await op;
    this.#feed?.publish(touched(result), renamed?.(result), typeof entries === 'function' ? entries(result) : entries);
    return result;
  }

  // Reads are retried like writes (statement): a database restart is waited out, not an EIO.
  getattr(ino: number): Promise<Attr> { return statement(() => lookup.getattr(this.#ctx.db, ino), this.#ctx); }
  lookup(parent: number, name: Buffer): Promise<Attr> { return statement(() => lookup.lookup(this.#ctx.db, parent, name), this.#ctx); }
  mknod(caller: Caller, parent: number, name: Buffer, type: 'file' | 'fifo' | 'socket' | 'blockdev' | 'chardev', mode: number, rdev?: number): Promise<NewEntryAttr> {
    return this.#announce(create.mknod(this.#ctx, caller, parent, name, type, mode, rdev), () => [parent], undefined, [{ parent, name }]);
  }
  mkdir(caller: Caller, parent: number, name: Buffer, mode: number): Promise<NewEntryAttr> {
    return this.#announce(create.mkdir(this.#ctx, caller, parent, name, mode), () => [parent], undefined, [{ parent, name }]);
  }
  symlink(caller: Caller, parent: number, name: Buffer, target: Buffer): Promise<NewEntryAttr> {
    return this.#announce(create.symlink(this.#ctx, caller, parent, name, target), () => [parent], undefined, [{ parent, name }]);
  }
  link(ino: number, parent: number, name: Buffer): Promise<Attr> { return this.#announce(create.link(this.#ctx, ino, parent, name), () => [ino, parent], undefined, [{ parent, name }]); }
  readlink(ino: number): Promise<Buffer> { return statement(() => lookup.readlink(this.#ctx.db, ino), this.#ctx); }
  unlink(parent: number, name: Buffer): Promise<UnlinkResult> {
    return this.#announce(remove.unlink(this.#ctx, parent, name), () => [parent], (r) => [r.ino], [{ parent, name }]);
  }
  rmdir(parent: number, name: Buffer): Promise<Attr> { return this.#announce(remove.rmdir(this.#ctx, parent, name), () => [parent], (gone) => [gone.ino], [{ parent, name }]); }
  rename(srcParent: number, srcName: Buffer, dstParent: number, dstName: Buffer, flags = 0, targetLikelyFree = false): Promise<RenameResult> {
    return this.#announce(rename.rename(this.#ctx, srcParent, srcName, dstParent, dstName, flags, targetLikelyFree), () => [srcParent, dstParent], (r) => [r.ino, r.replaced],
      [{ parent: srcParent, name: srcName }, { parent: dstParent, name: dstName }]);
  }
  setattr(ino: number, changes: AttrChanges): Promise<Attr> { return this.#announce(attr.setattr(this.#ctx, ino, changes), () => [ino]); }
  readdir(ino: number, options?: { after?: Buffer; limit?: number }): Promise<DirPage> { return statement(() => readdir.readdir(this.#ctx, ino, options), this.#ctx); }

  getxattr(ino: number, name: Buffer): Promise<Buffer> { return statement(() => xattr.getxattr(this.#ctx, ino, name), this.#ctx); }
  setxattr(ino: number, name: Buffer, value: Buffer, flags?: number): Promise<void> { return this.#announce(xattr.setxattr(this.#ctx, ino, name, value, flags), () => [ino]); }
  listxattr(ino: number): Promise<Buffer[]> { return statement(() => xattr.listxattr(this.#ctx, ino), this.#ctx); }
  removexattr(ino: number, name: Buffer): Promise<void> { return this.#announce(xattr.removexattr(this.#ctx, ino, name), () => [ino]); }

  statfs(ino?: number): Promise<StatFs> { return statement(() => statfs(this.#ctx, ino), this.#ctx); }
  setQuota(ino: number, limits: { maxSpace?: number | undefined; maxInodes?: number | undefined }): Promise<DirQuota> { return quota.setQuota(this.#ctx, ino, limits); }
  getQuota(ino: number): Promise<DirQuota | undefined> { return quota.getQuota(this.#ctx, ino); }
  listQuotas(): Promise<DirQuota[]> { return quota.listQuotas(this.#ctx); }
  deleteQuota(ino: number): Promise<boolean> { return quota.deleteQuota(this.#ctx, ino); }
  checkQuotas(options: { ino?: number | undefined; repair: boolean }): Promise<QuotaCheck[]> { return quota.checkQuotas(this.#ctx, options); }
  quotaSnapshot(): Promise<QuotaSnapshot> { return quota.quotaSnapshot(this.#ctx); }
  quotaDirsOf(ino: number): Promise<number[]> { return quota.quotaDirsOf(this.#ctx, ino); }
  quotaDirsAbove(dir: number): Promise<number[]> { return quota.quotaDirsAbove(this.#ctx, dir); }

  readChunk(ino: number, index: number): Promise<ChunkRecord> { return statement(() => chunks.readChunk(this.#ctx, ino, index), this.#ctx); }
  firstChunks(inos: readonly number[]): Promise<Map<number, ChunkRecord>> { return statement(() => chunks.firstChunks(this.#ctx, inos), this.#ctx); }
  openRecord(ino: number): Promise<{ attr: Attr; firstChunk: ChunkRecord }> { return statement(() => chunks.openRecord(this.#ctx, ino), this.#ctx); }
  commitSlice(commit: SliceCommit): Promise<Attr> { return this.#announce(chunks.commitSlice(this.#ctx, commit), () => [commit.ino]); }
  newSliceId(): Promise<number> { return statement(() => this.#ctx.sliceIds.next(), this.#ctx); }
  appendSlices(ino: number, appends: readonly chunks.ChunkAppend[], length: number): Promise<Attr> {
    return this.#announce(chunks.appendSlices(this.#ctx, ino, appends, length), () => [ino]);
  }
  commitAppend(ino: number, id: number, size: number, mtime: bigint, staged = false): Promise<chunks.AppendPlacement> {
    return this.#announce(chunks.commitAppend(this.#ctx, ino, id, size, mtime, staged), () => [ino]);
  }
  unstageSlices(ids: readonly number[]): Promise<void> { return staged.unstageSlices(this.#ctx, ids); }
  stagedSlice(id: number): Promise<staged.StagedSlice | undefined> { return staged.stagedSlice(this.#ctx, id); }
  stagedSlices(): Promise<staged.StagedSlice[]> { return staged.stagedSlices(this.#ctx); }
  stagedBacklog(): Promise<staged.StagedBacklog[]> { return staged.stagedBacklog(this.#ctx); }
  copyRange(src: number, srcOff: number, dst: number, dstOff: number, len: number): Promise<CopyResult> {
    return this.#announce(rangeCopy.copyRange(this.#ctx, src, srcOff, dst, dstOff, len), (r) => (r.copied > 0 ? [dst] : []));
  }

  swapChunk(ino: number, index: number, expectVersion: number, replacement: readonly SliceEntry[]): Promise<boolean> {
    return this.#announce(release.swapChunk(this.#ctx, ino, index, expectVersion, replacement), (swapped) => (swapped ? [ino] : []));
  }
  releaseDroppedChunks(limit?: number): Promise<number> { return release.releaseDroppedChunks(this.#ctx, limit); }
  pendingSlices(releasedBefore: bigint, limit?: number): Promise<release.ReleasedSlice[]> { return release.pendingSlices(this.#ctx, releasedBefore, limit); }
  forgetPendingSlices(ids: readonly number[]): Promise<void> { return release.forgetPendingSlices(this.#ctx, ids); }
  deletionBacklog(): Promise<release.DeletionBacklog> { return release.deletionBacklog(this.#ctx); }

  openInode(ino: number): void { this.#ctx.openFiles.open(ino); }
  async closeInode(ino: number): Promise<void> {
    if (this.#ctx.openFiles.close(ino) && this.#ctx.openFiles.takeKept(ino)) await sessions.releaseSustained(this.#ctx, ino);
  }

  async registerSession(info: SessionInfo): Promise<number> {
    const sid = await sessions.registerSession(this.#ctx, info, this.#sessionTimeoutMs);
    this.#sessionInfo = info;
    this.#lastBeatAt = Date.now();
    this.#heartbeatTimer = setInterval(() => { this.#beating = this.heartbeat().catch(() => undefined); }, this.#heartbeatMs);
    this.#heartbeatTimer.unref();
    return sid;
  }
  async heartbeat(): Promise<void> {
    if (this.#sessionInfo === undefined) return;
    const stats = this.#sessionStats?.();
    const recreated = await sessions.heartbeat(this.#ctx, stats === undefined ? this.#sessionInfo : { ...this.#sessionInfo, stats }, this.#sessionTimeoutMs);
    const now = Date.now();
    // A gap in our own renewals means the database was out of reach, most likely for every
    // client: the others need a whole session timeout to renew before we may judge them dead.
    if (now - this.#lastBeatAt > 2 * this.#heartbeatMs) this.#reapAfter = now + this.#sessionTimeoutMs;
    this.#lastBeatAt = now;
    if (recreated) {
      this.#log?.warn(`session ${this.#ctx.sid} was taken for dead by another client (no heartbeat for ${this.#sessionTimeoutMs / 1000} s) and its locks were dropped; re-created`);
      for (const listener of this.#sessionLost) listener();
    }
  }
  onSessionLost(listener: () => void): void { this.#sessionLost.push(listener); }
  get sessionId(): number | undefined { return this.#ctx.sid; }

  async setLock(req: LockRequest): Promise<LockResult> {
    const result = await locks.setLock(this.#ctx, req);
    if (result.released) this.#feed?.publish([], [], [], [req.ino]);
    return result;
  }
  testLock(req: LockRequest & { type: LockType }): Promise<HeldLock | undefined> { return locks.testLock(this.#ctx, req); }
  async releaseLocks(ino: number, owner: bigint, kind: LockKind): Promise<boolean> {
    const released = await locks.releaseOwner(this.#ctx, ino, owner, kind);
    if (released) this.#feed?.publish([], [], [], [ino]);
    return released;
  }
  listLocks(): Promise<locks.ListedLock[]> { return locks.listLocks(this.#ctx); }
  claimJob(name: string, everyMs: number, now?: number): Promise<boolean> { return jobs.claimJob(this.#ctx, name, everyMs, now); }
  reportJob(name: string, info: unknown): Promise<void> { return jobs.reportJob(this.#ctx, name, info); }
  listJobs(): Promise<jobs.JobRecord[]> { return jobs.listJobs(this.#ctx); }
  listTrash(hour?: string): Promise<trash.TrashEntry[]> { return statement(() => trash.listTrash(this.#ctx.db, hour), this.#ctx); }
  restoreFromTrash(entry: trash.TrashEntry): Promise<trash.RestoreOutcome> {
    // The restored name is new in its directory: other hosts' kernels may hold it as missing.
    return this.#announce(trash.restoreEntry(this.#ctx, entry), (r) => [entry.hourIno, r.restored ? r.parent : undefined], undefined,
      (r) => [{ parent: entry.hourIno, name: entry.entry }, ...(r.restored ? [{ parent: r.parent, name: r.name }] : [])]);
  }
  expireTrash(now?: number): Promise<trash.ExpiryReport> { return trash.expireTrash(this.#ctx, now); }
  dumpTo(out: Writable): Promise<DumpSummary> { return dumpDatabase(this.#ctx.db, out); }
  listSessions(): Promise<SessionRow[]> { return sessions.listSessions(this.#ctx); }
  /**
   * Ends sessions whose time ran out. A client with a session of its own does not while its own
   * renewals are late, nor for a session timeout after they resume: after a database outage
   * every session looks expired, and the live ones must get the time to renew first.
   */
  async cleanExpiredSessions(now?: number): Promise<number> {
    const clock = Date.now();
    if (this.#sessionInfo !== undefined && (clock < this.#reapAfter || clock - this.#lastBeatAt > 2 * this.#heartbeatMs)) return 0;
    return sessions.cleanExpiredSessions(this.#ctx, now);
  }

  onChange(listener: ChangeListener): () => void {
    return this.#feed?.subscribe(listener) ?? (() => undefined);
  }

  flushCounters(): Promise<void> { return this.#ctx.usage.flush(); }
  maintenance(): MetaMaintenance { return new MaintenanceStore(this.#ctx); }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#heartbeatTimer !== undefined) clearInterval(this.#heartbeatTimer);
    // A heartbeat still in flight would re-create the session after endSession removed it.
    await this.#beating;
    // Each step runs whatever happened before it (an earlier failure, a database outage): the
    // session must end on every clean unmount, and nothing here may stop the database closing.
    try {
      await this.#feed?.close().catch((err: unknown) => this.#log?.warn('closing the change feed failed', { error: (err as Error).message }));
      await this.#ctx.usage.close();
      const sid = this.#ctx.sid;
      if (sid !== undefined) {
        try {
          await sessions.endSession(this.#ctx, sid);
          this.#ctx.sid = undefined;
        } catch (err) {
          this.#log?.warn(`session ${sid} could not be ended; it expires ${this.#sessionTimeoutMs / 1000} s after its last heartbeat and another client cleans it up`, { error: (err as Error).message });
        }
      }
    } finally {
      await this.#database.close();
    }
  }
}
