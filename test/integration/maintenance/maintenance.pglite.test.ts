/**
 * fsck and gc on the embedded engine (PGlite, one connection) with a file:// store: the scan
 * session pins that one connection, so the repairs, deletions and compactions that need it
 * run after it: a stray object is deleted after the window, compaction leaves the data
 * intact, and a missing block is found.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { blockKey, sliceBlockKeys } from '../../../src/chunk/keys.js';
import { runFsck, runGc } from '../../../src/maintenance/index.js';
import { ROOT_INO } from '../../../src/meta/index.js';
import { freshDataVolume, KiB, listBlockKeys, ROOT_CALLER } from '../../support/data-volume.js';
import { readFile, writeFile } from '../../support/maintenance.js';

const BLOCK = 64 * KiB;

describe('fsck and gc on PGlite', () => {
  test('delete a stray object after the window, compact, find a missing block', async (t) => {
    const dv = await freshDataVolume('maint-pglite', { meta: 'pglite', data: 'file', blockSize: BLOCK });
    t.after(() => dv.cleanup());
    const v = await dv.open({ autoCompact: false });
    const data = randomBytes(BLOCK + 100);
    const ino = await writeFile(v, ROOT_INO, 'pieces', Buffer.alloc(0));
    for (let off = 0; off < data.length; off += 10 * KiB) {
      const fh = await v.vfs.open(ROOT_CALLER, ino, constants.O_RDWR);
      await v.vfs.write(fh, off, data.subarray(off, off + 10 * KiB));
      await v.vfs.release(fh);
    }
    const other = await writeFile(v, ROOT_INO, 'other', randomBytes(BLOCK * 2));
    await v.meta.flushCounters();
    assert.equal((await runFsck(v, { verify: true })).healthy, true);

    const stray = blockKey(777_777, 0, 123);
    await dv.objects.put(stray, randomBytes(50));
    await sleep(1500);
    const gc = await runGc(v, { delete: true, compact: true, windowMs: 200 });
    assert.equal(gc.deleted?.leaked.count, 1);
    assert.equal(gc.compacted?.chunks, 1, 'the chunk written in 7 pieces was compacted');
    assert.ok(!(await listBlockKeys(dv.objects)).includes(stray));
    assert.equal((await v.meta.readChunk(ino, 0)).slices.length, 1);
    assert.ok((await readFile(v, ino)).equals(data));

    const s = (await v.meta.readChunk(other, 0)).slices[0]!;
    await dv.objects.delete(sliceBlockKeys(s.id, s.size, BLOCK)[1]!);
    const broken = await runFsck(v);
    assert.deepEqual(broken.problems.map((p) => [p.kind, p.path]), [['missing-block', '/other']]);
  });
});
