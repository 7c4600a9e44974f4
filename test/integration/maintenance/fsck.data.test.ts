/**
 * fsck's data check (PostgreSQL + s3rver): a file whose block object was deleted is named by
 * path and the volume is reported unhealthy (engine and CLI exit status); a block whose
 * content was replaced by bytes of the same size passes the listing check and is caught by
 * --verify; a healthy volume is reported healthy with what it checked.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { sliceBlockKeys } from '../../../src/chunk/keys.js';
import { runFsck } from '../../../src/maintenance/index.js';
import { ROOT_INO } from '../../../src/meta/index.js';
import { freshDataVolume, KiB, ROOT_CALLER } from '../../support/data-volume.js';
import { runCli } from '../../support/cli.js';
import { cliJson, writeFile } from '../../support/maintenance.js';
import type { FsckReport } from '../../../src/maintenance/index.js';

const BLOCK = 64 * KiB;

describe('fsck data check', () => {
  test('a deleted block names its file; --verify catches replaced content', async (t) => {
    const dv = await freshDataVolume('fsck-data', { meta: 'postgres', data: 's3', blockSize: BLOCK });
    t.after(() => dv.cleanup());
    const v = await dv.open();
    const dir = await v.vfs.mkdir(ROOT_CALLER, ROOT_INO, Buffer.from('dir'), 0o755);
    const a = await writeFile(v, dir.ino, 'a', randomBytes(3 * BLOCK + 100));
    const b = await writeFile(v, dir.ino, 'b', randomBytes(2 * BLOCK));
    await writeFile(v, ROOT_INO, 'c', randomBytes(BLOCK / 2));
    await writeFile(v, ROOT_INO, 'empty', Buffer.alloc(0));
    await v.meta.flushCounters();

    const clean = await runFsck(v, { verify: true });
    assert.equal(clean.healthy, true, JSON.stringify(clean.problems));
    assert.equal(clean.counts.slices, 3);
    assert.equal(clean.counts.blocks, 4 + 2 + 1);
    assert.equal(clean.counts.verified, 7);
    assert.ok(clean.counts.inodes >= 6 && clean.counts.edges >= 5);

    // Delete block 1 of a.
    const aSlice = (await v.meta.readChunk(a, 0)).slices[0]!;
    const aKeys = sliceBlockKeys(aSlice.id, aSlice.size, BLOCK);
    await dv.objects.delete(aKeys[1]!);
    const broken = await runFsck(v);
    assert.equal(broken.healthy, false);
    assert.deepEqual(broken.problems.map((p) => [p.kind, p.path, p.ino]), [['missing-block', '/dir/a', a]]);
    assert.match(broken.problems[0]!.detail, new RegExp(`block 1 \\(${aKeys[1]!.replace(/[/]/g, '\\/')}\\) is missing`));

    const cli = await cliJson<FsckReport>(['fsck', dv.metaUrl], 1);
    assert.deepEqual(cli.report.problems.map((p) => p.path), ['/dir/a']);
    assert.match(cli.result.stderr, /not healthy: 1 problem/);
    const text = await cliJson<FsckReport>(['fsck', dv.metaUrl, '--path', '/dir'], 1);
    assert.equal(text.report.path, '/dir');
    assert.deepEqual(text.report.problems.map((p) => p.path), ['/dir/a']);
    const other = await cliJson<FsckReport>(['fsck', dv.metaUrl, '--path', '/c'], 0);
    assert.equal(other.report.counts.slices, 1, '--path on a file checks that file only');
    const nowhere = await runCli(['fsck', dv.metaUrl, '--path', '/dir/nope']);
    assert.equal(nowhere.code, 1);
    assert.match(nowhere.stderr, /^objectfs: ENOENT: \/dir\/nope: no such file or directory$/m);

    // Replace block 0 of b with garbage of the same stored size: only --verify can tell.
    const bSlice = (await v.meta.readChunk(b, 0)).slices[0]!;
    const bKey = sliceBlockKeys(bSlice.id, bSlice.size, BLOCK)[0]!;
    const stored = await dv.objects.get(bKey);
    await dv.objects.put(bKey, Buffer.concat([stored.subarray(0, 4), randomBytes(stored.length - 4)]));
    const listingOnly = await runFsck(v);
    assert.deepEqual(listingOnly.problems.map((p) => p.path), ['/dir/a'], 'same size: the listing check cannot see it');
    const verified = await runFsck(v, { verify: true });
    assert.deepEqual(verified.problems.map((p) => [p.kind, p.path]).sort(), [['corrupt-block', '/dir/b'], ['missing-block', '/dir/a']]);
    assert.match(verified.problems.find((p) => p.path === '/dir/b')!.detail, new RegExp(`block 0 \\(${bKey.replace(/[/]/g, '\\/')}\\)`));
  });
});
