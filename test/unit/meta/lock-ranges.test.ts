/** POSIX lock range arithmetic (pure): split, merge, upgrade, downgrade, and what counts as a release. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LOCK_EOF, applyLock, conflicts, releasesAny, type LockRange } from '../../../src/meta/lock-ranges.js';

const w = (lo: number, hi: number): LockRange => ({ type: 'write', lo, hi });
const r = (lo: number, hi: number): LockRange => ({ type: 'read', lo, hi });

describe('lock ranges', () => {
  it('an unlock inside a range splits it in two', () => {
    assert.deepEqual(applyLock([w(0, 100)], 40, 60, undefined), [w(0, 40), w(60, 100)]);
  });
  it('a lock of another type inside a range splits it around the new one', () => {
    assert.deepEqual(applyLock([w(0, 100)], 40, 60, 'read'), [w(0, 40), r(40, 60), w(60, 100)]);
  });
  it('touching and overlapping ranges of one type merge', () => {
    assert.deepEqual(applyLock([r(0, 10), r(20, 30)], 10, 20, 'read'), [r(0, 30)]);
    assert.deepEqual(applyLock([w(0, 10)], 5, LOCK_EOF, 'write'), [w(0, LOCK_EOF)]);
  });
  it('upgrade and downgrade replace the type over the range only', () => {
    assert.deepEqual(applyLock([r(0, 100)], 0, 50, 'write'), [w(0, 50), r(50, 100)]);
    assert.deepEqual(applyLock([w(0, 100)], 0, 100, 'read'), [r(0, 100)]);
  });
  it('an unlock of everything leaves nothing; an unlock of nothing held changes nothing', () => {
    assert.deepEqual(applyLock([w(0, 10), r(20, 30)], 0, LOCK_EOF, undefined), []);
    assert.deepEqual(applyLock([w(0, 10)], 10, 20, undefined), [w(0, 10)]);
  });
  it('conflicts: overlapping, and at least one writer', () => {
    assert.equal(conflicts(w(0, 10), r(9, 20)), true);
    assert.equal(conflicts(w(0, 10), w(10, 20)), false, 'touching is not overlapping');
    assert.equal(conflicts(r(0, 10), r(5, 20)), false, 'readers share');
  });
  it('releasesAny: an unlock or a downgrade releases, a grow or an upgrade does not', () => {
    assert.equal(releasesAny([w(0, 100)], [w(0, 40), w(60, 100)]), true);
    assert.equal(releasesAny([w(0, 100)], [r(0, 100)]), true);
    assert.equal(releasesAny([r(0, 100)], [w(0, 100)]), false);
    assert.equal(releasesAny([w(0, 10)], [w(0, 20)]), false);
    assert.equal(releasesAny([], [w(0, 1)]), false);
  });
});
