/**
 * Ordinary tools on a real ObjectFS mount (PostgreSQL + S3, default mount options) give
 * the same results as on a local directory under os.tmpdir(): cp -a, rsync -a, tar, mv, find,
 * du, ln, git, Python's shutil/os.replace and sqlite3. Each test runs the same commands in
 * `<local>/<name>` and `<mnt>/<name>` and compares what must match: paths, types, permission
 * bits, link counts, sizes, content hashes, symlink targets, and mtimes to the nanosecond where
 * the tool preserves them. Directory sizes are never compared (ext4 says 4096, ObjectFS 0).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startMount, type TestMount } from '../support/mounted.js';
import { bash, localDir, ok, python, snapshot } from '../support/e2e-sh.js';
import { buildTree, TREE_FILE_BYTES } from '../support/e2e-tree.js';

let m: TestMount;
let src: string;
let local: string;
let scratch: string;

/** The same work in a local directory and on the mount: `[local, mount]` roots for one test. */
async function sides(name: string): Promise<[string, string]> {
  const roots: [string, string] = [join(local, name), join(m.mnt, name)];
  for (const r of roots) await mkdir(r);
  return roots;
}

/** Runs `script` in both roots; returns `[localStdout, mountStdout]`. */
async function onBoth(roots: readonly [string, string], script: string, env: NodeJS.ProcessEnv = {}): Promise<[string, string]> {
  return [await bash(script, roots[0], env), await bash(script, roots[1], env)];
}

/** Snapshots of the same subpath on both sides, asserted equal; returns the local one. */
async function sameTree(roots: readonly [string, string], sub: string, opts: Parameters<typeof snapshot>[1], what: string): Promise<string[]> {
  const [l, r] = [await snapshot(join(roots[0], sub), opts), await snapshot(join(roots[1], sub), opts)];
  assert.deepEqual(r, l, `${what}: the tree on the mount differs from the local one`);
  return l;
}

before(async () => {
  m = await startMount('tools', { meta: 'postgres', data: 's3' });
  local = await localDir('tools');
  scratch = await localDir('tools-scratch');
  src = join(scratch, 'src');
  await mkdir(src);
  await buildTree(src);
});

after(async () => {
  await m?.cleanup();
  for (const d of [local, scratch]) if (d) await rm(d, { recursive: true, force: true });
});

describe('tools on the mount behave as on a local directory', () => {
  test('cp -a keeps modes, ns mtimes (files, dirs, symlink), hard links and contents', async () => {
    const roots = await sides('cp');
    await onBoth(roots, `cp -a '${src}' tree`);
    const srcSnap = await snapshot(src, { mtime: true, dirTimes: true });
    const l = await sameTree(roots, 'tree', { mtime: true, dirTimes: true }, 'cp -a');
    assert.deepEqual(l, srcSnap, 'local cp -a is the reference and must equal the source');
  });

  test('rsync -a keeps modes, ns mtimes and contents', async () => {
    const roots = await sides('rsync');
    await onBoth(roots, `rsync -a '${src}/' tree/`);
    await sameTree(roots, 'tree', { mtime: true, dirTimes: true }, 'rsync -a');
    // A second run finds nothing to transfer on either side (sizes and mtimes match the source).
    const [l, r] = await onBoth(roots, `rsync -a --itemize-changes '${src}/' tree/`);
    assert.equal(l, '');
    assert.equal(r, '', 'rsync sees differences on the mount right after copying');
  });

  test('tar (pax, ns times) extracts identically; sha256sum of every file; tar of the mount reads back', async () => {
    const roots = await sides('tar');
    const archive = join(scratch, 'tree.tar');
    await ok('tar', ['--format=posix', '-cf', archive, '-C', src, '.']);
    await onBoth(roots, `mkdir x && tar -xpf '${archive}' -C x`);
    const sums = `find . -type f -print0 | sort -z | xargs -0 sha256sum`;
    const [l, r] = await onBoth(roots.map((x) => join(x, 'x')) as [string, string], sums);
    assert.equal(l, await bash(sums, src));
    assert.equal(r, l, 'sha256sum of the files extracted on the mount');
    // The other direction: archive the tree on the mount, extract it locally.
    await bash(`mkdir back && tar -C '${join(roots[1], 'x')}' --format=posix -cf - . | tar -xpf - -C back`, roots[0]);
    assert.deepEqual(await snapshot(join(roots[0], 'back')), await snapshot(src), 'tar of the mount, extracted locally');
    await sameTree(roots, 'x', { mtime: true, dirTimes: true }, 'tar -x');
  });

  test('mv across directories (files, a directory, over an existing file) keeps inodes and attributes', async () => {
    const roots = await sides('mv');
    const script = `
      rsync -a '${src}/' t/
      mkdir t/dest
      stat -c %i t/d1/one t/d1/d2 > ino.before
      mv t/d1/one t/dest/
      mv t/d1/d2 t/dest/d2-moved
      printf old > t/dest/victim
      mv 't/sp ace/a file' t/dest/victim
      mv t/empty-dir t/private/
      stat -c %i t/dest/one t/dest/d2-moved > ino.after
      cmp ino.before ino.after
      test ! -e t/d1/one && test ! -e t/d1/d2 && test ! -e 't/sp ace/a file'
      cat t/dest/victim`;
    const [l, r] = await onBoth(roots, script);
    assert.equal(l, 'spaces\n');
    assert.equal(r, l);
    await sameTree(roots, 't', { mtime: true }, 'mv');
  });

  test('mv from a local disk onto the mount (copy + unlink) keeps modes and ns mtimes', async () => {
    const roots = await sides('mvx');
    const staged = [join(scratch, 'mvx-l'), join(scratch, 'mvx-r')];
    for (const s of staged) await ok('cp', ['-a', src, s]);
    await ok('mv', [staged[0] as string, join(roots[0], 'tree')]);
    await ok('mv', [staged[1] as string, join(roots[1], 'tree')]);
    const l = await sameTree(roots, 'tree', { mtime: true, dirTimes: true }, 'mv onto the mount');
    assert.deepEqual(l, await snapshot(src, { mtime: true, dirTimes: true }));
  });

  test("find -printf '%p %s %m %n %y' | sort is identical (directory sizes masked)", async () => {
    const roots = await sides('find');
    // Directory sizes (%s of a 'd' line) are filesystem-specific: masked as '-'.
    const script = `rsync -aH '${src}/' t/ && cd t && find . -printf '%p %s %m %n %y\\n' | sort | awk '$NF == "d" { $(NF-3) = "-" } { print }'`;
    const [l, r] = await onBoth(roots, script);
    assert.equal(r, l);
    assert.match(l, /^\.\/d1\/d2\/d3\/m1 1048579 644 2 f$/m);
    assert.match(l, /^\.\/link 11 777 1 l$/m);
    assert.equal(l.trim().split('\n').length, 17);
  });

  test('du -sb (apparent sizes) adds up the same bytes besides directory sizes', async () => {
    const roots = await sides('du');
    const script = `rsync -aH '${src}/' t/ && du -sb t | cut -f1 && find t -type d -printf '%s\\n' | awk '{ s += $1 } END { print s + 0 }'`;
    const [l, r] = await onBoth(roots, script);
    const net = (out: string) => { const [total, dirs] = out.trim().split('\n').map(Number); return (total ?? NaN) - (dirs ?? NaN); };
    assert.equal(net(l), TREE_FILE_BYTES + 'd1/d2/f4096'.length, 'local reference');
    assert.equal(net(r), net(l), `du -sb on the mount: ${r.trim().split('\n').join(' total, ')} dirs`);
  });

  test('ln: hard link counts and shared inode across three names, after rm and rename', async () => {
    const roots = await sides('ln');
    const script = `
      printf data > a && mkdir sub
      ln a b && ln b sub/c
      stat -c '%h %s' a b sub/c
      [ "$(stat -c %i a)" = "$(stat -c %i sub/c)" ] && echo same-inode
      rm a && stat -c %h b sub/c
      mv b b2 && stat -c %h b2 && cat sub/c
      echo more >> b2 && cat sub/c
      python3 -c "import os; os.link('sub', 'sub2')" 2>&1 | tail -1 | sed 's/:.*//' || true
      rm b2 sub/c && ls -A | sort`;
    const [l, r] = await onBoth(roots, script);
    assert.equal(l, '3 4\n3 4\n3 4\nsame-inode\n2\n2\n2\ndatadatamore\nPermissionError\nsub\n');
    assert.equal(r, l);
  });

  test('git init/add/commit/log on the mount; clone mount → local → mount', async () => {
    const roots = await sides('git');
    const env = {
      GIT_AUTHOR_NAME: 'E2E', GIT_AUTHOR_EMAIL: 'e2e@example.com', GIT_COMMITTER_NAME: 'E2E', GIT_COMMITTER_EMAIL: 'e2e@example.com',
      GIT_AUTHOR_DATE: '2024-01-02T03:04:05Z', GIT_COMMITTER_DATE: '2024-01-02T03:04:05Z', GIT_CONFIG_NOSYSTEM: '1', HOME: scratch,
    };
    // Same content and dates on both sides → the same commit hashes.
    const script = `
      git init -q -b main repo && cd repo
      rsync -a --exclude big5 '${src}/' .
      git add -A && git commit -qm first
      echo change >> d1/one && git mv 'sp ace' spaced && git commit -qam second
      git log --format='%H %T %s'
      git fsck --full --strict 2>&1
      git status --porcelain`;
    const [l, r] = await onBoth(roots, script, env);
    assert.equal(l.trim().split('\n').length, 2, l);
    assert.equal(r, l);
    const log = `git log --format='%H %T %s' && git fsck --full 2>&1 && git status --porcelain`;
    await bash(`git clone -q '${join(roots[1], 'repo')}' from-mount`, roots[0], env);
    await bash(`git clone -q '${join(roots[0], 'from-mount')}' back`, roots[1], env);
    assert.equal(await bash(log, join(roots[0], 'from-mount'), env), l);
    assert.equal(await bash(log, join(roots[1], 'back'), env), l);
    const work = (s: string[]) => s.filter((x) => !x.startsWith('.git'));
    assert.deepEqual(work(await snapshot(join(roots[1], 'back'))), work(await snapshot(join(roots[0], 'from-mount'))));
  });

  test('Python shutil.copy2 (data, mode, ns times, xattrs) and os.replace over a file open for reading', async () => {
    const roots = await sides('py');
    const script = `
import json, os, shutil
with open('src.bin', 'wb') as f:
    f.write(bytes(range(256)) * 4099)
os.chmod('src.bin', 0o640)
os.setxattr('src.bin', 'user.tag', b'v1')
os.utime('src.bin', ns=(1500000000111111111, 1600000000222222222))
shutil.copy2('src.bin', 'copy.bin')
st = os.stat('copy.bin')
with open('target', 'wb') as f:
    f.write(b'old')
reader = open('target', 'rb')
with open('target.tmp', 'wb') as f:
    f.write(b'new contents')
    f.flush()
    os.fsync(f.fileno())
os.replace('target.tmp', 'target')
old = reader.read()
reader.close()
print(json.dumps({
    'mode': oct(st.st_mode), 'mtime_ns': st.st_mtime_ns, 'size': st.st_size,
    'same_data': open('copy.bin', 'rb').read() == open('src.bin', 'rb').read(),
    'xattr': os.getxattr('copy.bin', 'user.tag').decode(),
    'old': old.decode(), 'new': open('target', 'rb').read().decode(), 'names': sorted(os.listdir('.')),
}, sort_keys=True))`;
    const l = await python(script, roots[0]);
    const r = await python(script, roots[1]);
    assert.deepEqual(JSON.parse(l), {
      mode: '0o100640', mtime_ns: 1600000000222222222, size: 256 * 4099, same_data: true, xattr: 'v1',
      old: 'old', new: 'new contents', names: ['copy.bin', 'src.bin', 'target'],
    });
    assert.deepEqual(JSON.parse(r), JSON.parse(l));
  });

  test('setfattr and getfattr (Debian attr): set, dump and remove user xattrs, the same on the mount as locally', async () => {
    const roots = await sides('fattr');
    const dumps: string[] = [];
    for (const root of roots) {
      await writeFile(join(root, 'f'), 'x');
      await ok('setfattr', ['-n', 'user.color', '-v', 'blue', join(root, 'f')]);
      await ok('setfattr', ['-n', 'user.bin', '-v', '0x00ff10', join(root, 'f')]);
      await ok('setfattr', ['-n', 'user.gone', '-v', 'x', join(root, 'f')]);
      await ok('setfattr', ['-x', 'user.gone', join(root, 'f')]);
      dumps.push(await ok('getfattr', ['--absolute-names', '-d', '-e', 'hex', '-m', '^user\\.', join(root, 'f')]));
    }
    const body = (d: string) => d.split('\n').filter((line) => line.startsWith('user.')).sort();
    assert.deepEqual(body(dumps[0] as string), ['user.bin=0x00ff10', 'user.color=0x626c7565']);
    assert.deepEqual(body(dumps[1] as string), body(dumps[0] as string));
  });

  test('sqlite3: 1,000 rows in one transaction, queried from a new process (rollback journal and WAL)', async () => {
    const roots = await sides('sqlite');
    const rows = Array.from({ length: 1000 }, (_, i) => `INSERT INTO t (v, s) VALUES (${i * 7 + 1}, '${'x'.repeat(i % 97)}');`);
    const sql = `CREATE TABLE t (id INTEGER PRIMARY KEY, v INTEGER NOT NULL, s TEXT);\nBEGIN;\n${rows.join('\n')}\nCOMMIT;\n`;
    for (const root of roots) await writeFile(join(root, 'load.sql'), sql);
    const query = `SELECT count(*), sum(v), sum(length(s)) FROM t; PRAGMA integrity_check;`;
    const script = `
      sqlite3 rb.db < load.sql
      sqlite3 wal.db 'PRAGMA journal_mode=WAL;' < /dev/null > /dev/null && sqlite3 wal.db < load.sql
      sqlite3 rb.db "${query}"
      sqlite3 wal.db "${query}"
      find . -name '*-journal' -o -name '*-wal' -o -name '*-shm' | wc -l`;
    const [l, r] = await onBoth(roots, script);
    const sumV = (999 * 1000 / 2) * 7 + 1000;
    const sumLen = Array.from({ length: 1000 }, (_, i) => i % 97).reduce((a, b) => a + b, 0);
    const expected = `1000|${sumV}|${sumLen}\nok\n`;
    assert.equal(l, `${expected}${expected}0\n`);
    assert.equal(r, l);
    assert.equal((await readFile(join(roots[1], 'rb.db'))).subarray(0, 16).toString('latin1'), 'SQLite format 3\0');
  });
});
