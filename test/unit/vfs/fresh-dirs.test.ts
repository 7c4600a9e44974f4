/** Which missing names a fresh or listed directory's knowledge may answer for, and when it is dropped. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FreshDirs, MAX_FRESH_DIRS, MAX_LISTINGS, MAX_NAMES_PER_DIR } from '../../../src/vfs/fresh-dirs.js';

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

/** Lists `ino` through beforePage/afterPage in pages of `size` names. */
function list(dirs: FreshDirs, ino: number, names: string[], size = 2, between?: (page: number) => void): void {
  let after: Buffer | undefined;
  for (let i = 0, page = 0; ; i += size, page++) {
    const listing = dirs.beforePage(ino, after);
    const chunk = names.slice(i, i + size).map(n);
    const next = i + size < names.length ? chunk[chunk.length - 1] : undefined;
    between?.(page);
    if (listing === undefined) return;
    dirs.afterPage(listing, chunk, next);
    if (next === undefined) return;
    after = next;
  }
}

test('a directory listed here to its end knows its missing names', () => {
  const dirs = new FreshDirs();
  list(dirs, 30, ['a', 'b', 'c', 'd', 'e']);
  for (const s of ['a', 'c', 'e']) assert.ok(!dirs.absent(30, n(s)), `${s} was listed`);
  assert.ok(dirs.absent(30, n('zz')));
  list(dirs, 31, []); // an empty directory: one page, no names
  assert.ok(dirs.absent(31, n('a')));
  dirs.mayExist(30, n('new'));
  dirs.settled(30);
  assert.ok(!dirs.absent(30, n('new')), 'a name added here since is asked for');
  dirs.changed([30]);
  assert.ok(!dirs.absent(30, n('zz')), 'another host changed it: known no more');
  list(dirs, 1, ['a']); // the root: its listing never shows .trash
  assert.ok(dirs.absent(1, n('b')));
  assert.ok(!dirs.absent(1, n('.trash')), "the root's .trash is the engine's to answer");
  list(dirs, 2 ** 47 + 5, ['x']); // a directory of the trash
  assert.ok(!dirs.absent(2 ** 47 + 5, n('y')), "the trash's directories are never learnt from a listing");
});

test('a listing learns nothing when the directory may have changed while it ran, or it was not read to its end', () => {
  const dirs = new FreshDirs();
  list(dirs, 40, ['a', 'b', 'c'], 1, (page) => { if (page === 1) { dirs.mayExist(40, n('x')); dirs.settled(40); } });
  assert.ok(!dirs.absent(40, n('q')), 'a name added here during the listing');
  list(dirs, 41, ['a', 'b', 'c'], 1, (page) => { if (page === 2) dirs.changed([41]); });
  assert.ok(!dirs.absent(41, n('q')), 'another host announced a change during the listing');
  list(dirs, 42, ['a', 'b', 'c'], 1, (page) => { if (page === 0) dirs.forgetAll(); });
  assert.ok(!dirs.absent(42, n('q')), 'announcements may have been lost during the listing');
  // A create of this host that began before the listing and ends after it: its name may be
  // missing from the listing, so nothing is learnt until it has settled.
  dirs.mayExist(43, n('inflight'));
  list(dirs, 43, ['a']);
  assert.ok(!dirs.absent(43, n('inflight')));
  dirs.settled(43);
  assert.ok(!dirs.absent(43, n('q')), 'learnt nothing while the create ran');
  list(dirs, 43, ['a', 'inflight']);
  assert.ok(dirs.absent(43, n('q')), 'a listing after it settled teaches');
  // Pages that do not continue one another (the reader stopped, or skipped): nothing learnt.
  const first = dirs.beforePage(44, undefined);
  assert.ok(first !== undefined);
  dirs.afterPage(first, [n('a')], n('a'));
  assert.equal(dirs.beforePage(44, n('b')), undefined, 'a page after another name continues no listing');
  assert.ok(!dirs.absent(44, n('q')));
  // Other directories' changes do not spoil a listing.
  list(dirs, 45, ['a', 'b'], 1, () => { dirs.changed([46]); dirs.mayExist(47, n('x')); dirs.settled(47); });
  assert.ok(dirs.absent(45, n('q')));
});

test('listings kept between pages are bounded; the oldest stops learning', () => {
  const dirs = new FreshDirs();
  const started = Array.from({ length: MAX_LISTINGS + 1 }, (_, i) => {
    const listing = dirs.beforePage(100 + i, undefined);
    assert.ok(listing !== undefined);
    dirs.afterPage(listing, [n('a')], n('a'));
    return 100 + i;
  });
  assert.equal(dirs.beforePage(started[0]!, n('a')), undefined, 'the oldest was dropped');
  const last = dirs.beforePage(started[MAX_LISTINGS]!, n('a'));
  assert.ok(last !== undefined);
  dirs.afterPage(last, [n('b')], undefined);
  assert.ok(dirs.absent(started[MAX_LISTINGS]!, n('q')));
  assert.ok(!dirs.absent(started[MAX_LISTINGS]!, n('b')));
});

test('with missing names not answered (a mount with --negative-timeout 0), nothing is ever absent', () => {
  const dirs = new FreshDirs(false);
  freshDir(dirs, 60);
  list(dirs, 61, ['a']);
  assert.ok(!dirs.absent(60, n('x')));
  assert.ok(!dirs.absent(61, n('x')));
});
