/**
 * `objectfs format` and `objectfs status` as a user runs them, on the real PostgreSQL, PGlite,
 * the S3 test server and a local directory, including every kind of bad input.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freshPgDatabase, freshPgliteUrl } from '../../support/pg.js';
import { requireS3Env, testS3Url } from '../../support/s3.js';
import { runCli } from '../../support/cli.js';

const cleanups: (() => Promise<void>)[] = [];
after(async () => { for (const c of cleanups.reverse()) await c(); });

async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'cli-'));
  cleanups.push(() => rm(d, { recursive: true, force: true }));
  return d;
}

describe('format and status on PostgreSQL and S3', () => {
  test('formats, refuses a second format, keeps immutable settings, shows status without secrets', async () => {
    const db = await freshPgDatabase('cli_pg');
    cleanups.push(() => db.drop());
    // The test server trusts local connections, so a password in the URL is accepted and ignored:
    // exactly what is needed to check that it is never printed.
    const url = new URL(db.url);
    url.password = 'hunter2secret';
    const metaUrl = url.toString();
    const storage = testS3Url('cli-format');

    const first = await runCli(['format', metaUrl, 'vol1', '--storage', storage, '--block-size', '1M', '--trash-days', '2']);
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stdout, /formatted volume "vol1"/);
    assert.doesNotMatch(first.stdout + first.stderr, /hunter2secret/);

    const again = await runCli(['format', metaUrl, 'vol1', '--storage', storage, '--block-size', '1M']);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /already holds volume "vol1".*--force/);

    const changeBlock = await runCli(['format', metaUrl, 'vol1', '--storage', storage, '--block-size', '4M', '--force']);
    assert.equal(changeBlock.code, 1);
    assert.match(changeBlock.stderr, /block size is fixed/);
    const changeCompress = await runCli(['format', metaUrl, 'vol1', '--storage', storage, '--block-size', '1M', '--compress', 'none', '--force']);
    assert.equal(changeCompress.code, 1);
    assert.match(changeCompress.stderr, /compression is fixed/);

    const update = await runCli(['format', metaUrl, 'vol1', '--storage', storage, '--block-size', '1M', '--trash-days', '5', '--force']);
    assert.equal(update.code, 0, update.stderr);
    assert.match(update.stdout, /updated volume/);

    const status = await runCli(['status', metaUrl, '--json']);
    assert.equal(status.code, 0, status.stderr);
    assert.doesNotMatch(status.stdout, /hunter2secret/);
    const parsed = JSON.parse(status.stdout) as { volume: { name: string; blockSize: number; trashDays: number; compression: string }; usage: { usedInodes: number }; sessions: unknown[]; meta: string };
    assert.equal(parsed.volume.name, 'vol1');
    assert.equal(parsed.volume.blockSize, 1 << 20);
    assert.equal(parsed.volume.trashDays, 5);
    assert.equal(parsed.volume.compression, 'lz4');
    assert.equal(parsed.usage.usedInodes, 1);
    assert.deepEqual(parsed.sessions, []);
    assert.match(parsed.meta, /\*\*\*\*/);

    const text = await runCli(['status', metaUrl]);
    assert.equal(text.code, 0);
    assert.match(text.stdout, /volume "vol1"/);
    assert.doesNotMatch(text.stdout + text.stderr, /hunter2secret/);
  });

  test('a non-empty bucket prefix is refused for a new volume', async () => {
    const db = await freshPgDatabase('cli_nonempty');
    cleanups.push(() => db.drop());
    const storage = testS3Url('cli-nonempty');
    // Something else already stores objects under taken/ in this prefix.
    const { S3Client, PutObjectCommand } = await import('@aws-sdk/client-s3');
    const env = requireS3Env();
    const u = new URL(storage);
    const prefix = decodeURIComponent(u.pathname.slice(1));
    const client = new S3Client({ endpoint: env.endpoint, region: env.region, forcePathStyle: true, requestChecksumCalculation: 'WHEN_REQUIRED' });
    await client.send(new PutObjectCommand({ Bucket: env.bucket, Key: `${prefix}taken/chunks/0/0/1_0_4`, Body: Buffer.from('data') }));
    client.destroy();
    const res = await runCli(['format', db.url, 'taken', '--storage', storage]);
    assert.equal(res.code, 1);
    assert.match(res.stderr, /already holds objects under "taken\/"/);
    const status = await runCli(['status', db.url]);
    assert.equal(status.code, 1, 'the refused format must not have written the volume');
    assert.match(status.stderr, /holds no ObjectFS volume/);
  });

  test('wrong S3 credentials and a missing bucket fail format with a clear message', async () => {
    const db = await freshPgDatabase('cli_s3bad');
    cleanups.push(() => db.drop());
    const storage = testS3Url('cli-badcreds');
    const wrong = await runCli(['format', db.url, 'v', '--storage', storage], { AWS_ACCESS_KEY_ID: 'WRONGKEY', AWS_SECRET_ACCESS_KEY: 'wrongsecret' });
    assert.equal(wrong.code, 1);
    assert.match(wrong.stderr, /credential|access denied|signature|access key/i);
    assert.doesNotMatch(wrong.stderr, /wrongsecret/);
    const env = requireS3Env();
    const missing = `s3://no-such-bucket-objectfs/p?endpoint=${encodeURIComponent(env.endpoint)}&path-style=true`;
    const res = await runCli(['format', db.url, 'v', '--storage', missing]);
    assert.equal(res.code, 1);
    assert.match(res.stderr, /no-such-bucket-objectfs/);
    assert.match(res.stderr, /bucket/i);
  });
});

describe('format and status on the embedded default', () => {
  test('pglite metadata and a local directory', async () => {
    const lite = await freshPgliteUrl('cli_lite');
    cleanups.push(() => lite.cleanup());
    const dir = await tempDir();
    const res = await runCli(['format', lite.url, 'local', '--storage', `file://${dir}/blocks`, '--compress', 'none']);
    assert.equal(res.code, 0, res.stderr);
    const status = await runCli(['status', lite.url, '--json']);
    assert.equal(status.code, 0, status.stderr);
    assert.equal((JSON.parse(status.stdout) as { volume: { compression: string } }).volume.compression, 'none');
  });
});

describe('bad input gives a clear message and a non-zero exit', () => {
  test('unreachable database', async () => {
    const res = await runCli(['status', 'postgres://postgres:pw-not-shown@127.0.0.1:1/objectfs']);
    assert.equal(res.code, 1);
    assert.match(res.stderr, /cannot connect to PostgreSQL/);
    assert.doesNotMatch(res.stderr, /pw-not-shown/);
  });

  test('unformatted database and missing embedded directory', async () => {
    const db = await freshPgDatabase('cli_unformatted');
    cleanups.push(() => db.drop());
    const res = await runCli(['status', db.url]);
    assert.equal(res.code, 1);
    assert.match(res.stderr, /holds no ObjectFS volume: run "objectfs format"/);
    const dir = await tempDir();
    const lite = await runCli(['status', `pglite://${dir}/never-made`]);
    assert.equal(lite.code, 1);
    assert.match(lite.stderr, /no embedded database/);
  });

  test('bad URLs, names and flags', async () => {
    const dir = await tempDir();
    const meta = `pglite://${dir}/m`;
    const cases: [string[], number, RegExp][] = [
      [['status', 'mysql://u@h/db'], 1, /unsupported metadata URL scheme/],
      [['status', 'pglite://relative'], 1, /absolute directory/],
      // Bad values of flags and arguments are usage errors (exit 2), naming the flag.
      [['format', meta, 'v', '--storage', 'ftp://h/x'], 2, /^objectfs: option '--storage <URL>' is invalid: invalid storage URL/],
      // The value is shown redacted: a URL may carry credentials.
      [['format', meta, 'v', '--storage', 'ftp://AKIDEXAMPLE:hunter2secret@h/x'], 2, /^objectfs: option '--storage <URL>' is invalid: invalid storage URL "ftp:\/\/\*\*\*@h\/x"/],
      [['format', meta, 'v', '--storage', 'file://relative/dir'], 2, /--storage.*invalid storage URL/],
      [['format', meta, 'bad name', '--storage', `file://${dir}/d`], 2, /^objectfs: invalid volume name/],
      [['format', meta, 'v', '--storage', `file://${dir}/d`, '--block-size', '3M'], 2, /--block-size.*power of two/],
      [['format', meta, 'v', '--storage', `file://${dir}/d`, '--block-size', 'lots'], 2, /block-size/],
      [['format', meta, 'v', '--storage', `file://${dir}/d`, '--compress', 'zstd'], 2, /--compress.*Allowed choices are lz4, none/],
      [['format', meta, 'v', '--storage', `file://${dir}/d`, '--trash-days', '-1'], 2, /trash-days/],
      [['format', meta, 'v'], 2, /--storage/],
      [['format', meta, 'v', '--storage', `file://${dir}/d`, '--no-such-flag'], 2, /unknown option/],
      [['frobnicate'], 2, /unknown command/],
    ];
    for (const [args, code, pattern] of cases) {
      const res = await runCli(args);
      assert.equal(res.code, code, `${args.join(' ')}: ${res.stderr}`);
      assert.match(res.stderr, pattern, args.join(' '));
      assert.doesNotMatch(res.stderr, /\n\s+at /, `no stack trace for ${args.join(' ')}`);
    }
  });

  test('an embedded database is used by one process at a time', async () => {
    const lite = await freshPgliteUrl('cli_locked');
    cleanups.push(() => lite.cleanup());
    const dir = await tempDir();
    assert.equal((await runCli(['format', lite.url, 'v', '--storage', `file://${dir}/d`])).code, 0);
    await writeFile(join(lite.dir, 'objectfs.lock'), `${process.pid}\n`);
    const res = await runCli(['status', lite.url]);
    assert.equal(res.code, 1);
    assert.match(res.stderr, new RegExp(`in use by process ${process.pid}`));
    // A lock left by a process that is gone is taken over.
    await writeFile(join(lite.dir, 'objectfs.lock'), '999999999\n');
    assert.equal((await runCli(['status', lite.url])).code, 0);
  });
});
