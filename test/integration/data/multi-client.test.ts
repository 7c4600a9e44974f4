/**
 * Two clients ("hosts") of one volume on PostgreSQL + s3rver, in one process: the change feed
 * carries one client's changes to the other, a chunk map cached before another client compacted
 * the chunk and deleted the replaced slices is never read as freed data, and a file deleted by
 * another client while open here reads as ESTALE, not zeros.
 */
import { describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { constants } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { ROOT_INO, type Change } from '../../../src/meta/index.js';
import { freshDataVolume, KiB, ROOT_CALLER } from '../../support/data-volume.js';
import type { Volume } from '../../../src/volume/open-volume.js';

const BLOCK = 64 * KiB;

function bytes(seed: number, len: number): Buffer {
  const b = Buffer.alloc(len);
  for (let i = 0; i < len; i++) b[i] = (i * 31 + seed * 17 + (i >> 9)) & 0xff;
  return b;
}

async function until(cond: () => boolean, ms: number): Promise<boolean> {
  for (const end = Date.now() + ms; Date.now() < end; await sleep(5)) if (cond()) return true;
  return cond();
}

/** Counts A's lookups that reach the metadata engine; `missing` asks A's vfs whether a name is absent. */
function countedLookups(a: Volume): { lookups: () => number; missing: (parent: number, name: string) => Promise<boolean> } {
  let count = 0;
  const lookup = a.meta.lookup.bind(a.meta);
  a.meta.lookup = (parent, name) => { count++; return lookup(parent, name); };
  return {
    lookups: () => count,
    missing: (parent, name) => a.vfs.lookup(ROOT_CALLER, parent, Buffer.from(name)).then(() => false, (err: NodeJS.ErrnoException) => err.code === 'ENOENT'),
  };
}

/** Clients A and B of a fresh volume, closed and removed after the test. */
async function twoClients(t: TestContext, label: string): Promise<{ a: Volume; b: Volume }> {
  const dv = await freshDataVolume(label, { meta: 'postgres', data: 's3', blockSize: BLOCK });
  t.after(() => dv.cleanup());
  const a = await dv.open();
  const b = await dv.open();
  t.after(async () => { await a.close(); await b.close(); });
  return { a, b };
}

describe('two clients of one volume', () => {
  test('the change feed carries one client\'s changes to the other, not to itself', async (t) => {
    const dv = await freshDataVolume('feed', { meta: 'postgres', data: 's3', blockSize: BLOCK });
    t.after(() => dv.cleanup());
    const a = await dv.open();
    const b = await dv.open();
    const atA: Change[] = [];
    const atB: Change[] = [];
    let resetsAtB = 0;
    a.meta.onChange({ onChange: (c) => atA.push(c), onReset: () => undefined });
    b.meta.onChange({ onChange: (c) => atB.push(c), onReset: () => { resetsAtB++; } });
    assert.ok(await until(() => resetsAtB > 0, 5_000), 'a new subscription starts with a reset (nothing was heard before)');
    const file = await a.meta.mknod(ROOT_CALLER, ROOT_INO, Buffer.from('f'), 'file', 0o644);
    await a.meta.setattr(file.ino, { mode: 0o600 });
    const moved = await a.meta.rename(ROOT_INO, Buffer.from('f'), ROOT_INO, Buffer.from('g'));
    assert.ok(await until(() => atB.some((c) => c.renamed.has(moved.ino)), 5_000), 'B hears of the rename, as a lost name');
    assert.ok(atB.some((c) => c.inos.has(file.ino)), 'B hears of the setattr');
    assert.ok(atB.every((c) => !c.renamed.has(ROOT_INO)), 'a parent whose entries changed did not lose its name');
    await sleep(50);
    assert.deepEqual(atA, [], 'A does not hear its own announcements');
  });

  test('a restore from the trash announces the name it brings back, to the other client', async (t) => {
    const dv = await freshDataVolume('restore-feed', { meta: 'postgres', data: 's3', blockSize: BLOCK, trashDays: 1 });
    t.after(() => dv.cleanup());
    const b = await dv.open();
    const a = await dv.open();
    t.after(async () => { await a.close(); await b.close(); });
    const atA: Change[] = [];
    let resetsAtA = 0;
    a.meta.onChange({ onChange: (c) => atA.push(c), onReset: () => { resetsAtA++; } });
    assert.ok(await until(() => resetsAtA > 0, 5_000), 'A is listening');
    const back = Buffer.from('back');
    const dir = await b.meta.mkdir(ROOT_CALLER, ROOT_INO, Buffer.from('d'), 0o755);
    const file = await b.meta.mknod(ROOT_CALLER, dir.ino, back, 'file', 0o644);
    await b.meta.unlink(dir.ino, back);
    assert.ok(await until(() => atA.some((c) => c.renamed.has(file.ino)), 5_000), 'A hears of the unlink');
    const before = atA.length;
    const [entry] = (await b.meta.listTrash()).filter((e) => e.name.equals(back));
    assert.ok(entry !== undefined, 'the unlinked file is in the trash');
    assert.equal((await b.meta.restoreFromTrash(entry)).restored, true);
    // Another host's kernel may hold the name as missing: the notice must name it, not only its directory.
    const restoredHeard = () => atA.slice(before).some((c) => c.inos.has(dir.ino) && c.entries.some((e) => e.parent === dir.ino && e.name.equals(back)));
    assert.ok(await until(restoredHeard, 5_000), `A hears of the restored name in its directory: ${JSON.stringify(atA.slice(before).map((c) => c.entries))}`);
  });

  test('a chunk map cached before another client compacted and deleted the old slices is reloaded', async (t) => {
    const dv = await freshDataVolume('compact-elsewhere', { meta: 'postgres', data: 's3', blockSize: BLOCK });
    t.after(() => dv.cleanup());
    const a = await dv.open({ autoCompact: false });
    const b = await dv.open();
    const { fh, attr } = await a.vfs.create(ROOT_CALLER, ROOT_INO, Buffer.from('f'), 0o644, constants.O_RDWR);
    const model = Buffer.alloc(4 * BLOCK);
    for (let i = 0; i < 24; i++) {
      const off = (i * 13_001) % (3 * BLOCK);
      const data = bytes(i, 20_000);
      await a.vfs.write(fh, off, data);
      data.copy(model, off);
      await a.vfs.flush(fh);
    }
    const length = (await a.vfs.getattr(attr.ino)).length;
    const bfh = await b.vfs.open(ROOT_CALLER, attr.ino, constants.O_RDONLY);
    assert.ok((await b.vfs.read(bfh, 0, length)).equals(model.subarray(0, length)), 'B reads the file (its chunk map is now cached)');
    assert.equal(await a.vfs.compact(attr.ino, 0), 'compacted');
    await sleep(10);
    const deleted = await a.vfs.runDeletion(0); // no safety delay: the replaced slices' objects go at once
    assert.ok(deleted.deletedSlices > 0, 'the replaced slices were deleted');
    assert.ok((await b.vfs.read(bfh, 0, length)).equals(model.subarray(0, length)), 'B still reads the right bytes');
    await b.vfs.release(bfh);
    await a.vfs.release(fh);
  });

  test('a file deleted by another client while open here reads as ESTALE, never zeros', async (t) => {
    const dv = await freshDataVolume('deleted-elsewhere', { meta: 'postgres', data: 's3', blockSize: BLOCK });
    t.after(() => dv.cleanup());
    const a = await dv.open();
    const b = await dv.open();
    const { fh, attr } = await a.vfs.create(ROOT_CALLER, ROOT_INO, Buffer.from('f'), 0o644, constants.O_RDWR);
    const data = bytes(1, 3 * BLOCK);
    await a.vfs.write(fh, 0, data);
    await a.vfs.release(fh);
    const bfh = await b.vfs.open(ROOT_CALLER, attr.ino, constants.O_RDONLY);
    const wfh = await b.vfs.open(ROOT_CALLER, attr.ino, constants.O_WRONLY);
    assert.ok((await b.vfs.read(bfh, 0, BLOCK)).equals(data.subarray(0, BLOCK)));
    assert.equal((await a.vfs.unlink(ROOT_CALLER, ROOT_INO, Buffer.from('f'))).gone, true, 'A deletes it: it is not open on A');
    await assert.rejects(async () => {
      // Until B hears of it, its cached map still names the (not yet deleted) slices: their bytes are the file's own.
      for (const end = Date.now() + 5_000; Date.now() < end; await sleep(5)) {
        const got = await b.vfs.read(bfh, BLOCK, BLOCK);
        assert.ok(got.equals(data.subarray(BLOCK, 2 * BLOCK)), 'any bytes B reads are the file\'s own');
      }
    }, (err: NodeJS.ErrnoException) => err.code === 'ESTALE');
    await assert.rejects(b.vfs.getattr(attr.ino), (err: NodeJS.ErrnoException) => err.code === 'ESTALE', 'fstat: ESTALE');
    await b.vfs.write(wfh, 0, Buffer.from('late'));
    await assert.rejects(b.vfs.flush(wfh), (err: NodeJS.ErrnoException) => err.code === 'ENOENT', 'a write through it fails at flush');
    await b.vfs.release(bfh);
    await b.vfs.release(wfh).catch(() => undefined);
  });

  test('a directory made here answers missing names without the database, and another client\'s names show', async (t) => {
    const { a, b } = await twoClients(t, 'fresh-dirs');
    const { lookups, missing } = countedLookups(a);
    const name = (s: string) => Buffer.from(s);

    const dir = (await a.vfs.mkdir(ROOT_CALLER, ROOT_INO, name('fresh'), 0o755)).ino;
    for (let i = 0; i < 20; i++) {
      assert.ok(await missing(dir, `f${i}`));
      const { fh } = await a.vfs.create(ROOT_CALLER, dir, name(`f${i}`), 0o644, constants.O_WRONLY);
      await a.vfs.release(fh);
    }
    assert.equal(lookups(), 0, 'twenty creates in a directory made here: no lookup reached the database');
    assert.equal((await a.vfs.lookup(ROOT_CALLER, dir, name('f7'))).type, 'file', 'a name made here is asked for, and found');
    await a.vfs.rename(ROOT_CALLER, dir, name('f8'), dir, name('moved'));
    assert.ok(!(await missing(dir, 'moved')), 'a rename target is asked for, and found');
    assert.ok(await missing(dir, '.') === false && await missing(dir, '..') === false, "'.' and '..' are never missing");

    // Another client adds a name: an exclusive create here fails at once (the database decides),
    // and after its announcement the lookup asks the database and finds it.
    const { fh } = await b.vfs.create(ROOT_CALLER, dir, name('theirs'), 0o644, constants.O_WRONLY);
    await b.vfs.release(fh);
    await assert.rejects(a.vfs.create(ROOT_CALLER, dir, name('theirs'), 0o644, constants.O_WRONLY | constants.O_EXCL), (err: NodeJS.ErrnoException) => err.code === 'EEXIST');
    let shown = false;
    for (const end = Date.now() + 5000; !shown && Date.now() < end; await sleep(10)) shown = !(await missing(dir, 'theirs'));
    assert.ok(shown, 'the other client\'s name shows here after its announcement');
    const before = lookups();
    await missing(dir, 'still-missing');
    assert.equal(lookups(), before + 1, 'once another client changed the directory, missing names are asked for');
  });

  test('a directory listed here answers missing names without the database, and another client\'s names show', async (t) => {
    const { a, b } = await twoClients(t, 'listed-dirs');
    const { lookups, missing } = countedLookups(a);
    const name = (s: string) => Buffer.from(s);
    const listAll = async (ino: number) => { const out: string[] = []; for await (const e of a.vfs.readdir(ROOT_CALLER, ino)) out.push(e.name.toString()); return out; };
    const listPages = async (ino: number) => {
      let after: Buffer | undefined;
      do after = (await a.vfs.readdirPage(ino, after, 7)).next; while (after !== undefined);
    };

    // Made by B, so A knows nothing of it until A lists it.
    const dir = (await b.vfs.mkdir(ROOT_CALLER, ROOT_INO, name('shared'), 0o755)).ino;
    for (let i = 0; i < 30; i++) await b.vfs.release((await b.vfs.create(ROOT_CALLER, dir, name(`f${i}`), 0o644, constants.O_WRONLY)).fh);
    const before = lookups();
    assert.ok(await missing(dir, 'nothing'));
    assert.equal(lookups(), before + 1, 'not listed yet: asked for');
    // B's notices of its creates may still arrive, and one arriving after a listing spoils
    // what it taught. They arrive in commit order, so once A has seen a later one of B's
    // (a name B adds to a directory A made, which A then no longer answers as missing), none
    // is left in flight.
    let marks = 0;
    const bSettled = async () => {
      const sentinel = (await a.vfs.mkdir(ROOT_CALLER, ROOT_INO, name(`sentinel${++marks}`), 0o755)).ino;
      await b.vfs.release((await b.vfs.create(ROOT_CALLER, sentinel, name('mark'), 0o644, constants.O_WRONLY)).fh);
      for (const end = Date.now() + 10_000; await missing(sentinel, 'mark'); await sleep(10)) {
        if (Date.now() > end) assert.fail('B\'s notice never reached A');
      }
    };
    // Then list until a listing ran with no notice arriving (the next lookup of a missing name
    // stays here).
    const learn = async (ino: number, list: () => Promise<unknown>) => {
      await bSettled();
      for (const end = Date.now() + 5000; Date.now() < end; await sleep(10)) {
        await list();
        const asked = lookups();
        assert.ok(await missing(ino, 'probe'));
        if (lookups() === asked) return;
      }
      assert.fail('a listing run to its end with no change meanwhile teaches the missing names');
    };
    await learn(dir, async () => assert.equal((await listAll(dir)).length, 30));
    const listed = lookups();
    for (let i = 0; i < 20; i++) assert.ok(await missing(dir, `absent${i}`));
    assert.equal(lookups(), listed, 'listed to its end: twenty missing names answered here');
    assert.ok(listed > before, 'before the listing, missing names were asked for');
    assert.equal((await a.vfs.lookup(ROOT_CALLER, dir, name('f3'))).type, 'file', 'a listed name is asked for, and found');
    // A rename's new name, after a listing read page by page (as the kernel does).
    const other = (await b.vfs.mkdir(ROOT_CALLER, ROOT_INO, name('paged'), 0o755)).ino;
    for (let i = 0; i < 20; i++) await b.vfs.release((await b.vfs.create(ROOT_CALLER, other, name(`g${i}`), 0o644, constants.O_WRONLY)).fh);
    await learn(other, () => listPages(other));
    const paged = lookups();
    assert.ok(await missing(other, 'r0'));
    assert.equal(lookups(), paged, 'a missing name of a directory listed page by page (a rename\'s new name): no round trip');
    await a.vfs.rename(ROOT_CALLER, other, name('g0'), other, name('r0'));
    assert.ok(!(await missing(other, 'r0')), 'the rename target is asked for, and found');

    // Another client adds a name to the listed directory: after its announcement it shows here.
    await b.vfs.release((await b.vfs.create(ROOT_CALLER, dir, name('theirs'), 0o644, constants.O_WRONLY)).fh);
    await assert.rejects(a.vfs.create(ROOT_CALLER, dir, name('theirs'), 0o644, constants.O_WRONLY | constants.O_EXCL), (err: NodeJS.ErrnoException) => err.code === 'EEXIST');
    let shown = false;
    for (const end = Date.now() + 5000; !shown && Date.now() < end; await sleep(10)) shown = !(await missing(dir, 'theirs'));
    assert.ok(shown, 'the other client\'s name shows here after its announcement');

    // Creates here while listings run: no name this host made is ever answered missing.
    const busy = (await a.vfs.mkdir(ROOT_CALLER, ROOT_INO, name('busy'), 0o755)).ino;
    await Promise.all([
      (async () => { for (let i = 0; i < 40; i++) await a.vfs.release((await a.vfs.create(ROOT_CALLER, busy, name(`c${i}`), 0o644, constants.O_WRONLY)).fh); })(),
      (async () => { for (let i = 0; i < 40; i++) await listAll(busy); })(),
    ]);
    await listAll(busy);
    for (let i = 0; i < 40; i++) assert.ok(!(await missing(busy, `c${i}`)), `c${i} made here during listings is found`);
  });

  test('a directory removed by another client is ESTALE to every name operation in it here, never ENOENT', async (t) => {
    const { a, b } = await twoClients(t, 'gone-parent');
    const name = (s: string) => Buffer.from(s);
    // Made by B (a directory made here would answer missing names itself until B's announcement).
    await b.vfs.mkdir(ROOT_CALLER, ROOT_INO, name('held'), 0o755);
    const dir = (await a.vfs.lookup(ROOT_CALLER, ROOT_INO, name('held'))).ino;
    const other = (await a.vfs.mkdir(ROOT_CALLER, ROOT_INO, name('other'), 0o755)).ino;
    const { fh, attr: file } = await a.vfs.create(ROOT_CALLER, other, name('f'), 0o644, constants.O_WRONLY);
    await a.vfs.release(fh);
    await b.vfs.rmdir(ROOT_CALLER, ROOT_INO, name('held'));

    const stale = (err: NodeJS.ErrnoException) => err.code === 'ESTALE';
    // Through FUSE the kernel has checked permissions (no getattr of the directory first); a
    // library caller is checked by the vfs, which reads the directory's attributes.
    for (const caller of [{ ...ROOT_CALLER, kernelChecked: true }, ROOT_CALLER]) {
      const ops: [string, () => Promise<unknown>][] = [
        ['lookup', () => a.vfs.lookup(caller, dir, name('x'))],
        ['create', () => a.vfs.create(caller, dir, name('x'), 0o644, constants.O_WRONLY)],
        ['mknod', () => a.vfs.mknod(caller, dir, name('x'), 'fifo', 0o644)],
        ['mkdir', () => a.vfs.mkdir(caller, dir, name('x'), 0o755)],
        ['symlink', () => a.vfs.symlink(caller, dir, name('x'), name('target'))],
        ['link', () => a.vfs.link(caller, file.ino, dir, name('x'))],
        ['unlink', () => a.vfs.unlink(caller, dir, name('x'))],
        ['rmdir', () => a.vfs.rmdir(caller, dir, name('x'))],
        ['rename out of it', () => a.vfs.rename(caller, dir, name('x'), other, name('y'))],
        ['rename into it', () => a.vfs.rename(caller, other, name('f'), dir, name('f'))],
        ['getattr', () => a.vfs.getattr(dir)],
      ];
      for (const [what, op] of ops) await assert.rejects(op(), stale, `${what}, ${caller === ROOT_CALLER ? 'library' : 'kernel-checked'} caller`);
    }
    // A missing name in a directory that is there is still ENOENT, and nothing was made.
    await assert.rejects(a.vfs.lookup(ROOT_CALLER, other, name('x')), (err: NodeJS.ErrnoException) => err.code === 'ENOENT');
    const names: string[] = [];
    for await (const e of a.vfs.readdir(ROOT_CALLER, ROOT_INO)) names.push(e.name.toString());
    assert.deepEqual(names.sort(), ['other']);
    assert.equal((await a.vfs.lookup(ROOT_CALLER, other, name('f'))).ino, file.ino, 'the file that failed to move stayed');
  });
});
