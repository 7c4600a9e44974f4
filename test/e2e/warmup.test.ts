/**
 * `objectfs warmup` (PostgreSQL + a private S3 server that the test stops): after warming a
 * file into a fresh cache, it reads back with the object store gone, from the running mount
 * and from a new mount over the same disk cache; a file that was not warmed cannot be read.
 * `objectfs info` shows the warmed objects in the disk cache.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { killAll, startDaemon, OBJECTFS_BIN, type Daemon } from '../support/e2e-daemon.js';
import { bash, ok, run, sha256File } from '../support/e2e-sh.js';
import { freshPgDatabase, type FreshDatabase } from '../support/pg.js';
import { startPrivateS3, type PrivateS3 } from '../support/private-s3.js';

let s3: PrivateS3;
let db: FreshDatabase;
let dir: string;

before(async () => {
  s3 = await startPrivateS3();
  db = await freshPgDatabase('warmup');
  dir = await mkdtemp(join(tmpdir(), 'warmup-'));
});

after(async () => {
  await killAll();
  await s3?.cleanup();
  await db?.drop().catch(() => undefined);
  await rm(dir, { recursive: true, force: true });
});

async function stop(d: Daemon): Promise<void> {
  process.kill(d.pid, 'SIGTERM');
  await d.exited;
}

test('warmup fills the cache: the file reads back with S3 stopped, from this mount and the next', async () => {
  const env = { OBJECTFS_RUNTIME_DIR: join(dir, 'run') };
  const cli = (args: readonly string[]) => run(process.execPath, [OBJECTFS_BIN, ...args], { env, timeoutMs: 120_000 });
  await ok(process.execPath, [OBJECTFS_BIN, 'format', db.url, 'warm', '--storage', s3.storageUrl('warm'), '--block-size', '1M']);
  const mnt = join(dir, 'mnt');
  const first = await startDaemon(db.url, mnt, join(dir, 'cache-first'), ['--no-metrics'], env);
  await bash('head -c 3000000 /dev/urandom > warm && head -c 3000000 /dev/urandom > cold', mnt);
  const sum = await sha256File(join(mnt, 'warm'));
  await stop(first);

  // A fresh disk cache: nothing of either file is cached on this "host".
  const cache = join(dir, 'cache-second');
  const second = await startDaemon(db.url, mnt, cache, ['--no-metrics'], env);
  const warm = await cli(['warmup', join(mnt, 'warm')]);
  assert.equal(warm.code, 0, warm.stderr);
  assert.match(warm.stderr, /warmup: files: 1\/1 2\.9 MiB /);
  const info = await cli(['info', join(mnt, 'warm')]);
  assert.equal(info.code, 0, info.stderr);
  assert.match(info.stdout, /objects: +3 \(3 in this host's disk cache\)/);

  await s3.kill();
  assert.equal(await sha256File(join(mnt, 'warm')), sum, 'read from the running mount\'s cache');
  const cold = await run('cat', [join(mnt, 'cold')], { timeoutMs: 120_000 });
  assert.notEqual(cold.code, 0, 'a file that was not warmed cannot be read without S3');
  await stop(second);

  const third = await startDaemon(db.url, mnt, cache, ['--no-metrics'], env);
  assert.equal(await sha256File(join(mnt, 'warm')), sum, 'read from the disk cache by a new mount');
  await stop(third);
});
