/**
 * fsck's data check: every block that a chunk list needs is in the bucket with a plausible
 * size, and with --verify downloads and decodes to its length. The live slices are snapshotted
 * first, then the bucket is listed into a temporary table, then both are walked by slice id:
 * the database holds the big sets, this process one page of each.
 */
import { blockKey, decodeBlock, parseBlockKey } from '../chunk/index.js';
import { SLICE_SOURCE, type ListedBlock, type MaintenanceScan, type StagedSlice } from '../meta/index.js';
import { listAll, type ObjectStore } from '../object/index.js';
import { checkSliceBlocks, neededBlocks, type BlockProblem } from './block-check.js';
import { MAX_LISTED_PROBLEMS, type FsckCounts, type ProblemLog } from './fsck-report.js';
import { forEachLimit } from './parallel.js';
import type { Progress } from './progress.js';

const PAGE = 1000;

/** What is wrong with one slice: blocks missing (or of impossible size), and/or not decoding. */
interface BrokenSlice {
  readonly missing: boolean;
  readonly what: readonly string[];
}

export interface DataCheckOptions {
  readonly blockSize: number;
  readonly compression: 'lz4' | 'none';
  readonly verify: boolean;
  readonly threads: number;
}

/** Lists `chunks/` into the scan's block table. */
async function recordListing(scan: MaintenanceScan, store: ObjectStore, progress: Progress): Promise<void> {
  const phase = progress.phase('listing objects');
  let batch: ListedBlock[] = [];
  let bytes = 0;
  await scan.addListedBlocks([]);
  for await (const o of listAll(store, 'chunks/')) {
    const parts = parseBlockKey(o.key);
    if (parts !== undefined) batch.push({ ...parts, size: o.size });
    bytes += o.size;
    if (batch.length >= PAGE) {
      await scan.addListedBlocks(batch);
      phase.add(batch.length, bytes);
      batch = [];
      bytes = 0;
    }
  }
  await scan.addListedBlocks(batch);
  phase.add(batch.length, bytes);
  phase.end();
}

/** A block to download and decode (--verify). */
interface VerifyTask {
  readonly sliceId: number;
  readonly index: number;
  readonly len: number;
}

/** Downloads and decodes `tasks` (`threads` at a time, across slices); what fails, by slice id. */
async function verifyBlocks(store: ObjectStore, tasks: readonly VerifyTask[], options: DataCheckOptions): Promise<Map<number, string[]>> {
  const failed = new Map<number, string[]>();
  await forEachLimit(tasks, options.threads, async (b) => {
    const key = blockKey(b.sliceId, b.index, b.len);
    try {
      await decodeBlock(await store.get(key), options.compression, b.len, key, true);
    } catch (err) {
      failed.set(b.sliceId, [...(failed.get(b.sliceId) ?? []), `block ${b.index} (${key}): ${(err as Error).message}`]);
    }
  });
  return failed;
}

export async function checkData(scan: MaintenanceScan, store: ObjectStore, options: DataCheckOptions, log: ProblemLog, counts: FsckCounts, progress: Progress): Promise<void> {
  const snap = progress.phase('snapshotting live slices');
  snap.add(await scan.snapshotLiveSlices());
  snap.end();
  // Read after the snapshot and before the listing: a snapshotted slice not staged now had its
  // blocks uploaded already, so only these may be missing from the listing without damage.
  const staged = new Map((await scan.stagedSlices()).map((s) => [s.id, s]));
  await recordListing(scan, store, progress);
  const phase = progress.phase(options.verify ? 'checking and verifying blocks' : 'checking blocks');
  /** Slice id → what is wrong with it; bounded like the problem list. */
  const broken = new Map<number, BrokenSlice>();
  for (let after = 0; ;) {
    const page = await scan.liveSlicePage(after, PAGE, SLICE_SOURCE.chunk);
    const listed = await scan.listedBlocks([...new Set(page.map((s) => s.id))]);
    const found = new Map<number, { problems: BlockProblem[]; what: string[] }>();
    const tasks: VerifyTask[] = [];
    for (const s of page) {
      const problems = checkSliceBlocks(s.id, s.size, options.blockSize, listed, options.compression);
      const what = problems.map((p) => `block ${p.index} (${blockKey(s.id, p.index, p.len)}) ${p.what === 'missing' ? 'is missing' : `has ${p.stored} bytes, impossible for ${p.len}`}`);
      found.set(s.id, { problems, what: [...(found.get(s.id)?.what ?? []), ...what] });
      const blocks = neededBlocks(s.size, options.blockSize);
      if (options.verify) {
        for (const b of blocks) if (!problems.some((p) => p.index === b.index)) tasks.push({ sliceId: s.id, ...b });
      }
      counts.slices++;
      counts.blocks += blocks.length;
      counts.bytes += s.size;
    }
    const corrupt = options.verify ? await verifyBlocks(store, tasks, options) : new Map<number, string[]>();
    counts.verified += tasks.length;
    for (const [id, f] of found) {
      const what = [...f.what, ...(corrupt.get(id) ?? [])];
      if (what.length === 0 || broken.size >= MAX_LISTED_PROBLEMS) continue;
      const seen = broken.get(id);
      broken.set(id, { missing: f.problems.length > 0 || seen?.missing === true, what: [...(seen?.what ?? []), ...what] });
    }
    phase.add(page.length, page.reduce((n, s) => n + s.size, 0));
    const last = page[page.length - 1];
    if (last === undefined || page.length < PAGE) break;
    after = last.id;
  }
  phase.end();
  await reportBrokenFiles(scan, broken, staged, log);
}

/**
 * One problem per (file, broken slice), named by path. A slice no file uses any more (released
 * meanwhile) is not a problem. Missing blocks of a staged slice are write-back data that only
 * its mount holds (decision 90): reported as such, with what brings them to the bucket.
 */
async function reportBrokenFiles(scan: MaintenanceScan, broken: Map<number, BrokenSlice>, staged: ReadonlyMap<number, StagedSlice>, log: ProblemLog): Promise<void> {
  const ids = [...broken.keys()];
  for (let i = 0; i < ids.length; i += PAGE) {
    const users = await scan.inodesUsing(ids.slice(i, i + PAGE));
    for (const [id, inodes] of users) {
      const b = broken.get(id);
      if (b === undefined) continue;
      const s = b.missing ? staged.get(id) : undefined;
      for (const ino of inodes) {
        if (s !== undefined) log.add({ kind: 'staged-block', ino, detail: `slice ${id}: ${stagedDetail(s)}; ${b.what.join('; ')}` });
        else log.add({ kind: b.missing ? 'missing-block' : 'corrupt-block', ino, detail: `slice ${id}: ${b.what.join('; ')}` });
      }
    }
  }
}

/** Where a staged slice's data is and what gets it to the bucket. */
function stagedDetail(s: StagedSlice): string {
  const since = new Date(s.stagedAt).toISOString();
  return s.host === undefined
    ? `staged by write-back on session ${s.sid}, which has ended, since ${since}: its blocks exist only in that host's cache directory; mount the volume there again (same --cache-dir) to upload them, or remove the file if that host is gone for good`
    : `staged by write-back on session ${s.sid} (host ${s.host}) since ${since}, not uploaded yet: that mount uploads it (if it died, its next mount with the same --cache-dir does)`;
}
