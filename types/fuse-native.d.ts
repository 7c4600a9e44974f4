/**
 * Types for fuse-native 2.2.6 as patched by patches/fuse-native+2.2.6.patch (applied and rebuilt
 * by scripts/patch-fuse-native.sh on `npm ci`). Only valid for the patched binding: `OBJECTFS_PATCH`
 * is 2 there, and the patched index.js refuses to load an unpatched (or older) binary.
 *
 * Conventions: every callback's first argument is 0 or a negative errno (`Fuse.ENOENT` = -2),
 * except read/write, whose single argument is the byte count or a negative errno. All handlers run
 * on the Node main thread; this is libfuse's path API (inode numbers only appear in stats).
 *
 * Names are bytes, as latin1 strings: every path, name, link target and xattr name a handler
 * receives is a latin1 string (`Fuse.Name`: one char per byte, U+0000-U+00FF), never decoded as
 * UTF-8, so any byte sequence round-trips: `Buffer.from(path, 'latin1')` gives the exact bytes, and
 * a UTF-8 name like 'é' arrives as 'Ã©' (0xc3 0xa9). Names going back (readdir names, the readlink
 * target, listxattr names) are `Fuse.NameOut`: a latin1 string or the raw bytes; one with a char
 * above U+00FF or a NUL fails the operation with EIO (and a process warning, code
 * FUSE_NATIVE_BAD_NAME) instead of being mangled. Only the mount point is an ordinary (UTF-8) path.
 *
 * The caller: `fuse.context()` called synchronously at the start of any handler gives the uid,
 * gid, pid and umask of the process that made the request (see Fuse.Context).
 * Where this file lives: types/ (in tsconfig's "include"); move it to src/fuse/ if preferred.
 */
declare module 'fuse-native' {
  namespace Fuse {
    /** 0 for success or a negative errno. */
    type Code = number;
    type DoneCallback = (code: Code) => void;
    type ValueCallback<T> = (code: Code, value?: T) => void;
    /** read/write: the byte count (>= 0) or a negative errno. */
    type CountCallback = (countOrCode: number) => void;

    /** A path or name from the kernel: latin1 (each char is one byte; `Buffer.from(s, 'latin1')`). */
    type Name = string;
    /** A name handed back: a latin1 string (no char above U+00FF, no NUL) or the raw bytes. */
    type NameOut = string | Uint8Array;

    /**
     * The caller of an operation, from libfuse's fuse_get_context() captured on the libfuse thread
     * for every operation. umask is the caller's umask in create/mknod/mkdir requests (the kernel
     * has already applied it to `mode`; also seen by the fgetattr/getattr libfuse issues inside
     * such a request) and 0 otherwise. Requests the kernel sends without credentials (release,
     * releasedir…) carry uid/gid/pid 0, as does init.
     */
    interface Context {
      uid: number;
      gid: number;
      pid: number;
      umask: number;
    }

    /**
     * A time given to utimens: ns since the epoch, or 'now' (UTIME_NOW: set to the current time)
     * or 'omit' (UTIME_OMIT: leave this time unchanged; `touch -m` omits atime, `touch -a` mtime).
     */
    type UtimensTime = bigint | 'now' | 'omit';

    /**
     * A time returned in a stat: bigint = ns since the epoch (full precision, may be negative);
     * number = ms since the epoch (fractions kept to the ns); Date = ms. Missing = now.
     */
    type StatTime = bigint | number | Date;

    interface Stat {
      mode: number;
      uid?: number;
      gid?: number;
      size?: number;
      dev?: number;
      /** Default 1. */
      nlink?: number;
      /** 64-bit; only shown by the kernel with the `use_ino` option (extraOptions). */
      ino?: number | bigint;
      rdev?: number;
      blksize?: number;
      blocks?: number;
      atime?: StatTime;
      mtime?: StatTime;
      ctime?: StatTime;
    }

    /** All fields are stored as uint32 (values above 2^32 wrap). */
    interface Statfs {
      bsize?: number;
      frsize?: number;
      blocks?: number;
      bfree?: number;
      bavail?: number;
      files?: number;
      ffree?: number;
      favail?: number;
      fsid?: number;
      flag?: number;
      namemax?: number;
    }

    /**
     * `fd` values are the uint32 handle returned by open/create/opendir (0 = none set). Every
     * `path`, `src`, `dest`, `target` and xattr `name` is a latin1 string (see `Name`).
     */
    /**
     * The path of an operation on an open handle: null when libfuse cannot build it (the file's
     * directory was removed while it was open; flag_nullpath_ok). Use the handle.
     */
    type OpenPath = string | null;

    interface Operations {
      init?(cb: DoneCallback): void;
      access?(path: string, mode: number, cb: DoneCallback): void;
      statfs?(path: string, cb: ValueCallback<Statfs>): void;
      getattr?(path: string, cb: ValueCallback<Stat>): void;
      /** Called with the open file's handle (fstat, after create, ftruncate…). */
      fgetattr?(path: OpenPath, fd: number, cb: ValueCallback<Stat>): void;
      flush?(path: OpenPath, fd: number, cb: DoneCallback): void;
      fsync?(path: OpenPath, datasync: number, fd: number, cb: DoneCallback): void;
      fsyncdir?(path: OpenPath, datasync: number, fd: number, cb: DoneCallback): void;
      /**
       * One shot: every name (and optionally a stat per name, used only for d_type/d_ino). Names
       * are latin1 strings or bytes (NameOut); a bad one (char > U+00FF, NUL) fails it with EIO.
       */
      readdir?(path: string, cb: (code: Code, names?: readonly NameOut[], stats?: Stat[]) => void): void;
      truncate?(path: string, size: number, cb: DoneCallback): void;
      ftruncate?(path: OpenPath, fd: number, size: number, cb: DoneCallback): void;
      utimens?(path: string, atime: UtimensTime, mtime: UtimensTime, cb: DoneCallback): void;
      /** Reply the target as a latin1 string or bytes (NameOut); over PATH_MAX = ENAMETOOLONG. */
      readlink?(path: string, cb: ValueCallback<NameOut>): void;
      /** uid/gid 0xffffffff = leave unchanged. */
      chown?(path: string, uid: number, gid: number, cb: DoneCallback): void;
      chmod?(path: string, mode: number, cb: DoneCallback): void;
      mknod?(path: string, mode: number, dev: number, cb: DoneCallback): void;
      /** `value` is only valid until cb is called (copy it). position is always 0 on Linux. */
      setxattr?(path: string, name: string, value: Buffer, position: number, flags: number, cb: DoneCallback): void;
      /**
       * Reply `cb(0, buffer)`; `cb(0, null)` means ENODATA. A value larger than the caller's buffer
       * is answered ERANGE by the binding (a size query gets the length).
       */
      getxattr?(path: string, name: string, position: number, cb: (code: Code, value?: Buffer | null) => void): void;
      /** Names as latin1 strings or bytes (NameOut); a list larger than the caller's buffer = ERANGE. */
      listxattr?(path: string, cb: ValueCallback<readonly NameOut[]>): void;
      removexattr?(path: string, name: string, cb: DoneCallback): void;
      /** Reply `cb(0, fd)`; fd is a uint32 handle, 0 = none. */
      open?(path: string, flags: number, cb: ValueCallback<number>): void;
      opendir?(path: string, flags: number, cb: ValueCallback<number>): void;
      /** `buf` is libfuse memory, detached once cb is called. Reply the byte count. */
      read?(path: OpenPath, fd: number, buf: Buffer, len: number, position: number, cb: CountCallback): void;
      /** `buf` is libfuse memory, detached once cb is called: copy it if kept. Reply the byte count. */
      write?(path: OpenPath, fd: number, buf: Buffer, len: number, position: number, cb: CountCallback): void;
      release?(path: OpenPath, fd: number, cb: DoneCallback): void;
      releasedir?(path: OpenPath, fd: number, cb: DoneCallback): void;
      /** No open flags reach create. Reply `cb(0, fd)`. */
      create?(path: string, mode: number, cb: ValueCallback<number>): void;
      unlink?(path: string, cb: DoneCallback): void;
      rename?(src: string, dest: string, cb: DoneCallback): void;
      link?(src: string, dest: string, cb: DoneCallback): void;
      /** `target` is the link's content, `path` the new link. */
      symlink?(target: string, path: string, cb: DoneCallback): void;
      mkdir?(path: string, mode: number, cb: DoneCallback): void;
      rmdir?(path: string, cb: DoneCallback): void;
    }

    type OpName = keyof Operations | 'error';

    interface Options {
      /** Create the mount point if missing. */
      mkdir?: boolean;
      /** Lazily unmount a dead ("not connected") mount at the mount point first. */
      force?: boolean;
      /** Per-op reply timeout in ms (default 15000; replies -ETIMEDOUT); false = none. */
      timeout?: number | false | ({ default?: number } & { [op in OpName]?: number | false });
      debug?: boolean;
      allowOther?: boolean;
      allowRoot?: boolean;
      autoUnmount?: boolean;
      defaultPermissions?: boolean;
      blkdev?: boolean;
      blksize?: number;
      maxRead?: number;
      fd?: number;
      userId?: number;
      fsname?: string;
      subtype?: string;
      kernelCache?: boolean;
      autoCache?: boolean;
      umask?: number | string;
      uid?: number;
      gid?: number;
      /** Seconds; 0 is passed (entry_timeout=0). */
      entryTimeout?: number;
      /** Seconds; 0 is passed (attr_timeout=0). */
      attrTimeout?: number;
      acAttrTimeout?: number;
      /** Seconds (negative_timeout=N). */
      negativeTimeout?: number;
      noforget?: boolean;
      remember?: number;
      modules?: string;
      /**
       * Further libfuse 2 options, one per item ('big_writes', 'max_write=131072', 'use_ino'…),
       * appended to -o. An item containing ',' or '\' (or an empty name) throws from the
       * constructor, as does an -o string over 1023 bytes. An option libfuse does not know makes
       * mount() fail with "fuse failed" (no dead mount is left behind).
       */
      extraOptions?: readonly string[];
    }
  }

  class Fuse {
    /** Throws on an invalid option (see Options.extraOptions). */
    constructor(mnt: string, ops: Fuse.Operations, opts?: Fuse.Options);
    readonly mnt: string;
    readonly opts: Fuse.Options;
    /** Calls back once the kernel has sent INIT (the mount is usable). */
    mount(cb: (err: Error | null) => void): void;
    /** `fusermount -uz` (lazy), then releases the native side. */
    unmount(cb: (err: Error | null) => void): void;
    /**
     * The caller of the operation being dispatched (a fresh object each call). Only valid when
     * called synchronously at the start of an ops.* handler, before any await, timer or callback
     * (the binding sets it just before invoking the handler and clears it when the handler
     * returns; the libfuse thread reuses the slot once the operation is answered); anywhere else it
     * returns null. Example: `create(path, mode, cb) { const { uid, gid } = fuse.context()!; … }`.
     */
    context(): Fuse.Context | null;
    /** 'ENOENT' → -2; unknown → -1. */
    errno(code: string): number;
    static unmount(mnt: string, cb: (err: Error | null) => void): void;
    /** 2 for the ObjectFS-patched binding (this version of the patch). */
    static readonly OBJECTFS_PATCH: number;
    /** Negative errno constants (Linux values): Fuse.ENOENT = -2, Fuse.EIO = -5, … */
    static readonly EPERM: number; static readonly ENOENT: number; static readonly ESRCH: number;
    static readonly EINTR: number; static readonly EIO: number; static readonly ENXIO: number;
    static readonly E2BIG: number; static readonly ENOEXEC: number; static readonly EBADF: number;
    static readonly ECHILD: number; static readonly EAGAIN: number; static readonly ENOMEM: number;
    static readonly EACCES: number; static readonly EFAULT: number; static readonly ENOTBLK: number;
    static readonly EBUSY: number; static readonly EEXIST: number; static readonly EXDEV: number;
    static readonly ENODEV: number; static readonly ENOTDIR: number; static readonly EISDIR: number;
    static readonly EINVAL: number; static readonly ENFILE: number; static readonly EMFILE: number;
    static readonly ENOTTY: number; static readonly ETXTBSY: number; static readonly EFBIG: number;
    static readonly ENOSPC: number; static readonly ESPIPE: number; static readonly EROFS: number;
    static readonly EMLINK: number; static readonly EPIPE: number; static readonly EDOM: number;
    static readonly ERANGE: number; static readonly EDEADLK: number; static readonly ENAMETOOLONG: number;
    static readonly ENOLCK: number; static readonly ENOSYS: number; static readonly ENOTEMPTY: number;
    static readonly ELOOP: number; static readonly EWOULDBLOCK: number; static readonly ENOMSG: number;
    static readonly EIDRM: number; static readonly ECHRNG: number; static readonly EL2NSYNC: number;
    static readonly EL3HLT: number; static readonly EL3RST: number; static readonly ELNRNG: number;
    static readonly EUNATCH: number; static readonly ENOCSI: number; static readonly EL2HLT: number;
    static readonly EBADE: number; static readonly EBADR: number; static readonly EXFULL: number;
    static readonly ENOANO: number; static readonly EBADRQC: number; static readonly EBADSLT: number;
    static readonly EDEADLOCK: number; static readonly EBFONT: number; static readonly ENOSTR: number;
    static readonly ENODATA: number; static readonly ETIME: number; static readonly ENOSR: number;
    static readonly ENONET: number; static readonly ENOPKG: number; static readonly EREMOTE: number;
    static readonly ENOLINK: number; static readonly EADV: number; static readonly ESRMNT: number;
    static readonly ECOMM: number; static readonly EPROTO: number; static readonly EMULTIHOP: number;
    static readonly EDOTDOT: number; static readonly EBADMSG: number; static readonly EOVERFLOW: number;
    static readonly ENOTUNIQ: number; static readonly EBADFD: number; static readonly EREMCHG: number;
    static readonly ELIBACC: number; static readonly ELIBBAD: number; static readonly ELIBSCN: number;
    static readonly ELIBMAX: number; static readonly ELIBEXEC: number; static readonly EILSEQ: number;
    static readonly ERESTART: number; static readonly ESTRPIPE: number; static readonly EUSERS: number;
    static readonly ENOTSOCK: number; static readonly EDESTADDRREQ: number; static readonly EMSGSIZE: number;
    static readonly EPROTOTYPE: number; static readonly ENOPROTOOPT: number;
    static readonly EPROTONOSUPPORT: number; static readonly ESOCKTNOSUPPORT: number;
    static readonly EOPNOTSUPP: number; static readonly EPFNOSUPPORT: number;
    static readonly EAFNOSUPPORT: number; static readonly EADDRINUSE: number;
    static readonly EADDRNOTAVAIL: number; static readonly ENETDOWN: number;
    static readonly ENETUNREACH: number; static readonly ENETRESET: number;
    static readonly ECONNABORTED: number; static readonly ECONNRESET: number; static readonly ENOBUFS: number;
    static readonly EISCONN: number; static readonly ENOTCONN: number; static readonly ESHUTDOWN: number;
    static readonly ETOOMANYREFS: number; static readonly ETIMEDOUT: number;
    static readonly ECONNREFUSED: number; static readonly EHOSTDOWN: number;
    static readonly EHOSTUNREACH: number; static readonly EALREADY: number;
    static readonly EINPROGRESS: number; static readonly ESTALE: number; static readonly EUCLEAN: number;
    static readonly ENOTNAM: number; static readonly ENAVAIL: number; static readonly EISNAM: number;
    static readonly EREMOTEIO: number; static readonly EDQUOT: number; static readonly ENOMEDIUM: number;
    static readonly EMEDIUMTYPE: number;
  }

  export = Fuse;
}
