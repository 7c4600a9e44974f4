/** LogFile: lines are appended; after the file is moved away, reopen() starts a new one. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LogFile } from '../../../src/util/log-file.js';

test('appends, and after a rename and reopen writes to a new file under the old name', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'log-file-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'objectfs.log');
  const log = new LogFile(path);
  log.write('one\n');
  renameSync(path, `${path}.1`);
  log.write('two\n'); // still the open file, as logrotate expects until it signals
  log.reopen();
  log.write('three\n');
  assert.equal(readFileSync(`${path}.1`, 'utf8'), 'one\ntwo\n');
  assert.equal(readFileSync(path, 'utf8'), 'three\n');
});

test('a reopen that cannot open the path throws and keeps writing to the file it had', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'log-file-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  mkdirSync(join(dir, 'logs'));
  const log = new LogFile(join(dir, 'logs', 'objectfs.log'));
  log.write('a\n');
  renameSync(join(dir, 'logs'), join(dir, 'logs.old')); // the directory of the path is gone
  assert.throws(() => log.reopen(), /ENOENT/);
  log.write('b\n');
  assert.equal(readFileSync(join(dir, 'logs.old', 'objectfs.log'), 'utf8'), 'a\nb\n');
});
