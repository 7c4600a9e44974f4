import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { METRIC_DEFS, Metrics, metricsMarkdownTable, parseListenAddress, requestCost } from '../../../src/metrics/index.js';
import { parseMetrics } from '../../support/metrics-text.js';

test('docs/metrics.md lists every metric exactly as names.ts declares it', () => {
  const doc = readFileSync(new URL('../../../../docs/metrics.md', import.meta.url), 'utf8');
  assert.ok(doc.includes(metricsMarkdownTable()), 'regenerate the table in docs/metrics.md from metricsMarkdownTable()');
});

test('every declared metric is exported under its name, in a registry of its own', async () => {
  const a = new Metrics({ processMetrics: false });
  const b = new Metrics({ processMetrics: false });
  a.objectRequest('put', 0.01, 100, false);
  const text = await a.text();
  for (const d of Object.values(METRIC_DEFS)) assert.match(text, new RegExp(`^# TYPE ${d.name} ${d.type}$`, 'm'));
  const other = parseMetrics(await b.text());
  assert.equal(other.get('objectfs_object_requests_total{method="put"}'), undefined, 'registries are not shared');
});

test('recorders: object requests with bytes, errors and cost; FUSE ops; transaction restarts', async () => {
  const m = new Metrics({ processMetrics: false });
  m.objectRequest('put', 0.01, 1000, false);
  m.objectRequest('put', 0.02, 0, true);
  m.objectRequest('get', 0.01, 500, false);
  m.fuseOp('getattr', 0.001, undefined);
  m.fuseOp('lookup', 0.001, 'ENOENT');
  m.metaTx('transaction', 0.005, 2, false);
  const s = parseMetrics(await m.text());
  assert.equal(s.get('objectfs_object_requests_total{method="put"}'), 2);
  assert.equal(s.get('objectfs_object_request_errors_total{method="put"}'), 1);
  assert.equal(s.get('objectfs_object_request_bytes_total{method="put"}'), 1000);
  assert.equal(s.get('objectfs_object_request_bytes_total{method="get"}'), 500);
  assert.ok(Math.abs((s.get('objectfs_object_request_cost_dollars_total{method="put"}') ?? 0) - 2 * requestCost('put')) < 1e-15);
  assert.equal(s.get('objectfs_fuse_ops_total{op="lookup"}'), 1);
  assert.equal(s.get('objectfs_fuse_op_errors_total{op="lookup",errno="ENOENT"}'), 1);
  assert.equal(s.get('objectfs_meta_tx_restarts_total{kind="transaction"}'), 2);
  assert.equal(requestCost('delete'), 0);
});

test('collectors run before each scrape; mirrored counters follow a component\'s totals', async () => {
  const m = new Metrics({ processMetrics: false });
  let hits = 5;
  const remove = m.onCollect(() => m.syncCounter(m.m.cacheHits, { tier: 'memory' }, hits));
  assert.equal(parseMetrics(await m.text()).get('objectfs_cache_hits_total{tier="memory"}'), 5);
  hits = 12;
  assert.equal(parseMetrics(await m.text()).get('objectfs_cache_hits_total{tier="memory"}'), 12);
  remove();
  hits = 20;
  assert.equal(parseMetrics(await m.text()).get('objectfs_cache_hits_total{tier="memory"}'), 12);
});

test('listen addresses', () => {
  assert.deepEqual(parseListenAddress('127.0.0.1:9567'), { host: '127.0.0.1', port: 9567 });
  assert.deepEqual(parseListenAddress(':9000'), { host: '127.0.0.1', port: 9000 });
  assert.deepEqual(parseListenAddress('[::1]:9567'), { host: '::1', port: 9567 });
  assert.throws(() => parseListenAddress('localhost'), RangeError);
  assert.throws(() => parseListenAddress('h:70000'), RangeError);
});
