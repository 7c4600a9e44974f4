/**
 * `objectfs destroy` on PostgreSQL and s3rver (and once on PGlite with a file store): every
 * object under the volume's prefix and every ObjectFS table go, objects of other prefixes in
 * the same bucket stay, format works again and the other commands say "not formatted"; a wrong
 * uuid, a live session, a stale one without --force and a missing terminal without --yes
 * change nothing; a destroy interrupted by S3 going away, or after its object phase, leaves a
 * volume nobody can mount or open, and running destroy again finishes it.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { sql } from 'kysely';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deleteObjects, runDestroy, type ProgressPhase } from '../../../src/maintenance/index.js';
import { openDestroyMeta, openMeta, ROOT_INO, VolumeDestroyingError } from '../../../src/meta/index.js';
import { openDatabase } from '../../../src/db/index.js';
import { FaultyStore, listAll, openObjectStore, StorageUnavailableError, type ObjectStore } from '../../../src/object/index.js';
import { openVolume } from '../../../src/volume/open-volume.js';
import { freshDataVolume, KiB, type DataVolume } from '../../support/data-volume.js';
import { runCli } from '../../support/cli.js';
import { cliJson, sqlOn, writeFile } from '../../support/maintenance.js';

const BLOCK = 64 * KiB;

/** destroy's --json summary. */
interface Summary {
  volume: string;
  uuid: string;
  meta: string;
  storage: string;
  prefix: string;
  usedInodes: number;
  usedBytes: number;
  objectsFound: number;
  objectsDeleted: number;
  bytesDeleted: number;
  tablesDropped: string[];
  rowsDropped: number;
  functionsDropped: string[];
  resumed: boolean;
  seconds: number;
}

/** A volume with a few files of one to three blocks; returns it with its uuid and object count. */
async function filledVolume(label: string, meta: 'postgres' | 'pglite', data: 's3' | 'file'): Promise<{ dv: DataVolume; uuid: string; objects: number }> {
  const dv = await freshDataVolume(label, { meta, data, blockSize: BLOCK });
  const v = await dv.open();
  const uuid = v.meta.volume.uuid;
  for (let i = 0; i < 6; i++) await writeFile(v, ROOT_INO, `f${i}`, randomBytes(BLOCK * (i % 3) + 1000 * (i + 1)));
  await v.close();
  return { dv, uuid, objects: await countObjects(dv.objects) };
}

async function countObjects(store: ObjectStore): Promise<number> {
  let n = 0;
  for await (const _ of listAll(store)) n++;
  return n;
}

/** ObjectFS tables and functions left in a PostgreSQL database. */
async function leftovers(metaUrl: string): Promise<{ tables: string[]; functions: string[] }> {
  const [t, f] = await sqlOn(metaUrl, [
    "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1",
    "SELECT proname FROM pg_proc WHERE left(proname, 9) = 'objectfs_' ORDER BY 1",
  ]);
  return { tables: t!.rows.map((r: { tablename: string }) => r.tablename), functions: f!.rows.map((r: { proname: string }) => r.proname) };
}

/** The storage URL's store itself (no volume prefix): what lives beside the volume. */
async function bucketView(dv: DataVolume): Promise<ObjectStore> {
  return openObjectStore(dv.storage, { maxAttempts: 2, retryBaseDelayMs: 50 });
}

describe('objectfs destroy', () => {
  test('--yes deletes every object under the prefix and every table; other prefixes stay; format works again', async (t) => {
    const { dv, uuid, objects } = await filledVolume('destroy-all', 'postgres', 's3');
    t.after(() => dv.cleanup());
    assert.ok(objects >= 8, `the volume has objects (${objects})`);
    const bucket = await bucketView(dv);
    t.after(() => bucket.close());
    // Beside the volume: another volume's object, and a name that only starts like it.
    const beside = ['other-volume/chunks/0/0/1_0_4', `${dv.name}x/keep`];
    for (const k of beside) await bucket.put(k, Buffer.from('not yours'));

    const { report, result } = await cliJson<Summary>(['destroy', dv.metaUrl, uuid.toUpperCase(), '--yes', '--no-progress'], 0);
    assert.equal(report.volume, dv.name);
    assert.equal(report.uuid, uuid);
    assert.equal(report.prefix, `${dv.name}/`);
    assert.equal(report.objectsFound, objects);
    assert.equal(report.objectsDeleted, objects);
    assert.ok(report.bytesDeleted > 0);
    assert.equal(report.usedInodes, 7, 'the root and six files');
    assert.ok(report.usedBytes > 0);
    for (const table of ['volume', 'node', 'edge', 'chunk', 'session', 'file_lock', 'usage_delta', 'kysely_migration', 'kysely_migration_lock']) {
      assert.ok(report.tablesDropped.includes(table), `${table} dropped: ${report.tablesDropped.join(', ')}`);
    }
    assert.deepEqual(report.functionsDropped, [
      'objectfs_grant_lock', 'objectfs_quota_check', 'objectfs_quota_dirs', 'objectfs_quota_edge', 'objectfs_quota_length',
      'objectfs_tree_usage', 'objectfs_usage_delta', 'objectfs_volume_inodes_check',
    ]);
    assert.ok(report.rowsDropped >= 7 + 6 + 6, `rows dropped: ${report.rowsDropped}`);
    assert.equal(report.resumed, false);
    assert.equal(typeof report.seconds, 'number');
    assert.match(result.stderr, new RegExp(`about to destroy volume "${dv.name}" \\(${uuid}\\)`), 'the plan goes to stderr with --json');
    assert.match(result.stderr, new RegExp(`objects: +${objects} `));

    assert.equal(await countObjects(dv.objects), 0, 'nothing left under the prefix');
    for (const k of beside) assert.ok((await bucket.head(k)) !== undefined, `${k} survives`);
    assert.deepEqual(await leftovers(dv.metaUrl), { tables: [], functions: [] });

    for (const args of [['fsck', dv.metaUrl, '--no-progress'], ['status', dv.metaUrl], ['gc', dv.metaUrl, '--no-progress']]) {
      const r = await runCli(args);
      assert.equal(r.code, 1, `${args[0]}: ${r.stderr}`);
      assert.match(r.stderr, /^objectfs: .* holds no ObjectFS volume: run "objectfs format" first/, args[0]);
    }
    const mnt = await mkdtemp(join(tmpdir(), 'destroy-mnt-'));
    t.after(() => rm(mnt, { recursive: true, force: true }));
    const mount = await runCli(['mount', dv.metaUrl, mnt, '--no-metrics', '--no-disk-cache'], {}, 30_000);
    assert.equal(mount.code, 1, mount.stderr);
    assert.match(mount.stderr, /holds no ObjectFS volume/);
    const again = await runCli(['destroy', dv.metaUrl, uuid, '--yes']);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /holds no ObjectFS volume/);

    const format = await cliJson<{ created: boolean; volume: { uuid: string } }>(['format', dv.metaUrl, dv.name, '--storage', dv.storage, '--block-size', '64K'], 0);
    assert.equal(format.report.created, true);
    assert.notEqual(format.report.volume.uuid, uuid, 'a fresh volume');
    const v = await dv.open();
    await writeFile(v, ROOT_INO, 'new', randomBytes(100));
    await v.close();
  });

  test('a wrong uuid is an error naming both, and nothing is deleted', async (t) => {
    const { dv, uuid, objects } = await filledVolume('destroy-uuid', 'postgres', 's3');
    t.after(() => dv.cleanup());
    const wrong = randomUUID();
    for (const given of [wrong, 'not-a-uuid']) {
      const r = await runCli(['destroy', dv.metaUrl, given, '--yes']);
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stderr, /^objectfs: /);
      assert.ok(r.stderr.includes(given) && r.stderr.includes(uuid), `both uuids named: ${r.stderr}`);
      assert.match(r.stderr, /nothing was deleted/);
    }
    assert.equal(await countObjects(dv.objects), objects);
    const status = await runCli(['status', dv.metaUrl]);
    assert.equal(status.code, 0, status.stderr);
  });

  test('without a terminal and without --yes it refuses; nothing is deleted', async (t) => {
    const { dv, uuid, objects } = await filledVolume('destroy-noterm', 'postgres', 's3');
    t.after(() => dv.cleanup());
    const r = await runCli(['destroy', dv.metaUrl, uuid, '--no-progress']);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stdout, new RegExp(`about to destroy volume "${dv.name}"`), 'the plan is shown');
    assert.match(r.stderr, /^objectfs: destroy needs a confirmation and standard input is not a terminal: nothing was deleted; run again with --yes/m);
    assert.equal(await countObjects(dv.objects), objects);
    assert.equal((await runCli(['status', dv.metaUrl])).code, 0, 'the volume is not marked');
  });

  test('a live session refuses, listed, even with --force; a stale one needs --force', async (t) => {
    const { dv, uuid, objects } = await filledVolume('destroy-sessions', 'postgres', 's3');
    t.after(() => dv.cleanup());
    // A second engine with a session that does not beat again during the test.
    const engine = await openMeta(dv.metaUrl, { counterFlushMs: 0, heartbeatSeconds: 3600 });
    t.after(() => engine.close());
    const sid = await engine.registerSession({ host: 'host-a', pid: 4242, mountPoint: '/mnt/shared', version: 'test' });

    for (const force of [[], ['--force']]) {
      const r = await runCli(['destroy', dv.metaUrl, uuid, '--yes', ...force]);
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stderr, /^objectfs: volume ".*" is mounted: 1 live session/m);
      assert.match(r.stderr, new RegExp(`^objectfs:   session #${sid}: host host-a, pid 4242, mount point /mnt/shared, last heartbeat \\d{4}-.*alive until`, 'm'));
    }
    assert.equal(await countObjects(dv.objects), objects);

    await sqlOn(dv.metaUrl, [`UPDATE session SET expire = ${Date.now() - 5000} WHERE sid = ${sid}`]);
    const stale = await runCli(['destroy', dv.metaUrl, uuid, '--yes']);
    assert.equal(stale.code, 1, stale.stderr);
    assert.match(stale.stderr, /1 stale session\(s\).*run again with --force; nothing was deleted/);
    assert.match(stale.stderr, /host host-a, pid 4242, mount point \/mnt\/shared, .*stale/);
    assert.equal(await countObjects(dv.objects), objects);

    const forced = await cliJson<Summary>(['destroy', dv.metaUrl, uuid, '--yes', '--force', '--no-progress'], 0);
    assert.equal(forced.report.objectsDeleted, objects);
    assert.match(forced.result.stderr, /ignored \(--force\): session #\d+: host host-a/);
    assert.equal(await countObjects(dv.objects), 0);
    assert.deepEqual(await leftovers(dv.metaUrl), { tables: [], functions: [] });
  });

  test('S3 going away half-way: the volume cannot be mounted or opened, and destroy run again finishes', async (t) => {
    const { dv, uuid, objects } = await filledVolume('destroy-resume', 'postgres', 's3');
    t.after(() => dv.cleanup());
    // An engine opened before the mark: its registration must meet the mark under the row lock.
    const early = await openMeta(dv.metaUrl, { counterFlushMs: 0 });
    t.after(() => early.close());
    let faulty: FaultyStore | undefined;
    let deleted = 0;
    const phase = (name: string): ProgressPhase => ({
      add(n: number) {
        if (name !== 'deleting objects') return;
        deleted += n;
        if (deleted >= 3) faulty?.goDown();
      },
      end: () => undefined,
    });
    await assert.rejects(
      runDestroy(dv.metaUrl, { uuid, threads: 1, progress: { phase }, wrapStore: (s) => (faulty = new FaultyStore(s)) }),
      StorageUnavailableError,
    );
    const left = await countObjects(dv.objects);
    assert.ok(left > 0 && left <= objects - 3, `some objects went, some are left (${left} of ${objects})`);

    await assert.rejects(early.registerSession({ host: 'late', pid: 1, mountPoint: '/m', version: 't' }), VolumeDestroyingError);
    await assert.rejects(openVolume(dv.metaUrl, { backgroundMs: 0 }), /is being destroyed \(since .*\): it cannot be used; run "objectfs destroy META_URL .*" again to finish/);
    const mnt = await mkdtemp(join(tmpdir(), 'destroy-mnt-'));
    t.after(() => rm(mnt, { recursive: true, force: true }));
    const mount = await runCli(['mount', dv.metaUrl, mnt, '--no-metrics', '--no-disk-cache'], {}, 30_000);
    assert.equal(mount.code, 1, mount.stderr);
    assert.match(mount.stderr, new RegExp(`^objectfs: volume "${dv.name}" \\(${uuid}\\) is being destroyed`, 'm'));
    for (const args of [['status', dv.metaUrl], ['fsck', dv.metaUrl, '--no-progress'], ['config', dv.metaUrl, '--trash-days', '2'],
      ['format', dv.metaUrl, dv.name, '--storage', dv.storage, '--force']]) {
      const r = await runCli(args);
      assert.equal(r.code, 1, `${args[0]}: ${r.stderr}`);
      assert.match(r.stderr, /is being destroyed/, args[0]);
    }

    const { report } = await cliJson<Summary>(['destroy', dv.metaUrl, uuid, '--yes', '--no-progress'], 0);
    assert.equal(report.resumed, true);
    assert.equal(report.objectsFound, left);
    assert.equal(report.objectsDeleted, left);
    assert.equal(await countObjects(dv.objects), 0);
    assert.deepEqual(await leftovers(dv.metaUrl), { tables: [], functions: [] });
  });

  test('interrupted after its object phase: destroy run again drops the metadata', async (t) => {
    const { dv, uuid } = await filledVolume('destroy-after-objects', 'postgres', 's3');
    t.after(() => dv.cleanup());
    // What a destroy killed between its object phase and its metadata phase leaves behind.
    const meta = await openDestroyMeta(dv.metaUrl);
    await meta.mark(uuid, () => undefined);
    await deleteObjects(dv.objects, 4);
    await meta.close();
    assert.equal(await countObjects(dv.objects), 0);
    assert.equal((await leftovers(dv.metaUrl)).tables.includes('volume'), true);

    const text = await runCli(['destroy', dv.metaUrl, uuid, '--yes', '--no-progress']);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /did not finish: this run finishes it/);
    assert.match(text.stdout, new RegExp(`^destroyed volume "${dv.name}" \\(${uuid}\\): 0 object\\(s\\) deleted \\(0 B\\), \\d+ table\\(s\\) dropped \\(\\d+ row\\(s\\)\\), in [\\d.]+ s$`, 'm'));
    assert.deepEqual(await leftovers(dv.metaUrl), { tables: [], functions: [] });
  });
});

describe('objectfs destroy on the embedded engine', () => {
  test('PGlite and a file store: objects and tables go, format works again', async (t) => {
    const { dv, uuid, objects } = await filledVolume('destroy-pglite', 'pglite', 'file');
    t.after(() => dv.cleanup());
    const bucket = await bucketView(dv);
    t.after(() => bucket.close());
    await bucket.put('other/keep', Buffer.from('not yours'));
    const { report } = await cliJson<Summary>(['destroy', dv.metaUrl, uuid, '--yes', '--no-progress'], 0);
    assert.equal(report.objectsDeleted, objects);
    assert.ok(report.tablesDropped.includes('volume') && report.tablesDropped.includes('kysely_migration'));
    assert.equal(await countObjects(dv.objects), 0);
    assert.ok((await bucket.head('other/keep')) !== undefined);

    const database = await openDatabase(dv.metaUrl);
    try {
      const { rows } = await sql<{ tablename: string }>`SELECT tablename FROM pg_tables WHERE schemaname = 'public'`.execute(database.db);
      assert.deepEqual(rows, [], 'no table is left in the embedded database');
    } finally {
      await database.close();
    }
    const status = await runCli(['status', dv.metaUrl]);
    assert.equal(status.code, 1);
    assert.match(status.stderr, /holds no ObjectFS volume/);
    const format = await runCli(['format', dv.metaUrl, dv.name, '--storage', dv.storage]);
    assert.equal(format.code, 0, format.stderr);
  });
});
