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
import Fuse from 'fuse-native';
import type { Caller, Vfs } from '../vfs/index.js';
import { buildOps } from './ops.js';
import { PathTable } from './paths.js';
import { Replier, type ReplyLog } from './reply.js';
import { clearStaleMount, lazyUnmount } from './unmount.js';
import { checkFuseOptions } from './fuse-options.js';
import { withStatsFile } from './stats-file.js';

export interface FuseMountOptions {
  readonly mountPoint: string;
  readonly readOnly?: boolean;
  /**
   * Kernel attribute cache timeout in seconds (default 0). libfuse 2's path API gives every
   * name of a hard-linked file its own kernel node, so a cached attribute of one name goes
   * stale when the file changes through another; 0 keeps stat exact on this host.
   */
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
  /** Content of the read-only `.stats` file at the mount root (absent: no such file). */
  readonly statsText?: () => Promise<string>;
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
  // Another host's change (the change feed): resolved paths of those inodes are stale now.
  vfs.onInvalidate((inos) => (inos === undefined ? paths.forgetAll() : paths.forgetInodes(inos)));
  let fuse: Fuse | undefined;
  // The requester's identity, captured by the binding for the operation being dispatched.
  const daemon: Caller = { uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0 };
  const caller = (): Caller => {
    const c = fuse?.context();
    return c == null ? daemon : { uid: c.uid, gid: c.gid };
  };
  const baseOps = buildOps({ vfs, paths, reply: new Replier(options.log), readOnly: options.readOnly ?? false, caller });
  const ops = options.statsText === undefined ? baseOps : withStatsFile(baseOps, options.statsText);
  const fuseOpts = [
    'big_writes', 'use_ino', 'default_permissions',
    `attr_timeout=${options.attrTimeout ?? 0}`, `entry_timeout=${entryTimeout}`, `negative_timeout=${options.negativeTimeout ?? 0}`,
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
