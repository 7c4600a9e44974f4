/**
 * gc on stray objects (PostgreSQL + s3rver): block-named objects no metadata names are
 * skipped while younger than the safety window, reported as leaked once older, and deleted
 * only with --delete; objects that are not block keys, and blocks of live slices whose key
 * does not fit the slice, are reported and kept; a deleted file's slices go through pending
 * deletion, also only once older than the window. Live files read back intact throughout.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { blockKey } from '../../../src/chunk/keys.js';
import { runFsck, type GcReport } from '../../../src/maintenance/index.js';
import { ROOT_INO } from '../../../src/meta/index.js';
import { freshDataVolume, KiB, listBlockKeys, ROOT_CALLER } from '../../support/data-volume.js';
import { cliJson, readFile, writeFile } from '../../support/maintenance.js';

const BLOCK = 64 * KiB;
const WINDOW_S = 2;

describe('gc of leaked objects', () => {
  test('stray objects: skipped inside the window, leaked after it, deleted only with --delete', async (t) => {
    const dv = await freshDataVolume('gc-leaked', { meta: 'postgres', data: 's3', blockSize: BLOCK });
    t.after(() => dv.cleanup());
    const v = await dv.open();
    const keepData = randomBytes(2 * BLOCK + 5);
    const keep = await writeFile(v, ROOT_INO, 'keep', keepData);
    await writeFile(v, ROOT_INO, 'doomed', randomBytes(3 * BLOCK));
    const live = (await v.meta.readChunk(keep, 0)).slices[0]!;
    await v.vfs.unlink(ROOT_CALLER, ROOT_INO, Buffer.from('doomed'));

    const strays = [blockKey(900_001, 0, BLOCK), blockKey(900_001, 1, 100), blockKey(12_345_678, 0, 4096)];
    for (const k of strays) await dv.objects.put(k, randomBytes(300));
    const foreign = 'chunks/README';
    const mismatched = blockKey(live.id, 7, BLOCK);
    await dv.objects.put(foreign, Buffer.from('not a block'));
    await dv.objects.put(mismatched, randomBytes(200));
    const base = ['gc', dv.metaUrl];

    const first = (await cliJson<GcReport>(base, 0)).report;
    assert.deepEqual(
      { valid: first.objects.valid.count, pending: first.objects.pending.count, leaked: first.objects.leaked.count, skipped: first.objects.skipped.count, mismatched: first.objects.mismatched.count, foreign: first.objects.foreign.count },
      { valid: 3, pending: 3, leaked: 0, skipped: 3, mismatched: 1, foreign: 1 },
    );
    assert.equal(first.objects.skipped.bytes, 900);
    assert.equal(first.pending.droppedLists, 1, 'the deleted file waits as a dropped list');
    assert.equal(first.deleted, undefined);

    const guarded = (await cliJson<GcReport>([...base, '--delete'], 0)).report;
    assert.equal(guarded.deleted?.leaked.count, 0, 'nothing younger than the default 1 h window is deleted');
    assert.equal(guarded.deleted?.releasedLists, 1);
    assert.equal(guarded.deleted?.pendingSlices, 0, 'the released slice is younger than the window');
    assert.equal((await listBlockKeys(dv.objects)).length, 3 + 3 + 3 + 1 + 1, 'every object is still there');

    await sleep((WINDOW_S + 1.5) * 1000);
    const report = (await cliJson<GcReport>([...base, '--window', String(WINDOW_S)], 0)).report;
    assert.equal(report.objects.leaked.count, 3);
    assert.equal(report.objects.leaked.bytes, 900);
    assert.equal(report.objects.pending.count, 3, 'the deleted file\'s blocks wait for deferred deletion');
    assert.equal((await listBlockKeys(dv.objects)).length, 11, 'without --delete nothing is deleted');

    const deleted = (await cliJson<GcReport>([...base, '--window', String(WINDOW_S), '--delete'], 0)).report;
    assert.equal(deleted.deleted?.leaked.count, 3);
    assert.equal(deleted.deleted?.pendingSlices, 1);
    const left = await listBlockKeys(dv.objects);
    for (const k of strays) assert.ok(!left.includes(k), `${k} was deleted`);
    assert.ok(left.includes(foreign) && left.includes(mismatched), 'foreign and mismatched objects are kept');
    assert.equal(left.length, 3 + 2);

    const again = (await cliJson<GcReport>([...base, '--window', String(WINDOW_S)], 0)).report;
    assert.equal(again.objects.leaked.count + again.objects.pending.count + again.objects.skipped.count, 0);
    assert.equal(again.objects.valid.count, 3);
    assert.ok((await readFile(v, keep)).equals(keepData));
    await v.meta.flushCounters();
    const fsck = await runFsck(v);
    assert.equal(fsck.healthy, true, JSON.stringify(fsck.problems));
  });
});
