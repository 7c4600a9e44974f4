/**
 * `objectfs mount --subdir PATH`: a directory of the volume as the root of a mount.
 *
 * On PostgreSQL, next to a mount of the whole volume (both with 10 s kernel caches, so what
 * shows within a few seconds came through the change feed's invalidations): the files show,
 * nothing above the directory does (`ls -la`, `..`, a symlink climbing out resolves on the
 * host), writes go both ways, hard links and renames out of the mount are EXDEV, the directory
 * renamed elsewhere keeps being served, removed its root fails ESTALE (as on NFS); a missing
 * directory, a file and a bad value fail before anything is mounted (exit 1, 1, 2), also through
 * `-o subdir=` with --background (fstab); status and info know the sub-directory.
 * On PGlite (the default engine, one process at a time): a sub-directory mount after the full
 * mount has stopped, and the two refusals.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { link, mkdir, readFile, readdir, readlink, rename, rmdir, stat, statfs, writeFile } from 'node:fs/promises';
import { constants } from 'node:os';
import { join } from 'node:path';
import { startMount, isMounted, type TestMount } from '../support/mounted.js';
import { killAll, startDaemon, timeout, waitFor, OBJECTFS_BIN, type Daemon } from '../support/e2e-daemon.js';
import { bash, run } from '../support/e2e-sh.js';

/** Long enough that anything seen sooner was pushed by an invalidation. */
const CACHES = ['--entry-timeout', '10', '--attr-timeout', '10', '--negative-timeout', '10'];
/** Well under the 10 s caches. */
const SOON_MS = 4000;

function cli(args: readonly string[], env: NodeJS.ProcessEnv = {}) {
  return run(process.execPath, [OBJECTFS_BIN, ...args], { env, timeoutMs: 120_000 });
}

/** 'ok' or the errno's name (libuv has no name for ESTALE: its code is "Unknown system error -116"). */
async function errnoOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'ok';
  } catch (e) {
    const errno = -((e as NodeJS.ErrnoException).errno ?? 0);
    return Object.entries(constants.errno).find(([, n]) => n === errno)?.[0] ?? (e as NodeJS.ErrnoException).code ?? 'unknown';
  }
}

async function stopDaemon(d: Daemon): Promise<void> {
  d.child.kill('SIGTERM');
  const how = await Promise.race([d.exited, timeout(30_000, 'still running after 30 s')]);
  assert.deepEqual(how, { code: 0, signal: null }, d.log());
  assert.equal(isMounted(d.mnt), false);
}

describe('sub-directory mounts next to a full mount (PostgreSQL)', () => {
  let vol: TestMount;
  let host: string;
  let sub: Daemon;
  let runtimeDir: string;
  let n = 0;
  const full = (p: string) => join(vol.mnt, p);
  // Not join(): it would resolve `..` here instead of in the kernel.
  const inSub = (p: string) => `${sub.mnt}/${p}`;
  const place = (label: string) => {
    n++;
    return { mnt: join(host, `${label}-${n}`), cache: join(vol.dir, `cache-${label}-${n}`) };
  };

  before(async () => {
    vol = await startMount('subdir', { meta: 'postgres', data: 'file', args: CACHES });
    // In the volume: /a/{x, file, b/{f1, c/{f2, l → ../../x}}}, /gone, /mv-me/keep.
    await bash(`mkdir -p a/b/c gone mv-me && printf 'volume x' > a/x && printf file > a/file && printf one > a/b/f1
      printf two > a/b/c/f2 && ln -s ../../x a/b/c/l && printf keep > mv-me/keep`, vol.mnt);
    // On the host, beside the sub-directory mount: what `..` of its root and the symlink reach.
    host = join(vol.dir, 'host');
    await mkdir(host);
    await writeFile(join(host, 'x'), 'host x');
    runtimeDir = join(vol.dir, 'run');
    const { mnt, cache } = place('sub');
    sub = await startDaemon(vol.metaUrl, mnt, cache, ['--subdir', '/a/b', ...CACHES], { OBJECTFS_RUNTIME_DIR: runtimeDir });
  });

  after(async () => {
    await killAll();
    await vol?.cleanup();
  });

  test('the directory\'s files show at the root and nothing above it does; .. of the root is the host directory', async () => {
    assert.deepEqual((await readdir(sub.mnt)).sort(), ['c', 'f1']);
    assert.equal(await readFile(inSub('f1'), 'utf8'), 'one');
    assert.equal(await readFile(inSub('c/f2'), 'utf8'), 'two');
    const ls = await bash('ls -la', sub.mnt);
    assert.match(ls, / \.\.\n/);
    assert.doesNotMatch(ls, / (x|file|b|a)\n/, ls);
    const [up, hostDir, root, viaFull] = await Promise.all([stat(`${sub.mnt}/..`), stat(host), stat(sub.mnt), stat(full('a/b'))]);
    assert.deepEqual([up.dev, up.ino], [hostDir.dev, hostDir.ino], 'stat of MNT/.. is the host directory holding the mount point');
    assert.equal(root.ino, viaFull.ino, 'the root shows the directory\'s own inode number');
    assert.deepEqual(await readdir(`${sub.mnt}/..`), (await readdir(host)), 'ls MNT/.. lists the host directory');
    assert.equal(await errnoOf(stat(`${sub.mnt}/../x`)), 'ok', 'the host\'s x, not the volume\'s /a/x');
    assert.equal(await readFile(`${sub.mnt}/../x`, 'utf8'), 'host x');
    // statfs shows the volume's figures (there are no directory quotas yet).
    const [s, f] = await Promise.all([statfs(sub.mnt), statfs(vol.mnt)]);
    assert.deepEqual([s.blocks, s.files, s.bsize], [f.blocks, f.files, f.bsize]);
    assert.match(await readFile(inSub('.stats'), 'utf8'), /objectfs_fuse_ops_total/, '.stats is at the mount root');
  });

  test('a symlink to ../../x resolves in the kernel, against the mount: on the host, not in the volume', async () => {
    assert.equal(await readlink(inSub('c/l')), '../../x');
    assert.equal(await readFile(inSub('c/l'), 'utf8'), 'host x');
    assert.equal(await readFile(full('a/b/c/l'), 'utf8'), 'volume x');
  });

  test('writes go both ways and reach cached names and attributes at once (the root included)', async () => {
    // Cache what is about to change: names (present and missing), attributes, the root's mtime.
    await Promise.all([stat(inSub('f1')), stat(full('a/b/f1')), readdir(sub.mnt), readdir(full('a/b'))]);
    assert.equal(await errnoOf(stat(full('a/b/from-sub'))), 'ENOENT');
    assert.equal(await errnoOf(stat(inSub('from-full'))), 'ENOENT');
    assert.equal(await errnoOf(stat(inSub('c/deep'))), 'ENOENT');
    const rootMtime = (await stat(sub.mnt)).mtimeMs;

    await writeFile(inSub('from-sub'), 'written in the sub-directory mount');
    assert.ok(await waitFor(async () => (await readFile(full('a/b/from-sub'), 'utf8').catch(() => '')) === 'written in the sub-directory mount', SOON_MS),
      'a file written through the sub-directory mount shows in the full mount');

    await writeFile(full('a/b/from-full'), 'written in the full mount');
    await writeFile(full('a/b/c/deep'), 'deeper');
    await writeFile(full('a/b/f1'), 'one, rewritten longer');
    const seen = await waitFor(async () => (await readFile(inSub('from-full'), 'utf8').catch(() => '')) === 'written in the full mount'
      && (await readFile(inSub('c/deep'), 'utf8').catch(() => '')) === 'deeper'
      && (await readFile(inSub('f1'), 'utf8').catch(() => '')) === 'one, rewritten longer', SOON_MS);
    assert.ok(seen, 'names in the root and below, and a changed file, show in the sub-directory mount');
    assert.ok(await waitFor(async () => (await stat(sub.mnt)).mtimeMs !== rootMtime, SOON_MS), 'the root\'s attributes were invalidated (node id 1)');
  });

  test('hard links and renames out of the mount, or into it, are EXDEV; inside it they work', async () => {
    assert.equal(await errnoOf(link(inSub('f1'), full('f1-link'))), 'EXDEV');
    assert.equal(await errnoOf(rename(inSub('f1'), full('f1-moved'))), 'EXDEV');
    assert.equal(await errnoOf(rename(full('a/x'), inSub('x'))), 'EXDEV');
    await link(inSub('f1'), inSub('c/f1-link'));
    await rename(inSub('c/f1-link'), inSub('f1-link'));
    assert.equal((await stat(inSub('f1-link'))).nlink, 2);
    assert.equal(await readFile(full('a/b/f1-link'), 'utf8'), 'one, rewritten longer');
  });

  test('status and info know the sub-directory', async () => {
    const st = await cli(['status', vol.metaUrl, '--json']);
    assert.equal(st.code, 0, st.stderr);
    const sessions = (JSON.parse(st.stdout) as { sessions: { info: { mountPoint: string; subdir?: string } }[] }).sessions;
    assert.deepEqual(sessions.filter((s) => s.info.mountPoint === sub.mnt).map((s) => s.info.subdir), ['/a/b']);
    assert.match((await cli(['status', vol.metaUrl])).stdout, new RegExp(`${sub.mnt} \\(subdir /a/b\\)`));
    const info = await cli(['info', '--json', inSub('c/f2')], { OBJECTFS_RUNTIME_DIR: runtimeDir });
    assert.equal(info.code, 0, info.stderr);
    assert.equal((JSON.parse(info.stdout) as { attr: { ino: number } }).attr.ino, (await stat(full('a/b/c/f2'))).ino);
  });

  test('renamed by another mount, the directory is served on; removed, its root fails ESTALE and the mount still unmounts cleanly', async () => {
    const moved = place('moved');
    const m = await startDaemon(vol.metaUrl, moved.mnt, moved.cache, ['--subdir', 'mv-me', ...CACHES]);
    await rename(full('mv-me'), full('moved-away'));
    assert.deepEqual(await readdir(m.mnt), ['keep']);
    await writeFile(join(m.mnt, 'after'), 'after the rename');
    assert.equal(await readFile(full('moved-away/after'), 'utf8'), 'after the rename');
    await stopDaemon(m);

    const gone = place('gone');
    const g = await startDaemon(vol.metaUrl, gone.mnt, gone.cache, ['--subdir', '/gone', ...CACHES]);
    assert.deepEqual(await readdir(g.mnt), []);
    await rmdir(full('gone'));
    // The change feed tells the mount at once; every operation on the root then fails ESTALE
    // (a gone inode, as on NFS): the kernel checks the root's attributes on every path through it.
    assert.ok(await waitFor(async () => (await errnoOf(stat(g.mnt))) === 'ESTALE', SOON_MS), 'stat of the removed root');
    assert.equal(await errnoOf(readdir(g.mnt)), 'ESTALE');
    assert.equal(await errnoOf(writeFile(join(g.mnt, 'new'), 'x')), 'ESTALE');
    assert.equal(await errnoOf(mkdir(join(g.mnt, 'd'))), 'ESTALE');
    assert.equal(await errnoOf(statfs(g.mnt)), 'ok', 'the mount itself stays up');
    await stopDaemon(g);
    // And a new mount of it is refused.
    const again = await cli(['mount', vol.metaUrl, gone.mnt, '--subdir', '/gone', '--no-metrics', '--cache-dir', gone.cache]);
    assert.equal(again.code, 1, again.stderr);
    assert.match(again.stderr, /^objectfs: sub-directory \/gone of volume "vol" does not exist/);
  });

  test('a missing directory or a file is exit 1 and a bad value exit 2, nothing mounted (also -o subdir= in the background)', async () => {
    const { mnt, cache } = place('refused');
    const cases = [
      { args: ['--subdir', '/a/nope'], code: 1, message: /^objectfs: sub-directory \/a\/nope of volume "vol" does not exist \(no "nope" in \/a\)$/m },
      { args: ['--subdir', 'a/file'], code: 1, message: /^objectfs: sub-directory \/a\/file of volume "vol" is not a directory \(\/a\/file is a file\)$/m },
      { args: ['--subdir', 'a/../b'], code: 2, message: /^objectfs: option '--subdir <VOLUME_PATH>' argument 'a\/\.\.\/b' is invalid/ },
      { args: ['--background', '--log', join(vol.dir, 'refused.log'), '-o', 'subdir=/a/nope'], code: 1, message: /sub-directory \/a\/nope of volume "vol" does not exist/ },
    ];
    for (const c of cases) {
      const r = await cli(['mount', vol.metaUrl, mnt, '--cache-dir', cache, '--no-metrics', ...c.args]);
      assert.equal(r.code, c.code, `${c.args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, c.message);
      assert.equal(isMounted(mnt), false, `${c.args.join(' ')}: nothing mounted`);
    }
  });
});

describe('a sub-directory mount on the embedded engine (PGlite)', () => {
  let vol: TestMount;

  before(async () => {
    vol = await startMount('subdir-pglite', { meta: 'pglite', data: 'file' });
    await bash('mkdir -p a/b && printf f > a/b/f && printf top > top', vol.mnt);
    await vol.stop(); // one process at a time
  });

  after(async () => {
    await killAll();
    await vol?.cleanup();
  });

  test('serves the directory; refuses a missing one and a file; the full mount sees what it wrote', async () => {
    const mnt = join(vol.dir, 'host', 'sub');
    const d = await startDaemon(vol.metaUrl, mnt, join(vol.dir, 'cache-sub'), ['-o', 'subdir=/a/b/']);
    assert.deepEqual(await readdir(mnt), ['f']);
    assert.deepEqual(await readdir(`${mnt}/..`), ['sub']);
    await writeFile(join(mnt, 'g'), 'from the sub-directory');
    await stopDaemon(d);
    for (const [subdir, message] of [['/a/missing', /does not exist/], ['/top', /is not a directory/]] as const) {
      const r = await cli(['mount', vol.metaUrl, mnt, '--subdir', subdir, '--no-metrics', '--cache-dir', join(vol.dir, 'cache-sub')]);
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stderr, message);
      assert.equal(isMounted(mnt), false);
    }
    await vol.remount();
    assert.equal(await readFile(join(vol.mnt, 'a/b/g'), 'utf8'), 'from the sub-directory');
  });
});
