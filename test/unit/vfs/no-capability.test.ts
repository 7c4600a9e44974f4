/** NoCapability: the short-lived memory of inodes without security.capability (pure logic, a test clock). */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { MAX_INODES, NO_CAPABILITY_MS, NO_XATTRS_MS, NoCapability } from '../../../src/vfs/no-capability.js';

function clocked(start = 1000): { known: NoCapability; at: (ms: number) => void } {
  let now = start;
  return { known: new NoCapability({ now: () => now }), at: (ms) => { now = ms; } };
}

describe('NoCapability', () => {
  test('an answer is believed for NO_CAPABILITY_MS, then asked again', () => {
    const { known, at } = clocked(1000);
    assert.equal(known.has(5), false);
    known.remember(5, known.epoch);
    at(1000 + NO_CAPABILITY_MS - 1);
    assert.equal(known.has(5), true);
    assert.equal(known.has(6), false, 'only that inode');
    at(1000 + NO_CAPABILITY_MS + 1);
    assert.equal(known.has(5), false);
    at(1000);
    assert.equal(known.has(5), false, 'an expired answer is gone, not merely hidden');
  });

  test('forgetting an inode, or everything, drops the answers', () => {
    const { known, at } = clocked(500);
    known.remember(5, known.epoch);
    known.remember(6, known.epoch);
    at(501);
    known.forget([5]);
    assert.equal(known.has(5), false);
    assert.equal(known.has(6), true);
    known.forget();
    assert.equal(known.has(6), false);
  });

  test('an answer read before a change is not remembered after it', () => {
    const { known } = clocked(500);
    const epoch = known.epoch; // a getxattr starts
    known.forget([7]); // setxattr of another inode: any change invalidates reads in flight
    known.remember(5, epoch);
    assert.equal(known.has(5), false);
  });

  test('bounded: the least recently used answers go first', () => {
    const { known } = clocked(500);
    for (let ino = 1; ino <= MAX_INODES + 10; ino++) known.remember(ino, known.epoch);
    assert.equal(known.has(1), false);
    assert.equal(known.has(MAX_INODES + 10), true);
  });

  test('"no xattrs at all" from a listing answers every name for NO_XATTRS_MS; a capability miss does not weaken it', () => {
    const { known, at } = clocked(1000);
    known.remember(9, known.epoch, true);
    known.remember(9, known.epoch); // a later capability miss
    at(1000 + NO_CAPABILITY_MS + 1);
    assert.equal(known.hasNone(9), true);
    assert.equal(known.has(9), true);
    at(1000 + NO_XATTRS_MS + 1);
    assert.equal(known.hasNone(9), false);
    known.remember(10, known.epoch);
    assert.equal(known.hasNone(10), false, 'a capability miss says nothing of other names');
    known.remember(11, known.epoch, true);
    known.forget([11]);
    assert.equal(known.hasNone(11), false);
  });

  test('the real clock works too', () => {
    const known = new NoCapability();
    known.remember(9, known.epoch);
    assert.equal(known.has(9), true);
  });
});
