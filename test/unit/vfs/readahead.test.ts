/** Readahead: sequential detection that tolerates reordered requests (pure logic). */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Readahead, STREAM_SLACK } from '../../../src/vfs/readahead.js';

const KiB = 1024;
const MiB = 1024 * KiB;
const BLOCK = 4 * MiB;
const FILE = 1024 * MiB;

/** Feeds 128 KiB reads at `offsets`; returns the prefetched ranges. */
function feed(ra: Readahead, offsets: readonly number[]): Array<{ off: number; len: number }> {
  const out: Array<{ off: number; len: number }> = [];
  for (const off of offsets) {
    const r = ra.onRead(off, off + 128 * KiB, FILE);
    if (r !== undefined) out.push(r);
  }
  return out;
}

describe('Readahead', () => {
  test('in-order reads from 0: the window starts at a block and doubles up to the maximum', () => {
    const ra = new Readahead(BLOCK, 32 * MiB);
    const got = feed(ra, Array.from({ length: 8 }, (_, i) => i * 128 * KiB));
    assert.deepEqual(got[0], { off: 128 * KiB, len: BLOCK });
    const ends = got.map((r) => r.off + r.len);
    assert.equal(Math.max(...ends), 8 * 128 * KiB + 32 * MiB, 'capped at 32 MiB ahead of the furthest read');
    for (let i = 1; i < got.length; i++) assert.equal(got[i]?.off, ends[i - 1], 'no range is asked twice');
  });

  test('reads arriving out of order within the slack keep the stream and its window', () => {
    const inOrder = new Readahead(BLOCK, 32 * MiB);
    const shuffled = new Readahead(BLOCK, 32 * MiB);
    const offsets = Array.from({ length: 16 }, (_, i) => i * 128 * KiB);
    const swapped = offsets.slice();
    for (let i = 1; i + 1 < swapped.length; i += 3) [swapped[i], swapped[i + 1]] = [swapped[i + 1] as number, swapped[i] as number];
    const end = (rs: Array<{ off: number; len: number }>) => Math.max(...rs.map((r) => r.off + r.len));
    assert.equal(end(feed(shuffled, swapped)), end(feed(inOrder, offsets)), 'the same prefetch horizon');
  });

  test('a jump beyond the slack, forward or back, resets; sequential reads from there start again', () => {
    const ra = new Readahead(BLOCK, 32 * MiB);
    feed(ra, [0, 128 * KiB, 256 * KiB]);
    assert.equal(ra.onRead(100 * MiB, 100 * MiB + 4 * KiB, FILE), undefined, 'far ahead');
    assert.deepEqual(ra.onRead(100 * MiB + 4 * KiB, 100 * MiB + 8 * KiB, FILE), { off: 100 * MiB + 8 * KiB, len: BLOCK });
    assert.equal(ra.onRead(100 * MiB - STREAM_SLACK - 1, 100 * MiB - STREAM_SLACK, FILE), undefined, 'far behind');
  });

  test('a first read elsewhere than 0 is not a stream; random reads never prefetch', () => {
    const ra = new Readahead(BLOCK, 32 * MiB);
    const offsets = [500, 300, 900, 20, 700, 50].map((m) => m * MiB);
    assert.deepEqual(feed(ra, offsets), []);
  });

  test('nothing past the end of the file; a maximum of 0 turns readahead off', () => {
    const ra = new Readahead(BLOCK, 32 * MiB);
    assert.equal(ra.onRead(0, 1000, 1000), undefined);
    const off = new Readahead(BLOCK, 0);
    assert.deepEqual(feed(off, [0, 128 * KiB, 256 * KiB]), []);
  });
});
