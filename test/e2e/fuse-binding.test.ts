/**
 * The patched fuse-native binding (patches/fuse-native+2.2.6.patch) on a real mount: a tiny
 * in-memory filesystem hosted by this process, driven with coreutils in child processes (a
 * synchronous fs call from this process on its own mount would deadlock the JS thread).
 *
 * Checks each fix: utimens gets both times in ns, one-sided `touch -m`/`touch -a` reach utimens
 * with the other side 'omit', getattr's bigint ns times and 64-bit ino reach `stat`,
 * attr_timeout=0 really reaches the mount, big_writes gives 128 KiB writes, fgetattr gets the fd,
 * option validation, and a failing mount leaves no dead mount behind.
 *
 * A second mount (allow_other + default_permissions, a world-writable /pub) checks the caller's
 * identity (Fuse#context: uid/gid/pid/umask of the requesting process, here `nobody`) and that
 * names cross byte-exact as latin1 strings: non-UTF-8 bytes, newline, space, 255-byte names,
 * rename, link, symlink targets and xattr names, compared as raw bytes with python3.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { chmod, mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import Fuse from 'fuse-native';

const run = promisify(execFile);

/** Runs a tool with TZ=UTC (so `touch -d` and `stat -c %y` are in UTC); returns stdout trimmed. */
async function sh(cmd: string, args: string[]): Promise<string> {
  const { stdout } = await run(cmd, args, { env: { ...process.env, TZ: 'UTC', LC_ALL: 'C' } });
  return stdout.trim();
}

/** Runs a tool and returns its raw stdout bytes. */
async function shBytes(cmd: string, args: string[]): Promise<Buffer> {
  const { stdout } = await run(cmd, args, { encoding: 'buffer' });
  return stdout;
}

/** Runs a tool, returning the exit code and stderr instead of throwing. */
async function shStatus(cmd: string, args: string[]): Promise<{ code: number; stderr: string }> {
  try {
    const { stderr } = await run(cmd, args, { env: { ...process.env, LC_ALL: 'C' } });
    return { code: 0, stderr };
  } catch (err) {
    const e = err as { code?: number; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, stderr: e.stderr ?? '' };
  }
}

async function lazyUnmount(mnt: string): Promise<void> {
  for (const cmd of ['fusermount', 'fusermount3']) {
    try {
      await run(cmd, ['-uz', mnt]);
      return;
    } catch {
      // not mounted, or try the other tool
    }
  }
}

async function isMounted(mnt: string): Promise<boolean> {
  const mounts = await readFile('/proc/mounts', 'utf8');
  return mounts.split('\n').some((line) => line.split(' ')[1] === mnt);
}

interface Node {
  mode: number;
  ino: number | bigint;
  data: Buffer;
  atime: Fuse.StatTime;
  mtime: Fuse.StatTime;
  ctime: Fuse.StatTime;
  uid?: number;
  gid?: number;
  /** Symlink target, as readlink replies it (latin1 string, or raw bytes). */
  target?: Fuse.NameOut;
  xattrs?: Map<string, Buffer>;
}

type Call =
  | { op: 'utimens'; path: string; atime: Fuse.UtimensTime; mtime: Fuse.UtimensTime }
  | { op: 'fgetattr'; path: string; fd: number }
  | { op: 'create'; path: string; fd: number; mode: number }
  | { op: 'mkdir'; path: string; mode: number }
  | { op: 'write'; path: string; len: number };

/** What every handler saw: its op, first path argument and `fuse.context()` at entry. */
interface CtxEntry {
  op: string;
  path: string;
  ctx: Fuse.Context | null;
}

const S_IFMT = 0o170000;
const S_IFDIR = 0o040000;
const S_IFLNK = 0o120000;

/**
 * An in-memory filesystem keyed by full path (latin1 strings, as the binding hands them over) that
 * logs what the binding hands it. New nodes are owned by the caller (`fuse.context()`).
 */
class MemFs {
  readonly files = new Map<string, Node>();
  readonly calls: Call[] = [];
  readonly ctxLog: CtxEntry[] = [];
  /** context() read after the handler returned (a microtask): must be null. */
  readonly lateCtx: (Fuse.Context | null)[] = [];
  fuse: Fuse | undefined;
  #nextIno = 100;
  #nextFd = 1000;
  readonly #root: Node = { mode: 0o40755, ino: 1, data: Buffer.alloc(0), atime: 0n, mtime: 0n, ctime: 0n };

  stat(n: Node): Fuse.Stat {
    const size = n.target !== undefined ? n.target.length : n.data.length;
    return { mode: n.mode, uid: n.uid ?? 0, gid: n.gid ?? 0, size, nlink: 1, ino: n.ino, blksize: 4096, blocks: Math.ceil(size / 512), atime: n.atime, mtime: n.mtime, ctime: n.ctime };
  }

  node(path: string): Node | undefined {
    return path === '/' ? this.#root : this.files.get(path);
  }

  /** A new node owned by the caller of the running handler. */
  #newNode(mode: number, extra: Partial<Node> = {}): Node {
    const ctx = this.fuse?.context();
    const now = BigInt(Date.now()) * 1_000_000n;
    return { mode, ino: this.#nextIno++, data: Buffer.alloc(0), atime: now, mtime: now, ctime: now, uid: ctx?.uid ?? 0, gid: ctx?.gid ?? 0, ...extra };
  }

  #children(dir: string): string[] {
    const prefix = dir === '/' ? '/' : dir + '/';
    return [...this.files.keys()].filter((k) => k.startsWith(prefix) && !k.slice(prefix.length).includes('/'));
  }

  #parentExists(path: string): boolean {
    const parent = path.slice(0, path.lastIndexOf('/')) || '/';
    const n = this.node(parent);
    return !!n && (n.mode & S_IFMT) === S_IFDIR;
  }

  /** Every handler logs `fuse.context()` read synchronously at entry, and once more after it returned. */
  ops(): Fuse.Operations {
    const ops = this.#ops();
    const wrapped: Record<string, unknown> = {};
    for (const [name, fn] of Object.entries(ops) as [string, (...a: unknown[]) => unknown][]) {
      wrapped[name] = (...args: unknown[]) => {
        this.ctxLog.push({ op: name, path: typeof args[0] === 'string' ? args[0] : '', ctx: this.fuse?.context() ?? null });
        if (name === 'create') queueMicrotask(() => this.lateCtx.push(this.fuse?.context() ?? null));
        return fn(...args);
      };
    }
    return wrapped as Fuse.Operations;
  }

  #ops(): Fuse.Operations {
    return {
      getattr: (path, cb) => {
        const n = this.node(path);
        if (!n) return cb(Fuse.ENOENT);
        cb(0, this.stat(n));
      },
      fgetattr: (path, fd, cb) => {
        // This toy filesystem keys open files by path; a null path (directory removed) is gone.
        if (path === null) return cb(Fuse.ENOENT);
        this.calls.push({ op: 'fgetattr', path, fd });
        const n = this.node(path);
        if (!n) return cb(Fuse.ENOENT);
        cb(0, this.stat(n));
      },
      readdir: (path, cb) => {
        const n = this.node(path);
        if (!n) return cb(Fuse.ENOENT);
        if ((n.mode & S_IFMT) !== S_IFDIR) return cb(Fuse.ENOTDIR);
        const names: Fuse.NameOut[] = this.#children(path).map((p) => p.slice(p.lastIndexOf('/') + 1));
        // A directory named 'bytes' lists its names as Buffers (raw bytes) instead of latin1 strings.
        cb(0, path.endsWith('/bytes') ? names.map((s) => Buffer.from(s as string, 'latin1')) : names);
      },
      create: (path, mode, cb) => {
        if (!this.#parentExists(path)) return cb(Fuse.ENOENT);
        this.files.set(path, this.#newNode(mode));
        const fd = this.#nextFd++;
        this.calls.push({ op: 'create', path, fd, mode });
        cb(0, fd);
      },
      mkdir: (path, mode, cb) => {
        if (!this.#parentExists(path)) return cb(Fuse.ENOENT);
        if (this.files.has(path)) return cb(Fuse.EEXIST);
        this.files.set(path, this.#newNode(S_IFDIR | mode));
        this.calls.push({ op: 'mkdir', path, mode });
        cb(0);
      },
      rmdir: (path, cb) => {
        if (!this.files.has(path)) return cb(Fuse.ENOENT);
        if (this.#children(path).length) return cb(Fuse.ENOTEMPTY);
        this.files.delete(path);
        cb(0);
      },
      symlink: (target, path, cb) => {
        if (!this.#parentExists(path)) return cb(Fuse.ENOENT);
        if (this.files.has(path)) return cb(Fuse.EEXIST);
        this.files.set(path, this.#newNode(S_IFLNK | 0o777, { target }));
        cb(0);
      },
      readlink: (path, cb) => {
        const n = this.files.get(path);
        if (!n) return cb(Fuse.ENOENT);
        if (n.target === undefined) return cb(Fuse.EINVAL);
        cb(0, n.target);
      },
      link: (src, dest, cb) => {
        const n = this.files.get(src);
        if (!n) return cb(Fuse.ENOENT);
        if (this.files.has(dest)) return cb(Fuse.EEXIST);
        this.files.set(dest, n);
        cb(0);
      },
      rename: (src, dest, cb) => {
        const n = this.files.get(src);
        if (!n) return cb(Fuse.ENOENT);
        if (!this.#parentExists(dest)) return cb(Fuse.ENOENT);
        for (const k of [...this.files.keys()]) {
          if (k.startsWith(src + '/')) {
            this.files.set(dest + k.slice(src.length), this.files.get(k)!);
            this.files.delete(k);
          }
        }
        this.files.delete(src);
        this.files.set(dest, n);
        cb(0);
      },
      setxattr: (path, name, value, _position, _flags, cb) => {
        const n = this.node(path);
        if (!n) return cb(Fuse.ENOENT);
        (n.xattrs ??= new Map()).set(name, Buffer.from(value));
        cb(0);
      },
      getxattr: (path, name, _position, cb) => {
        const n = this.node(path);
        if (!n) return cb(Fuse.ENOENT);
        cb(0, n.xattrs?.get(name) ?? null);
      },
      listxattr: (path, cb) => {
        const n = this.node(path);
        if (!n) return cb(Fuse.ENOENT);
        cb(0, [...(n.xattrs?.keys() ?? [])]);
      },
      removexattr: (path, name, cb) => {
        const n = this.node(path);
        if (!n) return cb(Fuse.ENOENT);
        if (!n.xattrs?.delete(name)) return cb(Fuse.ENODATA);
        cb(0);
      },
      open: (path, _flags, cb) => (this.files.has(path) ? cb(0, this.#nextFd++) : cb(Fuse.ENOENT)),
      release: (_path, _fd, cb) => cb(0),
      read: (path, _fd, buf, len, pos, cb) => {
        const n = path === null ? undefined : this.files.get(path);
        if (!n) return cb(Fuse.ENOENT);
        cb(n.data.copy(buf, 0, pos, Math.min(n.data.length, pos + len)));
      },
      write: (path, _fd, buf, len, pos, cb) => {
        const n = path === null ? undefined : this.files.get(path);
        if (!n || path === null) return cb(Fuse.ENOENT);
        this.calls.push({ op: 'write', path, len });
        if (pos + len > n.data.length) {
          const grown = Buffer.alloc(pos + len);
          n.data.copy(grown);
          n.data = grown;
        }
        buf.copy(n.data, pos, 0, len);
        cb(len);
      },
      truncate: (path, size, cb) => {
        const n = this.files.get(path);
        if (!n) return cb(Fuse.ENOENT);
        n.data = Buffer.concat([n.data, Buffer.alloc(Math.max(0, size - n.data.length))]).subarray(0, size);
        cb(0);
      },
      ftruncate: (path, _fd, size, cb) => {
        const n = path === null ? undefined : this.files.get(path);
        if (!n) return cb(Fuse.ENOENT);
        n.data = Buffer.concat([n.data, Buffer.alloc(Math.max(0, size - n.data.length))]).subarray(0, size);
        cb(0);
      },
      chmod: (path, mode, cb) => {
        const n = this.node(path);
        if (!n) return cb(Fuse.ENOENT);
        n.mode = (n.mode & S_IFMT) | (mode & 0o7777);
        cb(0);
      },
      utimens: (path, atime, mtime, cb) => {
        this.calls.push({ op: 'utimens', path, atime, mtime });
        const n = this.node(path);
        if (!n) return cb(Fuse.ENOENT);
        const now = BigInt(Date.now()) * 1_000_000n;
        if (atime !== 'omit') n.atime = atime === 'now' ? now : atime;
        if (mtime !== 'omit') n.mtime = mtime === 'now' ? now : mtime;
        cb(0);
      },
      unlink: (path, cb) => (this.files.delete(path) ? cb(0) : cb(Fuse.ENOENT)),
    };
  }

  utimensCalls(path: string): { atime: Fuse.UtimensTime; mtime: Fuse.UtimensTime }[] {
    return this.calls.flatMap((c) => (c.op === 'utimens' && c.path === path ? [{ atime: c.atime, mtime: c.mtime }] : []));
  }
}

function mount(fuse: Fuse): Promise<void> {
  return new Promise((resolve, reject) => fuse.mount((err) => (err ? reject(err) : resolve())));
}

function unmount(fuse: Fuse): Promise<void> {
  return new Promise((resolve) => fuse.unmount(() => resolve()));
}

const NS = 1_000_000_000n;
/** 2020-01-01 00:00:00 UTC in ns. */
const Y2020 = 1_577_836_800n * NS;

describe('patched fuse-native binding on a real mount', () => {
  let dir: string;
  let mnt: string;
  let fs: MemFs;
  let fuse: Fuse | undefined;
  const p = (name: string) => join(mnt, name);

  before(async () => {
    assert.equal(Fuse.OBJECTFS_PATCH, 3, 'the patched binding is loaded');
    dir = await mkdtemp(join(tmpdir(), 'fuse-binding-'));
    mnt = join(dir, 'mnt');
    fs = new MemFs();
    fuse = new Fuse(mnt, fs.ops(), {
      mkdir: true,
      attrTimeout: 0,
      // Names stay cached (no LOOKUP, which would refresh the attributes too), so only a working
      // attr_timeout=0 makes a size changed in JS show at the next stat.
      entryTimeout: 60,
      negativeTimeout: 0,
      fsname: 'fusebindingtest',
      extraOptions: ['big_writes', 'use_ino'],
      timeout: false,
    });
    fs.fuse = fuse;
    await mount(fuse);
  });

  after(async () => {
    if (fuse) await unmount(fuse);
    await lazyUnmount(mnt);
    await rm(dir, { recursive: true, force: true });
  });

  test('the -o string carries 0 timeouts, negative_timeout, user_id=N and the extra options', () => {
    const f = new Fuse(join(dir, 'unused'), {}, { attrTimeout: 0, entryTimeout: 0, negativeTimeout: 0, acAttrTimeout: 0, userId: 0, extraOptions: ['big_writes', 'max_write=131072'] });
    const opts = (f as unknown as { _fuseOptions(): string })._fuseOptions();
    assert.equal(opts, '-ouser_id=0,entry_timeout=0,attr_timeout=0,ac_attr_timeout=0,negative_timeout=0,big_writes,max_write=131072');
  });

  test('an option cannot smuggle a second one through a comma or a backslash', () => {
    for (const bad of ['big_writes,allow_other', 'fsname=x,allow_other', 'fsname=x\\', '', '=1', 'a b']) {
      assert.throws(() => new Fuse(join(dir, 'unused'), {}, { extraOptions: [bad] }), /Invalid FUSE option/, bad);
    }
    assert.throws(() => new Fuse(join(dir, 'unused'), {}, { fsname: 'x,allow_other' }), /Invalid FUSE option/);
    assert.throws(() => new Fuse(join(dir, 'unused'), {}, { extraOptions: ['x'.repeat(1100)] }), /longer than 1023/);
  });

  test('touch -d with nanoseconds reaches utimens exactly, for both times', async () => {
    await sh('touch', ['-d', '2020-01-01 00:00:00.123456789', p('a')]);
    const calls = fs.utimensCalls('/a');
    assert.deepEqual(calls.at(-1), { atime: Y2020 + 123_456_789n, mtime: Y2020 + 123_456_789n });
    // and a different atime/mtime pair (the old binding passed atime twice)
    await sh('touch', ['-d', '2020-01-01 00:00:00.111111111', p('a')]);
    await sh('touch', ['-m', '-d', '2020-01-01 00:00:00.222222222', p('a')]);
    assert.equal(await sh('stat', ['-c', '%x|%y', p('a')]), '2020-01-01 00:00:00.111111111 +0000|2020-01-01 00:00:00.222222222 +0000');
  });

  test('touch -m -d and touch -a -d reach utimens with the other time omitted', async () => {
    fs.files.set('/b', { mode: 0o100644, ino: 200, data: Buffer.alloc(0), atime: Y2020, mtime: Y2020, ctime: Y2020 });
    await sh('touch', ['-m', '-d', '2021-02-03 04:05:06.987654321', p('b')]);
    assert.deepEqual(fs.utimensCalls('/b'), [{ atime: 'omit', mtime: 1_612_325_106n * NS + 987_654_321n }]);
    await sh('touch', ['-a', '-d', '2022-03-04 05:06:07.000000001', p('b')]);
    assert.deepEqual(fs.utimensCalls('/b')[1], { atime: 1_646_370_367n * NS + 1n, mtime: 'omit' });
    assert.equal(await sh('stat', ['-c', '%x|%y', p('b')]), '2022-03-04 05:06:07.000000001 +0000|2021-02-03 04:05:06.987654321 +0000');
  });

  test("plain touch (UTIME_NOW) reaches utimens as 'now' for both", async () => {
    fs.files.set('/n', { mode: 0o100644, ino: 201, data: Buffer.alloc(0), atime: 0n, mtime: 0n, ctime: 0n });
    await sh('touch', [p('n')]);
    assert.deepEqual(fs.utimensCalls('/n'), [{ atime: 'now', mtime: 'now' }]);
  });

  test('stat shows the ns times and the 64-bit ino getattr returned; Date and ms still work', async () => {
    fs.files.set('/t', { mode: 0o100644, ino: 2n ** 40n + 5n, data: Buffer.alloc(3), atime: 1_600_000_000n * NS + 111_111_111n, mtime: 1_600_000_000n * NS + 222_222_222n, ctime: 1_600_000_000n * NS + 333_333_333n });
    assert.equal(await sh('stat', ['-c', '%x|%y|%z|%i|%s', p('t')]),
      '2020-09-13 12:26:40.111111111 +0000|2020-09-13 12:26:40.222222222 +0000|2020-09-13 12:26:40.333333333 +0000|1099511627781|3');
    // Before the epoch.
    fs.files.set('/old', { mode: 0o100644, ino: 202, data: Buffer.alloc(0), atime: -1n, mtime: -1_500_000_000n, ctime: 0n });
    assert.equal(await sh('stat', ['-c', '%X.%x|%Y|%y', p('old')]), '-1.1969-12-31 23:59:59.999999999 +0000|-2|1969-12-31 23:59:58.500000000 +0000');
    // Backward compatible: a Date, a ms number (fractions kept to the µs it can carry).
    fs.files.set('/d', { mode: 0o100644, ino: 203, data: Buffer.alloc(0), atime: new Date(1_600_000_000_123), mtime: 1_600_000_000_456.5, ctime: 1_600_000_000_789 });
    assert.equal(await sh('stat', ['-c', '%x|%y|%z', p('d')]), '2020-09-13 12:26:40.123000000 +0000|2020-09-13 12:26:40.456500000 +0000|2020-09-13 12:26:40.789000000 +0000');
  });

  test('attr_timeout=0 reaches the mount: a size changed in JS shows at the next stat', async () => {
    fs.files.set('/s', { mode: 0o100644, ino: 204, data: Buffer.alloc(10), atime: 0n, mtime: 0n, ctime: 0n });
    assert.equal(await sh('stat', ['-c', '%s', p('s')]), '10');
    fs.files.get('/s')!.data = Buffer.alloc(20);
    assert.equal(await sh('stat', ['-c', '%s', p('s')]), '20');
    fs.files.get('/s')!.data = Buffer.alloc(30);
    assert.equal(await sh('stat', ['-c', '%s', p('s')]), '30');
  });

  test('big_writes: a dd bs=1M reaches write() in 131072-byte requests', async () => {
    const before = fs.calls.length;
    await sh('dd', ['if=/dev/zero', `of=${p('big')}`, 'bs=1M', 'count=8', 'status=none']);
    const sizes = fs.calls.slice(before).flatMap((c) => (c.op === 'write' && c.path === '/big' ? [c.len] : []));
    const histogram = JSON.stringify(Object.fromEntries([...new Set(sizes)].map((s) => [s, sizes.filter((x) => x === s).length])));
    assert.ok(sizes.length === 64 && sizes.every((s) => s === 131072), `write sizes (size: count): ${histogram}`);
    assert.equal(fs.files.get('/big')!.data.length, 8 << 20);
    assert.equal((await stat(p('big'))).size, 8 << 20);
  });

  test('fgetattr receives the fd create returned', async () => {
    await sh('sh', ['-c', `: > '${p('f')}'`]);
    const created = fs.calls.find((c) => c.op === 'create' && c.path === '/f');
    assert.ok(created && created.op === 'create');
    const fget = fs.calls.filter((c) => c.op === 'fgetattr' && c.path === '/f');
    assert.ok(fget.length > 0, 'fgetattr was called');
    assert.ok(fget.every((c) => c.op === 'fgetattr' && c.fd === created.fd), JSON.stringify(fget));
  });

  test('an option libfuse rejects fails the mount and leaves no dead mount behind', async () => {
    const bad = join(dir, 'bad');
    const f = new Fuse(bad, new MemFs().ops(), { mkdir: true, extraOptions: ['writeback_cache'] });
    try {
      await assert.rejects(mount(f), /fuse failed/);
      assert.equal(await isMounted(bad), false, 'no mount left');
      assert.ok((await stat(bad)).isDirectory(), 'mount point usable (not ENOTCONN)');
    } finally {
      await lazyUnmount(bad);
    }
  });
});

const NOBODY = 65534;
/** Runs `sh -c script` as nobody:nogroup with no supplementary groups; returns stdout trimmed. */
function asNobody(script: string, ...args: string[]): Promise<string> {
  return sh('setpriv', [`--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups', 'sh', '-c', script, 'sh', ...args]);
}
const latin1 = (b: Buffer) => b.toString('latin1');
const hex = (b: Buffer) => b.toString('hex');

/**
 * Creates, lists (os.listdir on bytes), opens, renames, links, symlinks and xattrs names with
 * non-UTF-8 bytes from Python, and prints what came back, as hex.
 */
const NAMES_PY = String.raw`
import json, os, sys
mnt = os.fsencode(sys.argv[1])
d = mnt + b'/names'
out = {}
def put(path, data):
    with open(path, 'wb') as f:
        f.write(data)
def get(path):
    with open(path, 'rb') as f:
        return f.read().decode()
def ls(path):
    return sorted(n.hex() for n in os.listdir(path))
os.mkdir(d)
odd = b'\xff\xfe odd\nname'
long = b'\xff\xfe' * 127 + b'L'
sub = b'sub \xfe\xff\x80'
put(d + b'/' + odd, b'content-odd')
put(d + b'/' + long, b'content-long')
os.mkdir(d + b'/' + sub)
put(d + b'/' + sub + b'/in\xff\n', b'content-deep')
out['list1'] = ls(d)
out['list_sub'] = ls(d + b'/' + sub)
out['read_odd'] = get(d + b'/' + odd)
out['read_long'] = get(d + b'/' + long)
out['read_deep'] = get(d + b'/' + sub + b'/in\xff\n')
renamed = b'renamed \xfe\xff\n'
os.rename(d + b'/' + odd, d + b'/' + renamed)
out['old_gone'] = not os.path.lexists(d + b'/' + odd)
out['read_renamed'] = get(d + b'/' + renamed)
os.link(d + b'/' + renamed, d + b'/hard\xff')
out['read_hard'] = get(d + b'/hard\xff')
os.rename(d + b'/' + sub, d + b'/' + sub + b'2\xff')
out['read_moved_deep'] = get(d + b'/' + sub + b'2\xff/in\xff\n')
target = b'../t\xff\xfe\x80 x\ny/\xc3'
os.symlink(target, d + b'/sym\xfe')
out['readlink'] = os.readlink(d + b'/sym\xfe').hex()
xname = b'user.\xff\xfe x\n'
big = bytes(range(256)) * 2
os.setxattr(d + b'/' + renamed, xname, big)
os.setxattr(d + b'/' + renamed, b'user.' + b'\xe9' * 200, b'v')
out['listxattr'] = sorted(os.fsencode(n).hex() for n in os.listxattr(d + b'/' + renamed))
out['getxattr_ok'] = os.getxattr(d + b'/' + renamed, xname) == big
os.removexattr(d + b'/' + renamed, xname)
out['listxattr2'] = sorted(os.fsencode(n).hex() for n in os.listxattr(d + b'/' + renamed))
out['list2'] = ls(d)
out['list_bytes'] = ls(mnt + b'/bytes')
out['readlink_bytes'] = os.readlink(mnt + b'/bytes/lnk').hex()
print(json.dumps(out))
`;

describe('caller identity and byte-exact names (allow_other, default_permissions)', () => {
  let dir: string;
  let mnt: string;
  let fs: MemFs;
  let fuse: Fuse | undefined;
  const p = (name: string) => join(mnt, name);
  const warnings: Error[] = [];
  const onWarning = (w: Error) => warnings.push(w);

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'fuse-context-'));
    await chmod(dir, 0o755); // nobody must be able to reach the mount point
    mnt = join(dir, 'mnt');
    fs = new MemFs();
    const dirNode = (mode: number): Node => ({ mode: S_IFDIR | mode, ino: 0, data: Buffer.alloc(0), atime: 0n, mtime: 0n, ctime: 0n });
    fs.files.set('/pub', { ...dirNode(0o1777), ino: 300 }); // world-writable, sticky
    // Names listed as Buffers, and a readlink answered with a Buffer.
    fs.files.set('/bytes', { ...dirNode(0o755), ino: 301 });
    for (const [i, name] of [Buffer.from([0xff, 0xfe, 0x20, 0x0a]), Buffer.from('plain')].entries()) {
      fs.files.set('/bytes/' + latin1(name), { mode: 0o100644, ino: 310 + i, data: Buffer.alloc(0), atime: 0n, mtime: 0n, ctime: 0n });
    }
    fs.files.set('/bytes/lnk', { mode: S_IFLNK | 0o777, ino: 320, data: Buffer.alloc(0), atime: 0n, mtime: 0n, ctime: 0n, target: Buffer.from([0xff, 0x80, 0x2f, 0x41]) });
    // Names the binding must refuse (EIO) rather than mangle.
    fs.files.set('/bad', { ...dirNode(0o755), ino: 302 });
    fs.files.set('/bad/\u20acuro', { mode: 0o100644, ino: 330, data: Buffer.alloc(0), atime: 0n, mtime: 0n, ctime: 0n });
    const link = (ino: number, target: string): Node => ({ mode: S_IFLNK | 0o777, ino, data: Buffer.alloc(0), atime: 0n, mtime: 0n, ctime: 0n, target });
    fs.files.set('/badlink-wide', link(331, 'a\u20ac'));
    fs.files.set('/badlink-nul', link(332, 'a\0b'));
    fs.files.set('/badlink-long', link(333, 'a'.repeat(5000)));
    fuse = new Fuse(mnt, fs.ops(), {
      mkdir: true,
      allowOther: true,
      defaultPermissions: true,
      attrTimeout: 0,
      entryTimeout: 0,
      negativeTimeout: 0,
      fsname: 'fusebindingctx',
      extraOptions: ['use_ino'],
      timeout: false,
    });
    fs.fuse = fuse;
    process.on('warning', onWarning);
    await mount(fuse);
  });

  after(async () => {
    process.off('warning', onWarning);
    if (fuse) await unmount(fuse);
    await lazyUnmount(mnt);
    await rm(dir, { recursive: true, force: true });
  });

  test('a file created by nobody reaches JS with uid/gid 65534, the pid and the umask of the caller', async () => {
    const from = fs.ctxLog.length;
    const pid = Number(await asNobody('umask 027; echo $$; exec touch "$1"', p('pub/x')));
    assert.ok(pid > 1);
    const seen = fs.ctxLog.slice(from).filter((e) => e.path === '/pub/x');
    const create = seen.find((e) => e.op === 'create');
    assert.deepEqual(create?.ctx, { uid: NOBODY, gid: NOBODY, pid, umask: 0o027 }, JSON.stringify(seen));
    const createCall = fs.calls.find((c) => c.op === 'create' && c.path === '/pub/x');
    assert.equal(createCall?.op === 'create' && createCall.mode, 0o100640, 'the kernel applied the umask to the mode');
    // Every request touch made (lookup, create, fgetattr, utimens, flush…) carries its identity;
    // the kernel sends release without credentials.
    const mine = seen.filter((e) => e.op !== 'release');
    assert.ok(mine.length >= 3 && mine.some((e) => e.op === 'utimens'), JSON.stringify(seen));
    for (const e of mine) assert.deepEqual(e.ctx && { uid: e.ctx.uid, gid: e.ctx.gid, pid: e.ctx.pid }, { uid: NOBODY, gid: NOBODY, pid }, JSON.stringify(e));
    // The file is owned by its creator (default_permissions then let nobody's utimens through).
    assert.equal(await sh('stat', ['-c', '%u:%g %a', p('pub/x')]), '65534:65534 640');
    // root's own requests carry uid 0 and this test's child pid, not nobody's.
    const rootStat = fs.ctxLog.slice(from).filter((e) => e.path === '/pub/x' && e.ctx?.uid === 0 && e.op === 'getattr');
    assert.ok(rootStat.length > 0 && rootStat.every((e) => e.ctx?.pid !== pid));
  });

  test('concurrent callers with different uids each see their own identity', async () => {
    const n = 24;
    const pids = await Promise.all(Array.from({ length: n }, (_, i) =>
      sh('setpriv', [`--reuid=${2000 + i}`, `--regid=${3000 + i}`, '--clear-groups', 'sh', '-c', 'umask 022; echo $$; exec touch "$1"', 'sh', p(`pub/u${i}`)]).then(Number)));
    for (let i = 0; i < n; i++) {
      const create = fs.ctxLog.find((e) => e.op === 'create' && e.path === `/pub/u${i}`);
      assert.deepEqual(create?.ctx, { uid: 2000 + i, gid: 3000 + i, pid: pids[i], umask: 0o022 }, `u${i}`);
      assert.equal(fs.files.get(`/pub/u${i}`)?.uid, 2000 + i);
    }
  });

  test('context() is null outside the synchronous part of a handler', async () => {
    assert.equal(fuse!.context(), null);
    assert.ok(fs.lateCtx.length > 0, 'a create ran');
    assert.ok(fs.lateCtx.every((c) => c === null), 'null in a microtask after the handler returned');
  });

  test('mkdir by nobody gets its identity and umask; the kernel denies nobody in the root', async () => {
    const pid = Number(await asNobody('umask 022; echo $$; exec mkdir "$1"', p('pub/d')));
    const mk = fs.ctxLog.find((e) => e.op === 'mkdir' && e.path === '/pub/d');
    assert.deepEqual(mk?.ctx, { uid: NOBODY, gid: NOBODY, pid, umask: 0o022 });
    assert.equal(await sh('stat', ['-c', '%u:%g %a', p('pub/d')]), '65534:65534 755');
    // nobody can create in its own directory, and not in root's 0755 root directory.
    await asNobody('exec touch "$1"', p('pub/d/f'));
    assert.equal(await sh('stat', ['-c', '%u:%g', p('pub/d/f')]), '65534:65534');
    const denied = await shStatus('setpriv', [`--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups', 'touch', p('y')]);
    assert.notEqual(denied.code, 0);
    assert.match(denied.stderr, /Permission denied/);
    assert.equal(fs.calls.some((c) => c.op === 'create' && c.path === '/y'), false);
  });

  test('names with 0xff 0xfe, a newline and a space round-trip byte-exact (255-byte name too)', async () => {
    const out = JSON.parse(await sh('python3', ['-c', NAMES_PY, mnt])) as Record<string, unknown>;
    const odd = Buffer.from('\xff\xfe odd\nname', 'latin1');
    const long = Buffer.concat([Buffer.from('\xff\xfe'.repeat(127), 'latin1'), Buffer.from('L')]);
    const sub = Buffer.from('sub \xfe\xff\x80', 'latin1');
    const renamed = Buffer.from('renamed \xfe\xff\n', 'latin1');
    const target = Buffer.from('../t\xff\xfe\x80 x\ny/\xc3', 'latin1');
    const xname = Buffer.from('user.\xff\xfe x\n', 'latin1');
    const xlong = Buffer.from('user.' + '\xe9'.repeat(200), 'latin1');
    assert.equal(long.length, 255);
    const sorted = (...bs: Buffer[]) => bs.map(hex).sort();
    assert.deepEqual(out.list1, sorted(odd, long, sub));
    assert.deepEqual(out.list_sub, sorted(Buffer.from('in\xff\n', 'latin1')));
    assert.equal(out.read_odd, 'content-odd');
    assert.equal(out.read_long, 'content-long');
    assert.equal(out.read_deep, 'content-deep');
    assert.equal(out.old_gone, true);
    assert.equal(out.read_renamed, 'content-odd');
    assert.equal(out.read_hard, 'content-odd');
    assert.equal(out.read_moved_deep, 'content-deep');
    assert.equal(out.readlink, hex(target));
    assert.deepEqual(out.listxattr, sorted(xname, xlong));
    assert.equal(out.getxattr_ok, true, 'a 512-byte value read back (ERANGE for the 128-byte probe, then the full value)');
    assert.deepEqual(out.listxattr2, sorted(xlong));
    const subMoved = Buffer.concat([sub, Buffer.from('2\xff', 'latin1')]);
    assert.deepEqual(out.list2, sorted(renamed, long, subMoved, Buffer.from('hard\xff', 'latin1'), Buffer.from('sym\xfe', 'latin1')));
    // Names listed as Buffers by readdir, a readlink answered with a Buffer.
    assert.deepEqual(out.list_bytes, sorted(Buffer.from([0xff, 0xfe, 0x20, 0x0a]), Buffer.from('plain'), Buffer.from('lnk')));
    assert.equal(out.readlink_bytes, 'ff802f41');

    // JS saw the exact bytes as latin1 strings.
    const key = (...parts: Buffer[]) => '/names/' + parts.map(latin1).join('/');
    for (const k of [key(renamed), key(long), key(subMoved, Buffer.from('in\xff\n', 'latin1')), key(Buffer.from('hard\xff', 'latin1'))]) {
      assert.ok(fs.files.has(k), JSON.stringify(k));
    }
    assert.equal(fs.files.has(key(odd)), false);
    assert.equal(fs.files.get(key(Buffer.from('sym\xfe', 'latin1')))?.target, latin1(target));
    assert.deepEqual([...fs.files.get(key(renamed))!.xattrs!.keys()], [latin1(xlong)]);

    // ls lists them too (NUL-separated, compared as bytes).
    const listed = (await shBytes('ls', ['-1', '--zero', p('names')])).toString('latin1').split('\0').filter(Boolean);
    assert.deepEqual(listed.map((s) => hex(Buffer.from(s, 'latin1'))).sort(), out.list2);
  });

  test('a name or link target that is not a latin1 byte string is an EIO, not a mangled name', async () => {
    const before = warnings.length;
    const ls = await shStatus('ls', [p('bad')]);
    assert.notEqual(ls.code, 0);
    assert.match(ls.stderr, /Input\/output error/);
    for (const name of ['badlink-wide', 'badlink-nul']) {
      const r = await shStatus('readlink', ['-v', p(name)]);
      assert.match(r.stderr, /Input\/output error/, name);
    }
    const long = await shStatus('readlink', ['-v', p('badlink-long')]);
    assert.match(long.stderr, /File name too long/);
    await new Promise((resolve) => setImmediate(resolve));
    const codes = warnings.slice(before).map((w) => (w as Error & { code?: string }).code);
    assert.deepEqual(codes, ['FUSE_NATIVE_BAD_NAME', 'FUSE_NATIVE_BAD_NAME', 'FUSE_NATIVE_BAD_NAME']);
  });
});
