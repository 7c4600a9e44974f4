/** MetaStore: the MetaEngine over Kysely. Each method delegates to its operation family. */
import type { OpenDatabase } from '../db/index.js';
import * as attr from './attr.js';
import * as chunks from './chunks.js';
import { nowNs, type MetaContext } from './context.js';
import { UsageCounters } from './counters.js';
import * as create from './create.js';
import { IdAllocator } from './ids.js';
import * as lookup from './lookup.js';
import { OpenFiles } from './open-files.js';
import * as readdir from './readdir.js';
import * as remove from './remove.js';
import * as rename from './rename.js';
import * as sessions from './sessions.js';
import * as release from './slice-release.js';
import { statfs } from './statfs.js';
import * as xattr from './xattr.js';
import type { ChunkRecord, MetaEngine, MetaOptions, SliceCommit } from './index.js';
import type { SliceEntry } from './slice-list.js';
import type { Attr, AttrChanges, Caller, DirPage, RenameResult, SessionInfo, SessionRow, SessionStats, StatFs, UnlinkResult, VolumeRecord } from './types.js';

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
  #sessionInfo: SessionInfo | undefined;
  #heartbeatTimer: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(database: OpenDatabase, volume: VolumeRecord, options: MetaOptions = {}) {
    this.volume = volume;
    this.#database = database;
    this.#heartbeatMs = (options.heartbeatSeconds ?? 12) * 1000;
    this.#sessionTimeoutMs = (options.sessionTimeoutSeconds ?? 60) * 1000;
    this.#sessionStats = options.sessionStats;
    const db = database.db;
    this.#ctx = {
      db,
      volume,
      inodeIds: new IdAllocator(db, 'next_inode', INODE_BATCH),
      sliceIds: new IdAllocator(db, 'next_slice', SLICE_BATCH),
      usage: new UsageCounters(db, options.counterFlushMs ?? 1000),
      openFiles: new OpenFiles(),
      sid: undefined,
      now: nowNs,
      metrics: options.metrics,
    };
  }

  getattr(ino: number): Promise<Attr> { return lookup.getattr(this.#ctx.db, ino); }
  lookup(parent: number, name: Buffer): Promise<Attr> { return lookup.lookup(this.#ctx.db, parent, name); }
  mknod(caller: Caller, parent: number, name: Buffer, type: 'file' | 'fifo' | 'socket' | 'blockdev' | 'chardev', mode: number, rdev?: number): Promise<Attr> {
    return create.mknod(this.#ctx, caller, parent, name, type, mode, rdev);
  }
  mkdir(caller: Caller, parent: number, name: Buffer, mode: number): Promise<Attr> { return create.mkdir(this.#ctx, caller, parent, name, mode); }
  symlink(caller: Caller, parent: number, name: Buffer, target: Buffer): Promise<Attr> { return create.symlink(this.#ctx, caller, parent, name, target); }
  link(ino: number, parent: number, name: Buffer): Promise<Attr> { return create.link(this.#ctx, ino, parent, name); }
  readlink(ino: number): Promise<Buffer> { return lookup.readlink(this.#ctx.db, ino); }
  unlink(parent: number, name: Buffer): Promise<UnlinkResult> { return remove.unlink(this.#ctx, parent, name); }
  rmdir(parent: number, name: Buffer): Promise<void> { return remove.rmdir(this.#ctx, parent, name); }
  rename(srcParent: number, srcName: Buffer, dstParent: number, dstName: Buffer, flags = 0): Promise<RenameResult> {
    return rename.rename(this.#ctx, srcParent, srcName, dstParent, dstName, flags);
  }
  setattr(ino: number, changes: AttrChanges): Promise<Attr> { return attr.setattr(this.#ctx, ino, changes); }
  readdir(ino: number, options?: { after?: Buffer; limit?: number }): Promise<DirPage> { return readdir.readdir(this.#ctx, ino, options); }

  getxattr(ino: number, name: Buffer): Promise<Buffer> { return xattr.getxattr(this.#ctx, ino, name); }
  setxattr(ino: number, name: Buffer, value: Buffer, flags?: number): Promise<void> { return xattr.setxattr(this.#ctx, ino, name, value, flags); }
  listxattr(ino: number): Promise<Buffer[]> { return xattr.listxattr(this.#ctx, ino); }
  removexattr(ino: number, name: Buffer): Promise<void> { return xattr.removexattr(this.#ctx, ino, name); }

  statfs(): Promise<StatFs> { return statfs(this.#ctx); }

  readChunk(ino: number, index: number): Promise<ChunkRecord> { return chunks.readChunk(this.#ctx, ino, index); }
  commitSlice(commit: SliceCommit): Promise<Attr> { return chunks.commitSlice(this.#ctx, commit); }
  newSliceId(): Promise<number> { return this.#ctx.sliceIds.next(); }

  swapChunk(ino: number, index: number, expectVersion: number, replacement: readonly SliceEntry[]): Promise<boolean> {
    return release.swapChunk(this.#ctx, ino, index, expectVersion, replacement);
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
    this.#heartbeatTimer = setInterval(() => { void this.heartbeat().catch(() => undefined); }, this.#heartbeatMs);
    this.#heartbeatTimer.unref();
    return sid;
  }
  async heartbeat(): Promise<void> {
    if (this.#sessionInfo === undefined) return;
    const stats = this.#sessionStats?.();
    await sessions.heartbeat(this.#ctx, stats === undefined ? this.#sessionInfo : { ...this.#sessionInfo, stats }, this.#sessionTimeoutMs);
  }
  listSessions(): Promise<SessionRow[]> { return sessions.listSessions(this.#ctx); }
  cleanExpiredSessions(now?: number): Promise<number> { return sessions.cleanExpiredSessions(this.#ctx, now); }

  flushCounters(): Promise<void> { return this.#ctx.usage.flush(); }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#heartbeatTimer !== undefined) clearInterval(this.#heartbeatTimer);
    try {
      await this.#ctx.usage.close();
      const sid = this.#ctx.sid;
      if (sid !== undefined) await sessions.endSession(this.#ctx, sid);
      this.#ctx.sid = undefined;
    } finally {
      await this.#database.close();
    }
  }
}
