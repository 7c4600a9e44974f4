/**
 * Names are bytes: names, symlink targets and xattr names that are not valid UTF-8 must survive
 * byte for byte — through the mount (listdir, open, rename, link, readlink, getxattr/listxattr),
 * in the metadata database (edge.name, symlink.target, xattr.name are bytea), across a remount,
 * and through ordinary tools (find -print0, tar). The 255-byte limit counts bytes, not
 * characters. The mount runs on PostgreSQL + S3.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import pg from 'pg';
import { startMount, type TestMount } from '../support/mounted.js';
import { bash, localDir, ok } from '../support/e2e-sh.js';

/** Raw names as hex (JSON-safe): Latin-1 é, invalid bytes, a UTF-8 surrogate, valid UTF-8, control bytes. */
const NAMES_HEX = ['636166e9', 'fffe', '80616263', '6f6b2dc3a9', 'eda080', '6e6c0a01', 'c0af', 'f8888080'];
const TARGET_HEX = '746172ff676574'; // "tar\xffget"

let m: TestMount;
let local: string;

before(async () => {
  m = await startMount('names', { meta: 'postgres', data: 's3' });
  local = await localDir('names');
});

after(async () => {
  await m?.cleanup();
  if (local) await rm(local, { recursive: true, force: true });
});

/** Runs a Python snippet on the mount with bytes paths; it prints one JSON value. */
async function py<T>(script: string, cwd = m.mnt): Promise<T> {
  const prelude = `import errno, json, os\nNAMES = [bytes.fromhex(h) for h in ${JSON.stringify(NAMES_HEX)}]\nTARGET = bytes.fromhex('${TARGET_HEX}')\n`;
  return JSON.parse(await ok('python3', ['-c', prelude + script], { cwd })) as T;
}

async function query<T>(sql: string, params: unknown[] = []): Promise<T[]> {
  const client = new pg.Client({ connectionString: m.metaUrl });
  await client.connect();
  try {
    return (await client.query(sql, params)).rows as T[];
  } finally {
    await client.end();
  }
}

test('non-UTF-8 names: create, list, read, rename, link and symlink targets are byte-exact', async () => {
  const r = await py<Record<string, unknown>>(`
os.mkdir(b'nb')
for n in NAMES:
    with open(b'nb/' + n, 'wb') as f:
        f.write(n)
out = {'listed': sorted(x.hex() for x in os.listdir(b'nb')),
       'contents': [open(b'nb/' + n, 'rb').read().hex() for n in NAMES]}
os.rename(b'nb/' + NAMES[0], b'nb/renamed-\\xe9\\xff')
os.link(b'nb/' + NAMES[1], b'nb/link-\\xfe')
os.symlink(TARGET, b'nb/sym-\\x80')
out['after'] = sorted(x.hex() for x in os.listdir(b'nb'))
out['readlink'] = os.readlink(b'nb/sym-\\x80').hex()
out['nlink'] = os.stat(b'nb/link-\\xfe').st_nlink
print(json.dumps(out))`);
  const after = [...NAMES_HEX.slice(1), Buffer.from('renamed-\xe9\xff', 'latin1').toString('hex'),
    Buffer.from('link-\xfe', 'latin1').toString('hex'), Buffer.from('sym-\x80', 'latin1').toString('hex')].sort();
  assert.deepEqual(r, { listed: [...NAMES_HEX].sort(), contents: NAMES_HEX, after, readlink: TARGET_HEX, nlink: 2 });
});

test('the database stores the raw bytes (edge.name, symlink.target)', async () => {
  const ino = Number((await bash(`stat -c %i nb`, m.mnt)).trim());
  const names = (await query<{ name: Buffer }>('SELECT name FROM edge WHERE parent = $1', [ino])).map((r) => r.name.toString('hex')).sort();
  const expected = (await py<string[]>(`print(json.dumps(sorted(x.hex() for x in os.listdir(b'nb'))))`));
  assert.deepEqual(names, expected);
  const sym = Number((await bash(`stat -c %i "$(printf 'nb/sym-\\x80')"`, m.mnt)).trim());
  const [target] = await query<{ target: Buffer }>('SELECT target FROM symlink WHERE inode = $1', [sym]);
  assert.equal(target?.target.toString('hex'), TARGET_HEX);
});

test('255 bytes is the limit in bytes: 255 × 0xff works, 256 is ENAMETOOLONG', async () => {
  const r = await py(`
def err(f):
    try:
        f(); return 'ok'
    except OSError as e:
        return errno.errorcode[e.errno]
print(json.dumps({'255': err(lambda: open(b'nb/' + b'\\xff' * 255, 'wb').close()),
                  '256': err(lambda: open(b'nb/' + b'\\xff' * 256, 'wb').close()),
                  'listed': (b'\\xff' * 255) in os.listdir(b'nb')}))`);
  assert.deepEqual(r, { 255: 'ok', 256: 'ENAMETOOLONG', listed: true });
});

test('xattr names that are not UTF-8 round-trip through set/get/list and are stored as raw bytes', async () => {
  const r = await py<Record<string, unknown>>(`
p = b'nb/' + NAMES[1]
keys = [b'user.caf\\xe9', b'user.\\xff\\xfe', b'user.ok-\\xc3\\xa9', b'user.' + b'\\xff' * 250]
out = {}
for k in keys:
    try:
        os.setxattr(p, k, b'v-' + k)
        out[k.hex()] = os.getxattr(p, k).hex()
    except OSError as e:
        out[k.hex()] = errno.errorcode[e.errno]
out['list'] = sorted(os.fsencode(x).hex() for x in os.listxattr(p))
print(json.dumps(out))`);
  const keys = ['user.caf\xe9', 'user.\xff\xfe', 'user.ok-\xc3\xa9', `user.${'\xff'.repeat(250)}`].map((k) => Buffer.from(k, 'latin1').toString('hex'));
  const expected: Record<string, unknown> = Object.fromEntries(keys.map((k) => [k, Buffer.concat([Buffer.from('v-'), Buffer.from(k, 'hex')]).toString('hex')]));
  expected['list'] = [...keys].sort();
  assert.deepEqual(r, expected);
  const ino = Number((await bash(`stat -c %i "$(printf 'nb/\\xff\\xfe')"`, m.mnt)).trim());
  const stored = (await query<{ name: Buffer }>('SELECT name FROM xattr WHERE inode = $1', [ino])).map((x) => x.name.toString('hex')).sort();
  assert.deepEqual(stored, [...keys].sort());
});

test('byte-exact after a remount, through find -print0 and through tar to a local directory', async () => {
  const before = await py<string[]>(`print(json.dumps(sorted(x.hex() for x in os.listdir(b'nb'))))`);
  await m.stop();
  await m.remount();
  assert.deepEqual(await py<string[]>(`print(json.dumps(sorted(x.hex() for x in os.listdir(b'nb'))))`), before);
  const found = (await ok('find', ['nb', '-mindepth', '1', '-print0'], { cwd: m.mnt })).split('\0').filter((x) => x !== '');
  assert.deepEqual(found.map((p) => Buffer.from(p.slice(3), 'latin1').toString('hex')).sort(), before);
  await bash(`tar -C '${m.mnt}' -cf - nb | tar -xf - -C .`, local);
  assert.deepEqual(await py<string[]>(`print(json.dumps(sorted(x.hex() for x in os.listdir(b'nb'))))`, local), before);
  assert.equal(await py<string>(`print(json.dumps(os.readlink(b'nb/sym-\\x80').hex()))`, local), TARGET_HEX);
  // Through bash: node would encode a non-UTF-8 argv string as UTF-8.
  assert.equal(await bash(`f="$(printf 'nb/renamed-\\xe9\\xff')" && cmp "$f" '${m.mnt}'/"$f" && echo same`, local), 'same\n');
});
