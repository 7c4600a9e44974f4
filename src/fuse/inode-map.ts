/**
 * The node ids the kernel knows, for a mount whose root is a directory of the volume (a
 * sub-directory mount) rather than the volume's root.
 *
 * The kernel calls the root of every FUSE mount node id 1 (FUSE_ROOT_ID); ObjectFS otherwise
 * gives the kernel its own inode numbers as node ids. In a sub-directory mount of directory S:
 *
 *  - node id 1 is S: every node id the kernel sends goes through `toVolume`;
 *  - S is node id 1 whenever a reply names it (an entry for `..`): `toKernel`, so the kernel
 *    never holds two nodes for one directory (it refuses directory aliases);
 *  - the volume's own root (inode 1) has no node id at all: `toKernel` gives undefined, and a
 *    reply that would hand it over fails instead. Its number is node id 1's, so handing it out
 *    would make the kernel take it for S; and no name inside S leads to it anyway.
 *
 * Every other inode keeps its number. `st_ino` is not mapped: `stat` shows S's own number, the
 * one a full mount of the volume shows for that directory.
 */
import { FsError } from '../errors.js';
import { ROOT_INO } from '../vfs/index.js';
import type { OpCode, Request } from './native.js';
import type { Handler } from './session.js';

/** The kernel's node id of a mount's root. */
export const FUSE_ROOT_ID = 1;

export class InodeMap {
  /** The vfs inode served as the mount's root. */
  readonly root: number;

  constructor(root: number = ROOT_INO) {
    this.root = root;
  }

  /** The whole volume is mounted: node ids are inode numbers. */
  get identity(): boolean {
    return this.root === ROOT_INO;
  }

  /** The vfs inode of a node id the kernel sent. */
  toVolume(nodeid: number): number {
    return nodeid === FUSE_ROOT_ID ? this.root : nodeid;
  }

  /** The node id the kernel knows `ino` by; undefined for the volume's root in a sub-directory mount. */
  toKernel(ino: number): number | undefined {
    if (ino === this.root) return FUSE_ROOT_ID;
    return ino === ROOT_INO ? undefined : ino;
  }

  /** `toKernel` for a reply: the volume's root never reaches the kernel of a sub-directory mount. */
  nodeOf(ino: number): number {
    const nodeid = this.toKernel(ino);
    if (nodeid === undefined) throw FsError.EACCES(`inode ${ino} (the volume's root) is outside this mount's sub-directory`);
    return nodeid;
  }

  /**
   * The handlers with the inodes of each request translated (`ino`, and `ino2` of link, rename
   * and copy_file_range) before they run. Unchanged when the whole volume is mounted.
   */
  translate(handlers: Partial<Record<OpCode, Handler>>): Partial<Record<OpCode, Handler>> {
    if (this.identity) return handlers;
    const out: Partial<Record<OpCode, Handler>> = {};
    for (const [op, handler] of Object.entries(handlers)) {
      if (handler === undefined) continue;
      out[Number(op) as OpCode] = (r: Request, b) => handler({ ...r, ino: this.toVolume(r.ino), ...(r.ino2 === undefined ? {} : { ino2: this.toVolume(r.ino2) }) }, b);
    }
    return out;
  }
}
