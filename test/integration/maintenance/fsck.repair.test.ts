/**
 * fsck on damaged metadata (PostgreSQL + s3rver): wrong link counts of a file and a directory,
 * wrong usage counters, wrong and missing slice reference counts, a live slice queued for
 * deletion and a file that lost its only name are each reported; `fsck --repair` fixes them
 * (the orphan lands in /lost+found with its data) and a second fsck is clean.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { LOST_FOUND, ROOT_INO } from '../../../src/meta/index.js';
import type { FsckReport } from '../../../src/maintenance/index.js';
import { freshDataVolume, KiB, ROOT_CALLER } from '../../support/data-volume.js';
import { cliJson, readFile, sqlOn, writeFile } from '../../support/maintenance.js';

const BLOCK = 64 * KiB;

describe('fsck --repair', () => {
  test('reports corrupted link counts, counters, references and orphans, repairs them, then is clean', async (t) => {
    const dv = await freshDataVolume('fsck-repair', { meta: 'postgres', data: 's3', blockSize: BLOCK });
    t.after(() => dv.cleanup());
    const v = await dv.open();
    const d = await v.vfs.mkdir(ROOT_CALLER, ROOT_INO, Buffer.from('d'), 0o755);
    await v.vfs.mkdir(ROOT_CALLER, d.ino, Buffer.from('sub'), 0o755);
    const fData = randomBytes(BLOCK + 10);
    const f = await writeFile(v, d.ino, 'f', fData);
    await v.vfs.link(ROOT_CALLER, f, ROOT_INO, Buffer.from('g'));
    const orphanData = randomBytes(2 * BLOCK);
    const orphan = await writeFile(v, ROOT_INO, 'orphan', orphanData);
    const h = await writeFile(v, ROOT_INO, 'h', randomBytes(100));
    await v.meta.flushCounters();
    await v.close();
    const before = await cliJson<FsckReport>(['fsck', dv.metaUrl], 0);
    assert.equal(before.report.problemCount, 0, JSON.stringify(before.report.problems));

    const [fSlice, hSlice, orphanSlice] = await Promise.all([f, h, orphan].map(async (ino) => {
      const r = await sqlOn(dv.metaUrl, [`SELECT ('x' || encode(substring(slices FROM 5 FOR 8), 'hex'))::bit(64)::int8 AS id FROM chunk WHERE inode = ${ino}`]);
      return Number(r[0]!.rows[0].id);
    }));
    await sqlOn(dv.metaUrl, [
      `UPDATE node SET nlink = 5 WHERE inode = ${f}`,
      `UPDATE node SET nlink = 9 WHERE inode = ${d.ino}`,
      `UPDATE counter SET value = 12345 WHERE name = 'used_space'`,
      `UPDATE counter SET value = value + 7 WHERE name = 'used_inodes'`,
      `UPDATE slice_ref SET refs = 3 WHERE id = ${fSlice}`,
      `DELETE FROM slice_ref WHERE id = ${hSlice}`,
      `INSERT INTO pending_slice (id, size, released_at) SELECT id, size, 0 FROM slice_ref WHERE id = ${orphanSlice}`,
      `DELETE FROM edge WHERE inode = ${orphan}`,
    ]);

    const damaged = await cliJson<FsckReport>(['fsck', dv.metaUrl], 1);
    const kinds = damaged.report.problems.map((p) => `${p.kind}${p.ino === undefined ? '' : `:${p.ino}`}`).sort();
    assert.deepEqual(kinds, [
      `link-count:${d.ino}`, `link-count:${f}`, `orphan:${orphan}`, 'pending-referenced', 'slice-refs', 'slice-refs', 'usage',
    ].sort());
    const fProblem = damaged.report.problems.find((p) => p.ino === f)!;
    assert.ok(fProblem.path === '/d/f' || fProblem.path === '/g', `a hard-linked file is named by one of its paths (${fProblem.path})`);
    assert.match(fProblem.detail, /link count 5, but 2 name/);

    const repaired = await cliJson<FsckReport>(['fsck', dv.metaUrl, '--repair'], 0);
    assert.equal(repaired.report.healthy, true);
    assert.equal(repaired.report.problemCount, 7);
    assert.ok(repaired.report.problems.every((p) => p.repaired !== undefined), JSON.stringify(repaired.report.problems));
    assert.match(repaired.result.stdout, /lost\+found/);

    const after = await cliJson<FsckReport>(['fsck', dv.metaUrl], 0);
    assert.equal(after.report.problemCount, 0, JSON.stringify(after.report.problems));
    const rows = await sqlOn(dv.metaUrl, [
      `SELECT nlink FROM node WHERE inode IN (${f}, ${d.ino}) ORDER BY inode`,
      `SELECT refs FROM slice_ref WHERE id IN (${fSlice}, ${hSlice}) ORDER BY id`,
      `SELECT count(*)::int AS n FROM pending_slice`,
    ]);
    assert.deepEqual(rows[0]!.rows.map((r) => r.nlink).sort(), [2, 3]);
    assert.deepEqual(rows[1]!.rows.map((r) => r.refs), [1, 1]);
    assert.equal(rows[2]!.rows[0].n, 0, 'the live slice left the deletion queue');

    const v2 = await dv.open();
    const lf = await v2.meta.lookup(ROOT_INO, Buffer.from(LOST_FOUND));
    const found = await v2.meta.lookup(lf.ino, Buffer.from(`#${orphan}`));
    assert.equal(found.ino, orphan);
    assert.equal(found.nlink, 1);
    assert.ok((await readFile(v2, orphan)).equals(orphanData), 'the orphan keeps its data');
    assert.ok((await readFile(v2, f)).equals(fData));
  });
});
