/** `objectfs status`: the volume record, live sessions and usage, with every secret masked. */
import { redactUrl } from '../config/redact.js';
import { openMeta, type DeletionBacklog, type SessionRow, type StatFs, type VolumeRecord } from '../meta/index.js';

export interface VolumeStatus {
  readonly meta: string;
  readonly volume: VolumeRecord;
  readonly sessions: readonly (SessionRow & { readonly alive: boolean })[];
  readonly usage: StatFs;
  /** Work waiting for deferred deletion. */
  readonly deletion: DeletionBacklog;
}

export async function volumeStatus(metaUrl: string): Promise<VolumeStatus> {
  const meta = await openMeta(metaUrl, { counterFlushMs: 0, maxConnections: 2 });
  try {
    const [sessions, usage, deletion] = await Promise.all([meta.listSessions(), meta.statfs(), meta.deletionBacklog()]);
    const now = Date.now();
    return {
      meta: redactUrl(metaUrl),
      volume: { ...meta.volume, storage: redactUrl(meta.volume.storage) },
      sessions: sessions.map((s) => ({ ...s, alive: s.expire >= now })),
      usage,
      deletion,
    };
  } finally {
    await meta.close();
  }
}
