/**
 * InodeAttr keeps the attributes of an open inode from stepping back when results of
 * overlapping operations arrive out of order (pure logic: the operations are promises
 * settled by the test in a chosen order).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Attr } from '../../../src/meta/index.js';
import { InodeAttr } from '../../../src/vfs/inode-attr.js';

function attr(length: number, mtime = BigInt(length)): Attr {
  return { ino: 7, type: 'file', mode: 0o644, uid: 0, gid: 0, nlink: 1, length, rdev: 0, atime: 0n, mtime, ctime: mtime, parent: 1 };
}

/** A promise and the function that settles it. */
function later<T>(): { promise: Promise<T>; resolve: (value: T) => void; reject: (err: unknown) => void } {
  let resolve!: (value: T) => void;
  let reject!: (err: unknown) => void;
  const promise = new Promise<T>((res, rej) => { resolve = res; reject = rej; });
  return { promise, resolve, reject };
}

function tracked(): { known: InodeAttr; changes: () => number } {
  let changes = 0;
  return { known: new InodeAttr(attr(10), () => { changes++; }), changes: () => changes };
}

describe('InodeAttr', () => {
  test('a lone operation keeps its result and reports the change once', async () => {
    const { known, changes } = tracked();
    assert.equal((await known.track(async () => attr(20))).length, 20);
    assert.equal(known.current.length, 20);
    assert.equal(known.stale, false);
    assert.equal(changes(), 1);
    await known.track(async () => attr(30), false);
    assert.equal(known.current.length, 30, 'kept');
    assert.equal(changes(), 1, 'the caller handles the maps');
  });

  for (const order of ['newer first', 'older first'] as const) {
    test(`overlapping operations, ${order}: nothing is kept, the attributes are stale until asked again`, async () => {
      const { known } = tracked();
      const older = later<Attr>();
      const newer = later<Attr>();
      const a = known.track(() => older.promise);
      const b = known.track(() => newer.promise);
      if (order === 'newer first') { newer.resolve(attr(300)); await b; older.resolve(attr(200)); await a; } else { older.resolve(attr(200)); await a; newer.resolve(attr(300)); await b; }
      assert.equal(known.stale, true);
      assert.notEqual(known.current.length, 200, 'never the older result last');
      const fresh = await known.fresh(async () => attr(300));
      assert.equal(fresh.length, 300);
      assert.equal(known.current.length, 300);
      assert.equal(known.stale, false);
      assert.equal(await known.fresh(async () => assert.fail('not stale: no trip')), known.current);
    });
  }

  test('an overlapped operation still returns its own result to its caller', async () => {
    const { known } = tracked();
    const slow = later<Attr>();
    const a = known.track(() => slow.promise);
    assert.equal((await known.track(async () => attr(50))).length, 50);
    slow.resolve(attr(40));
    assert.equal((await a).length, 40);
    assert.equal(known.stale, true);
  });

  test('observations only compare: equal changes nothing, different marks stale and drops the maps', () => {
    const { known, changes } = tracked();
    known.observe(attr(10));
    assert.equal(known.stale, false);
    assert.equal(changes(), 0);
    known.observe(attr(5));
    assert.equal(known.stale, true);
    assert.equal(known.current.length, 10, 'not kept');
    assert.equal(changes(), 1);
  });

  test('a change announced during a refresh keeps the attributes stale', async () => {
    const { known } = tracked();
    known.markStale();
    const reading = later<Attr>();
    const refresh = known.fresh(() => reading.promise);
    known.markStale(); // another host's notice arrives while the refresh is in flight
    reading.resolve(attr(10));
    await refresh;
    assert.equal(known.stale, true);
  });

  test('a failed refresh leaves the attributes stale', async () => {
    const { known } = tracked();
    known.markStale();
    await assert.rejects(known.fresh(async () => { throw new Error('gone'); }), /gone/);
    assert.equal(known.stale, true);
  });
});
