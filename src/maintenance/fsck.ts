/**
 * fsck: checks a volume's metadata and data and, with `repair`, fixes what needs no guessing.
 * The scan runs on one pinned connection (scan()); repairs run after it, each its own
 * transaction re-checking under locks, so both are safe while the volume is mounted and busy.
 */
import type { Volume } from '../volume/open-volume.js';
import { checkData } from './fsck-data.js';
import { ProblemLog, type FsckCounts, type FsckReport, type RepairCandidate } from './fsck-report.js';
import { checkChunks, checkCounts, checkEdges, checkNodes } from './fsck-tree.js';
import { checkQuotaUsage, repairQuotaUsage } from './fsck-quota.js';
import { SILENT_PROGRESS, type Progress } from './progress.js';

export interface FsckOptions {
  /** Check only this subtree (absolute path); volume-wide counts are skipped then. */
  readonly path?: string;
  readonly repair?: boolean;
  /** Download and decode every needed block. */
  readonly verify?: boolean;
  /** Parallel downloads with verify (default 8). */
  readonly threads?: number;
  readonly progress?: Progress;
}

export async function runFsck(volume: Pick<Volume, 'meta' | 'store'>, options: FsckOptions = {}): Promise<FsckReport> {
  const started = Date.now();
  const progress = options.progress ?? SILENT_PROGRESS;
  const log = new ProblemLog();
  const counts: FsckCounts = { inodes: 0, edges: 0, chunks: 0, slices: 0, blocks: 0, bytes: 0, verified: 0 };
  const path = options.path ?? '/';
  const maintenance = volume.meta.maintenance();
  await maintenance.scan(async (scan) => {
    const whole = path.split('/').every((p) => p === '' || p === '.');
    if (!whole) {
      const target = await scan.resolve(path);
      await scan.restrictTo(target.ino);
    }
    await checkNodes(scan, log, counts, progress);
    await checkEdges(scan, log, counts, progress);
    await checkChunks(scan, log, counts, progress);
    if (whole) await checkCounts(scan, log, progress);
    await checkData(scan, volume.store, {
      blockSize: volume.meta.volume.blockSize, compression: volume.meta.volume.compression, verify: options.verify ?? false, threads: options.threads ?? 8,
    }, log, counts, progress);
    for (const p of log.problems) if (p.ino !== undefined) p.path = await scan.pathOf(p.ino);
  });
  // After the scan: PGlite has one connection, and the scan holds it.
  if (path.split('/').every((p) => p === '' || p === '.')) await checkQuotaUsage(volume.meta, log, progress);
  if (options.repair) await repairAll(volume, log, progress);
  const unrepaired = log.count - log.problems.filter((p) => p.repaired !== undefined).length;
  return { healthy: unrepaired === 0, path, counts, problems: log.problems, problemCount: log.count, unrepaired, elapsedMs: Date.now() - started };
}

/** Applies the gathered fixes: link counts first (an orphan's count is set when it gets its name), then orphans, references, counters. */
async function repairAll(volume: Pick<Volume, 'meta'>, log: ProblemLog, progress: Progress): Promise<void> {
  const m = volume.meta.maintenance();
  const phase = progress.phase('repairing', log.repairs.length);
  const order: RepairCandidate['kind'][] = ['link-count', 'orphan', 'slice-refs', 'usage', 'quota-usage'];
  for (const kind of order) {
    const todo = log.repairs.filter((r) => r.fix.kind === kind);
    if (kind === 'slice-refs') {
      const slices = new Map<number, number>();
      for (const r of todo) if (r.fix.kind === 'slice-refs') slices.set(r.fix.id, r.fix.size);
      const results = await m.repairSliceRefs([...slices].map(([id, size]) => ({ id, size })));
      for (const r of todo) {
        if (r.fix.kind !== 'slice-refs') continue;
        r.problem.repaired = results.get(r.fix.id)?.detail ?? `slice ${r.fix.id} checked`;
      }
      phase.add(todo.length);
      continue;
    }
    for (const r of todo) {
      const fix = r.fix;
      if (fix.kind === 'quota-usage') {
        r.problem.repaired = await repairQuotaUsage(volume.meta, fix.ino);
        phase.add(1);
        continue;
      }
      const res = fix.kind === 'link-count' ? await m.repairLinkCount(fix.ino)
        : fix.kind === 'orphan' ? await m.moveToLostFound(fix.ino)
          : await m.repairUsage();
      r.problem.repaired = res.detail;
      phase.add(1);
    }
  }
  phase.end();
}
