/**
 * parseStorageUrl (pure) and how openObjectStore resolves endpoint, region and path style
 * from URL and environment (no I/O: stores are built and closed, never called).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { FileStore, openObjectStore, parseStorageUrl, S3Store } from '../../../src/object/index.js';
import type { StorageUrl } from '../../../src/object/index.js';

describe('parseStorageUrl: accepted forms', () => {
  const cases: Array<[string, StorageUrl]> = [
    ['s3://bucket', { kind: 's3', bucket: 'bucket', prefix: '' }],
    ['s3://bucket/', { kind: 's3', bucket: 'bucket', prefix: '' }],
    ['s3://bucket/vol1', { kind: 's3', bucket: 'bucket', prefix: 'vol1/' }],
    ['s3://bucket/a/b/', { kind: 's3', bucket: 'bucket', prefix: 'a/b/' }],
    ['s3://my.bucket-1/p%20q', { kind: 's3', bucket: 'my.bucket-1', prefix: 'p q/' }],
    ['s3://bucket/p?endpoint=http://127.0.0.1:9000', { kind: 's3', bucket: 'bucket', prefix: 'p/', endpoint: 'http://127.0.0.1:9000' }],
    ['s3://bucket?endpoint=http%3A%2F%2F127.0.0.1%3A9000%2F&region=eu-west-3&path-style=false',
      { kind: 's3', bucket: 'bucket', prefix: '', endpoint: 'http://127.0.0.1:9000', region: 'eu-west-3', pathStyle: false }],
    ['s3://bucket?path-style=true', { kind: 's3', bucket: 'bucket', prefix: '', pathStyle: true }],
    ['s3://bucket?endpoint=https://minio.example.com/s3', { kind: 's3', bucket: 'bucket', prefix: '', endpoint: 'https://minio.example.com/s3' }],
    ['file:///var/lib/objectfs', { kind: 'file', dir: '/var/lib/objectfs' }],
    ['file:///var/lib/objectfs/', { kind: 'file', dir: '/var/lib/objectfs' }],
    ['file://localhost/srv/blocks', { kind: 'file', dir: '/srv/blocks' }],
    ['file:///tmp/a%20b', { kind: 'file', dir: '/tmp/a b' }],
    ['FILE:///x', { kind: 'file', dir: '/x' }],
  ];
  for (const [url, expected] of cases) {
    test(url, () => assert.deepEqual(parseStorageUrl(url), expected));
  }
});

describe('parseStorageUrl: rejected forms say what is wrong and what is accepted', () => {
  const cases: Array<[string, RegExp]> = [
    ['', /not a URL/],
    ['bucket/prefix', /not a URL/],
    ['/abs/dir', /not a URL/],
    ['http://bucket/x', /unsupported scheme "http:"/],
    ['gs://bucket', /unsupported scheme/],
    ['s3://', /missing bucket name/],
    ['s3:///prefix', /missing bucket name/],
    ['s3://b', /not a valid bucket name/],
    ['s3://bucket:9000/x', /bucket name.*endpoint=/],
    ['s3://bucket//x', /empty/],
    ['s3://bucket#frag', /fragment/],
    ['s3://bucket?foo=1', /unknown query parameter "foo"/],
    ['s3://bucket?region=a&region=b', /more than once/],
    ['s3://bucket?endpoint=ftp://host', /http/],
    ['s3://bucket?endpoint=not-a-url', /absolute URL/],
    ['s3://bucket?path-style=yes', /true or false/],
    ['s3://bucket?region=US_EAST', /region/],
    ['file://relative/dir', /absolute path with three slashes/],
    ['file:relative', /absolute path with three slashes/],
    ['file:///x?y=1', /no query/],
  ];
  for (const [url, why] of cases) {
    test(JSON.stringify(url), () => {
      assert.throws(() => parseStorageUrl(url), (err: unknown) => {
        assert.ok(err instanceof Error);
        assert.match(err.message, why);
        assert.match(err.message, /accepted forms: s3:\/\/BUCKET.* or file:\/\/\/ABSOLUTE\/DIR/);
        return true;
      });
    });
  }

  test('credentials in the URL or endpoint are refused and never echoed', () => {
    for (const url of ['s3://AKIAEXAMPLE:hunter2secret@bucket/x', 's3://bucket?endpoint=http://key:hunter2secret@host:9000',
      'file://user:hunter2secret@/x', 's3://bucket?secret_key=hunter2secret']) {
      assert.throws(() => parseStorageUrl(url), (err: unknown) => {
        assert.ok(err instanceof Error);
        assert.ok(!err.message.includes('hunter2secret'), err.message);
        assert.ok(!err.message.includes('AKIAEXAMPLE'), err.message);
        return true;
      }, url);
    }
    assert.throws(() => parseStorageUrl('s3://AKIA:secret@bucket'), /must not be embedded/);
  });
});

describe('openObjectStore', () => {
  async function describeOf(url: string, env: NodeJS.ProcessEnv): Promise<string> {
    const store = await openObjectStore(url, { env });
    try {
      return store.describe();
    } finally {
      await store.close();
    }
  }

  test('file URL → FileStore', async () => {
    const store = await openObjectStore('file:///tmp/objectfs-unit');
    assert.ok(store instanceof FileStore);
    assert.equal(store.describe(), 'file:///tmp/objectfs-unit/');
  });

  test('s3 endpoint: URL, then AWS_ENDPOINT_URL_S3, then AWS_ENDPOINT_URL, then AWS', async () => {
    const env = { AWS_ENDPOINT_URL_S3: 'http://127.0.0.1:1111', AWS_ENDPOINT_URL: 'http://127.0.0.1:2222' };
    assert.equal(await describeOf('s3://bkt/p?endpoint=http://127.0.0.1:3333', env), 's3://bkt/p/ (http://127.0.0.1:3333)');
    assert.equal(await describeOf('s3://bkt/p', env), 's3://bkt/p/ (http://127.0.0.1:1111)');
    assert.equal(await describeOf('s3://bkt/p', { AWS_ENDPOINT_URL: 'http://127.0.0.1:2222' }), 's3://bkt/p/ (http://127.0.0.1:2222)');
    assert.equal(await describeOf('s3://bkt', {}), 's3://bkt/ (https://s3.us-east-1.amazonaws.com)');
    assert.equal(await describeOf('s3://bkt', { AWS_REGION: 'eu-west-3' }), 's3://bkt/ (https://s3.eu-west-3.amazonaws.com)');
    assert.equal(await describeOf('s3://bkt?region=ap-south-1', { AWS_REGION: 'eu-west-3' }), 's3://bkt/ (https://s3.ap-south-1.amazonaws.com)');
  });

  test('a parsed StorageUrl is accepted too', async () => {
    const store = await openObjectStore({ kind: 's3', bucket: 'b', prefix: 'x/', endpoint: 'http://127.0.0.1:9' });
    assert.ok(store instanceof S3Store);
    await store.close();
  });
});
