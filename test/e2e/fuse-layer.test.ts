/**
 * The libfuse 3 low-level layer through real mounts:
 *
 *  - the binding alone (a small in-memory filesystem in this process, on FuseSession): a
 *    handler that never answers is answered EIO after its operation's timeout and leaves no
 *    request behind, also after unmount and garbage collection; an open answered after an
 *    invalidation whose reply the kernel refuses (its connection aborted) hands its handle back;
 *  - ObjectFS on PostgreSQL and a local block store: a write through one hard link is seen at
 *    once through another with caches on (one kernel inode); `ls -l` of 10,000 entries costs
 *    no LOOKUP per entry (READDIRPLUS) and one GETXATTR per entry, not two (ACLs EOPNOTSUPP); 100,000 kernel references given back by forgets leave
 *    the lookup table empty; a 1 MiB write is one request; renameat2 flags; fallocate modes;
 *    SEEK_DATA/SEEK_HOLE; copy_file_range in metadata only (no object stored, content
 *    identical, the copy unaffected when the source changes, fsck healthy).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, readlink, rm, stat, writeFile } from 'node:fs/promises';
import { constants, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { FuseSession, type SessionOptions } from '../../src/fuse/session.js';
import { Op, type Binding, type Request } from '../../src/fuse/native.js';
import { attrArray, entryArray } from '../../src/fuse/stat.js';
import type { Attr } from '../../src/vfs/index.js';
import { startMount, isMounted, type TestMount } from '../support/mounted.js';
import { bulkCreateFiles } from '../support/bulk-files.js';
import { bash, PY_ERR, python, run, sha256File } from '../support/e2e-sh.js';
import { OBJECTFS_BIN } from '../support/e2e-daemon.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

function fileAttr(ino: number, type: Attr['type'], length: number): Attr {
  const now = BigInt(Date.now()) * 1_000_000n;
  return { ino, type, mode: type === 'directory' ? 0o755 : 0o644, uid: 0, gid: 0, nlink: 1, length, rdev: 0, atime: now, mtime: now, ctime: now, parent: 1 };
}

/**
 * A session of the binding alone at `mnt` (an in-memory filesystem in this process): the root
 * and `files` (by name) answer LOOKUP and GETATTR; `options` adds handlers and settings.
 */
function memorySession(mnt: string, fsName: string, files: ReadonlyMap<string, Attr>, options: Partial<SessionOptions>): FuseSession {
  const byIno = new Map([[1, fileAttr(1, 'directory', 0)], ...[...files.values()].map((a) => [a.ino, a] as const)]);
  return new FuseSession({
    mountPoint: mnt,
    args: ['-o', `default_permissions,fsname=${fsName},subtype=objectfs-test`],
    config: { maxWrite: 1 << 20, maxReadahead: 1 << 20, maxBackground: 16, writebackCache: false, threads: 2 },
    onForget: () => undefined,
    onEnded: () => undefined,
    timeouts: { default: 0 },
    log: { unexpected: () => undefined },
    ...options,
    handlers: {
      [Op.LOOKUP]: (r: Request, b: Binding) => {
        const a = files.get((r.name as Buffer).toString());
        if (a === undefined) b.replyErr(r.req, constants.errno.ENOENT);
        else b.replyEntry(r.req, entryArray(a, { attr: 1, entry: 1 }));
      },
      [Op.GETATTR]: (r: Request, b: Binding) => { b.replyAttr(r.req, attrArray(byIno.get(r.ino) as Attr), 1); },
      ...options.handlers,
    },
  });
}

describe('the binding alone (an in-memory filesystem in this process)', () => {
  test('a handler that never answers gets EIO after its timeout, a request dropped unanswered gets EIO when collected, and nothing leaks', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'binding-'));
    const mnt = join(dir, 'mnt');
    await mkdir(mnt);
    const files = new Map<string, Attr>([['stuck', fileAttr(3, 'symlink', 4)], ['fine', fileAttr(4, 'symlink', 4)], ['dropped', fileAttr(5, 'symlink', 4)]]);
    const unexpected: string[] = [];
    const session = memorySession(mnt, 'binding-test', files, {
      handlers: {
        // 'stuck' never answers; 'dropped' returns without answering and keeps no reference to
        // the request; 'fine' answers, later.
        [Op.READLINK]: (r: Request, b: Binding) => (r.ino === 3 ? new Promise<void>(() => undefined)
          : r.ino === 5 ? undefined
            : sleep(10).then(() => { b.replyReadlink(r.req, Buffer.from('fine')); })),
      },
      timeouts: { default: 0, readlink: 400 },
      log: { unexpected: (op, err) => unexpected.push(`${op}: ${(err as Error).message}`) },
    });
    try {
      const started = performance.now();
      await assert.rejects(readlink(join(mnt, 'stuck')), (e: NodeJS.ErrnoException) => e.code === 'EIO');
      const waited = performance.now() - started;
      assert.ok(waited >= 350 && waited < 5_000, `answered after ${Math.round(waited)} ms (timeout 400 ms)`);
      assert.equal(await readlink(join(mnt, 'fine')), 'fine', 'the session still answers');
      // A request JavaScript let go of unanswered is answered EIO when it is collected.
      let dropped: string | undefined;
      const waiting = readlink(join(mnt, 'dropped')).then(() => 'answered', (e: NodeJS.ErrnoException) => e.code ?? 'error').then((v) => { dropped = v; });
      for (let i = 0; i < 100 && dropped === undefined; i++) {
        gc();
        await sleep(20);
      }
      await Promise.race([waiting, sleep(1000)]);
      assert.equal(dropped, 'EIO');
      assert.deepEqual({ pending: session.stats().pending, outstanding: session.stats().outstanding }, { pending: 0, outstanding: 0 });
      assert.equal(unexpected.length, 1, unexpected.join('\n')); // the deadline; the finalizer logs nothing
      assert.match(unexpected[0] ?? '', /^readlink: no answer within 400 ms/);
    } finally {
      await session.unmount();
      await rm(dir, { recursive: true, force: true });
    }
    assert.equal(isMounted(mnt), false);
    // Every request structure is freed once JavaScript lets go of its handle.
    for (let i = 0; i < 20 && session.stats().live > 0; i++) {
      gc();
      await sleep(50);
    }
    assert.equal(session.stats().live, 0, 'no request structure left in the binding');
  });
});

describe('the binding alone: an open answered after an invalidation', () => {
  test('its handle comes back when the kernel can no longer take the reply (connection aborted)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'binding-open-'));
    const mnt = join(dir, 'mnt');
    await mkdir(mnt);
    let opened: (() => number) | undefined;
    const refused: number[] = [];
    const session = memorySession(mnt, 'binding-open-test', new Map([['held', fileAttr(6, 'file', 4)]]), {
      handlers: {
        // The open is answered when the test says so, as handle 77.
        [Op.OPEN]: (r: Request, b: Binding) => new Promise<void>((resolve) => {
          opened = () => {
            resolve();
            return b.replyOpenAfterInval(r.req, 77, 0, r.ino);
          };
        }),
      },
      onOpenRefused: (fh) => refused.push(fh),
    });
    try {
      const opener = run('cat', [join(mnt, 'held')], { timeoutMs: 30_000 });
      for (let i = 0; i < 200 && opened === undefined; i++) await sleep(10);
      assert.ok(opened !== undefined, 'the OPEN reached the handler');
      // Abort the kernel connection (through fusectl, mounted for this if it is not): the opener
      // fails, and the reply has nobody to go to.
      const { dev } = await stat(mnt);
      const minor = (dev & 0xff) | ((dev >> 12) & 0xfff00);
      const fusectl = '/sys/fs/fuse/connections';
      const mountedHere = !isMounted(fusectl, 'fusectl');
      if (mountedHere) await run('mount', ['-t', 'fusectl', 'fusectl', fusectl]);
      try {
        await writeFile(join(fusectl, String(minor), 'abort'), '1');
      } finally {
        if (mountedHere) await run('umount', [fusectl]);
      }
      assert.notEqual((await opener).code, 0, 'the opener fails with the connection');
      // The session is not unmounting: the reply is queued (0), and the notification thread's
      // refused reply hands the handle back, once.
      assert.equal(opened(), 0, 'queued behind the invalidation');
      for (let i = 0; i < 200 && refused.length === 0; i++) await sleep(10);
      await sleep(50);
      assert.deepEqual(refused, [77], 'the refused reply names its handle');
    } finally {
      await session.unmount();
      // libfuse takes an aborted connection for an unmounted one and leaves the mount point.
      if (isMounted(mnt, 'fuse.objectfs-test')) await run('umount', [mnt]);
      await rm(dir, { recursive: true, force: true });
    }
    assert.equal(isMounted(mnt), false);
  });
});

describe('ObjectFS on the libfuse 3 layer', () => {
  let m: TestMount;

  /** One metric of the mount's .stats text (0 when absent). */
  async function metric(name: string, labels = ''): Promise<number> {
    const text = await bash('cat .stats', m.mnt);
    const line = text.split('\n').find((l) => l.startsWith(`${name}${labels} `));
    return Number(line?.split(' ')[1] ?? 0);
  }
  const ops = (op: string) => metric('objectfs_fuse_ops_total', `{op="${op}"}`);
  const dropCaches = () => bash('sync; echo 3 > /proc/sys/vm/drop_caches', m.mnt);

  before(async () => {
    // Long kernel caches: `ls -l` of 10,000 entries must not revalidate names because a busy
    // machine made the listing outlast a 1 s entry timeout (what is tested is READDIRPLUS).
    m = await startMount('fuse3', { meta: 'postgres', data: 'file', blockSize: '4M', args: ['--entry-timeout', '60', '--attr-timeout', '60'] });
  });

  after(async () => {
    await m?.cleanup();
  });

  test('a write through one hard link is seen at once through another, page cache included (caches on)', async () => {
    const r = await python(`
import os
with open('hl-1', 'wb') as f: f.write(b'A' * 8192)
os.link('hl-1', 'hl-2')
fd = os.open('hl-1', os.O_RDONLY)
first = os.pread(fd, 8192, 0)          # pages of hl-1 now cached
with open('hl-2', 'r+b') as f: f.write(b'B' * 100)
again = os.pread(fd, 8192, 0)          # same kernel inode: the new bytes, without reopening
st1, st2 = os.stat('hl-1'), os.stat('hl-2')
print(first[:1].decode(), again[:100] == b'B' * 100, again[100:101].decode(), st1.st_ino == st2.st_ino, st1.st_nlink)
`, m.mnt);
    assert.equal(r.trim(), 'A True A True 2');
  });

  test('ls -l of 10,000 entries issues no LOOKUP per entry (READDIRPLUS)', async () => {
    await bash('mkdir wide', m.mnt);
    const dir = (await stat(join(m.mnt, 'wide'))).ino;
    await bulkCreateFiles(m.metaUrl, dir, 10_000, (i) => `f-${String(i).padStart(5, '0')}`);
    await dropCaches();
    const lookups = await ops('lookup');
    const readdirs = await ops('readdir');
    const getxattrs = await ops('getxattr');
    const started = performance.now();
    const lines = (await bash('ls -l wide | wc -l', m.mnt)).trim();
    const ms = performance.now() - started;
    assert.equal(lines, '10001');
    const perEntry = (await ops('lookup')) - lookups;
    const xattrQuestions = (await ops('getxattr')) - getxattrs;
    console.log(`ls -l of 10,000 entries: ${Math.round(ms)} ms, ${perEntry} lookups, ${(await ops('readdir')) - readdirs} readdir requests, ${xattrQuestions} getxattr requests`);
    assert.ok(perEntry < 20, `${perEntry} LOOKUPs for 10,000 listed entries`);
    // ls asks for security.selinux of each file, and for its ACL until the volume answers
    // EOPNOTSUPP once (decision 87): one question per entry, not two.
    assert.ok(xattrQuestions <= 10_010, `${xattrQuestions} GETXATTRs for 10,000 listed entries`);
    const acl = await bash('getfattr -n system.posix_acl_access wide/f-00001 2>&1 || true', m.mnt);
    assert.match(acl, /Operation not supported/);
  });

  test('100,000 kernel references given back by forgets leave the lookup table empty', async () => {
    let peak = 0;
    for (let round = 0; round < 10; round++) {
      await bash('ls -l wide >/dev/null', m.mnt); // 10,000 references through readdirplus
      peak = Math.max(peak, await metric('objectfs_fuse_kernel_inodes'));
      await dropCaches(); // the kernel forgets them
    }
    assert.ok(peak >= 10_000, `the table held ${peak} inodes after a listing`);
    let left = await metric('objectfs_fuse_kernel_inodes');
    for (let i = 0; i < 100 && left > 0; i++) {
      await sleep(50);
      await dropCaches();
      left = await metric('objectfs_fuse_kernel_inodes');
    }
    assert.equal(left, 0, 'inodes still counted after the kernel forgot everything');
    // The one request unanswered while .stats renders is the open of .stats itself.
    assert.equal(await metric('objectfs_fuse_pending_requests'), 1);
  });

  test('a 1 MiB write arrives as one request, and a cold 1 MiB-block read in 1 MiB requests', async () => {
    const writes = await ops('write');
    const written = await metric('objectfs_fuse_written_bytes_total');
    await bash('dd if=/dev/urandom of=mib bs=1M count=8 status=none', m.mnt);
    assert.equal((await ops('write')) - writes, 8, 'eight write(2) calls of 1 MiB, eight requests');
    assert.equal((await metric('objectfs_fuse_written_bytes_total')) - written, 8 << 20);
    await dropCaches();
    const reads = await ops('read');
    await bash('dd if=mib of=/dev/null bs=1M status=none', m.mnt);
    const n = (await ops('read')) - reads;
    assert.ok(n >= 8 && n <= 12, `${n} read requests for 8 MiB`);
  });

  test('renameat2: RENAME_NOREPLACE and RENAME_EXCHANGE work; RENAME_WHITEOUT is EINVAL', async () => {
    const r = JSON.parse(await python(`${PY_ERR}
import ctypes, json, os
libc = ctypes.CDLL(None, use_errno=True)
AT_FDCWD = -100
def renameat2(a, b, flags):
    if libc.renameat2(AT_FDCWD, a.encode(), AT_FDCWD, b.encode(), flags) != 0:
        raise OSError(ctypes.get_errno(), os.strerror(ctypes.get_errno()))
for n, t in (('ra', 'one'), ('rb', 'two')):
    with open(n, 'w') as f: f.write(t)
out = {'noreplaceExisting': err(lambda: renameat2('ra', 'rb', 1))}
out['exchange'] = err(lambda: renameat2('ra', 'rb', 2))
out['afterExchange'] = [open('ra').read(), open('rb').read()]
out['exchangeMissing'] = err(lambda: renameat2('ra', 'rmissing', 2))
out['noreplaceFree'] = err(lambda: renameat2('ra', 'rc', 1))
out['moved'] = [os.path.exists('ra'), open('rc').read()]
out['whiteout'] = err(lambda: renameat2('rc', 'rd', 4))
print(json.dumps(out))`, m.mnt)) as Record<string, unknown>;
    assert.deepEqual(r, {
      noreplaceExisting: 'EEXIST', exchange: 'ok', afterExchange: ['two', 'one'], exchangeMissing: 'ENOENT',
      noreplaceFree: 'ok', moved: [false, 'two'], whiteout: 'EINVAL',
    });
  });

  test('fallocate: mode 0 grows, KEEP_SIZE keeps, PUNCH_HOLE and ZERO_RANGE zero; other modes EOPNOTSUPP (ENOTSUP)', async () => {
    const r = JSON.parse(await python(`${PY_ERR}
import ctypes, json, os
libc = ctypes.CDLL(None, use_errno=True)
libc.fallocate.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_long, ctypes.c_long]
def fallocate(fd, mode, off, length):
    if libc.fallocate(fd, mode, off, length) != 0:
        raise OSError(ctypes.get_errno(), os.strerror(ctypes.get_errno()))
fd = os.open('falloc', os.O_RDWR | os.O_CREAT, 0o644)
os.write(fd, b'x' * 10000)
out = {}
out['grow'] = err(lambda: fallocate(fd, 0, 5000, 20000)); out['sizeGrow'] = os.fstat(fd).st_size
out['keep'] = err(lambda: fallocate(fd, 1, 0, 100000)); out['sizeKeep'] = os.fstat(fd).st_size
out['punch'] = err(lambda: fallocate(fd, 1 | 2, 100, 200))
out['zero'] = err(lambda: fallocate(fd, 0x10, 1000, 50))
out['zeroGrow'] = err(lambda: fallocate(fd, 0x10, 24000, 2000)); out['sizeZero'] = os.fstat(fd).st_size
out['punchNoKeep'] = err(lambda: fallocate(fd, 2, 0, 10))
out['collapse'] = err(lambda: fallocate(fd, 0x08, 0, 4096))
data = os.pread(fd, 30000, 0)
out['bytes'] = [data[:100] == b'x' * 100, data[100:300] == bytes(200), data[300:1000] == b'x' * 700,
                data[1000:1050] == bytes(50), data[1050:10000] == b'x' * 8950, data[10000:] == bytes(len(data) - 10000)]
os.close(fd)
out['reread'] = open('falloc', 'rb').read() == data
print(json.dumps(out))`, m.mnt)) as Record<string, unknown>;
    assert.deepEqual(r, {
      grow: 'ok', sizeGrow: 25000, keep: 'ok', sizeKeep: 25000, punch: 'ok', zero: 'ok', zeroGrow: 'ok', sizeZero: 26000,
      punchNoKeep: 'ENOTSUP', collapse: 'ENOTSUP', bytes: [true, true, true, true, true, true], reread: true,
    });
  });

  test('lseek SEEK_DATA and SEEK_HOLE follow the written ranges', async () => {
    const r = JSON.parse(await python(`${PY_ERR}
import json, os
MIB = 1 << 20
fd = os.open('sparse', os.O_RDWR | os.O_CREAT, 0o644)
os.pwrite(fd, b'a' * 4096, 0)
os.pwrite(fd, b'b' * 4096, 70 * MIB)      # in the second 64 MiB chunk
os.ftruncate(fd, 100 * MIB)
os.fsync(fd)
def seek(off, whence):
    try:
        return os.lseek(fd, off, whence)
    except OSError as e:
        return errno.errorcode[e.errno]
out = [seek(0, os.SEEK_DATA), seek(0, os.SEEK_HOLE), seek(5000, os.SEEK_DATA), seek(70 * MIB + 10, os.SEEK_HOLE),
       seek(70 * MIB + 4096, os.SEEK_DATA), seek(100 * MIB, os.SEEK_DATA), seek(100 * MIB - 1, os.SEEK_HOLE)]
os.close(fd)
print(json.dumps(out))`, m.mnt)) as unknown[];
    const MIB = 1 << 20;
    assert.deepEqual(r, [0, 4096, 70 * MIB, 70 * MIB + 4096, 'ENXIO', 'ENXIO', 100 * MIB - 1]);
  });

  test('copy_file_range and cp share slices: no object stored, identical content, the copy unaffected by later writes, fsck healthy', async () => {
    const objects = async () => Number((await bash(`find ${join(m.dir, 'blocks')} -type f | wc -l`, m.mnt)).trim());
    await bash('head -c 20000000 /dev/urandom > src && truncate -s 1G src && printf tail >> src && sync', m.mnt);
    const before = await objects();
    const srcSum = await sha256File(join(m.mnt, 'src'));
    const copied = JSON.parse(await python(`
import json, os, time
i, o = os.open('src', os.O_RDONLY), os.open('dst', os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
n, total, started = os.fstat(i).st_size, 0, time.monotonic()
while total < n:
    c = os.copy_file_range(i, o, n - total, total, total)
    if c == 0: break
    total += c
elapsed = time.monotonic() - started
os.close(i); os.close(o)
print(json.dumps([total, elapsed]))`, m.mnt)) as [number, number];
    const cpStarted = performance.now();
    await bash('cp src dst-cp', m.mnt);
    const cpMs = performance.now() - cpStarted;
    console.log(`copy_file_range of ${copied[0]} bytes in ${Math.round(copied[1] * 1000)} ms; cp of the same file in ${Math.round(cpMs)} ms`);
    assert.equal(copied[0], 2 ** 30 + 4);
    await bash('sync', m.mnt);
    assert.equal(await objects(), before, 'no block object was stored for the copies');
    assert.equal(await sha256File(join(m.mnt, 'dst')), srcSum);
    assert.equal(await sha256File(join(m.mnt, 'dst-cp')), srcSum);
    await bash('printf CHANGED | dd of=src conv=notrunc status=none && sync', m.mnt);
    assert.notEqual(await sha256File(join(m.mnt, 'src')), srcSum);
    assert.equal(await sha256File(join(m.mnt, 'dst')), srcSum, 'the copy keeps the bytes it was given');
    await dropCaches();
    assert.equal(await sha256File(join(m.mnt, 'dst-cp')), srcSum);
    await bash('rm src', m.mnt);
    await m.stop(); // counters flushed, session ended: fsck judges a quiet volume
    const fsck = await run(process.execPath, [OBJECTFS_BIN, 'fsck', m.metaUrl]);
    assert.equal(fsck.code, 0, `fsck:\n${fsck.stdout}\n${fsck.stderr}`);
    await m.remount();
    assert.equal(await sha256File(join(m.mnt, 'dst')), srcSum, 'the copy outlives its source');
  });

  test('the mount point lists what was created; .stats is not listed', async () => {
    const names = await readdir(m.mnt);
    assert.ok(names.includes('wide') && names.includes('dst') && !names.includes('.stats'));
  });
});

describe('--writeback-cache', () => {
  test('small writes through the kernel\'s writeback cache are committed at close and read back after a remount', async () => {
    const w = await startMount('wbcache', { meta: 'pglite', data: 'file', args: ['--writeback-cache'] });
    try {
      await python(`
with open('many-small', 'wb') as f:
    for i in range(5000):
        f.write(b'%05d' % i)
`, w.mnt);
      const sum = await sha256File(join(w.mnt, 'many-small'));
      await w.stop();
      await w.remount([]);
      assert.equal(await sha256File(join(w.mnt, 'many-small')), sum);
      assert.equal((await stat(join(w.mnt, 'many-small'))).size, 25_000);
      assert.equal((await python(`print(open('many-small', 'rb').read()[-5:].decode())`, w.mnt)).trim(), '04999');
    } finally {
      await w.cleanup();
    }
  });
});
