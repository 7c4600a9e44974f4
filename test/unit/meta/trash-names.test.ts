/** The trash's names (src/meta/trash.ts): hour directories and entry names, both ways. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { hourName, parseEntryName, parseHourName } from '../../../src/meta/trash.js';

describe('trash hour names', () => {
  test('the UTC hour of a time, and back to hours since the epoch', () => {
    const ms = Date.UTC(2026, 11, 5, 16, 59, 59, 999);
    assert.equal(hourName(ms), '2026-12-05-16');
    assert.equal(parseHourName('2026-12-05-16'), Math.floor(ms / 3_600_000));
    assert.equal(hourName(0), '1970-01-01-00');
  });

  test('anything else is not an hour', () => {
    for (const bad of ['2026-12-05', '2026-13-01-00', '2026-02-30-00', '2026-12-05-24', 'abc', '-1', 'NaN', ' 2026-12-05-16']) {
      assert.equal(parseHourName(bad), undefined, bad);
    }
  });
});

describe('trash entry names', () => {
  test('<parent>-<ino>-<name> is parsed back, any bytes in the name (dashes too)', () => {
    const name = Buffer.from([0x61, 0x2d, 0xff, 0x62]);
    assert.deepEqual(parseEntryName(Buffer.concat([Buffer.from('12-345-'), name])), { parent: 12, ino: 345, name });
  });

  test('a name cut to 255 bytes still says its parent and inode', () => {
    const cut = Buffer.concat([Buffer.from(`1-${2 ** 40}-`), Buffer.alloc(255, 0x6e)]).subarray(0, 255);
    assert.equal(parseEntryName(cut)?.ino, 2 ** 40);
  });

  test('names that are not entries', () => {
    for (const bad of ['plain', '1-2', '1-2-', 'x-2-n', '1-y-n']) assert.equal(parseEntryName(Buffer.from(bad)), undefined, bad);
  });
});
