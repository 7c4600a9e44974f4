/**
 * The process whose memory test/integration/data/memory.test.ts measures:
 *
 *   node dist/test/support/memory-child.js <metaUrl> <bytes> [<write-back cache dir>]
 *
 * Opens the (already formatted) volume with default options, writes `bytes` sequentially
 * through the vfs in 1 MiB requests, closes, reopens the file and reads it back in 1 MiB
 * requests, verifying every byte. The data is a 1 MiB random buffer with its file offset
 * stamped into the first 8 bytes of every 4 KiB, so a misplaced block cannot pass. Sends one
 * IPC message with the timings, the peak RSS (process.resourceUsage().maxRSS) and the
 * verification result, then exits. With a cache directory it mounts with write-back (decision
 * 90) there, and the write phase lasts until the stage has uploaded everything.
 */
import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { ROOT_INO } from '../../src/meta/index.js';
import { openVolume } from '../../src/volume/open-volume.js';
import { tuneAllocator } from '../../src/fuse/index.js';

const MiB = 1024 * 1024;
const STAMP_EVERY = 4096;

export interface MemoryReport {
  readonly bytes: number;
  readonly writeMs: number;
  readonly readMs: number;
  /** Peak RSS in KiB after the write phase and after both phases. */
  readonly maxRssAfterWriteKiB: number;
  readonly maxRssKiB: number;
  readonly mismatches: number;
  readonly firstMismatch?: string;
}

const [metaUrl, bytesArg, writebackDir] = process.argv.slice(2);
if (metaUrl === undefined || bytesArg === undefined || process.send === undefined) {
  process.stderr.write('usage (from a parent with an IPC channel): memory-child.js <metaUrl> <bytes>\n');
  process.exit(2);
}
const total = Number(bytesArg);
const noise = randomBytes(MiB);

/** The 1 MiB of the file at `off` (a multiple of 1 MiB), written into `out`. */
function fill(out: Buffer, off: number): Buffer {
  noise.copy(out);
  for (let i = 0; i < MiB; i += STAMP_EVERY) out.writeBigUInt64LE(BigInt(off + i), i);
  return out;
}

// As the mount daemon does (decision 93): the bound holds with the allocator as users get it.
if (!tuneAllocator()) throw new Error('glibc did not take the allocator settings');
const vol = await openVolume(metaUrl, { backgroundMs: 0, ...(writebackDir === undefined ? {} : {
  writeback: true, cacheDir: writebackDir,
  session: { host: 'memory-test', pid: process.pid, mountPoint: '/memory-test', version: 'test', processName: 'memory-child' },
}) });
const buf = Buffer.allocUnsafe(MiB);
let t0 = performance.now();
const { fh, attr } = await vol.vfs.create({ uid: 0, gid: 0 }, ROOT_INO, Buffer.from('big'), 0o644, constants.O_WRONLY);
for (let off = 0; off < total; off += MiB) await vol.vfs.write(fh, off, fill(buf, off).subarray(0, Math.min(MiB, total - off)));
await vol.vfs.release(fh);
await vol.vfs.stagedDrained();
const writeMs = performance.now() - t0;
const maxRssAfterWriteKiB = process.resourceUsage().maxRSS;

t0 = performance.now();
let mismatches = 0;
let firstMismatch: string | undefined;
const rfh = await vol.vfs.open({ uid: 0, gid: 0 }, attr.ino, constants.O_RDONLY);
for (let off = 0; off < total; off += MiB) {
  const got = await vol.vfs.read(rfh, off, MiB);
  const want = fill(buf, off).subarray(0, Math.min(MiB, total - off));
  if (!got.equals(want)) {
    mismatches++;
    firstMismatch ??= `1 MiB at ${off}: got ${got.length} bytes, stamp ${got.length >= 8 ? got.readBigUInt64LE(0) : 'none'}`;
  }
}
await vol.vfs.release(rfh);
const readMs = performance.now() - t0;
const report: MemoryReport = {
  bytes: total, writeMs, readMs, maxRssAfterWriteKiB, maxRssKiB: process.resourceUsage().maxRSS, mismatches,
  ...(firstMismatch !== undefined ? { firstMismatch } : {}),
};
await vol.close();
process.send(report, () => process.disconnect());
