/**
 * gc --delete deletes nothing when its scan fails (PostgreSQL + s3rver): the listing failing
 * (a FaultyStore over the real store), or the scan's database connection being killed while
 * the bucket is being listed. The same leaked objects are deleted by the next clean run.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { blockKey } from '../../../src/chunk/keys.js';
import { runGc } from '../../../src/maintenance/index.js';
import { FaultyStore, type ObjectStore } from '../../../src/object/index.js';
import { ROOT_INO } from '../../../src/meta/index.js';
import { freshDataVolume, KiB, listBlockKeys } from '../../support/data-volume.js';
import { sqlOn, writeFile } from '../../support/maintenance.js';

const BLOCK = 64 * KiB;

describe('gc aborts before deleting', () => {
  test('a failed listing or a lost metadata connection deletes nothing', async (t) => {
    const dv = await freshDataVolume('gc-abort', { meta: 'postgres', data: 's3', blockSize: BLOCK });
    t.after(() => dv.cleanup());
    let faulty: FaultyStore | undefined;
    const v = await dv.open({ wrapStore: (s: ObjectStore) => (faulty = new FaultyStore(s)) });
    await writeFile(v, ROOT_INO, 'live', randomBytes(BLOCK + 1));
    const strays = Array.from({ length: 5 }, (_, i) => blockKey(800_000 + i, 0, 100));
    for (const k of strays) await dv.objects.put(k, randomBytes(60));
    const all = await listBlockKeys(dv.objects);
    await sleep(1500);

    faulty!.failAlways(['list']);
    await assert.rejects(runGc(v, { delete: true, windowMs: 100 }), /unavailable|fail/i);
    assert.deepEqual(await listBlockKeys(dv.objects), all, 'a failed listing deletes nothing');
    faulty!.heal();

    // Kill every other connection to the volume's database while gc lists (slowly): its scan
    // session dies between the snapshot and the lookups.
    faulty!.setLatency(1500);
    const run = runGc(v, { delete: true, windowMs: 100 });
    await sleep(700);
    await sqlOn(dv.metaUrl, [`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()`]);
    await assert.rejects(run);
    assert.deepEqual(await listBlockKeys(dv.objects), all, 'a lost metadata connection deletes nothing');
    faulty!.heal();

    const clean = await runGc(v, { delete: true, windowMs: 100 });
    assert.equal(clean.deleted?.leaked.count, strays.length);
    assert.deepEqual(await listBlockKeys(dv.objects), all.filter((k) => !strays.includes(k)));
  });
});
