/** Validation of user-given libfuse options (pure: no binding needed). */

/**
 * libfuse 3 mount options accepted in `fuseOptions` (name, or name= for those taking a value):
 * its own (fuse_session_new) and the kernel's generic ones it passes on.
 */
const ALLOWED_FUSE_OPTIONS = new Set([
  'allow_other', 'allow_root', 'default_permissions', 'nonempty', 'debug', 'dev', 'nodev', 'suid', 'nosuid',
  'exec', 'noexec', 'atime', 'noatime', 'relatime', 'strictatime', 'diratime', 'nodiratime', 'sync', 'async',
  'dirsync', 'lazytime', 'nolazytime', 'max_read=', 'blksize=', 'fsname=', 'subtype=', 'context=', 'fscontext=',
  'defcontext=', 'rootcontext=',
]);

/** Options that ObjectFS sets itself or that would break its semantics (see docs/decisions.md). */
const REFUSED_FUSE_OPTIONS = new Set(['auto_unmount', 'ro', 'rw', 'blkdev', 'clone_fd', 'max_idle_threads=', 'max_threads=']);

/** Throws a clear Error for an option libfuse 3 would reject or that we refuse, before mounting. */
export function checkFuseOptions(options: readonly string[]): void {
  for (const opt of options) {
    const name = opt.includes('=') ? `${opt.slice(0, opt.indexOf('='))}=` : opt;
    if (REFUSED_FUSE_OPTIONS.has(name)) throw new Error(`FUSE option "${opt}" is managed by ObjectFS and cannot be set (use the matching objectfs flag)`);
    if (opt.includes(',') || !ALLOWED_FUSE_OPTIONS.has(name)) {
      throw new Error(`unsupported FUSE option "${opt}" (accepted: ${[...ALLOWED_FUSE_OPTIONS].sort().join(', ')})`);
    }
  }
}
