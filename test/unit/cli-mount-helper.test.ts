import { test } from 'node:test';
import assert from 'node:assert/strict';
import { helperArgs } from '../../src/cli/mount-helper.js';
import { splitMountOptions } from '../../src/cli/mount.js';

test('mount(8) helper arguments become objectfs mount --background', () => {
  assert.deepEqual(helperArgs(['pglite:///m', '/mnt/x', '-o', 'rw,allow_other', '-n']),
    ['mount', 'pglite:///m', '/mnt/x', '--background', '-o', 'rw,allow_other']);
  assert.deepEqual(helperArgs(['postgres://u@h/db', '/mnt', '-oro']), ['mount', 'postgres://u@h/db', '/mnt', '--background', '-o', 'ro']);
  assert.deepEqual(helperArgs(['src', '/mnt']), ['mount', 'src', '/mnt', '--background']);
  assert.deepEqual(helperArgs(['-v']), ['mount', '--help']);
});

test('mount options: ours are taken, mount(8) ones dropped, the rest go to libfuse', () => {
  const flags = { diskCache: true, logLevel: 'info' as const } as Parameters<typeof splitMountOptions>[1];
  const fuse = splitMountOptions(['defaults', '_netdev', 'ro', 'allow_other', 'attr_timeout=0', 'cache-dir=/c', 'cache-size=1G', 'max_readahead=131072', 'noatime'], flags);
  assert.deepEqual(fuse, ['max_readahead=131072']);
  assert.equal(flags.readOnly, true);
  assert.equal(flags.allowOther, true);
  assert.equal(flags.attrTimeout, 0);
  assert.equal(flags.cacheDir, '/c');
  assert.equal(flags.cacheSize, 1 << 30);
});

test('mount options: any setting as name=value, config=FILE, and bad values are refused', () => {
  const flags = {} as Parameters<typeof splitMountOptions>[1];
  const fuse = splitMountOptions(['metrics=127.0.0.1:9100', 'upload-limit=10M', 'config=/etc/objectfs.yaml', 'storage_class=standard_ia', 'big_writes'], flags);
  assert.deepEqual(fuse, ['big_writes']);
  assert.equal(flags.metrics, '127.0.0.1:9100');
  assert.equal(flags.uploadLimit, 10 << 20);
  assert.equal(flags.config, '/etc/objectfs.yaml');
  assert.equal(flags.storageClass, 'STANDARD_IA');
  assert.throws(() => splitMountOptions(['cache-size=huge'], {}), /cache-size \(-o cache-size\)/);
});
