/**
 * Renames to a name seen missing, and unlinks with the trash on, are one statement each (no
 * BEGIN or COMMIT), counted through the engine's metrics; and they stay exact when the guess
 * behind them is wrong: another client made the name meanwhile, or turned the trash off.
 */
import { describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { constants } from 'node:fs';
import { configureVolume, ROOT_INO, TRASH_INO, type RenameResult } from '../../../src/meta/index.js';
import { Metrics } from '../../../src/metrics/index.js';
import type { Volume } from '../../../src/volume/open-volume.js';
import { freshDataVolume, ROOT_CALLER } from '../../support/data-volume.js';
import { parseMetrics, sample } from '../../support/metrics-text.js';

const name = (s: string): Buffer => Buffer.from(s);
/** As the mount calls the vfs: the kernel checked permissions, so the vfs asks nothing more. */
const KERNEL = Object.freeze({ ...ROOT_CALLER, kernelChecked: true });

/** Transactions and single statements the client has run so far. */
async function roundTrips(metrics: Metrics): Promise<{ transactions: number; statements: number }> {
  const m = parseMetrics(await metrics.text());
  return {
    transactions: sample(m, 'objectfs_meta_tx_duration_seconds_count{kind="transaction"}'),
    statements: sample(m, 'objectfs_meta_tx_duration_seconds_count{kind="statement"}'),
  };
}

/** What `op` cost in transactions and statements. */
async function cost(metrics: Metrics, op: () => Promise<unknown>): Promise<{ transactions: number; statements: number }> {
  const before = await roundTrips(metrics);
  await op();
  const after = await roundTrips(metrics);
  return { transactions: after.transactions - before.transactions, statements: after.statements - before.statements };
}

async function file(v: Volume, dir: number, n: string): Promise<number> {
  const { fh, attr } = await v.vfs.create(ROOT_CALLER, dir, name(n), 0o644, constants.O_WRONLY);
  await v.vfs.release(fh);
  return attr.ino;
}

const missing = (v: Volume, dir: number, n: string): Promise<boolean> =>
  v.vfs.lookup(ROOT_CALLER, dir, name(n)).then(() => false, (err: NodeJS.ErrnoException) => err.code === 'ENOENT');

/** Clients A (with metrics) and B of a fresh volume with the trash on. */
async function twoClients(t: TestContext, label: string): Promise<{ a: Volume; b: Volume; metrics: Metrics; metaUrl: string }> {
  const dv = await freshDataVolume(label, { meta: 'postgres', data: 'file', blockSize: 1 << 20, trashDays: 1 });
  t.after(() => dv.cleanup());
  const metrics = new Metrics({ processMetrics: false });
  const a = await dv.open({ metrics });
  const b = await dv.open();
  t.after(async () => { await a.close(); await b.close(); });
  return { a, b, metrics, metaUrl: dv.metaUrl };
}

describe('names changed in one statement', () => {
  test('a rename to a name looked up missing is one statement; to an existing name, a transaction', async (t) => {
    const { a, metrics } = await twoClients(t, 'one-stmt-rename');
    const dir = (await a.vfs.mkdir(ROOT_CALLER, ROOT_INO, name('d'), 0o755)).ino;
    const other = (await a.vfs.mkdir(ROOT_CALLER, ROOT_INO, name('e'), 0o755)).ino;
    const f = await file(a, dir, 'f');
    await file(a, dir, 'taken');

    assert.ok(await missing(a, dir, 'g'));
    assert.deepEqual(await cost(metrics, () => a.vfs.rename(KERNEL, dir, name('f'), dir, name('g'))), { transactions: 0, statements: 1 });
    assert.equal((await a.vfs.lookup(ROOT_CALLER, dir, name('g'))).ino, f);
    assert.ok(await missing(a, dir, 'f'));

    // To another directory, and a directory within its own.
    assert.ok(await missing(a, other, 'moved'));
    assert.deepEqual(await cost(metrics, () => a.vfs.rename(KERNEL, dir, name('g'), other, name('moved'))), { transactions: 0, statements: 1 });
    assert.equal((await a.meta.getattr(f)).parent, other, 'a file with one name records its new parent');
    const sub = (await a.vfs.mkdir(ROOT_CALLER, dir, name('sub'), 0o755)).ino;
    assert.ok(await missing(a, dir, 'sub2'));
    assert.deepEqual(await cost(metrics, () => a.vfs.rename(KERNEL, dir, name('sub'), dir, name('sub2'))), { transactions: 0, statements: 1 });
    assert.equal((await a.vfs.lookup(ROOT_CALLER, dir, name('sub2'))).ino, sub);
    assert.equal((await a.vfs.getattr(dir)).nlink, 3, 'a directory renamed within its parent keeps the parent\'s link count');

    // A directory moving to another parent needs the full protocol (loop check), hint or not.
    assert.ok(await missing(a, other, 'sub3'));
    const across = await cost(metrics, () => a.vfs.rename(KERNEL, dir, name('sub2'), other, name('sub3')));
    assert.equal(across.transactions, 1);
    assert.deepEqual([(await a.vfs.getattr(dir)).nlink, (await a.vfs.getattr(other)).nlink], [2, 3], 'the link moved with the directory');

    // Over an existing name: straight to the transaction (the replaced file goes to the trash).
    const over = await cost(metrics, () => a.vfs.rename(KERNEL, other, name('moved'), dir, name('taken')));
    assert.equal(over.transactions, 1);
    assert.equal((await a.vfs.lookup(ROOT_CALLER, dir, name('taken'))).ino, f);
    assert.equal((await a.meta.listTrash()).length, 1);
  });

  test('a name another client made after the lookup is replaced, not refused; a missing source is ENOENT', async (t) => {
    const { a, b, metrics } = await twoClients(t, 'one-stmt-guess');
    const dir = (await a.vfs.mkdir(ROOT_CALLER, ROOT_INO, name('d'), 0o755)).ino;
    const f = await file(a, dir, 'f');
    for (let round = 0; round < 5; round++) {
      const target = `t${round}`;
      assert.ok(await missing(a, dir, target));
      const theirs = await file(b, dir, target);
      const src = round === 0 ? 'f' : `t${round - 1}`;
      let r: RenameResult | undefined;
      const paid = await cost(metrics, async () => { r = await a.vfs.rename(KERNEL, dir, name(src), dir, name(target)); });
      assert.deepEqual(paid, { transactions: 1, statements: 1 }, `round ${round}: the statement was tried, then the transaction`);
      assert.deepEqual([r?.ino, r?.replaced], [f, theirs], `round ${round}: B's ${target} was replaced`);
      assert.equal((await b.meta.lookup(dir, name(target))).ino, f);
    }
    assert.equal((await a.meta.listTrash()).length, 5, 'every replaced file went to the trash');
    assert.ok(await missing(a, dir, 'nowhere'));
    await assert.rejects(a.vfs.rename(KERNEL, dir, name('gone'), dir, name('nowhere')), { code: 'ENOENT' });
  });

  test('an unlink with the trash on is one statement; turned off meanwhile, the file is really gone', async (t) => {
    const { a, metrics, metaUrl } = await twoClients(t, 'one-stmt-unlink');
    const dir = (await a.vfs.mkdir(ROOT_CALLER, ROOT_INO, name('d'), 0o755)).ino;
    const f = await file(a, dir, 'f');
    assert.deepEqual(await cost(metrics, () => a.vfs.unlink(KERNEL, dir, name('f'))), { transactions: 0, statements: 1 });
    const [entry] = await a.meta.listTrash();
    assert.deepEqual([entry?.ino, entry?.parent, entry?.entry.toString()], [f, dir, `${dir}-${f}-f`]);
    assert.equal((await a.meta.getattr(f)).nlink, 1, 'the trash holds its one name');
    assert.equal((await a.meta.getattr(TRASH_INO)).nlink, 3, 'the trash counts its hour directory');

    // A name of a file that keeps another: one statement, nothing in the trash.
    const g = await file(a, dir, 'g');
    await a.vfs.link(ROOT_CALLER, g, dir, name('g2'));
    assert.deepEqual(await cost(metrics, () => a.vfs.unlink(KERNEL, dir, name('g'))), { transactions: 0, statements: 1 });
    assert.equal((await a.meta.getattr(g)).nlink, 1);
    assert.equal((await a.meta.listTrash()).length, 1);

    // `config` turns the trash off; A still guesses it is on: the statement does nothing,
    // the transaction releases the file.
    await configureVolume(metaUrl, { trashDays: 0 });
    const last = await cost(metrics, () => a.vfs.unlink(KERNEL, dir, name('g2')));
    assert.equal(last.transactions, 1);
    await assert.rejects(a.meta.getattr(g), { code: 'ENOENT' }, 'gone, not in the trash');
    assert.equal((await a.meta.listTrash()).length, 1);
  });
});
