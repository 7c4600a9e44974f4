/**
 * The test bed is up: the PostgreSQL and S3 server that run-tests.js started answer real
 * requests, with the same client settings the product uses against S3-compatible servers.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { randomBytes } from 'node:crypto';
import { DeleteObjectCommand, GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import pg from 'pg';
import { freshPgDatabase, freshPgliteUrl, requirePgUrl } from '../../support/pg.js';

function requireEnv(name: string): string {
  const v = process.env[name];
  if (v === undefined || v === '') throw new Error(`${name} is not set: run the tests with \`npm test\``);
  return v;
}

test('PostgreSQL answers SELECT 1', async () => {
  const client = new pg.Client({ connectionString: requirePgUrl() });
  await client.connect();
  try {
    const { rows } = await client.query<{ one: number }>('SELECT 1 AS one');
    assert.deepEqual(rows, [{ one: 1 }]);
  } finally {
    await client.end();
  }
});

test('freshPgDatabase creates a database that drop() removes', async () => {
  const db = await freshPgDatabase('services check');
  const client = new pg.Client({ connectionString: db.url });
  await client.connect();
  const { rows } = await client.query<{ name: string }>('SELECT current_database() AS name');
  await client.end();
  assert.match(rows[0]?.name ?? '', /^t_services_check_[a-z0-9]+$/);
  await db.drop();
  await db.drop(); // idempotent
  const admin = new pg.Client({ connectionString: requirePgUrl() });
  await admin.connect();
  const left = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [rows[0]?.name]);
  await admin.end();
  assert.equal(left.rowCount, 0);
});

test('freshPgliteUrl gives an empty directory under the bed tmp dir', async () => {
  const p = await freshPgliteUrl('services');
  assert.ok(p.url.startsWith('pglite:///'), p.url);
  assert.ok(p.dir.startsWith(requireEnv('OBJECTFS_TEST_TMPDIR')), p.dir);
  await p.cleanup();
});

test('S3 server stores and returns an object', async () => {
  const s3 = new S3Client({
    endpoint: requireEnv('OBJECTFS_TEST_S3_ENDPOINT'),
    region: requireEnv('AWS_REGION'),
    forcePathStyle: true,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
  const Bucket = requireEnv('OBJECTFS_TEST_S3_BUCKET');
  const Key = `services-test/${randomBytes(6).toString('hex')}`;
  const body = randomBytes(100_000);
  try {
    await s3.send(new PutObjectCommand({ Bucket, Key, Body: body }));
    const got = await s3.send(new GetObjectCommand({ Bucket, Key }));
    const bytes = await got.Body?.transformToByteArray();
    assert.ok(bytes !== undefined && Buffer.from(bytes).equals(body), 'object read back differs');
    await s3.send(new DeleteObjectCommand({ Bucket, Key }));
  } finally {
    s3.destroy();
  }
});
