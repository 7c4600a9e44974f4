import { test } from 'node:test';
import { once } from 'node:events';
import { createServer, type AddressInfo } from 'node:net';
import pg from 'pg';
import { connectTimeoutWithin } from '../../../src/meta/open-meta.js';
import assert from 'node:assert/strict';
import { MetaUrlError, parseMetaUrl } from '../../../src/db/index.js';
import { isConnectionLost, isRetryableConflict, isUniqueViolation, isUndefinedTable, sqlState } from '../../../src/db/pg-errors.js';

test('postgres URLs are accepted as given', () => {
  assert.deepEqual(parseMetaUrl('postgres://u:p@127.0.0.1:5432/meta'), { kind: 'postgres', url: 'postgres://u:p@127.0.0.1:5432/meta' });
  assert.equal(parseMetaUrl('postgresql://db.example/meta?sslmode=require').kind, 'postgres');
});

test('pglite URLs name an absolute directory or memory', () => {
  assert.deepEqual(parseMetaUrl('pglite:///var/lib/objectfs/meta'), { kind: 'pglite', dir: '/var/lib/objectfs/meta' });
  assert.deepEqual(parseMetaUrl('pglite:///tmp/with%20space'), { kind: 'pglite', dir: '/tmp/with space' });
  assert.deepEqual(parseMetaUrl('pglite://memory'), { kind: 'pglite', dir: undefined });
});

test('bad metadata URLs are refused with what is accepted, and no password', () => {
  for (const bad of ['', 'not a url', 'mysql://u@h/db', 'pglite://relative/dir', 'pglite:', 'postgres://u:hunter2@host', 'redis://x:hunter2@h/1']) {
    assert.throws(() => parseMetaUrl(bad), (err: unknown) => {
      assert.ok(err instanceof MetaUrlError, `${bad}: ${String(err)}`);
      assert.match(err.message, /postgres:\/\/|pglite/);
      assert.doesNotMatch(err.message, /hunter2/);
      return true;
    });
  }
});

test('database errors are classified by SQLSTATE, not text', () => {
  const pgErr = (code: string, extra: object = {}) => Object.assign(new Error('whatever text'), { code, ...extra });
  assert.equal(sqlState(pgErr('40001')), '40001');
  assert.equal(sqlState(new Error('40001')), undefined);
  assert.ok(isRetryableConflict(pgErr('40001')));
  assert.ok(isRetryableConflict(pgErr('40P01')));
  assert.ok(!isRetryableConflict(pgErr('23505')));
  assert.ok(isUniqueViolation(pgErr('23505', { constraint: 'edge_pkey' }), 'edge_pkey'));
  assert.ok(!isUniqueViolation(pgErr('23505', { constraint: 'xattr_pkey' }), 'edge_pkey'));
  assert.ok(isConnectionLost(pgErr('57P01')));
  assert.ok(isConnectionLost(pgErr('08006')));
  assert.ok(isConnectionLost(Object.assign(new Error('x'), { code: 'ECONNREFUSED' })));
  assert.ok(!isConnectionLost(pgErr('23505')));
  assert.ok(isUndefinedTable(pgErr('42P01')));
});

test('a connect that times out and a wait for a pool slot that times out are lost connections (retried)', async () => {
  // A server that accepts TCP and never answers: the first client's connect times out in pg, the
  // second waits for the pool's only slot and times out in pg-pool, each with its own message.
  const silent = createServer(() => undefined).listen(0, '127.0.0.1');
  await once(silent, 'listening');
  const { port } = silent.address() as AddressInfo;
  const pool = new pg.Pool({ host: '127.0.0.1', port, max: 1, connectionTimeoutMillis: 200 });
  try {
    const [first, second] = await Promise.allSettled([pool.connect(), pool.connect()]);
    for (const r of [first, second]) {
      assert.equal(r.status, 'rejected');
      assert.ok(isConnectionLost(r.reason), String(r.reason));
    }
    assert.notEqual((first as PromiseRejectedResult).reason.message, (second as PromiseRejectedResult).reason.message);
  } finally {
    await pool.end();
    silent.close();
  }
});

test('an attempt waits for a connection a quarter of the retry budget, between 1 s and 10 s', () => {
  assert.equal(connectTimeoutWithin(8_000), 2_000);
  assert.equal(connectTimeoutWithin(60_000), 10_000, 'the default budget keeps 10 s');
  assert.equal(connectTimeoutWithin(), 10_000);
  assert.equal(connectTimeoutWithin(2_000), 1_000, 'never below 1 s');
});
