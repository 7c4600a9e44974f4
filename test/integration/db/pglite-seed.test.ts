/**
 * New embedded databases are copies of a pristine PGlite data directory kept in the user's cache
 * (decision 106): two made at once, in a cache holding what a killed maker left, are copies of one
 * pristine directory and independent databases that keep what is written; a directory that holds
 * anything else is never touched; a copy that fails part-way is removed; without a usable cache a
 * new database is PGlite's own initdb.
 */
import { after, before, test } from 'node:test';
import { execFileSync } from 'node:child_process';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { openDatabase } from '../../../src/db/index.js';
import { seedCacheRoot, seedDataDir } from '../../../src/db/pglite-seed.js';

let root: string;

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'pglite-seed-'));
});

after(async () => {
  await rm(root, { recursive: true, force: true });
});

/** PostgreSQL's system identifier: initdb draws a new one, a copy keeps it. */
async function systemIdOf(dir: string, write?: string): Promise<string> {
  const { db, close } = await openDatabase(`pglite://${dir}`);
  try {
    if (write !== undefined) await sql`CREATE TABLE seeded_note AS SELECT ${write}::text AS note`.execute(db);
    const r = await sql<{ id: string }>`SELECT system_identifier::text AS id FROM pg_control_system()`.execute(db);
    return r.rows[0]!.id;
  } finally {
    await close();
  }
}

async function noteOf(dir: string): Promise<string | undefined> {
  const { db, close } = await openDatabase(`pglite://${dir}`);
  try {
    const r = await sql<{ note: string }>`SELECT note FROM seeded_note`.execute(db).catch(() => undefined);
    return r?.rows[0]?.note;
  } finally {
    await close();
  }
}

test('the cache is $XDG_CACHE_HOME/objectfs, else ~/.cache/objectfs; relative or missing ones are not used', () => {
  assert.equal(seedCacheRoot({ XDG_CACHE_HOME: '/x/cache', HOME: '/home/u' }), '/x/cache/objectfs');
  assert.equal(seedCacheRoot({ XDG_CACHE_HOME: 'rel', HOME: '/home/u' }), '/home/u/.cache/objectfs');
  assert.equal(seedCacheRoot({ HOME: 'rel' }), undefined);
  assert.equal(seedCacheRoot({}), undefined);
});

test('two databases made at once, beside what a killed maker left: both copies of one pristine directory, each its own database', async () => {
  const env = { XDG_CACHE_HOME: join(root, 'cache') };
  const [a, b] = [join(root, 'a'), join(root, 'b')];
  await Promise.all([mkdir(a), mkdir(b)]);
  // What a process killed while making one leaves behind.
  await mkdir(join(root, 'cache', 'objectfs', 'pglite-0.0.1-initdb.4242.tmp', 'base'), { recursive: true });
  assert.deepEqual(await Promise.all([seedDataDir(a, env), seedDataDir(b, env)]), [true, true]);
  const kept = await readdir(join(root, 'cache', 'objectfs'));
  assert.equal(kept.length, 1, `one pristine directory; nothing half-made, left over or locked: ${kept.join(', ')}`);
  assert.match(kept[0]!, /^pglite-[0-9][^/]*-initdb$/);
  const pristineId = await systemIdOf(join(root, 'cache', 'objectfs', kept[0]!));
  assert.equal(await systemIdOf(a, 'written in a'), pristineId, 'a is a copy');
  assert.equal(await systemIdOf(b), pristineId, 'b is a copy');
  assert.equal(await noteOf(a), 'written in a', 'what a keeps survives a reopen');
  assert.equal(await noteOf(b), undefined, 'b does not see what a keeps');
  assert.equal(await noteOf(join(root, 'cache', 'objectfs', kept[0]!)), undefined, 'the pristine directory stays pristine');
});

test('a directory holding anything else is left as it was', async () => {
  const env = { XDG_CACHE_HOME: join(root, 'cache') };
  const dir = join(root, 'busy');
  await mkdir(dir);
  await writeFile(join(dir, 'notes.txt'), 'mine');
  assert.equal(await seedDataDir(dir, env), false);
  assert.deepEqual(await readdir(dir), ['notes.txt']);
});

test('without a usable cache nothing is copied, and a new database is PGlite\'s own initdb', async () => {
  const dir = join(root, 'uncached');
  await mkdir(dir);
  const blocker = join(root, 'a-file');
  await writeFile(blocker, '');
  assert.equal(await seedDataDir(dir, {}), false, 'no cache directory named');
  assert.equal(await seedDataDir(dir, { XDG_CACHE_HOME: join(blocker, 'cache') }), false, 'one that cannot be made');
  assert.deepEqual(await readdir(dir), [], 'the directory is untouched');
  const saved = process.env['XDG_CACHE_HOME'];
  process.env['XDG_CACHE_HOME'] = join(blocker, 'cache');
  try {
    const made = await openDatabase(`pglite://${dir}`, { create: true });
    await made.close();
  } finally {
    if (saved === undefined) delete process.env['XDG_CACHE_HOME'];
    else process.env['XDG_CACHE_HOME'] = saved;
  }
  const pristine = (await readdir(join(root, 'cache', 'objectfs')))[0]!;
  assert.notEqual(await systemIdOf(dir), await systemIdOf(join(root, 'cache', 'objectfs', pristine)), 'its own initdb');
});

test('a copy that fails part-way is removed, and the directory is left as it was', async () => {
  // A 1 MiB filesystem under the new directory: the 39 MB copy runs out of space part-way.
  const small = join(root, 'small');
  await mkdir(small);
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'objectfs-seed-test', small]);
  try {
    const dir = join(small, 'db');
    await mkdir(dir);
    await writeFile(join(dir, 'objectfs.lock'), `${process.pid}\n`);
    assert.equal(await seedDataDir(dir, { XDG_CACHE_HOME: join(root, 'cache') }), false);
    assert.deepEqual(await readdir(dir), ['objectfs.lock'], 'only the lock file is left');
  } finally {
    execFileSync('umount', [small]);
  }
});

