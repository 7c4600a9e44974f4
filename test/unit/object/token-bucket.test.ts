import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TokenBucket } from '../../../src/object/token-bucket.js';

test('unlimited by default and at rate 0', () => {
  const b = new TokenBucket();
  assert.equal(b.reserve(1e12), 0);
});

test('one second of burst, then transfers are spaced at the rate', () => {
  let now = 0;
  const b = new TokenBucket(1000, () => now); // 1000 B/s
  assert.equal(b.reserve(1000), 0, 'the first second of bytes is burst');
  assert.equal(b.reserve(500), 500);
  assert.equal(b.reserve(500), 1000);
  now = 5000; // idle: the schedule has caught up, burst is available again
  assert.equal(b.reserve(1000), 0);
  assert.equal(b.reserve(2000), 2000);
});

test('the rate can change live; negative or NaN rates are refused', () => {
  let now = 0;
  const b = new TokenBucket(1000, () => now);
  b.reserve(5000);
  b.setRate(0);
  assert.equal(b.reserve(1e9), 0, 'unlimited now');
  b.setRate(100);
  assert.equal(b.bytesPerSecond, 100);
  assert.equal(b.reserve(200), 1000);
  assert.throws(() => b.setRate(-1), RangeError);
  assert.throws(() => b.setRate(Number.NaN), RangeError);
});
