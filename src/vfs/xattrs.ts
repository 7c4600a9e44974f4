/**
 * Extended attributes over the metadata engine, with the answers this host can give without
 * asking: POSIX ACL names (not supported) and the "no capability" / "no xattrs at all" memory of
 * NoCapability, which the kernel's question before every write(2) and `ls -l` make worth having.
 * Permission checks are the vfs's (access.ts); this file only stores and remembers.
 */
import { FsError } from '../errors.js';
import type { DirPage, MetaEngine } from '../meta/index.js';
import { CAPABILITY_XATTR, NoCapability } from './no-capability.js';

const CAPABILITY_NAME = Buffer.from(CAPABILITY_XATTR);
const ACL_PREFIX = 'system.posix_acl_';

function isAcl(name: Buffer): boolean {
  return name.toString('latin1').startsWith(ACL_PREFIX);
}

export class Xattrs {
  readonly #meta: MetaEngine;
  readonly #noCapability = new NoCapability();

  constructor(meta: MetaEngine) {
    this.#meta = meta;
  }

  /**
   * Whether `ino` is known, without asking, to have no xattr `name`: recent listings and misses
   * are remembered (see NoCapability).
   */
  knownWithout(ino: number, name: Buffer): boolean {
    return !isAcl(name) && (this.#noCapability.hasNone(ino) || (name.equals(CAPABILITY_NAME) && this.#noCapability.has(ino)));
  }

  /**
   * POSIX ACL names are answered EOPNOTSUPP, as by a filesystem mounted without ACL support,
   * not ENODATA: `ls -l` then stops asking for the rest of the volume (decision 87).
   */
  static refuseAcl(name: Buffer): void {
    if (isAcl(name)) throw FsError.of('EOPNOTSUPP', 'POSIX ACLs are not supported');
  }

  async get(ino: number, name: Buffer): Promise<Buffer> {
    Xattrs.refuseAcl(name);
    if (this.knownWithout(ino, name)) throw FsError.ENODATA(`no xattr ${name.toString('latin1')} on ${ino}`);
    if (!name.equals(CAPABILITY_NAME)) return this.#meta.getxattr(ino, name);
    const epoch = this.#noCapability.epoch;
    try {
      return await this.#meta.getxattr(ino, name);
    } catch (err) {
      if (err instanceof FsError && err.code === 'ENODATA') this.#noCapability.remember(ino, epoch);
      throw err;
    }
  }

  /**
   * POSIX ACLs are not implemented: storing them as opaque bytes would show a "+" in ls while
   * the mode bits say otherwise, and tools like cp -a would skip their chmod. Refusing them
   * makes those tools fall back to the mode bits.
   */
  async set(ino: number, name: Buffer, value: Buffer, flags: number): Promise<void> {
    Xattrs.refuseAcl(name);
    this.#noCapability.forget([ino]);
    try {
      return await this.#meta.setxattr(ino, name, value, flags);
    } finally {
      this.#noCapability.forget([ino]); // also for reads that overlapped the change
    }
  }

  async list(ino: number): Promise<Buffer[]> {
    return this.#noCapability.hasNone(ino) ? [] : this.#meta.listxattr(ino);
  }

  async remove(ino: number, name: Buffer): Promise<void> {
    Xattrs.refuseAcl(name);
    try {
      return await this.#meta.removexattr(ino, name);
    } finally {
      this.#noCapability.forget([ino]);
    }
  }

  /** The epoch to pass to `created` for a create starting now. */
  get epoch(): number {
    return this.#noCapability.epoch;
  }

  /**
   * A create that started at `epoch` made `ino`: it has no xattrs, so the kernel's question
   * before the first write(2) needs no round trip (unless a change of xattrs came in between).
   */
  created(ino: number, epoch: number): void {
    this.#noCapability.remember(ino, epoch, true);
  }

  /** A directory page read by `read`: its entries' "no xattrs at all" are remembered. */
  async listing(read: () => Promise<DirPage>): Promise<DirPage> {
    const epoch = this.#noCapability.epoch;
    const page = await read();
    for (const e of page.entries) if (e.xattrs === false) this.#noCapability.remember(e.ino, epoch, true);
    return page;
  }

  /** Another host changed these inodes (undefined: maybe any): forget what was remembered. */
  forget(inos: ReadonlySet<number> | undefined): void {
    this.#noCapability.forget(inos);
  }
}
