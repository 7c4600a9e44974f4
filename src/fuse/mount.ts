/**
 * Mounting a vfs with fuse-native, and getting it unmounted cleanly whatever happens.
 *
 *  - A mount point left "Transport endpoint is not connected" by a crashed daemon is cleared
 *    before mounting.
 *  - FUSE options are checked against what libfuse 2 accepts before mounting: an unknown one
 *    would leave a dead mount behind (see shared/fuse-native.md).
 *  - `auto_unmount` keeps fusermount watching: if this process dies (kill -9, OOM), the kernel
 *    mount goes away within a second instead of staying dead.
 *  - Unmounting commits every file's pending writes first.
 */
import { execFile } from 'node:child_process';
import { stat } from 'node:fs/promises';
import { promisify } from 'node:util';
import Fuse from 'fuse-native';
import type { Caller, Vfs } from '../vfs/index.js';
import { buildOps } from './ops.js';
import { PathTable } from './paths.js';
import { Replier, type ReplyLog } from './reply.js';

const run = promisify(execFile);

export interface FuseMountOptions {
  readonly mountPoint: string;
  readonly readOnly?: boolean;
  /** Kernel attribute cache timeout in seconds (default 1; 0 works). */
  readonly attrTimeout?: number;
  /** Kernel entry cache timeout in seconds (default 1; 0 works). */
  readonly entryTimeout?: number;
  /** Kernel negative-lookup cache timeout in seconds (default 0: another host's create shows at once). */
  readonly negativeTimeout?: number;
  readonly allowOther?: boolean;
  /** Further libfuse options (`-o` syntax, one per item), checked before mounting. */
  readonly fuseOptions?: readonly string[];
  /** Shown as the mount source in /proc/mounts. */
  readonly fsName?: string;
  readonly log: ReplyLog;
}

/** libfuse 2.9 options accepted in `fuseOptions` (name, or name= for those taking a value). */
const ALLOWED_FUSE_OPTIONS = new Set([
  'allow_other', 'allow_root', 'default_permissions', 'kernel_cache', 'auto_cache', 'noauto_cache', 'direct_io',
  'big_writes', 'no_remote_lock', 'no_remote_posix_lock', 'no_remote_flock', 'async_read', 'sync_read',
  'atomic_o_trunc', 'splice_read', 'no_splice_read', 'splice_write', 'no_splice_write', 'splice_move',
  'no_splice_move', 'intr', 'hard_remove', 'nonempty', 'debug',
  'max_write=', 'max_read=', 'max_readahead=', 'max_background=', 'congestion_threshold=', 'umask=', 'uid=',
  'gid=', 'entry_timeout=', 'negative_timeout=', 'attr_timeout=', 'ac_attr_timeout=', 'intr_signal=',
  'subtype=', 'fsname=', 'remember=', 'blksize=',
]);

/** Options that would break ObjectFS semantics (see docs/decisions.md). */
const REFUSED_FUSE_OPTIONS = new Set(['hard_remove', 'use_ino', 'readdir_ino', 'nopath']);

/** Throws a clear Error for an option libfuse 2 would reject (leaving a dead mount) or that we refuse. */
export function checkFuseOptions(options: readonly string[]): void {
  for (const opt of options) {
    const name = opt.includes('=') ? `${opt.slice(0, opt.indexOf('='))}=` : opt;
    if (opt.includes(',') || !ALLOWED_FUSE_OPTIONS.has(name)) {
      throw new Error(`unsupported FUSE option "${opt}" (libfuse 2 accepts: ${[...ALLOWED_FUSE_OPTIONS].sort().join(', ')})`);
    }
    if (REFUSED_FUSE_OPTIONS.has(name)) throw new Error(`FUSE option "${opt}" is managed by ObjectFS and cannot be set`);
  }
}

/** Lazily unmounts a mount point that a dead daemon left "not connected". Returns true if it did. */
export async function clearStaleMount(mountPoint: string): Promise<boolean> {
  try {
    await stat(mountPoint);
    return false;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'ENOTCONN' && code !== 'ECONNABORTED' && code !== 'ENXIO') return false;
  }
  await lazyUnmount(mountPoint);
  return true;
}

export async function lazyUnmount(mountPoint: string): Promise<void> {
  for (const [cmd, args] of [['fusermount3', ['-uz', mountPoint]], ['fusermount', ['-uz', mountPoint]], ['umount', ['-l', mountPoint]]] as const) {
    try {
      await run(cmd, [...args]);
      return;
    } catch {
      // try the next tool
    }
  }
}

export interface MountedFs {
  readonly mountPoint: string;
  /** Commits pending writes, then unmounts. Safe to call more than once. */
  unmount(): Promise<void>;
}

/** Mounts `vfs` at the mount point; new files belong to the calling process's uid/gid. */
export async function mountFuse(vfs: Vfs, options: FuseMountOptions): Promise<MountedFs> {
  const extra = options.fuseOptions ?? [];
  checkFuseOptions(extra);
  await clearStaleMount(options.mountPoint);
  const entryTimeout = options.entryTimeout ?? 1;
  const paths = new PathTable(vfs, entryTimeout * 1000);
  let fuse: Fuse | undefined;
  // The requester's identity, captured by the binding for the operation being dispatched.
  const daemon: Caller = { uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0 };
  const caller = (): Caller => {
    const c = fuse?.context();
    return c == null ? daemon : { uid: c.uid, gid: c.gid };
  };
  const ops = buildOps({ vfs, paths, reply: new Replier(options.log), readOnly: options.readOnly ?? false, caller });
  const fuseOpts = [
    'big_writes', 'use_ino', 'default_permissions',
    `attr_timeout=${options.attrTimeout ?? 1}`, `entry_timeout=${entryTimeout}`, `negative_timeout=${options.negativeTimeout ?? 0}`,
    ...(options.readOnly ? ['ro'] : []),
    ...(options.allowOther ? ['allow_other'] : []),
    ...extra,
  ];
  fuse = new Fuse(options.mountPoint, ops, {
    mkdir: true,
    force: true,
    autoUnmount: true,
    fsname: options.fsName ?? 'objectfs',
    subtype: 'objectfs',
    extraOptions: fuseOpts,
    // Uploads and commits can take long under a slow store: never time out data operations.
    timeout: { default: 30_000, read: 120_000, write: false, flush: false, fsync: false, release: false, create: 60_000, ftruncate: false, truncate: false },
  });
  try {
    const mounting = fuse;
    await new Promise<void>((resolve, reject) => mounting.mount((err) => (err ? reject(err) : resolve())));
  } catch (err) {
    await lazyUnmount(options.mountPoint); // fuse_new can fail after fuse_mount succeeded
    throw new Error(`mounting ${options.mountPoint} failed: ${(err as Error).message}`, { cause: err });
  }
  let unmounting: Promise<void> | undefined;
  return {
    mountPoint: options.mountPoint,
    unmount() {
      unmounting ??= (async () => {
        await vfs.flushAll();
        // The (patched) binding runs fusermount -uz and releases its native handles, even
        // when the mount was already removed from outside.
        const mounted = fuse;
        if (mounted !== undefined) await new Promise<void>((resolve) => mounted.unmount(() => resolve()));
      })();
      return unmounting;
    },
  };
}
