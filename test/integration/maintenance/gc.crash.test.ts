/**
 * gc after a writer was killed between upload and commit (PostgreSQL + s3rver, the writer of
 * test/support/crash-writer.ts): inside the safety window its uploaded, uncommitted blocks are
 * only skipped; after the window gc reports exactly those as leaked and deletes exactly those,
 * never a live block; the committed file reads back and verifies, and fsck is clean without
 * --repair.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import type { FsckReport, GcReport } from '../../../src/maintenance/index.js';
import { crashData } from '../../support/crash-data.js';
import { allChunkRows, freshDataVolume, KiB, listBlockKeys, referencedBlockKeys } from '../../support/data-volume.js';
import { cliJson, readFile } from '../../support/maintenance.js';

const BLOCK = 64 * KiB;
const COMMITTED = 3 * BLOCK + 1000;
const UNCOMMITTED_BLOCKS = 6;
const ORPHANS = UNCOMMITTED_BLOCKS + 2;
const WINDOW_S = 2;
const WRITER = fileURLToPath(new URL('../../support/crash-writer.js', import.meta.url));

describe('gc after a crashed writer', () => {
  test('finds the uploaded, uncommitted blocks after the window, and no live block', async (t) => {
    const dv = await freshDataVolume('gc-crash', { meta: 'postgres', data: 's3', blockSize: BLOCK });
    const child = spawn(process.execPath, [WRITER, dv.metaUrl, String(COMMITTED), String(UNCOMMITTED_BLOCKS)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    const exited = once(child, 'exit');
    // The writer must be gone before the volume's database and objects are.
    t.after(async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
      await dv.cleanup();
    });
    let ino = 0;
    let written = false;
    child.on('message', (m: { type: string; ino: number }) => {
      if (m.type === 'committed') ino = m.ino;
      if (m.type === 'written') written = true;
    });
    const committedBlocks = Math.ceil(COMMITTED / BLOCK);
    for (const deadline = Date.now() + 60_000; !(written && (await listBlockKeys(dv.objects)).length >= committedBlocks + ORPHANS);) {
      assert.ok(Date.now() < deadline, 'the writer uploaded its blocks within 60 s');
      assert.equal(child.exitCode, null, 'the writer is still running');
      await sleep(50);
    }
    child.kill('SIGKILL');
    await exited;

    const observer = await dv.open();
    const live = await referencedBlockKeys(observer.meta, await allChunkRows(dv.metaUrl), BLOCK);
    const stored = await listBlockKeys(dv.objects);
    const orphans = stored.filter((k) => !live.includes(k));
    assert.equal(live.length, committedBlocks);
    assert.equal(orphans.length, ORPHANS);

    const inside = (await cliJson<GcReport>(['gc', dv.metaUrl, '--delete'], 0)).report;
    assert.equal(inside.objects.valid.count, committedBlocks);
    assert.equal(inside.objects.skipped.count, ORPHANS, 'uncommitted uploads are skipped inside the window');
    assert.equal(inside.deleted?.leaked.count, 0);
    assert.deepEqual(await listBlockKeys(dv.objects), stored);

    await sleep((WINDOW_S + 1.5) * 1000);
    const after = (await cliJson<GcReport>(['gc', dv.metaUrl, '--window', String(WINDOW_S), '--delete'], 0)).report;
    assert.equal(after.objects.valid.count, committedBlocks);
    assert.equal(after.objects.leaked.count, ORPHANS);
    assert.equal(after.deleted?.leaked.count, ORPHANS);
    assert.deepEqual(await listBlockKeys(dv.objects), live, 'exactly the orphans were deleted');

    assert.ok((await readFile(observer, ino)).equals(crashData(1, COMMITTED)), 'the committed file reads back');
    // A crash is a normal event: the volume is healthy without --repair (usage included).
    const fsck = (await cliJson<FsckReport>(['fsck', dv.metaUrl, '--verify'], 0)).report;
    assert.deepEqual(fsck.problems, []);
    assert.equal(fsck.counts.verified, committedBlocks);
  });
});
