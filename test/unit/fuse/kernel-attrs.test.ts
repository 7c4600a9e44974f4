import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KernelAttrs } from '../../../src/fuse/kernel-attrs.js';
import type { Attr } from '../../../src/vfs/index.js';

const file = (ino: number, length: number, ctime: bigint): Attr => ({
  ino, type: 'file', mode: 0o644, uid: 0, gid: 0, nlink: 1, length, rdev: 0, atime: 1n, mtime: ctime, ctime, parent: 1,
});

test('an inode the kernel was never told of differs; one told of differs only in length or ctime', () => {
  const told = new KernelAttrs();
  assert.ok(told.differ(file(5, 10, 100n)), 'never told: the kernel may hold anything');
  told.told(file(5, 10, 100n));
  assert.ok(!told.differ(file(5, 10, 100n)));
  assert.ok(!told.differ({ ...file(5, 10, 100n), atime: 7n }), 'an access time alone is no change');
  assert.ok(told.differ(file(5, 11, 100n)), 'another length');
  assert.ok(told.differ(file(5, 10, 101n)), 'another change time (a rewrite of the same length, a chmod)');
  told.told(file(5, 11, 101n));
  assert.ok(!told.differ(file(5, 11, 101n)), 'the last reply counts');
});

test('forgetting an inode (the kernel\'s last reference went) drops what it was told', () => {
  const told = new KernelAttrs();
  told.told(file(5, 10, 100n));
  told.told(file(6, 1, 1n));
  told.forget(5);
  assert.ok(told.differ(file(5, 10, 100n)));
  assert.ok(!told.differ(file(6, 1, 1n)));
  assert.equal(told.size, 1);
});
