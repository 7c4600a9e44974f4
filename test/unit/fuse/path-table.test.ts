/**
 * PathTable's cache of resolved paths (pure logic: the vfs is a stand-in whose lookups the test
 * answers when it chooses). A lookup that began before a removal and answers after it must not
 * bring the removed name back into the table.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Attr } from '../../../src/meta/index.js';
import { PathTable } from '../../../src/fuse/paths.js';
import type { Vfs } from '../../../src/vfs/index.js';

function fileAttr(ino: number): Attr {
  return { ino, type: 'file', mode: 0o644, uid: 0, gid: 0, nlink: 1, length: 0, rdev: 0, atime: 0n, mtime: 0n, ctime: 0n, parent: 1 };
}

/** A vfs whose lookups wait until the test answers them, counting how many were asked. */
function slowVfs(): { vfs: Vfs; pending: Array<(ino: number) => void>; lookups: () => number } {
  const pending: Array<(ino: number) => void> = [];
  let lookups = 0;
  const vfs = {
    lookup: () => {
      lookups++;
      return new Promise<Attr>((resolve) => pending.push((ino) => resolve(fileAttr(ino))));
    },
    withLocalWrites: (attr: Attr) => attr,
    isOpen: () => false,
  } as unknown as Vfs;
  return { vfs, pending, lookups: () => lookups };
}

/** Lets pending promise callbacks run. */
const settle = () => new Promise((resolve) => setImmediate(resolve));

describe('PathTable', () => {
  test('a resolved path is remembered for the entry timeout', async () => {
    const { vfs, pending, lookups } = slowVfs();
    const paths = new PathTable(vfs, 60_000);
    const first = paths.resolve('/a');
    await settle();
    pending.shift()?.(5);
    assert.equal(await first, 5);
    assert.equal(await paths.resolve('/a'), 5);
    assert.equal(lookups(), 1);
  });

  for (const removal of ['forget', 'forgetInodes', 'forgetAll'] as const) {
    test(`a lookup answering after a ${removal} is not remembered`, async () => {
      const { vfs, pending, lookups } = slowVfs();
      const paths = new PathTable(vfs, 60_000);
      const racing = paths.resolve('/a');
      await settle();
      if (removal === 'forget') paths.forget('/a');
      else if (removal === 'forgetInodes') paths.forgetInodes(new Set([5]));
      else paths.forgetAll();
      pending.shift()?.(5); // found before the removal was applied
      assert.equal(await racing, 5);
      const again = paths.resolve('/a');
      await settle();
      assert.equal(lookups(), 2, 'asked again');
      pending.shift()?.(9);
      assert.equal(await again, 9);
    });
  }

  test('a listing begun before a removal does not remember its entries', async () => {
    const { vfs, pending, lookups } = slowVfs();
    const paths = new PathTable(vfs, 60_000);
    const since = paths.epoch;
    paths.forget('/d/x');
    paths.remember('/d/x', 5, since);
    const later = paths.epoch;
    paths.remember('/d/y', 6, later);
    assert.equal(await paths.resolve('/d/y'), 6, 'remembered: nothing was forgotten since');
    const x = paths.resolve('/d/x');
    await settle();
    pending.shift()?.(1); // /d
    await settle();
    pending.shift()?.(7); // /d/x
    assert.equal(await x, 7);
    assert.equal(lookups(), 2);
  });
});
