/**
 * gc: sorts every object under `chunks/` into valid, pending, leaked, skipped, mismatched and
 * foreign (block-check.ts), and with `delete` removes the leaked ones and runs deferred
 * deletion for pending slices and dropped lists — nothing younger than the safety window.
 *
 * Order of safety: the live slices are snapshotted first (one statement), then the bucket is
 * listed; an object counts as leaked only if nothing named its slice at the snapshot and it
 * was stored before the window. Leaked keys go to a spill file; only once the whole scan has
 * succeeded are they re-checked against slice_ref/pending_slice (a commit after the snapshot
 * shows there) and deleted. Any error before that throws and deletes nothing.
 */
import { parseBlockKey } from '../chunk/index.js';
import { FsError } from '../errors.js';
import type { PendingAudit } from '../meta/index.js';
import { listAll, type ObjectInfo } from '../object/index.js';
import type { Volume } from '../volume/open-volume.js';
import { classifyObject, GC_CATEGORIES, type GcCategory } from './block-check.js';
import { KeySpill } from './key-spill.js';
import { forEachLimit } from './parallel.js';
import { SILENT_PROGRESS, type Progress } from './progress.js';

import { DEFAULT_GC_WINDOW_MS } from './defaults.js';

export { DEFAULT_GC_WINDOW_MS };
const PAGE = 1000;

export interface GcOptions {
  readonly delete?: boolean;
  readonly compact?: boolean;
  /** Parallel deletions and compactions (default 8). */
  readonly threads?: number;
  /** Safety window in ms (default 1 h). */
  readonly windowMs?: number;
  readonly progress?: Progress;
}

export interface Tally {
  count: number;
  bytes: number;
}

export interface GcReport {
  /** Listed objects by category (stored bytes). */
  readonly objects: Record<GcCategory, Tally>;
  /** Deferred-deletion work found waiting. */
  readonly pending: PendingAudit;
  readonly deleted?: {
    readonly leaked: Tally;
    /** Leaked at the scan, but named by the metadata when re-checked: kept. */
    readonly kept: number;
    readonly deadSessions: number;
    readonly releasedLists: number;
    readonly pendingSlices: number;
    readonly pendingBytes: number;
  };
  readonly compacted?: { readonly chunks: number; readonly raced: number };
  readonly windowMs: number;
  readonly elapsedMs: number;
}

function emptyTallies(): Record<GcCategory, Tally> {
  return Object.fromEntries(GC_CATEGORIES.map((c) => [c, { count: 0, bytes: 0 }])) as Record<GcCategory, Tally>;
}

export async function runGc(volume: Pick<Volume, 'meta' | 'store' | 'vfs'>, options: GcOptions = {}): Promise<GcReport> {
  const started = Date.now();
  const progress = options.progress ?? SILENT_PROGRESS;
  const windowMs = options.windowMs ?? DEFAULT_GC_WINDOW_MS;
  const threads = options.threads ?? 8;
  const { meta, store } = volume;
  const { blockSize, compression } = meta.volume;
  const objects = emptyTallies();
  const spill = await KeySpill.create();
  try {
    const pending = await meta.maintenance().scan(async (scan) => {
      const found = await scan.pending();
      const snap = progress.phase('snapshotting live slices');
      snap.add(await scan.snapshotLiveSlices());
      snap.end();
      const phase = progress.phase('listing and classifying objects');
      const classify = async (batch: ObjectInfo[]): Promise<void> => {
        const cutoff = Date.now() - windowMs;
        const parsed = batch.map((o) => parseBlockKey(o.key));
        const ids = [...new Set(parsed.flatMap((p) => (p === undefined ? [] : [p.sliceId])))];
        const named = await scan.liveSlices(ids);
        for (const [i, o] of batch.entries()) {
          const parts = parsed[i];
          const category = classifyObject(parts, o.size, o.mtime, parts === undefined ? [] : named.filter((s) => s.id === parts.sliceId), blockSize, compression, cutoff);
          objects[category].count++;
          objects[category].bytes += o.size;
          if (category === 'leaked') await spill.add(o.key, o.size);
        }
        phase.add(batch.length, batch.reduce((n, o) => n + o.size, 0));
      };
      let batch: ObjectInfo[] = [];
      for await (const o of listAll(store, 'chunks/')) {
        batch.push(o);
        if (batch.length >= PAGE) {
          await classify(batch);
          batch = [];
        }
      }
      await classify(batch);
      phase.end();
      return found;
    });
    const report = { objects, pending, windowMs };
    const deleted = options.delete ? await deleteGarbage(volume, spill, windowMs, threads, progress) : undefined;
    const compacted = options.compact ? await compactAll(volume, threads, progress) : undefined;
    return { ...report, deleted, compacted, elapsedMs: Date.now() - started };
  } finally {
    await spill.remove();
  }
}

async function deleteGarbage(volume: Pick<Volume, 'meta' | 'store' | 'vfs'>, spill: KeySpill, windowMs: number, threads: number, progress: Progress): Promise<NonNullable<GcReport['deleted']>> {
  const phase = progress.phase('deleting leaked objects', spill.count);
  const leaked: Tally = { count: 0, bytes: 0 };
  let kept = 0;
  for await (const batch of spill.batches(PAGE)) {
    const ids = batch.map((k) => parseBlockKey(k.key)?.sliceId ?? 0);
    const named = await volume.meta.maintenance().namedSliceIds([...new Set(ids)]);
    const doomed = batch.filter((_k, i) => !named.has(ids[i] ?? 0));
    kept += batch.length - doomed.length;
    await forEachLimit(doomed, threads, async (k) => {
      await volume.store.delete(k.key);
      leaked.count++;
      leaked.bytes += k.size;
      phase.add(1, k.size);
    });
  }
  phase.end();
  const pendingPhase = progress.phase('deferred deletion');
  const deadSessions = await volume.meta.cleanExpiredSessions();
  const d = await volume.vfs.runDeletion(windowMs);
  pendingPhase.add(d.deletedSlices, d.deletedBytes);
  pendingPhase.end();
  return { leaked, kept, deadSessions, releasedLists: d.releasedLists, pendingSlices: d.deletedSlices, pendingBytes: d.deletedBytes };
}

async function compactAll(volume: Pick<Volume, 'meta' | 'vfs'>, threads: number, progress: Progress): Promise<{ chunks: number; raced: number }> {
  const phase = progress.phase('compacting chunks');
  let chunks = 0;
  let raced = 0;
  for (let after: readonly [number, number] | undefined; ;) {
    // One short scan per page: compaction itself needs the pool (PGlite has one connection).
    const page = await volume.meta.maintenance().scan((scan) => scan.fragmentedChunks(after, 100));
    await forEachLimit(page, threads, async (c) => {
      try {
        const outcome = await volume.vfs.compact(c.ino, c.index);
        if (outcome === 'compacted') chunks++;
        else if (outcome === 'raced') raced++;
      } catch (err) {
        // The file was deleted since the page was read: nothing left to compact.
        if (!(err instanceof FsError && err.code === 'ENOENT')) throw err;
        raced++;
      }
      phase.add(1);
    });
    const last = page[page.length - 1];
    if (last === undefined || page.length < 100) break;
    after = [last.ino, last.index];
  }
  phase.end();
  return { chunks, raced };
}
