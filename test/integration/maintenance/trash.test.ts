/**
 * The trash end to end below FUSE (PostgreSQL and PGlite + s3rver, decision 78): a deleted
 * and a replaced file keep their objects while in the trash (deferred deletion, fsck and gc
 * leave them alone), `objectfs trash` lists them, `objectfs restore` gives them back byte for
 * byte, and expiry (a test clock, then the mounts' background job after `config --trash-days 0`)
 * releases their objects through deferred deletion.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { FsckReport, GcReport } from '../../../src/maintenance/index.js';
import { ROOT_INO } from '../../../src/meta/index.js';
import { freshDataVolume, KiB, listBlockKeys, ROOT_CALLER, type MetaBackend } from '../../support/data-volume.js';
import { cliJson, readFile, writeFile } from '../../support/maintenance.js';
import { runCli } from '../../support/cli.js';

const BLOCK = 64 * KiB;
const DAY_MS = 86_400_000;
const b = (s: string) => Buffer.from(s);

interface TrashJson { trashDays: number; entries: { path: string; hour: string; ino: number; parent: number; name: string; from: string | null; size: number; ageSeconds: number }[]; total: { entries: number; bytes: number } }
interface RestoreJson { results: { path: string; restored: boolean; reason?: string }[]; restored: number; refused: number }

for (const meta of ['postgres', 'pglite'] as MetaBackend[]) {
  describe(`trash on ${meta}`, () => {
    test('delete and replace keep objects; list, restore byte-identical, refuse to overwrite; expiry releases the objects; fsck healthy', async (t) => {
      const dv = await freshDataVolume(`trash-${meta}`, { meta, data: 's3', blockSize: BLOCK, trashDays: 1 });
      t.after(() => dv.cleanup());
      // PGlite is one process at a time: the volume is closed while a command runs.
      let v = await dv.open();
      const dir = (await v.vfs.mkdir(ROOT_CALLER, ROOT_INO, b('d'), 0o755)).ino;
      const data = randomBytes(3 * BLOCK + 77);
      const other = randomBytes(BLOCK + 3);
      const f = await writeFile(v, dir, 'f', data);
      await writeFile(v, dir, 'g', other);
      await writeFile(v, dir, 'new', randomBytes(100));
      await v.vfs.setxattr(ROOT_CALLER, f, b('user.tag'), b('kept'));
      const before = await v.meta.getattr(f);
      const objects = (await listBlockKeys(dv.objects)).length;
      await v.vfs.unlink(ROOT_CALLER, dir, b('f'));
      await v.vfs.rename(ROOT_CALLER, dir, b('new'), dir, b('g')); // g goes to the trash
      await v.vfs.runDeletion(0);
      assert.equal((await listBlockKeys(dv.objects)).length, objects, 'files in the trash keep every object');
      await v.close();

      const listed = (await cliJson<TrashJson>(['trash', dv.metaUrl, '--json'], 0)).report;
      assert.equal(listed.trashDays, 1);
      assert.deepEqual(listed.entries.map((e) => [e.name, e.parent, e.from, e.size]).sort(), [['f', dir, '/d/f', data.length], ['g', dir, '/d/g', other.length]]);
      assert.equal(listed.total.bytes, data.length + other.length);
      const text = await runCli(['trash', dv.metaUrl]);
      assert.equal(text.code, 0, text.stderr);
      assert.match(text.stdout, /2 entries/);
      assert.match(text.stdout, / from \/d\/f\n/);

      const fsck = (await cliJson<FsckReport>(['fsck', dv.metaUrl, '--json', '--no-progress'], 0)).report;
      assert.equal(fsck.healthy, true, JSON.stringify(fsck.problems));
      const gc = (await cliJson<GcReport>(['gc', dv.metaUrl, '--json', '--no-progress', '--delete', '--window', '0'], 0)).report;
      assert.equal(gc.objects.leaked.count, 0, 'gc sees the trash files\' objects as valid');
      assert.equal((await listBlockKeys(dv.objects)).length, objects, 'gc --delete deleted nothing of the trash');

      const fEntry = listed.entries.find((e) => e.name === 'f')!;
      const gEntry = listed.entries.find((e) => e.name === 'g')!;
      assert.equal(fEntry.hour, gEntry.hour);
      const usage = await runCli(['restore', dv.metaUrl]);
      assert.equal(usage.code, 2, 'nothing named: a usage error');
      const hour = await cliJson<RestoreJson>(['restore', dv.metaUrl, '--hour', fEntry.hour, '--json'], 1);
      assert.deepEqual([hour.report.restored, hour.report.refused], [1, 1], 'f comes back; g exists again (the renamed file): not overwritten');
      assert.match(hour.result.stderr, /^objectfs: 1 entry was not restored/);
      const again = await cliJson<RestoreJson>(['restore', dv.metaUrl, `/.trash/${gEntry.path}`, 'no-such/entry', '--json'], 1);
      assert.deepEqual(again.report.results.map((r) => r.restored), [false, false]);

      v = await dv.open();
      const back = await v.meta.lookup(dir, b('f'));
      assert.equal(back.ino, f);
      assert.deepEqual([back.mode, back.uid, back.gid, back.mtime, back.atime, back.length], [before.mode, before.uid, before.gid, before.mtime, before.atime, before.length]);
      assert.ok((await readFile(v, f)).equals(data), 'restored byte for byte');
      assert.deepEqual(await v.vfs.getxattr(ROOT_CALLER, f, b('user.tag')), b('kept'));

      // Expiry with a test clock: the remaining entry (g) goes, and its objects with it.
      const report = await v.meta.expireTrash(Date.now() + DAY_MS + 2 * 3_600_000);
      assert.deepEqual(report, { trashDays: 1, hours: 1, entries: 1 });
      await v.vfs.runDeletion(0);
      assert.equal((await listBlockKeys(dv.objects)).length, objects - Math.ceil(other.length / BLOCK), 'g\'s blocks are deleted');
      await v.close();
      const after = (await cliJson<FsckReport>(['fsck', dv.metaUrl, '--json', '--no-progress'], 0)).report;
      assert.equal(after.healthy, true, JSON.stringify(after.problems));
      const empty = (await cliJson<TrashJson>(['trash', dv.metaUrl, '--json'], 0)).report;
      assert.equal(empty.total.entries, 0);
    });
  });
}

describe('trash expiry by the mounts', () => {
  test('a mount\'s background job expires the trash once trash days go to 0 (config, live), and reports it', async (t) => {
    const dv = await freshDataVolume('trash-job', { meta: 'postgres', data: 's3', blockSize: BLOCK, trashDays: 1 });
    t.after(() => dv.cleanup());
    const v = await dv.open({ session: { mountPoint: '/test/trash-job', version: 'test', host: 'test', pid: process.pid }, backgroundMs: 200, trashExpiryMs: 500 });
    const f = await writeFile(v, ROOT_INO, 'f', randomBytes(2 * BLOCK));
    await v.vfs.unlink(ROOT_CALLER, ROOT_INO, b('f'));
    await sleep(1500);
    assert.equal((await v.meta.listTrash()).length, 1, 'not expired within its day');
    const objects = (await listBlockKeys(dv.objects)).length;
    assert.equal(objects, 2);
    const config = await runCli(['config', dv.metaUrl, '--trash-days', '0']);
    assert.equal(config.code, 0, config.stderr);
    const deadline = Date.now() + 30_000;
    while ((await v.meta.listTrash()).length > 0 && Date.now() < deadline) await sleep(200);
    assert.deepEqual(await v.meta.listTrash(), [], 'expired by the background job');
    await assert.rejects(v.meta.getattr(f));
    const reported = async () => (await v.meta.listJobs()).some((j) => (j.info as { trashDays?: number } | null)?.trashDays === 0);
    while (!await reported() && Date.now() < deadline) await sleep(200);
    const status = await runCli(['status', dv.metaUrl, '--json']);
    assert.equal(status.code, 0, status.stderr);
    const jobs = (JSON.parse(status.stdout) as { jobs: { name: string; sid: number; info: { trashDays: number } | null }[] }).jobs;
    const job = jobs.find((j) => j.name === 'trash-expiry');
    assert.equal(job?.sid, v.meta.sessionId, 'the mount claimed the job');
    assert.equal(job?.info?.trashDays, 0, 'status shows its last report');
    await v.vfs.runDeletion(0);
    assert.equal((await listBlockKeys(dv.objects)).length, 0, 'its objects are deleted');
  });
});
