/**
 * `objectfs mount --writeback` through real mounts (PostgreSQL, a private S3 server the test
 * stops and starts, two mounts A and B of one volume with their own cache directories):
 * - B reading a file that A staged and still uploads (slowly, --upload-limit) waits and gets it;
 * - with S3 gone, closes on A succeed, A reads its files back, status shows A's backlog; when S3
 *   returns the backlog drains and fsck calls the volume healthy;
 * - fsync on A does not return while S3 is gone, and returns with the blocks in S3;
 * - A killed with -9 holding a backlog: remounted on the same cache directory it uploads the
 *   leftovers, and B reads every acknowledged file byte for byte; before that, fsck lists each
 *   staged file by path;
 * - the same with S3 still away: `mount --background` fails after the stall bound with the
 *   reason, nothing mounted and the backlog kept; with S3 back it mounts and every file reads.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isMounted } from '../../src/fuse/index.js';
import { listAll, openObjectStore } from '../../src/object/index.js';
import { killAll, startDaemon, timeout, waitFor, OBJECTFS_BIN, type Daemon } from '../support/e2e-daemon.js';
import { bash, ok, run, sha256File } from '../support/e2e-sh.js';
import { freshPgDatabase, type FreshDatabase } from '../support/pg.js';
import { startPrivateS3, type PrivateS3 } from '../support/private-s3.js';

let s3: PrivateS3;
let db: FreshDatabase;
let dir: string;
let env: NodeJS.ProcessEnv;
const PREFIX = 'wb';

before(async () => {
  s3 = await startPrivateS3();
  db = await freshPgDatabase('writeback_e2e');
  dir = await mkdtemp(join(tmpdir(), 'writeback-'));
  env = { OBJECTFS_RUNTIME_DIR: join(dir, 'run') };
  await ok(process.execPath, [OBJECTFS_BIN, 'format', db.url, 'wb', '--storage', s3.storageUrl(PREFIX), '--block-size', '1M']);
});

after(async () => {
  await killAll();
  await s3?.cleanup();
  await db?.drop().catch(() => undefined);
  await rm(dir, { recursive: true, force: true });
});

function cli(args: readonly string[]) {
  return run(process.execPath, [OBJECTFS_BIN, ...args], { env, timeoutMs: 300_000 });
}

async function stop(d: Daemon): Promise<void> {
  process.kill(d.pid, 'SIGTERM');
  await d.exited;
}

/** Block objects in the S3 server right now. */
async function blockObjects(): Promise<number> {
  const store = await openObjectStore(s3.storageUrl(PREFIX), { maxAttempts: 2 });
  try {
    let n = 0;
    for await (const o of listAll(store)) if (o.key.includes('/chunks/')) n++; // under the volume's name
    return n;
  } finally {
    await store.close();
  }
}

async function statusText(): Promise<string> {
  const r = await cli(['status', db.url]);
  assert.equal(r.code, 0, r.stderr);
  return r.stdout;
}

async function fsckHealthy(): Promise<void> {
  const r = await cli(['fsck', db.url, '--json', '--no-progress']);
  const report = JSON.parse(r.stdout) as { healthy: boolean; problems: unknown };
  assert.equal(report.healthy, true, `fsck: ${JSON.stringify(report.problems)}`);
  assert.equal(r.code, 0, r.stderr);
}

describe('write-back mounts', () => {
  let a: Daemon;
  let b: Daemon;
  const mntA = () => join(dir, 'a');
  const mntB = () => join(dir, 'b');
  const cacheA = () => join(dir, 'cache-a');

  before(async () => {
    // Slow enough that the upload outlasts the status command run before B reads, even on a
    // loaded machine (at 1M the upload was nearly done by then once: B waited under 1 s).
    a = await startDaemon(db.url, mntA(), cacheA(), ['--writeback', '--upload-limit', '256K'], env);
    b = await startDaemon(db.url, mntB(), join(dir, 'cache-b'), [], env);
  });

  test('another mount reading a file still being uploaded waits for it and reads it whole', async () => {
    await bash('head -c 2000000 /dev/urandom > slow', mntA());
    const sum = await sha256File(join(mntA(), 'slow'));
    assert.match(await statusText(), /staged \(write-back, not uploaded yet\): 1 slice/, 'close returned before the upload');
    const started = Date.now();
    assert.equal(await sha256File(join(mntB(), 'slow')), sum);
    assert.ok(Date.now() - started > 1000, 'B waited for the upload (256 KiB/s for 2 MB: over 6 s)');
  });

  test('with S3 gone: closes succeed, this mount reads its files, status shows the backlog; it drains when S3 returns', async () => {
    // The mounts started before: restart A without the rate limit.
    await stop(a);
    a = await startDaemon(db.url, mntA(), cacheA(), ['--writeback'], env);
    await s3.kill();
    await bash('mkdir down && for i in $(seq 1 20); do head -c $((i * 50000)) /dev/urandom > down/f$i; done', mntA());
    const sums = await Promise.all(Array.from({ length: 20 }, (_, i) => sha256File(join(mntA(), 'down', `f${i + 1}`))));
    assert.match(await statusText(), /staged \(write-back, not uploaded yet\): 20 slice/);
    await s3.start();
    assert.ok(await waitFor(async () => !/staged \(write-back/.test(await statusText()), 60_000), 'the backlog drains');
    for (let i = 0; i < 20; i++) assert.equal(await sha256File(join(mntB(), 'down', `f${i + 1}`)), sums[i]);
    await fsckHealthy();
  });

  test('fsync does not return while S3 is gone, and returns with the blocks in S3', async () => {
    const before = await blockObjects();
    assert.ok(before > 0, 'the earlier tests\' blocks are counted');
    await s3.kill();
    const writer = spawn('python3', ['-c', [
      'import os',
      "fd = os.open('synced', os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)",
      'os.write(fd, os.urandom(3 * 1024 * 1024))',
      'os.fsync(fd)',
      'os.close(fd)',
    ].join('\n')], { cwd: mntA(), stdio: 'ignore' });
    const exited = new Promise<number | null>((resolve) => writer.once('exit', (code) => resolve(code)));
    assert.equal(await Promise.race([exited, timeout(3000, 'running')]), 'running', 'fsync waits for S3');
    await s3.start();
    assert.equal(await exited, 0);
    assert.equal(await blockObjects(), before + 3, 'the three blocks were in S3 when fsync returned');
  });

  test('kill -9 with a backlog: the next mount on the same cache directory uploads it; B reads every file', async () => {
    await s3.kill();
    await bash('mkdir crash && for i in $(seq 1 30); do head -c $((i * 40000 + 7)) /dev/urandom > crash/c$i; done', mntA());
    const sums = await Promise.all(Array.from({ length: 30 }, (_, i) => sha256File(join(mntA(), 'crash', `c${i + 1}`))));
    process.kill(a.pid, 'SIGKILL');
    await a.exited;
    await s3.start();
    assert.match(await statusText(), /staged \(write-back, not uploaded yet\): 30 slice/, 'status shows the dead mount\'s backlog');
    const fsck = await cli(['fsck', db.url, '--json', '--no-progress']);
    assert.equal(fsck.code, 1, 'the backlog is data on one host only: not healthy');
    const problems = (JSON.parse(fsck.stdout) as { problems: { kind: string; path?: string; detail: string }[] }).problems;
    assert.deepEqual(problems.filter((p) => p.kind === 'staged-block').map((p) => p.path).sort(),
      Array.from({ length: 30 }, (_, i) => `/crash/c${i + 1}`).sort(), 'fsck lists every staged file by path');
    assert.deepEqual(problems.filter((p) => p.kind !== 'staged-block'), []);
    a = await startDaemon(db.url, mntA(), cacheA(), ['--writeback'], env);
    assert.doesNotMatch(await statusText(), /staged \(write-back/, 'the leftovers were uploaded before the mount served');
    for (let i = 0; i < 30; i++) assert.equal(await sha256File(join(mntB(), 'crash', `c${i + 1}`)), sums[i], `c${i + 1}`);
    await stop(a);
    await stop(b);
    await fsckHealthy();
  });

  test('kill -9 with a backlog and S3 still away: mount --background fails after the stall with the reason and keeps the backlog; with S3 back it mounts', async () => {
    a = await startDaemon(db.url, mntA(), cacheA(), ['--writeback'], env);
    await s3.kill();
    await bash('mkdir stall && for i in $(seq 1 5); do head -c $((i * 30000 + 3)) /dev/urandom > stall/s$i; done', mntA());
    const sums = await Promise.all(Array.from({ length: 5 }, (_, i) => sha256File(join(mntA(), 'stall', `s${i + 1}`))));
    process.kill(a.pid, 'SIGKILL');
    await a.exited;
    const mountArgs = ['mount', db.url, mntA(), '--background', '--cache-dir', cacheA(), '--writeback', '--no-metrics', '--log', join(dir, 'stall.log')];
    const started = Date.now();
    const failed = await cli(mountArgs);
    assert.equal(failed.code, 1, `the background mount fails: ${failed.stdout} ${failed.stderr}`);
    assert.match(failed.stderr, /5 of 5 block\(s\) staged by an earlier run could not be uploaded/, 'with the reason');
    assert.ok(Date.now() - started >= 60_000, 'after trying for the stall bound (60 s)');
    assert.equal(isMounted(mntA()), false, 'nothing is mounted');
    assert.deepEqual((await readdir(env['OBJECTFS_RUNTIME_DIR'] as string)).filter((f) => f.endsWith('.recovering')), [], 'the failed daemon left no progress record');
    await s3.start();
    const mounted = await cli(mountArgs);
    assert.equal(mounted.code, 0, mounted.stderr);
    assert.doesNotMatch(await statusText(), /staged \(write-back/, 'the leftovers were uploaded before the mount served');
    for (let i = 0; i < 5; i++) assert.equal(await sha256File(join(mntA(), 'stall', `s${i + 1}`)), sums[i], `s${i + 1}`);
    assert.deepEqual((await readdir(env['OBJECTFS_RUNTIME_DIR'] as string)).filter((f) => f.endsWith('.recovering')), [], 'no progress record is left');
    const u = await cli(['umount', mntA()]);
    assert.equal(u.code, 0, u.stderr);
    await fsckHealthy();
  });
});
