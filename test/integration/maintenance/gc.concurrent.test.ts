/**
 * gc --delete (and --compact) with a 1 s safety window, run again and again while another
 * process writes, truncates, renames, deletes and reads back files for 60 s
 * (test/support/churn-writer.ts, PostgreSQL + s3rver): the writer never reads a byte that
 * differs from its model, every file then reads back exactly as the model says on a fresh
 * instance, no garbage is left once the window has passed, and fsck --verify is clean.
 *
 *   OBJECTFS_SEED=<u32>       replays the writer's sequence
 *   OBJECTFS_CHURN_MS=<ms>    how long the writer runs (default 60000)
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { runFsck, runGc } from '../../../src/maintenance/index.js';
import { ROOT_INO } from '../../../src/meta/index.js';
import { freshDataVolume, KiB, ROOT_CALLER } from '../../support/data-volume.js';
import { readFile } from '../../support/maintenance.js';
import { testSeed } from '../../support/prng.js';

const BLOCK = 64 * KiB;
const CHURN_MS = Number(process.env['OBJECTFS_CHURN_MS'] ?? 60_000);
const WINDOW_MS = 1000;
const WRITER = fileURLToPath(new URL('../../support/churn-writer.js', import.meta.url));

interface Done {
  readonly type: 'done';
  readonly ops: number;
  readonly files: readonly { readonly key: string; readonly length: number; readonly sha256: string }[];
}

describe('gc while the volume is busy', () => {
  test('gc --delete --compact with a short window next to a writer: every file matches its model, fsck is clean', async (t) => {
    const seed = testSeed();
    t.diagnostic(`OBJECTFS_SEED=${seed}`);
    const dv = await freshDataVolume('gc-busy', { meta: 'postgres', data: 's3', blockSize: BLOCK });
    const child = spawn(process.execPath, [WRITER, dv.metaUrl, String(CHURN_MS), String(seed)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    const exited = once(child, 'exit');
    // The writer must be gone before the volume's database and objects are.
    t.after(async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
      await dv.cleanup();
    });
    let done: Done | undefined;
    child.on('message', (m: Done) => { done = m; });

    const gcHost = await dv.open();
    let runs = 0;
    let deleted = 0;
    let compacted = 0;
    while (child.exitCode === null) {
      const r = await runGc(gcHost, { delete: true, compact: runs % 2 === 1, windowMs: WINDOW_MS, threads: 4 });
      runs++;
      deleted += (r.deleted?.leaked.count ?? 0) + (r.deleted?.pendingSlices ?? 0);
      compacted += r.compacted?.chunks ?? 0;
      await sleep(200);
    }
    const [code] = await exited;
    assert.equal(code, 0, 'the writer saw every read match its model');
    assert.ok(done !== undefined, 'the writer sent its model');
    t.diagnostic(`${done.ops} writer operations, ${runs} gc runs deleting ${deleted} objects/slices, ${compacted} chunks compacted`);
    assert.ok(runs >= 3 && done.ops > 50, 'gc and the writer really overlapped');

    const reader = await dv.open();
    const sub = await reader.meta.lookup(ROOT_INO, Buffer.from('sub'));
    for (const f of done.files) {
      const [parent, name] = f.key.startsWith('sub/') ? [sub.ino, f.key.slice(4)] : [ROOT_INO, f.key];
      const data = await readFile(reader, (await reader.meta.lookup(parent, Buffer.from(name))).ino);
      assert.equal(data.length, f.length, `${f.key} length`);
      assert.equal(createHash('sha256').update(data).digest('hex'), f.sha256, `${f.key} content`);
    }
    let names = 0;
    for await (const e of reader.vfs.readdir(ROOT_CALLER, ROOT_INO)) names += e.name.toString() === 'sub' ? 0 : 1;
    for await (const _e of reader.vfs.readdir(ROOT_CALLER, sub.ino)) names++;
    assert.equal(names, done.files.length, 'no file more or less than the model');

    // Two more gc runs a window apart (the first releases the last dropped lists, the second
    // deletes their slices) leave no garbage, and everything verifies.
    await sleep(WINDOW_MS + 1500);
    await runGc(gcHost, { delete: true, windowMs: WINDOW_MS });
    await sleep(WINDOW_MS + 1500);
    const final = await runGc(gcHost, { delete: true, windowMs: WINDOW_MS });
    const again = await runGc(gcHost, { windowMs: WINDOW_MS });
    assert.equal(again.objects.leaked.count + again.objects.mismatched.count, 0, JSON.stringify(again.objects));
    assert.equal(again.objects.pending.count, 0, `pending after a final gc: ${JSON.stringify(final.deleted)}`);
    await gcHost.meta.flushCounters();
    const fsck = await runFsck(reader, { verify: true });
    assert.equal(fsck.healthy, true, JSON.stringify(fsck.problems));
  });
});
