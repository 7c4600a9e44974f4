/**
 * Conformance: setattr (chmod, chown, times, truncate) and what truncate does to the chunk
 * view, through commitSlice/readChunk.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { stMode } from '../../../src/meta/index.js';
import type { MetaEngine } from '../../../src/meta/index.js';
import { CHUNK_SIZE, buildChunkView } from '../../../src/meta/slice-list.js';
import type { ChunkSegment } from '../../../src/meta/slice-list.js';
import { CALLER, assertTimeBetween, b, nowNs, rejectsWith, tick } from './suite-context.js';
import type { SuiteContext } from './suite-context.js';

/** The visible view of chunk `index` of `ino`, cut at the inode's length. */
async function chunkView(meta: MetaEngine, ino: number, index: number): Promise<ChunkSegment[]> {
  const { length } = await meta.getattr(ino);
  const chunkLength = Math.min(Math.max(length - index * CHUNK_SIZE, 0), CHUNK_SIZE);
  const rec = await meta.readChunk(ino, index);
  return buildChunkView(rec.slices, chunkLength);
}

/** Asserts that no byte at or beyond `from` in the view comes from a slice (all read as zeros). */
function assertZerosFrom(view: readonly ChunkSegment[], from: number, what: string): void {
  for (const s of view) {
    if (s.id !== 0) {
      assert.ok(s.pos + s.len <= from,
        `${what}: bytes [${s.pos}, ${s.pos + s.len}) come from slice ${s.id}, but everything from ${from} must read as zeros`);
    }
  }
}

/** Writes `len` bytes at chunk offset `pos` of chunk `index` as one new slice. */
async function writeSlice(meta: MetaEngine, ino: number, index: number, pos: number, len: number): Promise<number> {
  const id = await meta.newSliceId();
  const { length } = await meta.getattr(ino);
  await meta.commitSlice({
    ino, index, entry: { pos, id, size: len, off: 0, len },
    length: Math.max(length, index * CHUNK_SIZE + pos + len),
  });
  return id;
}

export function attrTests(ctx: SuiteContext): void {
  describe('setattr', () => {
    it('chmod changes permission bits only, keeps the type and advances ctime but not mtime', async () => {
      const d = await ctx.dir('chmod');
      const f = await ctx.meta.mknod(CALLER, d.ino, b('f'), 'file', 0o644);
      await tick();
      const a = await ctx.meta.setattr(f.ino, { mode: 0o4711 });
      assert.equal(a.mode, 0o4711);
      assert.equal(a.type, 'file');
      assert.equal(stMode(a), 0o104711);
      assert.ok(a.ctime > f.ctime, 'chmod changes ctime');
      assert.equal(a.mtime, f.mtime, 'chmod does not change mtime');
      assert.equal(a.uid, CALLER.uid);
      assert.deepEqual(await ctx.meta.getattr(f.ino), a, 'getattr sees what setattr returned');
      const s = await ctx.meta.setattr(d.ino, { mode: 0o1700 });
      assert.equal(s.type, 'directory');
      assert.equal(stMode(s), 0o041700);
      assert.equal(s.nlink, 2);
    });

    it('chown changes uid and gid independently', async () => {
      const d = await ctx.dir('chown');
      const f = await ctx.meta.mknod(CALLER, d.ino, b('f'), 'file', 0o644);
      await tick();
      const a = await ctx.meta.setattr(f.ino, { uid: 0 });
      assert.equal(a.uid, 0);
      assert.equal(a.gid, CALLER.gid, 'gid unchanged');
      assert.ok(a.ctime > f.ctime);
      const c = await ctx.meta.setattr(f.ino, { gid: 4_000_000_000 });
      assert.equal(c.uid, 0);
      assert.equal(c.gid, 4_000_000_000, 'ids above 2^31 survive');
      assert.equal(c.mode, 0o644);
      assert.deepEqual(await ctx.meta.getattr(f.ino), c);
    });

    it('stores atime, mtime and ctime in exact nanoseconds', async () => {
      const d = await ctx.dir('times');
      const f = await ctx.meta.mknod(CALLER, d.ino, b('f'), 'file', 0o644);
      const t = 1600000000123456789n;
      const a = await ctx.meta.setattr(f.ino, { atime: t, mtime: t + 1n });
      assert.equal(a.atime, t);
      assert.equal(a.mtime, t + 1n);
      const g = await ctx.meta.getattr(f.ino);
      assert.equal(g.atime, 1600000000123456789n, 'atime round-trips to the nanosecond');
      assert.equal(g.mtime, 1600000000123456790n, 'mtime round-trips to the nanosecond');
      const c = await ctx.meta.setattr(f.ino, { ctime: 1700000000000000001n });
      assert.equal(c.ctime, 1700000000000000001n, 'an explicit ctime is kept');
      assert.equal((await ctx.meta.getattr(f.ino)).ctime, 1700000000000000001n);
      assert.equal(c.atime, t, 'atime untouched by a ctime change');
      const old = await ctx.meta.setattr(f.ino, { mtime: 999n });
      assert.equal(old.mtime, 999n, 'times near the epoch are fine');
    });

    it("'now' sets times to the current time and any change advances ctime", async () => {
      const d = await ctx.dir('times-now');
      const f = await ctx.meta.mknod(CALLER, d.ino, b('f'), 'file', 0o644);
      await ctx.meta.setattr(f.ino, { atime: 5n, mtime: 5n });
      const before = await ctx.meta.getattr(f.ino);
      await tick();
      const t0 = nowNs();
      const a = await ctx.meta.setattr(f.ino, { atime: 'now', mtime: 'now' });
      const t1 = nowNs();
      assertTimeBetween(a.atime, t0, t1, 'atime now');
      assertTimeBetween(a.mtime, t0, t1, 'mtime now');
      assertTimeBetween(a.ctime, t0, t1, 'ctime');
      assert.ok(a.ctime > before.ctime, 'setting times changes ctime');
      const m = await ctx.meta.setattr(f.ino, { mtime: 'now' });
      assert.equal(m.atime, a.atime, "atime is left alone when only mtime is 'now'");
    });

    it('truncate sets the length, up and down, beyond 4 GiB; directories refuse it (EISDIR)', async () => {
      const d = await ctx.dir('truncate');
      const f = await ctx.meta.mknod(CALLER, d.ino, b('f'), 'file', 0o644);
      assert.equal((await ctx.meta.setattr(f.ino, { length: 5 * 2 ** 30 })).length, 5 * 2 ** 30);
      assert.equal((await ctx.meta.getattr(f.ino)).length, 5 * 2 ** 30);
      assert.equal((await ctx.meta.setattr(f.ino, { length: 10 })).length, 10);
      assert.equal((await ctx.meta.getattr(f.ino)).length, 10);
      assert.equal((await ctx.meta.setattr(f.ino, { length: 0 })).length, 0);
      await rejectsWith(() => ctx.meta.setattr(d.ino, { length: 0 }), 'EISDIR', 'truncate of a directory');
      await rejectsWith(() => ctx.meta.setattr(987_654_321, { mode: 0o600 }), 'ENOENT', 'setattr of a missing inode');
    });

    it('shrink then extend exposes zeros: no old slice data is visible beyond the shrink point', async () => {
      const d = await ctx.dir('truncate-zeros');
      const f = await ctx.meta.mknod(CALLER, d.ino, b('f'), 'file', 0o644);
      const s0 = await writeSlice(ctx.meta, f.ino, 0, 0, 4096);
      assert.deepEqual(await chunkView(ctx.meta, f.ino, 0), [{ pos: 0, len: 4096, id: s0, off: 0, size: 4096 }]);
      await ctx.meta.setattr(f.ino, { length: 100 });
      assert.deepEqual(await chunkView(ctx.meta, f.ino, 0), [{ pos: 0, len: 100, id: s0, off: 0, size: 4096 }]);
      await ctx.meta.setattr(f.ino, { length: 4096 });
      const view = await chunkView(ctx.meta, f.ino, 0);
      assertZerosFrom(view, 100, 'after shrink to 100 and extend to 4096');
      assert.deepEqual(view[0], { pos: 0, len: 100, id: s0, off: 0, size: 4096 }, 'the bytes before the shrink point survive');
      // A write after the extend lands between zeros.
      const s1 = await writeSlice(ctx.meta, f.ino, 0, 2000, 10);
      assert.deepEqual(await chunkView(ctx.meta, f.ino, 0), [
        { pos: 0, len: 100, id: s0, off: 0, size: 4096 },
        { pos: 100, len: 1900, id: 0, off: 0, size: 0 },
        { pos: 2000, len: 10, id: s1, off: 0, size: 10 },
        { pos: 2010, len: 2086, id: 0, off: 0, size: 0 },
      ]);
    });

    it('shrink then extend across chunks: later chunks read as zeros', async () => {
      const d = await ctx.dir('truncate-chunks');
      const f = await ctx.meta.mknod(CALLER, d.ino, b('f'), 'file', 0o644);
      await writeSlice(ctx.meta, f.ino, 0, 0, 8192);
      await writeSlice(ctx.meta, f.ino, 1, 0, 8192);
      await writeSlice(ctx.meta, f.ino, 2, 100, 50);
      assert.equal((await ctx.meta.getattr(f.ino)).length, 2 * CHUNK_SIZE + 150);
      await ctx.meta.setattr(f.ino, { length: 4000 });
      await ctx.meta.setattr(f.ino, { length: 3 * CHUNK_SIZE });
      assertZerosFrom(await chunkView(ctx.meta, f.ino, 0), 4000, 'chunk 0');
      assertZerosFrom(await chunkView(ctx.meta, f.ino, 1), 0, 'chunk 1');
      assertZerosFrom(await chunkView(ctx.meta, f.ino, 2), 0, 'chunk 2');
      // Truncate to 0 then extend: nothing at all is visible.
      await ctx.meta.setattr(f.ino, { length: 0 });
      await ctx.meta.setattr(f.ino, { length: CHUNK_SIZE + 10 });
      assertZerosFrom(await chunkView(ctx.meta, f.ino, 0), 0, 'chunk 0 after truncate to 0');
      assertZerosFrom(await chunkView(ctx.meta, f.ino, 1), 0, 'chunk 1 after truncate to 0');
    });
  });
}
