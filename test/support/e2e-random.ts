/**
 * The operation generator of the randomized mount-vs-local comparisons (random-ops.test.ts,
 * random-ops-two-mounts.test.ts).
 * It draws from a small name space (a..f, three levels) so that operations often collide:
 * EEXIST, ENOENT, ENOTDIR, EISDIR, ENOTEMPTY, EINVAL (a directory into its own subtree) and
 * EPERM (a hard link to a directory) come up as often as successes. Symlink targets are plain
 * relative names without "..", so nothing ever resolves outside the tree.
 */
import type { Rng } from './prng.js';
import type { FsOpRequest } from './e2e-fsops.js';

const MIB = 1 << 20;
const NAMES = ['a', 'b', 'c', 'd', 'e', 'f'];
const FILE_MODES = [0o644, 0o600, 0o755, 0o444, 0o640, 0o000, 0o777];
const DIR_MODES = [0o755, 0o700, 0o750, 0o777];
const XATTR_NAMES = ['user.a', 'user.b', 'user.long.name.for.an.attribute'];
export const HANDLE_FLAGS = ['rdonly', 'rdwr', 'wronly', 'append', 'trunc', 'creat', 'excl'] as const;

/** What the local side holds now (the local directory is the reference). */
export interface Pool {
  readonly files: string[];
  readonly dirs: string[];
  readonly links: string[];
}

export function poolOf(walk: readonly (readonly [string, string])[]): Pool {
  const pool: Pool = { files: [], dirs: [], links: [] };
  for (const [path, type] of walk) (type === 'd' ? pool.dirs : type === 'l' ? pool.links : pool.files).push(path);
  return pool;
}

/** An op to send to both sides, plus the paths whose state is compared after it. */
export interface PlannedOp {
  readonly req: FsOpRequest;
  readonly affected: string[];
  /** Whether it can change the set of names (then the pool is refreshed). */
  readonly structural: boolean;
  /** Whether it can change what a name holds (then the affected files' contents are compared too). */
  readonly data: boolean;
}

/**
 * Ops that can change what data a name holds. After the others (chmod, utime, xattrs, mkdir,
 * rmdir, unlink, symlink, reads) sizes are compared at once and contents at the next whole-tree
 * comparison: reading every affected file back after every step would double the run time.
 */
const DATA_OPS = new Set(['create', 'write', 'append', 'truncate', 'rename', 'link', 'hopen', 'hwrite', 'htruncate', 'hclose', 'fallocate', 'copy', 'rename2']);
/** fallocate(2) modes ObjectFS implements (anything else is EOPNOTSUPP there, and not compared). */
const FALLOCATE_MODES = ['alloc', 'keep', 'punch', 'zero', 'zero-keep'] as const;

const parentOf = (p: string): string => (p.includes('/') ? p.slice(0, p.lastIndexOf('/')) : '.');
const depth = (p: string): number => (p === '' ? 0 : p.split('/').length);

export class OpGenerator {
  readonly #rng: Rng;
  /** Open handles: id → the path it was opened by. */
  readonly handles = new Map<number, string>();
  #nextHandle = 1;

  constructor(rng: Rng) {
    this.#rng = rng;
  }

  #pick<T>(items: readonly T[]): T {
    return items[this.#rng.int(0, items.length - 1)] as T;
  }

  #chance(p: number): boolean {
    return this.#rng.next() < p;
  }

  /** A path that usually does not exist yet; sometimes below a file (ENOTDIR) or too deep a chain. */
  #newPath(pool: Pool): string {
    const parents = ['', ...pool.dirs.filter((d) => depth(d) < 3)];
    const parent = this.#chance(0.05) && pool.files.length > 0 ? this.#pick(pool.files) : this.#pick(parents);
    const name = this.#pick(NAMES);
    return parent === '' ? name : `${parent}/${name}`;
  }

  #existing(pool: Pool, kinds = 'fdl'): string {
    const from = [...(kinds.includes('f') ? pool.files : []), ...(kinds.includes('d') ? pool.dirs : []), ...(kinds.includes('l') ? pool.links : [])];
    return from.length === 0 || this.#chance(0.08) ? this.#newPath(pool) : this.#pick(from);
  }

  #file(pool: Pool): string {
    if (this.#chance(0.04)) return this.#existing(pool, 'dl'); // EISDIR, or through a symlink
    return this.#existing(pool, 'f');
  }

  /** Offsets that hit the interesting places: inside, at and past EOF, around the 1 and 2 MiB block boundaries. */
  #offset(): number {
    const r = this.#rng.next();
    if (r < 0.35) return this.#rng.int(0, 64 * 1024);
    if (r < 0.65) return this.#rng.int(1, 2) * MIB + this.#rng.int(-4096, 4096);
    if (r < 0.8) return this.#rng.int(0, 2 * MIB + 100_000);
    if (r < 0.9) return 0;
    return this.#rng.int(2 * MIB + 100_000, 2 * MIB + 400_000); // far past EOF: a hole
  }

  #length(): number {
    const r = this.#rng.next();
    if (r < 0.06) return 0;
    if (r < 0.4) return this.#rng.int(1, 100);
    if (r < 0.75) return this.#rng.int(100, 10_000);
    if (r < 0.97) return this.#rng.int(10_000, 300_000);
    return this.#rng.int(MIB - 1000, MIB + 1000);
  }

  #size(): number {
    const r = this.#rng.next();
    if (r < 0.2) return 0;
    if (r < 0.5) return this.#rng.int(0, 100_000);
    if (r < 0.8) return this.#rng.int(1, 2) * MIB + this.#rng.int(-100, 100);
    return this.#rng.int(0, 2 * MIB + 400_000);
  }

  #seed(): number {
    return this.#rng.int(0, 0x7fff_ffff);
  }

  #time(): string {
    // ns since the epoch between 1970 and ~2100, as a decimal string (beyond 2^53).
    return (BigInt(this.#rng.int(0, 4_102_444_800)) * 1_000_000_000n + BigInt(this.#rng.int(0, 999_999_999))).toString();
  }

  /** The operations libfuse 2 could not carry: fallocate's modes, copy_file_range, renameat2's flags. */
  #newer(pool: Pool, op: (req: FsOpRequest, affected: string[], structural?: boolean) => PlannedOp, withParents: (...paths: string[]) => string[]): PlannedOp {
    const r = this.#rng.next();
    if (r < 0.4) {
      const path = this.#file(pool);
      return op({ op: 'fallocate', path, mode: this.#pick(FALLOCATE_MODES), off: this.#offset(), len: this.#length() + 1 }, [path]);
    }
    if (r < 0.75) {
      // Sometimes within one file: overlapping ranges of one file are EINVAL.
      const path = this.#file(pool);
      const to = this.#chance(0.15) ? path : this.#file(pool);
      return op({ op: 'copy', path, to, off: this.#offset(), off2: this.#offset(), len: this.#length() }, [to]);
    }
    const path = this.#existing(pool);
    const to = this.#chance(0.3) ? this.#newPath(pool) : this.#existing(pool, this.#chance(0.7) ? 'f' : 'd');
    return op({ op: 'rename2', path, to, flags: this.#chance(0.5) ? 'noreplace' : 'exchange' }, withParents(path, to), true);
  }

  next(pool: Pool): PlannedOp {
    const rng = this.#rng;
    const withParents = (...paths: string[]): string[] => [...new Set(paths.flatMap((p) => [p, parentOf(p)]))];
    const op = (req: FsOpRequest, affected: string[], structural = false): PlannedOp => ({ req, affected, structural, data: DATA_OPS.has(req.op) });
    const handleIds = [...this.handles.keys()];
    if (this.#chance(0.07)) return this.#newer(pool, op, withParents);
    const r = rng.int(0, 999);
    if (r < 90) {
      const path = this.#chance(0.7) ? this.#newPath(pool) : this.#existing(pool);
      return op({ op: 'create', path, mode: this.#pick(FILE_MODES) }, withParents(path), true);
    }
    if (r < 260) {
      const path = this.#file(pool);
      return op({ op: 'write', path, off: this.#offset(), len: this.#length(), seed: this.#seed() }, [path]);
    }
    if (r < 300) {
      const path = this.#file(pool);
      return op({ op: 'append', path, len: this.#length(), seed: this.#seed() }, [path]);
    }
    if (r < 360) {
      const path = this.#file(pool);
      return op({ op: 'truncate', path, size: this.#size() }, [path]);
    }
    if (r < 420) {
      return op({ op: 'read', path: this.#file(pool), off: this.#offset(), len: rng.int(0, 2 * MIB) }, []);
    }
    if (r < 500) {
      const path = this.#existing(pool);
      const k = rng.next();
      let to: string;
      if (k < 0.4) to = this.#newPath(pool);
      else if (k < 0.65) to = this.#existing(pool, 'f');
      else if (k < 0.85) to = this.#existing(pool, 'd');
      else to = `${path}/${this.#pick(NAMES)}`; // into its own subtree: EINVAL for a directory
      return op({ op: 'rename', path, to }, withParents(path, to), true);
    }
    if (r < 540) {
      const path = this.#chance(0.1) ? this.#existing(pool, 'd') : this.#existing(pool, 'f');
      const to = this.#chance(0.8) ? this.#newPath(pool) : this.#existing(pool);
      return op({ op: 'link', path, to }, withParents(path, to), true);
    }
    if (r < 560) {
      const path = this.#newPath(pool);
      const target = this.#chance(0.5) ? this.#pick(NAMES) : `${this.#pick(NAMES)}/${this.#pick(NAMES)}`;
      return op({ op: 'symlink', path, target }, withParents(path), true);
    }
    if (r < 620) {
      const path = this.#chance(0.1) ? this.#existing(pool, 'd') : this.#existing(pool, 'fl');
      return op({ op: 'unlink', path }, withParents(path), true);
    }
    if (r < 680) {
      const path = this.#chance(0.8) ? this.#newPath(pool) : this.#existing(pool);
      return op({ op: 'mkdir', path, mode: this.#pick(DIR_MODES) }, withParents(path), true);
    }
    if (r < 730) {
      const path = this.#chance(0.9) ? this.#existing(pool, 'd') : this.#existing(pool, 'f');
      return op({ op: 'rmdir', path }, withParents(path), true);
    }
    if (r < 770) {
      const path = this.#existing(pool, 'fd');
      const dir = pool.dirs.includes(path);
      return op({ op: 'chmod', path, mode: this.#pick(dir ? DIR_MODES : FILE_MODES) }, [path]);
    }
    if (r < 800) {
      const path = this.#existing(pool, 'fd');
      return op({ op: 'utime', path, atime: this.#time(), mtime: this.#time() }, [path]);
    }
    if (r < 850) {
      const path = this.#existing(pool, 'fd');
      const value = Buffer.alloc(rng.int(0, 64), rng.int(0, 255)).toString('hex');
      return op({ op: 'setxattr', path, name: this.#pick(XATTR_NAMES), value, flags: this.#pick([0, 0, 1, 2]) }, [path]);
    }
    if (r < 870) return op({ op: 'getxattr', path: this.#existing(pool, 'fd'), name: this.#pick(XATTR_NAMES) }, []);
    if (r < 880) return op({ op: 'listxattr', path: this.#existing(pool, 'fd') }, []);
    if (r < 895) {
      const path = this.#existing(pool, 'fd');
      return op({ op: 'removexattr', path, name: this.#pick(XATTR_NAMES) }, [path]);
    }
    if (r < 910) return op({ op: 'stat', path: this.#existing(pool) }, []);
    if (r < 935 || handleIds.length === 0) {
      if (this.handles.size >= 4) return op({ op: 'hclose', h: this.#pick(handleIds) }, []);
      const flags = this.#pick(HANDLE_FLAGS);
      const path = flags === 'creat' || flags === 'excl' ? (this.#chance(0.6) ? this.#newPath(pool) : this.#file(pool)) : this.#file(pool);
      return op({ op: 'hopen', h: this.#nextHandle++, path, flags }, withParents(path), true);
    }
    const h = this.#pick(handleIds);
    const hpath = this.handles.get(h) as string;
    if (r < 965) return op({ op: 'hwrite', h, off: this.#offset(), len: this.#length(), seed: this.#seed() }, [hpath]);
    if (r < 975) return op({ op: 'hread', h, off: this.#offset(), len: rng.int(0, MIB) }, []);
    if (r < 980) return op({ op: 'htruncate', h, size: this.#size() }, [hpath]);
    if (r < 990) return op({ op: 'hstat', h }, []);
    return op({ op: 'hclose', h }, [hpath]);
  }
}
