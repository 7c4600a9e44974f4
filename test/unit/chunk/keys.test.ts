import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  BLOCK_KEY_PREFIX, CHUNK_BITS, CHUNK_SIZE, DEFAULT_BLOCK_SIZE, MAX_BLOCK_SIZE, MAX_SLICE_ID, MIN_BLOCK_SIZE,
  blockCount, blockKey, blockLength, parseBlockKey, sliceBlockKeys,
} from '../../../src/chunk/keys.js';
import { makeRng, testSeed } from '../../support/prng.js';

const MiB = 1024 * 1024;

/** The key computed independently with bigint arithmetic. */
function referenceKey(id: number, index: number, len: number): string {
  const b = BigInt(id);
  return `chunks/${b / 1_000_000n}/${b / 1000n}/${b}_${index}_${len}`;
}

describe('chunk geometry constants', () => {
  test('values', () => {
    assert.equal(CHUNK_BITS, 26);
    assert.equal(CHUNK_SIZE, 64 * MiB);
    assert.equal(DEFAULT_BLOCK_SIZE, 4 * MiB);
    assert.equal(MAX_BLOCK_SIZE, 16 * MiB);
    assert.equal(MIN_BLOCK_SIZE, 64 * 1024);
    assert.equal(MAX_SLICE_ID, 2 ** 53 - 1);
    assert.equal(BLOCK_KEY_PREFIX, 'chunks/');
    assert.ok(MIN_BLOCK_SIZE <= DEFAULT_BLOCK_SIZE && DEFAULT_BLOCK_SIZE <= MAX_BLOCK_SIZE);
    assert.equal(CHUNK_SIZE % MAX_BLOCK_SIZE, 0);
  });
});

describe('blockKey', () => {
  test('known keys', () => {
    assert.equal(blockKey(1, 0, 4 * MiB), 'chunks/0/0/1_0_4194304');
    assert.equal(blockKey(999, 3, 100), 'chunks/0/0/999_3_100');
    assert.equal(blockKey(1000, 0, 1), 'chunks/0/1/1000_0_1');
    assert.equal(blockKey(999_999, 0, 1), 'chunks/0/999/999999_0_1');
    assert.equal(blockKey(1_000_000, 0, 1), 'chunks/1/1000/1000000_0_1');
    assert.equal(blockKey(123_456_789, 15, 65536), 'chunks/123/123456/123456789_15_65536');
    assert.equal(blockKey(2 ** 53 - 1, 0, 1), 'chunks/9007199254/9007199254740/9007199254740991_0_1');
  });

  test('rejects ids, indices and lengths it cannot encode', () => {
    const bad: Array<[number, number, number]> = [
      [0, 0, 1], [-1, 0, 1], [1.5, 0, 1], [2 ** 53, 0, 1], [NaN, 0, 1], [Infinity, 0, 1],
      [1, -1, 1], [1, 0.5, 1], [1, NaN, 1],
      [1, 0, 0], [1, 0, -1], [1, 0, 1.5], [1, 0, MAX_BLOCK_SIZE + 1],
      // the slice would not fit in a chunk
      [1, CHUNK_SIZE / MIN_BLOCK_SIZE, 1],
      [1, CHUNK_SIZE / MAX_BLOCK_SIZE, MAX_BLOCK_SIZE],
      [1, 2 ** 40, 1],
    ];
    for (const [id, index, len] of bad) {
      assert.throws(() => blockKey(id, index, len), RangeError, `blockKey(${id}, ${index}, ${len})`);
    }
  });

  test('accepts the last block that fits in a chunk', () => {
    assert.equal(blockKey(7, CHUNK_SIZE / MIN_BLOCK_SIZE - 1, MIN_BLOCK_SIZE), `chunks/0/0/7_1023_${MIN_BLOCK_SIZE}`);
    assert.equal(blockKey(7, CHUNK_SIZE / MAX_BLOCK_SIZE - 1, MAX_BLOCK_SIZE), `chunks/0/0/7_3_${MAX_BLOCK_SIZE}`);
  });
});

describe('parseBlockKey', () => {
  test('round trips ids 1..999 and their neighbours of powers of ten', () => {
    const ids: number[] = [];
    for (let id = 1; id <= 999; id++) ids.push(id);
    for (const p of [1e3, 1e4, 1e5, 1e6, 1e7, 1e9, 1e12, 1e15]) ids.push(p - 1, p, p + 1);
    ids.push(2 ** 32 - 1, 2 ** 32, 2 ** 32 + 1, 2 ** 53 - 2, 2 ** 53 - 1);
    for (const id of ids) {
      for (const [index, len] of [[0, 1], [0, DEFAULT_BLOCK_SIZE], [3, 17], [15, DEFAULT_BLOCK_SIZE], [1023, MIN_BLOCK_SIZE]] as const) {
        const key = blockKey(id, index, len);
        assert.equal(key, referenceKey(id, index, len));
        assert.deepEqual(parseBlockKey(key), { sliceId: id, blockIndex: index, blockLen: len });
      }
    }
  });

  test('round trips random ids, indices and lengths (seeded)', (t) => {
    const seed = testSeed();
    t.diagnostic(`seed=${seed}`);
    const rng = makeRng(seed);
    for (let n = 0; n < 20_000; n++) {
      const id = rng.next() < 0.5 ? rng.int(1, 2 ** 53 - 1) : rng.int(1, 10 ** rng.int(1, 15));
      const len = rng.int(1, MAX_BLOCK_SIZE);
      const maxIndex = Math.floor((CHUNK_SIZE - len) / Math.max(MIN_BLOCK_SIZE, len));
      const index = rng.int(0, maxIndex);
      const key = blockKey(id, index, len);
      assert.equal(key, referenceKey(id, index, len), `seed=${seed}`);
      assert.deepEqual(parseBlockKey(key), { sliceId: id, blockIndex: index, blockLen: len }, `seed=${seed} key=${key}`);
    }
  });

  test('returns a frozen record', () => {
    const parts = parseBlockKey('chunks/0/0/1_0_1');
    assert.ok(parts !== undefined && Object.isFrozen(parts));
  });

  test('rejects anything blockKey would not produce', () => {
    const bad = [
      '',
      'chunks/',
      'chunks/0/0/1_0',
      'chunks/0/0/1_0_1_2',
      'chunks/0/0/1-0-1',
      'chunks/0/0/1_0_1/',
      '/chunks/0/0/1_0_1',
      'vol/chunks/0/0/1_0_1', // the volume prefix belongs to PrefixedStore
      'Chunks/0/0/1_0_1',
      'chunks/0/0/1_0_1 ',
      ' chunks/0/0/1_0_1',
      'chunks/0/0/1_0_1\n',
      'chunks//0/1_0_1',
      'chunks/0/0/0_0_1', // id 0 is the hole, never an object
      'chunks/0/0/01_0_1', // leading zeros
      'chunks/00/0/1_0_1',
      'chunks/0/00/1_0_1',
      'chunks/0/0/1_00_1',
      'chunks/0/0/1_0_01',
      'chunks/0/0/1_0_0', // empty block
      'chunks/0/0/-1_0_1',
      'chunks/0/0/+1_0_1',
      'chunks/0/0/1_-1_1',
      'chunks/0/0/1_0_-1',
      'chunks/0/0/1.0_0_1',
      'chunks/0/0/1e3_0_1',
      'chunks/0/0/0x10_0_1',
      'chunks/0/0/１_0_1', // full-width digit
      'chunks/0/0/a_0_1',
      'chunks/1/0/1_0_1', // wrong first level
      'chunks/0/1/1_0_1', // wrong second level
      'chunks/0/0/1000_0_1', // 1000 lives in chunks/0/1/
      'chunks/0/1000/1000000_0_1', // 1e6 lives in chunks/1/1000/
      'chunks/1/999/1000000_0_1',
      'chunks/0/999/1000000_0_1',
      `chunks/0/0/1_0_${MAX_BLOCK_SIZE + 1}`,
      'chunks/0/0/1_1024_65536', // would end past the chunk
      'chunks/0/0/1_4_16777216',
      'chunks/9007199254/9007199254740/9007199254740992_0_1', // 2^53
      'chunks/9007199254/9007199254740/9007199254740993_0_1', // rounds to 2^53 as a number
      'chunks/10000000000/10000000000000/10000000000000000_0_1',
      'chunks/0/0/1_99999999999999999_1',
      'chunks/0/0/1_0_99999999999999999',
    ];
    for (const key of bad) assert.equal(parseBlockKey(key), undefined, JSON.stringify(key));
  });
});

describe('blockCount and blockLength', () => {
  test('counts', () => {
    const B = DEFAULT_BLOCK_SIZE;
    assert.equal(blockCount(0, B), 0);
    assert.equal(blockCount(1, B), 1);
    assert.equal(blockCount(B - 1, B), 1);
    assert.equal(blockCount(B, B), 1);
    assert.equal(blockCount(B + 1, B), 2);
    assert.equal(blockCount(CHUNK_SIZE, B), 16);
    assert.equal(blockCount(CHUNK_SIZE, MIN_BLOCK_SIZE), 1024);
    assert.equal(blockCount(CHUNK_SIZE - 1, MAX_BLOCK_SIZE), 4);
    assert.equal(blockCount(100_000, 100_000), 1);
    assert.equal(blockCount(100_001, 100_000), 2);
  });

  test('lengths', () => {
    const B = MIN_BLOCK_SIZE;
    assert.equal(blockLength(1, B, 0), 1);
    assert.equal(blockLength(B, B, 0), B);
    assert.equal(blockLength(B + 1, B, 0), B);
    assert.equal(blockLength(B + 1, B, 1), 1);
    assert.throws(() => blockLength(B + 1, B, 2), RangeError);
    assert.throws(() => blockLength(B, B, -1), RangeError);
    assert.throws(() => blockLength(0, B, 0), RangeError);
  });

  test('rejects bad geometry', () => {
    assert.throws(() => blockCount(-1, DEFAULT_BLOCK_SIZE), RangeError);
    assert.throws(() => blockCount(1.5, DEFAULT_BLOCK_SIZE), RangeError);
    assert.throws(() => blockCount(CHUNK_SIZE + 1, DEFAULT_BLOCK_SIZE), RangeError);
    assert.throws(() => blockCount(1, 0), RangeError);
    assert.throws(() => blockCount(1, MIN_BLOCK_SIZE - 1), RangeError);
    assert.throws(() => blockCount(1, MAX_BLOCK_SIZE + 1), RangeError);
    assert.throws(() => blockCount(1, NaN), RangeError);
  });
});

describe('sliceBlockKeys', () => {
  const B = DEFAULT_BLOCK_SIZE;

  test('block size edge cases', () => {
    assert.deepEqual(sliceBlockKeys(42, 0, B), []);
    assert.deepEqual(sliceBlockKeys(42, 1, B), ['chunks/0/0/42_0_1']);
    assert.deepEqual(sliceBlockKeys(42, B - 1, B), [`chunks/0/0/42_0_${B - 1}`]);
    assert.deepEqual(sliceBlockKeys(42, B, B), [`chunks/0/0/42_0_${B}`]);
    assert.deepEqual(sliceBlockKeys(42, B + 1, B), [`chunks/0/0/42_0_${B}`, 'chunks/0/0/42_1_1']);
  });

  test('a full 64 MiB slice is 16 full blocks', () => {
    const keys = sliceBlockKeys(1_234_567, CHUNK_SIZE, B);
    assert.equal(keys.length, 16);
    keys.forEach((key, i) => assert.equal(key, `chunks/1/1234/1234567_${i}_${B}`));
  });

  test('every key parses back, lengths sum to the slice size, all but the tail are full', (t) => {
    const seed = testSeed();
    t.diagnostic(`seed=${seed}`);
    const rng = makeRng(seed);
    const sizes = [1, MIN_BLOCK_SIZE - 1, MIN_BLOCK_SIZE, MIN_BLOCK_SIZE + 1, CHUNK_SIZE - 1, CHUNK_SIZE];
    for (let n = 0; n < 200; n++) sizes.push(rng.int(1, CHUNK_SIZE));
    for (const blockSize of [MIN_BLOCK_SIZE, 100_000, 1 * MiB, B, MAX_BLOCK_SIZE]) {
      for (const size of sizes) {
        const id = rng.int(1, MAX_SLICE_ID);
        const keys = sliceBlockKeys(id, size, blockSize);
        assert.equal(keys.length, blockCount(size, blockSize));
        let total = 0;
        keys.forEach((key, i) => {
          const parts = parseBlockKey(key);
          assert.ok(parts !== undefined, `seed=${seed} ${key}`);
          assert.equal(parts.sliceId, id);
          assert.equal(parts.blockIndex, i);
          if (i < keys.length - 1) assert.equal(parts.blockLen, blockSize);
          assert.equal(parts.blockLen, blockLength(size, blockSize, i));
          total += parts.blockLen;
        });
        assert.equal(total, size, `seed=${seed} size=${size} blockSize=${blockSize}`);
      }
    }
  });

  test('rejects bad arguments', () => {
    assert.throws(() => sliceBlockKeys(0, 1, B), RangeError);
    assert.throws(() => sliceBlockKeys(0, 0, B), RangeError);
    assert.throws(() => sliceBlockKeys(2 ** 53, 0, B), RangeError);
    assert.throws(() => sliceBlockKeys(1, CHUNK_SIZE + 1, B), RangeError);
    assert.throws(() => sliceBlockKeys(1, 1, 4096), RangeError);
  });
});
