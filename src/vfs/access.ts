/**
 * POSIX permission check of one access (R_OK | W_OK | X_OK) by a caller, from the mode bits:
 * owner, then group, then others; root may read and write anything and execute what anyone
 * may. Used where the kernel did not check (it checks by itself for most operations under
 * default_permissions). The caller's supplementary groups are not known here: only its
 * primary group counts.
 */
import { constants } from 'node:fs';
import { FsError } from '../errors.js';
import type { Attr, Caller } from '../meta/index.js';

export function checkAccess(caller: Caller, attr: Pick<Attr, 'mode' | 'uid' | 'gid' | 'ino'>, mask: number): void {
  const want = mask & (constants.R_OK | constants.W_OK | constants.X_OK);
  if (caller.uid === 0) {
    if ((want & constants.X_OK) === 0 || (attr.mode & 0o111) !== 0) return;
  } else {
    const shift = caller.uid === attr.uid ? 6 : caller.gid === attr.gid ? 3 : 0;
    if ((((attr.mode >> shift) & 7) & want) === want) return;
  }
  throw FsError.of('EACCES', `access ${want} to inode ${attr.ino} denied`);
}
