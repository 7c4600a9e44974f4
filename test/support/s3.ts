/**
 * The S3 test bed as seen by tests: the test runner (npm test) starts s3rver on 127.0.0.1 and
 * exports the variables below. Tests that need S3 call requireS3Env(), which fails loudly
 * when they are missing: an S3 test is never skipped.
 */
import { randomBytes } from 'node:crypto';

/** Where the S3-compatible test server is. Credentials are read by the AWS SDK from env. */
export interface S3TestEnv {
  readonly endpoint: string;
  readonly bucket: string;
  readonly region: string;
}

const REQUIRED = [
  'OBJECTFS_TEST_S3_ENDPOINT', 'OBJECTFS_TEST_S3_BUCKET', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY',
] as const;

/** The test S3 settings from env, or an Error explaining how to run the suite. */
export function requireS3Env(): S3TestEnv {
  const missing = REQUIRED.filter((name) => !process.env[name]);
  if (missing.length > 0) {
    throw new Error(
      `S3 integration tests need ${missing.join(', ')} in the environment. Run them with \`npm test\`, `
      + 'which starts s3rver on 127.0.0.1 and sets them; or start an S3-compatible server yourself and export '
      + 'OBJECTFS_TEST_S3_ENDPOINT=http://127.0.0.1:PORT OBJECTFS_TEST_S3_BUCKET=BUCKET '
      + 'AWS_ACCESS_KEY_ID=... AWS_SECRET_ACCESS_KEY=... AWS_REGION=us-east-1.');
  }
  return {
    endpoint: process.env['OBJECTFS_TEST_S3_ENDPOINT'] as string,
    bucket: process.env['OBJECTFS_TEST_S3_BUCKET'] as string,
    region: process.env['AWS_REGION'] || 'us-east-1',
  };
}

/** A unique key prefix for one test: `test/<hint>-<time>-<nonce>/`, so runs and tests never share keys. */
export function testS3Prefix(prefixHint: string): string {
  const slug = prefixHint.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 40) || 'test';
  return `test/${slug}-${Date.now().toString(36)}-${randomBytes(4).toString('hex')}/`;
}

/** An s3:// storage URL on the test server with a fresh prefix (see testS3Prefix). */
export function testS3Url(prefixHint: string): string {
  const env = requireS3Env();
  const query = new URLSearchParams({ endpoint: env.endpoint, region: env.region, 'path-style': 'true' });
  return `s3://${env.bucket}/${testS3Prefix(prefixHint)}?${query.toString()}`;
}

/** The radosgw of the test bed (test/support/radosgw.ts): its own endpoint, bucket and keys. */
export interface RadosgwTestEnv extends S3TestEnv {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
}

const RGW_REQUIRED = [
  'OBJECTFS_TEST_RGW_ENDPOINT', 'OBJECTFS_TEST_RGW_BUCKET', 'OBJECTFS_TEST_RGW_ACCESS_KEY_ID', 'OBJECTFS_TEST_RGW_SECRET_ACCESS_KEY',
] as const;

/**
 * The radosgw settings from env, or an Error saying how to get them. The runner starts radosgw
 * only for files named `*.radosgw.test.ts`, so a test using this must be in one.
 */
export function requireRadosgwEnv(): RadosgwTestEnv {
  const missing = RGW_REQUIRED.filter((name) => !process.env[name]);
  if (missing.length > 0) {
    throw new Error(
      `radosgw tests need ${missing.join(', ')} in the environment. The test runner starts a private Ceph cluster `
      + 'with radosgw and sets them when it runs a file named *.radosgw.test.js: run this file with `npm test -- <path>` '
      + 'or `node dist/test/support/run-tests.js <path>` (after `bash scripts/setup.sh`, which installs Ceph).');
  }
  return {
    endpoint: process.env['OBJECTFS_TEST_RGW_ENDPOINT'] as string,
    bucket: process.env['OBJECTFS_TEST_RGW_BUCKET'] as string,
    region: 'us-east-1',
    accessKeyId: process.env['OBJECTFS_TEST_RGW_ACCESS_KEY_ID'] as string,
    secretAccessKey: process.env['OBJECTFS_TEST_RGW_SECRET_ACCESS_KEY'] as string,
  };
}

/** An s3:// storage URL on the test bed's radosgw with a fresh prefix (see testS3Prefix). */
export function radosgwS3Url(prefixHint: string): string {
  const env = requireRadosgwEnv();
  const query = new URLSearchParams({ endpoint: env.endpoint, region: env.region, 'path-style': 'true' });
  return `s3://${env.bucket}/${testS3Prefix(prefixHint)}?${query.toString()}`;
}

/** AWS_* variables that give an `objectfs` process the radosgw user's keys. */
export function radosgwCredentialsEnv(): NodeJS.ProcessEnv {
  const env = requireRadosgwEnv();
  return { AWS_ACCESS_KEY_ID: env.accessKeyId, AWS_SECRET_ACCESS_KEY: env.secretAccessKey, AWS_REGION: env.region };
}
