/** The FUSE adapter: the only layer that knows fuse-native. */
export { mountFuse, clearStaleMount, lazyUnmount, checkFuseOptions, type FuseMountOptions, type MountedFs } from './mount.js';
export { recordDaemon, forgetDaemon, daemonOf, isObjectfsMount, runtimeDir } from './mount-table.js';
