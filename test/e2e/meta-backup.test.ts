/**
 * Metadata backups through a real mount (PostgreSQL over s3rver): with `--backup-meta 2s
 * --backup-keep 2` gzip dumps appear under the volume's `meta-backup/` prefix, only the last
 * two stay, `status` (text and --json) shows the newest, and the downloaded backup loads into
 * an empty database as it is (gzip detected) into a volume fsck calls healthy and that mounts
 * with the same files.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { isMounted, startMount, type TestMount } from '../support/mounted.js';
import { bash, localDir, ok } from '../support/e2e-sh.js';
import { runCli } from '../support/cli.js';
import { freshPgDatabase, type FreshDatabase } from '../support/pg.js';
import { openVolumeStore } from '../../src/volume/volume-store.js';
import { listAll, type ObjectStore } from '../../src/object/index.js';

const STATE = fileURLToPath(new URL('../../../test/support/tree-state.py', import.meta.url));
const POPULATE = fileURLToPath(new URL('../../../test/support/tree-populate.sh', import.meta.url));

let m: TestMount;
let work: string;
let store: ObjectStore;
let target: FreshDatabase | undefined;

before(async () => {
  work = await localDir('meta-backup');
  m = await startMount('meta-backup', { meta: 'postgres', data: 's3', args: ['--backup-meta', '2s', '--backup-keep', '2'] });
  store = (await openVolumeStore(m.storage, 'vol')).store;
});

after(async () => {
  await m?.cleanup();
  await store?.close();
  await target?.drop();
  if (work) await rm(work, { recursive: true, force: true });
});

async function backupKeys(): Promise<string[]> {
  const keys: string[] = [];
  for await (const o of listAll(store, 'meta-backup/')) keys.push(o.key);
  return keys.sort();
}

interface Status { lastBackup: { key: string; bytes: number; time: string; entries: number } | null }

test('backups appear under meta-backup/, the last N stay, status shows the newest, and load takes one', async () => {
  await bash(`bash '${POPULATE}'`, m.mnt);
  const expected = JSON.parse(await ok('python3', [STATE, join(m.mnt, 'tree')])) as unknown;
  // Wait for three backups taken after the tree was written (each a new key in status).
  const seen = new Set<string>();
  const since = new Date().toISOString();
  const deadline = Date.now() + 60_000;
  while (seen.size < 3) {
    assert.ok(Date.now() < deadline, `fewer than 3 backups in 60 s; daemon log:\n${m.log()}`);
    const r = await runCli(['status', m.metaUrl, '--json']);
    const b = (JSON.parse(r.stdout) as Status).lastBackup;
    if (b !== null && 'key' in b && b.time > since) seen.add(b.key);
    await sleep(500);
  }
  // Backups go on every 2 s (upload, prune, then report), so the listing is compared with the
  // status read on both sides of it, and taken again when a backup ran in between.
  let keys: string[] = [];
  let status: Status = { lastBackup: null };
  for (let tries = 0; ; tries++) {
    const before = (JSON.parse((await runCli(['status', m.metaUrl, '--json'])).stdout) as Status).lastBackup?.key;
    keys = await backupKeys();
    status = JSON.parse((await runCli(['status', m.metaUrl, '--json'])).stdout) as Status;
    if (before === status.lastBackup?.key && before === keys[keys.length - 1]) break;
    assert.ok(tries < 20, `no quiet moment between backups in 20 tries: status ${before} / ${status.lastBackup?.key}, bucket ${keys.join(', ')}`);
  }
  assert.equal(keys.length, 2, `only the last 2 backups stay: ${keys.join(', ')}`);
  for (const k of keys) assert.match(k, /^meta-backup\/dump-\d{4}-\d\d-\d\dT\d\d-\d\d-\d\d\.\d{3}Z\.json\.gz$/);
  assert.ok(status.lastBackup !== null && keys.includes(status.lastBackup.key), 'status names a backup that is in the bucket');
  assert.ok(status.lastBackup.bytes > 0 && status.lastBackup.entries > 10);
  const text = (await runCli(['status', m.metaUrl])).stdout;
  assert.match(text, /last backup: {2}\S+Z, \d+(\.\d+)? (B|KiB|MiB) \(\d+ entries\), meta-backup\/dump-/);

  // Restore: download the newest, load it into an empty database, fsck, mount, compare.
  const newest = keys[keys.length - 1] as string;
  const file = join(work, 'backup.json.gz');
  await writeFile(file, await store.get(newest));
  target = await freshPgDatabase('meta-backup-restore');
  const loaded = await runCli(['load', target.url, file], {}, 300_000);
  assert.equal(loaded.code, 0, loaded.stderr);
  const fsck = await runCli(['fsck', target.url, '--json', '--no-progress'], {}, 300_000);
  assert.equal((JSON.parse(fsck.stdout) as { healthy: boolean }).healthy, true, fsck.stdout);
  await m.stop(); // one mount of the volume's data at a time keeps the comparison simple
  const mnt = join(work, 'mnt');
  await mkdir(mnt);
  const mounted = await runCli(['mount', target.url, mnt, '--background', '--log', join(work, 'restore.log'), '--cache-dir', join(work, 'cache'), '--no-metrics', '--backup-meta', '0'], {}, 120_000);
  assert.equal(mounted.code, 0, mounted.stderr);
  try {
    const restored = JSON.parse(await ok('python3', [STATE, join(mnt, 'tree')])) as unknown;
    assert.deepEqual(restored, expected, 'the restored volume differs from the backed-up one');
  } finally {
    await runCli(['umount', mnt], {}, 120_000);
    if (isMounted(mnt)) await ok('fusermount3', ['-uz', mnt]).catch(() => undefined);
  }
});
