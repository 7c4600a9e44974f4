/**
 * Conformance: unlink and rmdir.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CALLER, assertDirTouched, b, listNames, rejectsWith, tick, unlinkChecked } from './suite-context.js';
import type { SuiteContext } from './suite-context.js';

export function removeTests(ctx: SuiteContext): void {
  describe('unlink', () => {
    it('drops one link at a time: nlink decrements, gone only with the last link', async () => {
      const d = await ctx.dir('unlink');
      const f = await ctx.meta.mknod(CALLER, d.ino, b('f'), 'file', 0o644);
      await ctx.meta.link(f.ino, d.ino, b('g'));
      const linked = await ctx.meta.getattr(f.ino);
      await tick();
      const r1 = await unlinkChecked(ctx.meta, d.ino, b('f'));
      assert.deepEqual(r1, { ino: f.ino, gone: false });
      const left = await ctx.meta.getattr(f.ino);
      assert.equal(left.nlink, 1);
      assert.ok(left.ctime > linked.ctime, 'unlink changes the ctime of an inode that keeps links');
      await rejectsWith(() => ctx.meta.lookup(d.ino, b('f')), 'ENOENT', 'the unlinked name');
      assert.equal((await ctx.meta.lookup(d.ino, b('g'))).ino, f.ino, 'the other name stays');
      const r2 = await ctx.meta.unlink(d.ino, b('g'));
      assert.equal(r2.ino, f.ino);
      assert.equal(r2.gone, true, 'the last link is gone');
      assert.deepEqual(await listNames(ctx.meta, d.ino), []);
    });

    it("updates the parent's mtime and ctime and removes symlinks and special files too", async () => {
      const d = await ctx.dir('unlink-kinds');
      const s = await ctx.meta.symlink(CALLER, d.ino, b('s'), b('/etc/passwd'));
      const p = await ctx.meta.mknod(CALLER, d.ino, b('p'), 'fifo', 0o600);
      const before = await ctx.meta.getattr(d.ino);
      await tick();
      assert.deepEqual(await unlinkChecked(ctx.meta, d.ino, b('s')), { ino: s.ino, gone: true });
      const after = await assertDirTouched(ctx.meta, before, 'unlink');
      assert.equal(after.nlink, 2);
      assert.deepEqual(await unlinkChecked(ctx.meta, d.ino, b('p')), { ino: p.ino, gone: true });
      assert.deepEqual(await listNames(ctx.meta, d.ino), []);
    });

    it('refuses directories (EISDIR), missing names (ENOENT) and a file as parent (ENOTDIR)', async () => {
      const d = await ctx.dir('unlink-err');
      const sub = await ctx.meta.mkdir(CALLER, d.ino, b('sub'), 0o755);
      const f = await ctx.meta.mknod(CALLER, d.ino, b('f'), 'file', 0o644);
      await rejectsWith(() => ctx.meta.unlink(d.ino, b('sub')), 'EISDIR', 'unlink of a directory');
      await rejectsWith(() => ctx.meta.unlink(d.ino, b('missing')), 'ENOENT', 'unlink of a missing name');
      await rejectsWith(() => ctx.meta.unlink(f.ino, b('x')), 'ENOTDIR', 'unlink in a file');
      await rejectsWith(() => ctx.meta.unlink(987_654_321, b('x')), 'ENOENT', 'unlink in a missing directory');
      await ctx.meta.unlink(d.ino, b('f'));
      await rejectsWith(() => ctx.meta.unlink(d.ino, b('f')), 'ENOENT', 'unlink twice');
      assert.equal((await ctx.meta.getattr(sub.ino)).nlink, 2, 'the directory is untouched');
      assert.deepEqual(await listNames(ctx.meta, d.ino), ['sub']);
    });
  });

  describe('rmdir', () => {
    it('removes an empty directory and drops the parent nlink', async () => {
      const d = await ctx.dir('rmdir');
      await ctx.meta.mkdir(CALLER, d.ino, b('a'), 0o755);
      await ctx.meta.mkdir(CALLER, d.ino, b('b'), 0o755);
      const before = await ctx.meta.getattr(d.ino);
      assert.equal(before.nlink, 4);
      await tick();
      await ctx.meta.rmdir(d.ino, b('a'));
      const after = await assertDirTouched(ctx.meta, before, 'rmdir');
      assert.equal(after.nlink, 3);
      await rejectsWith(() => ctx.meta.lookup(d.ino, b('a')), 'ENOENT', 'the removed directory');
      assert.deepEqual(await listNames(ctx.meta, d.ino), ['b']);
    });

    it('refuses non-empty directories (ENOTEMPTY), files (ENOTDIR) and missing names (ENOENT)', async () => {
      const d = await ctx.dir('rmdir-err');
      const full = await ctx.meta.mkdir(CALLER, d.ino, b('full'), 0o755);
      await ctx.meta.mknod(CALLER, full.ino, b('f'), 'file', 0o644);
      const nested = await ctx.meta.mkdir(CALLER, d.ino, b('nested'), 0o755);
      await ctx.meta.mkdir(CALLER, nested.ino, b('inner'), 0o755);
      const withLink = await ctx.meta.mkdir(CALLER, d.ino, b('withlink'), 0o755);
      await ctx.meta.symlink(CALLER, withLink.ino, b('l'), b('x'));
      await ctx.meta.mknod(CALLER, d.ino, b('file'), 'file', 0o644);
      await rejectsWith(() => ctx.meta.rmdir(d.ino, b('full')), 'ENOTEMPTY', 'rmdir of a directory with a file');
      await rejectsWith(() => ctx.meta.rmdir(d.ino, b('nested')), 'ENOTEMPTY', 'rmdir of a directory with a subdirectory');
      await rejectsWith(() => ctx.meta.rmdir(d.ino, b('withlink')), 'ENOTEMPTY', 'rmdir of a directory with a symlink');
      await rejectsWith(() => ctx.meta.rmdir(d.ino, b('file')), 'ENOTDIR', 'rmdir of a file');
      await rejectsWith(() => ctx.meta.rmdir(d.ino, b('missing')), 'ENOENT', 'rmdir of a missing name');
      // ext4: rmdir(".") is EINVAL.
      await rejectsWith(() => ctx.meta.rmdir(d.ino, b('.')), 'EINVAL', "rmdir '.'");
      assert.equal((await ctx.meta.getattr(d.ino)).nlink, 5, 'nothing was removed');
      // Emptying the directory makes it removable.
      await ctx.meta.unlink(full.ino, b('f'));
      await ctx.meta.rmdir(d.ino, b('full'));
      await ctx.meta.rmdir(nested.ino, b('inner'));
      assert.equal((await ctx.meta.getattr(nested.ino)).nlink, 2);
      await ctx.meta.rmdir(d.ino, b('nested'));
      assert.equal((await ctx.meta.getattr(d.ino)).nlink, 3);
      assert.deepEqual(await listNames(ctx.meta, d.ino), ['file', 'withlink']);
    });

    it('a removed directory can no longer be created in', async () => {
      const d = await ctx.dir('rmdir-gone');
      const sub = await ctx.meta.mkdir(CALLER, d.ino, b('sub'), 0o755);
      await ctx.meta.rmdir(d.ino, b('sub'));
      await rejectsWith(() => ctx.meta.mknod(CALLER, sub.ino, b('x'), 'file', 0o644), 'ENOENT', 'create in a removed directory');
      await rejectsWith(() => ctx.meta.mkdir(CALLER, sub.ino, b('x'), 0o755), 'ENOENT', 'mkdir in a removed directory');
    });
  });
}
