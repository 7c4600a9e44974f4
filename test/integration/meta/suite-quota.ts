/**
 * Conformance: enforced quotas (decision 79). Directory quotas count the names beneath a
 * directory (nested ones too); a name added past a limit fails EDQUOT and changes nothing;
 * usage always equals a full scan (quota check); the volume's inode quota is ENOSPC.
 * Space at write(2) time is the vfs's (test/integration/vfs/quota-guard.test.ts): commits of
 * growth are never refused here.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { configureVolume } from '../../../src/meta/index.js';
import type { MetaEngine } from '../../../src/meta/index.js';
import { makeRng, testSeed } from '../../support/prng.js';
import { CALLER, b, listNames, rejectsWith } from './suite-context.js';
import type { SuiteContext } from './suite-context.js';

/** Grows file `ino` to `length` bytes by one committed slice (as a write's commit does). */
async function grow(meta: MetaEngine, ino: number, length: number): Promise<void> {
  const id = await meta.newSliceId();
  await meta.commitSlice({ ino, index: 0, entry: { pos: 0, id, size: length, off: 0, len: length }, length });
}

/** Asserts every quota's recorded usage equals a scan of its tree. */
async function assertExact(meta: MetaEngine, what: string): Promise<void> {
  for (const c of await meta.checkQuotas({ repair: false })) {
    assert.deepEqual({ space: c.usedSpace, inodes: c.usedInodes }, { space: c.scannedSpace, inodes: c.scannedInodes }, `${what}: quota of ${c.inode} differs from a scan`);
  }
}

export function quotaTests(ctx: SuiteContext): void {
  describe('quotas', () => {
    it('an inode quota refuses creates, mkdir, symlinks and links past it with EDQUOT, and a removal frees room', async () => {
      const d = await ctx.dir('quota-inodes');
      const q = await ctx.meta.setQuota(d.ino, { maxInodes: 3 });
      assert.deepEqual({ used: q.usedInodes, max: q.maxInodes }, { used: 0, max: 3 });
      const f = await ctx.meta.mknod(CALLER, d.ino, b('a'), 'file', 0o644);
      await ctx.meta.mkdir(CALLER, d.ino, b('sub'), 0o755);
      const sub = await ctx.meta.lookup(d.ino, b('sub'));
      await ctx.meta.symlink(CALLER, sub.ino, b('s'), b('target'));
      await rejectsWith(() => ctx.meta.mknod(CALLER, sub.ino, b('x'), 'file', 0o644), 'EDQUOT', 'a fourth name beneath');
      await rejectsWith(() => ctx.meta.mkdir(CALLER, d.ino, b('y'), 0o755), 'EDQUOT', 'mkdir past the quota');
      await rejectsWith(() => ctx.meta.symlink(CALLER, d.ino, b('z'), b('t')), 'EDQUOT', 'symlink past the quota');
      await rejectsWith(() => ctx.meta.link(f.ino, d.ino, b('a2')), 'EDQUOT', 'a second name of a file in the tree');
      assert.deepEqual(await listNames(ctx.meta, d.ino), ['a', 'sub'], 'nothing was added');
      assert.equal((await ctx.meta.getattr(f.ino)).nlink, 1, 'the refused link left nlink alone');
      assert.equal((await ctx.meta.getQuota(d.ino))?.usedInodes, 3);
      await ctx.meta.unlink(d.ino, b('a'));
      await ctx.meta.mknod(CALLER, d.ino, b('b'), 'file', 0o644);
      await assertExact(ctx.meta, 'after refusals');
    });

    it('nested quotas: the tighter one above refuses first; each counts its own tree', async () => {
      const d = await ctx.dir('quota-nested');
      const mid = await ctx.meta.mkdir(CALLER, d.ino, b('mid'), 0o755);
      const leaf = await ctx.meta.mkdir(CALLER, mid.ino, b('leaf'), 0o755);
      await ctx.meta.setQuota(d.ino, { maxInodes: 4 });
      await ctx.meta.setQuota(leaf.ino, { maxInodes: 10 });
      assert.equal((await ctx.meta.getQuota(d.ino))?.usedInodes, 2, 'set counted the existing tree');
      await ctx.meta.mknod(CALLER, leaf.ino, b('1'), 'file', 0o644);
      await ctx.meta.mknod(CALLER, leaf.ino, b('2'), 'file', 0o644);
      await rejectsWith(() => ctx.meta.mknod(CALLER, leaf.ino, b('3'), 'file', 0o644), 'EDQUOT', 'the outer quota is full');
      assert.equal((await ctx.meta.getQuota(leaf.ino))?.usedInodes, 2);
      assert.equal((await ctx.meta.getQuota(d.ino))?.usedInodes, 4);
      const st = await ctx.meta.statfs(leaf.ino);
      assert.deepEqual({ total: st.totalInodes, used: st.usedInodes }, { total: 10, used: 2 }, 'statfs of a quota\'d directory shows its quota');
      const inner = await ctx.meta.statfs(mid.ino);
      assert.deepEqual({ total: inner.totalInodes, used: inner.usedInodes }, { total: 4, used: 4 }, 'statfs below a quota shows the nearest one above');
      await assertExact(ctx.meta, 'nested');
    });

    it('space: commits are never refused; a rename that brings a tree past the target quota is EDQUOT and moves nothing', async () => {
      const d = await ctx.dir('quota-space');
      const target = await ctx.meta.mkdir(CALLER, d.ino, b('target'), 0o755);
      const outside = await ctx.meta.mkdir(CALLER, d.ino, b('outside'), 0o755);
      await ctx.meta.setQuota(target.ino, { maxSpace: 64 * 1024 });
      const inside = await ctx.meta.mknod(CALLER, target.ino, b('in'), 'file', 0o644);
      await grow(ctx.meta, inside.ino, 40_000);
      await grow(ctx.meta, inside.ino, 100_000); // past the limit: a commit carries acknowledged data
      assert.equal((await ctx.meta.getQuota(target.ino))?.usedSpace, 102_400, 'usage in 4 KiB units');
      await ctx.meta.setattr(inside.ino, { length: 10_000 });
      assert.equal((await ctx.meta.getQuota(target.ino))?.usedSpace, 12_288);
      const big = await ctx.meta.mkdir(CALLER, outside.ino, b('big'), 0o755);
      const bf = await ctx.meta.mknod(CALLER, big.ino, b('f'), 'file', 0o644);
      await grow(ctx.meta, bf.ino, 60_000);
      await rejectsWith(() => ctx.meta.rename(outside.ino, b('big'), target.ino, b('big')), 'EDQUOT', 'moving 60 KB into 52 KB of room');
      assert.deepEqual(await listNames(ctx.meta, outside.ino), ['big'], 'the refused rename moved nothing');
      assert.equal((await ctx.meta.getQuota(target.ino))?.usedSpace, 12_288);
      await ctx.meta.setattr(bf.ino, { length: 20_000 });
      await ctx.meta.rename(outside.ino, b('big'), target.ino, b('big'));
      const q = await ctx.meta.getQuota(target.ino);
      assert.deepEqual({ space: q?.usedSpace, inodes: q?.usedInodes }, { space: 12_288 + 20_480, inodes: 3 }, 'a directory moved in brings its tree');
      await ctx.meta.rename(target.ino, b('in'), outside.ino, b('in'));
      const after = await ctx.meta.getQuota(target.ino);
      assert.deepEqual({ space: after?.usedSpace, inodes: after?.usedInodes }, { space: 20_480, inodes: 2 }, 'a move out takes its usage along');
      await assertExact(ctx.meta, 'space and renames');
    });

    it('a rename within a full tree is allowed (it adds nothing), and so is a removal', async () => {
      const d = await ctx.dir('quota-full');
      await ctx.meta.setQuota(d.ino, { maxInodes: 2 });
      const sub = await ctx.meta.mkdir(CALLER, d.ino, b('sub'), 0o755);
      await ctx.meta.mknod(CALLER, d.ino, b('f'), 'file', 0o644);
      await ctx.meta.rename(d.ino, b('f'), sub.ino, b('g'));
      await ctx.meta.rename(d.ino, b('sub'), d.ino, b('sub2'));
      assert.equal((await ctx.meta.getQuota(d.ino))?.usedInodes, 2);
      await ctx.meta.unlink(sub.ino, b('g'));
      await ctx.meta.rmdir(d.ino, b('sub2'));
      assert.equal((await ctx.meta.getQuota(d.ino))?.usedInodes, 0);
    });

    it('hard links: every name counts in the tree it is in', async () => {
      const d = await ctx.dir('quota-links');
      const a = await ctx.meta.mkdir(CALLER, d.ino, b('a'), 0o755);
      const other = await ctx.meta.mkdir(CALLER, d.ino, b('b'), 0o755);
      await ctx.meta.setQuota(a.ino, {});
      await ctx.meta.setQuota(other.ino, {});
      const f = await ctx.meta.mknod(CALLER, a.ino, b('f'), 'file', 0o644);
      await ctx.meta.link(f.ino, other.ino, b('f'));
      await ctx.meta.link(f.ino, other.ino, b('g'));
      await grow(ctx.meta, f.ino, 5000);
      assert.deepEqual([(await ctx.meta.getQuota(a.ino))?.usedSpace, (await ctx.meta.getQuota(other.ino))?.usedSpace], [8192, 16_384]);
      assert.equal((await ctx.meta.getQuota(other.ino))?.usedInodes, 2);
      await ctx.meta.unlink(a.ino, b('f'));
      assert.deepEqual(await ctx.meta.getQuota(a.ino).then((q) => [q?.usedSpace, q?.usedInodes]), [0, 0], 'the name left the tree: so did its usage');
      await assertExact(ctx.meta, 'hard links');
    });

    it('get, list, change and delete; check compares usage with a scan', async () => {
      const d = await ctx.dir('quota-admin');
      const f = await ctx.meta.mknod(CALLER, d.ino, b('f'), 'file', 0o644);
      const q = await ctx.meta.setQuota(d.ino, { maxSpace: 1 << 20 });
      assert.deepEqual({ ...q }, { inode: d.ino, maxSpace: 1 << 20, maxInodes: 0, usedSpace: 0, usedInodes: 1 });
      const changed = await ctx.meta.setQuota(d.ino, { maxInodes: 7 });
      assert.deepEqual([changed.maxSpace, changed.maxInodes], [1 << 20, 7], 'a limit not given is kept');
      assert.ok((await ctx.meta.listQuotas()).some((x) => x.inode === d.ino));
      await rejectsWith(() => ctx.meta.setQuota(f.ino, {}), 'ENOTDIR', 'a quota on a file');
      await rejectsWith(() => ctx.meta.setQuota(987_654_321, {}), 'ENOENT', 'a quota on nothing');
      const before = await ctx.meta.checkQuotas({ ino: d.ino, repair: false });
      assert.deepEqual(before.map((c) => [c.usedInodes, c.scannedInodes, c.repaired]), [[1, 1, false]]);
      assert.equal(await ctx.meta.deleteQuota(d.ino), true);
      assert.equal(await ctx.meta.deleteQuota(d.ino), false);
      assert.equal(await ctx.meta.getQuota(d.ino), undefined);
      await ctx.meta.mknod(CALLER, d.ino, b('g'), 'file', 0o644);
    });

    it('usage equals a full scan after random operations (folds included)', async () => {
      const d = await ctx.dir('quota-random');
      const rng = makeRng(testSeed());
      const rnd = () => rng.next();
      const dirs = [d.ino];
      await ctx.meta.setQuota(d.ino, { maxInodes: 200 });
      const files: { parent: number; name: string; ino: number }[] = [];
      for (let i = 0; i < 120; i++) {
        const r = rnd();
        const parent = dirs[Math.floor(rnd() * dirs.length)]!;
        if (r < 0.2) {
          const dir = await ctx.meta.mkdir(CALLER, parent, b(`d${i}`), 0o755);
          dirs.push(dir.ino);
          if (rnd() < 0.3) await ctx.meta.setQuota(dir.ino, {});
        } else if (r < 0.55) {
          const f = await ctx.meta.mknod(CALLER, parent, b(`f${i}`), 'file', 0o644);
          files.push({ parent, name: `f${i}`, ino: f.ino });
        } else if (r < 0.75 && files.length > 0) {
          const f = files[Math.floor(rnd() * files.length)]!;
          await grow(ctx.meta, f.ino, Math.floor(rnd() * 300_000));
        } else if (r < 0.85 && files.length > 0) {
          const f = files.splice(Math.floor(rnd() * files.length), 1)[0]!;
          await ctx.meta.unlink(f.parent, b(f.name));
        } else if (files.length > 0) {
          const f = files[Math.floor(rnd() * files.length)]!;
          await ctx.meta.rename(f.parent, b(f.name), parent, b(`m${i}`));
          f.parent = parent;
          f.name = `m${i}`;
        }
        if (i % 40 === 0) await ctx.meta.flushCounters();
      }
      await assertExact(ctx.meta, `random operations (OBJECTFS_SEED=${rng.seed})`);
      await ctx.meta.flushCounters();
      await assertExact(ctx.meta, `after a fold (OBJECTFS_SEED=${rng.seed})`);
    });

    if (ctx.multiEngine) it('concurrent creates from two engines: usage exact, overshoot within the documented bound', async () => {
      const other = await ctx.vol.open();
      try {
        const d = await ctx.dir('quota-race');
        await ctx.meta.setQuota(d.ino, { maxInodes: 30 });
        const results = await Promise.allSettled([ctx.meta, other].flatMap((m, k) =>
          Array.from({ length: 25 }, (_, i) => m.mknod(CALLER, d.ino, b(`h${k}-${i}`), 'file', 0o644))));
        const made = results.filter((r) => r.status === 'fulfilled').length;
        for (const r of results) if (r.status === 'rejected') assert.equal((r.reason as { code?: string }).code, 'EDQUOT');
        // Creates committing at the same moment each saw the others uncommitted: at most the
        // connections of both engines (10 each) may pass past the limit together.
        assert.ok(made >= 30 && made <= 30 + 20, `${made} creates passed a limit of 30`);
        assert.equal((await ctx.meta.getQuota(d.ino))?.usedInodes, made);
        await assertExact(ctx.meta, 'two engines');
      } finally {
        await ctx.vol.close(other);
      }
    });

    it("the volume's inode quota: a create past it is ENOSPC", async (t) => {
      const vol = await ctx.ownVolume(t, 'quota-volume');
      await vol.close(vol.engine);
      await configureVolume(vol.url, { inodes: 4 });
      const meta = await vol.open();
      await meta.mknod(CALLER, 1, b('a'), 'file', 0o644);
      await meta.mkdir(CALLER, 1, b('b'), 0o755);
      await meta.mknod(CALLER, 1, b('c'), 'file', 0o644);
      await rejectsWith(() => meta.mknod(CALLER, 1, b('d'), 'file', 0o644), 'ENOSPC', 'a fifth inode (the root is one)');
      await rejectsWith(() => meta.symlink(CALLER, 1, b('e'), b('x')), 'ENOSPC', 'a symlink past it');
      assert.deepEqual(await listNames(meta, 1), ['a', 'b', 'c']);
      await meta.unlink(1, b('a'));
      await meta.mknod(CALLER, 1, b('d'), 'file', 0o644);
    });
  });
}
