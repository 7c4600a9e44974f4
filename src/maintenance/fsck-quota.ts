/**
 * fsck's check of directory quotas: each quota's usage against a scan of its tree (meta's
 * checkQuotas: one snapshot per quota, its row locked, so it is exact while hosts write:
 * every change is journalled in the transaction that made it, and a difference is damage).
 */
import type { MetaEngine } from '../meta/index.js';
import type { ProblemLog } from './fsck-report.js';
import type { Progress } from './progress.js';

export async function checkQuotaUsage(meta: Pick<MetaEngine, 'checkQuotas'>, log: ProblemLog, progress: Progress): Promise<void> {
  const phase = progress.phase('checking directory quotas');
  for (const c of await meta.checkQuotas({ repair: false })) {
    if (c.usedSpace === c.scannedSpace && c.usedInodes === c.scannedInodes) continue;
    log.add({
      kind: 'quota-usage', ino: c.inode,
      detail: `directory quota usage says ${c.usedSpace} bytes / ${c.usedInodes} inodes, a scan of the tree finds ${c.scannedSpace} bytes / ${c.scannedInodes} inodes`,
    }, { kind: 'quota-usage', ino: c.inode });
  }
  phase.end();
}

/** Replaces a quota's usage by a fresh scan (one transaction); says what it did. */
export async function repairQuotaUsage(meta: Pick<MetaEngine, 'checkQuotas'>, ino: number): Promise<string> {
  const [c] = await meta.checkQuotas({ ino, repair: true });
  if (c === undefined) return `the quota of inode ${ino} is gone`;
  return c.repaired ? `usage set to ${c.scannedSpace} bytes / ${c.scannedInodes} inodes` : 'usage already matched a scan';
}
