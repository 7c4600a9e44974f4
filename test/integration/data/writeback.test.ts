/**
 * Write-back (decision 90) through the library, on PostgreSQL and the test bed's s3rver, with
 * the object store taken away by a FaultyStore: close returns with the store down and the data
 * reads back here from the stage; fsync waits for the store; another client waits for a staged
 * block instead of failing and then reads the right bytes; a run that ends with a backlog leaves
 * it on disk and the next open of the same cache directory uploads it before serving; a staged
 * file deleted before its upload leaves the stage without being uploaded; the stage bound holds
 * writers back without deadlock.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { RAW_HEADER_BYTES } from '../../../src/chunk/raw-block.js';
import { ROOT_INO } from '../../../src/meta/index.js';
import { FaultyStore, type ObjectStore } from '../../../src/object/index.js';
import type { Volume } from '../../../src/volume/open-volume.js';
import { freshDataVolume, KiB, listBlockKeys, ROOT_CALLER, type DataVolume } from '../../support/data-volume.js';

const BLOCK = 64 * KiB;
const SESSION = { host: 'writeback-test', pid: process.pid, mountPoint: '/test', version: 'test', processName: 'test' };

function bytes(seed: number, len: number): Buffer {
  const b = Buffer.alloc(len);
  for (let i = 0; i < len; i++) b[i] = (i * 131 + seed * 7 + (i >> 11)) & 0xff;
  return b;
}

async function writeFile(v: Volume, name: string, data: Buffer): Promise<{ ino: number; fh: number }> {
  const { fh, attr } = await v.vfs.create(ROOT_CALLER, ROOT_INO, Buffer.from(name), 0o644, constants.O_RDWR);
  await v.vfs.write(fh, 0, data);
  await v.vfs.flush(fh);
  return { ino: attr.ino, fh };
}

async function readFile(v: Volume, name: string, len: number): Promise<Buffer> {
  const { ino } = await v.vfs.lookup(ROOT_CALLER, ROOT_INO, Buffer.from(name));
  const fh = await v.vfs.open(ROOT_CALLER, ino, constants.O_RDONLY);
  try {
    return Buffer.from(await v.vfs.read(fh, 0, len));
  } finally {
    await v.vfs.release(fh);
  }
}

/** Resolves to 'pending' if `p` has not settled after `ms`. */
async function settledWithin<T>(p: Promise<T>, ms: number): Promise<'settled' | 'pending'> {
  return Promise.race([p.then(() => 'settled' as const, () => 'settled' as const), sleep(ms).then(() => 'pending' as const)]);
}

interface Bed {
  dv: DataVolume;
  cacheDir: string;
  faulty: FaultyStore | undefined;
  /** A write-back client whose object store can go down (`down`: down from the start). */
  open(options?: { limit?: number; drainMs?: number; down?: boolean; stallMs?: number; uploadConcurrency?: number; afterPut?: (f: FaultyStore) => void; onProgress?: (p: { uploaded: number }) => void }): Promise<Volume>;
}

async function bed(t: { after(fn: () => Promise<void>): void }, label: string): Promise<Bed> {
  const dv = await freshDataVolume(label, { meta: 'postgres', data: 's3', blockSize: BLOCK });
  const cacheDir = await mkdtemp(join(tmpdir(), 'objectfs-wb-'));
  t.after(async () => {
    await dv.cleanup();
    await rm(cacheDir, { recursive: true, force: true });
  });
  const b: Bed = {
    dv, cacheDir, faulty: undefined,
    open: (options = {}) => dv.open({
      writeback: true, cacheDir, session: SESSION,
      storeOptions: { maxAttempts: 1 },
      ...(options.limit === undefined ? {} : { writebackLimitBytes: options.limit }),
      ...(options.drainMs === undefined ? {} : { writebackDrainMs: options.drainMs }),
      writebackRecovery: { ...(options.stallMs === undefined ? {} : { stallMs: options.stallMs }), ...(options.onProgress === undefined ? {} : { onProgress: options.onProgress }) },
      ...(options.uploadConcurrency === undefined ? {} : { uploadConcurrency: options.uploadConcurrency }),
      wrapStore: (s: ObjectStore) => {
        const faulty = new FaultyStore(s);
        b.faulty = faulty;
        if (options.down === true) faulty.goDown();
        const afterPut = options.afterPut;
        if (afterPut === undefined) return faulty;
        // Tells `afterPut` of every put that succeeded (it may take the store down).
        return new Proxy(faulty, {
          get(target, prop) {
            if (prop === 'put') return async (...args: Parameters<ObjectStore['put']>) => { await target.put(...args); afterPut(target); };
            const value = Reflect.get(target, prop) as unknown;
            return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
          },
        });
      },
    }),
  };
  return b;
}

describe('write-back', () => {
  test('close returns with the object store down; the data reads back here, uploads when it returns, and fsync waits for it', async (t) => {
    const b = await bed(t, 'wb-down');
    const a = await b.open();
    const other = await b.dv.open({ storeOptions: { maxAttempts: 1 }, stagedWaitMs: 30_000 });
    const faulty = b.faulty as FaultyStore;
    faulty.goDown();
    const data = bytes(1, 3 * BLOCK + 1000);
    const { ino, fh } = await writeFile(a, 'f', data);
    assert.deepEqual(await readFile(a, 'f', data.length), data, 'read back on the writing client, from its stage');
    assert.deepEqual((await a.meta.stagedSlices()).map((s) => s.inode), [ino], 'the commit recorded the slice as staged');
    assert.deepEqual(await listBlockKeys(b.dv.objects), [], 'nothing reached the object store');
    const fsync = a.vfs.fsync(fh);
    assert.equal(await settledWithin(fsync, 700), 'pending', 'fsync does not return while the data is only staged');
    // The other client waits for the staged block rather than failing.
    const otherRead = readFile(other, 'f', data.length);
    assert.equal(await settledWithin(otherRead, 700), 'pending', 'another client waits for the staged data');
    faulty.comeBack();
    await fsync;
    assert.equal((await listBlockKeys(b.dv.objects)).length, 4, 'after fsync every block is in the object store');
    assert.deepEqual(await a.meta.stagedSlices(), [], 'and the slice is no longer staged');
    assert.deepEqual(await otherRead, data, 'the other client reads the uploaded data');
    await a.vfs.release(fh);
    assert.deepEqual(await readdir(a.stage?.dir as string), [], 'the stage is empty');
  });

  test('another client gives up after its wait with EIO when the staged data never comes', async (t) => {
    const b = await bed(t, 'wb-gives-up');
    const a = await b.open({ drainMs: 0 });
    const warnings: string[] = [];
    const other = await b.dv.open({ stagedWaitMs: 600, log: { info: () => undefined, warn: (m: string) => { warnings.push(m); } } });
    (b.faulty as FaultyStore).goDown();
    const { fh } = await writeFile(a, 'g', bytes(2, 1000));
    await a.vfs.release(fh);
    const started = Date.now();
    await assert.rejects(readFile(other, 'g', 1000), (err: NodeJS.ErrnoException) => err.code === 'EIO');
    assert.ok(Date.now() - started >= 500, 'it waited first');
    assert.ok(warnings.some((w) => /is staged on session \d+ \(host writeback-test\)/.test(w)), `a clear log line (${warnings.join(' | ')})`);
  });

  test('a backlog left by a run is uploaded by the next open of the same cache directory before it serves', async (t) => {
    const b = await bed(t, 'wb-leftovers');
    const first = await b.open({ drainMs: 0 });
    (b.faulty as FaultyStore).goDown();
    const files = Array.from({ length: 12 }, (_, i) => ({ name: `f${i}`, data: bytes(10 + i, (i + 1) * 20 * KiB) }));
    for (const f of files) await first.vfs.release((await writeFile(first, f.name, f.data)).fh);
    assert.equal((await first.meta.stagedSlices()).length, 12);
    await first.close(); // gives up draining at once: the stage stays on disk
    assert.deepEqual(await listBlockKeys(b.dv.objects), []);
    assert.ok((await readdir(join(b.cacheDir, `${first.meta.volume.uuid}.stage`))).length > 0, 'the backlog is on disk');

    const second = await b.open(); // a healthy store this time
    assert.deepEqual(await second.meta.stagedSlices(), [], 'opened only after the leftovers were uploaded and unstaged');
    const reader = await b.dv.open();
    for (const f of files) assert.deepEqual(await readFile(reader, f.name, f.data.length), f.data, `${f.name} byte-identical on another client`);
    assert.deepEqual(await readdir(second.stage?.dir as string), []);
  });

  /** A first run that stages `files` with the store down and leaves them on disk. */
  async function leaveBacklog(b: Bed, files: readonly { name: string; data: Buffer }[]): Promise<string> {
    const first = await b.open({ drainMs: 0, down: true });
    for (const f of files) await first.vfs.release((await writeFile(first, f.name, f.data)).fh);
    assert.equal((await first.meta.stagedSlices()).length, files.length);
    await first.close();
    return join(b.cacheDir, `${first.meta.volume.uuid}.stage`);
  }

  test('an open whose object store stays away gives up after the stall bound with the reason; the backlog stays for a later open', async (t) => {
    const b = await bed(t, 'wb-stalled');
    const files = Array.from({ length: 3 }, (_, i) => ({ name: `s${i}`, data: bytes(40 + i, 30 * KiB) }));
    const stageDir = await leaveBacklog(b, files);
    const staged = (await readdir(stageDir)).sort();
    const started = Date.now();
    await assert.rejects(b.open({ down: true, stallMs: 800 }), (err: Error) => {
      assert.equal(err.name, 'RecoveryStalledError');
      assert.match(err.message, /3 of 3 block\(s\) staged by an earlier run could not be uploaded/);
      assert.ok(err.message.includes(stageDir), `names the stage directory: ${err.message}`);
      assert.match(err.message, /last error: .*store is down/, 'says why');
      return true;
    });
    assert.ok(Date.now() - started >= 800, 'it tried for the stall bound first');
    assert.deepEqual((await readdir(stageDir)).sort(), staged, 'every staged block is still on disk');
    const second = await b.open();
    assert.deepEqual(await second.meta.stagedSlices(), [], 'a later open with the store back uploads them');
    const reader = await b.dv.open();
    for (const f of files) assert.deepEqual(await readFile(reader, f.name, f.data.length), f.data, `${f.name} byte-identical on another client`);
  });

  test('an open stopped halfway through the leftovers keeps what it uploaded; the next one uploads only the rest', async (t) => {
    const b = await bed(t, 'wb-halfway');
    const files = Array.from({ length: 10 }, (_, i) => ({ name: `h${i}`, data: bytes(60 + i, 40 * KiB) }));
    const stageDir = await leaveBacklog(b, files);
    let puts = 0;
    const reported: number[] = [];
    await assert.rejects(b.open({ stallMs: 800, uploadConcurrency: 1, afterPut: (f) => { if (++puts === 4) f.goDown(); }, onProgress: (p) => reported.push(p.uploaded) }),
      (err: Error) => err.name === 'RecoveryStalledError' && /6 of 10 block/.test(err.message));
    assert.equal(puts, 4);
    assert.ok(reported.length > 0 && reported.every((n, i) => i === 0 || n >= (reported[i - 1] as number)), `progress reported, never going back: ${reported.join(',')}`);
    assert.equal(reported[reported.length - 1], 4, 'the last report counts the four uploaded');
    assert.equal((await readdir(stageDir)).length, 6, 'the four uploaded blocks left the stage');
    const last = await b.open();
    assert.equal((b.faulty as FaultyStore).calls('put'), 6, 'only the six others were uploaded again');
    assert.deepEqual(await last.meta.stagedSlices(), [], 'every slice is unstaged');
    const reader = await b.dv.open();
    for (const f of files) assert.deepEqual(await readFile(reader, f.name, f.data.length), f.data, `${f.name} byte-identical on another client`);
  });

  test('a staged file deleted before its upload: deferred deletion discards its blocks from the stage, nothing is uploaded', async (t) => {
    const b = await bed(t, 'wb-discard');
    const a = await b.open();
    const faulty = b.faulty as FaultyStore;
    faulty.failAlways(['put']); // uploads fail, deletes work
    const kept = bytes(30, BLOCK + 5);
    await a.vfs.release((await writeFile(a, 'gone', bytes(31, 3 * BLOCK))).fh);
    await a.vfs.release((await writeFile(a, 'kept', kept)).fh);
    assert.equal((await a.meta.stagedSlices()).length, 2);
    assert.equal(a.stage?.backlog().blocks, 5);
    await a.vfs.unlink(ROOT_CALLER, ROOT_INO, Buffer.from('gone'));
    const report = await a.vfs.runDeletion(0); // no safety delay: the released slice goes now
    assert.equal(report.deletedSlices, 1, `the deletion job took the slice (${JSON.stringify(report)})`);
    // A block caught in a failing upload leaves at its next retry (backoff up to 15 s).
    for (const until = Date.now() + 20_000; (a.stage?.backlog().blocks ?? 0) > 2 && Date.now() < until;) await sleep(50);
    assert.equal(a.stage?.backlog().blocks, 2, 'the deleted file\'s three blocks left the stage, the other file\'s stay');
    faulty.heal();
    await a.vfs.stagedDrained();
    assert.deepEqual(await a.meta.stagedSlices(), [], 'no slice is still marked staged');
    assert.equal((await listBlockKeys(b.dv.objects)).length, 2, 'only the kept file\'s blocks were uploaded');
    assert.deepEqual(await readdir(a.stage?.dir as string), [], 'the stage is empty');
    const reader = await b.dv.open();
    assert.deepEqual(await readFile(reader, 'kept', kept.length), kept);
  });

  test('the stage bound holds writers back until uploads make room, without deadlock', async (t) => {
    const b = await bed(t, 'wb-bound');
    // Random bytes: lz4 cannot shrink them, so they are stored raw (a small header more) and
    // two blocks fill the stage.
    const a = await b.open({ limit: 2 * (BLOCK + RAW_HEADER_BYTES) });
    const faulty = b.faulty as FaultyStore;
    faulty.goDown();
    await writeFile(a, 'one', randomBytes(2 * BLOCK));
    const second = writeFile(a, 'two', randomBytes(2 * BLOCK));
    assert.equal(await settledWithin(second, 700), 'pending', 'the stage is full: the next close waits');
    faulty.comeBack();
    await second;
    const many = Array.from({ length: 16 }, (_, i) => writeFile(a, `m${i}`, bytes(20 + i, BLOCK + i)));
    faulty.setLatency(20);
    await Promise.all(many);
    await a.vfs.stagedDrained();
    assert.ok((a.stage?.backlog().bytes ?? 0) === 0, 'everything uploaded and released');
    const reader = await b.dv.open();
    for (let i = 0; i < 16; i++) assert.deepEqual(await readFile(reader, `m${i}`, BLOCK + i), bytes(20 + i, BLOCK + i));
  });
});
