/** NoCapability: the short-lived memory of inodes without security.capability (pure logic). */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { NO_CAPABILITY_MS, NoCapability } from '../../../src/vfs/no-capability.js';

describe('NoCapability', () => {
  test('an answer is believed for NO_CAPABILITY_MS, then asked again', () => {
    const known = new NoCapability();
    assert.equal(known.has(5, 1000), false);
    known.remember(5, known.epoch, 1000);
    assert.equal(known.has(5, 1000 + NO_CAPABILITY_MS - 1), true);
    assert.equal(known.has(6, 1000), false, 'only that inode');
    assert.equal(known.has(5, 1000 + NO_CAPABILITY_MS), false);
  });

  test('forgetting an inode, or everything, drops the answers', () => {
    const known = new NoCapability();
    known.remember(5, known.epoch, 0);
    known.remember(6, known.epoch, 0);
    known.forget([5]);
    assert.equal(known.has(5, 1), false);
    assert.equal(known.has(6, 1), true);
    known.forget();
    assert.equal(known.has(6, 1), false);
  });

  test('an answer read before a change is not remembered after it', () => {
    const known = new NoCapability();
    const epoch = known.epoch; // a getxattr starts
    known.forget([7]); // setxattr of another inode: any change invalidates reads in flight
    known.remember(5, epoch, 0);
    assert.equal(known.has(5, 1), false);
  });
});
