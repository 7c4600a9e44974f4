/**
 * Refusing a mount on a mount point that a live ObjectFS mount already serves. Mounting over
 * it would hide the live mount from its users (or, where the second mount fails, its error
 * path could take the first down); so the check runs before anything is spawned or mounted.
 * A mount left "not connected" by a crashed daemon is not live: the new mount clears it.
 */
import { statfs } from 'node:fs/promises';
import { CliError } from '../errors.js';
import { daemonOf, isMounted } from '../fuse/index.js';
import { EXIT_FAILURE } from './errors.js';

/** Errors of stat on a FUSE mount whose daemon is gone. */
const DEAD_MOUNT = new Set(['ENOTCONN', 'ECONNABORTED', 'ENXIO']);

/** statfs always reaches the filesystem (stat may be answered from the kernel's attribute cache). */
async function isDeadMount(mountPoint: string): Promise<boolean> {
  try {
    await statfs(mountPoint);
    return false;
  } catch (err) {
    return DEAD_MOUNT.has((err as NodeJS.ErrnoException).code ?? '');
  }
}

/** Throws (exit 1) if `mountPoint` is a live ObjectFS mount. */
export async function refuseLiveMount(mountPoint: string): Promise<void> {
  if (!isMounted(mountPoint)) return;
  const pid = await daemonOf(mountPoint);
  // No daemon on record (another runtime directory, another user): ask the mount itself.
  if (pid === undefined && await isDeadMount(mountPoint)) return;
  throw new CliError(EXIT_FAILURE, 'EBUSY',
    `${mountPoint} is already an ObjectFS mount${pid === undefined ? '' : ` (daemon pid ${pid})`}; unmount it first (objectfs umount ${mountPoint})`);
}
