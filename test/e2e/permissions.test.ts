/**
 * Ownership and permission checks with non-root callers on a real mount (PostgreSQL + S3,
 * mounted by root with the default allow_other, attribute timeouts 0). Callers are made with
 * `setpriv --reuid --regid --groups` (no passwd entries needed): "alice" 1234:1234, "bob"
 * 2345:2345, and a shared group 3456.
 *
 * New files must belong to the calling process's uid/gid (not the daemon's), and the kernel's
 * default_permissions checks must then follow from those owners. A mount by root lets other
 * users in without --allow-other (JuiceFS does the same); --no-allow-other keeps them out.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, readdir } from 'node:fs/promises';
import { startMount, type TestMount } from '../support/mounted.js';
import { ok, python } from '../support/e2e-sh.js';

const ALICE = { uid: 1234, gid: 1234, groups: [3456] };
const BOB = { uid: 2345, gid: 2345, groups: [] as number[] };
const SHARED_GID = 3456;
// No --allow-other: a mount made by root lets other users in by default.
const ARGS = ['--attr-timeout', '0', '--entry-timeout', '0'];

let m: TestMount;

before(async () => {
  m = await startMount('perm', { meta: 'postgres', data: 's3', args: ARGS });
  await chmod(m.dir, 0o755); // mkdtemp made it 0700: other users must be able to reach the mount point
});

after(async () => {
  await m?.cleanup();
});

const PRELUDE = `
import errno, json, os, sys
os.umask(0o022)
def err(f):
    try:
        r = f()
        return 'ok' if r is None or isinstance(r, int) else r
    except OSError as e:
        return errno.errorcode[e.errno]
def owner(p):
    st = os.lstat(p)
    return [st.st_uid, st.st_gid, oct(st.st_mode)]
`;

/** Runs a Python snippet printing one JSON value, as `who` (or as root), with cwd = the mount. */
async function as<T>(who: { uid: number; gid: number; groups: number[] } | 'root', script: string): Promise<T> {
  const code = `${PRELUDE}\n${script}`;
  if (who === 'root') return JSON.parse(await python(code, m.mnt)) as T;
  const groups = who.groups.length > 0 ? [`--groups=${who.groups.join(',')}`] : ['--clear-groups'];
  // /usr/bin/python3: root's pyenv shims are not readable by other users.
  const out = await ok('setpriv', [`--reuid=${who.uid}`, `--regid=${who.gid}`, ...groups, '/usr/bin/python3', '-c', code], { cwd: m.mnt });
  return JSON.parse(out) as T;
}

describe('non-root callers', () => {
  before(async () => {
    await as('root', `
os.mkdir('shared'); os.chmod('shared', 0o1777)
os.mkdir('closed'); os.chmod('closed', 0o755)
os.mkdir('sgid'); os.chown('sgid', 0, ${SHARED_GID}); os.chmod('sgid', 0o2777)
print('null')`);
  });

  test('mounted by root with the defaults: another user reads a 0644 file of root\'s, not a 0600 one', async () => {
    await as('root', `
with open('root-0644', 'w') as f: f.write('open to all')
with open('root-0600', 'w') as f: f.write('root only')
os.chmod('root-0600', 0o600)
print('null')`);
    const r = await as<Record<string, string>>(ALICE, `
print(json.dumps({'0644': err(lambda: open('root-0644').read()), '0600': err(lambda: open('root-0600').read())}))`);
    assert.deepEqual(r, { '0644': 'open to all', '0600': 'EACCES' });
  });

  test('files, directories, symlinks and FIFOs belong to the calling user and group', async () => {
    const r = await as(ALICE, `
with open('shared/a-file', 'w') as f:
    f.write('alice')
os.mkdir('shared/a-dir', 0o755)
os.symlink('a-file', 'shared/a-link')
os.mkfifo('shared/a-fifo', 0o644)
print(json.dumps({p: owner('shared/' + p)[:2] for p in ['a-file', 'a-dir', 'a-link', 'a-fifo']}))`);
    const mine = [ALICE.uid, ALICE.gid];
    assert.deepEqual(r, { 'a-file': mine, 'a-dir': mine, 'a-link': mine, 'a-fifo': mine });
    assert.equal(await ok('stat', ['-c', '%u:%g %U', 'shared/a-file'], { cwd: m.mnt }), `${ALICE.uid}:${ALICE.gid} UNKNOWN\n`);
  });

  test('a 0600 file: its owner reads and writes it, another user gets EACCES, root may', async () => {
    const made = await as(ALICE, `
fd = os.open('shared/private', os.O_CREAT | os.O_WRONLY | os.O_EXCL, 0o600)
os.write(fd, b'secret'); os.close(fd)
print(json.dumps({'read': open('shared/private').read(), 'append': err(lambda: open('shared/private', 'a').write('!'))}))`);
    assert.deepEqual(made, { read: 'secret', append: 'ok' });
    const bob = await as<Record<string, string>>(BOB, `
print(json.dumps({'read': err(lambda: open('shared/private').read()), 'write': err(lambda: os.open('shared/private', os.O_WRONLY)),
                  'access': str(os.access('shared/private', os.R_OK))}))`);
    assert.deepEqual(bob, { read: 'EACCES', write: 'EACCES', access: 'False' });
    assert.equal(await as('root', `print(json.dumps(open('shared/private').read()))`), 'secret!');
  });

  test('chmod, chown and explicit utime of another user\'s file are EPERM; touch (now) needs only write access', async () => {
    await as(ALICE, `
fd = os.open('shared/open-to-all', os.O_CREAT | os.O_WRONLY, 0o666); os.close(fd); os.chmod('shared/open-to-all', 0o666)
print('null')`);
    const bob = await as(BOB, `
print(json.dumps({'chmod': err(lambda: os.chmod('shared/open-to-all', 0o777)),
  'chown': err(lambda: os.chown('shared/open-to-all', ${BOB.uid}, -1)),
  'utimeExplicit': err(lambda: os.utime('shared/open-to-all', (1, 1))),
  'utimeNow': err(lambda: os.utime('shared/open-to-all', None)),
  'write': err(lambda: open('shared/open-to-all', 'w').write('bob was here'))}))`);
    assert.deepEqual(bob, { chmod: 'EPERM', chown: 'EPERM', utimeExplicit: 'EPERM', utimeNow: 'ok', write: 'ok' });
    const alice = await as(ALICE, `
print(json.dumps({'giveAway': err(lambda: os.chown('shared/open-to-all', ${BOB.uid}, -1)),
  'chgrpMember': err(lambda: os.chown('shared/open-to-all', -1, ${SHARED_GID})),
  'chgrpOther': err(lambda: os.chown('shared/open-to-all', -1, ${BOB.gid})),
  'owner': owner('shared/open-to-all')}))`);
    assert.deepEqual(alice, { giveAway: 'EPERM', chgrpMember: 'ok', chgrpOther: 'EPERM', owner: [ALICE.uid, SHARED_GID, '0o100666'] });
  });

  test('sticky directory: another user cannot unlink or rename your file; you can', async () => {
    await as(ALICE, `open('shared/sticky-victim', 'w').close(); print('null')`);
    const bob = await as(BOB, `
print(json.dumps({'unlink': err(lambda: os.unlink('shared/sticky-victim')),
  'rename': err(lambda: os.rename('shared/sticky-victim', 'shared/stolen'))}))`);
    assert.deepEqual(bob, { unlink: 'EPERM', rename: 'EPERM' });
    assert.equal(await as(ALICE, `print(json.dumps(err(lambda: os.unlink('shared/sticky-victim'))))`), 'ok');
  });

  test('a directory without write permission: create, mkdir and unlink are EACCES', async () => {
    await as('root', `open('closed/roots', 'w').close(); print('null')`);
    const r = await as(ALICE, `
print(json.dumps({'create': err(lambda: os.open('closed/x', os.O_CREAT | os.O_WRONLY, 0o644)),
  'mkdir': err(lambda: os.mkdir('closed/d')), 'unlink': err(lambda: os.unlink('closed/roots')),
  'list': sorted(os.listdir('closed'))}))`);
    assert.deepEqual(r, { create: 'EACCES', mkdir: 'EACCES', unlink: 'EACCES', list: ['roots'] });
  });

  test('setgid directory: new entries take its group, new subdirectories keep the bit', async () => {
    const r = await as(BOB, `
open('sgid/f', 'w').close()
os.mkdir('sgid/d', 0o755)
print(json.dumps({'f': owner('sgid/f'), 'd': owner('sgid/d')}))`);
    assert.deepEqual(r, { f: [BOB.uid, SHARED_GID, '0o100644'], d: [BOB.uid, SHARED_GID, '0o42755'] });
  });

  test('a write by another user clears the setuid bit', async () => {
    await as(ALICE, `
fd = os.open('shared/suid', os.O_CREAT | os.O_WRONLY, 0o777); os.close(fd); os.chmod('shared/suid', 0o4777)
print('null')`);
    const r = await as(BOB, `
with open('shared/suid', 'a') as f:
    f.write('x')
print(json.dumps(owner('shared/suid')))`);
    assert.deepEqual(r, [ALICE.uid, ALICE.gid, '0o100777']);
  });

  test('owners set by root (chown) and by users survive a remount', async () => {
    await as('root', `os.chown('shared/a-file', ${BOB.uid}, ${BOB.gid}); print('null')`);
    await m.stop();
    await m.remount();
    const r = await as('root', `print(json.dumps({p: owner('shared/' + p)[:2] for p in ['a-file', 'a-dir', 'private']}))`);
    assert.deepEqual(r, { 'a-file': [BOB.uid, BOB.gid], 'a-dir': [ALICE.uid, ALICE.gid], private: [ALICE.uid, ALICE.gid] });
  });
});

describe('--no-allow-other', () => {
  test('only the mounting user may enter the mount', async () => {
    const own = await startMount('perm-own', { meta: 'pglite', data: 'file', args: ['--no-allow-other'] });
    try {
      await chmod(own.dir, 0o755);
      const code = `import errno, os\ntry:\n    os.listdir('${own.mnt}')\n    print('ok')\nexcept OSError as e:\n    print(errno.errorcode[e.errno])`;
      const out = await ok('setpriv', [`--reuid=${ALICE.uid}`, `--regid=${ALICE.gid}`, '--clear-groups', '/usr/bin/python3', '-c', code]);
      assert.equal(out.trim(), 'EACCES');
      assert.deepEqual(await readdir(own.mnt), []);
    } finally {
      await own.cleanup();
    }
  });
});
