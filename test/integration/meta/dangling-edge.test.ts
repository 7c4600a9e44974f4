/**
 * An entry whose inode row is missing (damage fsck reports) makes unlink and rename fail with
 * EIO at once, not rerun until the retry budget is spent: their single statements find nothing
 * to lock, and the error path tells a race from an edge to nothing. PostgreSQL only: the damage
 * is made with plain SQL from a second connection, which PGlite's one process does not allow.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { FsError } from '../../../src/errors.js';
import { ROOT_INO } from '../../../src/meta/index.js';
import { freshMeta, type FreshMeta } from '../../support/meta.js';

const CALLER = { uid: 0, gid: 0 };
let vol: FreshMeta;

before(async () => {
  vol = await freshMeta('postgres', 'dangling-edge');
});

after(async () => {
  await vol?.cleanup();
});

/** Creates `name` in the root and deletes its inode row behind the engine's back. */
async function dangling(name: string): Promise<Buffer> {
  const f = await vol.engine.mknod(CALLER, ROOT_INO, Buffer.from(name), 'file', 0o644);
  const client = new pg.Client({ connectionString: vol.url });
  await client.connect();
  try {
    await client.query('DELETE FROM node WHERE inode = $1', [f.ino]);
  } finally {
    await client.end();
  }
  return Buffer.from(name);
}

async function errnoOf(op: () => Promise<unknown>): Promise<string> {
  const started = Date.now();
  try {
    await op();
    return 'ok';
  } catch (err) {
    assert.ok(Date.now() - started < 5_000, `failed after ${Date.now() - started} ms: at once, not after retries`);
    return err instanceof FsError ? err.code : String(err);
  }
}

test('unlink of an entry whose inode is gone: EIO at once', async () => {
  const name = await dangling('u');
  assert.equal(await errnoOf(() => vol.engine.unlink(ROOT_INO, name)), 'EIO');
});

test('rename of an entry whose inode is gone, and over one: EIO at once', async () => {
  const name = await dangling('r');
  assert.equal(await errnoOf(() => vol.engine.rename(ROOT_INO, name, ROOT_INO, Buffer.from('r2'))), 'EIO');
  const target = await dangling('t');
  await vol.engine.mknod(CALLER, ROOT_INO, Buffer.from('s'), 'file', 0o644);
  assert.equal(await errnoOf(() => vol.engine.rename(ROOT_INO, Buffer.from('s'), ROOT_INO, target)), 'EIO');
});
