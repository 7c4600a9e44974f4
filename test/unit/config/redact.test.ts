import { test } from 'node:test';
import assert from 'node:assert/strict';
import { redactUrl } from '../../../src/config/redact.js';

test('passwords in URLs are masked', () => {
  assert.equal(redactUrl('postgres://me:hunter2@db:5432/meta'), 'postgres://me:****@db:5432/meta');
  assert.equal(redactUrl('postgres://me@db/meta'), 'postgres://me@db/meta');
});

test('secret query parameters are masked, others kept', () => {
  const out = redactUrl('s3://b/p?endpoint=http://h:9000&secret_key=abc&access-key=AKIA&password=x&region=eu');
  assert.doesNotMatch(out, /abc|AKIA|=x(&|$)/);
  assert.match(out, /region=eu/);
  assert.match(out, /endpoint=/);
});

test('unparseable strings with user:password@ are still masked', () => {
  assert.equal(redactUrl('weird://me:hunter2@ho st/x'), 'weird://me:****@ho st/x');
});
