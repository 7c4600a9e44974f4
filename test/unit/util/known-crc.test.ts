/** A block's CRC-32 told by the codec is what the disk cache's header carries, not summed again. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { crc32 } from 'node:zlib';
import { encodeBlockHeader } from '../../../src/cache/block-file.js';
import { decodeBlock, encodeBlock } from '../../../src/chunk/codec.js';
import { crc32Of, tellCrc32 } from '../../../src/util/known-crc.js';

test('a told CRC is used for that buffer object only; others are summed', () => {
  const data = randomBytes(1000);
  tellCrc32(data, 0x12345678);
  assert.equal(encodeBlockHeader(data).readUInt32BE(9), 0x12345678, 'the told value, not a new sum');
  const same = Buffer.from(data);
  assert.equal(crc32Of(same), crc32(same));
});

test('decoded blocks carry their right CRC-32 into the cache header (raw: the stored one; lz4: the worker\'s)', async () => {
  for (const data of [randomBytes(1 << 20), Buffer.alloc(1 << 20, 'ab')]) {
    const back = await decodeBlock(await encodeBlock(data, 'lz4'), 'lz4', data.length);
    const summed = crc32(data);
    back[0]! ^= 1; // changed afterwards (never done with a real block): the header keeps the told sum
    assert.equal(encodeBlockHeader(back).readUInt32BE(9), summed);
  }
});

test('a block compressed for upload on the worker carries the sum of its bytes to the cache header', async () => {
  for (const data of [randomBytes(1 << 20), Buffer.alloc(1 << 20, 'ab')]) { // stored raw, stored lz4
    await encodeBlock(data, 'lz4');
    const summed = crc32(data);
    data[0]! ^= 1; // changed afterwards (never done with a real block): the header keeps the told sum
    assert.equal(encodeBlockHeader(data).readUInt32BE(9), summed, 'the worker\'s sum, not a new one');
  }
});
