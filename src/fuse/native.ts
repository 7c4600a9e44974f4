/**
 * The native binding (native/objectfs_fuse.c): its loading, its types and the Float64Array
 * layouts in which attributes cross the boundary (one typed array instead of an object with
 * fifteen properties per reply). Loaded only when something is mounted.
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Operation codes of delivered requests (enum op in objectfs_fuse.c). */
export const Op = {
  LOOKUP: 1, FORGET: 2, GETATTR: 3, SETATTR: 4, READLINK: 5, MKNOD: 6, MKDIR: 7, UNLINK: 8,
  RMDIR: 9, SYMLINK: 10, RENAME: 11, LINK: 12, OPEN: 13, READ: 14, WRITE: 15, FLUSH: 16, RELEASE: 17,
  FSYNC: 18, OPENDIR: 19, READDIR: 20, RELEASEDIR: 21, FSYNCDIR: 22, STATFS: 23, SETXATTR: 24,
  GETXATTR: 25, LISTXATTR: 26, REMOVEXATTR: 27, CREATE: 28, FALLOCATE: 29, COPY_FILE_RANGE: 30,
  LSEEK: 31, ENDED: 32, GETLK: 33, SETLK: 34, INTERRUPT: 35, OPEN_REFUSED: 36,
} as const;
export type OpCode = (typeof Op)[keyof typeof Op];

/** Names of the operation codes, for metrics and logs. */
export const OP_NAMES: Readonly<Record<number, string>> = Object.fromEntries(
  Object.entries(Op).map(([name, code]) => [code, name.toLowerCase()]),
);

/** A request handle: answered exactly once through a reply function. */
export type NativeReq = { readonly __brand: 'fuse_req' };
export type NativeSession = { readonly __brand: 'fuse_session' };

/** A request as delivered (fields present according to the operation). */
export interface Request {
  readonly op: OpCode;
  readonly req: NativeReq;
  readonly ino: number;
  readonly uid: number;
  readonly gid: number;
  readonly pid: number;
  /** File handle (-1: none given, as for a getattr by path). */
  readonly fh?: number;
  readonly name?: Buffer;
  readonly name2?: Buffer;
  readonly ino2?: number;
  readonly fh2?: number;
  readonly mode?: number;
  readonly rdev?: number;
  readonly umask?: number;
  readonly flags?: number;
  readonly size?: number;
  readonly off?: number;
  readonly off2?: number;
  readonly length?: number;
  readonly whence?: number;
  readonly datasync?: number;
  readonly plus?: number;
  readonly data?: Buffer;
  readonly toSet?: number;
  /** setattr: mode uid gid size atime_s atime_ns mtime_s mtime_ns. */
  readonly values?: Float64Array;
  /** forget: (ino, nlookup) pairs. */
  readonly forgets?: Float64Array;
  /** getlk, setlk, flush, release: the lock owner the kernel gave (64 bits). */
  readonly owner?: bigint;
  /** getlk, setlk: F_RDLCK, F_WRLCK or F_UNLCK. */
  readonly lockType?: number;
  /** setlk: 1 to wait for a conflicting lock (F_SETLKW, flock without LOCK_NB). */
  readonly wait?: number;
  /** setlk: 1 for flock(2), 0 for POSIX and OFD locks. */
  readonly flock?: number;
  /** release: 1 when the file held a flock, which ends with it. */
  readonly flockRelease?: number;
  /**
   * A waiting setlk: the id an INTERRUPT names; interrupt: the id of the interrupted request;
   * open_refused: the handle of the open whose reply the kernel refused.
   */
  readonly id?: number;
  /** Set by the session for interruptible requests: aborted when the kernel interrupts. */
  signal?: AbortSignal;
}

export interface MountConfig {
  readonly maxWrite: number;
  readonly maxReadahead: number;
  readonly maxBackground: number;
  readonly writebackCache: boolean;
  /** libfuse worker threads reading /dev/fuse. */
  readonly threads: number;
}

/** Flags of replyOpen / replyCreate. */
export const OpenReply = { DIRECT_IO: 1, KEEP_CACHE: 2, CACHE_READDIR: 4, NOFLUSH: 8 } as const;

/** Notification kinds. */
export const Notice = { INVAL_INODE: 0, INVAL_ENTRY: 1, DELETE: 2 } as const;

export interface Binding {
  mount(mountPoint: string, args: string[], config: MountConfig, dispatch: (batch: Request[]) => void): NativeSession;
  unmount(session: NativeSession): Promise<void>;
  notify(session: NativeSession, kind: number, parent: number, child: number, name: Buffer | null, off: number, len: number): void;
  stats(session?: NativeSession): { outstanding?: number; noticesWaiting?: number; noticesSent?: number; live: number };
  /** glibc's mallopt of M_MMAP_THRESHOLD and M_TRIM_THRESHOLD; whether both were taken. */
  tuneAllocator(mmapThreshold: number, trimThreshold: number): boolean;
  /** Every reply returns 0, a negative errno from libfuse, or 1 when the request was answered already. */
  replyErr(req: NativeReq, errno: number): number;
  /** replyErr, sent only after the kernel dropped its caches of `ino` (attributes and pages). */
  replyErrAfterInval(req: NativeReq, errno: number, ino: number): number;
  replyEntry(req: NativeReq, entry: Float64Array): number;
  replyCreate(req: NativeReq, entry: Float64Array, fh: number, flags: number): number;
  replyAttr(req: NativeReq, attr: Float64Array, timeout: number): number;
  replyOpen(req: NativeReq, fh: number, flags: number): number;
  /**
   * replyOpen, sent only after the kernel dropped its attributes of `ino`; a reply the kernel
   * refuses comes back as an OPEN_REFUSED request naming `fh` (its `id`).
   */
  replyOpenAfterInval(req: NativeReq, fh: number, flags: number, ino: number): number;
  replyWrite(req: NativeReq, count: number): number;
  replyData(req: NativeReq, data: Buffer | readonly Buffer[]): number;
  replyReadlink(req: NativeReq, target: Buffer): number;
  replyStatfs(req: NativeReq, values: Float64Array): number;
  replyXattrSize(req: NativeReq, size: number): number;
  replyLseek(req: NativeReq, off: number): number;
  /** The conflicting lock for getlk: type (F_UNLCK: none), start, length (0: to the end), pid. */
  replyLock(req: NativeReq, type: number, start: number, length: number, pid: number): number;
  /** Returns how many entries fit (>= 0) or a negative errno. */
  replyDirectory(req: NativeReq, size: number, plus: number, names: readonly Buffer[], dirents: Float64Array): number;
}

/** ino mode nlink uid gid rdev size blksize blocks at_s at_ns mt_s mt_ns ct_s ct_ns */
export const ATTR_LEN = 15;
/** nodeid generation attr_timeout entry_timeout, then the attributes */
export const ENTRY_LEN = 4 + ATTR_LEN;
/** offset of the next entry, then the entry */
export const DIRENT_LEN = 1 + ENTRY_LEN;

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
export const ADDON_PATH = join(ROOT, 'native', 'build', 'Release', 'objectfs_fuse.node');

let binding: Binding | undefined;

/** The addon, built by `npm run build:native` (scripts/setup.sh runs it). */
export function loadBinding(): Binding {
  if (binding === undefined) {
    try {
      binding = createRequire(import.meta.url)(ADDON_PATH) as Binding;
    } catch (err) {
      throw new Error(`the FUSE binding is not built (${ADDON_PATH}): run \`bash scripts/setup.sh\``, { cause: err });
    }
  }
  return binding;
}

/** Allocations of up to 32 MiB (glibc's largest mmap threshold on 64-bit) come from the heap. */
const MMAP_THRESHOLD = 32 << 20;
/** Free heap pages stay mapped up to this much. */
const TRIM_THRESHOLD = 64 << 20;

/**
 * Keeps block buffers' pages in the process between blocks (decision 93): the mount daemon
 * calls it before it opens the volume. Returns whether glibc took the settings.
 */
export function tuneAllocator(): boolean {
  return loadBinding().tuneAllocator(MMAP_THRESHOLD, TRIM_THRESHOLD);
}
