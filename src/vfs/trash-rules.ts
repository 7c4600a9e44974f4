/**
 * POSIX-side rules of the trash (decision 78): nothing is created in it or renamed into it
 * (EPERM: only unlink, and `objectfs restore`, take entries out), and the name `.trash` in
 * the root is the trash's, so it cannot be created or taken by a rename either.
 */
import { FsError } from '../errors.js';
import { ROOT_INO, TRASH_NAME, isTrashDir } from '../meta/index.js';

/** Throws EPERM unless a new name `name` may appear in directory `parent`. */
export function refuseTrashTarget(parent: number, name: Buffer): void {
  if (isTrashDir(parent)) throw FsError.EPERM('nothing can be created in or moved into the trash');
  if (parent === ROOT_INO && name.toString('latin1') === TRASH_NAME) throw FsError.EPERM(`/${TRASH_NAME} is reserved for the trash`);
}
