import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { formatDuration, parseDuration } from '../../../src/util/duration.js';

describe('parseDuration', () => {
  test('a bare number is seconds, fractions allowed', () => {
    assert.equal(parseDuration('0'), 0);
    assert.equal(parseDuration('30'), 30);
    assert.equal(parseDuration(' 1.5 '), 1.5);
    assert.equal(parseDuration('.25'), 0.25);
    assert.equal(parseDuration(3600), 3600);
  });

  test('units ms, s, m, h, d and their sums', () => {
    assert.equal(parseDuration('500ms'), 0.5);
    assert.equal(parseDuration('30s'), 30);
    assert.equal(parseDuration('30m'), 1800);
    assert.equal(parseDuration('1h'), 3600);
    assert.equal(parseDuration('7d'), 7 * 86400);
    assert.equal(parseDuration('1h30m'), 5400);
    assert.equal(parseDuration('1m30s'), 90);
    assert.equal(parseDuration('1.5h'), 5400);
    assert.equal(parseDuration('2s500ms'), 2.5);
  });

  test('garbage, negative, NaN and unknown units are refused with the input named', () => {
    for (const bad of ['', ' ', 'abc', 'NaN', 'Infinity', '-1', '-1s', '1x', '1 h', 'h', '1h30', 's1', '1e3', '1H', '0x10']) {
      assert.throws(() => parseDuration(bad), (e: unknown) => e instanceof RangeError && e.message.includes(JSON.stringify(bad)), bad);
    }
    for (const bad of [NaN, -1, Infinity]) assert.throws(() => parseDuration(bad), RangeError);
  });
});

describe('formatDuration', () => {
  test('the largest units that divide exactly, and back', () => {
    assert.equal(formatDuration(0), '0s');
    assert.equal(formatDuration(3600), '1h');
    assert.equal(formatDuration(300), '5m');
    assert.equal(formatDuration(90), '1m30s');
    assert.equal(formatDuration(0.5), '500ms');
    assert.equal(formatDuration(86400 + 1), '1d1s');
    for (const s of [0, 0.001, 1, 59, 61, 3599, 3600, 5400, 86400 * 3 + 7]) assert.equal(parseDuration(formatDuration(s)), s);
    assert.throws(() => formatDuration(-1), RangeError);
  });
});
