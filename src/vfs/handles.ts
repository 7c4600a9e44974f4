/**
 * The open-file table: the inodes open on this host (their attributes, write buffer, cached
 * chunk maps) and the handles (file descriptions) that name them. An inode stays here while a
 * handle names it or its writes are not committed, also after its last name is gone (open
 * files stay readable and writable until their last close).
 */
import { FsError } from '../errors.js';
import type { Attr, ChunkRecord } from '../meta/index.js';
import type { FileWriter } from './file-writer.js';
import { InodeAttr } from './inode-attr.js';
import type { Readahead } from './readahead.js';
import { Serial } from './serial.js';

/** What this host keeps about an inode open here. */
export interface InodeState {
  readonly ino: number;
  opens: number;
  /** Attributes known here (refreshed at open, after commits and truncates, and when stale). */
  readonly attr: InodeAttr;
  writer: FileWriter | undefined;
  readonly chunkMaps: Map<number, Promise<ChunkRecord>>;
  readonly commitsSince: Map<number, number>;
  readonly compaction: Serial;
}

/** One open file description. */
export interface Handle {
  readonly ino: number;
  readonly readable: boolean;
  readonly writable: boolean;
  readonly append: boolean;
  readonly readahead: Readahead;
  /**
   * Writes through it clear setuid/setgid first (write(2) by an unprivileged process whose
   * request the kernel did not handle: through the mount the kernel sends that setattr).
   */
  readonly clearsPrivileges: boolean;
  /** Owners that set POSIX locks through this open file: an OFD lock's owner is the open file, and ends with it. */
  lockOwners?: Set<bigint>;
}

export class OpenFiles {
  readonly #inodes = new Map<number, InodeState>();
  readonly #handles = new Map<number, Handle>();
  #nextFh = 1;

  /** The state of `ino` if it is open here (or still has writes to commit). */
  get(ino: number): InodeState | undefined {
    return this.#inodes.get(ino);
  }

  has(ino: number): boolean {
    return this.#inodes.has(ino);
  }

  values(): IterableIterator<InodeState> {
    return this.#inodes.values();
  }

  /** The state of `ino`, made from `attr` if it is not open yet. */
  state(ino: number, attr: Attr): InodeState {
    let st = this.#inodes.get(ino);
    if (st === undefined) {
      const chunkMaps = new Map<number, Promise<ChunkRecord>>();
      st = {
        ino, opens: 0, attr: new InodeAttr(attr, () => chunkMaps.clear()), writer: undefined, chunkMaps,
        commitsSince: new Map(), compaction: new Serial(),
      };
      this.#inodes.set(ino, st);
    }
    return st;
  }

  delete(ino: number): void {
    this.#inodes.delete(ino);
  }

  /** Registers a handle; returns its number (never reused while the process lives). */
  add(handle: Handle): number {
    const fh = this.#nextFh++;
    this.#handles.set(fh, handle);
    return fh;
  }

  /** The handle `fh`, or EBADF. */
  handle(fh: number): Handle {
    const h = this.#handles.get(fh);
    if (h === undefined) throw FsError.of('EBADF', `no open file ${fh}`);
    return h;
  }

  /** Forgets handle `fh` (its release) and returns it, or EBADF. */
  take(fh: number): Handle {
    const h = this.handle(fh);
    this.#handles.delete(fh);
    return h;
  }
}
