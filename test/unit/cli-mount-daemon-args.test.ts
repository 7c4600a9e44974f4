/** The --background daemon's command line: never the metadata URL (`ps` shows it to every user). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { helperArgs } from '../../src/cli/mount-helper.js';
import { daemonArgs } from '../../src/cli/mount.js';
import { hasPassword } from '../../src/cli/meta-url.js';

const URL_ = 'postgres://fs:s3cret@db/fs';

test('the daemon reads the URL from stdin: URL, background switch and URL file are dropped', () => {
  assert.deepEqual(daemonArgs(['mount', URL_, '/mnt', '--background', '--cache-dir', '/c'], URL_),
    ['mount', '/mnt', '--cache-dir', '/c', '--meta-url-file', '-']);
  assert.deepEqual(daemonArgs(['mount', '-d', '--meta-url-file', '/etc/objectfs/url', '/mnt'], URL_),
    ['mount', '/mnt', '--meta-url-file', '-']);
  assert.deepEqual(daemonArgs(['mount', '--meta-url-file=/u', '/mnt', '-d'], URL_), ['mount', '/mnt', '--meta-url-file', '-']);
  // mount(8) and fstab go through the same path.
  assert.deepEqual(daemonArgs(helperArgs([URL_, '/mnt', '-o', 'allow_other']), URL_),
    ['mount', '/mnt', '-o', 'allow_other', '--meta-url-file', '-']);
  assert.ok(!daemonArgs(['mount', URL_, '/mnt', '-d'], URL_).some((a) => a.includes('s3cret')));
});

test('a password is recognised in a URL, and only there', () => {
  assert.equal(hasPassword(URL_), true);
  assert.equal(hasPassword('postgres://fs@db/fs'), false);
  assert.equal(hasPassword('pglite:///var/lib/objectfs'), false);
  assert.equal(hasPassword('not a url'), false);
});
