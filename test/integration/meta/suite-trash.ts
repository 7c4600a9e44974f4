/**
 * Conformance: the trash (decision 78). A non-directory losing its last name to unlink or to a
 * rename over it moves to /.trash/<hour>/<parent>-<ino>-<name> while trash days > 0; restore
 * gives the very same inode its name back; expiry deletes whole hours once the days passed.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { configureVolume, ROOT_INO, TRASH_INO, type Attr, type MetaEngine, type TrashEntry } from '../../../src/meta/index.js';
import { CALLER, b, listNames, rejectsWith, tick, unlinkChecked } from './suite-context.js';
import type { SuiteContext } from './suite-context.js';
import { metaInvariantViolations } from './invariants.js';

const DAY_MS = 86_400_000;

/** The attributes a stay in the trash must not change (ctime does: unlink and restore set it). */
function kept(a: Attr): unknown {
  return { ino: a.ino, type: a.type, mode: a.mode, uid: a.uid, gid: a.gid, length: a.length, atime: a.atime, mtime: a.mtime, nlink: a.nlink };
}

async function onlyEntry(meta: MetaEngine): Promise<TrashEntry> {
  const all = await meta.listTrash();
  assert.equal(all.length, 1, `one entry in the trash, got ${all.length}`);
  return all[0]!;
}

/** A file of `len` bytes with one committed slice, so it holds chunk data. */
async function fileWithData(meta: MetaEngine, dir: number, name: string, len: number): Promise<Attr> {
  const f = await meta.mknod(CALLER, dir, b(name), 'file', 0o640);
  const id = await meta.newSliceId();
  return meta.commitSlice({ ino: f.ino, index: 0, entry: { pos: 0, id, size: len, off: 0, len }, length: len });
}

export function trashTests(ctx: SuiteContext): void {
  describe('trash', () => {
    it('unlink moves a file to /.trash/<hour>; restore gives the same inode back with its attributes and xattrs', async (t) => {
      const vol = await ctx.ownVolume(t, 'trash-round', { trashDays: 1 });
      const meta = vol.engine;
      const d = await meta.mkdir(CALLER, ROOT_INO, b('d'), 0o755);
      const f = await fileWithData(meta, d.ino, 'f', 5000);
      await meta.setxattr(f.ino, b('user.k'), b('v'));
      const before = await meta.getattr(f.ino);
      await tick();
      assert.deepEqual(await unlinkChecked(meta, d.ino, b('f')), { ino: f.ino, gone: false, trashed: true }, 'not gone: it lives in the trash');
      assert.deepEqual(await listNames(meta, d.ino), []);
      assert.deepEqual(await listNames(meta, ROOT_INO), ['d'], 'the root does not list .trash');
      const trash = await meta.lookup(ROOT_INO, b('.trash'));
      assert.equal(trash.ino, TRASH_INO);
      assert.deepEqual([trash.type, trash.mode, trash.uid, trash.nlink], ['directory', 0o700, 0, 3], 'root-only, one hour directory');
      assert.equal((await meta.getattr(ROOT_INO)).nlink, 3, 'the root counts d only');
      const e = await onlyEntry(meta);
      assert.equal(e.entry.toString(), `${d.ino}-${f.ino}-f`);
      assert.deepEqual([e.parent, e.name.toString(), e.ino, e.length], [d.ino, 'f', f.ino, 5000]);
      assert.match(e.hour, /^\d{4}-\d{2}-\d{2}-\d{2}$/);
      assert.ok(Math.abs(e.deletedAt - Date.now()) < 60_000, 'deletion time is now');
      const hours = await listNames(meta, TRASH_INO);
      assert.deepEqual(hours, [e.hour]);
      const inTrash = await meta.getattr(f.ino);
      assert.deepEqual(kept(inTrash), kept(before), 'owner, mode, times, length unchanged in the trash');
      assert.equal((await meta.readChunk(f.ino, 0)).slices.length, 1, 'its data stays');

      assert.deepEqual(await meta.restoreFromTrash(e), { restored: true, parent: d.ino, name: e.name, lostFound: false });
      const back = await meta.lookup(d.ino, b('f'));
      assert.deepEqual(kept(back), kept(before), 'restored: the same inode with the same attributes');
      assert.deepEqual(await meta.getxattr(f.ino, b('user.k')), b('v'));
      assert.deepEqual(await meta.listTrash(), []);
      if (ctx.multiEngine) assert.deepEqual(await metaInvariantViolations(vol.url), []);
    });

    it('a rename over a file moves the replaced file to the trash; a file keeping a link, a directory and trash days 0 do not', async (t) => {
      const vol = await ctx.ownVolume(t, 'trash-rename', { trashDays: 1 });
      const meta = vol.engine;
      const a = await meta.mknod(CALLER, ROOT_INO, b('a'), 'file', 0o644);
      const old = await meta.mknod(CALLER, ROOT_INO, b('b'), 'file', 0o600);
      const { dirs, ...r } = await meta.rename(ROOT_INO, b('a'), ROOT_INO, b('b'));
      assert.deepEqual(r, { ino: a.ino, replaced: old.ino, replacedGone: false });
      assert.deepEqual(dirs, [await meta.getattr(ROOT_INO)], 'the trash move leaves the directory as the rename left it');
      const e = await onlyEntry(meta);
      assert.deepEqual([e.ino, e.parent, e.name.toString()], [old.ino, ROOT_INO, 'b']);
      const linked = await meta.mknod(CALLER, ROOT_INO, b('l'), 'file', 0o644);
      await meta.link(linked.ino, ROOT_INO, b('l2'));
      assert.deepEqual(await unlinkChecked(meta, ROOT_INO, b('l')), { ino: linked.ino, gone: false });
      await meta.mkdir(CALLER, ROOT_INO, b('sub'), 0o755);
      await meta.rmdir(ROOT_INO, b('sub'));
      assert.equal((await meta.listTrash()).length, 1, 'neither a name of a linked file nor a directory went to the trash');
      // Deleting from the trash really deletes.
      assert.deepEqual(await unlinkChecked(meta, e.hourIno, e.entry), { ino: old.ino, gone: true });
      await rejectsWith(() => meta.getattr(old.ino), 'ENOENT', 'deleted from the trash');
    });

    it('restore refuses to overwrite, and puts an entry whose directory is gone into /lost+found; long names survive', async (t) => {
      const vol = await ctx.ownVolume(t, 'trash-restore', { trashDays: 1 });
      const meta = vol.engine;
      const d = await meta.mkdir(CALLER, ROOT_INO, b('d'), 0o755);
      const long = 'n'.repeat(255);
      const f = await meta.mknod(CALLER, d.ino, b(long), 'file', 0o644);
      await meta.unlink(d.ino, b(long));
      const e = await onlyEntry(meta);
      assert.equal(e.entry.length, 255, 'the entry name is cut to 255 bytes');
      assert.equal(e.name.toString(), long, 'the whole name is kept');
      const taken = await meta.mknod(CALLER, d.ino, b(long), 'file', 0o644);
      const refused = await meta.restoreFromTrash(e);
      assert.equal(refused.restored, false);
      assert.equal((await meta.lookup(d.ino, b(long))).ino, taken.ino, 'the existing file is untouched');
      assert.equal((await meta.listTrash()).length, 1, 'the entry stays in the trash');
      await meta.unlink(d.ino, b(long)); // the new file goes to the trash too
      await meta.rmdir(ROOT_INO, b('d'));
      const entries = await meta.listTrash();
      assert.equal(entries.length, 2);
      const mine = entries.find((x) => x.ino === f.ino)!;
      const out = await meta.restoreFromTrash(mine);
      assert.equal(out.restored && out.lostFound, true, 'its directory is gone: /lost+found');
      const lf = await meta.lookup(ROOT_INO, b('lost+found'));
      assert.equal((await meta.lookup(lf.ino, b(long))).ino, f.ino);
    });

    it('expiry deletes hours older than the trash days, through deferred deletion, and leaves newer ones', async (t) => {
      const vol = await ctx.ownVolume(t, 'trash-expiry', { trashDays: 1 });
      const meta = vol.engine;
      const f = await fileWithData(meta, ROOT_INO, 'f', 4096);
      await meta.unlink(ROOT_INO, b('f'));
      assert.deepEqual(await meta.expireTrash(), { trashDays: 1, hours: 0, entries: 0 }, 'nothing is due yet');
      assert.equal((await meta.listTrash()).length, 1);
      const backlog = await meta.deletionBacklog();
      const report = await meta.expireTrash(Date.now() + DAY_MS + 2 * 3_600_000);
      assert.deepEqual(report, { trashDays: 1, hours: 1, entries: 1 });
      await rejectsWith(() => meta.getattr(f.ino), 'ENOENT', 'the expired file');
      assert.deepEqual(await listNames(meta, TRASH_INO), []);
      assert.equal((await meta.getattr(TRASH_INO)).nlink, 2, 'the trash lost its hour directory');
      const after = await meta.deletionBacklog();
      assert.ok(after.droppedLists > backlog.droppedLists, 'its chunks went to deferred deletion');
      if (ctx.multiEngine) assert.deepEqual(await metaInvariantViolations(vol.url), []);
    });

    if (ctx.multiEngine) it('two hosts deleting in the same new hour make one hour directory', async (t) => {
      const vol = await ctx.ownVolume(t, 'trash-race', { trashDays: 1 });
      const other = await vol.open();
      const names = Array.from({ length: 20 }, (_, i) => `f${i}`);
      for (const n of names) await vol.engine.mknod(CALLER, ROOT_INO, b(n), 'file', 0o644);
      await Promise.all(names.map((n, i) => (i % 2 === 0 ? vol.engine : other).unlink(ROOT_INO, b(n))));
      assert.equal((await vol.engine.listTrash()).length, 20);
      const hours = await listNames(vol.engine, TRASH_INO);
      assert.ok(hours.length >= 1 && hours.length <= 2, 'one hour directory (two if the hour turned)');
      assert.equal((await vol.engine.getattr(TRASH_INO)).nlink, 2 + hours.length);
      assert.deepEqual(await metaInvariantViolations(vol.url), []);
    });

    if (ctx.multiEngine) it('trash days changed on another host apply to the next deletion at once', async (t) => {
      const vol = await ctx.ownVolume(t, 'trash-live', { trashDays: 1 });
      const meta = vol.engine;
      await meta.mknod(CALLER, ROOT_INO, b('a'), 'file', 0o644);
      await meta.mknod(CALLER, ROOT_INO, b('b'), 'file', 0o644);
      assert.equal((await meta.unlink(ROOT_INO, b('a'))).gone, false);
      await configureVolume(vol.url, { trashDays: 0 });
      assert.equal((await meta.unlink(ROOT_INO, b('b'))).gone, true, 'trash days 0: gone at once');
      assert.equal((await meta.listTrash()).length, 1);
      assert.deepEqual(await meta.expireTrash(), { trashDays: 0, hours: 1, entries: 1 }, 'days 0: what is there goes at the next expiry');
    });
  });
}
