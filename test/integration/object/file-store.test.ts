/**
 * FileStore (and PrefixedStore over it) against the conformance suite, plus what only a local
 * directory can show: crash leftovers, key validation, the on-disk layout.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileStore, ObjectStoreError, PrefixedStore, listAll } from '../../../src/object/index.js';
import { objectStoreSuite } from './object-store-suite.js';

async function tempDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'objectfs-file-store-'));
}

objectStoreSuite('FileStore', async () => {
  const dir = await tempDir();
  const store = new FileStore(join(dir, 'root')); // root not created yet: the store must cope
  return { store, cleanup: async () => { await store.close(); await rm(dir, { recursive: true, force: true }); } };
});

objectStoreSuite('PrefixedStore over FileStore', async () => {
  const dir = await tempDir();
  const inner = new FileStore(dir);
  await inner.put('other/outside', Buffer.from('not ours')); // must never show through the prefix
  const store = new PrefixedStore(inner, 'vol/');
  return { store, cleanup: async () => { await store.close(); await rm(dir, { recursive: true, force: true }); } };
});

describe('FileStore on disk', () => {
  test('a crashed put (leftover .tmp- file) never shows in list and does not replace the object', async () => {
    const dir = await tempDir();
    try {
      const store = new FileStore(dir);
      await store.put('a/b', Buffer.from('real'));
      await writeFile(join(dir, 'a', 'b.tmp-0123456789ab'), 'partial');
      await writeFile(join(dir, 'c.tmp-aaaaaaaaaaaa'), 'partial');
      const keys: string[] = [];
      for await (const o of listAll(store)) keys.push(o.key);
      assert.deepEqual(keys, ['a/b']);
      assert.deepEqual(await store.get('a/b'), Buffer.from('real'));
      await assert.rejects(store.head('a/b.tmp-0123456789ab'), TypeError);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('put leaves no temp file behind and lays keys out as paths', async () => {
    const dir = await tempDir();
    try {
      const store = new FileStore(dir);
      await store.put('vol/chunks/0/0/17_0_4096', Buffer.alloc(4096, 7));
      await store.put('vol/chunks/0/0/17_0_4096', Buffer.alloc(4096, 7));
      assert.deepEqual(await readdir(join(dir, 'vol', 'chunks', '0', '0')), ['17_0_4096']);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('keys that could escape the root or look like temp files are rejected', async () => {
    const dir = await tempDir();
    try {
      const store = new FileStore(join(dir, 'root'));
      for (const key of ['', '/abs', '../x', 'a/../../x', 'a//b', 'a/./b', 'trailing/', 'x.tmp-0123456789ab', 'nul\0']) {
        await assert.rejects(store.put(key, Buffer.from('x')), TypeError, JSON.stringify(key));
      }
      assert.deepEqual(await readdir(dir), []);
      // A prefix with ".." must not walk outside the root either.
      await writeFile(join(dir, 'secret'), 'x');
      assert.deepEqual((await store.list({ prefix: '../' })).objects, []);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('a key used as the directory of another key is a clear ObjectStoreError', async () => {
    const dir = await tempDir();
    try {
      const store = new FileStore(dir);
      await store.put('a', Buffer.from('file'));
      await assert.rejects(store.put('a/b', Buffer.from('x')), (err: unknown) =>
        err instanceof ObjectStoreError && /collides/.test(err.message));
      await mkdir(join(dir, 'd', 'e'), { recursive: true });
      assert.equal(await store.head('d'), undefined);
      await store.delete('d'); // a directory is not an object: nothing to delete, no error
      await assert.rejects(store.put('d', Buffer.from('x')), ObjectStoreError);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('describe() is a file:// URL of the root', () => {
    assert.equal(new FileStore('/var/lib/objectfs/blocks').describe(), 'file:///var/lib/objectfs/blocks/');
  });
});
