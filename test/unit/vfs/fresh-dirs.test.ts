/** Which missing names a fresh directory's knowledge may answer for, and when it is dropped. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FreshDirs, MAX_FRESH_DIRS, MAX_NAMES_PER_DIR } from '../../../src/vfs/fresh-dirs.js';

const n = (s: string) => Buffer.from(s);

function freshDir(dirs: FreshDirs, ino: number): void {
  dirs.made(dirs.watchMkdir(), ino);
}

test('a directory made here knows its missing names; names added here or announced are not answered', () => {
  const dirs = new FreshDirs();
  freshDir(dirs, 10);
  assert.ok(dirs.absent(10, n('a')));
  dirs.mayExist(10, n('a'));
  assert.ok(!dirs.absent(10, n('a')), 'a name being added must be asked for');
  assert.ok(dirs.absent(10, n('b')));
  assert.ok(!dirs.absent(11, n('a')), 'a directory not made here is never answered for');
  for (const special of ['.', '..', '', 'x'.repeat(256)]) assert.ok(!dirs.absent(10, n(special)), `'${special.slice(0, 8)}' is the engine's to answer`);
  dirs.changed([10]);
  assert.ok(!dirs.absent(10, n('b')), 'another host changed it: known no more');
});

test('a mkdir whose directory was touched while it ran, or during lost announcements, is not known', () => {
  const dirs = new FreshDirs();
  const w1 = dirs.watchMkdir();
  const w2 = dirs.watchMkdir();
  dirs.mayExist(20, n('x')); // a name added in 20 before the mkdir that made 20 returned
  dirs.changed([21]);
  dirs.made(w1, 20);
  dirs.made(w2, 21);
  assert.ok(!dirs.absent(20, n('y')));
  assert.ok(!dirs.absent(21, n('y')));
  const w3 = dirs.watchMkdir();
  dirs.forgetAll();
  dirs.made(w3, 22);
  assert.ok(!dirs.absent(22, n('y')));
  const w4 = dirs.watchMkdir();
  dirs.made(w4, undefined); // a failed mkdir
  assert.equal(dirs.size, 0);
  freshDir(dirs, 23);
  dirs.forgetAll();
  assert.ok(!dirs.absent(23, n('y')));
});

test('bounds: too many names forget the directory, too many directories forget the oldest', () => {
  const dirs = new FreshDirs();
  freshDir(dirs, 1);
  for (let i = 0; i <= MAX_NAMES_PER_DIR; i++) dirs.mayExist(1, n(`f${i}`));
  assert.ok(!dirs.absent(1, n('other')));
  for (let i = 0; i <= MAX_FRESH_DIRS; i++) freshDir(dirs, 100 + i);
  assert.equal(dirs.size, MAX_FRESH_DIRS);
  assert.ok(!dirs.absent(100, n('x')), 'the oldest went');
  assert.ok(dirs.absent(100 + MAX_FRESH_DIRS, n('x')));
});
