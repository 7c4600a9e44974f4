/**
 * Mounting a vfs through our libfuse 3 binding, and getting it unmounted cleanly whatever happens.
 *
 *  - A mount point left "Transport endpoint is not connected" by a crashed daemon is cleared
 *    before mounting; a live ObjectFS mount there is refused (never stacked on, never removed).
 *  - FUSE options are checked before mounting (libfuse also refuses unknown ones before
 *    mount(2)), so a bad `-o` never leaves anything behind.
 *  - `auto_unmount` keeps fusermount3 watching: if this process dies (kill -9, OOM), the kernel
 *    mount goes away instead of staying dead.
 *  - Another host's changes (the change feed) are pushed into the kernel's caches; this
 *    host's own changes reach them through the replies.
 *  - Unmounting commits every file's pending writes first.
 */
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { ROOT_INO, type Vfs } from '../vfs/index.js';
import { DirStreams } from './dir-streams.js';
import { checkFuseOptions } from './fuse-options.js';
import { KernelAttrs } from './kernel-attrs.js';
import { LookupCounts } from './lookup-counts.js';
import { FUSE_ROOT_ID, InodeMap } from './inode-map.js';
import { ReadFences } from './read-fences.js';
import { RecentDirAttrs } from './dir-attrs.js';
import { isMounted } from './mount-table.js';
import { buildOps, type CacheTimeouts } from './ops.js';
import { opTimeouts } from './deadlines.js';
import { FuseSession, type OpTimeouts, type ReplyLog, type SessionStats } from './session.js';
import { StatsFile } from './stats-file.js';
import { clearStaleMount } from './unmount.js';

export interface FuseMountOptions {
  readonly mountPoint: string;
  /** Kernel attribute cache timeout in seconds (default 1). */
  readonly attrTimeout?: number;
  /** Kernel entry cache timeout in seconds (default 1). */
  readonly entryTimeout?: number;
  /** Kernel negative-lookup cache timeout in seconds (default 1). */
  readonly negativeTimeout?: number;
  readonly allowOther?: boolean;
  /** The kernel's writeback cache (default off: see docs/decisions.md). */
  readonly writebackCache?: boolean;
  /** Further libfuse options (`-o` syntax, one per item), checked before mounting. */
  readonly fuseOptions?: readonly string[];
  /** Shown as the mount source in /proc/mounts. */
  readonly fsName?: string;
  readonly log: ReplyLog;
  /** Content of the read-only `.stats` file at the mount root (absent: no such file). */
  readonly statsText?: () => Promise<string>;
  /** Answer deadlines per operation in ms (default: opTimeouts()). */
  readonly opTimeouts?: OpTimeouts;
  /**
   * The directory served as the mount's root (default ROOT_INO, the whole volume): a
   * sub-directory mount. Nothing above it is reachable through the mount (inode-map.ts).
   */
  readonly root?: number;
}

export interface MountedFs {
  readonly mountPoint: string;
  /** Settles when the kernel connection ends (unmounted from outside or by unmount()). */
  readonly ended: Promise<void>;
  /** Commits pending writes, then unmounts. Safe to call more than once. */
  unmount(): Promise<void>;
  /** Inodes the kernel holds references to, open directory streams, unanswered requests. */
  stats(): { kernelInodes: number; dirStreams: number } & SessionStats;
}

/** Largest FUSE request (and kernel readahead window): 1 MiB, libfuse 3's maximum (256 pages). */
export const MAX_REQUEST = 1 << 20;

/** Mounts `vfs` at the mount point; new files belong to the calling process's uid/gid. */
export async function mountFuse(vfs: Vfs, options: FuseMountOptions): Promise<MountedFs> {
  const { mountPoint } = options;
  const extra = options.fuseOptions ?? [];
  checkFuseOptions(extra);
  await clearStaleMount(mountPoint);
  await mkdir(mountPoint, { recursive: true });
  if (isMounted(mountPoint)) throw new Error(`${mountPoint} is already an ObjectFS mount (unmount it first)`);
  const timeouts: CacheTimeouts = { attr: options.attrTimeout ?? 1, entry: options.entryTimeout ?? 1, negative: options.negativeTimeout ?? 1 };
  const counts = new LookupCounts();
  const dirs = new DirStreams((ino, after, limit) => vfs.readdirPage(ino, after, limit));
  const stats = options.statsText === undefined ? undefined : new StatsFile(options.statsText);
  const fences = new ReadFences();
  const inodes = new InodeMap(options.root ?? ROOT_INO);
  const recentDirs = new RecentDirAttrs(timeouts.attr * 1000);
  const kernelAttrs = new KernelAttrs();
  const ops = buildOps({ vfs, counts, dirs, timeouts, stats, fences, inodes, recentDirs, kernelAttrs });
  const mountOptions = [
    'default_permissions', 'auto_unmount', `fsname=${options.fsName ?? 'objectfs'}`, 'subtype=objectfs',
    // A read-only vfs refuses changes itself; `ro` tells the kernel, which then refuses them first.
    ...(vfs.readOnly ? ['ro'] : []),
    ...(options.allowOther ? ['allow_other'] : []),
    ...extra,
  ];
  let markEnded: () => void = () => undefined;
  const ended = new Promise<void>((resolve) => { markEnded = resolve; });
  const session = new FuseSession({
    mountPoint,
    args: ['-o', mountOptions.join(',')],
    config: { maxWrite: MAX_REQUEST, maxReadahead: MAX_REQUEST, maxBackground: 64, writebackCache: options.writebackCache ?? false, threads: 4 },
    handlers: ops,
    onForget: (nodeid, n) => {
      const ino = inodes.toVolume(nodeid);
      counts.forget(ino, n);
      if (!counts.has(ino)) kernelAttrs.forget(ino);
    },
    // No RELEASE will come for an open whose reply the kernel refused.
    onOpenRefused: (fh) => { vfs.release(fh).catch((err: unknown) => options.log.unexpected('release', err)); },
    onEnded: () => markEnded(),
    timeouts: options.opTimeouts ?? opTimeouts(),
    log: options.log,
  });
  // Another host changed these: the kernel may hold them cached (with 1 s timeouts or longer).
  // Changes name inodes; the kernel knows the mount's root as node id 1, and never saw the
  // volume's root of a sub-directory mount (toKernel: undefined) or anything else above it.
  const invalidateInode = (ino: number) => {
    const nodeid = inodes.toKernel(ino);
    if (nodeid !== undefined) fences.after(ino, () => session.invalidateInode(nodeid));
  };
  vfs.onRemoteChange((change) => {
    if (change === undefined) recentDirs.clear();
    else for (const ino of change.inos) recentDirs.drop(ino);
    if (change === undefined) {
      for (const ino of counts.inodes()) invalidateInode(ino);
      session.invalidateInode(FUSE_ROOT_ID);
      return;
    }
    for (const ino of change.inos) if (ino === inodes.root || counts.has(ino)) invalidateInode(ino);
    for (const e of change.entries) {
      const parent = e.parent === inodes.root || counts.has(e.parent) ? inodes.toKernel(e.parent) : undefined;
      if (parent !== undefined) session.invalidateEntry(parent, e.name);
    }
  });
  await widenReadahead(mountPoint);
  let unmounting: Promise<void> | undefined;
  return {
    mountPoint,
    ended,
    unmount() {
      unmounting ??= (async () => {
        await vfs.flushAll();
        await session.unmount();
        markEnded();
      })();
      return unmounting;
    },
    stats: () => ({ kernelInodes: counts.size, dirStreams: dirs.size, ...session.stats() }),
  };
}

/**
 * The kernel reads ahead at most its backing device's window, 128 KiB by default for FUSE:
 * raise it to one full request. Best effort (needs root; a user mount keeps the default).
 */
async function widenReadahead(mountPoint: string): Promise<void> {
  try {
    const { dev } = await stat(mountPoint);
    const file = `/sys/class/bdi/${Math.floor(dev / 256) & 0xfff}:${(dev & 0xff) | ((dev >> 12) & 0xfff00)}/read_ahead_kb`;
    const current = Number((await readFile(file, 'utf8')).trim());
    if (!(current >= MAX_REQUEST / 1024)) await writeFile(file, String(MAX_REQUEST / 1024));
  } catch {
    // not root, or no sysfs: the default window stays
  }
}
