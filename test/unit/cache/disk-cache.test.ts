/**
 * DiskCache on real directories: the file format, restarts, damaged files, temp files, the
 * byte bound, the free-space ratio and a full disk (on a small tmpfs), concurrency.
 *
 * The tmpfs tests mount one with `mount -t tmpfs`, so they need root (or CAP_SYS_ADMIN); they
 * fail, never skip, without it.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, readdir, rm, stat, statfs, truncate, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { promisify } from 'node:util';
import { crc32 } from 'node:zlib';
import { DiskCache } from '../../../src/cache/disk-cache.js';
import { BLOCK_FILE_HEADER_SIZE } from '../../../src/cache/block-file.js';

const KiB = 1024;
const MiB = KiB * KiB;
const H = BLOCK_FILE_HEADER_SIZE;
const run = promisify(execFile);

/** A block key in the chunk store's layout. */
const key = (id: number, len = KiB): string => `chunks/${Math.floor(id / 1e6)}/${Math.floor(id / 1e3)}/${id}_0_${len}`;
/** Distinct, recognisable contents. */
const block = (len: number, seed: number): Buffer => {
  const b = Buffer.allocUnsafe(len);
  for (let i = 0; i < len; i++) b[i] = (i * 31 + seed * 7) & 0xff;
  return b;
};

const dirs: string[] = [];
async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'objectfs-disk-cache-'));
  dirs.push(d);
  return d;
}
after(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

/** Every file under dir, relative, '/'-separated. */
async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const ent of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (ent.isFile()) out.push(join(ent.parentPath, ent.name).slice(dir.length + 1));
  }
  return out.sort();
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(() => true, () => false);
}

/** Mounts a tmpfs of `mib` MiB on a fresh directory for `fn`, and unmounts it whatever happens. */
async function withTmpfs(mib: number, fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await tempDir();
  try {
    await run('mount', ['-t', 'tmpfs', '-o', `size=${mib}m`, 'tmpfs', dir]);
  } catch (err) {
    throw new Error(`cannot mount a ${mib} MiB tmpfs on ${dir} (these tests need root): ${(err as Error).message}`);
  }
  try {
    await fn(dir);
  } finally {
    await run('umount', [dir]).catch(() => run('umount', ['-l', dir]));
  }
}

/** Free fraction of the file system holding dir. */
async function freeRatioOf(dir: string): Promise<number> {
  const st = await statfs(dir);
  return st.bavail / st.blocks;
}

describe('DiskCache basics', () => {
  test('round trip: the file sits at dir/key with the documented header', async () => {
    const dir = await tempDir();
    const cache = await DiskCache.open({ dir, maxBytes: 10 * MiB });
    const k = key(12_345_678, 3000);
    const data = block(3000, 1);
    assert.equal(await cache.get(k), undefined);
    await cache.put(k, data); // resolves once written
    const file = await readFile(join(dir, k));
    assert.equal(file.subarray(0, 4).toString('latin1'), 'OFSC');
    assert.equal(file.readUInt8(4), 1);
    assert.equal(file.readUInt32BE(5), 3000);
    assert.equal(file.readUInt32BE(9), crc32(data));
    assert.deepEqual(file.subarray(H), data);
    assert.deepEqual(await cache.get(k), data);
    assert.equal(await cache.has(k), true);
    assert.deepEqual(cache.usage(), { bytes: 3000 + H, entries: 1 });
    await cache.delete(k);
    assert.equal(await cache.has(k), false);
    assert.equal(await exists(join(dir, k)), false);
    assert.deepEqual(cache.usage(), { bytes: 0, entries: 0 });
    const s = cache.stats();
    assert.deepEqual([s.hits, s.misses, s.writes, s.errors, s.corruptions], [1, 1, 1, 0, 0]);
    await cache.close();
  });

  test('an empty block round-trips', async () => {
    const cache = await DiskCache.open({ dir: await tempDir(), maxBytes: MiB });
    await cache.put(key(1), Buffer.alloc(0));
    assert.deepEqual(await cache.get(key(1)), Buffer.alloc(0));
    await cache.close();
  });

  test('rejects keys that could escape the directory; put only counts them', async () => {
    const dir = await tempDir();
    const cache = await DiskCache.open({ dir, maxBytes: MiB });
    for (const bad of ['../x', 'chunks/../../x', '/etc/passwd', 'chunks//x', 'chunks/./x', '', 'a/b.tmp-0123456789ab']) {
      await assert.rejects(cache.get(bad), TypeError, bad);
      await assert.rejects(cache.has(bad), TypeError, bad);
      await assert.rejects(cache.delete(bad), TypeError, bad);
      await cache.put(bad, block(10, 1)); // never rejects
    }
    assert.equal(cache.stats().errors, 7);
    assert.deepEqual(await filesUnder(dir), []);
    await cache.close();
  });

  test('open rejects bad options and a directory it cannot create', async () => {
    const dir = await tempDir();
    await assert.rejects(DiskCache.open({ dir, maxBytes: -1 }), RangeError);
    await assert.rejects(DiskCache.open({ dir, maxBytes: 1, freeRatio: 1 }), RangeError);
    await assert.rejects(DiskCache.open({ dir, maxBytes: 1, writeConcurrency: 0 }), RangeError);
    await writeFile(join(dir, 'plain-file'), 'x');
    await assert.rejects(DiskCache.open({ dir: join(dir, 'plain-file', 'cache'), maxBytes: MiB }), /cannot open the disk cache/);
  });

  test('put resolves after the write; close waits for writes nobody awaited', async () => {
    const dir = await tempDir();
    const cache = await DiskCache.open({ dir, maxBytes: 10 * MiB, writeConcurrency: 2 });
    for (let i = 1; i <= 20; i++) void cache.put(key(i), block(10 * KiB, i));
    await cache.close();
    assert.equal((await filesUnder(dir)).length, 20);
    await cache.put(key(99), block(10, 1)); // after close: declined, not written
    assert.equal(await exists(join(dir, key(99))), false);
    assert.equal(cache.stats().declined, 1);
  });
});

describe('DiskCache across restarts', () => {
  test('blocks and usage survive close and reopen', async () => {
    const dir = await tempDir();
    const first = await DiskCache.open({ dir, maxBytes: 10 * MiB });
    const blocks = new Map<string, Buffer>();
    for (let i = 1; i <= 30; i++) blocks.set(key(i * 1001, 1000 + i), block(1000 + i, i));
    await Promise.all([...blocks].map(([k, d]) => first.put(k, d)));
    const usage = first.usage();
    await first.close();

    const second = await DiskCache.open({ dir, maxBytes: 10 * MiB });
    assert.deepEqual(second.usage(), usage);
    for (const [k, d] of blocks) assert.deepEqual(await second.get(k), d, k);
    assert.equal(second.stats().hits, 30);
    await second.close();
  });

  test('reopening with a smaller bound evicts the oldest-written files', async () => {
    const dir = await tempDir();
    const first = await DiskCache.open({ dir, maxBytes: 10 * MiB });
    for (let i = 1; i <= 10; i++) await first.put(key(i), block(KiB, i));
    await first.close();
    // Make the write order unambiguous: key(i) was written at second i.
    for (let i = 1; i <= 10; i++) await utimes(join(dir, key(i)), i, i);
    const second = await DiskCache.open({ dir, maxBytes: 4 * (KiB + H) });
    assert.deepEqual(second.usage(), { bytes: 4 * (KiB + H), entries: 4 });
    await second.close(); // waits for the evictions' unlinks
    assert.deepEqual(await filesUnder(dir), [7, 8, 9, 10].map((i) => key(i)).sort());
  });

  test('leftover temp files are removed at open, a too-short file too; complete files stay', async () => {
    const dir = await tempDir();
    const first = await DiskCache.open({ dir, maxBytes: MiB });
    await first.put(key(5), block(KiB, 5));
    await first.close();
    await writeFile(join(dir, `${key(5)}.tmp-0123456789ab`), block(100, 1)); // a crashed write
    await mkdir(join(dir, 'chunks/7/7000'), { recursive: true });
    await writeFile(join(dir, 'chunks/7/7000/7000000_0_9.tmp-abcdefabcdef'), '');
    await writeFile(join(dir, key(6)), 'OFSC'); // shorter than a header
    const second = await DiskCache.open({ dir, maxBytes: MiB });
    assert.deepEqual(await filesUnder(dir), [key(5)]);
    assert.equal(second.stats().tempFilesRemoved, 2);
    assert.equal(second.stats().corruptions, 1);
    assert.deepEqual(second.usage(), { bytes: KiB + H, entries: 1 });
    assert.deepEqual(await second.get(key(5)), block(KiB, 5));
    await second.close();
  });

  test('the scan handles thousands of files across directories', async () => {
    const dir = await tempDir();
    const first = await DiskCache.open({ dir, maxBytes: 100 * MiB, maxPendingBytes: 100 * MiB });
    const n = 3000;
    await Promise.all(Array.from({ length: n }, (_, i) => first.put(key(i * 997 + 1, 10), block(10, i))));
    await first.close();
    const second = await DiskCache.open({ dir, maxBytes: 100 * MiB });
    assert.deepEqual(second.usage(), { bytes: n * (10 + H), entries: n });
    assert.deepEqual(await second.get(key(1234 * 997 + 1, 10)), block(10, 1234));
    await second.close();
  });
});

describe('DiskCache drops damaged files', () => {
  const damage: [string, (path: string, data: Buffer) => Promise<void>][] = [
    ['a truncated file', (p) => truncate(p, H + 100)],
    ['a file cut inside its header', (p) => truncate(p, H - 3)],
    ['a flipped data byte', async (p) => {
      const f = await readFile(p);
      f[H + 500] = (f[H + 500] ?? 0) ^ 0x01;
      await writeFile(p, f);
    }],
    ['a bad magic', async (p) => {
      const f = await readFile(p);
      f.write('XFSC', 0, 'latin1');
      await writeFile(p, f);
    }],
    ['an unknown version', async (p) => {
      const f = await readFile(p);
      f.writeUInt8(2, 4);
      await writeFile(p, f);
    }],
    ['a wrong length in the header', async (p) => {
      const f = await readFile(p);
      f.writeUInt32BE(f.readUInt32BE(5) - 1, 5);
      await writeFile(p, f);
    }],
    ['extra bytes after the data', async (p, data) => {
      await writeFile(p, Buffer.concat([await readFile(p), data.subarray(0, 1)]));
    }],
    ['a headerless file of raw block bytes', (p, data) => writeFile(p, data)],
  ];
  for (const [what, spoil] of damage) {
    test(`${what}: get misses and the file is gone`, async () => {
      const dir = await tempDir();
      const cache = await DiskCache.open({ dir, maxBytes: MiB });
      const data = block(4 * KiB, 9);
      await cache.put(key(1), data);
      await cache.put(key(2), data);
      await spoil(join(dir, key(1)), data);
      assert.equal(await cache.get(key(1)), undefined);
      assert.equal(await exists(join(dir, key(1))), false);
      assert.equal(await cache.has(key(1)), false);
      assert.equal(cache.stats().corruptions, 1);
      assert.deepEqual(cache.usage(), { bytes: 4 * KiB + H, entries: 1 });
      assert.deepEqual(await cache.get(key(2)), data); // the neighbour is untouched
      await cache.put(key(1), data); // the caller re-fetched it: cached again
      assert.deepEqual(await cache.get(key(1)), data);
      await cache.close();
    });
  }

  test('a file removed behind the cache is a plain miss', async () => {
    const dir = await tempDir();
    const cache = await DiskCache.open({ dir, maxBytes: MiB });
    await cache.put(key(1), block(100, 1));
    await rm(join(dir, key(1)));
    assert.equal(await cache.get(key(1)), undefined);
    assert.deepEqual(cache.usage(), { bytes: 0, entries: 0 });
    assert.equal(cache.stats().errors, 0);
    await cache.close();
  });

  test('a directory removed behind the cache is made again by the next put into it', async () => {
    const dir = await tempDir();
    const cache = await DiskCache.open({ dir, maxBytes: MiB });
    await cache.put('x/y/k1', block(100, 1));
    await rm(join(dir, 'x'), { recursive: true });
    await cache.put('x/y/k2', block(200, 2));
    assert.deepEqual(await cache.get('x/y/k2'), block(200, 2));
    assert.equal(cache.stats().errors, 0);
    await cache.close();
  });
});

describe('DiskCache byte bound', () => {
  test('evicts least recently used files; get refreshes', async () => {
    const dir = await tempDir();
    const size = KiB + H;
    const cache = await DiskCache.open({ dir, maxBytes: 5 * size });
    for (let i = 1; i <= 5; i++) await cache.put(key(i), block(KiB, i));
    assert.ok(await cache.get(key(1))); // order now 2,3,4,5,1
    await cache.put(key(6), block(KiB, 6)); // evicts 2
    await cache.put(key(7), block(KiB, 7)); // evicts 3
    assert.deepEqual(cache.usage(), { bytes: 5 * size, entries: 5 });
    assert.deepEqual(await filesUnder(dir), [1, 4, 5, 6, 7].map((i) => key(i)).sort());
    assert.equal(cache.stats().evictions, 2);
    await cache.close();
  });

  test('the files never exceed the bound under many concurrent puts', async () => {
    const dir = await tempDir();
    const maxBytes = 64 * KiB;
    const cache = await DiskCache.open({ dir, maxBytes, writeConcurrency: 4, maxPendingBytes: 10 * MiB });
    const puts: Promise<void>[] = [];
    for (let i = 1; i <= 300; i++) {
      puts.push(cache.put(key(i), block(1 + ((i * 4099) % (8 * KiB)), i)));
      if (i % 25 === 0) {
        await Promise.all(puts.splice(0));
        assert.ok(cache.usage().bytes <= maxBytes);
        const onDisk = await Promise.all((await filesUnder(dir)).map(async (f) => (await stat(join(dir, f))).size));
        assert.ok(onDisk.reduce((a, b) => a + b, 0) <= maxBytes);
        assert.equal(onDisk.length, cache.usage().entries);
      }
    }
    await cache.close();
  });

  test('a block bigger than the bound is declined', async () => {
    const dir = await tempDir();
    const cache = await DiskCache.open({ dir, maxBytes: KiB });
    await cache.put(key(1), block(KiB, 1)); // KiB + header > KiB
    assert.equal(await cache.has(key(1)), false);
    assert.equal(cache.stats().declined, 1);
    await cache.close();
  });

  test('resize shrinks live', async () => {
    const dir = await tempDir();
    const cache = await DiskCache.open({ dir, maxBytes: MiB });
    for (let i = 1; i <= 10; i++) await cache.put(key(i), block(KiB, i));
    cache.resize(3 * (KiB + H));
    assert.deepEqual(cache.usage(), { bytes: 3 * (KiB + H), entries: 3 });
    await cache.close();
    assert.deepEqual(await filesUnder(dir), [8, 9, 10].map((i) => key(i)).sort());
  });

  test('puts beyond maxPendingBytes are dropped, not queued', async () => {
    const dir = await tempDir();
    const cache = await DiskCache.open({ dir, maxBytes: 100 * MiB, writeConcurrency: 1, maxPendingBytes: 256 * KiB });
    await Promise.all(Array.from({ length: 40 }, (_, i) => cache.put(key(i + 1), block(64 * KiB, i))));
    const s = cache.stats();
    assert.equal(s.writes, 4);
    assert.equal(s.dropped, 36);
    await cache.close();
  });
});

describe('DiskCache concurrency', () => {
  test('concurrent puts and gets of one key: one file, gets see all or nothing', async () => {
    const dir = await tempDir();
    const cache = await DiskCache.open({ dir, maxBytes: 10 * MiB });
    const data = block(256 * KiB, 3);
    const ops: Promise<unknown>[] = [];
    for (let i = 0; i < 50; i++) {
      ops.push(cache.put(key(1), data));
      ops.push(cache.get(key(1)).then((got) => { if (got !== undefined) assert.deepEqual(got, data); }));
    }
    await Promise.all(ops);
    assert.equal(cache.stats().writes, 1);
    assert.deepEqual(await filesUnder(dir), [key(1)]);
    assert.deepEqual(await cache.get(key(1)), data);
    await cache.close();
  });

  test('many keys at once, with gets racing the writes', async () => {
    const dir = await tempDir();
    const cache = await DiskCache.open({ dir, maxBytes: 100 * MiB });
    const keys = Array.from({ length: 100 }, (_, i) => key(i + 1, 32 * KiB));
    const ops = keys.flatMap((k, i) => [
      cache.put(k, block(32 * KiB, i)),
      cache.get(k).then((got) => { if (got !== undefined) assert.deepEqual(got, block(32 * KiB, i)); }),
    ]);
    await Promise.all(ops);
    for (const [i, k] of keys.entries()) assert.deepEqual(await cache.get(k), block(32 * KiB, i));
    assert.deepEqual(await filesUnder(dir), [...keys].sort());
    await cache.close();
  });

  test('a delete during the write wins; a put after it brings the block back', async () => {
    const dir = await tempDir();
    const cache = await DiskCache.open({ dir, maxBytes: 10 * MiB });
    const written = cache.put(key(1), block(MiB, 1));
    await cache.delete(key(1));
    await written;
    assert.equal(await cache.has(key(1)), false);
    assert.equal(await exists(join(dir, key(1))), false);
    assert.deepEqual(cache.usage(), { bytes: 0, entries: 0 });

    const again = cache.put(key(2), block(MiB, 2));
    await cache.delete(key(2));
    await cache.put(key(2), block(MiB, 2));
    await again;
    assert.deepEqual(await cache.get(key(2)), block(MiB, 2));
    await cache.close();
  });

  test('evicting a key and writing it again does not lose the new file', async () => {
    const dir = await tempDir();
    const size = 64 * KiB + H;
    const cache = await DiskCache.open({ dir, maxBytes: 2 * size });
    for (let round = 0; round < 20; round++) {
      // Three keys in a cache of two: every put evicts the key put two steps earlier.
      await Promise.all([1, 2, 3].map((i) => cache.put(key(i), block(64 * KiB, i))));
    }
    await cache.close();
    const files = await filesUnder(dir);
    assert.equal(files.length, cache.usage().entries);
    for (const f of files) {
      const reopened = await readFile(join(dir, f));
      assert.equal(reopened.length, size);
    }
  });
});

describe('DiskCache free space (tmpfs)', () => {
  test('declines puts while the file system is below freeRatio, and resumes when space returns', async () => {
    await withTmpfs(8, async (mnt) => {
      const filler = join(mnt, 'filler');
      await writeFile(filler, Buffer.alloc(5 * MiB)); // 3 of 8 MiB free: below 0.5
      const cache = await DiskCache.open({ dir: join(mnt, 'cache'), maxBytes: 64 * MiB, freeRatio: 0.5, freeSpaceCheckMs: 0 });
      try {
        assert.equal(cache.stats().lowSpace, true);
        await cache.put(key(1), block(64 * KiB, 1));
        assert.equal(await cache.has(key(1)), false);
        assert.ok(cache.stats().declined >= 1);
        await rm(filler);
        let cached = false;
        for (let i = 0; i < 200 && !cached; i++) { // the next statfs notices the freed space
          await cache.put(key(1), block(64 * KiB, 1));
          cached = await cache.has(key(1));
          if (!cached) await delay(5);
        }
        assert.ok(cached, 'puts resume once free space is back above the ratio');
        assert.equal(cache.stats().lowSpace, false);
      } finally {
        await cache.close();
      }
    });
  });

  test('evicts old blocks when others fill the file system below freeRatio', async () => {
    await withTmpfs(8, async (mnt) => {
      const cache = await DiskCache.open({ dir: join(mnt, 'cache'), maxBytes: 64 * MiB, freeRatio: 0.25, freeSpaceCheckMs: 0 });
      try {
        for (let i = 1; i <= 4; i++) await cache.put(key(i, MiB), block(MiB, i)); // 4 MiB: half free
        assert.equal(cache.usage().entries, 4);
        await writeFile(join(mnt, 'filler'), Buffer.alloc(2.5 * MiB)); // ~1.5 MiB free: below 25 %
        await cache.put(key(5, MiB), block(MiB, 5)); // its write checks first: evict, decline
        assert.equal(cache.stats().lowSpace, true);
        assert.equal(await cache.has(key(5, MiB)), false);
        assert.equal(await cache.has(key(1, MiB)), false); // the oldest went
        assert.ok(cache.stats().evictions >= 1);
        await cache.close();
        assert.ok(await freeRatioOf(mnt) >= 0.25, `free ratio ${await freeRatioOf(mnt)}`);
      } finally {
        await cache.close();
      }
    });
  });

  test('a full disk (ENOSPC) never makes put reject; repeated errors disable puts', async () => {
    await withTmpfs(8, async (mnt) => {
      const dir = join(mnt, 'cache');
      // freeRatio 0: nothing stops the writes before the file system itself does.
      const cache = await DiskCache.open({ dir, maxBytes: 64 * MiB, freeRatio: 0 });
      try {
        for (let i = 1; i <= 30; i++) await cache.put(key(i, MiB), block(MiB, i)); // 8 MiB holds 7
        const s = cache.stats();
        assert.equal(s.writes, 7);
        assert.equal(s.errors, 8); // ENOSPC 8 times in a row …
        assert.equal(s.disabled, true); // … turns puts off for a while
        assert.equal(s.declined, 15);
        assert.deepEqual(await filesUnder(dir), Array.from({ length: 7 }, (_, i) => key(i + 1, MiB)).sort()); // no temp files left
        for (let i = 1; i <= 7; i++) assert.deepEqual(await cache.get(key(i, MiB)), block(MiB, i));
      } finally {
        await cache.close();
      }
    });
  });

  test('with the default ratio, a file system smaller than maxBytes fills only down to the ratio', async () => {
    await withTmpfs(8, async (mnt) => {
      const dir = join(mnt, 'cache');
      const cache = await DiskCache.open({ dir, maxBytes: 64 * MiB, freeSpaceCheckMs: 600_000 });
      try {
        for (let round = 0; round < 3; round++) { // concurrent bursts, then one at a time
          await Promise.all(Array.from({ length: 12 }, (_, i) => cache.put(key(round * 100 + i + 1, MiB), block(MiB, i))));
        }
        for (let i = 1; i <= 12; i++) await cache.put(key(1000 + i, MiB), block(MiB, i)); // none rejects
        await cache.close(); // waits for any statfs still running
        assert.ok(await freeRatioOf(mnt) >= 0.1, `free ratio ${await freeRatioOf(mnt)}`);
        const s = cache.stats();
        assert.ok(s.declined > 0 && s.writes >= 6, JSON.stringify(s));
        const files = await filesUnder(dir);
        assert.equal(files.length, cache.usage().entries);
        for (const f of files) assert.doesNotMatch(f, /\.tmp-/);
      } finally {
        await cache.close();
      }
    });
  });
});
