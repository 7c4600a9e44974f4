/**
 * Edge cases on a real ObjectFS mount (PostgreSQL + S3, default mount options): name
 * length limits, odd names, deep paths, a sparse file beyond 4 GiB, a directory of 100,000
 * entries, unlinked-but-open files (never listed, no `.fuse_hidden*`, space and inode freed at the
 * last close, still usable after their directory is renamed or removed), rename over a file open
 * for reading, persistence across a clean remount and across kill -9, open flags, statfs and
 * FIFOs. Tools run in child processes; stateful sequences go through the e2e-fsops.py helper.
 *
 *   OBJECTFS_E2E_DIR_ENTRIES=<n>  size of the big directory (default 100000)
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { startMount, type TestMount } from '../support/mounted.js';
import { FsOps } from '../support/e2e-fsops.js';
import { bulkCreateFiles } from '../support/bulk-files.js';
import { bash, PY_ERR, python, sha256File } from '../support/e2e-sh.js';

const DIR_ENTRIES = Number(process.env['OBJECTFS_E2E_DIR_ENTRIES'] ?? 100_000);
const GIB = 2 ** 30;

let m: TestMount;
let ops: FsOps | undefined;

before(async () => {
  m = await startMount('edge', { meta: 'postgres', data: 's3' });
});

after(async () => {
  await ops?.close();
  const said = m?.log().split('\n').filter((l) => l !== '' && !l.startsWith('--- mount')) ?? [];
  if (said.length > 0) console.log(`daemon log (warnings and errors):\n${said.slice(-40).join('\n')}`);
  await m?.cleanup();
});

/** Runs a Python snippet on the mount (cwd = mount root) that prints one JSON value. */
async function py<T>(script: string): Promise<T> {
  return JSON.parse(await python(`import errno, json, os, subprocess\n${script}`, m.mnt)) as T;
}

/** The python helper, started lazily on the mount root (restarted after a remount). */
function fsops(): FsOps {
  ops ??= new FsOps(m.mnt);
  return ops;
}

async function restartOps(): Promise<void> {
  await ops?.close();
  ops = undefined;
}

async function dbCount(sql: string, params: unknown[]): Promise<number> {
  const client = new pg.Client({ connectionString: m.metaUrl });
  await client.connect();
  try {
    const { rows } = await client.query<{ n: number }>(sql, params);
    return rows[0]?.n ?? NaN;
  } finally {
    await client.end();
  }
}

/** df's used bytes and used inodes of the mount. */
async function dfUsed(): Promise<{ bytes: number; inodes: number }> {
  const line = (await bash(`df -B1 --output=used,iused '${m.mnt}' | tail -1`, '/')).trim().split(/\s+/);
  return { bytes: Number(line[0]), inodes: Number(line[1]) };
}

async function waitUntil(cond: () => Promise<boolean>, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await cond()) return true;
    await sleep(100);
  }
  return cond();
}

/** The digest e2e-fsops.py reports for `len` bytes written with `seed` (its payload is Python's random.Random). */
async function payloadDigest(seed: number, len: number, take = len): Promise<string> {
  const script = `import hashlib, random; d = random.Random(${seed}).randbytes(${len})[:${take}]; print('%d:%s' % (len(d), hashlib.sha256(d).hexdigest()[:16]))`;
  return (await python(script, '/')).trim();
}

describe('edge cases on the mount', () => {
  test('255-byte names work (ASCII and multibyte UTF-8); 256 bytes is ENAMETOOLONG for every call', async () => {
    const r = await py<Record<string, string>>(`${PY_ERR}
os.mkdir('names')
n255, m255, n256 = 'names/' + 'n' * 255, 'names/' + 'é' * 127 + 'x', 'names/' + 'n' * 256
out = {
  'create255': err(lambda: os.close(os.open(n255, os.O_CREAT | os.O_WRONLY, 0o644))),
  'mkdir255mb': err(lambda: os.mkdir(m255)),
  'listed': str(sorted(os.listdir('names')) == sorted([n255[6:], m255[6:]])),
  'create256': err(lambda: os.close(os.open(n256, os.O_CREAT | os.O_WRONLY, 0o644))),
  'mkdir256': err(lambda: os.mkdir(n256)),
  'rename256': err(lambda: os.rename(n255, n256)),
  'link256': err(lambda: os.link(n255, n256)),
  'symlink256': err(lambda: os.symlink('x', n256)),
  'stat256': err(lambda: os.stat(n256)),
  'mkdir256mb': err(lambda: os.mkdir('names/' + 'é' * 128)),
  'rename255': err(lambda: os.rename(n255, 'names/' + 'r' * 255)),
}
print(json.dumps(out))`);
    assert.deepEqual(r, {
      create255: 'ok', mkdir255mb: 'ok', listed: 'True', create256: 'ENAMETOOLONG', mkdir256: 'ENAMETOOLONG', rename256: 'ENAMETOOLONG',
      link256: 'ENAMETOOLONG', symlink256: 'ENAMETOOLONG', stat256: 'ENAMETOOLONG', mkdir256mb: 'ENAMETOOLONG', rename255: 'ok',
    });
  });

  test('names with spaces, newlines, tabs, leading dashes and trailing spaces round-trip', async () => {
    const names = ['a b', ' lead', 'trail ', 'new\nline', 'tab\there', '-dash', 'x\ny\nz ', '  '];
    const r = await py<{ listed: string[]; contents: string[]; find: string[] }>(`
names = ${JSON.stringify(names)}
os.mkdir('odd')
for i, n in enumerate(names):
    with open('odd/' + n, 'w') as f:
        f.write('content %d' % i)
os.rename('odd/a b', 'odd/a  b')
find = subprocess.run(['find', 'odd', '-mindepth', '1', '-print0'], capture_output=True).stdout.decode().split('\\0')[:-1]
print(json.dumps({'listed': sorted(os.listdir('odd')), 'contents': [open('odd/' + n).read() for n in sorted(os.listdir('odd'))],
                  'find': sorted(p[4:] for p in find)}))`);
    const expected = names.map((n) => (n === 'a b' ? 'a  b' : n));
    const sorted = [...expected].sort();
    assert.deepEqual(r.listed, sorted);
    assert.deepEqual(r.find, sorted);
    assert.deepEqual(r.contents, sorted.map((n) => `content ${names.indexOf(n === 'a  b' ? 'a b' : n)}`));
  });

  test('a path 40 directories deep: create, read back, find, rm -rf', async () => {
    const deep = Array.from({ length: 40 }, (_, i) => `level${i}`).join('/');
    const out = await bash(`
      mkdir -p deep/${deep}
      printf bottom > deep/${deep}/file
      cat deep/${deep}/file; echo
      find deep -type f | awk -F/ '{ print NF }'
      find deep | wc -l
      rm -rf deep && test ! -e deep && echo gone`, m.mnt);
    assert.equal(out, 'bottom\n42\n42\ngone\n');
  });

  test('a sparse file beyond 4 GiB: 1 byte at 5 GiB; size, zero holes, blocks from the length', async () => {
    const r = await py<{ size: number; head: string; mid: string; tail: string; across4g: string; extended: number; end: string }>(`
fd = os.open('sparse', os.O_CREAT | os.O_RDWR, 0o644)
os.pwrite(fd, b'Z', 5 * 2**30)
os.close(fd)
fd = os.open('sparse', os.O_RDONLY)
out = {'size': os.fstat(fd).st_size, 'head': os.pread(fd, 4096, 0).hex(), 'mid': os.pread(fd, 8, 3 * 2**30).hex(),
       'across4g': os.pread(fd, 8, 2**32 - 4).hex(), 'tail': os.pread(fd, 16, 5 * 2**30 - 2).hex()}
os.close(fd)
os.truncate('sparse', 6 * 2**30)
fd = os.open('sparse', os.O_RDONLY)
out['extended'] = os.fstat(fd).st_size
out['end'] = os.pread(fd, 8, 6 * 2**30 - 8).hex() + '|' + os.pread(fd, 3, 5 * 2**30 - 1).hex()
os.close(fd)
print(json.dumps(out))`);
    assert.equal(r.size, 5 * GIB + 1);
    assert.equal(r.head, '00'.repeat(4096));
    assert.equal(r.mid, '00'.repeat(8));
    assert.equal(r.across4g, '00'.repeat(8));
    assert.equal(r.tail, '00005a', 'two zeros, the byte, then EOF');
    assert.equal(r.extended, 6 * GIB);
    assert.equal(r.end, `${'00'.repeat(8)}|005a00`);
    // st_blocks follows the length, not the allocation (docs/semantics.md, "st_blocks").
    assert.equal((await bash(`stat -c %b sparse`, m.mnt)).trim(), String((6 * GIB) / 512));
  });

  test(`a directory of ${DIR_ENTRIES} entries is listed completely (ls -f | wc -l), and grows through the mount`, async () => {
    // The bulk of the entries goes straight into the database (creating 100,000 files through
    // FUSE one by one takes minutes and exercises nothing the other tests do not); the listing,
    // lookups and further creates go through the mount.
    await bash('mkdir many', m.mnt);
    const dir = Number((await bash('stat -c %i many', m.mnt)).trim());
    await bulkCreateFiles(m.metaUrl, dir, DIR_ENTRIES, (i) => `entry-${String(i).padStart(7, '0')}`);
    // Rows written straight into the database are announced to no mount: this one made `many`
    // and would answer its unknown names as missing (decision 89) until a restart.
    await restartOps();
    await m.stop();
    await m.remount();
    const added = 500;
    const started = Date.now();
    await python(`
import os, sys
for i in range(int(sys.argv[1]), int(sys.argv[2])):
    os.close(os.open('many/entry-%07d' % i, os.O_CREAT | os.O_WRONLY | os.O_EXCL, 0o644))`, m.mnt, [String(DIR_ENTRIES), String(DIR_ENTRIES + added)]);
    const created = Date.now() - started;
    const total = DIR_ENTRIES + added;
    const listStart = Date.now();
    const count = Number((await bash(`ls -f many | wc -l`, m.mnt)).trim());
    const listed = Date.now() - listStart;
    console.log(`created ${added} entries through the mount in a directory of ${DIR_ENTRIES} in ${created} ms; ls -f | wc -l of ${total} took ${listed} ms`);
    assert.equal(count, total + 2);
    const check = await python(`
import os, sys
names = os.listdir('many')
n = int(sys.argv[1])
st = os.stat('many/entry-%07d' % (n // 2))
print(len(names), len(set(names)), set(names) == {'entry-%07d' % i for i in range(n)}, oct(st.st_mode), st.st_size)`, m.mnt, [String(total)]);
    assert.equal(check.trim(), `${total} ${total} True 0o100644 0`);
  });

  test('unlink while open: readable and writable, never listed, no .fuse_hidden*, inode and space freed at close', async () => {
    const o = fsops();
    await o.ok({ op: 'mkdir', path: 'uwo', mode: 0o755 });
    const before = await dfUsed();
    await o.ok({ op: 'hopen', h: 1, path: 'uwo/victim', flags: 'creat' });
    assert.equal(await o.ok({ op: 'hwrite', h: 1, off: 0, len: 3 * 2 ** 20, seed: 1 }), 3 * 2 ** 20);
    const ino = Number((await bash(`stat -c %i uwo/victim`, m.mnt)).trim());
    await o.ok({ op: 'unlink', path: 'uwo/victim' });
    assert.equal(await o.ok({ op: 'hread', h: 1, off: 0, len: 4 * 2 ** 20 }), await payloadDigest(1, 3 * 2 ** 20));
    assert.deepEqual(await o.ok({ op: 'hstat', h: 1 }), { mode: '100644', nlink: 0, size: 3 * 2 ** 20 });
    assert.equal(await o.ok({ op: 'hwrite', h: 1, off: 3 * 2 ** 20, len: 10, seed: 2 }), 10);
    assert.deepEqual(await o.ok({ op: 'hstat', h: 1 }), { mode: '100644', nlink: 0, size: 3 * 2 ** 20 + 10 });
    assert.equal(await bash(`ls -a uwo`, m.mnt), '.\n..\n');
    assert.equal(await bash(`find . -name '.fuse_hidden*' | wc -l`, m.mnt), '0\n');
    assert.equal(await dbCount('SELECT count(*)::int AS n FROM node WHERE inode = $1', [ino]), 1, 'the open inode is kept');
    await o.ok({ op: 'hclose', h: 1 });
    assert.ok(await waitUntil(async () => (await dbCount('SELECT count(*)::int AS n FROM node WHERE inode = $1', [ino])) === 0, 10_000),
      `inode ${ino} still in the node table 10 s after the last close`);
    assert.ok(await waitUntil(async () => (await dfUsed()).bytes <= before.bytes, 10_000), `df used ${JSON.stringify(await dfUsed())}, before ${JSON.stringify(before)}`);
    assert.equal(await bash(`ls -a uwo; find . -name '.fuse_hidden*' | wc -l`, m.mnt), '.\n..\n0\n');
  });

  test('an unlinked open file stays usable after its directory is renamed, and after it is removed (own mount)', async () => {
    // On a mount of its own: this sequence has crashed the daemon (SIGSEGV), which must not take the other tests down.
    const own = await startMount('edge-unlinked', { meta: 'postgres', data: 's3' });
    const o = new FsOps(own.mnt);
    try {
      await o.ok({ op: 'mkdir', path: 'ud1', mode: 0o755 });
      await o.ok({ op: 'mkdir', path: 'ud2', mode: 0o755 });
      await o.ok({ op: 'hopen', h: 2, path: 'ud1/f', flags: 'creat' });
      await o.ok({ op: 'hopen', h: 3, path: 'ud2/f', flags: 'creat' });
      for (const h of [2, 3]) await o.ok({ op: 'hwrite', h, off: 0, len: 5000, seed: h });
      const heads = [await payloadDigest(2, 5000, 10), await payloadDigest(3, 5000, 10)];
      await o.ok({ op: 'unlink', path: 'ud1/f' });
      await o.ok({ op: 'unlink', path: 'ud2/f' });
      await o.ok({ op: 'rename', path: 'ud1', to: 'ud1-renamed' });
      await o.ok({ op: 'rmdir', path: 'ud2' });
      const results: Record<string, unknown> = {};
      for (const h of [2, 3]) {
        results[`fstat${h}`] = await o.call({ op: 'hstat', h });
        results[`write${h}`] = await o.call({ op: 'hwrite', h, off: 5000, len: 100, seed: 9 });
        results[`read${h}`] = await o.call({ op: 'hread', h, off: 0, len: 10 });
        results[`close${h}`] = await o.call({ op: 'hclose', h });
      }
      await sleep(500);
      results['daemon'] = /--- daemon exited.*/.exec(own.log())?.[0] ?? 'alive';
      const ok = { mode: '100644', nlink: 0, size: 5000 };
      // Every fd operation works, fstat included: the FUSE layer speaks inodes, so a removed
      // directory takes nothing from an open file inside it.
      assert.deepEqual(results, {
        fstat2: { ok }, write2: { ok: 100 }, read2: { ok: heads[0] }, close2: { ok: null },
        fstat3: { ok }, write3: { ok: 100 }, read3: { ok: heads[1] }, close3: { ok: null }, daemon: 'alive',
      }, 'fd 2: directory renamed; fd 3: directory removed');
    } finally {
      await o.close();
      await own.cleanup();
    }
  });

  test('a rename to a name like .fuse_hidden00000001 is an ordinary rename (the content stays, listed, renamed back)', async () => {
    await bash(`mkdir -p hid && printf 'keep me' > hid/a && mv hid/a hid/.fuse_hidden00000001`, m.mnt);
    assert.equal(await bash(`ls -A hid && cat hid/.fuse_hidden00000001`, m.mnt), '.fuse_hidden00000001\nkeep me');
    await bash(`mv hid/.fuse_hidden00000001 hid/b`, m.mnt);
    assert.equal(await bash(`ls -A hid && cat hid/b`, m.mnt), 'b\nkeep me');
  });

  test('rename over a file open for reading: the reader keeps the old content', async () => {
    const o = fsops();
    await bash(`printf 'old content' > ro-target && head -c 3000000 /dev/urandom > ro-new`, m.mnt);
    const newSum = await sha256File(join(m.mnt, 'ro-new'));
    await o.ok({ op: 'hopen', h: 4, path: 'ro-target', flags: 'rdonly' });
    await o.ok({ op: 'rename', path: 'ro-new', to: 'ro-target' });
    const expected = (await python(`import hashlib; print('11:' + hashlib.sha256(b'old content').hexdigest()[:16])`, '/')).trim();
    assert.equal(await o.ok({ op: 'hread', h: 4, off: 0, len: 100 }), expected);
    assert.equal(await sha256File(join(m.mnt, 'ro-target')), newSum);
    await o.ok({ op: 'hclose', h: 4 });
    assert.equal(await bash(`ls -a | grep -c fuse_hidden || true`, m.mnt), '0\n');
  });

  test('hard links of an open file: fstat counts the names left; a rename onto another of its names keeps both', async () => {
    const o = fsops();
    await bash(`printf 'linked' > hl-a && ln hl-a hl-b && ln hl-a hl-c`, m.mnt);
    await o.ok({ op: 'hopen', h: 6, path: 'hl-a', flags: 'rdonly' });
    await o.ok({ op: 'unlink', path: 'hl-a' });
    assert.deepEqual(await o.ok({ op: 'hstat', h: 6 }), { mode: '100644', nlink: 2, size: 6 });
    // hl-b and hl-c are names of one inode: POSIX makes this rename a no-op.
    await o.ok({ op: 'hopen', h: 7, path: 'hl-c', flags: 'rdonly' });
    await o.ok({ op: 'rename', path: 'hl-b', to: 'hl-c' });
    assert.equal(await bash(`ls hl-b hl-c && stat -c %h hl-c`, m.mnt), 'hl-b\nhl-c\n2\n');
    await o.ok({ op: 'hclose', h: 6 });
    await o.ok({ op: 'hclose', h: 7 });
  });

  test('a directory removed while open: fstat of its descriptor answers its mode and no links, as locally, until it is closed', async () => {
    const o = fsops();
    await bash('mkdir -m 750 gone-dir', m.mnt);
    await o.ok({ op: 'hopen', h: 9, path: 'gone-dir', flags: 'rdonly' });
    await o.ok({ op: 'rmdir', path: 'gone-dir' });
    assert.deepEqual(await o.ok({ op: 'hstat', h: 9 }), { mode: '40750', nlink: 0 });
    await o.ok({ op: 'hclose', h: 9 });
    assert.equal(await bash('test -e gone-dir && echo there || echo gone', m.mnt), 'gone\n');
  });

  test('O_APPEND, O_TRUNC and O_EXCL', async () => {
    const r = await py<Record<string, unknown>>(`${PY_ERR}
with open('flags', 'wb') as f:
    f.write(b'abc')
fd = os.open('flags', os.O_WRONLY | os.O_APPEND)
os.lseek(fd, 0, os.SEEK_SET)
os.write(fd, b'def')
os.pwrite(fd, b'ghi', 0)
os.close(fd)
out = {'append': open('flags', 'rb').read().decode()}
fd = os.open('flags', os.O_RDWR | os.O_TRUNC)
out['truncOpen'] = os.fstat(fd).st_size
os.write(fd, b'xy')
os.close(fd)
out['trunc'] = open('flags', 'rb').read().decode()
out['exclExisting'] = err(lambda: os.open('flags', os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644))
os.symlink('dangling-target', 'dangling')
out['exclSymlink'] = err(lambda: os.open('dangling', os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644))
out['exclNew'] = err(lambda: os.close(os.open('flags-new', os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)))
out['newMode'] = oct(os.stat('flags-new').st_mode)
print(json.dumps(out))`);
    assert.deepEqual(r, { append: 'abcdefghi', truncOpen: 0, trunc: 'xy', exclExisting: 'EEXIST', exclSymlink: 'EEXIST', exclNew: 'ok', newMode: '0o100600' });
  });

  test('statfs: df lists the mount; used bytes and used inodes grow with data and files', async () => {
    const line = (await bash(`df -B1 --output=source,fstype,target '${m.mnt}' | tail -1`, '/')).trim().split(/\s+/);
    assert.deepEqual(line, ['objectfs:vol', 'fuse.objectfs', m.mnt]);
    // Other tests' dead mounts (mount-cli) make plain df exit 1 while still listing the rest.
    const listed = await bash(`{ df -P 2>/dev/null || true; } | awk '{ print $6 }'`, '/');
    assert.ok(listed.split('\n').includes(m.mnt), 'plain df lists the mount');
    const before = await dfUsed();
    await bash(`mkdir statfs && for i in $(seq 1 20); do : > statfs/f$i; done && head -c 8388608 /dev/urandom > statfs/data`, m.mnt);
    const grown = await dfUsed();
    assert.ok(grown.bytes - before.bytes >= 8 * 2 ** 20, `df used went from ${before.bytes} to ${grown.bytes} after writing 8 MiB`);
    assert.ok(grown.inodes - before.inodes >= 22, `df -i used inodes went from ${before.inodes} to ${grown.inodes} after creating 22 inodes`);
  });

  test('a FIFO made by mkfifo is a FIFO (stat -c %F) and passes data', async () => {
    const out = await bash(`mkfifo fifo && stat -c %F fifo && ls -l fifo | cut -c1`, m.mnt);
    assert.equal(out, 'fifo\np\n');
    const r = await py<string>(`
fd = os.open('fifo', os.O_RDWR)
os.write(fd, b'ping')
print(json.dumps(os.read(fd, 4).decode()))
os.close(fd)`);
    assert.equal(r, 'ping');
  });

  test('a listed directory answers missing names from memory; --negative-timeout 0 asks for them (a rename written straight into PostgreSQL, announced to nobody)', async () => {
    await bash('mkdir listed && touch listed/old1 listed/old2', m.mnt);
    const renameInDatabase = async (from: string, to: string): Promise<void> => {
      const client = new pg.Client({ connectionString: m.metaUrl });
      await client.connect();
      try {
        const { rowCount } = await client.query(
          `UPDATE edge SET name = convert_to($2, 'UTF8')
           WHERE parent = (SELECT inode FROM edge WHERE parent = 1 AND name = convert_to('listed', 'UTF8')) AND name = convert_to($1, 'UTF8')`, [from, to]);
        assert.equal(rowCount, 1);
      } finally {
        await client.end();
      }
    };
    const statOf = (name: string) => py<string>(`
try:
    os.stat('listed/${name}'); print(json.dumps('ok'))
except OSError as e:
    print(json.dumps(errno.errorcode[e.errno]))`);
    await restartOps();
    for (const [args, from, to, expected] of [[[], 'old1', 'new1', 'ENOENT'], [['--negative-timeout', '0'], 'old2', 'new2', 'ok']] as const) {
      // A fresh daemon: the directory is known here only from the listing below.
      await m.stop();
      await m.remount([...args]);
      assert.equal(await bash('ls listed | wc -l', m.mnt), '2\n');
      await renameInDatabase(from, to);
      assert.equal(await statOf(to), expected, `after a listing, with ${args.length === 0 ? 'the defaults' : args.join(' ')}`);
    }
    await m.stop();
    await m.remount();
    assert.equal(await statOf('new1'), 'ok', 'a new mount asks the database');
  });

  test('writes are intact after a clean unmount and remount', async () => {
    await bash(`mkdir persist && printf small > persist/small && head -c 5000000 /dev/urandom > persist/big && ln -s big persist/link && chmod 640 persist/big && mkfifo persist/fifo`, m.mnt);
    const sum = await sha256File(join(m.mnt, 'persist/big'));
    await restartOps();
    await m.stop();
    await m.remount();
    assert.equal(await sha256File(join(m.mnt, 'persist/big')), sum);
    assert.equal(await bash(`cat persist/small; echo; readlink persist/link; stat -c '%a %s' persist/big; stat -c %F persist/fifo`, m.mnt),
      'small\nbig\n640 5000000\nfifo\n');
  });

  test('after kill -9 of the daemon and a remount, every file closed before the kill reads back intact', async () => {
    await bash(`mkdir crash && for i in 1 2 3 4 5; do head -c $((i * 700000 + 13)) /dev/urandom > crash/f$i; done && printf tiny > crash/tiny`, m.mnt);
    const sums: string[] = [];
    for (const f of ['f1', 'f2', 'f3', 'f4', 'f5', 'tiny']) sums.push(await sha256File(join(m.mnt, 'crash', f)));
    await restartOps();
    await m.kill();
    await m.remount();
    const after: string[] = [];
    for (const f of ['f1', 'f2', 'f3', 'f4', 'f5', 'tiny']) after.push(await sha256File(join(m.mnt, 'crash', f)));
    assert.deepEqual(after, sums);
    assert.equal(await bash(`ls crash | tr '\\n' ' '; find . -name '.fuse_hidden*' | wc -l`, m.mnt), 'f1 f2 f3 f4 f5 tiny 0\n');
  });
});
