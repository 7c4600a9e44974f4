import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FormatSettingsError, validateFormatRequest } from '../../../src/volume/format-volume.js';

const base = { metaUrl: 'pglite://memory', name: 'vol', storage: 'file:///tmp/data' };

test('defaults: 4 MiB blocks, lz4, one trash day', () => {
  assert.deepEqual(validateFormatRequest(base), {
    name: 'vol', storage: 'file:///tmp/data', blockSize: 4 << 20, compression: 'lz4', trashDays: 1, capacity: undefined, inodes: undefined,
  });
});

test('accepted settings pass through', () => {
  const s = validateFormatRequest({ ...base, blockSize: 1 << 16, compression: 'none', trashDays: 0, capacity: 1 << 30, inodes: 1000 });
  assert.equal(s.blockSize, 65536);
  assert.equal(s.compression, 'none');
  assert.equal(s.capacity, 1 << 30);
});

test('bad settings are refused with the reason', () => {
  const cases: [object, RegExp][] = [
    [{ name: '' }, /volume name/],
    [{ name: 'has space' }, /volume name/],
    [{ name: '-dash' }, /volume name/],
    [{ name: 'x'.repeat(64) }, /volume name/],
    [{ blockSize: 3 << 20 }, /power of two/],
    [{ blockSize: 32 << 20 }, /block size/],
    [{ blockSize: 1024 }, /block size/],
    [{ compression: 'zstd' }, /compression/],
    [{ trashDays: -1 }, /trash/],
    [{ trashDays: 1.5 }, /trash/],
    [{ capacity: -5 }, /capacity/],
    [{ storage: 'ftp://x/y' }, /storage URL/],
    [{ storage: 's3://KEY:hunter2@bucket/p' }, /credentials/],
  ];
  for (const [change, pattern] of cases) {
    assert.throws(() => validateFormatRequest({ ...base, ...change }), (err: unknown) => {
      assert.ok(err instanceof FormatSettingsError, String(err));
      assert.match(err.message, pattern);
      assert.doesNotMatch(err.message, /hunter2/);
      return true;
    }, JSON.stringify(change));
  }
});
