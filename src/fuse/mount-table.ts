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

/** Is `mountPoint` a FUSE mount of ObjectFS right now (per /proc/mounts)? */
export function isObjectfsMount(mountPoint: string): boolean {
  const target = resolve(mountPoint).replace(/ /g, '\\040');
  const mounts = readFileSync('/proc/mounts', 'utf8');
  return mounts.split('\n').some((line) => {
    const [, where, type] = line.split(' ');
    return where === target && type === 'fuse.objectfs';
  });
}
