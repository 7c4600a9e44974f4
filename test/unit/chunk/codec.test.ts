import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { crc32 } from 'node:zlib';
import { decodeBlock, encodeBlock, encodeBlockForUpload } from '../../../src/chunk/codec.js';
import { BlockCorruptError } from '../../../src/chunk/errors.js';
import { allocBlockWithHeaderRoom, hasHeaderRoom } from '../../../src/chunk/raw-block.js';
import { crc32Of } from '../../../src/util/known-crc.js';
import { toErrno } from '../../../src/errors.js';

const MiB = 1024 * 1024;
const EIO = 5;

const samples: Array<[string, () => Buffer]> = [
  ['empty', () => Buffer.alloc(0)],
  ['1 byte', () => Buffer.from([0xa5])],
  ['random 4 MiB (incompressible)', () => randomBytes(4 * MiB)],
  ['4 MiB of zeros', () => Buffer.alloc(4 * MiB)],
  ['text', () => Buffer.from('the quick brown fox jumps over the lazy dog. '.repeat(1000))],
];

describe('block codec round trips', () => {
  for (const compression of ['lz4', 'none'] as const) {
    for (const [name, make] of samples) {
      test(`${compression}: ${name}`, async () => {
        const data = make();
        const copy = Buffer.from(data);
        const stored = await encodeBlock(data, compression);
        assert.deepEqual(data, copy, 'encode must not change its input');
        const back = await decodeBlock(stored, compression, data.length);
        assert.equal(back.length, data.length);
        assert.ok(back.equals(data));
      });
    }
  }

  test('a consumed block behind header room goes to the worker without a copy and comes back as the block', async () => {
    const cases: Array<[string, Buffer]> = [
      ['incompressible (stored raw, in place)', randomBytes(4 * MiB)],
      ['compressible (handed back beside lz4\'s output)', Buffer.from('abcdefgh'.repeat(MiB / 2))],
      ['empty', Buffer.alloc(0)],
    ];
    for (const [name, content] of cases) {
      const block = allocBlockWithHeaderRoom(content.length);
      content.copy(block);
      const encoded = await encodeBlockForUpload(block, 'lz4', true);
      assert.equal(block.buffer.byteLength, 0, `${name}: the block's memory was transferred, not copied`);
      assert.ok(encoded.data.equals(content), `${name}: the block's bytes come back`);
      assert.ok(hasHeaderRoom(encoded.data), `${name}: in the same kind of memory`);
      assert.equal(crc32Of(encoded.data), crc32(content), `${name}: its CRC-32 is known`);
      assert.ok((await decodeBlock(encoded.bytes, 'lz4', content.length)).equals(content), `${name}: the object decodes to it`);
      assert.equal(encoded.sha256, createHash('sha256').update(encoded.bytes).digest('hex'));
    }
    // Not consumed, or not behind header room: the caller's buffer is copied and stays usable.
    for (const [input, consume] of [[allocBlockWithHeaderRoom(MiB).fill(7), false], [Buffer.alloc(MiB, 7), true]] as const) {
      const encoded = await encodeBlockForUpload(input, 'lz4', consume);
      assert.equal(input.length, MiB);
      assert.ok(input.equals(Buffer.alloc(MiB, 7)));
      assert.equal(encoded.data, input, 'the block is the caller\'s own buffer');
    }
  });

  test('lz4 format: fe ff ff ff, the CRC-32 of the block, its little-endian length, then the lz4 block', async () => {
    const data = Buffer.alloc(4 * MiB);
    const stored = await encodeBlock(data, 'lz4');
    assert.equal(stored.readUInt32LE(0), 0xfffffffe);
    assert.equal(stored.readUInt32LE(4), crc32(data));
    assert.equal(stored.readUInt32LE(8), 4 * MiB);
    assert.ok(stored.length < 64 * 1024, `zeros compress (got ${stored.length} bytes)`);
    assert.deepEqual(await encodeBlock(Buffer.alloc(0), 'lz4'), Buffer.from([0xfe, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 0, 0]));
  });

  test('lz4: objects of the older form (the length first, no CRC) still decode', async () => {
    const data = Buffer.from('the quick brown fox jumps over the lazy dog. '.repeat(5000));
    const older = (await encodeBlock(data, 'lz4')).subarray(8);
    assert.equal(older.readUInt32LE(0), data.length);
    assert.ok((await decodeBlock(older, 'lz4', data.length)).equals(data));
    assert.ok((await decodeBlock(Buffer.from(older), 'lz4', data.length, undefined, true)).equals(data));
  });

  test('lz4: a block lz4 cannot shrink is stored raw behind ff ff ff ff and its CRC-32, and read back without lz4', async () => {
    const data = randomBytes(4 * MiB);
    const stored = await encodeBlock(data, 'lz4');
    assert.equal(stored.length, 8 + data.length);
    assert.equal(stored.readUInt32LE(0), 0xffffffff);
    assert.equal(stored.readUInt32LE(4), crc32(data));
    assert.ok(stored.subarray(8).equals(data));
    // Small random data is tried whole (no samples) and stored raw too.
    const small = randomBytes(1000);
    assert.equal((await encodeBlock(small, 'lz4')).readUInt32LE(0), 0xffffffff);
  });

  test('lz4: random samples with compressible data around them still go raw; compressible samples compress', async () => {
    const text = Buffer.from('the quick brown fox jumps over the lazy dog. '.repeat(100_000)).subarray(0, 4 * MiB);
    assert.ok((await encodeBlock(text, 'lz4')).length < MiB, 'text compresses');
    const mixed = Buffer.from(text);
    randomBytes(2 * MiB).copy(mixed, MiB); // the middle sample lands in random bytes, the others in text
    const stored = await encodeBlock(mixed, 'lz4');
    assert.ok(stored.length < mixed.length, 'two compressible samples of three are enough to try the whole block');
    assert.ok((await decodeBlock(stored, 'lz4', mixed.length)).equals(mixed));
  });

  test('lz4: the upload form carries the SHA-256 of the stored bytes (for S3 signing); none has none', async () => {
    for (const data of [randomBytes(MiB), Buffer.alloc(MiB)]) {
      const { bytes, sha256 } = await encodeBlockForUpload(data, 'lz4');
      assert.equal(sha256, createHash('sha256').update(bytes).digest('hex'));
    }
    assert.equal((await encodeBlockForUpload(Buffer.alloc(10), 'none')).sha256, undefined);
  });

  test("'none' stores the bytes verbatim", async () => {
    const data = randomBytes(1000);
    assert.equal(await encodeBlock(data, 'none'), data);
  });
});

describe('block codec rejects damaged objects', () => {
  async function rejectsCorrupt(p: Promise<unknown>, match?: RegExp): Promise<void> {
    await assert.rejects(p, (err: unknown) => {
      assert.ok(err instanceof BlockCorruptError, `expected BlockCorruptError, got ${String(err)}`);
      assert.equal(err.errno, EIO);
      assert.equal(toErrno(err), EIO);
      if (match) assert.match(err.message, match);
      return true;
    });
  }

  test('lz4: a flipped bit anywhere in an object is caught, where lz4 alone would decode most flips to wrong bytes', async () => {
    const words = Array.from({ length: 300 }, (_, i) => createHash('sha256').update(String(i)).digest('hex').slice(0, 4 + (i % 9)));
    const data = Buffer.from(Array.from({ length: 40_000 }, (_, i) => words[(i * 7919) % words.length]).join(' '));
    const stored = await encodeBlock(data, 'lz4');
    assert.equal(stored.readUInt32LE(0), 0xfffffffe);
    let silentWithoutCrc = 0;
    for (let i = 0; i < 120; i++) {
      const at = i < 12 ? i : 12 + ((i * 104_729) % (stored.length - 12));
      const flipped = Buffer.from(stored);
      flipped[at] = (flipped[at] ?? 0) ^ (1 << (i % 8));
      await rejectsCorrupt(decodeBlock(flipped, 'lz4', data.length));
      if (at >= 12) {
        const older = await decodeBlock(flipped.subarray(8), 'lz4', data.length).catch(() => undefined);
        if (older !== undefined && !older.equals(data)) silentWithoutCrc++;
      }
    }
    assert.ok(silentWithoutCrc > 0, 'without the CRC some flips decode to wrong bytes (why it is there)');
    // Flips in the CRC or the block both say so.
    const inCrc = Buffer.from(stored);
    inCrc[5] = (inCrc[5] ?? 0) ^ 1;
    await rejectsCorrupt(decodeBlock(inCrc, 'lz4', data.length), /CRC-32/);
  });

  test('garbage after a right length prefix', async () => {
    const bad = Buffer.concat([Buffer.from([100, 0, 0, 0]), Buffer.from([0xff, 0xff, 0xff])]);
    await rejectsCorrupt(decodeBlock(bad, 'lz4', 100), /lz4/);
  });

  test('a truncated lz4 object', async () => {
    const data = randomBytes(100_000);
    const stored = await encodeBlock(data, 'lz4');
    await rejectsCorrupt(decodeBlock(stored.subarray(0, stored.length - 1000), 'lz4', data.length));
    await rejectsCorrupt(decodeBlock(stored.subarray(0, 3), 'lz4', data.length), /too short/);
    await rejectsCorrupt(decodeBlock(Buffer.alloc(0), 'lz4', 0), /too short/);
  });

  test('a length prefix that lies (checked before decompressing)', async () => {
    const data = Buffer.from('hello hello hello hello hello');
    const stored = Buffer.from(await encodeBlock(data, 'lz4'));
    stored.writeUInt32LE(0x7fffffff, 0);
    await rejectsCorrupt(decodeBlock(stored, 'lz4', data.length), /prefix/);
    stored.writeUInt32LE(data.length + 10, 0); // prefix and expectation agree, the stream does not
    await rejectsCorrupt(decodeBlock(stored, 'lz4', data.length + 10));
    stored.writeUInt32LE(data.length - 10, 0);
    await rejectsCorrupt(decodeBlock(stored, 'lz4', data.length - 10));
  });

  test('a raw block of the wrong length, or with any byte changed, is corrupt', async () => {
    const stored = await encodeBlock(randomBytes(5000), 'lz4');
    await assert.rejects(decodeBlock(stored, 'lz4', 4999), BlockCorruptError);
    await assert.rejects(decodeBlock(stored.subarray(0, stored.length - 1), 'lz4', 5000), BlockCorruptError);
    const flipped = Buffer.from(stored);
    flipped[3000] = (flipped[3000] ?? 0) ^ 1;
    await assert.rejects(decodeBlock(flipped, 'lz4', 5000), /CRC-32/);
  });

  test('an lz4 object given up and alone in its memory moves to the worker without a copy; otherwise it is copied', async () => {
    const data = Buffer.from('compressible '.repeat(100_000));
    const encoded = await encodeBlock(data, 'lz4');
    assert.ok(encoded.length < data.length / 4, 'lz4 shrank it');
    const owned = (): Buffer => {
      const object = Buffer.allocUnsafeSlow(encoded.length); // as a fetched body: alone in its ArrayBuffer
      encoded.copy(object);
      return object;
    };
    const given = owned();
    assert.ok((await decodeBlock(given, 'lz4', data.length, undefined, true)).equals(data));
    assert.equal(given.buffer.byteLength, 0, 'moved to the worker (detached here), not copied');
    const kept = owned();
    assert.ok((await decodeBlock(kept, 'lz4', data.length)).equals(data));
    assert.ok(kept.equals(encoded), 'not given up (consume false): copied, still the caller\'s');
    const view = Buffer.concat([Buffer.alloc(16), encoded]).subarray(16);
    assert.ok((await decodeBlock(view, 'lz4', data.length, undefined, true)).equals(data));
    assert.ok(view.equals(encoded), 'a view into larger memory is copied and stays the caller\'s');
  });

  test('a large raw block given up and alone in its memory is summed on the worker: its memory moves, damage is still caught', async () => {
    const data = randomBytes(4 * MiB);
    const owned = (): Buffer => {
      const object = Buffer.allocUnsafeSlow(8 + data.length); // as a fetched body: alone in its ArrayBuffer
      (Buffer.from(encodedRaw)).copy(object);
      return object;
    };
    const encodedRaw = await encodeBlock(data, 'lz4');
    const kept = owned();
    assert.ok((await decodeBlock(kept, 'lz4', data.length)).equals(data));
    assert.equal(kept.length, 8 + data.length, 'not given up (consume false): summed here, still the caller\'s');
    const stored = owned();
    const back = await decodeBlock(stored, 'lz4', data.length, undefined, true);
    assert.equal(stored.buffer.byteLength, 0, 'the object went to the worker (detached here), not summed on this thread');
    assert.ok(back.equals(data));
    assert.equal(crc32Of(back), crc32(data), 'its CRC-32 is known for the disk cache');
    const flipped = owned();
    flipped[3 * MiB] = (flipped[3 * MiB] ?? 0) ^ 1;
    await assert.rejects(decodeBlock(flipped, 'lz4', data.length, undefined, true), /CRC-32/);
    assert.equal(flipped.buffer.byteLength, 0, 'checked on the worker');
    // A view into larger memory is summed here and stays the caller's.
    const shared = Buffer.alloc(encodedRaw.length + 16);
    encodedRaw.copy(shared, 16);
    const view = shared.subarray(16);
    assert.ok((await decodeBlock(view, 'lz4', data.length, undefined, true)).equals(data));
    assert.equal(view.length, encodedRaw.length, 'not detached');
    // A small block given up is summed here too: the hop would cost more than the sum.
    const small = randomBytes(64 * 1024);
    const smallStored = Buffer.allocUnsafeSlow(8 + small.length);
    (await encodeBlock(small, 'lz4')).copy(smallStored);
    assert.ok((await decodeBlock(smallStored, 'lz4', small.length, undefined, true)).equals(small));
    assert.equal(smallStored.length, 8 + small.length, 'under 256 KiB: not moved to the worker');
  });

  test('wrong expected length', async () => {
    const data = randomBytes(4096);
    await rejectsCorrupt(decodeBlock(await encodeBlock(data, 'lz4'), 'lz4', 4095), /4095/);
    await rejectsCorrupt(decodeBlock(await encodeBlock(data, 'lz4'), 'lz4', 4097), /4097/);
    await rejectsCorrupt(decodeBlock(await encodeBlock(data, 'none'), 'none', 4095), /4095/);
    await rejectsCorrupt(decodeBlock(await encodeBlock(data, 'none'), 'none', 4097), /4097/);
  });

  test('the key, when given, is named in the error', async () => {
    await rejectsCorrupt(decodeBlock(Buffer.alloc(3), 'none', 4, 'chunks/0/0/1_0_4'), /chunks\/0\/0\/1_0_4/);
  });

  test('a bad expected length is a RangeError (caller bug), not corruption', async () => {
    await assert.rejects(decodeBlock(Buffer.alloc(3), 'none', -1), RangeError);
    await assert.rejects(decodeBlock(Buffer.alloc(3), 'none', 1.5), RangeError);
  });
});
