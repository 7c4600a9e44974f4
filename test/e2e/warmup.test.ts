/**
 * `objectfs warmup` (PostgreSQL + a private S3 server that the test stops): after warming a
 * file into a fresh cache, it reads back with the object store gone, from the running mount
 * and from a new mount over the same disk cache; a file that was not warmed cannot be read.
 * `objectfs info` shows the warmed objects in the disk cache. With `--prefetch-dir`, `ls -l` of
 * a directory on a mount with a fresh cache fetches its small files in the background; once
 * `objectfs info` shows them in the disk cache they read back with S3 stopped, while a file of
 * a directory never listed cannot be read, and a file of two blocks is not fetched.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
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

const FILES = 30;

test('--prefetch-dir: ls -l fetches the small files; they read back with S3 stopped', async (t) => {
  // After the warmup test, which stopped S3; a volume of its own.
  await s3.start();
  const pdb = await freshPgDatabase('prefetch_dir');
  t.after(() => pdb.drop().catch(() => undefined));
  const env = { OBJECTFS_RUNTIME_DIR: join(dir, 'run') };
  await ok(process.execPath, [OBJECTFS_BIN, 'format', pdb.url, 'pre', '--storage', s3.storageUrl('pre'), '--block-size', '1M']);
  const mnt = join(dir, 'mnt');
  const first = await startDaemon(pdb.url, mnt, join(dir, 'cache-pre-first'), ['--no-metrics'], env);
  await bash(`mkdir listed other && for i in $(seq 1 ${FILES}); do head -c $((i * 1000)) /dev/urandom > listed/f$i; done && head -c 2000000 /dev/urandom > listed/big && head -c 5000 /dev/urandom > other/g`, mnt);
  const sums = new Map<string, string>();
  for (let i = 1; i <= FILES; i++) sums.set(`f${i}`, await sha256File(join(mnt, 'listed', `f${i}`)));
  await stop(first);

  const second = await startDaemon(pdb.url, mnt, join(dir, 'cache-pre-second'), ['--no-metrics', '--prefetch-dir'], env);
  await ok('ls', ['-l', join(mnt, 'listed')]);
  const paths = [...sums.keys()].map((name) => join(mnt, 'listed', name));
  const deadline = Date.now() + 60_000;
  for (;;) {
    const info = await run(process.execPath, [OBJECTFS_BIN, 'info', '--json', ...paths, join(mnt, 'listed', 'big')], { env, timeoutMs: 60_000 });
    assert.equal(info.code, 0, info.stderr);
    const text = info.stdout;
    const cached = (text.match(/"cachedObjects":\s*1\b/g) ?? []).length;
    if (cached >= FILES) {
      assert.match(text, /"cachedObjects":\s*0\b/, 'the file of two blocks is not prefetched');
      break;
    }
    assert.ok(Date.now() < deadline, `after 60 s only ${cached} of ${FILES} files are in the disk cache:\n${text}`);
    await sleep(200);
  }

  await s3.kill();
  for (const [name, sum] of sums) assert.equal(await sha256File(join(mnt, 'listed', name)), sum, `${name} from the cache`);
  const cold = await run('cat', [join(mnt, 'other', 'g')], { timeoutMs: 120_000 });
  assert.notEqual(cold.code, 0, 'a file of a directory never listed was not fetched');
  await stop(second);
});
