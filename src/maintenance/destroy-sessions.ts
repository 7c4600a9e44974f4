/**
 * Which sessions stop `objectfs destroy` (pure). A live session (its heartbeat deadline has not
 * passed) always does: a mount is using the volume, and destroying it would pull the data out
 * from under its files; it must be unmounted first. A stale session (deadline passed: the
 * mount died, or its host lost the database for longer than its session timeout) stops destroy
 * unless `--force` is given, which says "I know that mount is gone".
 */
import type { SessionRow } from '../meta/index.js';

/** One session as destroy lists it: host, pid, mount point, last heartbeat and its age. */
export function describeSession(s: SessionRow, now: number): string {
  const beat = s.heartbeat > 0 ? `${new Date(s.heartbeat).toISOString()} (${Math.round((now - s.heartbeat) / 1000)} s ago)` : 'never';
  const state = s.expire >= now ? `alive until ${new Date(s.expire).toISOString()}` : 'stale';
  return `session #${s.sid}: host ${s.info.host}, pid ${s.info.pid}, mount point ${s.info.mountPoint}, last heartbeat ${beat}, ${state}`;
}

/**
 * Why destroy must not go on with these sessions, or undefined when it may: none at all, or
 * only stale ones with `force`. The message lists every session, one per line.
 */
export function sessionRefusal(volumeName: string, sessions: readonly SessionRow[], now: number, force: boolean): string | undefined {
  if (sessions.length === 0) return undefined;
  const live = sessions.filter((s) => s.expire >= now);
  if (live.length === 0 && force) return undefined;
  const head = live.length > 0
    ? `volume "${volumeName}" is mounted: ${live.length} live session(s) (heartbeat within the session timeout); unmount every mount first (objectfs umount), nothing was deleted; --force does not override a live session, only a stale one`
    : `volume "${volumeName}" has ${sessions.length} stale session(s) (no heartbeat within the session timeout: the mount died or lost the database); make sure those mounts are gone, then run again with --force; nothing was deleted`;
  return [head, ...sessions.map((s) => `  ${describeSession(s, now)}`)].join('\n');
}
