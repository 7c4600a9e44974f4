/**
 * The missing-bucket check shared by the S3Store tests of every server: get, put and list each
 * fail with BucketNotFoundError, and the message names the bucket and the endpoint.
 */
import assert from 'node:assert/strict';
import { inspect } from 'node:util';
import { BucketNotFoundError, type S3Store } from '../../../src/object/index.js';

export async function assertMissingBucket(store: S3Store, bucket: string, endpoint: string): Promise<void> {
  try {
    for (const op of [() => store.get('k'), () => store.put('k', Buffer.from('x')), () => store.list()]) {
      await assert.rejects(op(), (err: unknown) => {
        assert.ok(err instanceof BucketNotFoundError, `got ${inspect(err)}`);
        assert.ok(err.message.includes(bucket) && err.message.includes(endpoint), err.message);
        return true;
      });
    }
  } finally {
    await store.close();
  }
}
