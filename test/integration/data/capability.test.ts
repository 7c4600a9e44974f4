/**
 * The kernel asks for security.capability before every write(2); the vfs answers "none" from
 * memory for a moment instead of asking the database each time, and from the start for a file
 * it has just created. Any change of the attribute, on this host or another, must still show.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { constants } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { FsError } from '../../../src/errors.js';
import { ROOT_INO, type MetaEngine } from '../../../src/meta/index.js';
import { Vfs } from '../../../src/vfs/index.js';
import { NO_CAPABILITY_MS } from '../../../src/vfs/no-capability.js';
import { freshDataVolume, KiB, ROOT_CALLER } from '../../support/data-volume.js';

const CAP = Buffer.from('security.capability');
const VALUE = Buffer.from([1, 0, 0, 2, 0x20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);

async function capability(vfs: Vfs, ino: number): Promise<Buffer | 'none'> {
  try {
    return await vfs.getxattr(ROOT_CALLER, ino, CAP);
  } catch (err) {
    if (err instanceof FsError && err.code === 'ENODATA') return 'none';
    throw err;
  }
}

/** `meta` counting its getxattr calls. */
function counting(meta: MetaEngine): { meta: MetaEngine; calls: () => number } {
  let calls = 0;
  const proxy = new Proxy(meta, {
    get(target, key) {
      const value = Reflect.get(target, key, target) as unknown;
      if (key === 'getxattr') return (...args: Parameters<MetaEngine['getxattr']>) => { calls++; return target.getxattr(...args); };
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
  return { meta: proxy, calls: () => calls };
}

test('"no security.capability" is answered from memory, and a change here or on another host shows', async () => {
  const dv = await freshDataVolume('capability', { meta: 'postgres', data: 's3', blockSize: 64 * KiB });
  try {
    const a = await dv.open();
    const b = await dv.open();
    const { meta, calls } = counting(a.meta);
    const vfs = new Vfs(meta, a.chunks);
    const { fh, attr } = await vfs.create(ROOT_CALLER, ROOT_INO, Buffer.from('tool'), 0o755, constants.O_RDWR);
    assert.equal(await capability(vfs, attr.ino), 'none');
    for (let i = 0; i < 20; i++) {
      await vfs.write(fh, i * 100, Buffer.alloc(100, i));
      assert.equal(await capability(vfs, attr.ino), 'none');
    }
    assert.equal(calls(), 0, 'a file just created has no xattrs: no database read for its 21 questions');
    const { fh: other, attr: old } = await vfs.create(ROOT_CALLER, ROOT_INO, Buffer.from('older'), 0o644, constants.O_RDWR);
    await vfs.release(other);
    const reader = new Vfs(meta, a.chunks); // knows nothing of the create
    for (let i = 0; i < 5; i++) assert.equal(await capability(reader, old.ino), 'none');
    assert.equal(calls(), 1, 'one database read for 5 questions within the moment');

    await vfs.setxattr(ROOT_CALLER, attr.ino, CAP, VALUE);
    assert.deepEqual(await capability(vfs, attr.ino), VALUE, 'a change here shows at once');
    await vfs.removexattr(ROOT_CALLER, attr.ino, CAP);
    assert.equal(await capability(vfs, attr.ino), 'none');

    // Another host sets it: the change notice (or at worst the moment's end) makes it show.
    await b.vfs.setxattr(ROOT_CALLER, attr.ino, CAP, VALUE);
    const deadline = Date.now() + NO_CAPABILITY_MS + 2000;
    let seen = await capability(vfs, attr.ino);
    while (seen === 'none' && Date.now() < deadline) {
      await sleep(20);
      seen = await capability(vfs, attr.ino);
    }
    assert.deepEqual(seen, VALUE, 'a change on another host shows');
    await vfs.release(fh);
  } finally {
    await dv.cleanup();
  }
});
