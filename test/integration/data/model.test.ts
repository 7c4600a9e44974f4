/**
 * Randomized model test of the data path: long seeded sequences of write / truncate / read /
 * fsync / close+reopen / compaction / deferred deletion / volume reopen with cold or tiny
 * caches, on files whose data sits around block and 64 MiB chunk boundaries, every read
 * compared byte for byte with an in-memory sparse model (test/support/sparse-file.ts).
 *
 *   OBJECTFS_SEED=<u32>        replays a run (the seed is printed as a diagnostic)
 *   OBJECTFS_MODEL_STEPS=<n>   steps per bed (default 300)
 *
 * Beds: PostgreSQL + S3 (s3rver) with a second volume instance as another host checking
 * close-to-open, and PGlite + file://.
 */
import { describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { constants } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { CHUNK_SIZE } from '../../../src/chunk/keys.js';
import type { OpenVolumeOptions, Volume } from '../../../src/volume/open-volume.js';
import { ROOT_INO } from '../../../src/meta/index.js';
import {
  freshDataVolume, KiB, listBlockKeys, referencedBlockKeys, ROOT_CALLER, type DataVolume, type DataVolumeSpec,
} from '../../support/data-volume.js';
import { makeRng, testSeed, type Rng } from '../../support/prng.js';
import { firstDifference, SparseFile } from '../../support/sparse-file.js';

const BLOCK = 64 * KiB;
const STEPS = Number(process.env['OBJECTFS_MODEL_STEPS'] ?? 300);
/** Data stays below 3 chunks + a bit: chunk indexes 0..3. */
const MAX_END = 3 * CHUNK_SIZE + 4 * BLOCK;
const MAX_INDEX = Math.floor(MAX_END / CHUNK_SIZE);
const seed = testSeed();

/** `len` deterministic bytes: a run of one value, xorshift noise, or noise with text stamps. */
function testBytes(rng: Rng, len: number): Buffer {
  const b = Buffer.allocUnsafe(len);
  const kind = rng.int(0, 2);
  if (kind === 0) return b.fill(rng.int(0, 255));
  let x = rng.int(1, 0xffff_ffff);
  for (let i = 0; i < len; i++) {
    x ^= x << 13; x ^= x >>> 17; x ^= x << 5;
    b[i] = x & 0xff;
  }
  if (kind === 2) for (let i = 0; i + 16 <= len; i += 1024) b.write(`@${i.toString(16).padStart(14, '0')}|`, i, 'latin1');
  return b;
}

interface ModelFile {
  readonly name: string;
  readonly ino: number;
  readonly model: SparseFile;
  /** Open handles on the current volume instance (all O_RDWR). */
  handles: number[];
}

const pick = <T>(rng: Rng, xs: readonly T[]): T => xs[rng.int(0, xs.length - 1)] as T;

function pickSize(rng: Rng): number {
  switch (rng.int(0, 9)) {
    case 0: return 0;
    case 1: return 1;
    case 2: return BLOCK - 1;
    case 3: return BLOCK;
    case 4: return BLOCK + 1;
    case 5: return 2 * BLOCK + rng.int(-2, 2);
    case 6: return rng.int(1, 100);
    default: return rng.int(1, 3 * BLOCK);
  }
}

function pickOffset(rng: Rng, f: ModelFile, len: number): number {
  let off: number;
  switch (rng.int(0, 11)) {
    case 0: off = 0; break;
    case 1: case 2: off = rng.int(0, 8) * BLOCK + rng.int(-1, 1); break;
    case 3: case 4: off = rng.int(1, 3) * CHUNK_SIZE + pick(rng, [-BLOCK - 1, -BLOCK, -1, 0, 1, BLOCK - 1, BLOCK, rng.int(-3 * BLOCK, 3 * BLOCK)]); break;
    case 5: off = rng.int(1, 3) * CHUNK_SIZE - len + rng.int(-1, 1); break; // ends at a chunk boundary ±1
    case 6: case 7: off = f.model.length + pick(rng, [0, 0, 0, -1, 1, rng.int(-BLOCK, BLOCK)]); break; // appends continue a slice
    case 8: {
      const ranges = f.model.ranges();
      const r = ranges.length > 0 ? pick(rng, ranges) : ([0, 0] as const);
      off = rng.int(r[0], r[1]);
      break;
    }
    case 9: off = rng.int(0, 16 * BLOCK); break;
    case 10: off = rng.int(0, 3) * CHUNK_SIZE + rng.int(-16 * BLOCK, 16 * BLOCK); break;
    default: off = rng.int(0, MAX_END); // sparse: compaction then copies the holes between as zeros
  }
  return Math.max(0, Math.min(off, MAX_END - len));
}

function pickLength(rng: Rng, f: ModelFile): number {
  const len = f.model.length;
  switch (rng.int(0, 7)) {
    case 0: return 0;
    case 1: return Math.max(0, len - rng.int(1, 3 * BLOCK));
    case 2: return len + pick(rng, [-1, 1, BLOCK, 1 + rng.int(0, BLOCK)]);
    case 3: return rng.int(1, 3) * CHUNK_SIZE + rng.int(-1, 1);
    case 4: return rng.int(0, 16) * BLOCK + rng.int(-1, 1);
    default: return rng.int(0, Math.min(MAX_END, len + 2 * BLOCK));
  }
}

function volumeOptions(rng: Rng): OpenVolumeOptions {
  return {
    // 0 = no memory cache, 4 blocks = constant eviction, default = everything stays hot.
    memoryCacheBytes: pick(rng, [0, 4 * BLOCK, 256 << 20]),
    readaheadBytes: pick(rng, [0, 4 * BLOCK, 32 << 20]),
    autoCompact: rng.int(0, 1) === 1,
  };
}

/** Reads [off, off+len) through `fh` and compares it with the model. */
async function check(vol: Volume, fh: number, f: ModelFile, off: number, len: number, what: string): Promise<void> {
  const got = await vol.vfs.read(fh, off, len);
  const want = f.model.read(off, len);
  const diff = firstDifference(got, want);
  assert.equal(diff, '', `${what}: ${f.name} read [${off}, +${len}) (length ${f.model.length}, seed ${seed}): ${diff}`);
}

/** Length, every written range ±1 byte, the end and the chunk boundaries. */
async function checkWholeFile(vol: Volume, fh: number, f: ModelFile, what: string): Promise<void> {
  assert.equal((await vol.vfs.getattr(f.ino)).length, f.model.length, `${what}: length of ${f.name} (seed ${seed})`);
  for (const [a, b] of f.model.ranges()) await check(vol, fh, f, Math.max(0, a - 1), b - a + 2, what);
  for (let c = 1; c <= MAX_INDEX; c++) await check(vol, fh, f, c * CHUNK_SIZE - 2 * BLOCK - 1, 4 * BLOCK + 2, what);
  await check(vol, fh, f, Math.max(0, f.model.length - BLOCK - 1), 2 * BLOCK + 2, what);
}

async function runModel(t: TestContext, spec: DataVolumeSpec, label: string, withSecondHost: boolean): Promise<void> {
  const rng = makeRng(seed);
  t.diagnostic(`seed=${seed} steps=${STEPS} (replay: OBJECTFS_SEED=${seed})`);
  const dv: DataVolume = await freshDataVolume(label, spec);
  const counts = new Map<string, number>();
  const opMs = new Map<string, number>();
  const started = Date.now();
  try {
    let vol = await dv.open(volumeOptions(rng));
    const other = withSecondHost ? await dv.open({ memoryCacheBytes: 4 * BLOCK }) : undefined;
    const files: ModelFile[] = [];
    for (const name of ['a', 'b']) {
      const { fh, attr } = await vol.vfs.create(ROOT_CALLER, ROOT_INO, Buffer.from(name), 0o644, constants.O_RDWR);
      files.push({ name, ino: attr.ino, model: new SparseFile(), handles: [fh] });
    }
    const reopenVolume = async (): Promise<void> => {
      for (const f of files) for (const fh of f.handles.splice(0)) await vol.vfs.release(fh);
      await vol.close();
      vol = await dv.open(volumeOptions(rng));
      for (const f of files) for (let i = rng.int(1, 2); i > 0; i--) f.handles.push(await vol.vfs.open(ROOT_CALLER, f.ino, constants.O_RDWR));
      for (const f of files) await checkWholeFile(vol, pick(rng, f.handles), f, 'after reopening the volume');
    };
    for (let step = 0; step < STEPS; step++) {
      const f = pick(rng, files);
      const fh = pick(rng, f.handles);
      const r = rng.int(0, 99);
      const op = r < 38 ? 'write' : r < 64 ? 'read' : r < 70 ? 'truncate' : r < 77 ? 'fsync' : r < 84 ? 'reopen-handle'
        : r < 89 ? 'compact' : r < 92 ? 'deletion' : r < 95 ? 'reopen-volume' : 'other-host';
      counts.set(op, (counts.get(op) ?? 0) + 1);
      const opStarted = Date.now();
      const at = `step ${step} (${op})`;
      switch (op) {
        case 'write': {
          const len = pickSize(rng);
          const off = pickOffset(rng, f, len);
          const data = testBytes(rng, len);
          assert.equal(await vol.vfs.write(fh, off, data), len, `${at}: write returns its length`);
          f.model.write(off, data);
          // getattr includes this host's unflushed writes.
          assert.equal((await vol.vfs.getattr(f.ino)).length, f.model.length, `${at}: length after write [${off}, +${len}) (seed ${seed})`);
          break;
        }
        case 'read': {
          const len = pickSize(rng) + (rng.int(0, 3) === 0 ? 2 * BLOCK : 0);
          const off = rng.int(0, 4) === 0 ? f.model.length + rng.int(-len, BLOCK) : pickOffset(rng, f, len);
          await check(vol, fh, f, Math.max(0, off), len, at);
          break;
        }
        case 'truncate': {
          const length = Math.max(0, Math.min(MAX_END, pickLength(rng, f)));
          const attr = await vol.vfs.setattr(ROOT_CALLER, f.ino, { length });
          f.model.truncate(length);
          assert.equal(attr.length, length, `${at}: setattr returns the new length`);
          assert.equal((await vol.vfs.getattr(f.ino)).length, length, `${at}: getattr after truncate to ${length} (seed ${seed})`);
          break;
        }
        case 'fsync':
          await vol.vfs.fsync(fh);
          break;
        case 'reopen-handle': {
          if (f.handles.length > 1 || rng.int(0, 1) === 0) {
            f.handles.splice(f.handles.indexOf(fh), 1);
            await vol.vfs.release(fh);
          }
          const nfh = await vol.vfs.open(ROOT_CALLER, f.ino, constants.O_RDWR);
          f.handles.push(nfh);
          await check(vol, nfh, f, Math.max(0, f.model.length - BLOCK), 2 * BLOCK, `${at}: tail after open`);
          break;
        }
        case 'compact': {
          // Half the time everything is committed first; otherwise pending writes may race it.
          const settled = rng.int(0, 1) === 0;
          if (settled) await vol.vfs.fsync(fh);
          const index = rng.int(0, MAX_INDEX);
          const outcome = await vol.vfs.compact(f.ino, index);
          assert.ok(['compacted', 'not-needed', 'raced'].includes(outcome), `${at}: outcome ${outcome}`);
          if (settled && outcome === 'compacted') {
            const after = await vol.meta.readChunk(f.ino, index);
            assert.ok(after.slices.length <= 1, `${at}: a compacted chunk has at most one slice, has ${after.slices.length}`);
          }
          await check(vol, fh, f, index * CHUNK_SIZE + rng.int(0, 4 * BLOCK), 4 * BLOCK, `${at}: chunk ${index} after compaction`);
          await checkWholeFile(vol, fh, f, `${at}: after compacting chunk ${index} (${outcome})`);
          break;
        }
        case 'deletion':
          await vol.vfs.runDeletion(0);
          await checkWholeFile(vol, fh, f, `${at}: after deferred deletion`);
          break;
        case 'reopen-volume':
          await reopenVolume();
          break;
        case 'other-host': {
          if (other === undefined) break;
          for (const h of f.handles) await vol.vfs.flush(h); // close-to-open: the writer's close/fsync…
          const ofh = await other.vfs.open(ROOT_CALLER, f.ino, constants.O_RDONLY); // …then an open on another host
          await checkWholeFile(other, ofh, f, `${at}: seen from another host`);
          await other.vfs.release(ofh);
          break;
        }
      }
      opMs.set(op, (opMs.get(op) ?? 0) + Date.now() - opStarted);
    }
    // Final state: through open handles, then cold, then the objects in the bucket.
    for (const f of files) await checkWholeFile(vol, pick(rng, f.handles), f, 'end of run');
    await reopenVolume();
    for (const f of files) for (const fh of f.handles.splice(0)) await vol.vfs.release(fh);
    await sleep(10); // releases of this millisecond are not "before now" yet
    await vol.vfs.runDeletion(0);
    const chunks = files.flatMap((f) => Array.from({ length: MAX_INDEX + 1 }, (_, i) => [f.ino, i] as const));
    const referenced = await referencedBlockKeys(vol.meta, chunks, BLOCK);
    const stored = await listBlockKeys(dv.objects);
    const missing = referenced.filter((k) => !stored.includes(k));
    const leaked = stored.filter((k) => !referenced.includes(k));
    assert.deepEqual(missing, [], `referenced blocks missing from the bucket (seed ${seed})`);
    assert.deepEqual(leaked, [], `blocks nobody references left after deferred deletion with delay 0 (seed ${seed})`);
    t.diagnostic(`ops ${JSON.stringify(Object.fromEntries(counts))}; ms per op kind ${JSON.stringify(Object.fromEntries(opMs))}; model bytes ${files.map((f) => f.model.storedBytes).join('+')}; `
      + `${stored.length} block objects; ${Date.now() - started} ms`);
    await vol.close();
    await other?.close();
  } finally {
    await dv.cleanup();
  }
}

describe(`data path model (seed=${seed})`, () => {
  test('PostgreSQL + S3 (s3rver), with a second host checking close-to-open', async (t) => {
    await runModel(t, { meta: 'postgres', data: 's3', blockSize: BLOCK }, 'model-pg-s3', true);
  });

  test('PGlite + file://', async (t) => {
    await runModel(t, { meta: 'pglite', data: 'file', blockSize: BLOCK }, 'model-pglite-file', false);
  });

  test('after a truncate, unflushed writes report the truncated length and O_APPEND appends at the new end', async () => {
    const dv = await freshDataVolume('model-truncate-then-write', { meta: 'pglite', data: 'file', blockSize: BLOCK });
    try {
      const vol = await dv.open();
      const { fh, attr } = await vol.vfs.create(ROOT_CALLER, ROOT_INO, Buffer.from('t'), 0o644, constants.O_RDWR);
      await vol.vfs.write(fh, 0, Buffer.alloc(100, 1));
      await vol.vfs.flush(fh);
      await vol.vfs.setattr(ROOT_CALLER, attr.ino, { length: 10 });
      await vol.vfs.write(fh, 0, Buffer.from([2])); // not flushed: getattr must merge it with the new length
      assert.equal((await vol.vfs.getattr(attr.ino)).length, 10, 'length after truncate to 10 and a 1-byte write at 0');
      await vol.vfs.flush(fh);
      const app = await vol.vfs.open(ROOT_CALLER, attr.ino, constants.O_WRONLY | constants.O_APPEND);
      await vol.vfs.setattr(ROOT_CALLER, attr.ino, { length: 5 });
      await vol.vfs.write(app, 0, Buffer.from('Z'));
      await vol.vfs.release(app);
      assert.equal((await vol.vfs.getattr(attr.ino)).length, 6, 'O_APPEND after truncate to 5 writes at offset 5');
      assert.deepEqual([...await vol.vfs.read(fh, 0, 200)], [2, 1, 1, 1, 1, 0x5a]);
      await vol.vfs.release(fh);
      await vol.close();
    } finally {
      await dv.cleanup();
    }
  });

  test('a second handle reads what another handle just wrote, also while writes continue', async (t) => {
    const rng = makeRng(seed ^ 0x5eed);
    const dv = await freshDataVolume('model-two-handles', { meta: 'postgres', data: 's3', blockSize: BLOCK });
    try {
      const vol = await dv.open();
      const { fh: w, attr } = await vol.vfs.create(ROOT_CALLER, ROOT_INO, Buffer.from('shared'), 0o644, constants.O_WRONLY);
      const r = await vol.vfs.open(ROOT_CALLER, attr.ino, constants.O_RDONLY);
      const model = new SparseFile();
      // Sequential: every write is visible to the other handle at once, before any flush.
      for (let i = 0; i < 40; i++) {
        const len = pickSize(rng) || 1;
        const off = rng.int(0, 3) === 0 ? rng.int(0, model.length) : model.length;
        const data = testBytes(rng, len);
        await vol.vfs.write(w, off, data);
        model.write(off, data);
        const got = await vol.vfs.read(r, off, len);
        assert.equal(firstDifference(got, data), '', `write ${i} [${off}, +${len}) read back through the other handle`);
        const a = rng.int(0, model.length - 1);
        const whole = await vol.vfs.read(r, a, 2 * BLOCK);
        assert.equal(firstDifference(whole, model.read(a, 2 * BLOCK)), '', `write ${i}: earlier bytes at ${a}`);
      }
      // Concurrent: a reader loops over what is already written while the writer appends.
      let written = model.length;
      let writing = true;
      const writer = (async () => {
        for (let i = 0; i < 60; i++) {
          const data = testBytes(rng, rng.int(1, 2 * BLOCK));
          const off = model.length;
          model.write(off, data); // the model first: the reader only trusts bytes below `written`
          await vol.vfs.write(w, off, data);
          written = off + data.length;
          await sleep(rng.int(0, 4)); // let the reader interleave with the writer
        }
        writing = false;
      })();
      let reads = 0;
      const readerRng = makeRng(seed ^ 0xbeef);
      while (writing || reads === 0) {
        const upto = written;
        const off = readerRng.int(Math.max(0, upto - 4 * BLOCK), upto - 1);
        const got = await vol.vfs.read(r, off, upto - off);
        assert.equal(firstDifference(got, model.read(off, upto - off)), '', `concurrent read ${reads} of [${off}, ${upto})`);
        reads++;
        // A read served from the memory cache settles in microtasks only: without a turn of the
        // event loop here the writer's timer would never fire and this loop would never end.
        await new Promise((resolve) => setImmediate(resolve));
      }
      await writer;
      t.diagnostic(`${reads} reads while the writer appended`);
      await vol.vfs.release(w);
      const got = await vol.vfs.read(r, 0, model.length);
      assert.equal(firstDifference(got, model.read(0, model.length)), '', 'whole file after close');
      await vol.vfs.release(r);
      await vol.close();
    } finally {
      await dv.cleanup();
    }
  });
});
