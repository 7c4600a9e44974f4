/**
 * Running the mount as a service (PostgreSQL + S3): the Prometheus endpoint and the `.stats`
 * file during a workload (counters move by exactly the bytes and objects written), a
 * configuration file changed under load and a SIGHUP (live settings take effect, the others
 * are reported), `objectfs status` and `objectfs info`, and secrets (the database password in
 * META_URL, the S3 secret key) never showing in logs, status, info, metrics, .stats or the
 * mount's runtime record.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { startMount, type TestMount } from '../support/mounted.js';
import { killAll, startDaemon, waitFor, OBJECTFS_BIN, type Daemon } from '../support/e2e-daemon.js';
import { bash, run } from '../support/e2e-sh.js';
import { freePort } from '../support/pg-tools.js';
import { parseMetrics, sample, scrape } from '../support/metrics-text.js';

const PG_PASSWORD = 'pg-Secret-7f3a9';
const MiB = 1 << 20;

let vol: TestMount;
let daemon: Daemon;
let metaUrl: string;
let runtimeDir: string;
let configFile: string;
let address: string;
let mnt: string;

function cli(args: readonly string[]) {
  return run(process.execPath, [OBJECTFS_BIN, ...args], { env: { OBJECTFS_RUNTIME_DIR: runtimeDir }, timeoutMs: 120_000 });
}

before(async () => {
  vol = await startMount('service', { meta: 'postgres', data: 's3' });
  await vol.stop();
  // The test server trusts every connection, so a password in the URL is accepted and ignored:
  // it is there to be leaked, and the tests check that it never is.
  const url = new URL(vol.metaUrl);
  url.password = PG_PASSWORD;
  metaUrl = url.toString();
  runtimeDir = await mkdtemp(join(vol.dir, 'run-'));
  configFile = join(vol.dir, 'objectfs.yaml');
  await writeFile(configFile, 'memory-cache-size: 64M\nreadahead: 8M\n');
  address = `127.0.0.1:${await freePort()}`;
  mnt = join(vol.dir, 'svc');
  daemon = await startDaemon(metaUrl, mnt, join(vol.dir, 'svc-cache'), ['--metrics', address, '--config', configFile], { OBJECTFS_RUNTIME_DIR: runtimeDir });
});

after(async () => {
  await killAll();
  await vol?.cleanup();
});

describe('metrics', () => {
  test('scraped during a write, the counters move by exactly the bytes and block objects written', async () => {
    const before = await scrape(address);
    const size = 6 * MiB; // 6 blocks of the test volume's 1 MiB
    const writing = bash(`head -c ${size} /dev/urandom > big && sync big`, mnt);
    const during: Map<string, number>[] = [];
    let finished = false;
    void writing.finally(() => { finished = true; });
    while (!finished) {
      during.push(await scrape(address));
      await sleep(100);
    }
    await writing;
    const after = await scrape(address);
    const delta = (series: string) => sample(after, series) - sample(before, series);
    assert.ok(during.length > 0, 'scraped while writing');
    for (const d of during) assert.ok(sample(d, 'objectfs_fuse_written_bytes_total') <= sample(after, 'objectfs_fuse_written_bytes_total'));
    assert.equal(delta('objectfs_fuse_written_bytes_total'), size);
    assert.equal(delta('objectfs_blocks_uploaded_total'), 6);
    assert.equal(delta('objectfs_object_requests_total{method="put"}'), 6);
    // lz4 cannot shrink random bytes: what went out is the data plus a little framing per block.
    const sent = delta('objectfs_object_request_bytes_total{method="put"}');
    assert.ok(sent >= size && sent < size + 6 * 64 * 1024, `put bytes ${sent}`);
    assert.ok(Math.abs(delta('objectfs_object_request_cost_dollars_total{method="put"}') - 6 * 0.005 / 1000) < 1e-12);
    assert.ok(delta('objectfs_fuse_ops_total{op="write"}') >= size / (128 * 1024));
    assert.ok(delta('objectfs_meta_tx_duration_seconds_count{kind="statement"}') >= 2, 'create and commit statements');
    assert.equal(sample(after, 'objectfs_upload_queue_blocks'), 0);
    assert.equal(sample(after, 'objectfs_upload_oldest_pending_seconds'), 0);
    assert.equal(sample(after, 'objectfs_cache_limit_bytes{tier="memory"}'), 64 * MiB, 'from the configuration file');
    assert.ok(sample(after, 'objectfs_cache_blocks{tier="disk"}') >= 6);
  });

  test('.stats at the mount root holds the same metrics, is read-only and is not listed', async () => {
    const text = await readFile(join(mnt, '.stats'), 'utf8');
    const stats = parseMetrics(text);
    assert.ok(stats.has('objectfs_fuse_written_bytes_total'), text.slice(0, 500));
    const http = await scrape(address);
    assert.equal(sample(stats, 'objectfs_blocks_uploaded_total'), sample(http, 'objectfs_blocks_uploaded_total'));
    assert.ok(!(await readdir(mnt)).includes('.stats'));
    const write = await run('bash', ['-c', `echo x > ${join(mnt, '.stats')}`]);
    assert.notEqual(write.code, 0);
    const rm = await run('rm', ['-f', join(mnt, '.stats')]);
    assert.notEqual(rm.code, 0);
  });
});

describe('configuration reload', () => {
  test('a changed file takes effect under load; settings that need a remount are reported', async () => {
    const load = bash('for i in $(seq 1 20); do head -c 1048576 /dev/urandom > load-$i; done', mnt);
    await writeFile(configFile, 'memory-cache-size: 16M\nupload-limit: 50M\nbuffer-size: 64M\nread-only: true\n');
    const applied = await waitFor(async () => sample(await scrape(address), 'objectfs_cache_limit_bytes{tier="memory"}') === 16 * MiB, 15_000);
    await load;
    assert.ok(applied, 'the memory cache bound follows the file');
    const m = await scrape(address);
    assert.equal(sample(m, 'objectfs_write_buffer_limit_bytes'), 64 * MiB);
    assert.ok(sample(m, 'objectfs_cache_bytes{tier="memory"}') <= 16 * MiB);
    assert.match(daemon.log(), /needs remount/);
    assert.match(daemon.log(), /read-only: false \(running\) → true/);
    // Still writable: read-only was reported, not applied.
    await bash('echo still > rw-check && cat rw-check', mnt);
  });

  test('SIGHUP rereads the file; a bad file leaves the settings in force', async () => {
    await writeFile(configFile, 'memory-cache-size: 24M\n');
    process.kill(daemon.pid, 'SIGHUP');
    assert.ok(await waitFor(async () => sample(await scrape(address), 'objectfs_cache_limit_bytes{tier="memory"}') === 24 * MiB, 15_000));
    const errorsBefore = sample(await scrape(address), 'objectfs_config_reloads_total{result="error"}');
    await writeFile(configFile, 'memory-cache-size: lots\n');
    process.kill(daemon.pid, 'SIGHUP');
    assert.ok(await waitFor(async () => sample(await scrape(address), 'objectfs_config_reloads_total{result="error"}') > errorsBefore, 15_000));
    assert.equal(sample(await scrape(address), 'objectfs_cache_limit_bytes{tier="memory"}'), 24 * MiB);
    assert.match(daemon.log(), /configuration reload failed/);
  });
});

describe('commands and secrets', () => {
  test('bench prints its table and leaves nothing behind', async () => {
    const before = await readdir(mnt);
    const r = await cli(['bench', mnt, '--big-size', '4M', '--small-count', '10', '--small-size', '8K']);
    assert.equal(r.code, 0, r.stderr);
    for (const item of ['write big file', 'read big file', 'write small files', 'read small files', 'stat files']) {
      assert.match(r.stdout, new RegExp(`${item} +[0-9.]+ (MiB|KiB|GiB|B|files)/s +[0-9.]+ m?s/file`));
    }
    assert.deepEqual((await readdir(mnt)).sort(), before.sort());
  });

  test('status and info answer, and no output, log, metric or record holds a secret', async () => {
    const status = await cli(['status', metaUrl]);
    assert.equal(status.code, 0, status.stderr);
    assert.match(status.stdout, /sessions: +1/);
    assert.match(status.stdout, /deletion: +\d+ slice\(s\)/);
    const info = await cli(['info', join(mnt, 'big')]);
    assert.equal(info.code, 0, info.stderr);
    assert.match(info.stdout, /objects: +6/);
    const stats = await readFile(join(mnt, '.stats'), 'utf8');
    const http = await (await fetch(`http://${address}/metrics`)).text();
    const records = await Promise.all((await readdir(runtimeDir)).filter((f) => f.endsWith('.json')).map((f) => readFile(join(runtimeDir, f), 'utf8')));
    assert.ok(records.length === 1 && records[0]?.includes('"meta"'));
    const s3Secret = process.env['AWS_SECRET_ACCESS_KEY'] as string;
    const places = { log: daemon.log(), status: status.stdout + status.stderr, info: info.stdout + info.stderr, stats, http, record: records.join('') };
    for (const [where, text] of Object.entries(places)) {
      assert.ok(!text.includes(PG_PASSWORD), `the database password shows in ${where}`);
      assert.ok(!text.includes(s3Secret), `the S3 secret key shows in ${where}`);
    }
  });
});
