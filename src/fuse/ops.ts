/**
 * The FUSE operations over the vfs: one small function per operation, each translating the
 * request, calling the vfs and answering through the binding. No POSIX logic lives here beyond
 * what the kernel leaves to a FUSE filesystem (lookup counts, per-reply cache timeouts): the
 * read-only and permission rules are the vfs's, and the mount's default_permissions makes the
 * kernel apply the latter first, which each request's caller says (`kernelChecked`).
 */
import { constants } from 'node:fs';
import { FsError } from '../errors.js';
import { LOCK_EOF, ROOT_INO, type Attr, type AttrChanges, type Caller, type ChangedDirs, type DirEntry, type NewEntryAttr, type Vfs } from '../vfs/index.js';
import type { RecentDirAttrs } from './dir-attrs.js';
import { DOTS, type DirStreams } from './dir-streams.js';
import type { InodeMap } from './inode-map.js';
import type { KernelAttrs } from './kernel-attrs.js';
import type { LookupCounts } from './lookup-counts.js';
import type { ReadFences } from './read-fences.js';
import { DIRENT_LEN, Op, OpenReply, type Binding, type OpCode, type Request } from './native.js';
import type { Handler } from './session.js';
import { attrArray, entryArray, negativeEntry, packDirent, statfsArray, type Timeouts } from './stat.js';
import { StatsFile } from './stats-file.js';

export interface CacheTimeouts extends Timeouts {
  /** How long the kernel may remember that a name does not exist (0: not at all). */
  readonly negative: number;
}

export interface OpsContext {
  readonly vfs: Vfs;
  readonly counts: LookupCounts;
  readonly dirs: DirStreams;
  readonly timeouts: CacheTimeouts;
  readonly stats: StatsFile | undefined;
  readonly fences: ReadFences;
  /** Node ids ↔ inodes (a sub-directory mount's root is node id 1). */
  readonly inodes: InodeMap;
  /** Directories as this mount's last change of them left them (the GETATTR after a change). */
  readonly recentDirs: RecentDirAttrs;
  /** What the replies told the kernel of each file's length and change time. */
  readonly kernelAttrs: KernelAttrs;
}

const S_IFMT = 0o170000;
const NODE_OF_MODE = new Map<number, 'file' | 'fifo' | 'socket' | 'blockdev' | 'chardev'>([
  [constants.S_IFREG, 'file'], [constants.S_IFIFO, 'fifo'], [constants.S_IFSOCK, 'socket'],
  [constants.S_IFBLK, 'blockdev'], [constants.S_IFCHR, 'chardev'],
]);
/** setattr's to_set bits (fuse_lowlevel.h). */
const SET = { MODE: 1, UID: 2, GID: 4, SIZE: 8, ATIME: 16, MTIME: 32, ATIME_NOW: 128, MTIME_NOW: 256 } as const;
const RENAME_FLAGS = 1 | 2; // RENAME_NOREPLACE | RENAME_EXCHANGE
/**
 * Bytes a directory entry takes in a reply at least (fuse_dirent or fuse_direntplus, without
 * the name): a request of `size` bytes holds fewer entries than size / this.
 */
const DIRENT_MIN_BYTES = 24;
const DIRENTPLUS_MIN_BYTES = 152;

/** fcntl lock types (Linux). */
const F_RDLCK = 0;
const F_WRLCK = 1;
const F_UNLCK = 2;

/** A lock request's type (undefined: unlock) and byte range [lo, hi). */
function lockRange(r: Request): { type: 'read' | 'write' | undefined; lo: number; hi: number } {
  const t = r.lockType;
  if (t !== F_RDLCK && t !== F_WRLCK && t !== F_UNLCK) throw FsError.EINVAL(`lock type ${t}`);
  const lo = r.off ?? 0;
  const len = r.length ?? 0;
  if (lo < 0 || len < 0) throw FsError.EINVAL(`lock range ${lo}+${len}`);
  return { type: t === F_RDLCK ? 'read' : t === F_WRLCK ? 'write' : undefined, lo, hi: len === 0 ? LOCK_EOF : Math.min(LOCK_EOF, lo + len) };
}

/** The caller of a request the kernel checked (default_permissions: every request but one). */
const caller = (r: Request): Caller => ({ uid: r.uid, gid: r.gid, kernelChecked: true });
/** The caller of what the kernel did not check: the request carries no supplementary groups. */
const uncheckedCaller = (r: Request): Caller => ({ uid: r.uid, gid: r.gid });
const nameOf = (r: Request): Buffer => r.name as Buffer;
const fhOf = (r: Request): number => r.fh ?? -1;

export function buildOps(ctx: OpsContext): Partial<Record<OpCode, Handler>> {
  const { vfs, counts, dirs, timeouts, stats, fences, inodes, recentDirs, kernelAttrs } = ctx;
  const isStatsName = (parent: number, name: Buffer) => StatsFile.isName(parent, name, inodes.root);
  const notStats = (ino: number) => { if (StatsFile.is(ino)) throw FsError.of('EPERM', '.stats cannot be changed'); };
  const notStatsName = (parent: number, name: Buffer) => { if (isStatsName(parent, name)) throw FsError.of('EPERM', '.stats cannot be changed'); };
  /** An entry reply's array: the node id the kernel is to know the inode by. */
  const entryOf = (attr: Attr) => entryArray(attr, timeouts, inodes.nodeOf(attr.ino));

  /**
   * Runs a change of directories `inos`; what it reports of them (`dirs`) answers the GETATTR
   * of them that the kernel sends next.
   */
  const changing = async <T,>(inos: readonly number[], run: () => Promise<T>): Promise<T> => {
    recentDirs.begin(inos);
    let result: ChangedDirs | undefined;
    try {
      const value = await run();
      result = value as ChangedDirs | undefined;
      return value;
    } finally {
      recentDirs.end(inos, result?.dirs);
    }
  };

  /** The kernel took an entry of `attr`: one more reference, and what it now knows of the inode. */
  const given = (attr: Attr) => {
    counts.add(attr.ino);
    kernelAttrs.told(attr);
  };

  /** Answers an entry and counts the kernel's new reference (only if the kernel took it). */
  const entry = (r: Request, b: Binding, attr: Attr) => {
    if (b.replyEntry(r.req, entryOf(attr)) === 0) given(attr);
  };

  /**
   * Answers an open of `fh`. If the file is not as the kernel last heard of it (another host
   * changed it, and its change notice may not have come yet), the reply waits until the kernel
   * has dropped its attributes, so the opener reads with the new length (close-to-open). Reads
   * of the file in flight here are let finish first (see ReadFences).
   */
  const replyOpened = async (r: Request, b: Binding, fh: number, flags: number) => {
    let sent: number;
    if (kernelAttrs.differ(vfs.openedAttr(fh))) {
      await fences.settled(r.ino);
      sent = b.replyOpenAfterInval(r.req, fh, flags, inodes.nodeOf(r.ino));
    } else sent = b.replyOpen(r.req, fh, flags);
    if (sent !== 0) await vfs.release(fh);
  };

  /**
   * create(2) of a name that exists: without O_EXCL, open(2) opens it. The kernel checked the
   * directory for a create, not the file for an open: the vfs checks that.
   */
  const openExisting = async (r: Request, b: Binding, flags: number) => {
    const attr = await vfs.lookup(caller(r), r.ino, nameOf(r));
    const fh = await vfs.open(uncheckedCaller(r), attr.ino, flags);
    const fresh = await vfs.fgetattr(fh);
    if (b.replyCreate(r.req, entryOf(fresh), fh, openReplyFlags(flags)) === 0) given(fresh);
    else await vfs.release(fh);
  };

  const ops: Partial<Record<OpCode, Handler>> = {
    [Op.LOOKUP]: async (r, b) => {
      if (stats !== undefined && isStatsName(r.ino, nameOf(r))) {
        b.replyEntry(r.req, entryArray(await stats.attr(), { attr: 0, entry: timeouts.entry }));
        return;
      }
      let attr: Attr;
      try {
        // `..` of the mount's root is the root itself: in a sub-directory mount the vfs would
        // answer the directory's real parent, outside the mount. (The kernel resolves `..`
        // itself and does not ask; this holds should it ever do.)
        const name = r.ino === inodes.root && nameOf(r).equals(DOTDOT) ? DOT : nameOf(r);
        attr = await vfs.lookup(caller(r), r.ino, name);
      } catch (err) {
        if (err instanceof FsError && err.code === 'ENOENT' && timeouts.negative > 0) {
          b.replyEntry(r.req, negativeEntry(timeouts.negative));
          return;
        }
        throw err;
      }
      entry(r, b, attr);
    },
    [Op.GETATTR]: async (r, b) => {
      const fh = fhOf(r);
      if (StatsFile.is(r.ino) && stats !== undefined) {
        b.replyAttr(r.req, attrArray(stats.isHandle(fh) ? stats.fgetattr(fh) : await stats.attr()), 0);
        return;
      }
      const attr = fh > 0 && !stats?.isHandle(fh) ? await vfs.fgetattr(fh) : recentDirs.get(r.ino) ?? dirs.removedAttr(r.ino) ?? await vfs.getattr(r.ino);
      if (b.replyAttr(r.req, attrArray(attr), timeouts.attr) === 0) kernelAttrs.told(attr);
    },
    [Op.SETATTR]: async (r, b) => {
      notStats(r.ino);
      const attr = await changing([r.ino], () => vfs.setattr(caller(r), r.ino, setattrChanges(r.toSet ?? 0, r.values as Float64Array)));
      const told = vfs.withLocalWrites(attr);
      if (b.replyAttr(r.req, attrArray(told), timeouts.attr) === 0) kernelAttrs.told(told);
    },
    [Op.READLINK]: async (r, b) => { b.replyReadlink(r.req, await vfs.readlink(r.ino)); },
    [Op.MKNOD]: async (r, b) => {
      notStatsName(r.ino, nameOf(r));
      const mode = r.mode ?? 0;
      const type = NODE_OF_MODE.get(mode & S_IFMT);
      if (type === undefined) throw FsError.EINVAL(`mknod of mode ${mode.toString(8)}`);
      entry(r, b, await changing([r.ino], () => vfs.mknod(caller(r), r.ino, nameOf(r), type, mode & 0o7777, r.rdev ?? 0)));
    },
    [Op.MKDIR]: async (r, b) => {
      notStatsName(r.ino, nameOf(r));
      entry(r, b, await changing([r.ino], () => vfs.mkdir(caller(r), r.ino, nameOf(r), (r.mode ?? 0) & 0o7777)));
    },
    [Op.SYMLINK]: async (r, b) => {
      notStatsName(r.ino, nameOf(r));
      entry(r, b, await changing([r.ino], () => vfs.symlink(caller(r), r.ino, nameOf(r), r.name2 as Buffer)));
    },
    [Op.LINK]: async (r, b) => {
      notStats(r.ino);
      notStatsName(r.ino2 ?? 0, nameOf(r));
      entry(r, b, await changing([r.ino2 ?? 0], () => vfs.link(caller(r), r.ino, r.ino2 ?? 0, nameOf(r))));
    },
    [Op.UNLINK]: async (r, b) => {
      notStatsName(r.ino, nameOf(r));
      await changing([r.ino], () => vfs.unlink(caller(r), r.ino, nameOf(r)));
      b.replyErr(r.req, 0);
    },
    [Op.RMDIR]: async (r, b) => {
      notStatsName(r.ino, nameOf(r));
      dirs.removed(await changing([r.ino], () => vfs.rmdir(caller(r), r.ino, nameOf(r))));
      b.replyErr(r.req, 0);
    },
    [Op.RENAME]: async (r, b) => {
      const flags = r.flags ?? 0;
      if ((flags & ~RENAME_FLAGS) !== 0) throw FsError.EINVAL(`rename flags ${flags} (RENAME_WHITEOUT is not supported)`);
      notStatsName(r.ino, nameOf(r));
      notStatsName(r.ino2 ?? 0, r.name2 as Buffer);
      await changing([r.ino, r.ino2 ?? 0], () => vfs.rename(caller(r), r.ino, nameOf(r), r.ino2 ?? 0, r.name2 as Buffer, flags));
      b.replyErr(r.req, 0);
    },
    [Op.OPEN]: async (r, b) => {
      const flags = r.flags ?? 0;
      if (StatsFile.is(r.ino) && stats !== undefined) {
        const fh = await stats.open(flags);
        b.replyOpen(r.req, fh, OpenReply.DIRECT_IO | OpenReply.NOFLUSH);
        return;
      }
      const fh = await vfs.open(caller(r), r.ino, flags);
      // No NOFLUSH even for read-only handles: a close must reach us to end the closing
      // process's POSIX locks (the kernel keeps none of its own for a filesystem that locks).
      await replyOpened(r, b, fh, openReplyFlags(flags));
    },
    [Op.CREATE]: async (r, b) => {
      notStatsName(r.ino, nameOf(r));
      const flags = r.flags ?? 0;
      let created: { fh: number; attr: NewEntryAttr };
      try {
        created = await changing([r.ino], async () => {
          const c = await vfs.create(caller(r), r.ino, nameOf(r), (r.mode ?? 0) & 0o7777, flags);
          return { ...c, dirs: c.attr.dirs };
        });
      } catch (err) {
        // The kernel sends CREATE for a name it believed missing (a negative entry): another
        // host may have created it since. Without O_EXCL that is an open, never EEXIST.
        if (err instanceof FsError && err.code === 'EEXIST' && (flags & constants.O_EXCL) === 0) return openExisting(r, b, flags);
        throw err;
      }
      if (b.replyCreate(r.req, entryOf(created.attr), created.fh, openReplyFlags(flags)) === 0) given(created.attr);
      else await vfs.release(created.fh);
    },
    [Op.READ]: async (r, b) => {
      const fh = fhOf(r);
      if (stats?.isHandle(fh)) {
        const data = stats.read(fh, r.off ?? 0, r.size ?? 0);
        b.replyData(r.req, data);
        return data.length;
      }
      fences.begin(r.ino);
      try {
        const data = await vfs.read(fh, r.off ?? 0, r.size ?? 0);
        b.replyData(r.req, data);
        return data.length;
      } finally {
        fences.end(r.ino);
      }
    },
    [Op.WRITE]: async (r, b) => {
      // The payload is the binding's copy (libfuse reuses its buffer): no second copy here; the
      // slice writer copies it into its block, the one copy the data path needs.
      const n = await vfs.write(fhOf(r), r.off ?? 0, r.data as Buffer);
      b.replyWrite(r.req, n);
      return n;
    },
    [Op.FLUSH]: async (r, b) => {
      if (!stats?.isHandle(fhOf(r))) await vfs.flush(fhOf(r), r.owner);
      b.replyErr(r.req, 0);
    },
    [Op.FSYNC]: async (r, b) => {
      await vfs.fsync(fhOf(r));
      b.replyErr(r.req, 0);
    },
    [Op.RELEASE]: async (r, b) => {
      const fh = fhOf(r);
      if (stats?.isHandle(fh)) stats.release(fh);
      else await vfs.release(fh, r.flockRelease === 1 ? r.owner : undefined);
      b.replyErr(r.req, 0);
    },
    [Op.GETLK]: async (r, b) => {
      const { type, lo, hi } = lockRange(r);
      if (type === undefined) throw FsError.EINVAL('F_GETLK of F_UNLCK');
      const holder = await vfs.testLock(fhOf(r), r.owner ?? 0n, type, lo, hi, r.pid);
      if (holder === undefined) b.replyLock(r.req, F_UNLCK, r.off ?? 0, r.length ?? 0, 0);
      else b.replyLock(r.req, holder.type === 'write' ? F_WRLCK : F_RDLCK, holder.lo, holder.hi === LOCK_EOF ? 0 : holder.hi - holder.lo, holder.pid);
    },
    [Op.SETLK]: async (r, b) => {
      const { type, lo, hi } = lockRange(r);
      await vfs.setLock(fhOf(r), r.owner ?? 0n, r.flock === 1 ? 'flock' : 'posix', type, lo, hi, r.pid, r.wait === 1, r.signal);
      // A grant hands over the file: the kernel's pages from before it (another host may have
      // written since) are dropped before the process learns it holds the lock.
      if (type === undefined) b.replyErr(r.req, 0);
      else b.replyErrAfterInval(r.req, 0, inodes.nodeOf(r.ino));
    },
    [Op.OPENDIR]: (r, b) => { b.replyOpen(r.req, dirs.open(r.ino), 0); },
    [Op.RELEASEDIR]: (r, b) => {
      dirs.release(fhOf(r));
      b.replyErr(r.req, 0);
    },
    [Op.FSYNCDIR]: (r, b) => { b.replyErr(r.req, 0); },
    [Op.READDIR]: async (r, b) => readdir(r, b),
    [Op.STATFS]: async (r, b) => { b.replyStatfs(r.req, statfsArray(await vfs.statfs(r.ino))); },
    [Op.SETXATTR]: async (r, b) => {
      notStats(r.ino);
      await changing([r.ino], () => vfs.setxattr(caller(r), r.ino, nameOf(r), r.data as Buffer, r.flags ?? 0));
      b.replyErr(r.req, 0);
    },
    [Op.GETXATTR]: (r, b) => {
      // `ls -l` asks for two attributes of every file: answer those known missing at once.
      if (StatsFile.is(r.ino) || vfs.knownWithoutXattr(r.ino, nameOf(r))) throw NO_XATTR;
      return vfs.getxattr(caller(r), r.ino, nameOf(r)).then((value) => sized(r, b, value));
    },
    [Op.LISTXATTR]: async (r, b) => {
      const names = StatsFile.is(r.ino) ? [] : await vfs.listxattr(r.ino);
      sized(r, b, Buffer.concat(names.flatMap((n) => [n, Buffer.alloc(1)])));
    },
    [Op.REMOVEXATTR]: async (r, b) => {
      notStats(r.ino);
      await changing([r.ino], () => vfs.removexattr(caller(r), r.ino, nameOf(r)));
      b.replyErr(r.req, 0);
    },
    [Op.FALLOCATE]: async (r, b) => {
      notStats(r.ino);
      await vfs.fallocate(fhOf(r), r.mode ?? 0, r.off ?? 0, r.length ?? 0);
      b.replyErr(r.req, 0);
    },
    [Op.LSEEK]: async (r, b) => { b.replyLseek(r.req, await vfs.seekData(fhOf(r), r.off ?? 0, r.whence ?? 0)); },
    [Op.COPY_FILE_RANGE]: async (r, b) => {
      if ((r.flags ?? 0) !== 0) throw FsError.EINVAL('copy_file_range flags must be 0');
      // The kernel drops its cached pages of the target's range itself once we answer.
      b.replyWrite(r.req, await vfs.copyFileRange(fhOf(r), r.off ?? 0, r.fh2 ?? -1, r.off2 ?? 0, r.size ?? 0));
    },
  };

  /** Directory listing: '.', '..' and a page of names, as many as fit in the kernel's buffer. */
  async function readdir(r: Request, b: Binding): Promise<void> {
    const fh = fhOf(r);
    const plus = r.plus ?? 0;
    const from = r.off ?? 0;
    const names: Buffer[] = [];
    const attrs: Attr[] = [];
    const self = dotAttr(r.ino);
    if (from === 0) { names.push(DOT); attrs.push(self); }
    if (from <= 1) { names.push(DOTDOT); attrs.push(self); }
    const dots = names.length;
    const room = Math.ceil((r.size ?? 0) / (plus !== 0 ? DIRENTPLUS_MIN_BYTES : DIRENT_MIN_BYTES));
    const listed: readonly DirEntry[] = room > dots ? await dirs.entriesFrom(fh, Math.max(from, DOTS), room - dots) : [];
    for (const e of listed) {
      names.push(e.name);
      attrs.push(e.attr);
    }
    const out = new Float64Array(names.length * DIRENT_LEN);
    // Node ids are the entries' inodes: a name in a directory of the mount is never the mount's
    // root nor the volume's (a directory has one name, and theirs are above the mount).
    // '.' and '..' carry none, so a listing of the root names no parent.

    // names[i] is entry `from + i` of the stream; the kernel resumes after it from `from + i + 1`.
    for (let i = 0; i < names.length; i++) packDirent(out, i, from + i + 1, attrs[i] as Attr, timeouts, i >= dots);
    const packed = b.replyDirectory(r.req, r.size ?? 0, plus, names, out);
    if (packed < 0) return;
    const namesTaken = Math.max(0, packed - dots);
    if (plus !== 0) for (let i = dots; i < dots + namesTaken; i++) given(attrs[i] as Attr);
    if (room > dots) dirs.consumed(fh, Math.max(from, DOTS), namesTaken, listed.length, names[dots + namesTaken - 1]);
  }

  return inodes.translate(ops);
}

/** Thrown for attributes known to be missing: one error object, no stack to capture each time. */
const NO_XATTR = FsError.ENODATA('no such extended attribute');

const DOT = Buffer.from('.');
const DOTDOT = Buffer.from('..');

/** Attributes for '.' and '..' in a listing: only the inode and type are used. */
function dotAttr(ino: number): Attr {
  return { ino, type: 'directory', mode: 0o755, uid: 0, gid: 0, nlink: 2, length: 0, rdev: 0, atime: 0n, mtime: 0n, ctime: 0n, parent: ROOT_INO };
}

/** getxattr/listxattr: size 0 asks for the length; a too small buffer is ERANGE. */
function sized(r: Request, b: Binding, value: Buffer): void {
  const size = r.size ?? 0;
  if (size === 0) b.replyXattrSize(r.req, value.length);
  else if (value.length > size) throw FsError.of('ERANGE', `value of ${value.length} bytes, buffer of ${size}`);
  else b.replyData(r.req, value);
}

/**
 * An O_APPEND file is opened for direct I/O: through the page cache the kernel cuts one
 * write(2) into several requests at page boundaries, and another host's append committed
 * between them would split the write; direct, it comes whole (up to 1 MiB per request), and the
 * kernel keeps no pages at offsets that the commit may change (decision 67).
 */
function openReplyFlags(flags: number): number {
  return (flags & constants.O_APPEND) !== 0 && (flags & 3) !== constants.O_RDONLY ? OpenReply.DIRECT_IO : 0;
}

function timeOf(values: Float64Array, at: number): bigint {
  return BigInt(values[at] as number) * 1_000_000_000n + BigInt(values[at + 1] as number);
}

/** setattr's bits and values → the vfs's changes. */
export function setattrChanges(toSet: number, v: Float64Array): AttrChanges {
  const changes: { -readonly [K in keyof AttrChanges]: AttrChanges[K] } = {};
  if (toSet & SET.MODE) changes.mode = (v[0] as number) & 0o7777;
  if (toSet & SET.UID) changes.uid = v[1] as number;
  if (toSet & SET.GID) changes.gid = v[2] as number;
  if (toSet & SET.SIZE) changes.length = v[3] as number;
  if (toSet & SET.ATIME_NOW) changes.atime = 'now';
  else if (toSet & SET.ATIME) changes.atime = timeOf(v, 4);
  if (toSet & SET.MTIME_NOW) changes.mtime = 'now';
  else if (toSet & SET.MTIME) changes.mtime = timeOf(v, 6);
  return changes;
}
