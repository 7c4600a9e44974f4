/**
 * Enforced quotas through real mounts (PostgreSQL, file data): `dd` past a directory quota
 * fails "Disk quota exceeded" keeping what it wrote before, `touch` past its inode limit too,
 * `df` (statfs) of a `--subdir` mount of the directory and of the directory inside the full
 * mount show the quota, a move into the tree that would exceed it is refused, and after it all
 * `objectfs fsck` and `objectfs quota check` are clean.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, stat, statfs } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { startMount, type TestMount } from '../support/mounted.js';
import { killAll, startDaemon, OBJECTFS_BIN, type Daemon } from '../support/e2e-daemon.js';
import { bash, run } from '../support/e2e-sh.js';

const MiB = 1024 * 1024;

function cli(args: readonly string[]) {
  return run(process.execPath, [OBJECTFS_BIN, ...args], { timeoutMs: 120_000 });
}

describe('quotas through a mount (PostgreSQL)', () => {
  let vol: TestMount;
  let sub: Daemon | undefined;

  before(async () => {
    vol = await startMount('quota', { meta: 'postgres', data: 'file' });
    await mkdir(join(vol.mnt, 'proj'));
    await bash('mkdir outside && head -c 3000000 /dev/zero > outside/three-mb', vol.mnt);
    const set = await cli(['quota', 'set', vol.metaUrl, '--path', '/proj', '--capacity', '4M', '--inodes', '10']);
    assert.equal(set.code, 0, set.stderr);
    // A quota set elsewhere reaches a mount with its next quota snapshot: the first write
    // after a quiet second waits for one (docs/semantics.md).
    await sleep(1100);
  });

  after(async () => {
    await killAll();
    await vol?.cleanup();
  });

  test('dd past the capacity: "Disk quota exceeded", the bytes before it kept', async () => {
    const r = await run('dd', ['if=/dev/zero', `of=${join(vol.mnt, 'proj', 'big')}`, 'bs=1M', 'count=8'], { timeoutMs: 120_000 });
    assert.notEqual(r.code, 0, 'dd past the quota fails');
    assert.match(r.stderr, /Disk quota exceeded/);
    assert.equal((await stat(join(vol.mnt, 'proj', 'big'))).size, 4 * MiB, 'exactly the quota was written');
  });

  test('creates past the inode limit and a move that would exceed the capacity are refused', async () => {
    const r = await run('bash', ['-c', 'for i in $(seq 1 20); do touch proj/f$i || exit 1; done'], { cwd: vol.mnt });
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /Disk quota exceeded/);
    const names = (await bash('ls proj | wc -l', vol.mnt)).trim();
    assert.equal(names, '10', 'big plus nine files');
    await bash('rm proj/f9', vol.mnt);
    const mv = await run('mv', ['outside/three-mb', 'proj/'], { cwd: vol.mnt });
    assert.notEqual(mv.code, 0, 'the move is refused (mv then tries copying, which fails too)');
    assert.match(mv.stderr, /Disk quota exceeded/);
    assert.equal((await stat(join(vol.mnt, 'outside', 'three-mb'))).size, 3_000_000, 'the source is intact');
  });

  test('df of the directory and of a --subdir mount of it shows its quota', async () => {
    const inFull = await statfs(join(vol.mnt, 'proj'));
    assert.equal(inFull.blocks * inFull.bsize, 4 * MiB);
    assert.equal(inFull.files, 10);
    const whole = await statfs(vol.mnt);
    assert.ok(whole.blocks * whole.bsize > 4 * MiB, 'the volume root shows the volume');
    const mnt = join(vol.dir, 'sub');
    await mkdir(mnt);
    sub = await startDaemon(vol.metaUrl, mnt, join(vol.dir, 'cache-sub'), ['--subdir', '/proj']);
    const s = await statfs(mnt);
    assert.deepEqual({ bytes: s.blocks * s.bsize, files: s.files, freeFiles: s.ffree }, { bytes: 4 * MiB, files: 10, freeFiles: 1 });
    const df = await bash(`df -B1 --output=size,used ${mnt} | tail -1`, vol.dir);
    assert.match(df, new RegExp(`^\\s*${4 * MiB}\\s+${4 * MiB}\\s*$`), df);
    const dd = await run('dd', ['if=/dev/zero', `of=${mnt}/more`, 'bs=64k', 'count=1'], { timeoutMs: 60_000 });
    assert.match(dd.stderr, /Disk quota exceeded/, 'the sub-directory mount enforces it too');
  });

  test('after it all: fsck and quota check are clean', async () => {
    if (sub !== undefined) {
      sub.child.kill('SIGTERM');
      await sub.exited;
    }
    await vol.stop();
    const fsck = await cli(['fsck', vol.metaUrl]);
    assert.equal(fsck.code, 0, fsck.stdout + fsck.stderr);
    const check = await cli(['quota', 'check', vol.metaUrl, '--json']);
    assert.equal(check.code, 0, check.stdout + check.stderr);
    assert.equal((JSON.parse(check.stdout) as { consistent: boolean }).consistent, true);
  });
});
