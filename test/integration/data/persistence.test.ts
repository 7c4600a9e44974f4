/**
 * Persistence of file data on real PostgreSQL + s3rver: cold reads by a fresh instance, the
 * disk cache serving reads while S3 is really gone (a private s3rver, SIGKILLed), bounded EIO
 * when S3 is down or frozen and nothing is cached, missing or damaged blocks as EIO (never
 * zeros), and deferred deletion removing exactly the objects of released slices.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { constants } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { CHUNK_SIZE, sliceBlockKeys } from '../../../src/chunk/keys.js';
import { ROOT_INO } from '../../../src/meta/index.js';
import type { Volume } from '../../../src/volume/open-volume.js';
import {
  allChunkRows, freshDataVolume, KiB, listBlockKeys, MiB, referencedBlockKeys, ROOT_CALLER, sliceIdsOf, type DataVolume,
} from '../../support/data-volume.js';
import { makeRng, testSeed } from '../../support/prng.js';
import { startPrivateS3 } from '../../support/private-s3.js';
import { firstDifference } from '../../support/sparse-file.js';

const BLOCK = 64 * KiB;
const SIZES = [0, 1, BLOCK - 1, BLOCK, BLOCK + 1, 3 * BLOCK + 17, MiB + 5, 4 * MiB + BLOCK / 2];
const seed = testSeed();
/** Store options of an instance that must give up quickly when S3 is gone. */
const IMPATIENT = { maxAttempts: 2, retryBaseDelayMs: 100, connectTimeoutMs: 1000, requestTimeoutMs: 2000 } as const;
/** A read that fails when S3 is down must fail within this time (2 attempts × 2 s + backoff). */
const EIO_BOUND_MS = 15_000;

interface WrittenFile {
  readonly name: string;
  readonly ino: number;
  readonly data: Buffer;
}

/** Deterministic content: noise with a compressible run every 16 KiB. */
function content(n: number, size: number): Buffer {
  const b = Buffer.allocUnsafe(size);
  let x = (seed ^ Math.imul(n + 1, 0x9e3779b1)) >>> 0 || 1;
  for (let i = 0; i < size; i++) {
    x ^= x << 13; x ^= x >>> 17; x ^= x << 5;
    b[i] = (i & 0x3fff) < 0x800 ? n : x & 0xff;
  }
  return b;
}

/** Creates and writes files (appends of random sizes), then closes them. */
async function writeFiles(vol: Volume, prefix: string, sizes: readonly number[]): Promise<WrittenFile[]> {
  const rng = makeRng(seed);
  const out: WrittenFile[] = [];
  for (const [i, size] of sizes.entries()) {
    const name = `${prefix}${i}`;
    const data = content([...name].reduce((h, c) => (h * 31 + c.charCodeAt(0)) & 0xff, 0), size);
    const { fh, attr } = await vol.vfs.create(ROOT_CALLER, ROOT_INO, Buffer.from(name), 0o644, constants.O_WRONLY);
    for (let off = 0; off < size;) {
      const n = Math.min(size - off, rng.int(1, 200 * KiB));
      await vol.vfs.write(fh, off, data.subarray(off, off + n));
      off += n;
    }
    await vol.vfs.release(fh);
    out.push({ name, ino: attr.ino, data });
  }
  return out;
}

/** Reads every file whole and in pieces, comparing with what was written. */
async function readBack(vol: Volume, files: readonly WrittenFile[], what: string): Promise<void> {
  for (const f of files) {
    assert.equal((await vol.vfs.getattr(f.ino)).length, f.data.length, `${what}: length of ${f.name}`);
    const fh = await vol.vfs.open(ROOT_CALLER, f.ino, constants.O_RDONLY);
    const whole = await vol.vfs.read(fh, 0, f.data.length + BLOCK);
    assert.equal(firstDifference(whole, f.data), '', `${what}: ${f.name} read whole`);
    for (let off = 0; off < f.data.length; off += 100 * KiB + 3) {
      const got = await vol.vfs.read(fh, off, 100 * KiB + 3);
      assert.equal(firstDifference(got, f.data.subarray(off, off + 100 * KiB + 3)), '', `${what}: ${f.name} at ${off}`);
    }
    await vol.vfs.release(fh);
  }
}

/** Reads a whole file expecting EIO; returns the time it took. */
async function expectEio(vol: Volume, f: WrittenFile, what: string): Promise<number> {
  const fh = await vol.vfs.open(ROOT_CALLER, f.ino, constants.O_RDONLY);
  const started = Date.now();
  const outcome = await Promise.race([
    vol.vfs.read(fh, 0, f.data.length).then((b) => ({ bytes: b }), (e: unknown) => ({ error: e as { code?: string } })),
    sleep(4 * EIO_BOUND_MS, undefined, { ref: false }).then(() => ({ hung: true })),
  ]);
  const ms = Date.now() - started;
  assert.ok(!('hung' in outcome), `${what}: the read hangs (no answer after ${4 * EIO_BOUND_MS} ms)`);
  assert.ok(!('bytes' in outcome), `${what}: the read returned ${'bytes' in outcome ? outcome.bytes.length : 0} bytes instead of failing`);
  assert.equal('error' in outcome ? outcome.error.code : undefined, 'EIO', `${what}: error ${'error' in outcome ? String(outcome.error) : ''}`);
  assert.ok(ms < EIO_BOUND_MS, `${what}: EIO after ${ms} ms, expected < ${EIO_BOUND_MS} ms`);
  await vol.vfs.release(fh);
  return ms;
}

/** The block key holding file offset `off` of a file written as one slice in chunk 0. */
async function blockKeyAt(vol: Volume, ino: number, off: number): Promise<string> {
  const { slices } = await vol.meta.readChunk(ino, 0);
  assert.equal(slices.length, 1, 'the file is one slice');
  const e = slices[0]!;
  return sliceBlockKeys(e.id, e.size, BLOCK)[Math.floor((off - e.pos + e.off) / BLOCK)]!;
}

describe(`data persistence on PostgreSQL + s3rver (seed=${seed})`, () => {
  test('a fresh instance with empty caches reads back every file', async (t) => {
    const dv = await freshDataVolume('persist-cold', { meta: 'postgres', data: 's3', blockSize: BLOCK });
    try {
      const writer = await dv.open();
      const files = await writeFiles(writer, 'f', SIZES);
      await writer.close();
      const reader = await dv.open();
      await readBack(reader, files, 'cold instance');
      const blocks = SIZES.reduce((n, s) => n + Math.ceil(s / BLOCK), 0);
      const stats = reader.chunks.stats();
      assert.ok(stats.blocksDownloaded >= blocks, `a cold instance downloads every block: ${stats.blocksDownloaded} < ${blocks}`);
      t.diagnostic(`${blocks} blocks; cold instance downloaded ${stats.blocksDownloaded}, cache hits ${stats.cacheHits}`);
      await reader.close();
    } finally {
      await dv.cleanup();
    }
  });

  test('the disk cache serves reads while S3 is killed; uncached reads fail with EIO in bounded time', async (t) => {
    const s3 = await startPrivateS3();
    const cacheDir = await mkdtemp(join(tmpdir(), 'objectfs-disk-cache-'));
    let dv: DataVolume | undefined;
    try {
      dv = await freshDataVolume('persist-disk', { meta: 'postgres', data: { storage: s3.storageUrl(`disk-${seed}`) }, blockSize: BLOCK });
      const writer = await dv.open(); // no disk cache: only reads fill it below
      const files = await writeFiles(writer, 'c', SIZES);
      const [uncached, frozen] = await writeFiles(writer, 'u', [3 * BLOCK + 5, 2 * BLOCK]);
      await writer.close();

      const warm = await dv.open({ cacheDir });
      await readBack(warm, files, 'filling the disk cache');
      await warm.close(); // waits for the disk cache writes
      const cached = (await readdir(cacheDir, { recursive: true })).length;

      await s3.kill();
      const offline = await dv.open({ cacheDir, storeOptions: IMPATIENT });
      await readBack(offline, files, 'S3 killed, disk cache only');
      assert.equal(offline.chunks.stats().blocksDownloaded, 0, 'nothing came from S3');
      const killedMs = await expectEio(offline, uncached!, 'S3 killed, block not cached');

      await s3.start();
      await readBack(offline, [uncached!], 'S3 back');

      s3.freeze();
      const frozenMs = await expectEio(offline, frozen!, 'S3 frozen (SIGSTOP), block not cached');
      s3.thaw();
      t.diagnostic(`disk cache entries ${cached}; EIO latency: S3 killed ${killedMs} ms, S3 frozen ${frozenMs} ms `
        + `(maxAttempts ${IMPATIENT.maxAttempts}, requestTimeoutMs ${IMPATIENT.requestTimeoutMs})`);
      await offline.close();
    } finally {
      s3.thaw();
      await dv?.cleanup().catch(() => undefined); // the private bucket goes with its directory
      await s3.cleanup();
      await rm(cacheDir, { recursive: true, force: true });
    }
  });

  test('a missing or damaged block object is EIO, never zeros', async () => {
    const dv = await freshDataVolume('persist-missing', { meta: 'postgres', data: 's3', blockSize: BLOCK });
    try {
      const writer = await dv.open();
      const [f] = await writeFiles(writer, 'm', [4 * BLOCK]);
      const missing = await blockKeyAt(writer, f!.ino, BLOCK + 5);
      const damaged = await blockKeyAt(writer, f!.ino, 3 * BLOCK);
      await writer.close();
      await dv.objects.delete(missing);
      await dv.objects.put(damaged, Buffer.from('this is not an lz4 block of 64 KiB'));

      const reader = await dv.open();
      const fh = await reader.vfs.open(ROOT_CALLER, f!.ino, constants.O_RDONLY);
      const first = await reader.vfs.read(fh, 0, BLOCK);
      assert.equal(firstDifference(first, f!.data.subarray(0, BLOCK)), '', 'the intact first block reads');
      for (const [off, len, what] of [
        [BLOCK, BLOCK, 'the missing block'], [BLOCK - 10, 20, 'a range ending in the missing block'],
        [0, 4 * BLOCK, 'the whole file'], [3 * BLOCK + 1, 10, 'the damaged block'],
      ] as const) {
        await assert.rejects(reader.vfs.read(fh, off, len), (e: { code?: string }) => e.code === 'EIO', `${what} → EIO`);
      }
      const third = await reader.vfs.read(fh, 2 * BLOCK, BLOCK);
      assert.equal(firstDifference(third, f!.data.subarray(2 * BLOCK, 3 * BLOCK)), '', 'the intact third block still reads');
      await reader.vfs.release(fh);
      await reader.close();
    } finally {
      await dv.cleanup();
    }
  });

  test('one bit flipped inside a compressed (lz4) block object is EIO, never other bytes', async () => {
    const dv = await freshDataVolume('persist-lz4-bit', { meta: 'postgres', data: 's3', blockSize: BLOCK });
    try {
      const writer = await dv.open();
      const text = Buffer.from(Array.from({ length: 20_000 }, (_, i) => `line ${i % 997} of a log, entry ${(i * 7919) % 1013}\n`).join(''));
      const data = text.subarray(0, 2 * BLOCK);
      const { fh: wfh, attr } = await writer.vfs.create(ROOT_CALLER, ROOT_INO, Buffer.from('log.txt'), 0o644, constants.O_WRONLY);
      await writer.vfs.write(wfh, 0, data);
      await writer.vfs.release(wfh);
      const key = await blockKeyAt(writer, attr.ino, BLOCK);
      await writer.close();
      const stored = await dv.objects.get(key);
      assert.equal(stored.readUInt32LE(0), 0xfffffffe, 'stored as lz4, with its CRC-32');
      assert.ok(stored.length < BLOCK / 2, 'compressed');
      const flipped = Buffer.from(stored);
      const at = 12 + ((stored.length - 12) >> 1); // inside the LZ4 block, past the header and length
      flipped[at] = (flipped[at] ?? 0) ^ 0x10;
      await dv.objects.put(key, flipped);

      const reader = await dv.open();
      const fh = await reader.vfs.open(ROOT_CALLER, attr.ino, constants.O_RDONLY);
      assert.equal(firstDifference(await reader.vfs.read(fh, 0, BLOCK), data.subarray(0, BLOCK)), '', 'the intact first block reads');
      await assert.rejects(reader.vfs.read(fh, BLOCK, BLOCK), (e: { code?: string }) => e.code === 'EIO', 'the flipped block → EIO');
      await reader.vfs.release(fh);
      await reader.close();
    } finally {
      await dv.cleanup();
    }
  });

  test('deferred deletion removes the objects of released slices only, and only after the delay', async (t) => {
    const dv = await freshDataVolume('persist-delete', { meta: 'postgres', data: 's3', blockSize: BLOCK });
    try {
      const vol = await dv.open();
      const [gone, keep] = await writeFiles(vol, 'd', [3 * BLOCK + 1, 2 * BLOCK + 3]);
      // `cut`: data in chunks 0 and 1; truncating into chunk 0 drops chunk 1's list.
      const cutData = content(90, 4 * BLOCK);
      const { fh: cfh, attr: cut } = await vol.vfs.create(ROOT_CALLER, ROOT_INO, Buffer.from('cut'), 0o644, constants.O_WRONLY);
      await vol.vfs.write(cfh, 0, cutData.subarray(0, 2 * BLOCK));
      await vol.vfs.write(cfh, CHUNK_SIZE, cutData.subarray(2 * BLOCK));
      await vol.vfs.release(cfh);
      // `rewritten`: two slices over the same bytes; compaction replaces both.
      const v1 = content(91, 3 * BLOCK);
      const v2 = content(92, 3 * BLOCK);
      const { fh: rfh, attr: rewritten } = await vol.vfs.create(ROOT_CALLER, ROOT_INO, Buffer.from('rewritten'), 0o644, constants.O_WRONLY);
      await vol.vfs.write(rfh, 0, v1);
      await vol.vfs.fsync(rfh);
      await vol.vfs.write(rfh, 0, v2);
      await vol.vfs.release(rfh);

      const keysOf = (ino: number, idx: number) => referencedBlockKeys(vol.meta, [[ino, idx]], BLOCK);
      const goneKeys = await keysOf(gone!.ino, 0);
      const cutKeys1 = await keysOf(cut.ino, 1);
      const rewrittenOld = await keysOf(rewritten.ino, 0);
      assert.equal(sliceIdsOf(rewrittenOld).size, 2, 'rewritten has two slices before compaction');
      const before = await listBlockKeys(dv.objects);

      assert.equal((await vol.meta.unlink(ROOT_INO, Buffer.from(gone!.name))).gone, true);
      await vol.vfs.setattr(ROOT_CALLER, cut.ino, { length: BLOCK + 7 });
      assert.equal(await vol.vfs.compact(rewritten.ino, 0), 'compacted');

      const early = await vol.vfs.runDeletion(3_600_000);
      assert.equal(early.deletedSlices, 0, 'nothing is deleted inside the safety delay');
      const inside = await listBlockKeys(dv.objects);
      assert.deepEqual(before.filter((k) => !inside.includes(k)), [], 'every object is still there inside the safety delay');

      await sleep(10);
      const report = await vol.vfs.runDeletion(0);
      const released = [...goneKeys, ...cutKeys1, ...rewrittenOld];
      const after = await listBlockKeys(dv.objects);
      assert.deepEqual(released.filter((k) => after.includes(k)), [], 'objects of released slices are gone');
      const referenced = await referencedBlockKeys(vol.meta, await allChunkRows(dv.metaUrl), BLOCK);
      assert.deepEqual(after, referenced, 'the bucket holds exactly the referenced blocks');
      assert.equal(report.deletedSlices, sliceIdsOf(released).size, 'deletedSlices counts the released slices');
      t.diagnostic(`released ${report.releasedLists} lists; deleted ${report.deletedSlices} slices, ${report.deletedBytes} bytes; `
        + `${before.length} → ${after.length} objects`);
      await vol.close();

      const cold = await dv.open();
      await readBack(cold, [keep!, { name: 'cut', ino: cut.ino, data: cutData.subarray(0, BLOCK + 7) }, { name: 'rewritten', ino: rewritten.ino, data: v2 }], 'after deletion');
      await assert.rejects(cold.meta.getattr(gone!.ino), (e: { code?: string }) => e.code === 'ENOENT', 'the unlinked inode is gone');
      await cold.close();
    } finally {
      await dv.cleanup();
    }
  });
});
