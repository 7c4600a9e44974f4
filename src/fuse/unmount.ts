/** Unmounting without the binding: clearing dead mounts and detaching busy ones. */
import { execFile } from 'node:child_process';
import { statfs } from 'node:fs/promises';
import { promisify } from 'node:util';

const run = promisify(execFile);

/**
 * Lazily unmounts a mount point that a dead daemon left "not connected". Returns true if it did.
 * statfs always reaches the filesystem (stat may be answered from the kernel's attribute cache).
 */
export async function clearStaleMount(mountPoint: string): Promise<boolean> {
  try {
    await statfs(mountPoint);
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

