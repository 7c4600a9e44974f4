/**
 * Conformance: rename, with plain, NOREPLACE and EXCHANGE semantics.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RENAME_EXCHANGE, RENAME_NOREPLACE } from '../../../src/meta/index.js';
import { CALLER, assertDirTouched, b, listNames, rejectsWith, tick } from './suite-context.js';
import type { SuiteContext } from './suite-context.js';

export function renameTests(ctx: SuiteContext): void {
  describe('rename', () => {
    it('renames a file within a directory: new name resolves, old is gone, ctime and parent times advance', async () => {
      const d = await ctx.dir('rename');
      const f = await ctx.meta.mknod(CALLER, d.ino, b('a'), 'file', 0o644);
      const before = await ctx.meta.getattr(d.ino);
      await tick();
      const r = await ctx.meta.rename(d.ino, b('a'), d.ino, b('b'));
      assert.equal(r.ino, f.ino);
      assert.equal(r.replaced, undefined, 'nothing was replaced');
      assert.notEqual(r.replacedGone, true);
      const moved = await ctx.meta.lookup(d.ino, b('b'));
      assert.equal(moved.ino, f.ino);
      assert.equal(moved.nlink, 1);
      assert.ok(moved.ctime > f.ctime, 'ext4: rename changes the ctime of the moved inode');
      assert.equal(moved.mtime, f.mtime, 'rename does not change the mtime of the moved inode');
      await rejectsWith(() => ctx.meta.lookup(d.ino, b('a')), 'ENOENT', 'the old name');
      const after = await assertDirTouched(ctx.meta, before, 'rename');
      assert.equal(after.nlink, 2);
      assert.deepEqual(r.dirs, [after], 'rename returns its directory as it left it');
      assert.deepEqual(await listNames(ctx.meta, d.ino), ['b']);
    });

    it('moves a directory across directories: its parent and .. follow, both parents adjust nlink', async () => {
      const d = await ctx.dir('rename-xdir');
      const x = await ctx.meta.mkdir(CALLER, d.ino, b('x'), 0o755);
      const y = await ctx.meta.mkdir(CALLER, d.ino, b('y'), 0o755);
      const sub = await ctx.meta.mkdir(CALLER, x.ino, b('sub'), 0o755);
      await ctx.meta.mknod(CALLER, sub.ino, b('inside'), 'file', 0o644);
      const x0 = await ctx.meta.getattr(x.ino);
      const y0 = await ctx.meta.getattr(y.ino);
      assert.equal(x0.nlink, 3);
      await tick();
      const r = await ctx.meta.rename(x.ino, b('sub'), y.ino, b('moved'));
      const x1 = await assertDirTouched(ctx.meta, x0, 'rename source parent');
      const y1 = await assertDirTouched(ctx.meta, y0, 'rename target parent');
      const byIno = (attrs: readonly { ino: number }[] | undefined) => [...(attrs ?? [])].sort((p, q) => p.ino - q.ino);
      assert.deepEqual(byIno(r.dirs), byIno([x1, y1]), 'rename returns both parents as it left them');
      assert.equal(x1.nlink, 2, 'the source parent lost a subdirectory');
      assert.equal(y1.nlink, 3, 'the target parent gained a subdirectory');
      const moved = await ctx.meta.getattr(sub.ino);
      assert.equal(moved.parent, y.ino);
      assert.equal(moved.nlink, 2);
      assert.equal((await ctx.meta.lookup(sub.ino, b('..'))).ino, y.ino, ".. points at the new parent");
      assert.equal((await ctx.meta.lookup(y.ino, b('moved'))).ino, sub.ino);
      assert.deepEqual(await listNames(ctx.meta, sub.ino), ['inside'], 'the contents moved along');
      assert.deepEqual(await listNames(ctx.meta, x.ino), []);
    });

    it('moves a file across directories without touching directory link counts', async () => {
      const d = await ctx.dir('rename-xfile');
      const x = await ctx.meta.mkdir(CALLER, d.ino, b('x'), 0o755);
      const y = await ctx.meta.mkdir(CALLER, d.ino, b('y'), 0o755);
      const f = await ctx.meta.mknod(CALLER, x.ino, b('f'), 'file', 0o644);
      await ctx.meta.rename(x.ino, b('f'), y.ino, b('f'));
      assert.equal((await ctx.meta.getattr(x.ino)).nlink, 2);
      assert.equal((await ctx.meta.getattr(y.ino)).nlink, 2);
      const moved = await ctx.meta.getattr(f.ino);
      assert.equal(moved.parent, y.ino, 'a single-link file records its new parent');
      assert.equal((await ctx.meta.lookup(y.ino, b('f'))).ino, f.ino);
      await rejectsWith(() => ctx.meta.lookup(x.ino, b('f')), 'ENOENT', 'the old name');
    });

    it('replaces an existing file: replaced + replacedGone, or only a dropped link when it has others', async () => {
      const d = await ctx.dir('rename-over');
      const a = await ctx.meta.mknod(CALLER, d.ino, b('a'), 'file', 0o644);
      const t = await ctx.meta.mknod(CALLER, d.ino, b('t'), 'file', 0o600);
      const r = await ctx.meta.rename(d.ino, b('a'), d.ino, b('t'));
      assert.equal(r.ino, a.ino);
      assert.equal(r.replaced, t.ino);
      assert.equal(r.replacedGone, true);
      assert.equal((await ctx.meta.lookup(d.ino, b('t'))).ino, a.ino);
      assert.deepEqual(await listNames(ctx.meta, d.ino), ['t']);

      const c = await ctx.meta.mknod(CALLER, d.ino, b('c'), 'file', 0o644);
      const u = await ctx.meta.mknod(CALLER, d.ino, b('u'), 'file', 0o644);
      await ctx.meta.link(u.ino, d.ino, b('u2'));
      const u0 = await ctx.meta.getattr(u.ino);
      await tick();
      const r2 = await ctx.meta.rename(d.ino, b('c'), d.ino, b('u'));
      assert.equal(r2.ino, c.ino);
      assert.equal(r2.replaced, u.ino);
      assert.equal(r2.replacedGone, false, 'the replaced inode still has a link');
      const u1 = await ctx.meta.getattr(u.ino);
      assert.equal(u1.nlink, 1);
      assert.ok(u1.ctime > u0.ctime, 'the replaced inode ctime changes');
      assert.equal((await ctx.meta.lookup(d.ino, b('u2'))).ino, u.ino);
      assert.deepEqual(await listNames(ctx.meta, d.ino), ['t', 'u', 'u2']);
    });

    it('replaces an empty directory with a directory, across parents, fixing every nlink', async () => {
      const d = await ctx.dir('rename-over-dir');
      const x = await ctx.meta.mkdir(CALLER, d.ino, b('x'), 0o755);
      const y = await ctx.meta.mkdir(CALLER, d.ino, b('y'), 0o755);
      const src = await ctx.meta.mkdir(CALLER, x.ino, b('src'), 0o755);
      const dst = await ctx.meta.mkdir(CALLER, y.ino, b('dst'), 0o755);
      const r = await ctx.meta.rename(x.ino, b('src'), y.ino, b('dst'));
      assert.equal(r.ino, src.ino);
      assert.equal(r.replaced, dst.ino);
      assert.equal(r.replacedGone, true);
      assert.equal(r.dirs, undefined, 'the replaced directory changed the target parent after the move: no directories returned');
      assert.equal((await ctx.meta.getattr(x.ino)).nlink, 2, 'source parent lost its subdirectory');
      assert.equal((await ctx.meta.getattr(y.ino)).nlink, 3, 'target parent: one subdirectory replaced by another');
      assert.equal((await ctx.meta.lookup(y.ino, b('dst'))).ino, src.ino);
      assert.equal((await ctx.meta.lookup(src.ino, b('..'))).ino, y.ino);
      // Same parent: two subdirectories become one.
      await ctx.meta.mkdir(CALLER, d.ino, b('p'), 0o755);
      await ctx.meta.mkdir(CALLER, d.ino, b('q'), 0o755);
      assert.equal((await ctx.meta.getattr(d.ino)).nlink, 6);
      await ctx.meta.rename(d.ino, b('p'), d.ino, b('q'));
      assert.equal((await ctx.meta.getattr(d.ino)).nlink, 5);
      assert.deepEqual(await listNames(ctx.meta, d.ino), ['q', 'x', 'y']);
    });

    it('refuses ENOTEMPTY, EISDIR and ENOTDIR, leaving both names in place', async () => {
      const d = await ctx.dir('rename-err');
      const dir = await ctx.meta.mkdir(CALLER, d.ino, b('dir'), 0o755);
      const full = await ctx.meta.mkdir(CALLER, d.ino, b('full'), 0o755);
      await ctx.meta.mknod(CALLER, full.ino, b('f'), 'file', 0o644);
      const file = await ctx.meta.mknod(CALLER, d.ino, b('file'), 'file', 0o644);
      await rejectsWith(() => ctx.meta.rename(d.ino, b('dir'), d.ino, b('full')), 'ENOTEMPTY', 'directory over a non-empty directory');
      await rejectsWith(() => ctx.meta.rename(d.ino, b('file'), d.ino, b('dir')), 'EISDIR', 'file over a directory');
      await rejectsWith(() => ctx.meta.rename(d.ino, b('dir'), d.ino, b('file')), 'ENOTDIR', 'directory over a file');
      await rejectsWith(() => ctx.meta.rename(d.ino, b('missing'), d.ino, b('x')), 'ENOENT', 'missing source');
      await rejectsWith(() => ctx.meta.rename(d.ino, b('file'), file.ino, b('x')), 'ENOTDIR', 'a file as target parent');
      await rejectsWith(() => ctx.meta.rename(d.ino, b('file'), 987_654_321, b('x')), 'ENOENT', 'a missing target parent');
      assert.equal((await ctx.meta.lookup(d.ino, b('dir'))).ino, dir.ino);
      assert.equal((await ctx.meta.lookup(d.ino, b('file'))).ino, file.ino);
      assert.deepEqual(await listNames(ctx.meta, full.ino), ['f']);
      assert.equal((await ctx.meta.getattr(d.ino)).nlink, 4);
    });

    it('refuses to move a directory into itself or its own subtree (EINVAL)', async () => {
      const d = await ctx.dir('rename-loop');
      const a = await ctx.meta.mkdir(CALLER, d.ino, b('a'), 0o755);
      const bb = await ctx.meta.mkdir(CALLER, a.ino, b('b'), 0o755);
      const c = await ctx.meta.mkdir(CALLER, bb.ino, b('c'), 0o755);
      await rejectsWith(() => ctx.meta.rename(d.ino, b('a'), a.ino, b('x')), 'EINVAL', 'into itself');
      await rejectsWith(() => ctx.meta.rename(d.ino, b('a'), bb.ino, b('x')), 'EINVAL', 'into its child');
      await rejectsWith(() => ctx.meta.rename(d.ino, b('a'), c.ino, b('x')), 'EINVAL', 'into its grandchild');
      await rejectsWith(() => ctx.meta.rename(d.ino, b('a'), c.ino, b('x'), RENAME_NOREPLACE), 'EINVAL', 'NOREPLACE into its grandchild');
      assert.equal((await ctx.meta.getattr(a.ino)).parent, d.ino, 'nothing moved');
      assert.equal((await ctx.meta.lookup(d.ino, b('a'))).ino, a.ino);
      assert.deepEqual(await listNames(ctx.meta, c.ino), []);
      // Moving a directory up out of its subtree is fine.
      await ctx.meta.rename(bb.ino, b('c'), d.ino, b('c'));
      assert.equal((await ctx.meta.getattr(c.ino)).parent, d.ino);
    });

    it('renaming a name onto itself is a successful no-op', async () => {
      const d = await ctx.dir('rename-self');
      const f = await ctx.meta.mknod(CALLER, d.ino, b('f'), 'file', 0o644);
      const s = await ctx.meta.mkdir(CALLER, d.ino, b('s'), 0o755);
      const r = await ctx.meta.rename(d.ino, b('f'), d.ino, b('f'));
      assert.equal(r.ino, f.ino);
      assert.equal(r.replaced, undefined, 'renaming onto itself replaces nothing');
      await ctx.meta.rename(d.ino, b('s'), d.ino, b('s'));
      assert.equal((await ctx.meta.getattr(f.ino)).nlink, 1);
      assert.equal((await ctx.meta.getattr(s.ino)).nlink, 2);
      assert.equal((await ctx.meta.getattr(d.ino)).nlink, 3);
      assert.deepEqual(await listNames(ctx.meta, d.ino), ['f', 's']);
    });

    it('renaming one hard link onto another of the same inode does nothing (POSIX)', async () => {
      const d = await ctx.dir('rename-links');
      const f = await ctx.meta.mknod(CALLER, d.ino, b('l1'), 'file', 0o644);
      await ctx.meta.link(f.ino, d.ino, b('l2'));
      const r = await ctx.meta.rename(d.ino, b('l1'), d.ino, b('l2'));
      assert.equal(r.replaced, undefined, 'POSIX: nothing is replaced');
      assert.notEqual(r.replacedGone, true);
      assert.deepEqual(await listNames(ctx.meta, d.ino), ['l1', 'l2'], 'both names remain');
      assert.equal((await ctx.meta.getattr(f.ino)).nlink, 2);
    });

    it('RENAME_NOREPLACE refuses an existing target with EEXIST and renames otherwise', async () => {
      const d = await ctx.dir('rename-noreplace');
      const a = await ctx.meta.mknod(CALLER, d.ino, b('a'), 'file', 0o644);
      const t = await ctx.meta.mknod(CALLER, d.ino, b('t'), 'file', 0o644);
      await ctx.meta.mkdir(CALLER, d.ino, b('emptydir'), 0o755);
      await rejectsWith(() => ctx.meta.rename(d.ino, b('a'), d.ino, b('t'), RENAME_NOREPLACE), 'EEXIST', 'NOREPLACE over a file');
      await rejectsWith(() => ctx.meta.rename(d.ino, b('emptydir'), d.ino, b('t'), RENAME_NOREPLACE), 'EEXIST', 'NOREPLACE of a dir over a file');
      assert.equal((await ctx.meta.lookup(d.ino, b('t'))).ino, t.ino);
      assert.equal((await ctx.meta.getattr(t.ino)).nlink, 1);
      const r = await ctx.meta.rename(d.ino, b('a'), d.ino, b('n'), RENAME_NOREPLACE);
      assert.equal(r.ino, a.ino);
      assert.equal(r.replaced, undefined);
      assert.deepEqual(await listNames(ctx.meta, d.ino), ['emptydir', 'n', 't']);
    });

    it('RENAME_EXCHANGE swaps two files atomically and needs both to exist (ENOENT)', async () => {
      const d = await ctx.dir('rename-exchange');
      const a = await ctx.meta.mknod(CALLER, d.ino, b('a'), 'file', 0o644);
      const c = await ctx.meta.symlink(CALLER, d.ino, b('c'), b('target'));
      const r = await ctx.meta.rename(d.ino, b('a'), d.ino, b('c'), RENAME_EXCHANGE);
      assert.equal(r.replaced, undefined, 'an exchange unlinks nothing');
      assert.notEqual(r.replacedGone, true);
      assert.equal((await ctx.meta.lookup(d.ino, b('a'))).ino, c.ino);
      assert.equal((await ctx.meta.lookup(d.ino, b('c'))).ino, a.ino);
      assert.equal((await ctx.meta.getattr(a.ino)).nlink, 1);
      assert.equal((await ctx.meta.getattr(c.ino)).nlink, 1);
      await rejectsWith(() => ctx.meta.rename(d.ino, b('a'), d.ino, b('missing'), RENAME_EXCHANGE), 'ENOENT', 'EXCHANGE with a missing target');
      await rejectsWith(() => ctx.meta.rename(d.ino, b('missing'), d.ino, b('a'), RENAME_EXCHANGE), 'ENOENT', 'EXCHANGE with a missing source');
      assert.deepEqual(await listNames(ctx.meta, d.ino), ['a', 'c']);
    });

    it('RENAME_EXCHANGE swaps directories across parents: parents, .. and nlinks follow', async () => {
      const d = await ctx.dir('rename-exchange-dirs');
      const x = await ctx.meta.mkdir(CALLER, d.ino, b('x'), 0o755);
      const y = await ctx.meta.mkdir(CALLER, d.ino, b('y'), 0o755);
      const d1 = await ctx.meta.mkdir(CALLER, x.ino, b('d1'), 0o755);
      const d2 = await ctx.meta.mkdir(CALLER, y.ino, b('d2'), 0o755);
      await ctx.meta.mknod(CALLER, d1.ino, b('in1'), 'file', 0o644);
      await ctx.meta.rename(x.ino, b('d1'), y.ino, b('d2'), RENAME_EXCHANGE);
      assert.equal((await ctx.meta.lookup(x.ino, b('d1'))).ino, d2.ino);
      assert.equal((await ctx.meta.lookup(y.ino, b('d2'))).ino, d1.ino);
      assert.equal((await ctx.meta.getattr(d1.ino)).parent, y.ino);
      assert.equal((await ctx.meta.getattr(d2.ino)).parent, x.ino);
      assert.equal((await ctx.meta.lookup(d1.ino, b('..'))).ino, y.ino);
      assert.equal((await ctx.meta.lookup(d2.ino, b('..'))).ino, x.ino);
      assert.equal((await ctx.meta.getattr(x.ino)).nlink, 3);
      assert.equal((await ctx.meta.getattr(y.ino)).nlink, 3);
      assert.deepEqual(await listNames(ctx.meta, d1.ino), ['in1']);

      // A file and a directory across parents: the directory's link moves to the other parent.
      const f = await ctx.meta.mknod(CALLER, x.ino, b('f'), 'file', 0o644);
      await ctx.meta.rename(x.ino, b('f'), y.ino, b('d2'), RENAME_EXCHANGE);
      assert.equal((await ctx.meta.lookup(x.ino, b('f'))).ino, d1.ino);
      assert.equal((await ctx.meta.lookup(y.ino, b('d2'))).ino, f.ino);
      assert.equal((await ctx.meta.lookup(d1.ino, b('..'))).ino, x.ino);
      assert.equal((await ctx.meta.getattr(x.ino)).nlink, 4, 'x now holds d2 (as d1) and d1 (as f)');
      assert.equal((await ctx.meta.getattr(y.ino)).nlink, 2, 'y holds only the file');
      assert.equal((await ctx.meta.getattr(f.ino)).parent, y.ino);
    });

    it('RENAME_EXCHANGE of a directory with something in its own subtree is EINVAL; bad flags are EINVAL', async () => {
      const d = await ctx.dir('rename-exchange-loop');
      const a = await ctx.meta.mkdir(CALLER, d.ino, b('a'), 0o755);
      const inner = await ctx.meta.mkdir(CALLER, a.ino, b('inner'), 0o755);
      await rejectsWith(() => ctx.meta.rename(d.ino, b('a'), a.ino, b('inner'), RENAME_EXCHANGE), 'EINVAL', 'EXCHANGE with its child');
      await rejectsWith(() => ctx.meta.rename(a.ino, b('inner'), d.ino, b('a'), RENAME_EXCHANGE), 'EINVAL', 'EXCHANGE with its parent');
      await rejectsWith(() => ctx.meta.rename(d.ino, b('a'), d.ino, b('z'), RENAME_NOREPLACE | RENAME_EXCHANGE), 'EINVAL', 'NOREPLACE|EXCHANGE');
      assert.equal((await ctx.meta.getattr(inner.ino)).parent, a.ino);
      assert.equal((await ctx.meta.getattr(a.ino)).parent, d.ino);
    });
  });
}
