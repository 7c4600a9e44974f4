/** Conversions between vfs values and the binding's stat/statfs/time shapes. */
import { stMode, type Attr, type StatFs } from '../vfs/index.js';

/** The stat object the (patched) binding takes: times as bigint ns since the epoch. */
export interface FuseStat {
  mode: number;
  uid: number;
  gid: number;
  size: number;
  dev: number;
  nlink: number;
  ino: number;
  rdev: number;
  blksize: number;
  blocks: number;
  atime: bigint;
  mtime: bigint;
  ctime: bigint;
}

/** Preferred I/O size reported to programs (cp, dd pick their buffer from it). */
export const IO_BLOCK = 1 << 20;

export function toFuseStat(attr: Attr): FuseStat {
  return {
    mode: stMode(attr),
    uid: attr.uid,
    gid: attr.gid,
    size: attr.length,
    dev: 0,
    nlink: attr.nlink,
    ino: attr.ino,
    rdev: attr.rdev,
    blksize: IO_BLOCK,
    blocks: Math.ceil(attr.length / 512),
    atime: attr.atime,
    mtime: attr.mtime,
    ctime: attr.ctime,
  };
}

/** statfs fields are 32-bit in the binding: report in 1 MiB fragments so petabytes fit. */
export const STATFS_FRAGMENT = 1 << 20;
const U32_MAX = 0xffffffff;

export function toFuseStatfs(s: StatFs): Record<string, number> {
  const blocks = Math.min(U32_MAX, Math.floor(s.totalSpace / STATFS_FRAGMENT));
  const free = Math.min(U32_MAX, Math.floor(s.availSpace / STATFS_FRAGMENT));
  const files = Math.min(U32_MAX, s.totalInodes);
  return {
    bsize: STATFS_FRAGMENT,
    frsize: STATFS_FRAGMENT,
    blocks,
    bfree: free,
    bavail: free,
    // Capped at 32 bits, but keeping total - free = used (df -i shows what is in use).
    files,
    ffree: files - Math.min(files, s.usedInodes),
    favail: files - Math.min(files, s.usedInodes),
    fsid: 0,
    flag: 0,
    namemax: 255,
  };
}

/** A time from utimens: bigint ns, or the UTIME_NOW / UTIME_OMIT markers. */
export type UtimeArg = bigint | number | 'now' | 'omit' | undefined;

/** utimens argument → setattr value (undefined leaves the time alone). */
export function fromUtime(t: UtimeArg): bigint | 'now' | undefined {
  if (t === 'omit' || t === undefined) return undefined;
  if (t === 'now') return 'now';
  if (typeof t === 'bigint') return t;
  return BigInt(Math.round(t)) * 1_000_000n; // an unpatched binding's milliseconds
}
