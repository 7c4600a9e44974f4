/**
 * fsck's data check: every block that a chunk list needs is in the bucket with a plausible
 * size, and with --verify downloads and decodes to its length. The live slices are snapshotted
 * first, then the bucket is listed into a temporary table, then both are walked by slice id:
 * the database holds the big sets, this process one page of each.
 */
import { blockKey, decodeBlock, parseBlockKey } from '../chunk/index.js';
import { SLICE_SOURCE, type ListedBlock, type MaintenanceScan } from '../meta/index.js';
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
      await decodeBlock(await store.get(key), options.compression, b.len, key);
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
  await reportBrokenFiles(scan, broken, log);
}

/** One problem per (file, broken slice), named by path. A slice no file uses any more (released meanwhile) is not a problem. */
async function reportBrokenFiles(scan: MaintenanceScan, broken: Map<number, BrokenSlice>, log: ProblemLog): Promise<void> {
  const ids = [...broken.keys()];
  for (let i = 0; i < ids.length; i += PAGE) {
    const users = await scan.inodesUsing(ids.slice(i, i + PAGE));
    for (const [id, inodes] of users) {
      const b = broken.get(id);
      if (b === undefined) continue;
      for (const ino of inodes) log.add({ kind: b.missing ? 'missing-block' : 'corrupt-block', ino, detail: `slice ${id}: ${b.what.join('; ')}` });
    }
  }
}
