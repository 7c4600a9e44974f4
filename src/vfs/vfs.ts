/**
 * The file-data half of POSIX semantics: open-file handles, reads with readahead, buffered
 * writes, flush/fsync/release, truncate, and getattr that includes this host's unflushed
 * writes. Speaks inodes and promises; knows nothing of FUSE.
 *
 * Close-to-open: opening a file refreshes its attributes and drops its cached chunk maps, so
 * an open after another host's close sees that host's data. Between opens, what this host
 * caches about a file (attributes, chunk maps) is dropped when another host announces a change
 * of it (the change feed), and chunk maps also whenever getattr finds the file changed (the
 * kernel asks before reading past the length it knows, so a reader of a growing file sees the
 * appended data).
 */
import { constants } from 'node:fs';
import { FsError } from '../errors.js';
import { BlockMissingError, parseBlockKey, type ChunkStore } from '../chunk/index.js';
import { RENAME_EXCHANGE, zeroAppends, type Attr, type AttrChanges, type MetaLog, type Change, type ChunkRecord, type DirEntry, type DirPage, type MetaEngine, type NewEntryAttr, type RenameResult, type StatFs, type UnlinkResult } from '../meta/index.js';
import { accessOfOpen, checkAccess, checkSetattr, checkXattr, createMode, opensForChange, unchecked, withoutPrivileges, type Caller } from './access.js';
import { SEEK_DATA, SEEK_HOLE, seekFile } from './seek.js';
import { compactChunkCounted, COMPACT_THRESHOLD } from './compactor.js';
import { runDeletionCounted, type DeletionReport } from './deleter.js';
import { mapRange, readError, readRange } from './file-reader.js';
import { FileWriter } from './file-writer.js';
import { QuotaGuard } from './quota-guard.js';
import { OpenFiles, type Handle, type InodeState } from './handles.js';
import { Xattrs } from './xattrs.js';
import { FreshDirs } from './fresh-dirs.js';
import { MissingNames } from './missing-names.js';
import { StagedUploads } from './staged-uploads.js';
import { FileLocks, type LockHolder } from './locks.js';
import { PermissionChecks } from './permission-checks.js';
import { refuseTrashTarget } from './trash-rules.js';
import { Readahead } from './readahead.js';
import { DirPrefetch } from './dir-prefetch.js';
import type { Metrics } from '../metrics/index.js';

/** Default largest readahead window. */
export const DEFAULT_READAHEAD = 32 << 20;
/**
 * The longest a started slice stays uncommitted when nothing flushes it (the background job
 * commits it then). gc's safety window (1 h by default) must exceed this plus an upload.
 */
export const MAX_UNCOMMITTED_MS = 5 * 60_000;


/** fallocate(2) modes (linux/falloc.h). */
const FALLOC_KEEP_SIZE = 0x01;
const FALLOC_PUNCH_HOLE = 0x02;
const FALLOC_ZERO_RANGE = 0x10;

/** open(2)'s access-mode bits (not exported by node:fs). */
const O_ACCMODE = 3;

export interface VfsOptions {
  /** Largest readahead window in bytes (default 32 MiB; 0 turns readahead off). */
  readonly readaheadBytes?: number;
  /** Delay between a slice's release and the deletion of its objects (default 1 h). */
  readonly deleteDelayMs?: number;
  /** Run compaction in the background when a chunk collects many slices (default true). */
  readonly autoCompact?: boolean;
  /** Records compaction and deletion work (objectfs_compactions_total, objectfs_deletion_*). */
  readonly metrics?: Metrics;
  /** Refuse every change with EROFS (a read-only mount, or a library user that only reads). */
  readonly readOnly?: boolean;
  /** Growth admitted against one quota between two quota snapshots (default SYNC_SLACK, 64 MiB; tests make it small). */
  readonly quotaSlackBytes?: number;
  /**
   * Write-back (decision 90): close and flush return once the data is staged on the local disk
   * and committed as staged; fsync still waits for the object store. Needs the chunk store's stage.
   */
  readonly writeback?: boolean;
  /**
   * Prefetch the small files of every listed directory into the caches (decision 92; off by
   * default: it spends downloads and cache space on files that may never be read).
   */
  readonly prefetchDirs?: boolean;
  /** How long a read waits for a block another host staged and has not uploaded yet (default 60 s), then EIO. */
  readonly stagedWaitMs?: number;
  /** Where a read that gave up waiting for another host's staged block says so. */
  readonly log?: MetaLog;
  /**
   * Answer missing names of directories made or listed here from memory (decisions 89, 99;
   * default true). A mount turns it off with the kernel's missing-name cache (negative timeout 0).
   */
  readonly knowsMissingNames?: boolean;
}

/** Between two attempts of a read that waits for another host's staged block. */
const STAGED_POLL_MS = 200;

/**
 * A namespace step on directories the caller holds (the kernel's node ids): a directory gone
 * underneath it (removed by another host) is ESTALE, as on NFS and as for any held inode that
 * is gone (see #stillThere), not ENOENT, which says the name is missing. Through FUSE, a
 * directory removed on this host never gets here: the kernel refuses names in it itself.
 */
async function parentsThere<T>(step: Promise<T>): Promise<T> {
  try {
    return await step;
  } catch (err) {
    if (err instanceof FsError && err.code === 'ENOENT' && err.goneIno !== undefined) {
      throw FsError.of('ESTALE', `directory ${err.goneIno} was removed by another client`, err);
    }
    throw err;
  }
}

export class Vfs {
  readonly #meta: MetaEngine;
  readonly #chunks: ChunkStore;
  readonly #options: { -readonly [K in keyof Required<Omit<VfsOptions, 'metrics' | 'readOnly' | 'quotaSlackBytes' | 'writeback' | 'log' | 'prefetchDirs' | 'knowsMissingNames'>>]: Required<VfsOptions>[K] };
  /** Write-back: the staged slices committed here and not uploaded yet; undefined without write-back. */
  readonly #staged: StagedUploads | undefined;
  /** `prefetchDirs`: fetches listed small files; undefined when off. */
  readonly dirPrefetch: DirPrefetch | undefined;
  readonly #log: MetaLog | undefined;
  readonly #metrics: Metrics | undefined;
  /** The open-file table (`get(ino)`: the state of an inode open here). */
  readonly #inodes = new OpenFiles();
  #background: Promise<unknown> = Promise.resolve();
  readonly #remoteListeners: ((change: Change | undefined) => void)[] = [];
  readonly #xattrs: Xattrs;
  /** Directories made or listed here whose names this host knows: missing names need no round trip. */
  readonly #freshDirs: FreshDirs;
  readonly #missingNames = new MissingNames();
  readonly #checks: PermissionChecks;
  readonly #locks: FileLocks;
  /** Space quotas checked at write(2), truncate and fallocate (the volume's and directories'). */
  readonly #quota: QuotaGuard;

  constructor(meta: MetaEngine, chunks: ChunkStore, options: VfsOptions = {}) {
    this.#meta = meta;
    this.#chunks = chunks;
    this.#options = {
      readaheadBytes: options.readaheadBytes ?? DEFAULT_READAHEAD,
      deleteDelayMs: options.deleteDelayMs ?? 3_600_000,
      autoCompact: options.autoCompact ?? true,
      stagedWaitMs: options.stagedWaitMs ?? 60_000,
    };
    this.#freshDirs = new FreshDirs(options.knowsMissingNames ?? true);
    this.#staged = options.writeback === true ? new StagedUploads(meta, chunks) : undefined;
    this.dirPrefetch = options.prefetchDirs === true ? new DirPrefetch(meta, chunks) : undefined;
    this.#log = options.log;
    this.#metrics = options.metrics;
    this.#checks = new PermissionChecks({ getattr: (ino) => this.getattr(ino), lookup: (parent, name) => this.#meta.lookup(parent, name) }, options.readOnly ?? false);
    this.#xattrs = new Xattrs(meta);
    this.#locks = new FileLocks(meta, options.metrics);
    this.#quota = new QuotaGuard(meta, {
      uncommitted: () => this.#uncommittedGrowth(),
      commit: async () => { await Promise.all([...this.#inodes.values()].map((st) => (st.writer?.dirty ? st.writer.flush() : undefined))); },
    }, { slackBytes: options.quotaSlackBytes });
    meta.onChange({
      onChange: (change) => {
        if (change.locks !== undefined) this.#locks.released(change.locks);
        this.#changedElsewhere(change);
      },
      onReset: () => {
        this.#locks.released(undefined);
        this.#changedElsewhere(undefined);
      },
    });
  }

  /** The largest readahead window for files opened from now on (configuration reload). */
  get readaheadBytes(): number {
    return this.#options.readaheadBytes;
  }

  set readaheadBytes(bytes: number) {
    if (!Number.isSafeInteger(bytes) || bytes < 0) throw new RangeError(`readahead ${bytes} is not a byte count`);
    this.#options.readaheadBytes = bytes;
  }

  /**
   * Calls `listener` with each change another host announced (undefined: announcements may
   * have been missed, anything may have changed), after this vfs dropped its own caches; upper
   * layers drop theirs (the kernel's).
   */
  onRemoteChange(listener: (change: Change | undefined) => void): void {
    this.#remoteListeners.push(listener);
  }

  /** Whether every change is refused (EROFS). */
  get readOnly(): boolean {
    return this.#checks.readOnly;
  }

  /**
   * Opens a file for `caller`; `flags` are open(2) flags (O_RDONLY/O_WRONLY/O_RDWR, O_TRUNC,
   * O_APPEND). The access mode must be allowed by the file's permission bits.
   */
  async open(caller: Caller, ino: number, flags: number): Promise<number> {
    if (opensForChange(flags)) this.#checks.writable();
    return this.#open(caller, ino, flags, undefined, unchecked(caller));
  }

  /**
   * `known`: attributes just read in the same operation (create), saving a trip. `check`: apply
   * the permission bits (not to a file the caller has just created, whatever its mode).
   */
  async #open(caller: Caller, ino: number, flags: number, known: Attr | undefined, check: boolean): Promise<number> {
    const open = this.#inodes.get(ino);
    // The first chunk's map comes with the attributes (one statement): a small file's first
    // read then needs no query of its own.
    let firstChunk: ChunkRecord | undefined;
    const read = async (): Promise<Attr> => {
      const record = await this.#meta.openRecord(ino);
      firstChunk = record.firstChunk;
      return record.attr;
    };
    // A gone inode is ESTALE: the kernel then looks the name up again (another host may have
    // replaced the file behind a name it still has cached) instead of failing the open.
    const attr = known ?? await this.#stillThere(ino, () => (open === undefined ? read() : open.attr.track(read)));
    if (attr.type === 'directory') throw FsError.EISDIR(`inode ${ino} is a directory`);
    if (attr.type !== 'file') throw FsError.of('ENXIO', `inode ${ino} is not a regular file`);
    if (check) checkAccess(caller, attr, accessOfOpen(flags));
    const access = flags & O_ACCMODE;
    const handle: Handle = {
      ino,
      readable: access === constants.O_RDONLY || access === constants.O_RDWR,
      writable: access === constants.O_WRONLY || access === constants.O_RDWR,
      append: (flags & constants.O_APPEND) !== 0,
      readahead: new Readahead(this.#chunks.blockSize, this.#options.readaheadBytes),
      // The kernel clears setuid/setgid on a write through its page cache, but not on a direct
      // write, and the FUSE layer opens O_APPEND files for direct I/O (decision 67).
      clearsPrivileges: (unchecked(caller) || (flags & constants.O_APPEND) !== 0) && caller.uid !== 0,
    };
    const st = this.#inodes.state(ino, attr);
    st.attr.observe(attr); // another open may have made `st` meanwhile
    st.opens++;
    this.#meta.openInode(ino);
    const fh = this.#inodes.add(handle);
    st.chunkMaps.clear();
    const truncates = (flags & constants.O_TRUNC) !== 0 && handle.writable && attr.length > 0;
    // Read with these very attributes; `observe` kept them (or dropped the maps, before this).
    if (firstChunk !== undefined && !truncates && st.attr.current === attr && !st.attr.stale) st.chunkMaps.set(0, Promise.resolve(firstChunk));
    if (truncates) await this.#setattr(ino, { length: 0 });
    // A file that fits in one block is fetched whole at open for reading: its GET runs while
    // the open's answer and the kernel's first READ are on their way (a block already in the
    // memory cache, or being fetched, costs nothing more).
    else if (handle.readable && attr.length > 0 && attr.length <= this.#chunks.blockSize && st.chunkMaps.has(0) && st.writer?.dirty !== true) {
      void this.#prefetch(0, attr.length, attr.length, (index) => this.#chunkMap(st, index));
    }
    return fh;
  }

  /** Creates a regular file and opens it. */
  async create(caller: Caller, parent: number, name: Buffer, mode: number, flags: number): Promise<{ fh: number; attr: NewEntryAttr }> {
    this.#checks.writable();
    refuseTrashTarget(parent, name);
    const dir = await this.#checks.accessible(caller, parent, constants.W_OK | constants.X_OK);
    const epoch = this.#xattrs.epoch;
    const attr = await this.#adding(parent, name, () => parentsThere(this.#meta.mknod(caller, parent, name, 'file', dir === undefined ? mode : createMode(caller, dir, false, mode))));
    this.#xattrs.created(attr.ino, epoch);
    this.#quota.created(attr.ino, parent);
    const fh = await this.#open(caller, attr.ino, flags & ~constants.O_TRUNC, attr, false);
    return { fh, attr };
  }

  /**
   * Runs this host's change that may add `name` to `parent`: the name may exist from before it
   * starts, and no listing running meanwhile makes `parent` known (fresh-dirs.ts).
   */
  async #adding<T>(parent: number, name: Buffer, change: () => Promise<T>): Promise<T> {
    this.#freshDirs.mayExist(parent, name);
    this.#missingNames.adding(parent, name);
    try {
      return await change();
    } finally {
      this.#freshDirs.settled(parent);
    }
  }

  /** Read-only result: it may be a view of a cached block (do not modify it). */
  async read(fh: number, off: number, len: number): Promise<Buffer> {
    const h = this.#handle(fh);
    if (!h.readable) throw FsError.of('EBADF', 'file not open for reading');
    this.#locks.checkLost(h.ino);
    const st = this.#inodes.get(h.ino) as InodeState;
    // Reads see this host's writes: commit them first (rare: mixed read/write on one file).
    if (st.writer?.dirty) await st.writer.flush();
    const { length } = await this.#stillThere(h.ino, () => st.attr.fresh(() => this.#meta.getattr(h.ino)));
    const map = (index: number) => this.#chunkMap(st, index);
    const { sequential, prefetch } = h.readahead.onRead(off, Math.min(off + len, length), length);
    if (prefetch !== undefined) void this.#prefetch(prefetch.off, prefetch.off + prefetch.len, length, map);
    try {
      return await this.#stillThere(h.ino, () => this.#readOnce(st, length, off, len, map, !sequential));
    } catch (first) {
      // A map loaded before another host compacted the chunk can name slices that are gone by
      // now: reload the maps and attributes once before calling it an I/O error.
      if (!(first instanceof BlockMissingError)) throw readError(first, h.ino, off);
      st.chunkMaps.clear();
      const again = await this.#stillThere(h.ino, () => st.attr.track(() => this.#meta.getattr(h.ino)));
      try {
        return await this.#readOnce(st, again.length, off, len, map);
      } catch (err) {
        if (err instanceof BlockMissingError) return this.#readStaged(st, off, len, map, err);
        throw readError(err, h.ino, off);
      }
    }
  }

  /**
   * A block is missing from the object store: if another host's write-back mount staged it and
   * has not uploaded it yet, wait for the upload (up to stagedWaitMs), else it is an I/O error.
   */
  async #readStaged(st: InodeState, off: number, len: number, map: (index: number) => Promise<ChunkRecord>, missing: BlockMissingError): Promise<Buffer> {
    const deadline = Date.now() + this.#options.stagedWaitMs;
    let err: unknown = missing;
    for (;;) {
      const sliceId = err instanceof BlockMissingError ? parseBlockKey(err.key)?.sliceId : undefined;
      const staged = sliceId === undefined ? undefined : await this.#meta.stagedSlice(sliceId);
      if (staged === undefined) throw readError(err, st.ino, off);
      if (Date.now() >= deadline) {
        this.#log?.warn(`inode ${st.ino}: block ${(err as BlockMissingError).key} is staged on session ${staged.sid} (host ${staged.host ?? 'unknown: the session ended'}) since ${new Date(staged.stagedAt).toISOString()} and was not uploaded within ${this.#options.stagedWaitMs / 1000} s: read fails with EIO`);
        throw readError(err, st.ino, off);
      }
      await new Promise((resolve) => setTimeout(resolve, STAGED_POLL_MS));
      try {
        const now = await this.#stillThere(st.ino, () => st.attr.track(() => this.#meta.getattr(st.ino)));
        return await this.#readOnce(st, now.length, off, len, map);
      } catch (next) {
        if (!(next instanceof BlockMissingError)) throw readError(next, st.ino, off);
        err = next;
      }
    }
  }

  /** `partial`: a random read, which may fetch parts of blocks alone (chunk/slice-reader.ts). */
  async #readOnce(st: InodeState, length: number, off: number, len: number, map: (index: number) => Promise<ChunkRecord>, partial = false): Promise<Buffer> {
    const want = Math.min(off + len, length);
    if (want <= off) return Buffer.alloc(0);
    let range = await mapRange(off, want, length, map);
    if (range.end < want) {
      // A map read when the file was shorter than `length` says (another host truncated it,
      // maybe rewrote it since): ask for both again, and stop where the maps read now end.
      st.attr.markStale();
      const again = await st.attr.fresh(() => this.#meta.getattr(st.ino));
      range = await mapRange(off, Math.min(off + len, again.length), again.length, map);
      // The kernel fills the rest of a short read's pages with zeros and keeps them if its own
      // idea of the length changed meanwhile: have it drop this file's pages and attributes.
      if (range.end < Math.min(off + len, length)) this.#kernelStale(st.ino);
    }
    return readRange(this.#chunks, off, range.end, range.pieces, partial);
  }

  async write(fh: number, off: number, data: Buffer): Promise<number> {
    const h = this.#handle(fh);
    if (!h.writable) throw FsError.of('EBADF', 'file not open for writing');
    this.#locks.checkLost(h.ino);
    const st = this.#inodes.get(h.ino) as InodeState;
    if (h.clearsPrivileges) await this.#clearPrivileges(st);
    // Growth past what this host knows of the file is checked against the quotas (ENOSPC, EDQUOT).
    const known = Math.max(st.attr.current.length, st.writer?.end ?? 0);
    await this.#quota.admit(h.ino, (h.append ? known : off) + data.length - known);
    const writer = this.#writer(st);
    // An O_APPEND write takes its place in the file at commit, at the end the database has then
    // (so no round trip here); until then it sits where the kernel put it, at the end known here.
    if (h.append) await writer.append(Math.max(off, st.attr.current.length), data);
    else await writer.write(off, data);
    return data.length;
  }

  /**
   * close(2) and fsync(2) semantics: everything written is stored and committed on return. A
   * close by `lockOwner` (the kernel's owner of the closing process) also ends that owner's
   * POSIX locks on the file, as any close does (after the data: a waiter sees it).
   */
  async flush(fh: number, lockOwner?: bigint): Promise<void> {
    const h = this.#handle(fh);
    try {
      await this.#inodes.get(h.ino)?.writer?.flush();
    } finally {
      if (lockOwner !== undefined) await this.#locks.release(h.ino, lockOwner, 'posix');
    }
  }

  /** Like flush; with write-back it also waits until the file's staged data is in the object store. */
  async fsync(fh: number): Promise<void> {
    const { ino } = this.#handle(fh);
    this.#locks.checkLost(ino);
    await this.flush(fh);
    await this.#staged?.drained(ino);
  }

  /** Write-back: resolves once everything staged here so far is uploaded and unstaged. */
  async stagedDrained(): Promise<void> {
    await this.#staged?.drainedAll();
  }

  /** The last close of an open file; `flockOwner`: the file held a flock, which ends now. */
  async release(fh: number, flockOwner?: bigint): Promise<void> {
    const h = this.#inodes.take(fh);
    try {
      await this.#close(h);
    } finally {
      // Its OFD locks (owned by this open file) and its flock end with it, after its data.
      // Only those last taken through this open file: the kernel sends RELEASE in the background,
      // and a newer open file may have the same owner id by now (flock and OFD owners are the
      // address of the kernel's open file, reused once it is freed).
      if (flockOwner !== undefined) await this.#locks.release(h.ino, flockOwner, 'flock', fh);
      for (const owner of h.lockOwners ?? []) await this.#locks.release(h.ino, owner, 'posix', fh);
    }
  }

  async #close(h: Handle): Promise<void> {
    const st = this.#inodes.get(h.ino);
    if (st === undefined) return;
    try {
      await st.writer?.flush();
    } finally {
      st.opens--;
      if (st.opens === 0 && !st.writer?.dirty) { this.#inodes.delete(h.ino); this.#quota.forget(h.ino); }
      await this.#meta.closeInode(h.ino);
    }
  }

  /**
   * Sets or clears a lock of the open file `fh` for `owner` (F_SETLK/F_SETLKW with kind posix,
   * flock(2) with kind flock), across every mount of the volume; `wait` waits for a conflicting
   * lock to go, until `signal` aborts (EINTR). Refused without waiting: EAGAIN.
   */
  async setLock(fh: number, owner: bigint, kind: 'posix' | 'flock', type: 'read' | 'write' | undefined, lo: number, hi: number, pid: number, wait: boolean, signal?: AbortSignal): Promise<void> {
    const h = this.#handle(fh);
    const st = this.#inodes.get(h.ino) as InodeState;
    if (kind === 'posix' && type !== undefined) (h.lockOwners ??= new Set()).add(owner);
    // Giving a lock up (unlock, downgrade): what was written under it reaches the database
    // first, so the next holder on any host reads it. A failed flush still lets the lock go.
    let unflushed: unknown;
    if (type !== 'write' && st.writer?.dirty) await st.writer.flush().catch((err: unknown) => { unflushed = err; });
    await this.#locks.set({ ino: h.ino, owner, kind, type, lo, hi, pid }, fh, wait, signal);
    // Taking one: the previous holder may have written on another host; this host's view of the
    // file (attributes, chunk maps) is refreshed before reading under it (the FUSE layer drops
    // the kernel's pages before it replies).
    if (type !== undefined) st.attr.markStale();
    if (unflushed !== undefined) throw unflushed;
  }

  /** F_GETLK: the first lock of another owner in the way of a `type` lock of [lo, hi), or undefined. */
  testLock(fh: number, owner: bigint, type: 'read' | 'write', lo: number, hi: number, pid: number): Promise<LockHolder | undefined> {
    return this.#locks.test({ ino: this.#handle(fh).ino, owner, kind: 'posix', type, lo, hi, pid });
  }

  /** Attributes, with the length of this host's unflushed writes. */
  async getattr(ino: number): Promise<Attr> {
    const st = this.#inodes.get(ino);
    if (st === undefined) return this.#stillThere(ino, () => this.#meta.getattr(ino));
    return this.#withWrites(st, await this.#stillThere(ino, () => st.attr.track(() => this.#meta.getattr(ino))));
  }

  /** getattr of an open handle (also after its last name is gone). */
  async fgetattr(fh: number): Promise<Attr> {
    return this.getattr(this.#handle(fh).ino);
  }

  /**
   * `attr` just read from the database by other means (a lookup by name), with the length of
   * this host's unflushed writes. If it differs from what this host knows, the file changed
   * (another host wrote or truncated it): the next read asks again and reloads the chunk maps.
   */
  withLocalWrites(attr: Attr): Attr {
    const st = this.#inodes.get(attr.ino);
    if (st === undefined) return attr;
    st.attr.observe(attr);
    return this.#withWrites(st, attr);
  }

  /** The attributes an open of `fh` has just read (no round trip), with this host's unflushed writes. */
  openedAttr(fh: number): Attr {
    const st = this.#inodes.get(this.#handle(fh).ino) as InodeState;
    return this.#withWrites(st, st.attr.current);
  }

  #withWrites(st: InodeState, attr: Attr): Attr {
    const end = st.writer?.end ?? 0;
    return end > attr.length && st.writer?.dirty ? { ...attr, length: end } : attr;
  }

  /**
   * setattr by `caller`, under the rules of chmod, chown, utimensat and truncate (which may add
   * the clearing of setuid/setgid to the changes: see checkSetattr).
   */
  async setattr(caller: Caller, ino: number, changes: AttrChanges): Promise<Attr> {
    this.#checks.writable();
    const checked = unchecked(caller) ? checkSetattr(caller, await this.getattr(ino), changes) : changes;
    return this.#setattr(ino, checked);
  }

  /**
   * Pending writes are committed first: their commit would otherwise land after this change (a
   * later length, or an mtime of "now" over the times tar or cp -p just set).
   */
  async #setattr(ino: number, changes: AttrChanges): Promise<Attr> {
    const st = this.#inodes.get(ino);
    if (st?.writer?.dirty) await st.writer.flush();
    if (changes.length !== undefined) {
      const length = st === undefined ? (await this.#meta.getattr(ino)).length : st.attr.current.length;
      await this.#quota.admit(ino, changes.length - length);
    }
    const attr = await (st === undefined ? this.#meta.setattr(ino, changes) : st.attr.track(() => this.#meta.setattr(ino, changes)));
    if (st !== undefined) {
      if (changes.length !== undefined) {
        st.chunkMaps.clear();
        st.writer?.truncated(changes.length);
      }
    }
    return attr;
  }

  // Namespace operations: the metadata engine's, plus what open files here need to know.

  // Namespace operations need search (and, to change a directory, write) permission on it.

  async lookup(caller: Caller, parent: number, name: Buffer): Promise<Attr> {
    await this.#checks.accessible(caller, parent, constants.X_OK);
    if (this.#freshDirs.absent(parent, name)) {
      this.#missingNames.saw(parent, name);
      throw FsError.ENOENT(`no entry in fresh directory ${parent}`);
    }
    try {
      return this.withLocalWrites(await parentsThere(this.#meta.lookup(parent, name)));
    } catch (err) {
      if (err instanceof FsError && err.code === 'ENOENT') this.#missingNames.saw(parent, name);
      throw err;
    }
  }
  async mknod(caller: Caller, parent: number, name: Buffer, type: 'file' | 'fifo' | 'socket' | 'blockdev' | 'chardev', mode: number, rdev = 0): Promise<NewEntryAttr> {
    this.#checks.writable();
    refuseTrashTarget(parent, name);
    const dir = await this.#checks.accessible(caller, parent, constants.W_OK | constants.X_OK);
    return this.#adding(parent, name, () => parentsThere(this.#meta.mknod(caller, parent, name, type, dir === undefined ? mode : createMode(caller, dir, false, mode), rdev)));
  }
  async mkdir(caller: Caller, parent: number, name: Buffer, mode: number): Promise<NewEntryAttr> {
    this.#checks.writable();
    refuseTrashTarget(parent, name);
    await this.#checks.accessible(caller, parent, constants.W_OK | constants.X_OK);
    return this.#adding(parent, name, async () => {
      const watch = this.#freshDirs.watchMkdir();
      let made: NewEntryAttr | undefined;
      try {
        made = await parentsThere(this.#meta.mkdir(caller, parent, name, mode));
        return made;
      } finally {
        this.#freshDirs.made(watch, made?.ino);
      }
    });
  }
  async symlink(caller: Caller, parent: number, name: Buffer, target: Buffer): Promise<NewEntryAttr> {
    this.#checks.writable();
    refuseTrashTarget(parent, name);
    await this.#checks.accessible(caller, parent, constants.W_OK | constants.X_OK);
    return this.#adding(parent, name, () => parentsThere(this.#meta.symlink(caller, parent, name, target)));
  }
  async link(caller: Caller, ino: number, parent: number, name: Buffer): Promise<Attr> {
    this.#checks.writable();
    refuseTrashTarget(parent, name);
    await this.#checks.accessible(caller, parent, constants.W_OK | constants.X_OK);
    return this.#adding(parent, name, () => parentsThere(this.#meta.link(ino, parent, name)));
  }
  readlink(ino: number): Promise<Buffer> { return this.#meta.readlink(ino); }
  /** Removes an empty directory; returns its attributes as it left (nlink 0). */
  async rmdir(caller: Caller, parent: number, name: Buffer): Promise<Attr> {
    this.#checks.writable();
    await parentsThere(this.#checks.removable(caller, parent, name));
    return parentsThere(this.#meta.rmdir(parent, name));
  }
  /** The volume's figures, or for directory `ino` those of the nearest directory quota at or above it. */
  statfs(ino?: number): Promise<StatFs> { return this.#meta.statfs(ino); }
  /** Whether `ino` is known, without asking, to have no xattr `name` (see Xattrs). */
  knownWithoutXattr(ino: number, name: Buffer): boolean {
    return this.#xattrs.knownWithout(ino, name);
  }

  async getxattr(caller: Caller, ino: number, name: Buffer): Promise<Buffer> {
    Xattrs.refuseAcl(name);
    if (unchecked(caller) && !this.#xattrs.knownWithout(ino, name)) checkXattr(caller, await this.getattr(ino), name.toString('latin1'), false);
    return this.#xattrs.get(ino, name);
  }
  async setxattr(caller: Caller, ino: number, name: Buffer, value: Buffer, flags = 0): Promise<void> {
    this.#checks.writable();
    if (unchecked(caller)) checkXattr(caller, await this.getattr(ino), name.toString('latin1'), true);
    return this.#xattrs.set(ino, name, value, flags);
  }
  listxattr(ino: number): Promise<Buffer[]> { return this.#xattrs.list(ino); }
  async removexattr(caller: Caller, ino: number, name: Buffer): Promise<void> {
    this.#checks.writable();
    if (unchecked(caller)) checkXattr(caller, await this.getattr(ino), name.toString('latin1'), true);
    return this.#xattrs.remove(ino, name);
  }

  /** An unlinked file that is open here stays readable and writable until its last close. */
  async unlink(caller: Caller, parent: number, name: Buffer): Promise<UnlinkResult> {
    this.#checks.writable();
    await parentsThere(this.#checks.removable(caller, parent, name));
    const result = await parentsThere(this.#meta.unlink(parent, name));
    if (result.gone) this.#forgetIfClosed(result.ino);
    return result;
  }

  async rename(caller: Caller, srcParent: number, srcName: Buffer, dstParent: number, dstName: Buffer, flags = 0): Promise<RenameResult> {
    this.#checks.writable();
    refuseTrashTarget(dstParent, dstName);
    if ((flags & RENAME_EXCHANGE) !== 0) refuseTrashTarget(srcParent, srcName); // the other entry moves too
    await parentsThere(this.#checks.renamable(caller, srcParent, srcName, dstParent, dstName));
    const targetLikelyFree = this.#freshDirs.absent(dstParent, dstName) || this.#missingNames.likely(dstParent, dstName);
    const result = await this.#adding(dstParent, dstName, () => parentsThere(this.#meta.rename(srcParent, srcName, dstParent, dstName, flags, targetLikelyFree)));
    if (srcParent !== dstParent) this.#quota.moved();
    if (result.replaced !== undefined && result.replacedGone) this.#forgetIfClosed(result.replaced);
    return result;
  }

  /**
   * Up to `limit` entries of a directory after `after` (exclusive), with this host's unflushed
   * lengths: a page of a directory stream, whose permission was checked when it was opened
   * (the kernel's opendir, or readdir below).
   */
  async readdirPage(ino: number, after: Buffer | undefined, limit?: number): Promise<DirPage> {
    const page = await this.#listingPage(ino, after, () => this.#xattrs.listing(() => this.#meta.readdir(ino, { ...(after === undefined ? {} : { after }), ...(limit === undefined ? {} : { limit }) })));
    this.dirPrefetch?.listed(page.entries);
    return { ...page, entries: page.entries.map((e) => (this.#inodes.has(e.ino) ? { ...e, attr: this.withLocalWrites(e.attr) } : e)) };
  }

  /**
   * fallocate(2): mode 0 (grow to off + len; space is not reserved in an object store),
   * KEEP_SIZE alone (nothing to do), PUNCH_HOLE | KEEP_SIZE and ZERO_RANGE (optionally
   * KEEP_SIZE) as holes appended in metadata. Anything else is EOPNOTSUPP.
   */
  async fallocate(fh: number, mode: number, off: number, len: number): Promise<void> {
    this.#checks.writable();
    const h = this.#handle(fh);
    if (!h.writable) throw FsError.of('EBADF', 'file not open for writing');
    if (off < 0 || len <= 0) throw FsError.EINVAL(`fallocate range ${off}+${len}`);
    const keepSize = (mode & FALLOC_KEEP_SIZE) !== 0;
    const zeroing = mode & (FALLOC_PUNCH_HOLE | FALLOC_ZERO_RANGE);
    if ((mode & ~(FALLOC_KEEP_SIZE | FALLOC_PUNCH_HOLE | FALLOC_ZERO_RANGE)) !== 0 || zeroing === (FALLOC_PUNCH_HOLE | FALLOC_ZERO_RANGE) ||
      (zeroing === FALLOC_PUNCH_HOLE && !keepSize)) {
      throw FsError.of('EOPNOTSUPP', `fallocate mode ${mode}`);
    }
    const st = this.#inodes.get(h.ino) as InodeState;
    if (h.clearsPrivileges) await this.#clearPrivileges(st);
    if (st.writer?.dirty) await st.writer.flush(); // pending writes land before the holes
    const { length } = await this.#stillThere(h.ino, () => st.attr.track(() => this.#meta.getattr(h.ino)));
    const newLength = keepSize ? length : Math.max(length, off + len);
    const end = keepSize ? Math.min(off + len, length) : off + len;
    if (zeroing === 0 && newLength === length) return;
    await this.#quota.admit(h.ino, newLength - length);
    const appends = zeroing === 0 || end <= off ? [] : zeroAppends(off, end - off);
    await st.attr.track(() => this.#meta.appendSlices(h.ino, appends, newLength));
    st.chunkMaps.clear();
    st.writer?.truncated(newLength);
  }

  /** lseek(2) SEEK_DATA / SEEK_HOLE from `off` (ENXIO at or past the end). */
  async seekData(fh: number, off: number, whence: number): Promise<number> {
    if (whence !== SEEK_DATA && whence !== SEEK_HOLE) throw FsError.EINVAL(`lseek whence ${whence}`);
    const h = this.#handle(fh);
    const st = this.#inodes.get(h.ino) as InodeState;
    if (st.writer?.dirty) await st.writer.flush();
    const { length } = await this.#stillThere(h.ino, () => st.attr.fresh(() => this.#meta.getattr(h.ino)));
    if (off < 0 || off >= length) throw FsError.of('ENXIO', `offset ${off} of a file of ${length} bytes`);
    return seekFile(off, length, whence, (index) => this.#chunkMap(st, index));
  }

  /**
   * copy_file_range(2) in metadata: the target shares the source's slices (no block is read
   * or written). Pending writes of both files are committed first. Returns the bytes copied.
   */
  async copyFileRange(fhIn: number, offIn: number, fhOut: number, offOut: number, len: number): Promise<number> {
    this.#checks.writable();
    const src = this.#handle(fhIn);
    const dst = this.#handle(fhOut);
    if (!src.readable || !dst.writable || dst.append) throw FsError.of('EBADF', 'copy_file_range needs a readable source and a writable, non-append target');
    if (offIn < 0 || offOut < 0) throw FsError.EINVAL('negative offset');
    const from = this.#inodes.get(src.ino) as InodeState;
    const to = this.#inodes.get(dst.ino) as InodeState;
    if (from.writer?.dirty) await from.writer.flush();
    if (to.writer?.dirty) await to.writer.flush();
    if (len === 0) return 0;
    if (dst.clearsPrivileges) await this.#clearPrivileges(to);
    await this.#quota.admit(dst.ino, offOut + len - to.attr.current.length);
    let copied = 0;
    await to.attr.track(async () => {
      const result = await this.#stillThere(src.ino, () => this.#meta.copyRange(src.ino, offIn, dst.ino, offOut, len));
      copied = result.copied;
      return result.attr;
    });
    to.chunkMaps.clear();
    return copied;
  }

  /** Every entry of a directory, page by page (the caller may stop early); listing needs read permission. */
  async *readdir(caller: Caller, ino: number): AsyncGenerator<DirEntry> {
    await this.#checks.accessible(caller, ino, constants.R_OK);
    let after: Buffer | undefined;
    do {
      const start = after;
      const page = await this.#listingPage(ino, start, () => this.#meta.readdir(ino, start === undefined ? {} : { after: start }));
      this.dirPrefetch?.listed(page.entries);
      yield* page.entries;
      after = page.next;
    } while (after !== undefined);
  }

  /**
   * Reads one page of a listing with `read`, and tells FreshDirs (a listing read to its end
   * teaches the directory's missing names; one that stops is dropped among the 64 it keeps).
   */
  async #listingPage(ino: number, after: Buffer | undefined, read: () => Promise<DirPage>): Promise<DirPage> {
    const listing = this.#freshDirs.beforePage(ino, after);
    let page: DirPage;
    try {
      page = await read();
    } catch (err) {
      if (listing !== undefined) this.#freshDirs.abandon(listing);
      throw err;
    }
    if (listing !== undefined) this.#freshDirs.afterPage(listing, page.entries.map((e) => e.name), page.next);
    return page;
  }

  /** Commits every slice started more than `maxAgeMs` ago, flushed or not (see FileWriter). */
  sealOldSlices(maxAgeMs: number = MAX_UNCOMMITTED_MS): void {
    const before = Date.now() - maxAgeMs;
    for (const st of this.#inodes.values()) st.writer?.sealStartedBefore(before);
  }

  /** Compacts one chunk now (tests, gc --compact). */
  async compact(ino: number, index: number): Promise<string> {
    const outcome = await compactChunkCounted(this.#meta, this.#chunks, ino, index, this.#metrics);
    this.#inodes.get(ino)?.chunkMaps.delete(index);
    return outcome;
  }

  /** One pass of deferred deletion with the configured (or the given) safety delay. */
  runDeletion(delayMs = this.#options.deleteDelayMs): Promise<DeletionReport> {
    return runDeletionCounted(this.#meta, this.#chunks, delayMs, this.#metrics);
  }

  /** Write-buffer pressure (from the chunk store): commit idle slices of every file. */
  relieveBufferPressure(): void {
    for (const st of this.#inodes.values()) st.writer?.sealIdle();
  }

  /** Commits every file's pending writes and waits for background work. */
  async flushAll(): Promise<void> {
    await Promise.all([...this.#inodes.values()].map((st) => st.writer?.flush()));
    await this.dirPrefetch?.stop();
    await this.#background;
  }

  /**
   * Runs a read-side step of an open file; the inode being gone (deleted by another host, which
   * cannot know it is open here) is ESTALE, as on NFS, rather than ENOENT or zeros.
   */
  async #stillThere<T>(ino: number, step: () => Promise<T>): Promise<T> {
    try {
      return await step();
    } catch (err) {
      if (err instanceof FsError && err.code === 'ENOENT') throw FsError.of('ESTALE', `inode ${ino} was deleted by another client while open here`, err);
      throw err;
    }
  }

  /** Another host changed what `change` names (undefined: maybe anything): drop what is cached about it. */
  #changedElsewhere(change: Change | undefined): void {
    const inos = change?.inos;
    this.#xattrs.forget(inos);
    if (change === undefined) this.#freshDirs.forgetAll();
    else {
      this.#freshDirs.changed(change.inos);
      for (const e of change.entries) this.#freshDirs.changed([e.parent]);
    }
    for (const st of this.#inodes.values()) {
      if (inos !== undefined && !inos.has(st.ino)) continue;
      st.attr.markStale();
    }
    for (const listener of this.#remoteListeners) listener(change);
  }

  /** This host's kernel may hold a wrong view of `ino` (pages or attributes): the upper layer drops it. */
  #kernelStale(ino: number): void {
    const change: Change = { inos: new Set([ino]), renamed: new Set(), entries: [] };
    for (const listener of this.#remoteListeners) listener(change);
  }

  /** A deleted inode nobody has open here: drop what this host kept for it. */
  #forgetIfClosed(ino: number): void {
    const st = this.#inodes.get(ino);
    if (st !== undefined && st.opens === 0) {
      st.writer?.abort();
      this.#inodes.delete(ino);
    }
  }

  #handle(fh: number): Handle {
    return this.#inodes.handle(fh);
  }

  /** Per file written here, the bytes past its committed length not committed yet (quota-guard.ts). */
  *#uncommittedGrowth(): Iterable<readonly [number, number]> {
    for (const st of this.#inodes.values()) {
      if (st.writer?.dirty) yield [st.ino, st.writer.end - st.attr.current.length] as const;
    }
  }

  /** write(2) by an unprivileged process clears setuid, and setgid with group execute. */
  async #clearPrivileges(st: InodeState): Promise<void> {
    const mode = withoutPrivileges(st.attr.current.mode);
    if (mode !== undefined) await this.#setattr(st.ino, { mode });
  }

  #writer(st: InodeState): FileWriter {
    st.writer ??= new FileWriter(st.ino, {
      meta: this.#meta,
      chunks: this.#chunks,
      // A commit changes only its own chunk's map (#committed drops it).
      commitSlice: (commit) => st.attr.track(() => this.#meta.commitSlice(commit), false),
      commitAppend: async (id, size, mtime, staged) => {
        let at = 0;
        await st.attr.track(async () => {
          const placed = await this.#meta.commitAppend(st.ino, id, size, mtime, staged);
          at = placed.at;
          return placed.attr;
        }, false);
        return at;
      },
      onCommit: (index) => this.#committed(st, index),
      onAppendMoved: () => this.#kernelStale(st.ino),
      staged: this.#staged !== undefined,
      onStaged: (id, size) => this.#staged?.track(st.ino, id, size),
    });
    return st.writer;
  }

  #committed(st: InodeState, index: number): void {
    st.chunkMaps.delete(index);
    const n = (st.commitsSince.get(index) ?? 0) + 1;
    st.commitsSince.set(index, n);
    if (this.#options.autoCompact && n >= COMPACT_THRESHOLD) {
      st.commitsSince.set(index, 0);
      const job = st.compaction.run(() => this.compact(st.ino, index)).catch(() => undefined);
      this.#background = Promise.all([this.#background, job]);
    }
  }

  #chunkMap(st: InodeState, index: number): Promise<ChunkRecord> {
    let p = st.chunkMaps.get(index);
    if (p === undefined) {
      p = this.#meta.readChunk(st.ino, index);
      st.chunkMaps.set(index, p);
      p.catch(() => st.chunkMaps.delete(index));
    }
    return p;
  }

  async #prefetch(off: number, end: number, length: number, map: (index: number) => Promise<ChunkRecord>): Promise<void> {
    try {
      for (const p of (await mapRange(off, end, length, map)).pieces) this.#chunks.prefetch(p.id, p.size, p.off, p.len);
    } catch {
      // Readahead is a hint: a failure here shows up, if at all, on the real read.
    }
  }
}
