/**
 * The FUSE adapter: the only layer that knows fuse-native. The binding (a native addon) is
 * loaded only when something is mounted, so the other commands work without FUSE installed.
 */
import type { Vfs } from '../vfs/index.js';
import type { FuseMountOptions, MountedFs } from './mount.js';

export type { FuseMountOptions, MountedFs } from './mount.js';
export { clearStaleMount, lazyUnmount } from './unmount.js';
export { checkFuseOptions } from './fuse-options.js';
export { recordDaemon, forgetDaemon, daemonOf, isObjectfsMount, runtimeDir, runtimeFileOf } from './mount-table.js';

/** Mounts `vfs` (see mount.ts). */
export async function mountFuse(vfs: Vfs, options: FuseMountOptions): Promise<MountedFs> {
  const { mountFuse: mount } = await import('./mount.js');
  return mount(vfs, options);
}
