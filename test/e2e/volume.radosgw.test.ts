/**
 * A volume whose blocks are in Ceph's radosgw (the test bed's second S3 implementation,
 * test/support/radosgw.ts) and whose metadata is on the bed's PostgreSQL, through real mounts:
 * files of several sizes (empty, one byte, one block, several blocks, compressible) and a
 * directory tree written through FUSE; a cold mount (a new process with an empty cache
 * directory) reads all of it back byte-exact; `fsck --verify` finds the volume healthy; after
 * some files are deleted, `gc --delete --window 0` deletes exactly their objects (the bucket is
 * listed to check) and fsck still finds it healthy.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { listAll, openObjectStore } from '../../src/object/index.js';
import type { FsckReport, GcReport } from '../../src/maintenance/index.js';
import { killAll, startDaemon, OBJECTFS_BIN, type Daemon } from '../support/e2e-daemon.js';
import { run } from '../support/e2e-sh.js';
import { freshPgDatabase, type FreshDatabase } from '../support/pg.js';
import { radosgwCredentialsEnv, radosgwS3Url, requireRadosgwEnv } from '../support/s3.js';

const rgw = requireRadosgwEnv(); // throws, loudly, when the runner did not start radosgw
const credentials = { accessKeyId: rgw.accessKeyId, secretAccessKey: rgw.secretAccessKey };
const BLOCK = 1 << 20;
const VOLUME = 'rgw';

/** Every file of the volume and its content; directories are made from the paths. */
const FILES: ReadonlyMap<string, Buffer> = new Map([
  ['empty', Buffer.alloc(0)],
  ['one-byte', Buffer.from('x')],
  ['small.bin', randomBytes(70_000)],
  ['one-block.bin', randomBytes(BLOCK)],
  ['big.bin', randomBytes(3 * BLOCK + 12_345)], // four blocks, the last one partial
  ['text.txt', Buffer.from('ObjectFS on radosgw, block after block\n'.repeat(70_000))], // lz4 shrinks it
  ['tree/a/b/c/deep.bin', randomBytes(200_000)],
  ['tree/a/notes.txt', Buffer.from('notes\n')],
  ['tree/d/e.bin', randomBytes(BLOCK + 1)],
  ['tree/d/empty', Buffer.alloc(0)],
]);
const EMPTY_DIRS = ['tree/empty-dir'];
const DELETED = ['big.bin', 'tree/a/b/c/deep.bin', 'tree/d/e.bin'];

let db: FreshDatabase;
let dir: string;
let storage: string;
let env: NodeJS.ProcessEnv;

before(async () => {
  db = await freshPgDatabase('rgw-volume');
  dir = await mkdtemp(join(tmpdir(), 'rgw-volume-'));
  storage = radosgwS3Url('volume');
  env = { ...radosgwCredentialsEnv(), OBJECTFS_RUNTIME_DIR: join(dir, 'run') };
});

after(async () => {
  await killAll();
  await db?.drop().catch(() => undefined);
  if (storage !== undefined) {
    const store = await openObjectStore(storage, credentials);
    try {
      for await (const o of listAll(store)) await store.delete(o.key);
    } finally {
      await store.close();
    }
  }
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
});

async function cli(args: readonly string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return run(process.execPath, [OBJECTFS_BIN, ...args], { env, timeoutMs: 180_000 });
}

async function cliJson<T>(args: readonly string[]): Promise<T> {
  const r = await cli([...args, '--json']);
  assert.equal(r.code, 0, `objectfs ${args.join(' ')} exited ${r.code}:\n${r.stdout}\n${r.stderr}`);
  return JSON.parse(r.stdout) as T;
}

/** A mount of the volume with a cache directory of its own (a new one is empty: a cold mount). */
function mount(cacheName: string): Promise<Daemon> {
  return startDaemon(db.url, join(dir, 'mnt'), join(dir, cacheName), [], env);
}

async function unmount(d: Daemon): Promise<void> {
  process.kill(d.pid, 'SIGTERM');
  const { code } = await d.exited;
  assert.equal(code, 0, `the mount exited ${code}:\n${d.log()}`);
}

/** The paths `tree()` must find on the volume: the files, the empty directories and every parent. */
function expectedTree(): string[] {
  const paths = new Set<string>(FILES.keys());
  for (const p of [...FILES.keys(), ...EMPTY_DIRS.map((d) => `${d}/x`)]) {
    const parts = p.split('/');
    for (let i = 1; i < parts.length; i++) paths.add(`${parts.slice(0, i).join('/')}/`);
  }
  return [...paths].sort();
}

/** Every path under `root` (directories with a trailing '/'), sorted. */
async function tree(root: string): Promise<string[]> {
  const entries = await readdir(root, { recursive: true, withFileTypes: true });
  return entries.map((e) => {
    const rel = join(e.parentPath, e.name).slice(root.length + 1);
    return e.isDirectory() ? `${rel}/` : rel;
  }).sort();
}

/** The block keys in the bucket under the volume's prefix, volume-relative ('chunks/…'). */
async function bucketKeys(): Promise<string[]> {
  const store = await openObjectStore(storage, credentials);
  try {
    const keys: string[] = [];
    for await (const o of listAll(store, `${VOLUME}/`)) keys.push(o.key.slice(VOLUME.length + 1));
    return keys.sort();
  } finally {
    await store.close();
  }
}

test('a volume on radosgw: written, read back by a cold mount, fsck --verify healthy, gc deletes what was deleted', async () => {
  // Trash off: gc must collect the deleted files' objects at once.
  const format = await cli(['format', db.url, VOLUME, '--storage', storage, '--block-size', '1M', '--trash-days', '0']);
  assert.equal(format.code, 0, format.stderr);

  // Write through a first mount.
  const first = await mount('cache-first');
  const mnt = first.mnt;
  for (const d of EMPTY_DIRS) await mkdir(join(mnt, d), { recursive: true });
  for (const [path, data] of FILES) {
    await mkdir(join(mnt, path, '..'), { recursive: true });
    await writeFile(join(mnt, path), data);
  }
  await unmount(first);

  // Read everything back through a new mount with an empty cache: every byte comes from radosgw.
  const cold = await mount('cache-cold');
  assert.deepEqual(await tree(mnt), expectedTree());
  for (const [path, data] of FILES) {
    const got = await readFile(join(mnt, path));
    assert.equal(got.length, data.length, `length of ${path}`);
    assert.ok(got.equals(data), `content of ${path}`);
  }
  const infos = await cliJson<{ path: string; objects: { key: string }[] }[]>(['info', '--objects', ...[...FILES.keys()].map((p) => join(mnt, p))]);
  const keysOf = new Map([...FILES.keys()].map((p, i) => [p, (infos[i]?.objects ?? []).map((o) => o.key)]));
  await unmount(cold);
  assert.equal(keysOf.get('big.bin')?.length, 4, 'big.bin is four blocks');
  assert.equal(keysOf.get('empty')?.length, 0, 'an empty file has no object');
  const allKeys = [...keysOf.values()].flat().sort();
  assert.deepEqual(await bucketKeys(), allKeys, 'the bucket holds the blocks of the files and nothing else');

  const verified = await cliJson<FsckReport>(['fsck', db.url, '--verify']);
  assert.equal(verified.healthy, true, JSON.stringify(verified.problems));

  // Delete some files, then collect their objects at once.
  const third = await mount('cache-third');
  for (const path of DELETED) await rm(join(mnt, path));
  await unmount(third);
  const gc = await cliJson<GcReport>(['gc', db.url, '--delete', '--window', '0']);
  assert.equal(gc.objects.leaked.count, 0, 'no leaked objects');
  assert.ok((gc.deleted?.pendingSlices ?? 0) >= DELETED.length, `slices deleted: ${JSON.stringify(gc.deleted)}`);
  const gone = DELETED.flatMap((p) => keysOf.get(p) ?? []);
  const kept = [...keysOf].filter(([p]) => !DELETED.includes(p)).flatMap(([, keys]) => keys).sort();
  assert.ok(gone.length >= 6, `the deleted files had ${gone.length} objects`);
  assert.deepEqual(await bucketKeys(), kept, 'gc deleted exactly the objects of the deleted files');

  const final = await cliJson<FsckReport>(['fsck', db.url, '--verify']);
  assert.equal(final.healthy, true, JSON.stringify(final.problems));
});
