/**
 * Random reads fetch parts of blocks (PostgreSQL + s3rver, 4 MiB blocks): 4 KiB reads at
 * scattered offsets of an incompressible file, on a client that never held it, are one ranged
 * GET each and move only their bytes, counted by the object store's own metrics; a sequential
 * read of the same file from its start still fetches whole blocks.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { DEFAULT_BLOCK_SIZE } from '../../../src/chunk/keys.js';
import { RAW_HEADER_BYTES } from '../../../src/chunk/raw-block.js';
import { ROOT_INO } from '../../../src/meta/index.js';
import { Metrics } from '../../../src/metrics/index.js';
import { freshDataVolume, KiB, ROOT_CALLER } from '../../support/data-volume.js';
import { parseMetrics, sample } from '../../support/metrics-text.js';

const PAGE = 4 * KiB;
const REQUEST = 128 * KiB;

describe('random reads', () => {
  test('4 KiB reads at scattered offsets are ranged GETs of their bytes; a sequential read fetches whole blocks', async (t) => {
    const dv = await freshDataVolume('random-reads', { meta: 'postgres', data: 's3', blockSize: DEFAULT_BLOCK_SIZE });
    t.after(() => dv.cleanup());
    const data = randomBytes(3 * DEFAULT_BLOCK_SIZE + 12345);
    const writer = await dv.open();
    const { fh: wfh, attr } = await writer.vfs.create(ROOT_CALLER, ROOT_INO, Buffer.from('big'), 0o644, constants.O_WRONLY);
    await writer.vfs.write(wfh, 0, data);
    await writer.vfs.release(wfh);

    const metrics = new Metrics({ processMetrics: false });
    const reader = await dv.open({ metrics });
    const counters = async () => {
      const m = parseMetrics(await metrics.text());
      return {
        gets: sample(m, 'objectfs_object_requests_total{method="get"}'),
        bytes: sample(m, 'objectfs_object_request_bytes_total{method="get"}'),
        parts: sample(m, 'objectfs_block_parts_downloaded_total'),
        blocks: sample(m, 'objectfs_blocks_downloaded_total'),
      };
    };
    const fh = await reader.vfs.open(ROOT_CALLER, attr.ino, constants.O_RDONLY);
    // Never where the previous read ended, never at 0: every read is random.
    const offsets = [7 * PAGE, 2000 * PAGE, 100 * PAGE, 3 * DEFAULT_BLOCK_SIZE + 2 * PAGE, 1500 * PAGE, 30 * PAGE];
    for (const off of offsets) {
      const got = await reader.vfs.read(fh, off, PAGE);
      assert.ok(Buffer.from(got).equals(data.subarray(off, off + PAGE)), `bytes at ${off}`);
    }
    // The short last block (12,345 bytes) is worth fetching whole: a page is over a quarter of it.
    const random = await counters();
    assert.deepEqual(random, { gets: offsets.length, bytes: 5 * PAGE + RAW_HEADER_BYTES + 12345, parts: 5, blocks: 1 });
    await reader.vfs.release(fh);

    // From the start, in order: readahead and whole blocks (3 full ones and the short last).
    const seq = await reader.vfs.open(ROOT_CALLER, attr.ino, constants.O_RDONLY);
    const parts: Buffer[] = [];
    for (let off = 0; off < data.length; off += REQUEST) parts.push(Buffer.from(await reader.vfs.read(seq, off, REQUEST)));
    await reader.vfs.release(seq);
    assert.ok(Buffer.concat(parts).equals(data), 'the whole file reads back');
    const after = await counters();
    assert.equal(after.parts, random.parts, 'no part fetched alone by a sequential read');
    assert.equal(after.blocks, 4, 'each block fetched whole, once (the last one already was)');
  });
});
