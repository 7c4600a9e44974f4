import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { diffSettings, parseConfigText, resolveSettings } from '../../../src/config/load.js';
import { ConfigError, DEFAULTS, envName, kebab, SETTINGS, settingKey } from '../../../src/config/schema.js';

const EXAMPLE = readFileSync(new URL('../../../../config/objectfs.example.yaml', import.meta.url), 'utf8');

test('names: kebab-case in files, OBJECTFS_* in the environment, both spellings accepted', () => {
  assert.equal(kebab('memoryCacheSize'), 'memory-cache-size');
  assert.equal(envName('memoryCacheSize'), 'OBJECTFS_MEMORY_CACHE_SIZE');
  assert.equal(settingKey('memory-cache-size'), 'memoryCacheSize');
  assert.equal(settingKey('attr_timeout'), 'attrTimeout');
  assert.equal(settingKey('memoryCacheSize'), 'memoryCacheSize');
  assert.equal(settingKey('max_readahead'), undefined);
});

test('a file is validated: sizes, levels, addresses, storage classes; unknown names are refused', () => {
  const s = parseConfigText('cache-size: 20G\nlog-level: debug\nmetrics: off\nstorage-class: standard_ia\nattr-timeout: 0.5\n', 'f.yaml');
  assert.deepEqual(s, { cacheSize: 20 * 2 ** 30, logLevel: 'debug', metrics: false, storageClass: 'STANDARD_IA', attrTimeout: 0.5 });
  assert.throws(() => parseConfigText('cache-size: lots\n', 'f.yaml'), (e: unknown) => e instanceof ConfigError && /cache-size \(f\.yaml\)/.test(e.message));
  assert.throws(() => parseConfigText('log-level: loud\n', 'f.yaml'), ConfigError);
  assert.throws(() => parseConfigText('metrics: nowhere\n', 'f.yaml'), ConfigError);
  assert.throws(() => parseConfigText('storage-class: COLDEST\n', 'f.yaml'), ConfigError);
  assert.throws(() => parseConfigText('cache-sise: 1G\n', 'f.yaml'), /unknown setting\(s\) cache-sise/);
  assert.throws(() => parseConfigText('- a\n- b\n', 'f.yaml'), /must be a mapping/);
  assert.throws(() => parseConfigText('a: [\n', 'f.yaml'), /not valid YAML/);
  assert.deepEqual(parseConfigText('', 'f.yaml'), {});
});

test('flags win over the environment, which wins over the file, which wins over the defaults', () => {
  const r = resolveSettings({
    file: { cacheSize: 1 << 30, readahead: 1 << 20, logLevel: 'warn' },
    env: { OBJECTFS_CACHE_SIZE: '2G', OBJECTFS_LOG_LEVEL: 'error' },
    flags: { cacheSize: 3 * 2 ** 30 },
  });
  assert.equal(r.settings.cacheSize, 3 * 2 ** 30);
  assert.equal(r.origin.cacheSize, 'flag');
  assert.equal(r.settings.logLevel, 'error');
  assert.equal(r.origin.logLevel, 'env');
  assert.equal(r.settings.readahead, 1 << 20);
  assert.equal(r.origin.readahead, 'file');
  assert.equal(r.settings.entryTimeout, DEFAULTS.entryTimeout);
  assert.equal(r.origin.entryTimeout, 'default');
  assert.throws(() => resolveSettings({ env: { OBJECTFS_UPLOAD_LIMIT: 'fast' } }), /OBJECTFS_UPLOAD_LIMIT/);
});

test('a reload diff separates what changes live from what needs a remount', () => {
  const before = resolveSettings({}).settings;
  const after = resolveSettings({ file: { memoryCacheSize: 1 << 20, readOnly: true, uploadLimit: 1000, cacheDir: '/x' } }).settings;
  const diff = diffSettings(before, after);
  assert.deepEqual([...diff.live].sort(), ['memoryCacheSize', 'uploadLimit']);
  assert.deepEqual([...diff.fixed].sort(), ['cacheDir', 'readOnly']);
  assert.deepEqual(diffSettings(before, before), { live: [], fixed: [] });
});

test('config/objectfs.example.yaml documents every setting, and uncommented it is a valid file', () => {
  for (const key of Object.keys(SETTINGS)) {
    assert.match(EXAMPLE, new RegExp(`^# ${kebab(key)}: `, 'm'), `${kebab(key)} is not in the example file`);
  }
  const uncommented = EXAMPLE.split('\n').map((l) => (/^# [a-z-]+: /.test(l) ? l.slice(2) : l)).join('\n');
  const parsed = parseConfigText(uncommented, 'example');
  assert.equal(Object.keys(parsed).length, Object.keys(SETTINGS).length);
});

test('times take units in files, the environment and flags; a bare number is seconds', () => {
  assert.deepEqual(parseConfigText('attr-timeout: 500ms\ndelete-delay: 30m\nentry-timeout: 2\nnegative-timeout: 1.5\n', 'f.yaml'),
    { attrTimeout: 0.5, deleteDelay: 1800, entryTimeout: 2, negativeTimeout: 1.5 });
  const r = resolveSettings({ env: { OBJECTFS_DELETE_DELAY: '1h30m' }, flags: { attrTimeout: '250ms' } });
  assert.equal(r.settings.deleteDelay, 5400);
  assert.equal(r.settings.attrTimeout, 0.25);
  assert.throws(() => parseConfigText('attr-timeout: soon\n', 'f.yaml'), (e: unknown) => e instanceof ConfigError && /attr-timeout \(f\.yaml\).*not a duration/.test(e.message));
  assert.throws(() => parseConfigText('delete-delay: -5\n', 'f.yaml'), ConfigError);
});

test('a zero write buffer is refused wherever it comes from, naming the flag or variable', () => {
  assert.throws(() => resolveSettings({ flags: { bufferSize: 0 } }), (e: unknown) => e instanceof ConfigError && /buffer-size \(--buffer-size\): 0 must be at least 1 B/.test(e.message));
  assert.throws(() => resolveSettings({ env: { OBJECTFS_BUFFER_SIZE: '0' } }), /OBJECTFS_BUFFER_SIZE/);
  assert.equal(resolveSettings({ flags: { bufferSize: '1M' } }).settings.bufferSize, 1 << 20);
  assert.equal(resolveSettings({ flags: { readahead: 0 } }).settings.readahead, 0, '0 still means "none" where it has a meaning');
});

test('meta-retry-timeout: 60 s by default, a duration from a file, the environment or a flag', () => {
  assert.equal(resolveSettings({}).settings.metaRetryTimeout, 60);
  assert.equal(resolveSettings({ file: parseConfigText('meta-retry-timeout: 2.5\n', 'f.yaml') }).settings.metaRetryTimeout, 2.5);
  assert.equal(resolveSettings({ env: { OBJECTFS_META_RETRY_TIMEOUT: '2m' } }).settings.metaRetryTimeout, 120);
  assert.equal(resolveSettings({ env: { OBJECTFS_META_RETRY_TIMEOUT: '120' }, flags: { metaRetryTimeout: 3 } }).settings.metaRetryTimeout, 3);
  assert.throws(() => resolveSettings({ env: { OBJECTFS_META_RETRY_TIMEOUT: 'forever' } }), /meta-retry-timeout/);
});
