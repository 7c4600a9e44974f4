/**
 * Deferred deletion, run in the background by every mounted client (and by gc): dropped
 * chunk lists become reference decrements, and slices nobody references since longer than
 * the safety delay have their objects deleted. Rows are deleted only after their objects, so
 * a crash in between only means deleting again (deletes are idempotent).
 */
import type { ChunkStore } from '../chunk/index.js';
import type { MetaEngine } from '../meta/index.js';
import type { Metrics } from '../metrics/index.js';

export interface DeletionReport {
  readonly releasedLists: number;
  readonly deletedSlices: number;
  readonly deletedBytes: number;
}

/** One pass; `delayMs` is the safety delay between release and object deletion. */
export async function runDeletion(meta: MetaEngine, chunks: ChunkStore, delayMs: number): Promise<DeletionReport> {
  let releasedLists = 0;
  for (;;) {
    const n = await meta.releaseDroppedChunks(100);
    releasedLists += n;
    if (n < 100) break;
  }
  let deletedSlices = 0;
  let deletedBytes = 0;
  const before = BigInt(Date.now() - delayMs) * 1_000_000n;
  for (;;) {
    const batch = await meta.pendingSlices(before, 200);
    if (batch.length === 0) break;
    await Promise.all(batch.map((s) => chunks.deleteSlice(s.id, s.size)));
    await meta.forgetPendingSlices(batch.map((s) => s.id));
    deletedSlices += batch.length;
    deletedBytes += batch.reduce((sum, s) => sum + s.size, 0);
    if (batch.length < 200) break;
  }
  return { releasedLists, deletedSlices, deletedBytes };
}

/** runDeletion, counted in objectfs_deletion_* when `metrics` is given. */
export async function runDeletionCounted(meta: MetaEngine, chunks: ChunkStore, delayMs: number, metrics: Metrics | undefined): Promise<DeletionReport> {
  let report: DeletionReport;
  try {
    report = await runDeletion(meta, chunks, delayMs);
  } catch (err) {
    metrics?.m.deletionErrors.inc();
    throw err;
  }
  const m = metrics?.m;
  m?.deletionReleasedLists.inc(report.releasedLists);
  m?.deletionSlices.inc(report.deletedSlices);
  m?.deletionBytes.inc(report.deletedBytes);
  return report;
}
