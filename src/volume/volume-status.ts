/** `objectfs status`: the volume record, live sessions and usage, with every secret masked. */
import { redactUrl } from '../config/redact.js';
import { META_BACKUP_JOB, type MetaBackupFailure, type MetaBackupReport } from './meta-backup.js';
import { LOCK_EOF, openMeta, type DeletionBacklog, type JobRecord, type StagedBacklog, type SessionRow, type StatFs, type VolumeRecord } from '../meta/index.js';

export interface VolumeStatus {
  readonly meta: string;
  readonly volume: VolumeRecord;
  readonly sessions: readonly (SessionRow & { readonly alive: boolean; readonly locks: readonly StatusLock[] })[];
  readonly usage: StatFs;
  /** Work waiting for deferred deletion. */
  readonly deletion: DeletionBacklog;
  /** Background jobs (trash expiry, metadata backup…): last claim and report. */
  readonly jobs: readonly JobRecord[];
  /**
   * The last metadata backup a mount reported (`mount --backup-meta`): its report, or
   * `{time, error, lastGood}` when the last attempt failed; null when none was made on this database.
   */
  readonly lastBackup: MetaBackupReport | MetaBackupFailure | null;
  /**
   * Write-back: per session, the slices it staged and has not uploaded yet. A session listed here
   * but not among `sessions` has ended with its backlog on its host's disk (docs/maintenance.md).
   */
  readonly staged: readonly StagedBacklog[];
}

/** A lock a session holds: `end` is null for a lock to the end of the file, however long. */
export interface StatusLock {
  readonly ino: number;
  readonly kind: 'posix' | 'flock';
  readonly type: 'read' | 'write';
  readonly start: number;
  readonly end: number | null;
  /** The holding process on the session's host. */
  readonly pid: number;
}

export async function volumeStatus(metaUrl: string): Promise<VolumeStatus> {
  const meta = await openMeta(metaUrl, { counterFlushMs: 0, maxConnections: 2 });
  try {
    const [sessions, usage, deletion, locks, jobs, staged] = await Promise.all([meta.listSessions(), meta.statfs(), meta.deletionBacklog(), meta.listLocks(), meta.listJobs(), meta.stagedBacklog()]);
    const backup = jobs.find((j) => j.name === META_BACKUP_JOB);
    const now = Date.now();
    return {
      meta: redactUrl(metaUrl),
      volume: { ...meta.volume, storage: redactUrl(meta.volume.storage) },
      sessions: sessions.map((s) => ({
        ...s, alive: s.expire >= now,
        locks: locks.filter((l) => l.sid === s.sid).map((l) => ({ ino: l.ino, kind: l.kind, type: l.type, start: l.lo, end: l.hi === LOCK_EOF ? null : l.hi, pid: l.pid })),
      })),
      usage,
      deletion,
      jobs,
      lastBackup: (backup?.info ?? null) as VolumeStatus['lastBackup'],
      staged,
    };
  } finally {
    await meta.close();
  }
}
