import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  CHUNK_SIZE, SLICE_ENTRY_SIZE, buildChunkView, compactable, decodeSliceEntries, encodeSliceEntries,
  encodeSliceEntry, referencedSliceIds,
} from '../../../src/meta/slice-list.js';
import type { ChunkSegment, SliceEntry } from '../../../src/meta/slice-list.js';
import { CHUNK_SIZE as CHUNK_STORE_CHUNK_SIZE } from '../../../src/chunk/keys.js';
import { makeRng, testSeed } from '../../support/prng.js';
import type { Rng } from '../../support/prng.js';

const MAX_ID = Number.MAX_SAFE_INTEGER;

function entry(pos: number, len: number, id: number, off = 0, size = id === 0 ? 0 : off + len): SliceEntry {
  return { pos, id, size, off, len };
}
function seg(pos: number, len: number, id: number, off = 0, size = id === 0 ? 0 : off + len): ChunkSegment {
  return { pos, len, id, off, size };
}
function hole(pos: number, len: number): ChunkSegment {
  return { pos, len, id: 0, off: 0, size: 0 };
}

describe('format constants', () => {
  test('CHUNK_SIZE is the chunk store chunk size', () => {
    assert.equal(CHUNK_SIZE, CHUNK_STORE_CHUNK_SIZE);
    assert.equal(CHUNK_SIZE, 64 * 1024 * 1024);
    assert.equal(SLICE_ENTRY_SIZE, 24);
  });
});

describe('encodeSliceEntry / decodeSliceEntries', () => {
  test('byte layout is big-endian pos, id (u64), size, off, len', () => {
    const e = { pos: 0x01020304, id: 0x0012_3456_789a_bcde, size: 0x03000000, off: 0x00a0b0c0, len: 0x00d0e0f0 };
    const buf = encodeSliceEntry(e);
    assert.equal(buf.length, SLICE_ENTRY_SIZE);
    assert.equal(buf.toString('hex'), '01020304' + '00123456789abcde' + '03000000' + '00a0b0c0' + '00d0e0f0');
    assert.deepEqual(decodeSliceEntries(buf), [e]);
  });

  test('encodeSliceEntries concatenates in order; [] is empty', () => {
    const list = [entry(0, 10, 1), entry(5, 3, 0), entry(100, 7, 2 ** 40, 3, 1000)];
    const buf = encodeSliceEntries(list);
    assert.equal(buf.length, 3 * SLICE_ENTRY_SIZE);
    assert.deepEqual(buf, Buffer.concat(list.map(encodeSliceEntry)));
    assert.deepEqual(decodeSliceEntries(buf), list);
    assert.equal(encodeSliceEntries([]).length, 0);
    assert.deepEqual(decodeSliceEntries(Buffer.alloc(0)), []);
    assert.deepEqual(decodeSliceEntries(new Uint8Array(0)), []);
  });

  test('boundary values round trip', () => {
    const list: SliceEntry[] = [
      entry(0, 0, 0),
      entry(CHUNK_SIZE, 0, 0),
      entry(0, CHUNK_SIZE, 1),
      entry(CHUNK_SIZE - 1, 1, MAX_ID, CHUNK_SIZE - 1, CHUNK_SIZE),
      entry(7, 0, 2 ** 32 - 1, 5, 5),
      entry(7, 1, 2 ** 32, 0, 1),
      entry(7, 1, 2 ** 32 + 1, 0, 1),
      { pos: 3, id: 0, size: 0xffff_ffff, off: 0xffff_ffff, len: 9 }, // a hole's size and off are not checked
    ];
    assert.deepEqual(decodeSliceEntries(encodeSliceEntries(list)), list);
  });

  test('random lists round trip (seeded)', (t) => {
    const seed = testSeed();
    t.diagnostic(`seed=${seed}`);
    const rng = makeRng(seed);
    for (let round = 0; round < 200; round++) {
      const list: SliceEntry[] = [];
      const n = rng.int(0, 50);
      for (let i = 0; i < n; i++) {
        const len = rng.int(0, CHUNK_SIZE);
        const pos = rng.int(0, CHUNK_SIZE - len);
        const id = rng.next() < 0.2 ? 0 : rng.int(1, MAX_ID);
        const size = id === 0 ? rng.int(0, 0xffff_ffff) : rng.int(len, CHUNK_SIZE);
        const off = id === 0 ? rng.int(0, 0xffff_ffff) : rng.int(0, size - len);
        list.push({ pos, id, size, off, len });
      }
      assert.deepEqual(decodeSliceEntries(encodeSliceEntries(list)), list, `seed=${seed}`);
    }
  });

  test('decodes from a Uint8Array view at an odd byte offset', () => {
    const list = [entry(1, 2, 3, 4, 10), entry(11, 12, 13)];
    const backing = new Uint8Array(1 + 2 * SLICE_ENTRY_SIZE + 5);
    backing.set(encodeSliceEntries(list), 1);
    assert.deepEqual(decodeSliceEntries(backing.subarray(1, 1 + 2 * SLICE_ENTRY_SIZE)), list);
  });

  test('decoded entries are frozen', () => {
    const [e] = decodeSliceEntries(encodeSliceEntry(entry(0, 1, 1)));
    assert.ok(e !== undefined && Object.isFrozen(e));
  });

  test('decode rejects a length that is not a multiple of 24', () => {
    for (const n of [1, 23, 25, 47, 49]) {
      assert.throws(() => decodeSliceEntries(Buffer.alloc(n)), /^Error: corrupt slice list: length \d+ is not a multiple of 24$/);
    }
  });

  /** A copy of a record (or of the record of a list) with the u32 at `at` of entry `index` replaced. */
  function patched(record: Buffer | SliceEntry[], index: number, at: number, value: number): Buffer {
    const buf = Buffer.isBuffer(record) ? Buffer.from(record) : encodeSliceEntries(record);
    buf.writeUInt32BE(value, index * SLICE_ENTRY_SIZE + at);
    return buf;
  }

  test('decode rejects entries out of range, naming the entry', () => {
    const good = [entry(0, 10, 1), entry(10, 10, 2, 0, 100)];
    const cases: Array<[Buffer, RegExp]> = [
      [patched(good, 1, 4, 0x0020_0000), /entry 1: id .* not an integer/], // id = 2^53
      [patched(patched(good, 0, 4, 0xffff_ffff), 0, 8, 0xffff_ffff), /entry 0: id/], // id = 2^64 - 1
      [patched(good, 1, 0, CHUNK_SIZE - 9), /entry 1: pos .* past the chunk end/], // pos + len = CHUNK_SIZE + 1
      [patched(good, 0, 20, 0xffff_ffff), /entry 0: pos .* past the chunk end/],
      [patched(good, 1, 16, 91), /entry 1: off 91 \+ len 10 is past the slice size 100/],
      [patched(good, 0, 12, 9), /entry 0: off 0 \+ len 10 is past the slice size 9/],
      [patched(patched(good, 1, 12, CHUNK_SIZE + 1), 1, 16, 0), /entry 1: slice size .* larger than a chunk/],
    ];
    for (const [buf, re] of cases) {
      assert.throws(() => decodeSliceEntries(buf), (err: unknown) => {
        assert.ok(err instanceof Error);
        assert.match(err.message, /^corrupt slice list: /);
        assert.match(err.message, re);
        return true;
      });
    }
  });

  test('decode accepts a hole whose size and off say nothing', () => {
    const buf = patched(patched([entry(0, 10, 0)], 0, 12, 3), 0, 16, 77);
    assert.deepEqual(decodeSliceEntries(buf), [{ pos: 0, id: 0, size: 3, off: 77, len: 10 }]);
  });

  test('encode rejects what decode would reject', () => {
    const bad: SliceEntry[] = [
      { pos: -1, id: 1, size: 1, off: 0, len: 1 },
      { pos: 0.5, id: 1, size: 1, off: 0, len: 1 },
      { pos: NaN, id: 1, size: 1, off: 0, len: 1 },
      { pos: 0, id: -1, size: 1, off: 0, len: 1 },
      { pos: 0, id: 1.5, size: 2, off: 0, len: 1 },
      { pos: 0, id: 2 ** 53, size: 1, off: 0, len: 1 },
      { pos: 0, id: 1, size: 2 ** 32, off: 0, len: 1 },
      { pos: 0, id: 0, size: 2 ** 32, off: 0, len: 1 },
      { pos: 0, id: 0, size: 0, off: -1, len: 1 },
      { pos: 0, id: 1, size: 1, off: 0, len: -1 },
      { pos: CHUNK_SIZE, id: 1, size: 1, off: 0, len: 1 },
      { pos: 1, id: 1, size: CHUNK_SIZE, off: 0, len: CHUNK_SIZE },
      { pos: 0, id: 1, size: 10, off: 5, len: 6 },
      { pos: 0, id: 1, size: CHUNK_SIZE + 1, off: 0, len: 1 },
    ];
    for (const e of bad) {
      assert.throws(() => encodeSliceEntry(e), RangeError, JSON.stringify(e));
      assert.throws(() => encodeSliceEntries([entry(0, 1, 1), e]), /entry 1:/, JSON.stringify(e));
      assert.throws(() => buildChunkView([e]), RangeError, JSON.stringify(e));
    }
  });
});

describe('buildChunkView: targeted cases', () => {
  test('an empty list is an empty view, or one hole up to chunkLength', () => {
    assert.deepEqual(buildChunkView([]), []);
    assert.deepEqual(buildChunkView([], 0), []);
    assert.deepEqual(buildChunkView([], 100), [hole(0, 100)]);
    assert.deepEqual(buildChunkView([], CHUNK_SIZE), [hole(0, CHUNK_SIZE)]);
  });

  test('one entry, at 0 and after a gap', () => {
    assert.deepEqual(buildChunkView([entry(0, 100, 7)]), [seg(0, 100, 7)]);
    assert.deepEqual(buildChunkView([entry(100, 50, 7, 10, 200)]), [hole(0, 100), seg(100, 50, 7, 10, 200)]);
  });

  test('an entry at the very end of the chunk', () => {
    const e = entry(CHUNK_SIZE - 10, 10, 9, 0, 10);
    assert.deepEqual(buildChunkView([e]), [hole(0, CHUNK_SIZE - 10), seg(CHUNK_SIZE - 10, 10, 9)]);
    assert.deepEqual(buildChunkView([e], CHUNK_SIZE), [hole(0, CHUNK_SIZE - 10), seg(CHUNK_SIZE - 10, 10, 9)]);
    assert.deepEqual(buildChunkView([e], CHUNK_SIZE - 5), [hole(0, CHUNK_SIZE - 10), seg(CHUNK_SIZE - 10, 5, 9, 0, 10)]);
  });

  test('overwrite in the middle splits the older slice', () => {
    const view = buildChunkView([entry(0, 100, 1), entry(40, 20, 2, 5, 50)]);
    assert.deepEqual(view, [seg(0, 40, 1, 0, 100), seg(40, 20, 2, 5, 50), seg(60, 40, 1, 60, 100)]);
  });

  test('a hole punched in the middle', () => {
    const view = buildChunkView([entry(0, 100, 1), entry(20, 10, 0)]);
    assert.deepEqual(view, [seg(0, 20, 1, 0, 100), hole(20, 10), seg(30, 70, 1, 30, 100)]);
  });

  test('a hole entry with garbage size/off is a plain hole', () => {
    const view = buildChunkView([entry(0, 100, 1), { pos: 20, id: 0, size: 5, off: 99, len: 10 }]);
    assert.deepEqual(view, [seg(0, 20, 1, 0, 100), hole(20, 10), seg(30, 70, 1, 30, 100)]);
  });

  test('truncate: a zero entry then the length cut', () => {
    const entries = [entry(0, 100, 1), entry(50, 50, 0)];
    assert.deepEqual(buildChunkView(entries), [seg(0, 50, 1, 0, 100), hole(50, 50)]);
    assert.deepEqual(buildChunkView(entries, 50), [seg(0, 50, 1, 0, 100)]);
    // truncate to 10, then extend back to 100: the old bytes must not reappear
    const extended = [entry(0, 100, 1), entry(10, 90, 0)];
    assert.deepEqual(buildChunkView(extended, 100), [seg(0, 10, 1, 0, 100), hole(10, 90)]);
  });

  test('exact overlap: the later entry wins entirely', () => {
    assert.deepEqual(buildChunkView([entry(10, 10, 1), entry(10, 10, 2)]), [hole(0, 10), seg(10, 10, 2)]);
    assert.deepEqual(buildChunkView([entry(10, 10, 2), entry(10, 10, 1)]), [hole(0, 10), seg(10, 10, 1)]);
    assert.deepEqual(buildChunkView([entry(10, 10, 1), entry(10, 10, 0)]), [hole(0, 20)]);
  });

  test('adjacent entries stay separate unless they continue the same slice', () => {
    assert.deepEqual(buildChunkView([entry(0, 10, 1), entry(10, 10, 2)]), [seg(0, 10, 1), seg(10, 10, 2)]);
    assert.deepEqual(buildChunkView([entry(10, 10, 2), entry(0, 10, 1)]), [seg(0, 10, 1), seg(10, 10, 2)]);
    // same slice, contiguous offsets: one segment
    assert.deepEqual(buildChunkView([entry(0, 10, 1, 0, 20), entry(10, 10, 1, 10, 20)]), [seg(0, 20, 1, 0, 20)]);
    // same slice, non-contiguous offsets: two segments
    assert.deepEqual(buildChunkView([entry(0, 10, 1, 0, 30), entry(10, 10, 1, 20, 30)]),
      [seg(0, 10, 1, 0, 30), seg(10, 10, 1, 20, 30)]);
    // a write of a slice, a different one over its middle, then the middle again from the first slice
    assert.deepEqual(buildChunkView([entry(0, 100, 1), entry(40, 20, 2), entry(40, 20, 1, 40, 100)]), [seg(0, 100, 1)]);
  });

  test('adjacent and overlapping holes merge into one', () => {
    assert.deepEqual(buildChunkView([entry(0, 10, 0), entry(10, 10, 0)]), [hole(0, 20)]);
    assert.deepEqual(buildChunkView([entry(5, 10, 0), entry(30, 10, 0)]), [hole(0, 40)]);
    assert.deepEqual(buildChunkView([entry(5, 10, 0)], 100), [hole(0, 100)]);
  });

  test('a newer entry spanning several older segments', () => {
    const view = buildChunkView([entry(0, 10, 1), entry(20, 10, 2), entry(40, 10, 3), entry(5, 40, 4)]);
    assert.deepEqual(view, [seg(0, 5, 1, 0, 10), seg(5, 40, 4), seg(45, 5, 3, 5, 10)]);
  });

  test('entries landing in gaps keep the gaps as holes', () => {
    const view = buildChunkView([entry(0, 10, 1), entry(50, 10, 3), entry(20, 10, 2)]);
    assert.deepEqual(view, [seg(0, 10, 1), hole(10, 10), seg(20, 10, 2), hole(30, 20), seg(50, 10, 3)]);
  });

  test('zero-length entries change nothing', () => {
    assert.deepEqual(buildChunkView([entry(50, 0, 1)]), []);
    assert.deepEqual(buildChunkView([entry(0, 10, 1), entry(5, 0, 2), entry(100, 0, 0)]), [seg(0, 10, 1)]);
  });

  test('chunkLength cuts inside a segment, on a boundary, and pads past the end', () => {
    const entries = [entry(0, 10, 1), entry(20, 10, 2)];
    assert.deepEqual(buildChunkView(entries, 0), []);
    assert.deepEqual(buildChunkView(entries, 5), [seg(0, 5, 1, 0, 10)]);
    assert.deepEqual(buildChunkView(entries, 10), [seg(0, 10, 1)]);
    assert.deepEqual(buildChunkView(entries, 15), [seg(0, 10, 1), hole(10, 5)]);
    assert.deepEqual(buildChunkView(entries, 20), [seg(0, 10, 1), hole(10, 10)]);
    assert.deepEqual(buildChunkView(entries, 25), [seg(0, 10, 1), hole(10, 10), seg(20, 5, 2, 0, 10)]);
    assert.deepEqual(buildChunkView(entries, 30), buildChunkView(entries));
    assert.deepEqual(buildChunkView(entries, 40), [seg(0, 10, 1), hole(10, 10), seg(20, 10, 2), hole(30, 10)]);
    // padding merges with a trailing hole entry
    assert.deepEqual(buildChunkView([entry(0, 10, 1), entry(10, 10, 0)], 40), [seg(0, 10, 1), hole(10, 30)]);
  });

  test('rejects a bad chunkLength', () => {
    for (const n of [-1, 0.5, NaN, CHUNK_SIZE + 1, Infinity]) {
      assert.throws(() => buildChunkView([], n), RangeError, String(n));
    }
  });

  test('segments are frozen; the input is not modified', () => {
    const entries = Object.freeze([Object.freeze(entry(0, 100, 1)), Object.freeze(entry(10, 10, 2))]);
    const view = buildChunkView(entries);
    assert.ok(view.every((s) => Object.isFrozen(s)));
  });

  test('a few thousand entries are fast', () => {
    const rng = makeRng(1);
    const random: SliceEntry[] = [];
    for (let i = 0; i < 4000; i++) {
      const len = rng.int(1, 1 << 20);
      random.push(entry(rng.int(0, CHUNK_SIZE - len), len, i + 1));
    }
    // Many tiny disjoint writes in random order: the view grows to thousands of segments.
    const disjoint: SliceEntry[] = [];
    for (let i = 0; i < 4000; i++) disjoint.push(entry(rng.int(0, 16383) * 4096, 100, i + 1));
    const started = performance.now();
    for (let i = 0; i < 5; i++) {
      buildChunkView(random);
      buildChunkView(disjoint, CHUNK_SIZE);
    }
    const ms = performance.now() - started;
    assert.ok(ms < 5000, `10 views of 4000 entries took ${ms.toFixed(0)} ms`);
  });
});

describe('compactable', () => {
  test('cases', () => {
    assert.equal(compactable([]), false);
    assert.equal(compactable([entry(0, 100, 1)]), false);
    assert.equal(compactable([entry(30, 100, 1)]), false);
    assert.equal(compactable([entry(0, 100, 0)]), false);
    assert.equal(compactable([{ pos: 0, id: 0, size: 7, off: 3, len: 100 }]), false);
    assert.equal(compactable([entry(0, 100, 1, 1, 101)]), true); // hidden head
    assert.equal(compactable([entry(0, 100, 1, 0, 101)]), true); // hidden tail
    assert.equal(compactable([entry(0, 0, 1, 0, 10)]), true); // nothing visible
    assert.equal(compactable([entry(0, 0, 0)]), true); // a no-op entry
    assert.equal(compactable([entry(0, 10, 1), entry(10, 10, 2)]), true);
  });
});

describe('referencedSliceIds', () => {
  test('hidden and visible ids', () => {
    const entries = [entry(0, 100, 1), entry(0, 100, 2), entry(10, 10, 3), entry(50, 0, 4), entry(90, 20, 0), entry(200, 10, 5)];
    const refs = referencedSliceIds(entries);
    assert.deepEqual([...refs.all].sort((a, b) => a - b), [1, 2, 3, 4, 5]);
    assert.deepEqual([...refs.visible].sort((a, b) => a - b), [2, 3, 5]);
    const cut = referencedSliceIds(entries, 15);
    assert.deepEqual([...cut.visible].sort((a, b) => a - b), [2, 3]);
    assert.deepEqual([...cut.all].sort((a, b) => a - b), [1, 2, 3, 4, 5]);
  });

  test('empty', () => {
    const refs = referencedSliceIds([]);
    assert.equal(refs.all.size, 0);
    assert.equal(refs.visible.size, 0);
  });
});

// ---------------------------------------------------------------------------------------
// Randomized model test: every entry writes, byte by byte, a value derived from
// (id, offset inside the slice) into a plain array; the view must reproduce it exactly.

/** The byte at offset `x` of slice `id` (0 for a hole). */
function byteOf(id: number, x: number): number {
  if (id === 0) return 0;
  let h = Math.imul((id >>> 0) ^ Math.imul(Math.floor(id / 2 ** 32), 0x27d4eb2d), 0x9e3779b1);
  h = Math.imul(h ^ Math.imul(x, 0x85ebca6b), 0xc2b2ae35);
  h ^= h >>> 15;
  return h & 0xff;
}

class Model {
  readonly ids: Float64Array;
  readonly offs: Float64Array;
  end = 0;
  constructor(readonly size: number) {
    this.ids = new Float64Array(size);
    this.offs = new Float64Array(size);
  }
  apply(e: SliceEntry): void {
    for (let i = 0; i < e.len; i++) {
      this.ids[e.pos + i] = e.id;
      this.offs[e.pos + i] = e.id === 0 ? 0 : e.off + i;
    }
    if (e.len > 0) this.end = Math.max(this.end, e.pos + e.len);
  }
  bytes(limit: number): Buffer {
    const out = Buffer.alloc(limit);
    for (let i = 0; i < Math.min(limit, this.end); i++) out[i] = byteOf(this.ids[i]!, this.offs[i]!);
    return out;
  }
  visibleIds(limit: number): Set<number> {
    const ids = new Set<number>();
    for (let i = 0; i < Math.min(limit, this.end); i++) if (this.ids[i] !== 0) ids.add(this.ids[i]!);
    return ids;
  }
}

function render(view: readonly ChunkSegment[]): Buffer {
  const last = view[view.length - 1];
  const out = Buffer.alloc(last === undefined ? 0 : last.pos + last.len);
  for (const s of view) for (let i = 0; i < s.len; i++) out[s.pos + i] = byteOf(s.id, s.off + i);
  return out;
}

/** Structure every view must have: contiguous from 0, canonical, in range, frozen. */
function checkShape(view: readonly ChunkSegment[], limit: number, ctx: string): void {
  let cursor = 0;
  view.forEach((s, i) => {
    assert.ok(Object.isFrozen(s), ctx);
    assert.equal(s.pos, cursor, `${ctx}: segment ${i} does not start where the previous ends`);
    assert.ok(Number.isInteger(s.len) && s.len > 0, `${ctx}: segment ${i} is empty`);
    if (s.id === 0) {
      assert.equal(s.off, 0, ctx);
      assert.equal(s.size, 0, ctx);
    } else {
      assert.ok(s.off >= 0 && s.off + s.len <= s.size, `${ctx}: segment ${i} reads past its slice`);
    }
    const prev = view[i - 1];
    if (prev !== undefined) {
      const continues = prev.id === s.id && (s.id === 0 || (prev.off + prev.len === s.off && prev.size === s.size));
      assert.ok(!continues, `${ctx}: segments ${i - 1} and ${i} should have been merged`);
    }
    cursor += s.len;
  });
  assert.equal(cursor, limit, `${ctx}: view ends at ${cursor}, expected ${limit}`);
}

function firstDifference(a: Buffer, b: Buffer): string {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return `first difference at byte ${i}`;
  return `lengths ${a.length} vs ${b.length}`;
}

interface RoundOptions {
  readonly region: number;
  readonly count: number;
}

function randomEntries(rng: Rng, { region, count }: RoundOptions, nextId: () => number): SliceEntry[] {
  const sizes = new Map<number, number>();
  const entries: SliceEntry[] = [];
  for (let n = 0; n < count; n++) {
    const r = rng.next();
    let len: number;
    if (r < 0.03) len = 0;
    else if (r < 0.45) len = rng.int(1, Math.min(16, region));
    else if (r < 0.85) len = rng.int(1, Math.max(1, region >> 3));
    else if (r < 0.97) len = rng.int(1, region);
    else len = region;
    const pos = rng.int(0, region - len);
    const kind = rng.next();
    if (kind < 0.12) {
      // a hole, with whatever size/off: they must be ignored
      entries.push({ pos, id: 0, size: rng.int(0, 1000), off: rng.int(0, 1000), len });
      continue;
    }
    const reusable = [...sizes].filter(([, size]) => size >= len);
    if (kind < 0.25 && reusable.length > 0) {
      // the same slice again, elsewhere (its size is fixed)
      const [id, size] = reusable[rng.int(0, reusable.length - 1)]!;
      entries.push({ pos, id, size, off: rng.int(0, size - len), len });
      continue;
    }
    const id = nextId();
    const off = rng.int(0, Math.min(1000, CHUNK_SIZE - len));
    const size = off + len + rng.int(0, Math.min(1000, CHUNK_SIZE - off - len));
    sizes.set(id, size);
    entries.push({ pos, id, size, off, len });
  }
  return entries;
}

function checkRound(entries: SliceEntry[], region: number, rng: Rng, ctx: string): void {
  const model = new Model(region);
  for (const e of entries) model.apply(e);

  const cuts: Array<number | undefined> = [undefined, 0, model.end, rng.int(0, region), rng.int(0, region + 100)];
  if (model.end > 0) cuts.push(model.end - 1, rng.int(0, model.end));
  for (const cut of cuts) {
    const c = `${ctx} chunkLength=${cut}`;
    const limit = cut ?? model.end;
    const view = buildChunkView(entries, cut);
    checkShape(view, limit, c);
    const want = model.bytes(limit);
    const got = render(view);
    assert.ok(got.equals(want), `${c}: view differs from the model: ${firstDifference(got, want)}`);
    const refs = referencedSliceIds(entries, cut);
    assert.deepEqual(refs.visible, model.visibleIds(limit), c);
    assert.deepEqual(refs.all, new Set(entries.filter((e) => e.id !== 0).map((e) => e.id)), c);
  }
  // The stored record gives the same view.
  const decoded = decodeSliceEntries(encodeSliceEntries(entries));
  assert.deepEqual(decoded, entries, ctx);
  assert.deepEqual(buildChunkView(decoded), buildChunkView(entries), ctx);
  // Compacting to the view and replaying it gives the same content.
  const compacted = buildChunkView(entries).map((s) => ({ pos: s.pos, id: s.id, size: s.size, off: s.off, len: s.len }));
  assert.deepEqual(buildChunkView(compacted), buildChunkView(entries), ctx);
}

describe('buildChunkView: randomized against a byte-array model', () => {
  test('many small rounds and a few long ones (seeded)', (t) => {
    const seed = testSeed();
    t.diagnostic(`seed=${seed} (replay with OBJECTFS_SEED=${seed})`);
    const rng = makeRng(seed);
    let id = rng.int(1, 1000);
    // sometimes large ids, to cover the u64 encoding near 2^53
    const nextId = (): number => (rng.next() < 0.1 ? rng.int(2 ** 52, MAX_ID) : id++);
    let total = 0;
    const rounds: RoundOptions[] = [];
    for (let r = 0; r < 400; r++) rounds.push({ region: [1, 2, 7, 64, 1000, 4096][rng.int(0, 5)]!, count: rng.int(1, 40) });
    for (let r = 0; r < 4; r++) rounds.push({ region: 16384, count: 3000 });
    rounds.push({ region: 256, count: 3000 }); // dense: mostly overwrites of overwrites
    rounds.forEach((options, r) => {
      const entries = randomEntries(rng, options, nextId);
      total += entries.length;
      checkRound(entries, options.region, rng, `seed=${seed} round=${r} region=${options.region}`);
    });
    t.diagnostic(`${rounds.length} rounds, ${total} entries`);
  });
});
