import { test } from 'node:test';
import assert from 'node:assert/strict';
import { constants } from 'node:os';
import { CliError, errnoName, FsError, toErrno } from '../../../src/errors.js';

const E = constants.errno;

test('FsError carries the POSIX errno of its code', () => {
  assert.equal(FsError.ENOENT('x').errno, E.ENOENT);
  assert.equal(FsError.ENAMETOOLONG('x').errno, E.ENAMETOOLONG);
  assert.equal(FsError.of('ENOTEMPTY', 'x').errno, E.ENOTEMPTY);
  assert.equal(FsError.EEXIST('x').code, 'EEXIST');
  assert.match(FsError.EEXIST('name taken').message, /^EEXIST: name taken$/);
});

test('only EIO captures a stack; the other codes capture none and leave the stack limit as it was', () => {
  const limit = Error.stackTraceLimit;
  const eio = FsError.EIO('broken', new Error('cause'));
  assert.ok((eio.stack ?? '').split('\n').length > 1, 'EIO keeps the frames that lead to it');
  assert.equal(FsError.ENOENT('no name').stack, 'FsError: ENOENT: no name');
  assert.equal(FsError.of('EACCES', 'denied').stack, 'FsError: EACCES: denied');
  assert.equal(Error.stackTraceLimit, limit);
  assert.ok((new Error('plain').stack ?? '').split('\n').length > 1, 'other errors still capture stacks');
});

test('toErrno keeps an FsError errno', () => {
  assert.equal(toErrno(FsError.ENOTDIR('x')), E.ENOTDIR);
  assert.equal(toErrno(FsError.EISDIR('x')), E.EISDIR);
});

test('toErrno maps aborts to EINTR and timeouts to ETIMEDOUT', () => {
  const abort = new Error('aborted');
  abort.name = 'AbortError';
  assert.equal(toErrno(abort), E.EINTR);
  assert.equal(toErrno(AbortSignal.abort().reason), E.EINTR);
  const timeout = new Error('late');
  timeout.name = 'TimeoutError';
  assert.equal(toErrno(timeout), E.ETIMEDOUT);
});

test('toErrno honours typed errors that carry a positive errno', () => {
  class Unavailable extends Error { readonly errno = E.EIO; }
  assert.equal(toErrno(new Unavailable('s3 down')), E.EIO);
});

test('toErrno turns anything unknown into EIO and reports it once', () => {
  const seen: unknown[] = [];
  const err = new TypeError('boom');
  assert.equal(toErrno(err, (e) => seen.push(e)), E.EIO);
  assert.equal(toErrno('a string', (e) => seen.push(e)), E.EIO);
  assert.equal(toErrno(null, (e) => seen.push(e)), E.EIO);
  assert.deepEqual(seen, [err, 'a string', null]);
  // A Node system error has a negative errno: it is not trusted as a POSIX errno.
  const sys = Object.assign(new Error('sys'), { errno: -2, code: 'ENOENT' });
  assert.equal(toErrno(sys), E.EIO);
});

test('errnoName names errnos', () => {
  assert.equal(errnoName(E.ENOENT), 'ENOENT');
  assert.equal(errnoName(99999), 'E99999');
});

test('CliError keeps its exit code', () => {
  const e = new CliError(3, 'EBAD', 'bad');
  assert.equal(e.exitCode, 3);
  assert.equal(e.message, 'bad');
});
