/**
 * Small files cost one GET (PostgreSQL + s3rver, 4 MiB blocks): a file that fits in one block,
 * read cold on another client in 128 KiB requests, one after the other or all at once, is
 * fetched with one request, counted by the object store's own metrics
 * (objectfs_object_requests_total{method="get"}); later reads are served from memory.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { constants } from 'node:fs';
import { DEFAULT_BLOCK_SIZE } from '../../../src/chunk/keys.js';
import { ROOT_INO } from '../../../src/meta/index.js';
import { Metrics } from '../../../src/metrics/index.js';
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
