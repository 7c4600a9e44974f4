/** Validation of user-given libfuse options (pure: no binding needed). */

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
