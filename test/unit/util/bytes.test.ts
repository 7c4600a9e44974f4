import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { formatBytes, parseByteSize } from '../../../src/util/bytes.js';

const K = 1024;
const M = K * K;
const G = M * K;
const T = G * K;
const P = T * K;

describe('parseByteSize', () => {
  test('plain numbers are bytes', () => {
    assert.equal(parseByteSize('0'), 0);
    assert.equal(parseByteSize('4096'), 4096);
    assert.equal(parseByteSize('4096B'), 4096);
    assert.equal(parseByteSize('4096 b'), 4096);
    assert.equal(parseByteSize('  12  '), 12);
    assert.equal(parseByteSize('9007199254740991'), Number.MAX_SAFE_INTEGER);
    assert.equal(parseByteSize('1.0'), 1);
  });

  test('binary units in every spelling', () => {
    const spellings = (letter: string): string[] => [
      letter, letter.toLowerCase(), `${letter}B`, `${letter}iB`, `${letter.toLowerCase()}ib`, `${letter}i`, `${letter}b`,
    ];
    for (const [letter, mult] of [['K', K], ['M', M], ['G', G], ['T', T], ['P', P]] as const) {
      for (const unit of spellings(letter)) {
        assert.equal(parseByteSize(`4${unit}`), 4 * mult, `4${unit}`);
        assert.equal(parseByteSize(`4 ${unit}`), 4 * mult, `4 ${unit}`);
      }
    }
    assert.equal(parseByteSize('64K'), 65536);
    assert.equal(parseByteSize('4M'), 4 * M);
    assert.equal(parseByteSize('4MiB'), 4 * M);
    assert.equal(parseByteSize('4MB'), 4 * M);
    assert.equal(parseByteSize('0M'), 0);
    assert.equal(parseByteSize('7P'), 7 * P);
  });

  test('fractions that give whole bytes', () => {
    assert.equal(parseByteSize('1.5G'), 1.5 * G);
    assert.equal(parseByteSize('1.5K'), 1536);
    assert.equal(parseByteSize('0.5K'), 512);
    assert.equal(parseByteSize('0.25MiB'), M / 4);
    assert.equal(parseByteSize('0.0009765625K'), 1);
    assert.equal(parseByteSize('1.00000'), 1);
    assert.equal(parseByteSize('2.000000000000000000000000000P'), 2 * P);
  });

  test('accepts a non-negative safe integer number as is', () => {
    assert.equal(parseByteSize(0), 0);
    assert.equal(parseByteSize(4096), 4096);
    for (const n of [-1, 1.5, NaN, Infinity, 2 ** 53]) assert.throws(() => parseByteSize(n), RangeError, String(n));
  });

  test('rejects garbage with a clear message', () => {
    const bad = [
      '', ' ', 'M', 'KiB', 'abc', '4X', '4KK', '4 M B', '4MiBs', '4iB', '4i', '4 iB', '4.', '.5M', '1..5M', '1.5.2M',
      '0x10', '1e3', '1_000', '1,5M', '+4M', '4M!', 'Infinity', 'NaN', '4E', '4Z', '４M',
    ];
    for (const input of bad) {
      assert.throws(() => parseByteSize(input), (err: unknown) => {
        assert.ok(err instanceof RangeError, input);
        assert.match(err.message, /^invalid byte size ".*": /);
        assert.match(err.message, /binary/);
        return true;
      }, JSON.stringify(input));
    }
  });

  test('rejects negatives, fractional bytes and overflow, saying which', () => {
    assert.throws(() => parseByteSize('-1'), /: negative/);
    assert.throws(() => parseByteSize('-4M'), /: negative/);
    assert.throws(() => parseByteSize(' -0'), /: negative/);
    assert.throws(() => parseByteSize('1.5'), /not a whole number of bytes/);
    assert.throws(() => parseByteSize('0.1K'), /not a whole number of bytes/);
    assert.throws(() => parseByteSize('1.1T'), /not a whole number of bytes/);
    assert.throws(() => parseByteSize('1.00000000000000000001P'), /not a whole number of bytes/);
    assert.throws(() => parseByteSize('9007199254740992'), /larger than 2\^53/);
    assert.throws(() => parseByteSize('8P'), /larger than 2\^53/);
    assert.throws(() => parseByteSize('99999999999999999999999999K'), /larger than 2\^53/);
  });
});

describe('formatBytes', () => {
  test('bytes below 1 KiB', () => {
    assert.equal(formatBytes(0), '0 B');
    assert.equal(formatBytes(1), '1 B');
    assert.equal(formatBytes(1023), '1023 B');
  });

  test('one decimal in the largest unit', () => {
    assert.equal(formatBytes(1024), '1.0 KiB');
    assert.equal(formatBytes(1536), '1.5 KiB');
    assert.equal(formatBytes(4 * M), '4.0 MiB');
    assert.equal(formatBytes(1.5 * G), '1.5 GiB');
    assert.equal(formatBytes(3 * T), '3.0 TiB');
    assert.equal(formatBytes(2 * P), '2.0 PiB');
    assert.equal(formatBytes(Number.MAX_SAFE_INTEGER), '8.0 PiB');
    assert.equal(formatBytes(4096 * P), '4.0 EiB');
    assert.equal(formatBytes(4096 * 1024 * P), '4096.0 EiB');
  });

  test('rounding up to the next unit', () => {
    assert.equal(formatBytes(M - 1), '1.0 MiB');
    assert.equal(formatBytes(1023.94 * K), '1023.9 KiB');
    assert.equal(formatBytes(G - 1), '1.0 GiB');
  });

  test('negative counts keep their sign', () => {
    assert.equal(formatBytes(-5), '-5 B');
    assert.equal(formatBytes(-4 * M), '-4.0 MiB');
  });

  test('rejects non-finite numbers', () => {
    for (const n of [NaN, Infinity, -Infinity]) assert.throws(() => formatBytes(n), RangeError);
  });

  test('formats what parseByteSize reads back', () => {
    for (const n of [K, 4 * M, 1.5 * G, 3 * T, 2 * P]) {
      assert.equal(parseByteSize(formatBytes(n)), n);
    }
  });
});
