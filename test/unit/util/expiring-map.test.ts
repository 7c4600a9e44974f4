/** ExpiringMap: expiry per entry, the bound (least recently set first), on an injected clock. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ExpiringMap } from '../../../src/util/expiring-map.js';

function clocked(max: number, start = 1000): { map: ExpiringMap<string, number>; at: (ms: number) => void } {
  let now = start;
  return { map: new ExpiringMap<string, number>(max, { now: () => now }), at: (ms) => { now = ms; } };
}

describe('ExpiringMap', () => {
  test('an entry is returned until its own ttl has passed, then dropped', () => {
    const { map, at } = clocked(10);
    map.set('short', 1, 100);
    map.set('long', 2, 1000);
    at(1100);
    assert.equal(map.get('short'), 1, 'at its ttl exactly it still holds');
    assert.equal(map.has('long'), true);
    at(1101);
    assert.equal(map.get('short'), undefined);
    assert.equal(map.size, 1, 'looked at once expired, it is gone');
    assert.equal(map.get('long'), 2);
    at(2001);
    assert.equal(map.has('long'), false);
  });

  test('setting again renews the ttl and makes the entry the newest', () => {
    const { map, at } = clocked(2);
    map.set('a', 1, 100);
    map.set('b', 2, 100);
    at(1050);
    map.set('a', 3, 100); // now 'b' is the least recently set
    map.set('c', 4, 100);
    assert.equal(map.has('b'), false, 'the bound drops the least recently set');
    assert.deepEqual([map.get('a'), map.get('c')], [3, 4]);
    at(1150);
    assert.equal(map.get('a'), 3, 'the renewed entry counts from its last set');
    assert.equal(map.get('c'), 4);
  });

  test('past the bound the oldest goes; delete and clear', () => {
    const { map } = clocked(1000);
    for (let i = 0; i < 1010; i++) map.set(`k${i}`, i, 10_000);
    assert.equal(map.size, 1000);
    assert.equal(map.has('k9'), false);
    assert.equal(map.get('k10'), 10);
    map.delete('k10');
    map.delete('never there');
    assert.equal(map.has('k10'), false);
    assert.equal(map.size, 999);
    map.clear();
    assert.equal(map.size, 0);
    map.set('again', 1, 10);
    assert.equal(map.get('again'), 1, 'usable after a clear');
  });

  test('the last entry can be deleted and the map used on (lru-cache cleared its whole bound there)', () => {
    const { map } = clocked(262_144);
    for (let i = 0; i < 100; i++) {
      map.set('only', i, 1000);
      map.delete('only');
    }
    assert.equal(map.size, 0);
    map.set('x', 7, 1000);
    assert.equal(map.get('x'), 7);
  });

  test('a bound below 1 is refused; the real clock works', () => {
    assert.throws(() => new ExpiringMap(0), RangeError);
    const map = new ExpiringMap<number, string>(4);
    map.set(1, 'one', 60_000);
    assert.equal(map.get(1), 'one');
  });
});
