/** The `subdir` setting: normalized paths from the volume's root; "..", empty and NUL refused wherever it comes from. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { normalizeSubdir, subdirNames } from '../../../src/config/subdir.js';
import { parseConfigText, resolveSettings } from '../../../src/config/load.js';
import { ConfigError } from '../../../src/config/schema.js';
import { splitMountOptions } from '../../../src/cli/mount.js';

test('a sub-directory path is normalized to /a/b, from the volume root', () => {
  assert.equal(normalizeSubdir('/a/b'), '/a/b');
  assert.equal(normalizeSubdir('a/b'), '/a/b');
  assert.equal(normalizeSubdir('//a/./b/'), '/a/b');
  assert.equal(normalizeSubdir('/'), '/');
  assert.equal(normalizeSubdir('with space/é'), '/with space/é');
  assert.deepEqual(subdirNames('/a/b'), ['a', 'b']);
  assert.deepEqual(subdirNames('/'), []);
});

test('"..", an empty value, a NUL and an over-long name are refused', () => {
  for (const bad of ['', '..', '../x', '/a/../b', 'a/..', 'a\0b', `/${'n'.repeat(256)}`]) {
    assert.throws(() => normalizeSubdir(bad), Error, JSON.stringify(bad));
  }
});

test('the setting from a file, the environment and -o, each refusing a bad value by name', () => {
  assert.deepEqual(parseConfigText('subdir: projects/a\n', 'f.yaml'), { subdir: '/projects/a' });
  assert.equal(resolveSettings({ env: { OBJECTFS_SUBDIR: '/x/y/' } }).settings.subdir, '/x/y');
  assert.equal(resolveSettings({}).settings.subdir, undefined, 'default: the whole volume');
  assert.throws(() => parseConfigText('subdir: ../x\n', 'f.yaml'), (e: unknown) => e instanceof ConfigError && /^subdir \(f\.yaml\): "\.\.\/x" contains "\.\."/.test(e.message));
  assert.throws(() => resolveSettings({ env: { OBJECTFS_SUBDIR: 'a/../..' } }), /OBJECTFS_SUBDIR/);
  const flags = {} as Parameters<typeof splitMountOptions>[1];
  assert.deepEqual(splitMountOptions(['subdir=/a/b', 'allow_other'], flags), []);
  assert.equal(flags.subdir, '/a/b');
  assert.throws(() => splitMountOptions(['subdir='], {}), /subdir \(-o subdir\): "" is empty/);
  assert.throws(() => splitMountOptions(['subdir=/a/../b'], {}), /subdir \(-o subdir\)/);
});
