/**
 * Small files cost one GET (PostgreSQL + s3rver, 4 MiB blocks): a file that fits in one block,
 * read cold on another client in 128 KiB requests, one after the other or all at once, is
 * fetched with one request, counted by the object store's own metrics
 * (objectfs_object_requests_total{method="get"}); later reads are served from memory. That GET
 * starts when the file is opened for reading.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { constants } from 'node:fs';
import { DEFAULT_BLOCK_SIZE } from '../../../src/chunk/keys.js';
import { ROOT_INO } from '../../../src/meta/index.js';
import { Metrics } from '../../../src/metrics/index.js';
import { DirPrefetch } from '../../../src/vfs/dir-prefetch.js';
import { freshDataVolume, KiB, ROOT_CALLER } from '../../support/data-volume.js';
import { parseMetrics, sample } from '../../support/metrics-text.js';

const REQUEST = 128 * KiB;

function bytes(seed: number, len: number): Buffer {
  const b = Buffer.alloc(len);
  for (let i = 0; i < len; i++) b[i] = (i * 31 + seed * 17 + (i >> 9)) & 0xff;
  return b;
}

describe('small files', () => {
  test('a one-block file read cold in 128 KiB requests, in order or all at once, costs one GET', async (t) => {
    const dv = await freshDataVolume('small-files-get', { meta: 'postgres', data: 's3', blockSize: DEFAULT_BLOCK_SIZE });
    t.after(() => dv.cleanup());
    const sizes = [1, 100 * KiB, 3 * 1024 * KiB + 5, DEFAULT_BLOCK_SIZE];
    const writer = await dv.open();
    for (const [i, size] of sizes.entries()) {
      const { fh } = await writer.vfs.create(ROOT_CALLER, ROOT_INO, Buffer.from(`f${i}`), 0o644, constants.O_WRONLY);
      await writer.vfs.write(fh, 0, bytes(i, size));
      await writer.vfs.release(fh);
    }
    const metrics = new Metrics({ processMetrics: false });
    const reader = await dv.open({ metrics });
    const gets = async () => sample(parseMetrics(await metrics.text()), 'objectfs_object_requests_total{method="get"}');
    for (const [i, size] of sizes.entries()) {
      for (const together of [false, true]) {
        const name = `f${i}`;
        const { ino } = await reader.vfs.lookup(ROOT_CALLER, ROOT_INO, Buffer.from(name));
        const before = await gets();
        const fh = await reader.vfs.open(ROOT_CALLER, ino, constants.O_RDONLY);
        const offsets = Array.from({ length: Math.ceil(size / REQUEST) }, (_, k) => k * REQUEST);
        const parts = together
          ? await Promise.all(offsets.map((off) => reader.vfs.read(fh, off, REQUEST)))
          : await offsets.reduce<Promise<Buffer[]>>(async (acc, off) => [...(await acc), Buffer.from(await reader.vfs.read(fh, off, REQUEST))], Promise.resolve([]));
        await reader.vfs.release(fh);
        assert.deepEqual(Buffer.concat(parts), bytes(i, size), `${name} reads back`);
        // The second round finds the block in memory: no GET at all.
        assert.equal(await gets() - before, together ? 0 : 1, `${name} (${size} bytes, ${together ? 'again, all requests at once' : 'cold, in order'})`);
      }
    }
    // And cold with every request at once: a fresh client, one GET per file.
    const metrics2 = new Metrics({ processMetrics: false });
    const cold = await dv.open({ metrics: metrics2 });
    for (const [i, size] of sizes.entries()) {
      const { ino } = await cold.vfs.lookup(ROOT_CALLER, ROOT_INO, Buffer.from(`f${i}`));
      const fh = await cold.vfs.open(ROOT_CALLER, ino, constants.O_RDONLY);
      const offsets = Array.from({ length: Math.ceil(size / REQUEST) }, (_, k) => k * REQUEST);
      const parts = await Promise.all(offsets.map((off) => cold.vfs.read(fh, off, REQUEST)));
      await cold.vfs.release(fh);
      assert.deepEqual(Buffer.concat(parts), bytes(i, size));
    }
    assert.equal(sample(parseMetrics(await metrics2.text()), 'objectfs_object_requests_total{method="get"}'), sizes.length, 'one GET per file with all its requests at once');
  });
});

describe('small files fetched at open', () => {
  test('a one-block file opened for reading has its GET started before the first read, and the read joins it', async (t) => {
    const dv = await freshDataVolume('small-files-open', { meta: 'postgres', data: 's3', blockSize: DEFAULT_BLOCK_SIZE });
    t.after(() => dv.cleanup());
    const writer = await dv.open();
    const files = [['small', 100 * KiB], ['whole-block', DEFAULT_BLOCK_SIZE], ['two-blocks', DEFAULT_BLOCK_SIZE + 1], ['empty', 0]] as const;
    for (const [i, [name, size]] of files.entries()) {
      const { fh } = await writer.vfs.create(ROOT_CALLER, ROOT_INO, Buffer.from(name), 0o644, constants.O_WRONLY);
      if (size > 0) await writer.vfs.write(fh, 0, bytes(i, size));
      await writer.vfs.release(fh);
    }
    const metrics = new Metrics({ processMetrics: false });
    const reader = await dv.open({ metrics });
    const gets = async () => sample(parseMetrics(await metrics.text()), 'objectfs_object_requests_total{method="get"}');
    const inoOf = async (name: string) => (await reader.vfs.lookup(ROOT_CALLER, ROOT_INO, Buffer.from(name))).ino;
    /**
     * GETs completed since `before`, waiting up to `waitMs` for the first (nothing is read
     * meanwhile, so only the open can have started one). A GET counts once it has completed,
     * which on a busy machine took over 0.5 s in one CI run: the wait for one that must come is
     * long, the wait for one that must not come short.
     */
    const getsAfterOpen = async (before: number, waitMs: number) => {
      const until = Date.now() + waitMs;
      while (await gets() === before && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
      return await gets() - before;
    };

    // Opened write-only, or a file of more than one block, or an empty one: nothing is fetched.
    for (const [name, flags] of [['small', constants.O_WRONLY], ['two-blocks', constants.O_RDONLY], ['empty', constants.O_RDONLY]] as const) {
      const before = await gets();
      const fh = await reader.vfs.open(ROOT_CALLER, await inoOf(name), flags);
      assert.equal(await getsAfterOpen(before, 500), 0, `${name} opened with flags ${flags}: no GET`);
      await reader.vfs.release(fh);
    }
    // Opened for reading (read-only or read-write): one GET at open; the reads add none.
    for (const [i, [name, size]] of files.slice(0, 2).entries()) {
      const before = await gets();
      const fh = await reader.vfs.open(ROOT_CALLER, await inoOf(name), i === 0 ? constants.O_RDONLY : constants.O_RDWR);
      assert.equal(await getsAfterOpen(before, 10_000), 1, `${name}: its GET started at open`);
      const got = Buffer.from(await reader.vfs.read(fh, 0, size));
      await reader.vfs.release(fh);
      assert.ok(got.equals(bytes(i, size)), `${name} reads back`);
      assert.equal(await gets() - before, 1, `${name}: the read was served by the open's GET`);
    }
  });
});

describe('directory prefetch (prefetchDirs)', () => {
  test('listing a directory fetches its small files in the background; reading them then costs no GET', async (t) => {
    const dv = await freshDataVolume('dir-prefetch', { meta: 'postgres', data: 's3', blockSize: DEFAULT_BLOCK_SIZE });
    t.after(() => dv.cleanup());
    const writer = await dv.open();
    const dir = await writer.vfs.mkdir(ROOT_CALLER, ROOT_INO, Buffer.from('d'), 0o755);
    const sizes = [...Array.from({ length: 100 }, (_, i) => 1 + i * 997), DEFAULT_BLOCK_SIZE];
    for (const [i, size] of sizes.entries()) {
      const { fh } = await writer.vfs.create(ROOT_CALLER, dir.ino, Buffer.from(`f${i}`), 0o644, constants.O_WRONLY);
      await writer.vfs.write(fh, 0, bytes(i, size));
      await writer.vfs.release(fh);
    }
    // Not prefetched: an empty file, a file of two blocks, a directory.
    for (const [name, size] of [['empty', 0], ['big', DEFAULT_BLOCK_SIZE + 1]] as const) {
      const { fh } = await writer.vfs.create(ROOT_CALLER, dir.ino, Buffer.from(name), 0o644, constants.O_WRONLY);
      if (size > 0) await writer.vfs.write(fh, 0, bytes(7, size));
      await writer.vfs.release(fh);
    }
    await writer.vfs.mkdir(ROOT_CALLER, dir.ino, Buffer.from('sub'), 0o755);

    const metrics = new Metrics({ processMetrics: false });
    const reader = await dv.open({ metrics, prefetchDirs: true });
    const gets = async () => sample(parseMetrics(await metrics.text()), 'objectfs_object_requests_total{method="get"}');
    const listed: string[] = [];
    for await (const e of reader.vfs.readdir(ROOT_CALLER, dir.ino)) listed.push(e.name.toString());
    assert.equal(listed.length, sizes.length + 3);
    const prefetch = reader.vfs.dirPrefetch;
    assert.ok(prefetch !== undefined);
    await prefetch.idle();
    assert.deepEqual(prefetch.stats(), { files: sizes.length, dropped: 0, errors: 0 });
    assert.equal(await gets(), sizes.length, 'one GET per small file, none for the others');
    for (const [i, size] of sizes.entries()) {
      const { ino } = await reader.vfs.lookup(ROOT_CALLER, dir.ino, Buffer.from(`f${i}`));
      const fh = await reader.vfs.open(ROOT_CALLER, ino, constants.O_RDONLY);
      const got = Buffer.from(await reader.vfs.read(fh, 0, size));
      await reader.vfs.release(fh);
      assert.ok(got.equals(bytes(i, size)), `f${i} reads back`);
    }
    assert.equal(await gets(), sizes.length, 'every small file read from the cache');
    // Listing again queues the same files; they are found in the cache.
    for await (const e of reader.vfs.readdir(ROOT_CALLER, dir.ino)) void e;
    await prefetch.idle();
    assert.equal(await gets(), sizes.length);
    // The queue's bound: beyond it files are counted as dropped, not fetched.
    const entries = [];
    for await (const e of reader.vfs.readdir(ROOT_CALLER, dir.ino)) entries.push(e);
    const bounded = new DirPrefetch(reader.meta, reader.chunks, { maxQueued: 10 });
    bounded.listed(entries);
    await bounded.idle();
    assert.deepEqual(bounded.stats(), { files: 10, dropped: sizes.length - 10, errors: 0 });
    // stop() (unmount) drops what is queued: a fresh client's prefetch ends early, having
    // fetched at most the batch in progress.
    const early = await dv.open({ metrics: new Metrics({ processMetrics: false }) });
    const stopped = new DirPrefetch(early.meta, early.chunks, { concurrency: 1 });
    stopped.listed(entries);
    await stopped.stop();
    assert.ok(stopped.stats().files < sizes.length, `stopped after ${stopped.stats().files} of ${sizes.length}`);
    // A mount without the option fetches nothing on a listing.
    const metrics2 = new Metrics({ processMetrics: false });
    const plain = await dv.open({ metrics: metrics2 });
    assert.equal(plain.vfs.dirPrefetch, undefined);
    for await (const e of plain.vfs.readdir(ROOT_CALLER, dir.ino)) void e;
    assert.equal(sample(parseMetrics(await metrics2.text()), 'objectfs_object_requests_total{method="get"}'), 0);
  });
});
