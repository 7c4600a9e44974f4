/** The one mount check (src/fuse/mount-table.ts) against this machine's /proc/mounts. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isMounted, mountsAt } from '../../../src/fuse/mount-table.js';

test('mountsAt and isMounted read /proc/mounts: by type, any type, and no match', () => {
  assert.ok(mountsAt('/proc').some((m) => m.type === 'proc'), '/proc is procfs');
  assert.equal(isMounted('/proc', 'proc'), true);
  assert.equal(isMounted('/proc', 'any'), true);
  assert.equal(isMounted('/proc'), false, 'not an ObjectFS mount');
  assert.equal(isMounted('/proc/../proc', 'proc'), true, 'the path is resolved first');
  assert.deepEqual(mountsAt('/no such dir/here'), [], 'a path with a space is escaped, and matches nothing');
});
