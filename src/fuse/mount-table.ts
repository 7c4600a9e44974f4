/**
 * Which ObjectFS daemon serves which mount point: a pid file per mount point in a runtime
 * directory, so `objectfs umount` can ask the right process to flush and unmount.
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

/** /run/objectfs as root, else $XDG_RUNTIME_DIR/objectfs or /tmp/objectfs-<uid>. */
export function runtimeDir(): string {
  if (process.env['OBJECTFS_RUNTIME_DIR']) return process.env['OBJECTFS_RUNTIME_DIR'];
  if (process.getuid?.() === 0) return '/run/objectfs';
  return process.env['XDG_RUNTIME_DIR'] ? join(process.env['XDG_RUNTIME_DIR'], 'objectfs') : `/tmp/objectfs-${process.getuid?.() ?? 0}`;
}

/** A runtime file of the mount at `mountPoint`: `<runtimeDir>/mount-<hash><suffix>`. */
export function runtimeFileOf(mountPoint: string, suffix: string): string {
  const id = createHash('sha256').update(resolve(mountPoint)).digest('hex').slice(0, 16);
  return join(runtimeDir(), `mount-${id}${suffix}`);
}

function pidFileOf(mountPoint: string): string {
  return runtimeFileOf(mountPoint, '.pid');
}

export async function recordDaemon(mountPoint: string, pid = process.pid): Promise<string> {
  const file = pidFileOf(mountPoint);
  await mkdir(runtimeDir(), { recursive: true, mode: 0o700 });
  await writeFile(file, `${pid}\n${resolve(mountPoint)}\n`);
  return file;
}

export async function forgetDaemon(mountPoint: string): Promise<void> {
  await rm(pidFileOf(mountPoint), { force: true });
}

/** The pid of the live daemon serving `mountPoint`, if any. */
export async function daemonOf(mountPoint: string): Promise<number | undefined> {
  const text = await readFile(pidFileOf(mountPoint), 'utf8').catch(() => '');
  const pid = Number.parseInt(text, 10);
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  try {
    process.kill(pid, 0);
    return pid;
  } catch {
    return undefined;
  }
}

/** The file system type of ObjectFS mounts in /proc/mounts. */
export const OBJECTFS_FS_TYPE = 'fuse.objectfs';

/** One line of /proc/mounts. */
export interface MountEntry {
  readonly type: string;
  readonly options: readonly string[];
}

/**
 * The mounts stacked at `mountPoint` now, per /proc/mounts (bottom first). The kernel writes a
 * space in a path as \040 (and tab, newline and backslash as octal escapes too).
 */
export function mountsAt(mountPoint: string): MountEntry[] {
  const target = resolve(mountPoint).replace(/[\\ \t\n]/g, (c) => `\\${c.charCodeAt(0).toString(8).padStart(3, '0')}`);
  const found: MountEntry[] = [];
  for (const line of readFileSync('/proc/mounts', 'utf8').split('\n')) {
    const [, where, type, options] = line.split(' ');
    if (where === target && type !== undefined) found.push({ type, options: (options ?? '').split(',') });
  }
  return found;
}

/**
 * Is `mountPoint` a mount right now (per /proc/mounts): of ObjectFS by default, of type `type`,
 * or of any type with 'any'? The one such check of the code and the tests.
 */
export function isMounted(mountPoint: string, type: string = OBJECTFS_FS_TYPE): boolean {
  return mountsAt(mountPoint).some((m) => type === 'any' || m.type === type);
}
