/**
 * S3Store against Ceph's radosgw, the test bed's second S3 implementation (test/support/radosgw.ts):
 * the conformance suite with none of s3rver's quirks (listing in exact byte order, a ranged GET
 * of an empty object) and with listings beyond 1,000 keys, with a limit and with the server's
 * own page size; and what only a server that checks SigV4 signatures and payload hashes can
 * show (s3rver checks neither).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { inspect } from 'node:util';
import {
  ObjectStoreError, S3Store, StorageAuthError, listAll, openObjectStore,
} from '../../../src/object/index.js';
import type { ObjectStore, S3StoreOptions } from '../../../src/object/index.js';
import { radosgwS3Url, requireRadosgwEnv, testS3Prefix } from '../../support/s3.js';
import { assertMissingBucket } from './missing-bucket.js';
import { objectStoreSuite } from './object-store-suite.js';

const env = requireRadosgwEnv(); // throws, loudly, when the runner did not start radosgw
const credentials = { accessKeyId: env.accessKeyId, secretAccessKey: env.secretAccessKey };

/** Deletes everything under the URL's prefix through a fresh store (the tested one may be closed). */
async function wipe(url: string): Promise<void> {
  const store = await openObjectStore(url, credentials);
  try {
    const keys: string[] = [];
    for await (const o of listAll(store)) keys.push(o.key);
    for (let i = 0; i < keys.length; i += 32) await Promise.all(keys.slice(i, i + 32).map((k) => store.delete(k)));
  } finally {
    await store.close();
  }
}

async function radosgwSut(hint: string): Promise<{ store: ObjectStore; cleanup: () => Promise<void> }> {
  const url = radosgwS3Url(hint);
  const store = await openObjectStore(url, { ...credentials, maxAttempts: 3, retryBaseDelayMs: 50 });
  return { store, cleanup: async () => { await store.close(); await wipe(url); } };
}

// Pages of 800, 800 and 500 with a limit; 1000, 1000 and 100 with the server's own page size.
objectStoreSuite('S3Store on radosgw', () => radosgwSut('suite'), { manyKeys: 2100, pageLimit: 800, serverPageSize: 1000 });

/** A store on the radosgw bucket with a fresh prefix and explicit settings. */
function storeOptions(extra: Partial<S3StoreOptions> = {}): S3StoreOptions {
  return { bucket: env.bucket, prefix: testS3Prefix('rgw-errors'), endpoint: env.endpoint, region: env.region,
    forcePathStyle: true, maxAttempts: 3, retryBaseDelayMs: 10, ...credentials, ...extra };
}

describe('S3Store on radosgw: signatures and payload hashes', () => {
  test('a wrong secret → StorageAuthError (SignatureDoesNotMatch) without retries, never showing the secret', async () => {
    const secret = 'wrong-secret-0123456789abcdefghijklmnopqr';
    const store = new S3Store(storeOptions({ secretAccessKey: secret, retryBaseDelayMs: 2000 }));
    try {
      const started = Date.now();
      for (const op of [() => store.put('k', Buffer.from('x')), () => store.get('k'), () => store.list()]) {
        await assert.rejects(op(), (err: unknown) => {
          assert.ok(err instanceof StorageAuthError, `got ${inspect(err)}`);
          assert.match(err.message, /SignatureDoesNotMatch/);
          assert.ok(err.message.includes(env.endpoint), err.message);
          assert.ok(!inspect(err, { depth: 20, showHidden: true }).includes(secret), 'secret leaked into the error');
          return true;
        });
      }
      assert.ok(Date.now() - started < 2000, 'an auth error was retried (backoff 2 s)');
    } finally {
      await store.close();
    }
  });

  test('an unknown access key → StorageAuthError (InvalidAccessKeyId)', async () => {
    const store = new S3Store(storeOptions({ accessKeyId: 'AKIDNOTKNOWNTORADOSG' }));
    try {
      await assert.rejects(store.get('k'), (err: unknown) => {
        assert.ok(err instanceof StorageAuthError, `got ${inspect(err)}`);
        assert.match(err.message, /InvalidAccessKeyId/);
        return true;
      });
    } finally {
      await store.close();
    }
  });

  test('a missing bucket → BucketNotFoundError naming bucket and endpoint', async () => {
    const bucket = `objectfs-missing-${Date.now().toString(36)}`;
    await assertMissingBucket(new S3Store(storeOptions({ bucket })), bucket, env.endpoint);
  });

  test('a put signed with the SHA-256 it is given is stored; one whose hash does not match its body is refused', async () => {
    const url = radosgwS3Url('rgw-payload-hash');
    const store = await openObjectStore(url, { ...credentials, maxAttempts: 1 });
    try {
      const body = randomBytes(100_000);
      await store.put('right', body, { sha256: createHash('sha256').update(body).digest('hex') });
      assert.ok((await store.get('right')).equals(body));
      await assert.rejects(store.put('wrong', body, { sha256: createHash('sha256').update('other').digest('hex') }), (err: unknown) => {
        assert.ok(err instanceof ObjectStoreError, `got ${inspect(err)}`);
        assert.match(err.message, /XAmzContentSHA256Mismatch|BadDigest/);
        return true;
      });
      assert.equal(await store.head('wrong'), undefined, 'an object whose body does not match its signed hash was stored');
    } finally {
      await store.close();
      await wipe(url);
    }
  });
});
