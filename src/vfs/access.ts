/**
 * The POSIX permission rules, as pure functions of the caller and the attributes involved, so
 * a program that uses the library (openVolume) meets the same rules as a process using the
 * mount. Linux is the reference: fs/namei.c (inode_permission, may_delete), fs/attr.c
 * (setattr_prepare), fs/inode.c (mode_strip_sgid, file_remove_privs), fs/xattr.c.
 *
 * Through the mount these rules run in the kernel (default_permissions), which knows the
 * caller's supplementary groups; a FUSE request carries only uid and gid. So a request the
 * kernel already checked says so (`kernelChecked`) and the vfs does not check it again: a second
 * check could refuse what a supplementary group allowed, and would cost a round trip for
 * attributes the vfs does not otherwise need.
 */
import { constants } from 'node:fs';
import { FsError } from '../errors.js';
import type { Attr, AttrChanges, Caller as MetaCaller } from '../meta/index.js';

/** Who asks for an operation. */
export interface Caller extends MetaCaller {
  /** Supplementary group ids (the primary `gid` counts in any case). */
  readonly groups?: readonly number[];
  /**
   * The kernel already applied these rules to this request (a mount with default_permissions):
   * the vfs skips them. Read-only volumes are refused either way.
   */
  readonly kernelChecked?: boolean;
}

export const S_ISUID = 0o4000;
export const S_ISGID = 0o2000;
export const S_ISVTX = 0o1000;
const S_IXGRP = 0o010;
const { R_OK, W_OK, X_OK } = constants;

type Owned = Pick<Attr, 'ino' | 'type' | 'mode' | 'uid' | 'gid'>;

/** Whether the rules apply to this request (the kernel did not apply them already). */
export function unchecked(caller: Caller): boolean {
  return caller.kernelChecked !== true;
}

function inGroup(caller: Caller, gid: number): boolean {
  return caller.gid === gid || (caller.groups?.includes(gid) ?? false);
}

const privileged = (caller: Caller) => caller.uid === 0;
const owns = (caller: Caller, attr: Owned) => privileged(caller) || caller.uid === attr.uid;

/**
 * Throws EACCES unless `caller` may access `attr` for `mask` (R_OK | W_OK | X_OK): owner, then
 * group, then others; root may read and write anything, search any directory, and execute
 * what anyone may.
 */
export function checkAccess(caller: Caller, attr: Owned, mask: number): void {
  const want = mask & (R_OK | W_OK | X_OK);
  if (privileged(caller)) {
    if ((want & X_OK) === 0 || (attr.mode & 0o111) !== 0 || attr.type === 'directory') return;
  } else {
    const shift = caller.uid === attr.uid ? 6 : inGroup(caller, attr.gid) ? 3 : 0;
    if ((((attr.mode >> shift) & 7) & want) === want) return;
  }
  throw FsError.EACCES(`access ${want} to inode ${attr.ino} denied to uid ${caller.uid}`);
}

/** The access an open(2) with `flags` needs: R_OK, W_OK or both (O_TRUNC needs W_OK). */
export function accessOfOpen(flags: number): number {
  const mode = flags & 3;
  const base = mode === constants.O_RDONLY ? R_OK : mode === constants.O_WRONLY ? W_OK : R_OK | W_OK;
  return (flags & constants.O_TRUNC) !== 0 ? base | W_OK : base;
}

/** Whether an open with `flags` changes the file (refused on a read-only volume). */
export function opensForChange(flags: number): boolean {
  return (flags & 3) !== constants.O_RDONLY || (flags & constants.O_TRUNC) !== 0;
}

/**
 * Removing or renaming away `child` from directory `dir`: write and search permission on the
 * directory, and in a sticky directory only the owner of the entry or of the directory (or
 * root) may (EPERM).
 */
export function checkRemove(caller: Caller, dir: Owned, child: Owned): void {
  checkAccess(caller, dir, W_OK | X_OK);
  if ((dir.mode & S_ISVTX) !== 0 && !owns(caller, child) && caller.uid !== dir.uid) {
    throw FsError.EPERM(`inode ${dir.ino} is sticky: uid ${caller.uid} owns neither it nor inode ${child.ino}`);
  }
}

/**
 * The mode a new node gets in directory `dir`: the setgid bit of a non-directory is dropped
 * when its group (the directory's, inherited from a setgid directory) is not the caller's
 * (mode_strip_sgid). The inheritance itself happens in the metadata engine.
 */
export function createMode(caller: Caller, dir: Owned, isDir: boolean, mode: number): number {
  if (isDir || (mode & S_ISGID) === 0 || (dir.mode & S_ISGID) === 0) return mode;
  if ((mode & S_IXGRP) === 0 || privileged(caller) || inGroup(caller, dir.gid)) return mode;
  return mode & ~S_ISGID;
}

/**
 * The changes a setattr by `caller` may make to `attr`, adjusted as Linux adjusts them, or
 * EPERM/EACCES:
 *  - mode: owner or root; the setgid bit is dropped when the file's group is not the caller's;
 *  - uid: root only (or to the same uid); gid: root, or the owner to one of its groups;
 *  - times set to given values: owner or root; set to "now": also anyone who may write;
 *  - length: write permission (the path form: ftruncate was checked at open);
 *  - a change of owner or group of a non-directory, or a truncate by anyone but root, clears
 *    setuid, and setgid where group execute is set (when the mode is not being set too).
 */
export function checkSetattr(caller: Caller, attr: Owned, changes: AttrChanges): AttrChanges {
  const out: { -readonly [K in keyof AttrChanges]: AttrChanges[K] } = { ...changes };
  const newGid = changes.gid ?? attr.gid;
  if (changes.uid !== undefined && changes.uid !== attr.uid && !privileged(caller)) {
    throw FsError.EPERM(`only root gives inode ${attr.ino} away`);
  }
  if (changes.gid !== undefined && changes.gid !== attr.gid && !privileged(caller) && !(caller.uid === attr.uid && inGroup(caller, changes.gid))) {
    throw FsError.EPERM(`uid ${caller.uid} may not give inode ${attr.ino} to group ${changes.gid}`);
  }
  if (changes.mode !== undefined) {
    if (!owns(caller, attr)) throw FsError.EPERM(`uid ${caller.uid} does not own inode ${attr.ino}`);
    if ((changes.mode & S_ISGID) !== 0 && !privileged(caller) && !inGroup(caller, newGid)) out.mode = changes.mode & ~S_ISGID;
  }
  for (const time of [changes.atime, changes.mtime]) {
    if (time === undefined || owns(caller, attr)) continue;
    if (time !== 'now') throw FsError.EPERM(`uid ${caller.uid} does not own inode ${attr.ino}`);
    checkAccess(caller, attr, W_OK);
  }
  if (changes.length !== undefined) checkAccess(caller, attr, W_OK);
  const chown = changes.uid !== undefined || changes.gid !== undefined; // chown(2) clears even when the ids stay
  if (changes.mode === undefined && attr.type !== 'directory' && (chown || (changes.length !== undefined && !privileged(caller)))) {
    const cleared = withoutPrivileges(attr.mode);
    if (cleared !== undefined) out.mode = cleared;
  }
  return out;
}

/**
 * `mode` without setuid, and without setgid where group execute is set (a setgid bit without
 * group execute marks mandatory locking, not privilege), or undefined if nothing is to clear.
 */
export function withoutPrivileges(mode: number): number | undefined {
  let cleared = mode & ~S_ISUID;
  if ((mode & (S_ISGID | S_IXGRP)) === (S_ISGID | S_IXGRP)) cleared &= ~S_ISGID;
  return cleared === mode ? undefined : cleared & 0o7777;
}

/**
 * May `caller` read (write: change) the extended attribute `name` of `attr`? `trusted.*` and
 * writes of `security.*` are root's; `user.*` exists only on files and directories, follows the
 * access bits, and in a sticky directory only its owner changes it. A read refused for lack of
 * privilege is ENODATA, as Linux answers.
 */
export function checkXattr(caller: Caller, attr: Owned, name: string, write: boolean): void {
  if (name.startsWith('trusted.') || (write && name.startsWith('security.'))) {
    if (privileged(caller)) return;
    if (write) throw FsError.EPERM(`${name} is root's`);
    throw FsError.ENODATA(`no xattr ${name} on ${attr.ino}`);
  }
  if (!name.startsWith('user.')) return;
  if (attr.type !== 'file' && attr.type !== 'directory') {
    if (write) throw FsError.EPERM(`user xattrs only on files and directories (inode ${attr.ino})`);
    throw FsError.ENODATA(`no xattr ${name} on ${attr.ino}`);
  }
  if (write && attr.type === 'directory' && (attr.mode & S_ISVTX) !== 0 && !owns(caller, attr)) {
    throw FsError.EPERM(`inode ${attr.ino} is sticky: only its owner changes its user xattrs`);
  }
  checkAccess(caller, attr, write ? W_OK : R_OK);
}
