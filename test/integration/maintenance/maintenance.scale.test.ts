/**
 * fsck and gc on a volume of 100,000 files (PostgreSQL + s3rver), built in bulk
 * (test/support/bulk-volume.ts: 100 directories, one file in 20 holding a small slice shared
 * among 500 block objects): both finish through the CLI, find nothing wrong, and report their
 * time and peak memory (printed as test diagnostics; figures in docs/benchmarks.md).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { FsckReport, GcReport } from '../../../src/maintenance/index.js';
import { fillBulkVolume } from '../../support/bulk-volume.js';
import { freshDataVolume, KiB } from '../../support/data-volume.js';
import { cliJson } from '../../support/maintenance.js';

const FILES = 100_000;
const DIRS = 100;
const SLICES = 500;
/** Peak RSS above this means something grew with the volume (the scans hold one page). */
const MEMORY_CEILING = 400 * 1024 * 1024;

type WithPeak<T> = T & { readonly peakRssBytes: number };

describe('fsck and gc at 100,000 files', () => {
  test('both finish, report a healthy volume, and stay in bounded memory', async (t) => {
    const dv = await freshDataVolume('maint-scale', { meta: 'postgres', data: 's3', blockSize: 64 * KiB });
    t.after(() => dv.cleanup());
    const built = Date.now();
    const { inodes } = await fillBulkVolume(dv.metaUrl, dv.objects, { files: FILES, dirs: DIRS, slices: SLICES, sliceBytes: 4 * KiB, dataEvery: 20 });
    assert.equal(inodes, 1 + DIRS + FILES);
    t.diagnostic(`built in ${Date.now() - built} ms`);

    const fsckRun = await cliJson<WithPeak<FsckReport>>(['fsck', dv.metaUrl], 0);
    const fsck = fsckRun.report;
    t.diagnostic(fsckRun.result.stderr);
    assert.equal(fsck.problemCount, 0, JSON.stringify(fsck.problems.slice(0, 5)));
    assert.deepEqual(
      { inodes: fsck.counts.inodes, edges: fsck.counts.edges, chunks: fsck.counts.chunks, slices: fsck.counts.slices },
      { inodes, edges: DIRS + FILES, chunks: FILES / 20, slices: SLICES },
    );
    const gc = (await cliJson<WithPeak<GcReport>>(['gc', dv.metaUrl], 0)).report;
    assert.equal(gc.objects.valid.count, SLICES);
    assert.equal(gc.objects.leaked.count + gc.objects.skipped.count + gc.objects.mismatched.count, 0);
    const mib = (n: number): string => (n / 2 ** 20).toFixed(0);
    t.diagnostic(`fsck: ${fsck.elapsedMs} ms, peak RSS ${mib(fsck.peakRssBytes)} MiB; gc: ${gc.elapsedMs} ms, peak RSS ${mib(gc.peakRssBytes)} MiB`);
    assert.ok(fsck.peakRssBytes < MEMORY_CEILING && gc.peakRssBytes < MEMORY_CEILING, 'peak memory stays bounded');
  });
});
