/**
 * Memory bound of the data path: a child process (test/support/memory-child.ts) writes a
 * large file sequentially through the vfs in 1 MiB requests (default bufferBytes, lz4,
 * PostgreSQL, 4 MiB blocks), then reads and verifies it in 1 MiB requests: on FileStore, and on
 * S3Store against s3rver, and with write-back (decision 90) on S3Store. Its peak RSS must stay
 * under 1 GiB. OBJECTFS_MEMORY_TEST_GIB sets the FileStore size (default 4; S3 gets half, S3
 * with write-back a quarter).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEFAULT_BLOCK_SIZE } from '../../src/chunk/keys.js';
import { freshDataVolume, mbps, MiB } from '../support/data-volume.js';
import type { MemoryReport } from '../support/memory-child.js';

const GIB = Number(process.env['OBJECTFS_MEMORY_TEST_GIB'] ?? 4);
const RSS_LIMIT_KIB = 1024 * 1024;
const CHILD = fileURLToPath(new URL('../support/memory-child.js', import.meta.url));

// FileStore with the full size; S3 (s3rver) with half of it, for the response bodies' memory
// (a reader that kept them in SharedArrayBuffers peaked at 2.2 GiB on 2 GiB).
for (const [store, gib, writeback] of [['file', GIB, false], ['s3', GIB / 2, false], ['s3', GIB / 4, true]] as const) {
  const where = `${store === 'file' ? 'FileStore' : 'S3Store on s3rver'} + PostgreSQL${writeback ? ', write-back' : ''}`;
  test(`a ${gib} GiB sequential write and read stays under 1 GiB of RSS (${where})`, async (t) => {
    assert.ok(gib > 0, `OBJECTFS_MEMORY_TEST_GIB=${process.env['OBJECTFS_MEMORY_TEST_GIB']} is not a positive number`);
    const bytes = Math.round(gib * 1024) * MiB;
    const dv = await freshDataVolume(`memory-${store}${writeback ? '-wb' : ''}`, { meta: 'postgres', data: store, blockSize: DEFAULT_BLOCK_SIZE, compression: 'lz4' });
    try {
      const cacheDir = writeback ? await mkdtemp(join(tmpdir(), 'objectfs-memory-wb-')) : undefined;
      t.after(() => (cacheDir === undefined ? undefined : rm(cacheDir, { recursive: true, force: true })));
      const child = spawn(process.execPath, [CHILD, dv.metaUrl, String(bytes), ...(cacheDir === undefined ? [] : [cacheDir])], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
      const exited = once(child, 'exit');
      let report: MemoryReport | undefined;
      child.on('message', (m: MemoryReport) => { report = m; });
      const [code, signal] = await exited;
      assert.ok(report !== undefined, `the child exited (code ${code}, signal ${signal}) without a report`);
      const r = report;
      t.diagnostic(`${(r.bytes / MiB).toFixed(0)} MiB: write ${mbps(r.bytes, r.writeMs)} MB/s (${(r.writeMs / 1000).toFixed(1)} s), `
        + `read+verify ${mbps(r.bytes, r.readMs)} MB/s (${(r.readMs / 1000).toFixed(1)} s); peak RSS ${(r.maxRssAfterWriteKiB / 1024).toFixed(0)} MiB `
        + `after the write, ${(r.maxRssKiB / 1024).toFixed(0)} MiB overall`);
      assert.equal(r.mismatches, 0, `1 MiB reads that differ from what was written: ${r.mismatches}, first: ${r.firstMismatch}`);
      assert.ok(r.maxRssKiB < RSS_LIMIT_KIB, `peak RSS ${(r.maxRssKiB / 1024).toFixed(0)} MiB ≥ 1024 MiB`);
      assert.equal(code, 0, 'the child exits cleanly');
    } finally {
      await dv.cleanup();
    }
  });
}
