/** Conversions between vfs values and the binding's Float64Array layouts (see native.ts). */
import { stMode, type Attr, type StatFs } from '../vfs/index.js';
import { ATTR_LEN, DIRENT_LEN, ENTRY_LEN } from './native.js';

/** Preferred I/O size reported to programs (cp, dd pick their buffer from it). */
export const IO_BLOCK = 1 << 20;
const NS = 1_000_000_000n;

/** A time in ns as (seconds, nanoseconds) with 0 <= nanoseconds < 1e9, also before 1970. */
function splitTime(t: bigint, out: Float64Array, at: number): void {
  let s = t / NS;
  let n = t % NS;
  if (n < 0n) {
    s -= 1n;
    n += NS;
  }
  out[at] = Number(s);
  out[at + 1] = Number(n);
}

/** Writes `attr` in the ATTR layout at `at`. */
export function packAttr(attr: Attr, out: Float64Array, at = 0): Float64Array {
  out[at] = attr.ino;
  out[at + 1] = stMode(attr);
  out[at + 2] = attr.nlink;
  out[at + 3] = attr.uid;
  out[at + 4] = attr.gid;
  out[at + 5] = attr.rdev;
  out[at + 6] = attr.length;
  out[at + 7] = IO_BLOCK;
  out[at + 8] = Math.ceil(attr.length / 512);
  splitTime(attr.atime, out, at + 9);
  splitTime(attr.mtime, out, at + 11);
  splitTime(attr.ctime, out, at + 13);
  return out;
}

export function attrArray(attr: Attr): Float64Array {
  return packAttr(attr, new Float64Array(ATTR_LEN));
}

export interface Timeouts {
  readonly attr: number;
  readonly entry: number;
}

/**
 * Writes an entry: node id (the inode, but for a sub-directory mount's root: inode-map.ts),
 * generation 0 (inode numbers are never reused), timeouts, attributes.
 */
export function packEntry(attr: Attr, timeouts: Timeouts, out: Float64Array, at = 0, nodeid = attr.ino): void {
  out[at] = nodeid;
  out[at + 1] = 0;
  out[at + 2] = timeouts.attr;
  out[at + 3] = timeouts.entry;
  packAttr(attr, out, at + 4);
}

export function entryArray(attr: Attr, timeouts: Timeouts, nodeid = attr.ino): Float64Array {
  const out = new Float64Array(ENTRY_LEN);
  packEntry(attr, timeouts, out, 0, nodeid);
  return out;
}

/** A negative entry: "no such name", cached by the kernel for `timeout` seconds. */
export function negativeEntry(timeout: number): Float64Array {
  const out = new Float64Array(ENTRY_LEN);
  out[3] = timeout;
  return out;
}

/**
 * A directory entry at index `i` of `out`: `next` is the offset a listing resumes from after it;
 * `lookup` false leaves the nodeid 0 ('.' and '..': the kernel takes no reference on them).
 */
export function packDirent(out: Float64Array, i: number, next: number, attr: Attr, timeouts: Timeouts, lookup: boolean): void {
  const at = i * DIRENT_LEN;
  out[at] = next;
  packEntry(attr, timeouts, out, at + 1);
  if (!lookup) out[at + 1] = 0;
}

/** statfs in 4 KiB blocks (64-bit fields: no capping needed). */
export const STATFS_BLOCK = 4096;

export function statfsArray(s: StatFs): Float64Array {
  const blocks = Math.floor(s.totalSpace / STATFS_BLOCK);
  const free = Math.floor(s.availSpace / STATFS_BLOCK);
  const freeInodes = Math.max(0, s.totalInodes - s.usedInodes);
  return Float64Array.from([STATFS_BLOCK, STATFS_BLOCK, blocks, free, free, s.totalInodes, freeInodes, freeInodes, 0, 0, 255]);
}
