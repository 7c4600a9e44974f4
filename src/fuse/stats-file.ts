/**
 * `.stats` at the mount root: a read-only virtual file whose content is the metrics text (the
 * same as GET /metrics), for hosts where nobody scrapes the endpoint. It is not stored, not
 * listed by readdir, and nothing can create, change or remove it.
 *
 * Its attributes are never cached (timeout 0) and it is opened with direct I/O, so the kernel
 * reads whatever the snapshot taken at open holds, whatever size a getattr reported before.
 * Its requests are answered by the same handlers as the vfs's (fuse/ops.ts), so their errors
 * and metrics take the session's one reply path.
 */
import { constants } from 'node:fs';
import { FsError } from '../errors.js';
import type { Attr } from '../vfs/index.js';
import { ROOT_INO } from '../vfs/index.js';

export const STATS_NAME = Buffer.from('.stats');
/** Far above any inode the volume hands out (ids start at 1 and grow by one). */
export const STATS_INO = 2 ** 52 + 1;
/** Handles of snapshots: far above the vfs's own (numbered from 1). */
const FIRST_FH = 2 ** 48;

export class StatsFile {
  readonly #render: () => Promise<string>;
  readonly #open = new Map<number, Buffer>();
  readonly #owner = { uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0 };
  #nextFh = FIRST_FH;

  constructor(render: () => Promise<string>) {
    this.#render = render;
  }

  static is(ino: number): boolean {
    return ino === STATS_INO;
  }

  /** Is `name` in `parent` this file: `.stats` in the mount's root (`root`: its inode). */
  static isName(parent: number, name: Buffer, root: number): boolean {
    return parent === root && name.equals(STATS_NAME);
  }

  isHandle(fh: number | undefined): boolean {
    return fh !== undefined && this.#open.has(fh);
  }

  async attr(): Promise<Attr> {
    return this.#attrOf((await this.#snapshot()).length);
  }

  /** Opens a snapshot; the access mode must be read-only (EACCES, as for a 0444 file). */
  async open(flags: number): Promise<number> {
    if ((flags & 3) !== constants.O_RDONLY || (flags & constants.O_TRUNC) !== 0) throw FsError.EACCES('.stats is read-only');
    const fh = this.#nextFh++;
    this.#open.set(fh, await this.#snapshot());
    return fh;
  }

  read(fh: number, off: number, size: number): Buffer {
    const data = this.#open.get(fh) ?? Buffer.alloc(0);
    return off >= data.length ? Buffer.alloc(0) : data.subarray(off, Math.min(data.length, off + size));
  }

  fgetattr(fh: number): Attr {
    return this.#attrOf(this.#open.get(fh)?.length ?? 0);
  }

  release(fh: number): void {
    this.#open.delete(fh);
  }

  async #snapshot(): Promise<Buffer> {
    return Buffer.from(await this.#render(), 'utf8');
  }

  #attrOf(length: number): Attr {
    const now = BigInt(Date.now()) * 1_000_000n;
    return {
      ino: STATS_INO, type: 'file', mode: 0o444, uid: this.#owner.uid, gid: this.#owner.gid, nlink: 1, length,
      rdev: 0, atime: now, mtime: now, ctime: now, parent: ROOT_INO,
    };
  }
}
