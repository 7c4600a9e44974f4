/**
 * Conformance: the root, creating nodes (mknod, mkdir, symlink, link), readlink and lookup.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MAX_SYMLINK_BYTES, ROOT_INO, stMode } from '../../../src/meta/index.js';
import {
  CALLER, assertDirTouched, assertTimeBetween, b, nowNs, rejectsWith, tick,
} from './suite-context.js';
import type { SuiteContext } from './suite-context.js';

export function createTests(ctx: SuiteContext): void {
  describe('root', () => {
    it('is inode 1, a directory with nlink 2 and itself as parent, on a fresh volume', async (t) => {
      const vol = await ctx.ownVolume(t, 'root');
      const root = await vol.engine.getattr(ROOT_INO);
      assert.equal(root.ino, 1);
      assert.equal(root.type, 'directory');
      assert.equal(root.nlink, 2);
      assert.equal(stMode(root) & 0o170000, 0o040000, 'S_IFDIR');
      assert.equal((await vol.engine.lookup(ROOT_INO, b('.'))).ino, ROOT_INO);
      assert.equal((await vol.engine.lookup(ROOT_INO, b('..'))).ino, ROOT_INO, "the root's '..' is the root");
      const page = await vol.engine.readdir(ROOT_INO);
      assert.deepEqual(page.entries, [], 'a fresh root is empty (no . or .. listed)');
    });

    it('records the volume settings given at format', () => {
      const v = ctx.meta.volume;
      assert.equal(v.name, `t-suite-${ctx.kind}`);
      assert.equal(v.blockSize, 4 << 20);
      assert.equal(v.compression, 'lz4');
      assert.equal(v.storage, 'file:///tmp/unused');
      assert.equal(v.trashDays, 0);
      assert.match(v.uuid, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i);
    });

    it('getattr of an inode that never existed is ENOENT', async () => {
      await rejectsWith(() => ctx.meta.getattr(987_654_321), 'ENOENT', 'getattr(987654321)');
    });
  });

  describe('mknod', () => {
    it('creates a regular file with the given mode, the caller as owner, nlink 1, length 0, times now', async () => {
      const d = await ctx.dir('mknod');
      const t0 = nowNs();
      const f = await ctx.meta.mknod(CALLER, d.ino, b('f'), 'file', 0o640);
      const t1 = nowNs();
      assert.equal(f.type, 'file');
      assert.equal(f.mode, 0o640);
      assert.equal(stMode(f), 0o100640);
      assert.equal(f.uid, CALLER.uid);
      assert.equal(f.gid, CALLER.gid);
      assert.equal(f.nlink, 1);
      assert.equal(f.length, 0);
      assert.equal(f.parent, d.ino);
      assert.ok(Number.isSafeInteger(f.ino) && f.ino > ROOT_INO, `new inode number ${f.ino}`);
      assertTimeBetween(f.atime, t0, t1, 'atime');
      assertTimeBetween(f.mtime, t0, t1, 'mtime');
      assertTimeBetween(f.ctime, t0, t1, 'ctime');
      const { dirs, ...attr } = f;
      assert.deepEqual(await ctx.meta.getattr(f.ino), attr, 'getattr returns what mknod returned');
      assert.deepEqual(await ctx.meta.lookup(d.ino, b('f')), attr, 'lookup returns the same attributes');
      // The directory as the create left it: what getattr of it says now (decision 82).
      assert.deepEqual(dirs, [await ctx.meta.getattr(d.ino)], 'mknod returns its directory as it left it');
      assert.ok(dirs?.[0] !== undefined && dirs[0].mtime >= t0 && dirs[0].mtime <= t1, 'the directory was touched by the create');
    });

    it('keeps setuid/setgid/sticky bits and creates fifo, socket and device nodes with rdev', async () => {
      const d = await ctx.dir('mknod-types');
      const s = await ctx.meta.mknod(CALLER, d.ino, b('suid'), 'file', 0o6755);
      assert.equal(s.mode, 0o6755);
      const fifo = await ctx.meta.mknod(CALLER, d.ino, b('fifo'), 'fifo', 0o600);
      assert.equal(fifo.type, 'fifo');
      assert.equal(stMode(fifo), 0o010600);
      const sock = await ctx.meta.mknod(CALLER, d.ino, b('sock'), 'socket', 0o755);
      assert.equal(sock.type, 'socket');
      const rdev = (8 << 8) | 1; // major 8, minor 1
      const blk = await ctx.meta.mknod(CALLER, d.ino, b('blk'), 'blockdev', 0o660, rdev);
      assert.equal(blk.type, 'blockdev');
      assert.equal(blk.rdev, rdev);
      const chr = await ctx.meta.mknod(CALLER, d.ino, b('chr'), 'chardev', 0o666, 0x0103);
      assert.equal(chr.type, 'chardev');
      assert.equal((await ctx.meta.getattr(chr.ino)).rdev, 0x0103, 'rdev is stored');
      assert.equal((await ctx.meta.lookup(d.ino, b('blk'))).type, 'blockdev');
    });

    it('gives each new inode a distinct number and later ones later times', async () => {
      const d = await ctx.dir('mknod-times');
      const a = await ctx.meta.mknod(CALLER, d.ino, b('a'), 'file', 0o644);
      await tick();
      const c = await ctx.meta.mknod(CALLER, d.ino, b('c'), 'file', 0o644);
      assert.notEqual(a.ino, c.ino);
      assert.ok(c.ctime > a.ctime, `ctime advances: ${c.ctime} > ${a.ctime}`);
      assert.ok(c.mtime > a.mtime, `mtime advances: ${c.mtime} > ${a.mtime}`);
    });

    it("updates the parent's mtime and ctime but not its nlink", async () => {
      const d = await ctx.dir('mknod-parent');
      await tick();
      await ctx.meta.mknod(CALLER, d.ino, b('x'), 'file', 0o644);
      const after = await assertDirTouched(ctx.meta, d, 'mknod');
      assert.equal(after.nlink, 2, 'a file does not add to the parent link count');
    });

    it('refuses a taken name (EEXIST), a missing parent (ENOENT) and a file as parent (ENOTDIR)', async () => {
      const d = await ctx.dir('mknod-err');
      const f = await ctx.meta.mknod(CALLER, d.ino, b('f'), 'file', 0o644);
      await ctx.meta.mkdir(CALLER, d.ino, b('sub'), 0o755);
      await rejectsWith(() => ctx.meta.mknod(CALLER, d.ino, b('f'), 'file', 0o644), 'EEXIST', 'mknod over a file');
      await rejectsWith(() => ctx.meta.mknod(CALLER, d.ino, b('sub'), 'fifo', 0o644), 'EEXIST', 'mknod over a directory');
      await rejectsWith(() => ctx.meta.mknod(CALLER, 987_654_321, b('x'), 'file', 0o644), 'ENOENT', 'mknod in a missing parent');
      await rejectsWith(() => ctx.meta.mknod(CALLER, f.ino, b('x'), 'file', 0o644), 'ENOTDIR', 'mknod in a file');
      // ext4: mknod/mkdir of '.' or '..' is EEXIST (the names always exist).
      await rejectsWith(() => ctx.meta.mknod(CALLER, d.ino, b('.'), 'file', 0o644), 'EEXIST', "mknod '.'");
      await rejectsWith(() => ctx.meta.mkdir(CALLER, d.ino, b('..'), 0o755), 'EEXIST', "mkdir '..'");
      assert.equal((await ctx.meta.getattr(f.ino)).nlink, 1, 'the failed creates left the file alone');
    });
  });

  describe('mkdir', () => {
    it('creates a directory with nlink 2, the caller as owner and the parent as its ..', async () => {
      const d = await ctx.dir('mkdir');
      await tick();
      const t0 = nowNs();
      const s = await ctx.meta.mkdir(CALLER, d.ino, b('sub'), 0o750);
      const t1 = nowNs();
      assert.equal(s.type, 'directory');
      assert.equal(s.mode, 0o750);
      assert.equal(stMode(s), 0o040750);
      assert.equal(s.uid, CALLER.uid);
      assert.equal(s.gid, CALLER.gid);
      assert.equal(s.nlink, 2);
      assert.equal(s.length, 0, 'contract: directories have length 0');
      assert.equal(s.parent, d.ino);
      assertTimeBetween(s.mtime, t0, t1, 'mtime');
      assertTimeBetween(s.ctime, t0, t1, 'ctime');
      assert.equal((await ctx.meta.lookup(s.ino, b('..'))).ino, d.ino);
      assert.equal((await ctx.meta.lookup(s.ino, b('.'))).ino, s.ino);
      const parent = await assertDirTouched(ctx.meta, d, 'mkdir');
      assert.equal(parent.nlink, 3, 'the parent gains a link from the new ..');
    });

    it('keeps a directory nlink at 2 + number of subdirectories', async () => {
      const d = await ctx.dir('mkdir-nlink');
      for (const n of ['a', 'b', 'c']) await ctx.meta.mkdir(CALLER, d.ino, b(n), 0o755);
      await ctx.meta.mknod(CALLER, d.ino, b('f1'), 'file', 0o644);
      await ctx.meta.symlink(CALLER, d.ino, b('l1'), b('a'));
      assert.equal((await ctx.meta.getattr(d.ino)).nlink, 5);
      await ctx.meta.rmdir(d.ino, b('b'));
      assert.equal((await ctx.meta.getattr(d.ino)).nlink, 4);
    });

    it('refuses a taken name with EEXIST and a file as parent with ENOTDIR', async () => {
      const d = await ctx.dir('mkdir-err');
      const f = await ctx.meta.mknod(CALLER, d.ino, b('f'), 'file', 0o644);
      await ctx.meta.mkdir(CALLER, d.ino, b('s'), 0o755);
      await rejectsWith(() => ctx.meta.mkdir(CALLER, d.ino, b('s'), 0o755), 'EEXIST', 'mkdir over a directory');
      await rejectsWith(() => ctx.meta.mkdir(CALLER, d.ino, b('f'), 0o755), 'EEXIST', 'mkdir over a file');
      await rejectsWith(() => ctx.meta.mkdir(CALLER, f.ino, b('x'), 0o755), 'ENOTDIR', 'mkdir in a file');
      assert.equal((await ctx.meta.getattr(d.ino)).nlink, 3, 'failed mkdirs do not change the parent nlink');
    });
  });

  describe('symlink and readlink', () => {
    it('creates a symlink whose length is the target length and whose target reads back byte for byte', async () => {
      const d = await ctx.dir('symlink');
      await tick();
      const target = Buffer.concat([b('../some dir/x\n'), Buffer.from([0xff, 0xfe, 0x80])]);
      const l = await ctx.meta.symlink(CALLER, d.ino, b('l'), target);
      assert.equal(l.type, 'symlink');
      assert.equal(stMode(l) & 0o170000, 0o120000);
      assert.equal(l.mode, 0o777, 'ext4: symlinks are always 0777');
      assert.equal(l.uid, CALLER.uid);
      assert.equal(l.gid, CALLER.gid);
      assert.equal(l.nlink, 1);
      assert.equal(l.length, target.length);
      assert.deepEqual(await ctx.meta.readlink(l.ino), target);
      await assertDirTouched(ctx.meta, d, 'symlink');
      await rejectsWith(() => ctx.meta.symlink(CALLER, d.ino, b('l'), b('x')), 'EEXIST', 'symlink over a symlink');
    });

    it('accepts a target of MAX_SYMLINK_BYTES and refuses a longer one with ENAMETOOLONG', async () => {
      const d = await ctx.dir('symlink-long');
      const max = Buffer.alloc(MAX_SYMLINK_BYTES, 'a');
      const l = await ctx.meta.symlink(CALLER, d.ino, b('max'), max);
      assert.deepEqual(await ctx.meta.readlink(l.ino), max);
      await rejectsWith(() => ctx.meta.symlink(CALLER, d.ino, b('over'), Buffer.alloc(MAX_SYMLINK_BYTES + 1, 'a')),
        'ENAMETOOLONG', 'symlink target over the limit');
    });

    it('readlink of a file or directory is EINVAL (ext4) and of a missing inode ENOENT', async () => {
      const d = await ctx.dir('readlink-err');
      const f = await ctx.meta.mknod(CALLER, d.ino, b('f'), 'file', 0o644);
      await rejectsWith(() => ctx.meta.readlink(f.ino), 'EINVAL', 'readlink of a file');
      await rejectsWith(() => ctx.meta.readlink(d.ino), 'EINVAL', 'readlink of a directory');
      await rejectsWith(() => ctx.meta.readlink(987_654_321), 'ENOENT', 'readlink of a missing inode');
    });
  });

  describe('link', () => {
    it('adds a name to a file: nlink 2, ctime advances, both names resolve to one inode', async () => {
      const d = await ctx.dir('link');
      const other = await ctx.dir('link-other');
      const f = await ctx.meta.mknod(CALLER, d.ino, b('f'), 'file', 0o644);
      await tick();
      const l = await ctx.meta.link(f.ino, other.ino, b('g'));
      assert.equal(l.ino, f.ino);
      assert.equal(l.nlink, 2);
      assert.ok(l.ctime > f.ctime, 'link changes the inode ctime');
      assert.equal(l.mode, f.mode);
      assert.equal((await ctx.meta.lookup(other.ino, b('g'))).ino, f.ino);
      assert.equal((await ctx.meta.lookup(d.ino, b('f'))).nlink, 2, 'every name sees the new count');
      const parent = await assertDirTouched(ctx.meta, other, 'link');
      assert.equal(parent.nlink, 2, 'a hard link does not add to the directory nlink');
      const l3 = await ctx.meta.link(f.ino, d.ino, b('h'));
      assert.equal(l3.nlink, 3);
    });

    it('links symlinks, refuses directories (EPERM), taken names (EEXIST) and missing inodes (ENOENT)', async () => {
      const d = await ctx.dir('link-err');
      const s = await ctx.meta.symlink(CALLER, d.ino, b('s'), b('target'));
      const ls = await ctx.meta.link(s.ino, d.ino, b('s2'));
      assert.equal(ls.nlink, 2);
      assert.deepEqual(await ctx.meta.readlink((await ctx.meta.lookup(d.ino, b('s2'))).ino), b('target'));
      const sub = await ctx.meta.mkdir(CALLER, d.ino, b('sub'), 0o755);
      await rejectsWith(() => ctx.meta.link(sub.ino, d.ino, b('sub2')), 'EPERM', 'link to a directory');
      await rejectsWith(() => ctx.meta.link(s.ino, d.ino, b('sub')), 'EEXIST', 'link over a taken name');
      await rejectsWith(() => ctx.meta.link(987_654_321, d.ino, b('x')), 'ENOENT', 'link to a missing inode');
      await rejectsWith(() => ctx.meta.link(s.ino, 987_654_321, b('x')), 'ENOENT', 'link into a missing parent');
      assert.equal((await ctx.meta.getattr(sub.ino)).nlink, 2, 'the directory link count is unchanged');
      assert.equal((await ctx.meta.getattr(d.ino)).nlink, 3);
      assert.equal((await ctx.meta.getattr(s.ino)).nlink, 2, 'failed links did not count');
    });
  });

  describe('lookup', () => {
    it("resolves names, '.' and '..', and fails with ENOENT or ENOTDIR", async () => {
      const d = await ctx.dir('lookup');
      const sub = await ctx.meta.mkdir(CALLER, d.ino, b('sub'), 0o755);
      const f = await ctx.meta.mknod(CALLER, sub.ino, b('f'), 'file', 0o644);
      assert.deepEqual(await ctx.meta.lookup(d.ino, b('sub')), await ctx.meta.getattr(sub.ino));
      assert.equal((await ctx.meta.lookup(sub.ino, b('f'))).ino, f.ino);
      assert.deepEqual(await ctx.meta.lookup(sub.ino, b('.')), await ctx.meta.getattr(sub.ino));
      assert.deepEqual(await ctx.meta.lookup(sub.ino, b('..')), await ctx.meta.getattr(d.ino));
      assert.equal((await ctx.meta.lookup(d.ino, b('..'))).ino, ROOT_INO);
      await rejectsWith(() => ctx.meta.lookup(d.ino, b('missing')), 'ENOENT', 'lookup of a missing name');
      await rejectsWith(() => ctx.meta.lookup(d.ino, b('f')), 'ENOENT', 'lookup of a name that is in another directory');
      await rejectsWith(() => ctx.meta.lookup(f.ino, b('x')), 'ENOTDIR', 'lookup in a file');
      await rejectsWith(() => ctx.meta.lookup(987_654_321, b('x')), 'ENOENT', 'lookup in a missing directory');
    });

    it('is exact on bytes: case and trailing bytes matter', async () => {
      const d = await ctx.dir('lookup-bytes');
      const lower = await ctx.meta.mknod(CALLER, d.ino, b('name'), 'file', 0o644);
      const upper = await ctx.meta.mknod(CALLER, d.ino, b('NAME'), 'file', 0o644);
      const spaced = await ctx.meta.mknod(CALLER, d.ino, b('name '), 'file', 0o644);
      assert.equal(new Set([lower.ino, upper.ino, spaced.ino]).size, 3);
      assert.equal((await ctx.meta.lookup(d.ino, b('NAME'))).ino, upper.ino);
      assert.equal((await ctx.meta.lookup(d.ino, b('name '))).ino, spaced.ino);
      await rejectsWith(() => ctx.meta.lookup(d.ino, b('Name')), 'ENOENT', 'lookup with different case');
      await rejectsWith(() => ctx.meta.lookup(d.ino, b('nam')), 'ENOENT', 'lookup of a prefix');
    });
  });
}
