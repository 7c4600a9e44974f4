/**
 * The FUSE adapter: the only layer that knows the libfuse 3 binding. The binding (a native
 * addon) is loaded only when something is mounted, so the other commands work without it.
 */
import type { Vfs } from '../vfs/index.js';
import type { FuseMountOptions, MountedFs } from './mount.js';

export type { FuseMountOptions, MountedFs } from './mount.js';
export type { ReplyLog } from './session.js';
export { opTimeouts } from './deadlines.js';
export { tuneAllocator } from './native.js';
export { clearStaleMount, lazyUnmount } from './unmount.js';
export { checkFuseOptions } from './fuse-options.js';
export { recordDaemon, forgetDaemon, daemonOf, isMounted, mountsAt, OBJECTFS_FS_TYPE, runtimeDir, runtimeFileOf, type MountEntry } from './mount-table.js';

/** Mounts `vfs` (see mount.ts). */
export async function mountFuse(vfs: Vfs, options: FuseMountOptions): Promise<MountedFs> {
  const { mountFuse: mount } = await import('./mount.js');
  return mount(vfs, options);
}
