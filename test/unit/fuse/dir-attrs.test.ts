import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RecentDirAttrs } from '../../../src/fuse/dir-attrs.js';
import type { Attr } from '../../../src/vfs/index.js';

const dir = (ino: number, mtime: bigint): Attr => ({
  ino, type: 'directory', mode: 0o755, uid: 0, gid: 0, nlink: 2, length: 0, rdev: 0, atime: 0n, mtime, ctime: mtime, parent: 1,
});

function clocked(ttlMs: number) {
  const clock = { ms: 0 };
  return { clock, recent: new RecentDirAttrs(ttlMs, () => clock.ms) };
}

test('a change that ends alone keeps what it reports, for the attribute timeout only', () => {
  const { clock, recent } = clocked(1000);
  recent.begin([5]);
  assert.equal(recent.get(5), undefined, 'nothing while the change is in flight');
  recent.end([5], [dir(5, 10n)]);
  assert.equal(recent.get(5)?.mtime, 10n);
  clock.ms = 999;
  assert.equal(recent.get(5)?.mtime, 10n);
  clock.ms = 1000;
  assert.equal(recent.get(5), undefined, 'not past the timeout');
});

test('overlapping changes of one directory keep nothing (their results may arrive in any order)', () => {
  const { recent } = clocked(1000);
  recent.begin([5]);
  recent.begin([5]);
  recent.end([5], [dir(5, 20n)]);
  recent.end([5], [dir(5, 10n)]);
  assert.equal(recent.get(5), undefined);
  // Once none is in flight, the next lone change keeps again.
  recent.begin([5]);
  recent.end([5], [dir(5, 30n)]);
  assert.equal(recent.get(5)?.mtime, 30n);
});

test('a change that reports nothing (rmdir, setattr) drops what was kept; only the directories it reports are kept', () => {
  const { recent } = clocked(1000);
  recent.begin([5]);
  recent.end([5], [dir(5, 10n)]);
  recent.begin([5]);
  assert.equal(recent.get(5), undefined, 'a change in flight drops it at once');
  recent.end([5]);
  assert.equal(recent.get(5), undefined);
  recent.begin([5, 6]);
  recent.end([5, 6], [dir(6, 7n), dir(9, 7n)]);
  assert.equal(recent.get(5), undefined);
  assert.equal(recent.get(6)?.mtime, 7n);
  assert.equal(recent.get(9), undefined, 'not a directory this change began with');
});

test('another host\'s announcement drops it, and spoils a change in flight; a reset drops everything', () => {
  const { recent } = clocked(1000);
  recent.begin([5]);
  recent.end([5], [dir(5, 10n)]);
  recent.drop(5);
  assert.equal(recent.get(5), undefined);
  recent.begin([5]);
  recent.drop(5); // announced while the change was in flight: its result may predate it
  recent.end([5], [dir(5, 11n)]);
  assert.equal(recent.get(5), undefined);
  recent.begin([6]);
  recent.end([6], [dir(6, 1n)]);
  recent.begin([7]);
  recent.clear();
  recent.end([7], [dir(7, 1n)]);
  assert.equal(recent.get(6), undefined);
  assert.equal(recent.get(7), undefined);
});

test('a timeout of 0 keeps nothing', () => {
  const { recent } = clocked(0);
  recent.begin([5]);
  recent.end([5], [dir(5, 10n)]);
  assert.equal(recent.get(5), undefined);
});
