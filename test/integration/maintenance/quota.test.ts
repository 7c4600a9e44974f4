/**
 * Enforced quotas through the vfs (PostgreSQL, and PGlite for the single-host case; s3rver): write(2), truncate and fallocate past
 * a directory quota fail EDQUOT and past the volume's capacity ENOSPC, keeping every byte
 * acknowledged before; two hosts writing into one quota'd tree at once never exceed it by more
 * than the documented bound and leave its usage equal to a full scan; `objectfs quota` set,
 * get, list, check (--repair) and delete; fsck reports and repairs spoiled quota usage.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { constants } from 'node:fs';
import { configureVolume, ROOT_INO, type DirQuota, type QuotaCheck } from '../../../src/meta/index.js';
import type { FsckReport } from '../../../src/maintenance/index.js';
import { FsError } from '../../../src/errors.js';
import type { Volume } from '../../../src/volume/open-volume.js';
import { freshDataVolume, KiB, MiB, ROOT_CALLER } from '../../support/data-volume.js';
import { runCli } from '../../support/cli.js';
import { cliJson, readFile, sqlOn } from '../../support/maintenance.js';

const BLOCK = 256 * KiB;
const SLACK = 512 * KiB;

/** Writes `chunk`-sized pieces at the end of a new file until a write fails; returns the bytes written and the error. */
async function fill(v: Volume, parent: number, name: string, chunk: number, max = 64 * MiB): Promise<{ ino: number; written: number; error: unknown }> {
  const { fh, attr } = await v.vfs.create(ROOT_CALLER, parent, Buffer.from(name), 0o644, constants.O_RDWR);
  let written = 0;
  let error: unknown;
  const data = Buffer.alloc(chunk, name.charCodeAt(0));
  try {
    while (written < max) {
      await v.vfs.write(fh, written, data);
      written += chunk;
    }
  } catch (err) {
    error = err;
  }
  await v.vfs.release(fh);
  return { ino: attr.ino, written, error };
}

function codeOf(err: unknown): string | undefined {
  return err instanceof FsError ? err.code : undefined;
}

describe('enforced quotas through the vfs', () => {
  for (const meta of ['postgres', 'pglite'] as const) test(`write, truncate and fallocate past a directory quota are EDQUOT, past the capacity ENOSPC; acknowledged data stays; fsck clean (${meta})`, async (t) => {
    const dv = await freshDataVolume(`quota-vfs-${meta}`, { meta, data: 's3', blockSize: BLOCK });
    t.after(() => dv.cleanup());
    await configureVolume(dv.metaUrl, { capacity: 8 * MiB });
    const v = await dv.open();
    const d = await v.vfs.mkdir(ROOT_CALLER, ROOT_INO, Buffer.from('d'), 0o755);
    await v.meta.setQuota(d.ino, { maxSpace: 2 * MiB });

    const inTree = await fill(v, d.ino, 'a', 64 * KiB);
    assert.equal(codeOf(inTree.error), 'EDQUOT', String(inTree.error));
    assert.equal(inTree.written, 2 * MiB, 'exactly the quota was admitted (one host, one sync interval)');
    assert.equal((await readFile(v, inTree.ino)).length, 2 * MiB, 'every acknowledged byte was committed');
    await v.meta.flushCounters();
    assert.equal((await v.meta.getQuota(d.ino))?.usedSpace, 2 * MiB);

    const { fh } = await v.vfs.create(ROOT_CALLER, d.ino, Buffer.from('t'), 0o644, constants.O_RDWR);
    await assert.rejects(v.vfs.setattr(ROOT_CALLER, (await v.vfs.lookup(ROOT_CALLER, d.ino, Buffer.from('t'))).ino, { length: MiB }), (e: unknown) => codeOf(e) === 'EDQUOT');
    await assert.rejects(v.vfs.fallocate(fh, 0, 0, MiB), (e: unknown) => codeOf(e) === 'EDQUOT');
    await v.vfs.release(fh);
    // Freeing room inside the tree lets writes in again (after the next snapshot).
    await v.vfs.unlink(ROOT_CALLER, d.ino, Buffer.from('a'));
    await new Promise((r) => setTimeout(r, 1100));
    const again = await fill(v, d.ino, 'b', 64 * KiB, MiB);
    assert.equal(again.error, undefined, String(again.error));

    const outside = await fill(v, ROOT_INO, 'big', 256 * KiB);
    assert.equal(codeOf(outside.error), 'ENOSPC', String(outside.error));
    assert.ok(outside.written >= 6 * MiB && outside.written <= 7 * MiB, `${outside.written} bytes admitted of 8 MiB with 1 MiB used`);
    await v.close();
    const fsck = await cliJson<FsckReport>(['fsck', dv.metaUrl], 0);
    assert.equal(fsck.report.problemCount, 0, JSON.stringify(fsck.report.problems));
  });

  test('two hosts writing into one quota\'d tree: overshoot within the bound, usage equal to a scan', async (t) => {
    const dv = await freshDataVolume('quota-2hosts', { meta: 'postgres', data: 's3', blockSize: BLOCK });
    t.after(() => dv.cleanup());
    // A small slack, so that the bound is far below what the writers would write unchecked.
    const a = await dv.open({ quotaSlackBytes: SLACK });
    const b = await dv.open({ quotaSlackBytes: SLACK });
    const d = await a.vfs.mkdir(ROOT_CALLER, ROOT_INO, Buffer.from('shared'), 0o755);
    const limit = 6 * MiB;
    await a.meta.setQuota(d.ino, { maxSpace: limit });
    const [ra, rb] = await Promise.all([fill(a, d.ino, 'x', 128 * KiB), fill(b, d.ino, 'y', 128 * KiB)]);
    assert.equal(codeOf(ra.error), 'EDQUOT', String(ra.error));
    assert.equal(codeOf(rb.error), 'EDQUOT', String(rb.error));
    await a.meta.flushCounters();
    const q = await a.meta.getQuota(d.ino);
    const used = q?.usedSpace ?? 0;
    assert.equal(used, ra.written + rb.written, 'usage is what both hosts wrote');
    // Each host may miss the other's growth since its last snapshot: at most the slack each,
    // plus one write in flight (docs/semantics.md). Unchecked, they would write 128 MiB.
    assert.ok(used <= limit + 2 * (SLACK + 128 * KiB), `${used} bytes in a tree limited to ${limit}`);
    assert.ok(used >= limit - 128 * KiB, `${used} bytes: the writers stopped early`);
    const [check] = await a.meta.checkQuotas({ ino: d.ino, repair: false });
    assert.deepEqual([check?.usedSpace, check?.usedInodes], [check?.scannedSpace, check?.scannedInodes], 'usage equals a full scan');
    await a.close();
    await b.close();
  });

  test('objectfs quota set, get, list, check --repair and delete; fsck reports and repairs spoiled usage', async (t) => {
    const dv = await freshDataVolume('quota-cli', { meta: 'postgres', data: 's3', blockSize: BLOCK });
    t.after(() => dv.cleanup());
    const v = await dv.open();
    const d = await v.vfs.mkdir(ROOT_CALLER, ROOT_INO, Buffer.from('proj'), 0o755);
    const sub = await v.vfs.mkdir(ROOT_CALLER, d.ino, Buffer.from('sub'), 0o755);
    const { fh } = await v.vfs.create(ROOT_CALLER, sub.ino, Buffer.from('f'), 0o644, constants.O_RDWR);
    await v.vfs.write(fh, 0, Buffer.alloc(10_000, 1));
    await v.vfs.release(fh);
    await v.close();

    const set = await cliJson<DirQuota & { path: string }>(['quota', 'set', dv.metaUrl, '--path', '/proj', '--capacity', '1M', '--inodes', '100'], 0);
    assert.deepEqual({ ...set.report }, { inode: d.ino, path: '/proj', maxSpace: MiB, maxInodes: 100, usedSpace: 12_288, usedInodes: 2 }, 'set scanned the existing tree');
    const got = await cliJson<DirQuota>(['quota', 'get', dv.metaUrl, '--path', 'proj/'], 0);
    assert.equal(got.report.usedInodes, 2);
    const list = await cliJson<DirQuota[]>(['quota', 'list', dv.metaUrl], 0);
    assert.deepEqual(list.report.map((q) => q.inode), [d.ino]);
    const missing = await runCli(['quota', 'get', dv.metaUrl, '--path', '/missing']);
    assert.equal(missing.code, 1, missing.stderr);
    assert.match(missing.stderr, /^objectfs: .*\/missing.* does not exist/);

    await sqlOn(dv.metaUrl, [`UPDATE dir_quota SET used_inodes = 50, used_space = 7 WHERE inode = ${d.ino}`]);
    const bad = await cliJson<{ quotas: QuotaCheck[]; consistent: boolean }>(['quota', 'check', dv.metaUrl], 1);
    assert.equal(bad.report.consistent, false);
    const fsck = await cliJson<FsckReport>(['fsck', dv.metaUrl], 1);
    assert.deepEqual(fsck.report.problems.map((p) => `${p.kind}:${p.ino}`), [`quota-usage:${d.ino}`]);
    const repaired = await cliJson<FsckReport>(['fsck', dv.metaUrl, '--repair'], 0);
    assert.equal(repaired.report.healthy, true);
    await sqlOn(dv.metaUrl, [`UPDATE dir_quota SET used_inodes = 50 WHERE inode = ${d.ino}`]);
    const fixed = await cliJson<{ quotas: QuotaCheck[]; consistent: boolean }>(['quota', 'check', dv.metaUrl, '--repair'], 0);
    assert.deepEqual(fixed.report.quotas.map((c) => [c.scannedInodes, c.repaired]), [[2, true]]);
    const good = await cliJson<{ quotas: QuotaCheck[]; consistent: boolean }>(['quota', 'check', dv.metaUrl, '--path', '/proj'], 0);
    assert.equal(good.report.consistent, true);
    const del = await cliJson<{ deleted: boolean }>(['quota', 'delete', dv.metaUrl, '--path', '/proj'], 0);
    assert.equal(del.report.deleted, true);
    const none = await cliJson<DirQuota[]>(['quota', 'list', dv.metaUrl], 0);
    assert.deepEqual(none.report, []);
  });
});
