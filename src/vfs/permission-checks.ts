/**
 * The permission checks that need attributes the operation would not read otherwise (the
 * directory of a create or lookup, the entry a remove or rename takes away): fetched only for
 * callers the kernel did not check already, so a request through the mount costs no extra
 * round trip. The rules themselves are pure functions in access.ts.
 */
import { constants } from 'node:fs';
import { FsError } from '../errors.js';
import type { Attr } from '../meta/index.js';
import { checkAccess, checkRemove, unchecked, type Caller } from './access.js';

export interface AttrSource {
  getattr(ino: number): Promise<Attr>;
  lookup(parent: number, name: Buffer): Promise<Attr>;
}

export class PermissionChecks {
  readonly #attrs: AttrSource;
  readonly #readOnly: boolean;

  constructor(attrs: AttrSource, readOnly: boolean) {
    this.#attrs = attrs;
    this.#readOnly = readOnly;
  }

  get readOnly(): boolean {
    return this.#readOnly;
  }

  /** Every change is refused on a read-only volume, whoever asks. */
  writable(): void {
    if (this.#readOnly) throw FsError.EROFS('the volume is open read-only');
  }

  /**
   * Throws unless `caller` may access `ino` for `mask`, and returns its attributes; undefined,
   * without a round trip, where the kernel checked already.
   */
  async accessible(caller: Caller, ino: number, mask: number): Promise<Attr | undefined> {
    if (!unchecked(caller)) return undefined;
    const attr = await this.#attrs.getattr(ino);
    checkAccess(caller, attr, mask);
    return attr;
  }

  /** unlink/rmdir: write and search on the directory, and the sticky bit's owner rule. */
  async removable(caller: Caller, parent: number, name: Buffer): Promise<void> {
    if (!unchecked(caller)) return;
    const [dir, child] = await Promise.all([this.#attrs.getattr(parent), this.#attrs.lookup(parent, name)]);
    checkRemove(caller, dir, child);
  }

  /**
   * rename: removal from the source directory and, for a name it replaces, from the target; a
   * directory that moves to another parent also needs write permission on itself ('..' changes).
   */
  async renamable(caller: Caller, srcParent: number, srcName: Buffer, dstParent: number, dstName: Buffer): Promise<void> {
    if (!unchecked(caller)) return;
    const missing = (err: unknown) => { if (err instanceof FsError && err.code === 'ENOENT') return undefined; throw err; };
    const [src, moved, dst, replaced] = await Promise.all([
      this.#attrs.getattr(srcParent), this.#attrs.lookup(srcParent, srcName),
      this.#attrs.getattr(dstParent), this.#attrs.lookup(dstParent, dstName).catch(missing),
    ]);
    checkRemove(caller, src, moved);
    if (replaced === undefined) checkAccess(caller, dst, constants.W_OK | constants.X_OK);
    else checkRemove(caller, dst, replaced);
    if (moved.type === 'directory' && srcParent !== dstParent) checkAccess(caller, moved, constants.W_OK);
  }
}
