import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeChanges, encodeChanges } from '../../../src/meta/change-feed.js';

describe('change feed payloads', () => {
  test('round-trip: changed inodes and renamed ones, origin kept', () => {
    const [payload, ...rest] = encodeChanges('abc123', { inos: new Set([1, 42, 7]), renamed: new Set([42]) });
    assert.deepEqual(rest, []);
    assert.equal(payload, 'abc123 1,~42,7');
    const back = decodeChanges(payload!);
    assert.equal(back?.origin, 'abc123');
    assert.deepEqual([...back!.change.inos], [1, 42, 7]);
    assert.deepEqual([...back!.change.renamed], [42]);
  });

  test('large batches split below NOTIFY\'s 8000-byte limit and lose nothing', () => {
    const inos = new Set(Array.from({ length: 5000 }, (_, i) => 1_000_000_000 + i));
    const renamed = new Set([...inos].filter((i) => i % 3 === 0));
    const payloads = encodeChanges('o', { inos, renamed });
    assert.ok(payloads.length > 1);
    for (const p of payloads) assert.ok(Buffer.byteLength(p) < 8000, `payload of ${Buffer.byteLength(p)} bytes`);
    const seen = new Set<number>();
    const seenRenamed = new Set<number>();
    for (const p of payloads) {
      const d = decodeChanges(p)!;
      for (const i of d.change.inos) seen.add(i);
      for (const i of d.change.renamed) seenRenamed.add(i);
    }
    assert.deepEqual([...seen].sort(), [...inos].sort());
    assert.deepEqual([...seenRenamed].sort(), [...renamed].sort());
  });

  test('an empty change sends nothing', () => {
    assert.deepEqual(encodeChanges('o', { inos: new Set(), renamed: new Set() }), []);
  });

  test('malformed payloads are refused (the receiver then drops everything)', () => {
    for (const bad of ['', 'noinodes', ' 1,2', 'o 1,,2', 'o x', 'o -3', 'o ~', 'o 1.5', 'o 0']) {
      assert.equal(decodeChanges(bad), undefined, JSON.stringify(bad));
    }
  });
});
