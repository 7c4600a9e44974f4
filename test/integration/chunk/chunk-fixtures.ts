/**
 * Helpers of the chunk store integration tests: test data, writing a slice the way a file
 * writer would (appends of odd sizes), reading it back at random ranges, and checking the
 * exact set of block objects in the store.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { decodeBlock } from '../../../src/chunk/codec.js';
import type { ChunkStore } from '../../../src/chunk/index.js';
import { blockLength, sliceBlockKeys } from '../../../src/chunk/keys.js';
import { listAll, type ObjectStore } from '../../../src/object/index.js';
import type { Rng } from '../../support/prng.js';

export const KiB = 1024;
export const MiB = 1024 * KiB;

/** `size` bytes, half random (incompressible) and half runs of a repeated pattern, per 16 KiB stretch. */
export function testData(size: number, rng: Rng): Buffer {
  const data = randomBytes(size);
  const pattern = Buffer.from(`slice data ${rng.int(0, 1e9)} `);
  for (let off = 0; off < size; off += 32 * KiB) data.fill(pattern, off, Math.min(size, off + 16 * KiB));
  return data;
}

/** Writes `data` as slice `id` in appends of random sizes (1 byte to 300 KiB); returns the slice size. */
export async function writeSlice(chunks: ChunkStore, id: number, data: Buffer, rng: Rng, maxAppend = 300 * KiB): Promise<number> {
  const w = chunks.newSliceWriter(id);
  for (let off = 0; off < data.length;) {
    const n = Math.min(data.length - off, rng.int(1, maxAppend));
    await w.append(data.subarray(off, off + n));
    off += n;
  }
  await w.finish();
  assert.equal(w.length, data.length);
  return w.length;
}

/** Reads the whole slice, every block boundary ±1 and `count` random ranges, comparing byte for byte. */
export async function checkReads(chunks: ChunkStore, id: number, data: Buffer, rng: Rng, count = 40): Promise<void> {
  const size = data.length;
  const ranges: Array<[number, number]> = [[0, size], [0, 0], [size, 0]];
  for (let b = chunks.blockSize; b < size; b += chunks.blockSize) {
    ranges.push([b - 1, Math.min(2, size - b + 1)], [b, Math.min(1, size - b)]);
  }
  for (let i = 0; i < count && size > 0; i++) {
    const off = rng.int(0, size - 1);
    ranges.push([off, rng.int(0, Math.min(size - off, 3 * chunks.blockSize))]);
  }
  for (const [off, len] of ranges) {
    const got = await chunks.readSlice(id, size, off, len);
    assert.equal(got.length, len, `length of [${off}, +${len})`);
    assert.ok(got.equals(data.subarray(off, off + len)), `bytes of [${off}, +${len}) of slice ${id} (seed ${rng.seed})`);
  }
}

/** Every object under chunks/ of the store, sorted. */
export async function blockObjects(store: ObjectStore): Promise<string[]> {
  const keys: string[] = [];
  for await (const o of listAll(store, 'chunks/')) keys.push(o.key);
  return keys.sort();
}

/** The store holds exactly the slice's keys, and each decodes to its part of `data`. */
export async function checkObjects(
  store: ObjectStore, id: number, data: Buffer, blockSize: number, compression: 'lz4' | 'none',
): Promise<void> {
  const keys = sliceBlockKeys(id, data.length, blockSize);
  assert.deepEqual(await blockObjects(store), [...keys].sort());
  for (const [i, key] of keys.entries()) {
    const len = blockLength(data.length, blockSize, i);
    const block = await decodeBlock(await store.get(key), compression, len, key);
    assert.ok(block.equals(data.subarray(i * blockSize, i * blockSize + len)), `content of ${key}`);
  }
}

/** Megabytes (10^6 bytes) per second, one decimal. */
export function mbps(bytes: number, ms: number): string {
  return (bytes / 1e6 / (ms / 1e3)).toFixed(1);
}
