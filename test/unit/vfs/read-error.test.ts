/** A failed read keeps the errno of its cause (src/vfs/file-reader.ts readError). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FsError } from '../../../src/errors.js';
import { BlockMissingError } from '../../../src/chunk/index.js';
import { readError } from '../../../src/vfs/file-reader.js';

const codeOf = (e: unknown) => (e as FsError).code;

test('read errors keep a known errno and become EIO only when the cause is unknown', () => {
  const stale = FsError.of('ESTALE', 'deleted elsewhere');
  assert.equal(readError(stale, 7, 0), stale, 'an FsError is kept as it is');
  const abort = new Error('aborted');
  abort.name = 'AbortError';
  assert.equal(codeOf(readError(abort, 7, 0)), 'EINTR');
  const timeout = new Error('too slow');
  timeout.name = 'TimeoutError';
  assert.equal(codeOf(readError(timeout, 7, 0)), 'ETIMEDOUT');
  const missing = new BlockMissingError('chunks/0/0/1_0_4096');
  const mapped = readError(missing, 7, 4096);
  assert.ok(mapped instanceof FsError && mapped.code === 'EIO' && mapped.cause === missing, 'a typed EIO keeps its cause');
  assert.match((mapped as FsError).message, /inode 7 at 4096/);
  assert.equal(codeOf(readError(new TypeError('bug'), 7, 0)), 'EIO', 'unknown: EIO');
});
