/**
 * `.stats` at the mount root: a read-only virtual file whose content is the metrics text
 * (the same as GET /metrics), for hosts where nobody scrapes the endpoint. It is not stored,
 * not listed by readdir, and nothing can create, change or remove it.
 *
 * The kernel reads a file only up to the size getattr reported, so the text is rendered at
 * getattr and kept for one second: the open that follows a lookup serves the very text whose
 * size the kernel saw. Each open keeps its own snapshot until release.
 *
 * Implemented as a decorator over the operation table, so ops.ts needs no change.
 */
import { constants } from 'node:fs';
import { constants as osConstants } from 'node:os';
import type { FuseStat } from './stat.js';

export const STATS_PATH = '/.stats';
/** Far above any inode the volume hands out (ids start at 1 and grow by one). */
const STATS_INO = 2 ** 52 + 1;
/** File handles of snapshots: the vfs numbers its own from 1 upwards (the binding's fh is 32-bit). */
const FIRST_FH = 0xf0000000;
const SNAPSHOT_MS = 1000;
const { EACCES, EIO, EPERM, ENODATA, ENOSYS } = osConstants.errno;

type Op = (...args: unknown[]) => void;
type Cb = (code: number, ...rest: unknown[]) => void;

/** Operations whose path arguments (by position) must not be the stats file. */
const PATH_ARGS: Readonly<Record<string, readonly number[]>> = { symlink: [1], rename: [0, 1], link: [0, 1] };

export function withStatsFile(ops: Record<string, unknown>, render: () => Promise<string>): Record<string, unknown> {
  let latest: { data: Buffer; at: number } | undefined;
  const open = new Map<number, Buffer>();
  let nextFh = FIRST_FH;
  const daemon = { uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0 };

  const snapshot = async (reuse: boolean): Promise<Buffer> => {
    if (reuse && latest !== undefined && Date.now() - latest.at < SNAPSHOT_MS) return latest.data;
    const data = Buffer.from(await render(), 'utf8');
    latest = { data, at: Date.now() };
    return data;
  };
  const stat = (size: number): FuseStat => {
    const now = BigInt(Date.now()) * 1_000_000n;
    return {
      mode: constants.S_IFREG | 0o444, uid: daemon.uid, gid: daemon.gid, size, dev: 0, nlink: 1, ino: STATS_INO,
      rdev: 0, blksize: 4096, blocks: Math.ceil(size / 512), atime: now, mtime: now, ctime: now,
    };
  };
  const fail = (cb: Cb) => () => cb(-EIO);

  const own: Record<string, (next: Op) => Op> = {
    getattr: (next) => (...args) => {
      const [path, cb] = args as [string, Cb];
      if (path !== STATS_PATH) return next(...args);
      snapshot(false).then((data) => cb(0, stat(data.length)), fail(cb));
    },
    fgetattr: (next) => (...args) => {
      const [, fh, cb] = args as [string, number, Cb];
      const data = open.get(fh);
      if (data === undefined) return next(...args);
      cb(0, stat(data.length));
    },
    access: (next) => (...args) => {
      const [path, mode, cb] = args as [string, number, Cb];
      if (path !== STATS_PATH) return next(...args);
      cb((mode & constants.W_OK) !== 0 ? -EACCES : 0);
    },
    open: (next) => (...args) => {
      const [path, flags, cb] = args as [string, number, Cb];
      if (path !== STATS_PATH) return next(...args);
      if ((flags & 3) !== constants.O_RDONLY || (flags & constants.O_TRUNC) !== 0) return cb(-EACCES);
      snapshot(true).then((data) => {
        const fh = nextFh++;
        open.set(fh, data);
        cb(0, fh);
      }, fail(cb));
    },
    read: (next) => (...args) => {
      const [, fh, buf, len, pos, cb] = args as [string, number, Buffer, number, number, (n: number) => void];
      const data = open.get(fh);
      if (data === undefined) return next(...args);
      cb(pos >= data.length ? 0 : data.copy(buf, 0, pos, Math.min(data.length, pos + len)));
    },
    flush: (next) => (...args) => {
      const [, fh, cb] = args as [string, number, Cb];
      if (!open.has(fh)) return next(...args);
      cb(0);
    },
    release: (next) => (...args) => {
      const [, fh, cb] = args as [string, number, Cb];
      if (!open.delete(fh)) return next(...args);
      cb(0);
    },
    getxattr: (next) => (...args) => {
      const [path, , , cb] = args as [string, string, number, Cb];
      if (path !== STATS_PATH) return next(...args);
      cb(-ENODATA);
    },
    listxattr: (next) => (...args) => {
      const [path, cb] = args as [string, Cb];
      if (path !== STATS_PATH) return next(...args);
      cb(0, []);
    },
  };

  const wrapped: Record<string, unknown> = {};
  // The stats file's own operations exist even where the table has none (others get ENOSYS).
  const unimplemented: Op = (...args) => (args[args.length - 1] as Cb)(-ENOSYS);
  for (const [name, mine] of Object.entries(own)) if (!(name in ops)) wrapped[name] = mine(unimplemented);
  for (const [name, op] of Object.entries(ops)) {
    if (typeof op !== 'function') {
      wrapped[name] = op;
      continue;
    }
    const next = op as Op;
    const mine = own[name];
    if (mine !== undefined) {
      wrapped[name] = mine(next);
      continue;
    }
    const positions = PATH_ARGS[name] ?? [0];
    // Any other operation naming the stats file (create, unlink, chmod, truncate …) is refused.
    wrapped[name] = (...args: unknown[]) => {
      if (positions.some((i) => args[i] === STATS_PATH) && args.length > 1) {
        const cb = args[args.length - 1] as Cb;
        return cb(-EPERM);
      }
      return next(...args);
    };
  }
  return wrapped;
}
