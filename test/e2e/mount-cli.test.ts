/**
 * The mount daemon's behaviour as a user sees it (PostgreSQL + S3): `objectfs mount --background`
 * and `objectfs umount`, clean shutdown on SIGINT and SIGTERM, an external `fusermount3 -u`,
 * clearing a dead ("Transport endpoint is not connected") mount left by a crash, refusing an
 * unknown FUSE option without leaving a mount, --read-only, and --attr-timeout 0 showing
 * another mount's size change at once.
 *
 * The dead mount is made safely: the daemon's `fusermount` auto_unmount helper (its child) is
 * killed first, then the daemon, both with SIGKILL, so the kernel mount stays behind unserved;
 * the test checks it really answers ENOTCONN before relying on it.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, readdir, statfs } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { startMount, isMounted, type TestMount } from '../support/mounted.js';
import { alive, childrenNamed, killAll, startDaemon, timeout, track, waitFor, OBJECTFS_BIN } from '../support/e2e-daemon.js';
import { mountsAt } from '../../src/fuse/index.js';
import { bash, PY_ERR, python, run, sha256File } from '../support/e2e-sh.js';

let vol: TestMount;
let runtimeDir: string;
let baseBigSum: string;
let n = 0;

/** A fresh mount point and cache dir inside the volume's test directory. */
function place(label: string): { mnt: string; cache: string } {
  n++;
  return { mnt: join(vol.dir, `${label}-${n}`), cache: join(vol.dir, `cache-${label}-${n}`) };
}

/** objectfs_fuse_ops_total of one operation in a metrics text. */
function fuseOps(text: string, op: string): number {
  const m = new RegExp(`^objectfs_fuse_ops_total\\{op="${op}"\\} (\\d+)`, 'm').exec(text);
  return Number(m?.[1] ?? 0);
}

function cli(args: readonly string[], timeoutMs = 180_000) {
  return run(process.execPath, [OBJECTFS_BIN, ...args], { env: { OBJECTFS_RUNTIME_DIR: runtimeDir }, timeoutMs });
}

/** statfs always reaches the filesystem (a stat may be answered from the kernel's cache). */
async function statErrno(path: string): Promise<string> {
  try {
    await statfs(path);
    return 'ok';
  } catch (e) {
    return (e as NodeJS.ErrnoException).code ?? 'unknown';
  }
}

before(async () => {
  // The volume's own mount is stopped at once: the tests mount the volume themselves.
  vol = await startMount('cli', { meta: 'postgres', data: 's3' });
  await bash(`printf 'base file' > base && head -c 3000000 /dev/urandom > base-big`, vol.mnt);
  baseBigSum = await sha256File(join(vol.mnt, 'base-big'));
  await vol.stop();
  runtimeDir = await mkdtemp(join(vol.dir, 'run-'));
});

after(async () => {
  await killAll();
  await vol?.cleanup();
});

describe('objectfs mount / umount', () => {
  test('mount --background returns once mounted and logs to --log; umount commits a file written just before it', async () => {
    const { mnt, cache } = place('bg');
    const logFile = join(vol.dir, 'bg.log');
    const r = await cli(['mount', '--background', '--log', logFile, '--cache-dir', cache, vol.metaUrl, mnt]);
    const mountedOnReturn = isMounted(mnt);
    const pid = Number(/daemon pid (\d+)/.exec(r.stdout)?.[1]);
    if (pid > 0) track(pid, mnt);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(mountedOnReturn, 'the mount is up when `mount --background` returns');
    assert.ok(pid > 0 && alive(pid), `daemon pid in: ${r.stdout}`);
    assert.match(await readFile(logFile, 'utf8'), /"msg":"mounted"/);
    assert.equal(await readFile(join(mnt, 'base'), 'utf8'), 'base file');
    // Written and closed right before umount: umount must commit it before the daemon exits.
    await bash(`head -c 20000000 /dev/urandom > last && sha256sum last > ../bg-last.sum`, mnt);
    const u = await cli(['umount', mnt]);
    assert.equal(u.code, 0, u.stderr);
    assert.match(u.stdout, /unmounted/);
    assert.equal(isMounted(mnt), false);
    assert.ok(await waitFor(() => !alive(pid), 5000), 'the daemon exited');
    assert.match(await readFile(logFile, 'utf8'), /"msg":"stopped"/);
    const again = await startDaemon(vol.metaUrl, mnt, cache);
    assert.equal(`${await sha256File(join(mnt, 'last'))}  last\n`, await readFile(join(vol.dir, 'bg-last.sum'), 'utf8'));
    again.child.kill('SIGTERM');
    await again.exited;
  });

  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    test(`${signal} unmounts cleanly: exit code 0, no mount left, data committed`, async () => {
      const { mnt, cache } = place(signal.toLowerCase());
      const d = await startDaemon(vol.metaUrl, mnt, cache);
      await bash(`head -c 6000000 /dev/urandom > ${signal} && sha256sum ${signal} > ../${signal}.sum`, mnt);
      d.child.kill(signal);
      const how = await Promise.race([d.exited, timeout(30_000, 'timeout')]);
      assert.deepEqual(how, { code: 0, signal: null }, d.log());
      assert.equal(isMounted(mnt), false);
      assert.equal(await statErrno(mnt), 'ok');
      assert.match(d.log(), /"msg":"stopped"/);
      const again = await startDaemon(vol.metaUrl, mnt, cache);
      assert.equal(`${await sha256File(join(mnt, signal))}  ${signal}\n`, await readFile(join(vol.dir, `${signal}.sum`), 'utf8'));
      again.child.kill('SIGTERM');
      await again.exited;
    });
  }

  test('an external `fusermount3 -u` makes the daemon commit and exit', async () => {
    const { mnt, cache } = place('ext');
    const d = await startDaemon(vol.metaUrl, mnt, cache);
    await bash(`printf external > ext`, mnt);
    await run('fusermount3', ['-u', mnt]);
    const how = await Promise.race([d.exited, timeout(10_000, 'still running after 10 s')]);
    assert.deepEqual(how, { code: 0, signal: null }, d.log());
  });

  test('a dead mount ("Transport endpoint is not connected") is cleared by the next mount and by umount', async () => {
    const makeDead = async (label: string) => {
      const { mnt, cache } = place(label);
      const d = await startDaemon(vol.metaUrl, mnt, cache);
      const helpers = await childrenNamed(d.pid, 'fusermount3');
      assert.equal(helpers.length, 1, 'the auto_unmount helper is a child of the daemon');
      for (const pid of [...helpers, d.pid]) process.kill(pid, 'SIGKILL');
      await d.exited;
      assert.ok(isMounted(mnt), 'the kernel mount stays behind');
      assert.equal(await statErrno(mnt), 'ENOTCONN');
      return { mnt, cache };
    };
    const first = await makeDead('dead1');
    const d = await startDaemon(vol.metaUrl, first.mnt, first.cache);
    assert.equal(await readFile(join(first.mnt, 'base'), 'utf8'), 'base file');
    assert.equal(mountsAt(first.mnt).length, 1, 'one mount, not stacked on the dead one');
    d.child.kill('SIGTERM');
    await d.exited;
    const second = await makeDead('dead2');
    const u = await cli(['umount', second.mnt]);
    assert.equal(u.code, 0, u.stderr);
    assert.match(u.stdout, /cleared a dead mount/);
    assert.equal(isMounted(second.mnt), false);
    assert.equal(await statErrno(second.mnt), 'ok');
  });

  test('an unknown FUSE option (-o no_such_option) fails clearly, exits non-zero and leaves no mount', async () => {
    for (const background of [false, true]) {
      const { mnt, cache } = place(background ? 'badopt-bg' : 'badopt');
      const r = await cli(['mount', ...(background ? ['--background', '--log', join(vol.dir, 'badopt.log')] : []), '-o', 'no_such_option', '--cache-dir', cache, vol.metaUrl, mnt], 60_000);
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, /no_such_option/, `stderr: ${r.stderr}`);
      assert.doesNotMatch(r.stderr, /^\s+at /m, 'no stack trace');
      assert.equal(isMounted(mnt), false, 'no mount left behind');
      if (existsSync(mnt)) {
        assert.equal(await statErrno(mnt), 'ok');
        assert.deepEqual(await readdir(mnt), []);
      }
    }
  });

  test('--read-only: every kind of write fails with EROFS, reads work', async () => {
    const { mnt, cache } = place('ro');
    const d = await startDaemon(vol.metaUrl, mnt, cache, ['--read-only']);
    const opts = mountsAt(mnt)[0]?.options ?? [];
    assert.ok(opts.includes('ro'), `mount options: ${opts.join(',')}`);
    const r = JSON.parse(await python(`${PY_ERR}
import json, os
print(json.dumps({
  'create': err(lambda: os.open('new', os.O_CREAT | os.O_WRONLY, 0o644)),
  'openWrite': err(lambda: os.open('base', os.O_WRONLY)),
  'append': err(lambda: os.open('base', os.O_WRONLY | os.O_APPEND)),
  'truncate': err(lambda: os.truncate('base', 0)),
  'mkdir': err(lambda: os.mkdir('d')),
  'unlink': err(lambda: os.unlink('base')),
  'rename': err(lambda: os.rename('base', 'moved')),
  'link': err(lambda: os.link('base', 'hard')),
  'symlink': err(lambda: os.symlink('base', 'sym')),
  'chmod': err(lambda: os.chmod('base', 0o600)),
  'utime': err(lambda: os.utime('base', (1, 1))),
  'setxattr': err(lambda: os.setxattr('base', 'user.x', b'1')),
  'mkfifo': err(lambda: os.mkfifo('fifo')),
  'read': open('base').read(),
}))`, mnt)) as Record<string, string>;
    const erofs = Object.fromEntries(Object.keys(r).filter((k) => k !== 'read').map((k) => [k, 'EROFS']));
    assert.deepEqual(r, { ...erofs, read: 'base file' });
    assert.equal(await sha256File(join(mnt, 'base-big')), baseBigSum);
    d.child.kill('SIGTERM');
    await d.exited;
  });

  test('a size change made through another mount shows at once with --attr-timeout 0, and soon with 30 s caches (pushed by the change feed), which still answer repeated stats from the kernel', async () => {
    const writer = place('writer');
    const fresh = place('fresh');
    const cached = place('cached');
    const w = await startDaemon(vol.metaUrl, writer.mnt, writer.cache);
    const a = await startDaemon(vol.metaUrl, fresh.mnt, fresh.cache, ['--attr-timeout', '0']);
    const c = await startDaemon(vol.metaUrl, cached.mnt, cached.cache, ['--attr-timeout', '30', '--entry-timeout', '30']);
    const daemons = { writer: w, fresh: a, cached: c };
    // A step that hangs fails within a minute, with what every daemon logged (CI once waited
    // here until the file's 10 minute timeout, with nothing to go on).
    const bounded = async <T>(what: string, step: Promise<T>): Promise<T> => {
      const late = Symbol('late');
      const got = await Promise.race([step, timeout(60_000, late)]);
      if (got === late) {
        const logs = Object.entries(daemons).map(([name, d]) => `--- ${name} daemon (pid ${d.pid}):\n${d.log()}`).join('\n');
        assert.fail(`${what} did not finish within 60 s\n${logs}`);
      }
      return got as T;
    };
    await bounded('printf 12345 > grows (writer)', bash(`printf 12345 > grows`, writer.mnt));
    const size = async (mnt: string) => Number((await bounded(`stat in ${mnt}`, bash(`stat -c %s grows`, mnt))).trim());
    assert.equal(await size(fresh.mnt), 5);
    assert.equal(await size(cached.mnt), 5);
    await bounded('printf 67890 >> grows (writer)', bash(`printf 67890 >> grows`, writer.mnt));
    assert.equal(await size(fresh.mnt), 10, 'size seen through --attr-timeout 0 right after the other mount closed the file');
    const since = Date.now();
    while (await size(cached.mnt) !== 10) {
      assert.ok(Date.now() - since < 5_000, 'the change feed pushed the new size into the 30 s cache');
      await sleep(5);
    }
    // Control: the 30 s cache is really on: 50 stats of the same file ask the daemon at most once.
    const getattrs = async () => fuseOps(await readFile(join(cached.mnt, '.stats'), 'utf8'), 'getattr');
    const before = await getattrs();
    await bash('for i in $(seq 50); do stat -c %s grows >/dev/null; done', cached.mnt);
    assert.ok(await getattrs() - before <= 2, `getattr requests for 50 cached stats: ${await getattrs() - before}`);
    assert.equal(await bounded('cat grows (fresh)', bash(`cat grows`, fresh.mnt)), '1234567890');
    for (const d of [w, a, c]) d.child.kill('SIGTERM');
    await bounded('the daemons exiting on SIGTERM', Promise.all([w.exited, a.exited, c.exited]));
  });
});
