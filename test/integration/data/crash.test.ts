/**
 * A writer killed between upload and commit (PostgreSQL + s3rver): a child process
 * (test/support/crash-writer.ts) commits some data, then writes more full blocks that reach
 * the bucket but are never committed, and is SIGKILLed. The file must read back exactly its
 * committed content; the orphaned objects are in the bucket but no chunk references them;
 * every referenced block is present and readable; the volume keeps working.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { constants } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { decodeBlock } from '../../../src/chunk/codec.js';
import { parseBlockKey } from '../../../src/chunk/keys.js';
import { crashData } from '../../support/crash-data.js';
import {
  allChunkRows, freshDataVolume, KiB, listBlockKeys, referencedBlockKeys, sliceIdsOf, type DataVolume,
  ROOT_CALLER,
} from '../../support/data-volume.js';
import { firstDifference } from '../../support/sparse-file.js';

const BLOCK = 64 * KiB;
const COMMITTED = 3 * BLOCK + 1000;
const UNCOMMITTED_BLOCKS = 6;
const WRITER = fileURLToPath(new URL('../../support/crash-writer.js', import.meta.url));

/** Block keys in the bucket that no chunk row references. */
async function orphans(dv: DataVolume, meta: Parameters<typeof referencedBlockKeys>[0]): Promise<{ stored: string[]; referenced: string[]; orphaned: string[] }> {
  const stored = await listBlockKeys(dv.objects);
  const referenced = await referencedBlockKeys(meta, await allChunkRows(dv.metaUrl), BLOCK);
  return { stored, referenced, orphaned: stored.filter((k) => !referenced.includes(k)) };
}

describe('a writer killed between upload and commit', () => {
  test('committed data survives intact; uploaded, uncommitted blocks are unreferenced orphans', async (t) => {
    const dv = await freshDataVolume('crash', { meta: 'postgres', data: 's3', blockSize: BLOCK });
    const child = spawn(process.execPath, [WRITER, dv.metaUrl, String(COMMITTED), String(UNCOMMITTED_BLOCKS)], {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const exited = once(child, 'exit');
    try {
      const messages: Array<{ type: string; ino: number }> = [];
      child.on('message', (m: { type: string; ino: number }) => messages.push(m));
      const waitFor = async (type: string): Promise<{ type: string; ino: number }> => {
        for (const deadline = Date.now() + 60_000; Date.now() < deadline;) {
          const m = messages.find((x) => x.type === type);
          if (m !== undefined) return m;
          assert.equal(child.exitCode, null, `the writer exited early (code ${child.exitCode})`);
          await sleep(20);
        }
        throw new Error(`the writer did not report "${type}" within 60 s`);
      };
      const { ino } = await waitFor('committed');
      const { ino: neverFlushed } = await waitFor('written');

      // Wait until every full block written after the commit is in the bucket: 6 + 2 orphans.
      const observer = await dv.open();
      const want = UNCOMMITTED_BLOCKS + 2;
      let seen = await orphans(dv, observer.meta);
      const started = Date.now();
      while (seen.orphaned.length < want && Date.now() - started < 30_000) {
        await sleep(50);
        seen = await orphans(dv, observer.meta);
      }
      assert.equal(seen.orphaned.length, want, `uploaded but uncommitted blocks in the bucket before the kill: ${seen.orphaned.join(', ')}`);
      assert.equal((await observer.meta.getattr(ino)).length, COMMITTED, 'nothing was committed after the flush');

      child.kill('SIGKILL');
      const [code, signal] = await exited;
      assert.equal(signal, 'SIGKILL', `the writer died of SIGKILL (exit code ${code})`);
      t.diagnostic(`killed the writer with ${seen.orphaned.length} uploaded, uncommitted blocks after ${Date.now() - started} ms of polling`);

      // Bucket vs metadata after the crash.
      const after = await orphans(dv, observer.meta);
      assert.deepEqual(after.referenced.filter((k) => !after.stored.includes(k)), [], 'every referenced block is in the bucket');
      const orphanParts = after.orphaned.map((k) => parseBlockKey(k));
      assert.ok(orphanParts.every((p) => p !== undefined && p.blockLen === BLOCK), `orphans are full blocks: ${after.orphaned.join(', ')}`);
      assert.equal(after.orphaned.length, want, 'the orphans are exactly the uploaded, uncommitted blocks');
      const orphanIds = sliceIdsOf(after.orphaned);
      assert.equal(orphanIds.size, 2, 'two orphaned slices (the overwrite of crash, never-flushed)');
      for (const id of sliceIdsOf(after.referenced)) assert.ok(!orphanIds.has(id), `slice ${id} is both referenced and orphaned`);
      // The orphans are real blocks holding the written bytes: 6 of the overwrite, 2 of never-flushed.
      const sources = new Map<number, Buffer>();
      for (const id of orphanIds) {
        const count = orphanParts.filter((p) => p?.sliceId === id).length;
        sources.set(id, count === 2 ? crashData(3, 2 * BLOCK) : crashData(2, UNCOMMITTED_BLOCKS * BLOCK));
      }
      for (const [i, key] of after.orphaned.entries()) {
        const { sliceId, blockIndex } = orphanParts[i]!;
        const block = await decodeBlock(await dv.objects.get(key), 'lz4', BLOCK, key);
        const expected = sources.get(sliceId)!.subarray(blockIndex * BLOCK, (blockIndex + 1) * BLOCK);
        assert.equal(firstDifference(block, expected), '', `orphan ${key} holds the written bytes`);
      }
      await observer.close();

      // A fresh instance (cold caches) reads exactly the committed content.
      const reader = await dv.open();
      const committed = crashData(1, COMMITTED);
      assert.equal((await reader.vfs.getattr(ino)).length, COMMITTED, 'length of crash');
      const fh = await reader.vfs.open(ROOT_CALLER, ino, constants.O_RDWR);
      const got = await reader.vfs.read(fh, 0, UNCOMMITTED_BLOCKS * BLOCK);
      assert.equal(firstDifference(got, committed), '', 'crash reads back exactly its committed bytes');
      assert.equal((await reader.vfs.getattr(neverFlushed)).length, 0, 'never-flushed is empty');
      const nfh = await reader.vfs.open(ROOT_CALLER, neverFlushed, constants.O_RDONLY);
      assert.equal((await reader.vfs.read(nfh, 0, BLOCK)).length, 0, 'never-flushed reads nothing');
      await reader.vfs.release(nfh);

      // The volume goes on: write after the crash, read back on another cold instance.
      const tail = crashData(4, BLOCK + 3);
      await reader.vfs.write(fh, COMMITTED, tail);
      await reader.vfs.release(fh);
      await reader.close();
      const again = await dv.open();
      const fh2 = await again.vfs.open(ROOT_CALLER, ino, constants.O_RDONLY);
      const whole = await again.vfs.read(fh2, 0, COMMITTED + tail.length + 10);
      assert.equal(firstDifference(whole, Buffer.concat([committed, tail])), '', 'committed bytes + the new write');
      await again.vfs.release(fh2);
      await again.close();
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
      await dv.cleanup();
    }
  });
});
