/**
 * The object layer's errors as seen by errors.ts#toErrno, and the pure classification of SDK
 * and socket errors (plain objects shaped like what the SDK throws; no client involved).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { constants } from 'node:os';
import { toErrno } from '../../../src/errors.js';
import {
  BucketNotFoundError, ObjectNotFoundError, ObjectStoreError, StorageAuthError, StorageUnavailableError,
} from '../../../src/object/index.js';
import { classifyS3Error } from '../../../src/object/classify-s3-error.js';
import { credentialSource } from '../../../src/object/credential-source.js';

const { EIO } = constants.errno;

describe('object errors and toErrno', () => {
  test('StorageUnavailableError carries EIO and toErrno keeps it without calling onUnknown', () => {
    const err = new StorageUnavailableError('down', { attempts: 4 });
    assert.equal(err.errno, EIO);
    assert.equal(err.attempts, 4);
    let unknown = 0;
    assert.equal(toErrno(err, () => unknown++), EIO);
    assert.equal(unknown, 0);
  });

  test('ObjectNotFoundError has no errno: an unhandled one is an unknown error (EIO, reported)', () => {
    const err = new ObjectNotFoundError('vol/chunks/1', 'file:///x/');
    assert.equal('errno' in err, false);
    let unknown = 0;
    assert.equal(toErrno(err, () => unknown++), EIO);
    assert.equal(unknown, 1);
  });

  test('names, hierarchy and fields', () => {
    const errors = [
      new ObjectNotFoundError('k', 'w'), new StorageUnavailableError('m'), new StorageAuthError('m', 'http://e'),
      new BucketNotFoundError('b', 'http://e'),
    ];
    assert.deepEqual(errors.map((e) => e.name),
      ['ObjectNotFoundError', 'StorageUnavailableError', 'StorageAuthError', 'BucketNotFoundError']);
    for (const e of errors) assert.ok(e instanceof ObjectStoreError && e instanceof Error);
    assert.match(new BucketNotFoundError('b1', 'http://127.0.0.1:9').message, /bucket "b1".*http:\/\/127\.0\.0\.1:9/);
    assert.equal(new ObjectStoreError('x').name, 'ObjectStoreError');
  });
});

describe('classifyS3Error', () => {
  const cases: Array<[string, unknown, string]> = [
    ['NoSuchKey', { name: 'NoSuchKey', $metadata: { httpStatusCode: 404 } }, 'not-found'],
    ['HEAD 404', { name: 'NotFound', $metadata: { httpStatusCode: 404 } }, 'not-found'],
    ['NoSuchBucket', { name: 'NoSuchBucket', $metadata: { httpStatusCode: 404 } }, 'no-bucket'],
    ['InvalidRange', { name: 'InvalidRange', $metadata: { httpStatusCode: 416 } }, 'invalid-range'],
    ['InvalidAccessKeyId', { name: 'InvalidAccessKeyId', $metadata: { httpStatusCode: 403 } }, 'auth'],
    ['SignatureDoesNotMatch', { name: 'SignatureDoesNotMatch', $metadata: { httpStatusCode: 403 } }, 'auth'],
    ['skew corrected', { name: 'RequestTimeTooSkewed', $metadata: { httpStatusCode: 403, clockSkewCorrected: true } }, 'transient'],
    ['AccessDenied', { name: 'AccessDenied', $metadata: { httpStatusCode: 403 } }, 'auth'],
    ['HEAD 403', { name: 'Forbidden', $metadata: { httpStatusCode: 403 } }, 'auth'],
    ['no credentials', Object.assign(new Error('Could not load credentials'), { name: 'CredentialsProviderError' }), 'auth'],
    ['SlowDown', { name: 'SlowDown', $metadata: { httpStatusCode: 503 } }, 'transient'],
    ['500', { name: 'InternalError', $metadata: { httpStatusCode: 500 } }, 'transient'],
    ['429', { name: 'Unknown', $metadata: { httpStatusCode: 429 } }, 'transient'],
    ['ECONNREFUSED', Object.assign(new Error('connect'), { code: 'ECONNREFUSED' }), 'transient'],
    ['ECONNRESET', Object.assign(new Error('aborted'), { code: 'ECONNRESET' }), 'transient'],
    ['request timeout', Object.assign(new Error('t'), { name: 'TimeoutError' }), 'transient'],
    ['wrapped socket error', new Error('outer', { cause: Object.assign(new Error('inner'), { code: 'EPIPE' }) }), 'transient'],
    ['abort', Object.assign(new Error('aborted'), { name: 'AbortError' }), 'abort'],
    ['400', { name: 'InvalidArgument', $metadata: { httpStatusCode: 400 } }, 'other'],
    ['a bug', new TypeError('x is not a function'), 'other'],
    ['not an object', 'boom', 'other'],
  ];
  for (const [label, err, kind] of cases) test(label, () => assert.equal(classifyS3Error(err), kind));
});

describe('credentialSource names the source, never a value', () => {
  test('explicit, profile, env, AWS_PROFILE, default chain', () => {
    assert.match(credentialSource({ accessKeyId: 'AKIAX' }, {}), /explicit accessKeyId\/secretAccessKey options/);
    assert.match(credentialSource({ profile: 'prod' }, {}), /shared profile "prod"/);
    const env = { AWS_ACCESS_KEY_ID: 'AKIAVALUE', AWS_SECRET_ACCESS_KEY: 'secretvalue', AWS_SESSION_TOKEN: 'tok' };
    const fromEnv = credentialSource({}, env);
    assert.match(fromEnv, /AWS_ACCESS_KEY_ID\/AWS_SECRET_ACCESS_KEY\/AWS_SESSION_TOKEN/);
    assert.ok(!/AKIAVALUE|secretvalue|tok\b/.test(fromEnv), fromEnv);
    assert.match(credentialSource({}, { AWS_PROFILE: 'dev', AWS_SHARED_CREDENTIALS_FILE: '/etc/creds' }), /profile "dev" from AWS_PROFILE \(\/etc\/creds/);
    assert.match(credentialSource({}, {}), /default AWS credential chain/);
  });
});
