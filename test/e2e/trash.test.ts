/**
 * The trash through a real mount (PostgreSQL + S3, attribute and entry timeouts 0, trash 1
 * day; decision 78): rm and mv-over put files in /.trash, which `ls -la /` does not show, root
 * can read and other users cannot, and nothing can be created in or moved into; a file
 * deleted while open stays usable; `objectfs trash` lists and `objectfs restore` brings files
 * back with the same content, owner, mode, times and xattrs; root's rm in the trash deletes.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmod } from 'node:fs/promises';
import { join } from 'node:path';
import { startMount, type TestMount } from '../support/mounted.js';
import { bash, PY_ERR, python, run, sha256File } from '../support/e2e-sh.js';
import { runCli } from '../support/cli.js';

let m: TestMount;

before(async () => {
  m = await startMount('trash', { meta: 'postgres', data: 's3', trashDays: 1, args: ['--attr-timeout', '0', '--entry-timeout', '0'] });
  await chmod(m.dir, 0o755); // other users must reach the mount point
});

after(async () => {
  await m?.cleanup();
});

interface Listed { entries: { path: string; name: string; size: number }[]; total: { entries: number } }

async function trashList(): Promise<Listed> {
  const r = await runCli(['trash', m.metaUrl, '--json']);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as Listed;
}

/** What must come back unchanged: type and mode, owner, size, atime and mtime (ns), xattr. */
async function identity(path: string): Promise<string> {
  return python(`
import os, json, sys
st = os.lstat(sys.argv[1])
print(json.dumps([st.st_mode, st.st_uid, st.st_gid, st.st_size, st.st_atime_ns, st.st_mtime_ns, os.getxattr(sys.argv[1], 'user.tag').decode()]))`, m.mnt, [path]);
}

describe('trash on a mount', () => {
  test('rm and mv over: hidden, root only, read-only; restore gives back the same file', async () => {
    await bash('mkdir -p d && head -c 3000000 /dev/urandom > d/f && echo replaced > d/g && echo new > d/h', m.mnt);
    await python(`
import os
os.chown('d/f', 1234, 1234)
os.chmod('d/f', 0o640)
os.setxattr('d/f', 'user.tag', b'kept')
os.utime('d/f', ns=(1609556645500000000, 1577934245123456789))`, m.mnt);
    const before = await identity('d/f');
    const sum = await sha256File(join(m.mnt, 'd/f'));
    await bash('rm d/f && mv d/h d/g', m.mnt);
    assert.equal(await bash('ls -a d', m.mnt), '.\n..\ng\n');
    assert.doesNotMatch(await bash('ls -la /dev/null .', m.mnt), /\.trash/, 'ls -la of the root does not show .trash');
    assert.match(await bash('stat -c %a:%u .trash', m.mnt), /^700:0\n$/);
    const hours = (await bash('ls .trash', m.mnt)).trim().split('\n');
    assert.equal(hours.length, 1);
    assert.match(hours[0]!, /^\d{4}-\d{2}-\d{2}-\d{2}$/);
    const entries = (await bash(`ls .trash/${hours[0]}`, m.mnt)).trim().split('\n');
    assert.equal(entries.length, 2, entries.join(','));
    const alice = await run('setpriv', ['--reuid=1234', '--regid=1234', '--clear-groups', 'ls', join(m.mnt, '.trash')]);
    assert.notEqual(alice.code, 0, 'another user cannot read the trash');
    assert.match(alice.stderr, /Permission denied/);
    const refusals = JSON.parse(await python(`${PY_ERR}
import json, os
hour = os.listdir('.trash')[0]
print(json.dumps([
  err(lambda: open('.trash/%s/x' % hour, 'w')),
  err(lambda: os.rename('d/g', '.trash/%s/g' % hour)),
  err(lambda: os.rename('d/g', '.trash')),
  err(lambda: (os.mkdir('e'), os.rename('e', '.trash'))),
  err(lambda: os.mkdir('.trash/y')),
  err(lambda: os.rename('.trash', 'elsewhere')),
]))`, m.mnt)) as string[];
    // A file over the .trash directory is the kernel's EISDIR; an empty directory over it reaches us.
    assert.deepEqual(refusals, ['EPERM', 'EPERM', 'EISDIR', 'EPERM', 'EPERM', 'ENOENT']);

    const listed = await trashList();
    const f = listed.entries.find((e) => e.name === 'f');
    assert.ok(f !== undefined && f.size === 3_000_000, JSON.stringify(listed));
    const r = await runCli(['restore', m.metaUrl, f.path]);
    assert.equal(r.code, 0, r.stderr + r.stdout);
    assert.equal(await sha256File(join(m.mnt, 'd/f')), sum, 'the restored file has the same bytes');
    assert.equal(await identity('d/f'), before, 'owner, mode, size, times and xattrs as they were');
    const again = await runCli(['restore', m.metaUrl, '--all']);
    assert.equal(again.code, 1, 'g exists: not overwritten');
    assert.equal(await bash('cat d/g', m.mnt), 'new\n');

    // Root's rm in the trash really deletes.
    const g = (await trashList()).entries[0]!;
    await bash(`rm '.trash/${g.path}'`, m.mnt);
    assert.equal((await trashList()).total.entries, 0);
  });

  test('a file removed while open stays readable and writable through its descriptor', async () => {
    const out = await python(`
import os
fd = os.open('open-rm', os.O_CREAT | os.O_RDWR, 0o644)
os.write(fd, b'still here')
os.unlink('open-rm')
os.lseek(fd, 0, 0)
data = os.read(fd, 100)
os.write(fd, b'!')
print(data.decode(), os.fstat(fd).st_size)
os.close(fd)`, m.mnt);
    assert.equal(out, 'still here 11\n');
    const listed = await trashList();
    const e = listed.entries.find((x) => x.name === 'open-rm');
    assert.equal(e?.size, 11, 'it is in the trash, with what was written after the rm');
  });
});

