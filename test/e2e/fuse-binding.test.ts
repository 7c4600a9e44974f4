/**
 * The patched fuse-native binding (patches/fuse-native+2.2.6.patch) on a real mount: a tiny
 * in-memory filesystem hosted by this process, driven with coreutils in child processes (a
 * synchronous fs call from this process on its own mount would deadlock the JS thread).
 *
 * Checks each fix: utimens gets both times in ns, one-sided `touch -m`/`touch -a` reach utimens
 * with the other side 'omit', getattr's bigint ns times and 64-bit ino reach `stat`,
 * attr_timeout=0 really reaches the mount, big_writes gives 128 KiB writes, fgetattr gets the fd,
 * option validation, and a failing mount leaves no dead mount behind.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
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
}

type Call =
  | { op: 'utimens'; path: string; atime: Fuse.UtimensTime; mtime: Fuse.UtimensTime }
  | { op: 'fgetattr'; path: string; fd: number }
  | { op: 'create'; path: string; fd: number }
  | { op: 'write'; path: string; len: number };

/** A flat in-memory filesystem (files in the root only) that logs what the binding hands it. */
class MemFs {
  readonly files = new Map<string, Node>();
  readonly calls: Call[] = [];
  #nextIno = 100;
  #nextFd = 1000;
  readonly #root: Node = { mode: 0o40755, ino: 1, data: Buffer.alloc(0), atime: 0n, mtime: 0n, ctime: 0n };

  stat(n: Node): Fuse.Stat {
    return { mode: n.mode, uid: 0, gid: 0, size: n.data.length, nlink: 1, ino: n.ino, blksize: 4096, blocks: Math.ceil(n.data.length / 512), atime: n.atime, mtime: n.mtime, ctime: n.ctime };
  }

  node(path: string): Node | undefined {
    return path === '/' ? this.#root : this.files.get(path);
  }

  ops(): Fuse.Operations {
    return {
      getattr: (path, cb) => {
        const n = this.node(path);
        if (!n) return cb(Fuse.ENOENT);
        cb(0, this.stat(n));
      },
      fgetattr: (path, fd, cb) => {
        this.calls.push({ op: 'fgetattr', path, fd });
        const n = this.node(path);
        if (!n) return cb(Fuse.ENOENT);
        cb(0, this.stat(n));
      },
      readdir: (path, cb) => {
        if (path !== '/') return cb(Fuse.ENOTDIR);
        cb(0, [...this.files.keys()].map((p) => p.slice(1)));
      },
      create: (path, mode, cb) => {
        const now = BigInt(Date.now()) * 1_000_000n;
        this.files.set(path, { mode, ino: this.#nextIno++, data: Buffer.alloc(0), atime: now, mtime: now, ctime: now });
        const fd = this.#nextFd++;
        this.calls.push({ op: 'create', path, fd });
        cb(0, fd);
      },
      open: (path, _flags, cb) => (this.files.has(path) ? cb(0, this.#nextFd++) : cb(Fuse.ENOENT)),
      release: (_path, _fd, cb) => cb(0),
      read: (path, _fd, buf, len, pos, cb) => {
        const n = this.files.get(path);
        if (!n) return cb(Fuse.ENOENT);
        cb(n.data.copy(buf, 0, pos, Math.min(n.data.length, pos + len)));
      },
      write: (path, _fd, buf, len, pos, cb) => {
        const n = this.files.get(path);
        if (!n) return cb(Fuse.ENOENT);
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
        const n = this.files.get(path);
        if (!n) return cb(Fuse.ENOENT);
        n.data = Buffer.concat([n.data, Buffer.alloc(Math.max(0, size - n.data.length))]).subarray(0, size);
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
    assert.equal(Fuse.OBJECTFS_PATCH, 1, 'the patched binding is loaded');
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
