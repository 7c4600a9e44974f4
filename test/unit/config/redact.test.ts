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

test('free text: URL passwords and known secret values are masked wherever they appear', async () => {
  const { redactText, secretsOfEnv } = await import('../../../src/config/redact.js');
  const line = '{"msg":"connect failed","url":"postgres://me:hunter2@db/meta","detail":"key AKIAsecretvalue rejected"}';
  const out = redactText(line, ['AKIAsecretvalue']);
  assert.doesNotMatch(out, /hunter2|AKIAsecretvalue/);
  assert.match(out, /postgres:\/\/me:\*\*\*\*@db\/meta/);
  assert.deepEqual(secretsOfEnv({ AWS_SECRET_ACCESS_KEY: 'abcd1234', PGPASSWORD: 'x', HOME: '/root' }), ['abcd1234']);
});

test('the logger passes every line through its redactor', async () => {
  const { createLogger } = await import('../../../src/util/log.js');
  const { redactText } = await import('../../../src/config/redact.js');
  const lines: string[] = [];
  const log = createLogger({ json: true, write: (l) => lines.push(l), redact: (l) => redactText(l, ['s3cr3t-key']) });
  log.error('failed', { err: new Error('signature for s3cr3t-key mismatch'), meta: 'postgres://u:pw12345@h/db' });
  assert.equal(lines.length, 1);
  assert.doesNotMatch(lines[0] ?? '', /s3cr3t-key|pw12345/);
  const parsed = JSON.parse(lines[0] ?? '') as { level: string; msg: string };
  assert.equal(parsed.level, 'error');
});
