/** The DiskCache file format and key → path mapping (pure). */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { crc32 } from 'node:zlib';
import {
  BLOCK_FILE_HEADER_SIZE, BLOCK_FILE_MAGIC, BLOCK_FILE_VERSION, TEMP_SUFFIX_RE, blockFilePath, decodeBlockFile,
  encodeBlockHeader,
} from '../../../src/cache/block-file.js';

const fileOf = (data: Buffer): Buffer => Buffer.concat([encodeBlockHeader(data), data]);

describe('block file format', () => {
  test('header layout', () => {
    const data = Buffer.from('hello, block');
    const h = encodeBlockHeader(data);
    assert.equal(h.length, BLOCK_FILE_HEADER_SIZE);
    assert.equal(BLOCK_FILE_HEADER_SIZE, 13);
    assert.deepEqual(h.subarray(0, 4), BLOCK_FILE_MAGIC);
    assert.equal(BLOCK_FILE_MAGIC.toString('latin1'), 'OFSC');
    assert.equal(h[4], BLOCK_FILE_VERSION);
    assert.equal(h.readUInt32BE(5), data.length);
    assert.equal(h.readUInt32BE(9), crc32(data));
    assert.equal(crc32(Buffer.from('123456789')), 0xcbf43926); // the standard IEEE check value
  });

  test('round trip, including an empty block', () => {
    for (const data of [Buffer.alloc(0), Buffer.from([0]), Buffer.alloc(70_000, 0xab)]) {
      const decoded = decodeBlockFile(fileOf(data));
      assert.ok(decoded.ok);
      assert.deepEqual(decoded.data, data);
    }
  });

  test('every single-byte change and every truncation is detected', () => {
    const data = Buffer.from('some block bytes that matter');
    const good = fileOf(data);
    for (let i = 0; i < good.length; i++) {
      const bad = Buffer.from(good);
      bad[i] = (bad[i] ?? 0) ^ 0x40;
      assert.equal(decodeBlockFile(bad).ok, false, `byte ${i}`);
    }
    for (let len = 0; len < good.length; len++) assert.equal(decodeBlockFile(good.subarray(0, len)).ok, false, `length ${len}`);
    assert.equal(decodeBlockFile(Buffer.concat([good, Buffer.from([0])])).ok, false);
  });

  test('problems are named', () => {
    const bad = decodeBlockFile(Buffer.from('OFS'));
    assert.ok(!bad.ok);
    assert.match(bad.problem, /shorter than the header/);
  });
});

describe('blockFilePath', () => {
  test('maps keys below the directory', () => {
    assert.equal(blockFilePath('/c', 'chunks/12/12345/12345678_0_4194304'), '/c/chunks/12/12345/12345678_0_4194304');
  });

  test('rejects keys that escape or collide with temp files', () => {
    for (const key of ['', '/abs', '..', 'a/../b', 'a/./b', 'a//b', 'a/', 'a\0b', 'chunks/1/1/1_0_1.tmp-0123456789ab']) {
      assert.throws(() => blockFilePath('/c', key), TypeError, JSON.stringify(key));
    }
    assert.match('x.tmp-0123456789ab', TEMP_SUFFIX_RE);
    assert.doesNotMatch('12345678_0_4194304', TEMP_SUFFIX_RE);
  });
});
