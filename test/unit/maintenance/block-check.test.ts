/** The pure judgements of fsck and gc about block objects (src/maintenance/block-check.ts). */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parseBlockKey, blockKey } from '../../../src/chunk/keys.js';
import { checkSliceBlocks, classifyObject, MTIME_SLACK_MS, neededBlocks, plausibleSize } from '../../../src/maintenance/block-check.js';
import { SLICE_SOURCE, type LiveSlice } from '../../../src/meta/index.js';

const BS = 64 * 1024;

describe('neededBlocks / plausibleSize', () => {
  test('full blocks then the tail; none for an empty slice', () => {
    assert.deepEqual(neededBlocks(2 * BS + 10, BS), [{ index: 0, len: BS }, { index: 1, len: BS }, { index: 2, len: 10 }]);
    assert.deepEqual(neededBlocks(BS, BS), [{ index: 0, len: BS }]);
    assert.deepEqual(neededBlocks(0, BS), []);
  });
  test('uncompressed objects are exactly their length; lz4 ones between 5 bytes and the bound', () => {
    assert.equal(plausibleSize(100, 100, 'none'), true);
    assert.equal(plausibleSize(99, 100, 'none'), false);
    assert.equal(plausibleSize(5, BS, 'lz4'), true);
    assert.equal(plausibleSize(4, BS, 'lz4'), false);
    assert.equal(plausibleSize(BS + Math.floor(BS / 255) + 20, BS, 'lz4'), true);
    assert.equal(plausibleSize(BS + Math.floor(BS / 255) + 21, BS, 'lz4'), false);
  });
});

describe('checkSliceBlocks', () => {
  const listed = (index: number, len: number, size: number) => ({ sliceId: 7, blockIndex: index, blockLen: len, size });
  test('every block present with a plausible size: no problem', () => {
    assert.deepEqual(checkSliceBlocks(7, BS + 10, BS, [listed(0, BS, 900), listed(1, 10, 15)], 'lz4'), []);
  });
  test('a missing block, a block listed under another length, an impossible size', () => {
    const problems = checkSliceBlocks(7, 2 * BS + 10, BS, [listed(0, BS, 3), listed(1, 99, 50), { ...listed(2, 10, 15), sliceId: 8 }], 'lz4');
    assert.deepEqual(problems.map((p) => [p.index, p.what]), [[0, 'wrong-size'], [1, 'missing'], [2, 'missing']]);
    assert.equal(problems[0]?.stored, 3);
  });
});

describe('classifyObject', () => {
  const now = 10_000_000;
  const cutoff = now - 3600_000;
  const key = blockKey(42, 1, 10);
  const parts = parseBlockKey(key);
  const slice = (sources: number, size = BS + 10): LiveSlice => ({ id: 42, size, sources });
  const classify = (named: LiveSlice[], mtime = 0, size = 15) => classifyObject(parts, size, mtime, named, BS, 'lz4', cutoff);

  test('not a block key: foreign', () => {
    assert.equal(classifyObject(undefined, 1, 0, [], BS, 'lz4', cutoff), 'foreign');
  });
  test('named by a chunk list (with or without other sources), or only by slice_ref: valid', () => {
    assert.equal(classify([slice(SLICE_SOURCE.chunk | SLICE_SOURCE.sliceRef)]), 'valid');
    assert.equal(classify([slice(SLICE_SOURCE.chunk | SLICE_SOURCE.pending)]), 'valid');
    assert.equal(classify([slice(SLICE_SOURCE.sliceRef)]), 'valid');
  });
  test('named only by a dropped list or pending_slice: pending', () => {
    assert.equal(classify([slice(SLICE_SOURCE.dropped | SLICE_SOURCE.sliceRef)]), 'pending');
    assert.equal(classify([slice(SLICE_SOURCE.pending)]), 'pending');
  });
  test('named, but the key or the stored size does not fit the slice: mismatched', () => {
    assert.equal(classify([slice(SLICE_SOURCE.chunk, 2 * BS)]), 'mismatched', 'block 1 of a 2-block slice is a full block');
    assert.equal(classify([slice(SLICE_SOURCE.chunk, BS)]), 'mismatched', 'a 1-block slice has no block 1');
    assert.equal(classify([slice(SLICE_SOURCE.chunk)], 0, 4), 'mismatched', 'too small for an lz4 block');
    assert.equal(classify([slice(SLICE_SOURCE.chunk, 2 * BS), slice(SLICE_SOURCE.chunk)]), 'valid', 'a slice named with two sizes fits either');
  });
  test('named by nothing: leaked once older than the window (with the mtime slack), skipped before', () => {
    assert.equal(classify([], cutoff - MTIME_SLACK_MS - 1), 'leaked');
    assert.equal(classify([], cutoff - MTIME_SLACK_MS), 'skipped');
    assert.equal(classify([], now), 'skipped');
    assert.equal(classify([{ id: 43, size: BS, sources: SLICE_SOURCE.chunk }], 0), 'leaked', 'another slice being named does not count');
  });
});
