/**
 * Results of metadata operations on one file can arrive out of order (each runs on its own
 * pooled connection). Whatever the order, reads must see the file's real length: CI once read
 * 0 bytes at the end of a 192 MiB file because the commit of chunk 0 reported back after the
 * commit of chunk 2 and its older length was kept. Here a real metadata engine is wrapped so
 * that chosen results are delivered late, making each such order happen every time.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { constants } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { CHUNK_SIZE, ROOT_INO, type Attr, type MetaEngine, type SliceCommit } from '../../../src/meta/index.js';
import { Vfs } from '../../../src/vfs/index.js';
import { freshDataVolume, KiB, ROOT_CALLER, type DataVolume } from '../../support/data-volume.js';

const BLOCK = 64 * KiB;

/** `meta` with its commitSlice and getattr replaced by `hooks` (everything else passes through). */
function withHooks(meta: MetaEngine, hooks: Partial<Pick<MetaEngine, 'commitSlice' | 'getattr'>>): MetaEngine {
  return new Proxy(meta, {
    get(target, key) {
      const hook = (hooks as Record<string | symbol, unknown>)[key];
      if (hook !== undefined) return hook;
      const value = Reflect.get(target, key, target) as unknown;
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}

function signal(): { promise: Promise<void>; fire: () => void } {
  let fire!: () => void;
  const promise = new Promise<void>((resolve) => { fire = resolve; });
  return { promise, fire };
}

async function withVolume(label: string, fn: (dv: DataVolume) => Promise<void>): Promise<void> {
  // PGlite: no change feed, whose (re)connection would mark every file stale and hide the bug.
  const dv = await freshDataVolume(label, { meta: 'pglite', data: 'file', blockSize: BLOCK });
  try {
    await fn(dv);
  } finally {
    await dv.cleanup();
  }
}

describe('attributes of an open file when results arrive out of order', () => {
  test('two chunks committed at once, the older commit reporting last: the tail still reads', async () => {
    await withVolume('attr-order-commits', async (dv) => {
      const vol = await dv.open();
      const firstCommitted = signal();
      const secondReported = signal();
      const meta = withHooks(vol.meta, {
        async commitSlice(commit: SliceCommit): Promise<Attr> {
          if (commit.index === 0) {
            const attr = await vol.meta.commitSlice(commit);
            firstCommitted.fire();
            await secondReported.promise;
            await sleep(20); // report after the later commit's result has been handled
            return attr;
          }
          await firstCommitted.promise; // the database commits chunk 0 first…
          const attr = await vol.meta.commitSlice(commit);
          secondReported.fire(); // …but chunk 1's result reaches the vfs first
          return attr;
        },
      });
      const vfs = new Vfs(meta, vol.chunks, { autoCompact: false });
      const { fh } = await vfs.create(ROOT_CALLER, ROOT_INO, Buffer.from('two-chunks'), 0o644, constants.O_RDWR);
      const head = randomBytes(1000);
      const tail = randomBytes(3000);
      await vfs.write(fh, 0, head);
      await vfs.write(fh, CHUNK_SIZE + 5000, tail);
      await vfs.flush(fh);
      const end = CHUNK_SIZE + 5000 + tail.length;
      assert.equal((await vol.vfs.lookup(ROOT_CALLER, ROOT_INO, Buffer.from('two-chunks'))).length, end, 'the database has the whole length');
      const got = await vfs.read(fh, CHUNK_SIZE + 5000, tail.length + 100);
      assert.equal(got.length, tail.length, 'the read reaches the end the later commit set');
      assert.ok(got.equals(tail));
      assert.ok((await vfs.read(fh, 0, head.length)).equals(head));
      await vfs.release(fh);
      await vol.close();
    });
  });

  test('a getattr that read before a commit and reports after it: the tail still reads', async () => {
    await withVolume('attr-order-getattr', async (dv) => {
      const vol = await dv.open();
      let hold: Promise<void> | undefined;
      const meta = withHooks(vol.meta, {
        async getattr(ino: number): Promise<Attr> {
          const attr = await vol.meta.getattr(ino);
          if (hold !== undefined) await hold;
          return attr;
        },
      });
      const vfs = new Vfs(meta, vol.chunks, { autoCompact: false });
      const { fh, attr } = await vfs.create(ROOT_CALLER, ROOT_INO, Buffer.from('growing'), 0o644, constants.O_RDWR);
      const first = randomBytes(2000);
      await vfs.write(fh, 0, first);
      await vfs.flush(fh);
      const release = signal();
      hold = release.promise;
      const early = vfs.getattr(attr.ino); // reads length 2000 now, reports later
      await sleep(50);
      hold = undefined;
      const more = randomBytes(5000);
      await vfs.write(fh, first.length, more);
      await vfs.flush(fh); // length 7000 committed and reported
      release.fire();
      assert.equal((await early).length, first.length, 'the early getattr saw the old length');
      const got = await vfs.read(fh, first.length, more.length);
      assert.equal(got.length, more.length, 'the read is not cut at the old length');
      assert.ok(got.equals(more));
      await vfs.release(fh);
      await vol.close();
    });
  });
});
