/**
 * Metadata backups (`mount --backup-meta INTERVAL`): one live mount of the volume at a time
 * (the `meta-backup` job, meta/jobs.ts) dumps the whole metadata from one snapshot, gzip
 * compressed (zlib runs off the JavaScript thread) into a temporary file, uploads it as
 * `meta-backup/dump-<UTC time>.json.gz` under the volume's prefix, deletes the oldest beyond
 * `keep`, and reports {time, bytes, key, entries, rows} for `objectfs status`.
 *
 * The dump streams into the file in bounded memory; the upload then reads the compressed file
 * into one buffer, because ObjectStore.put takes a Buffer (a single PUT, at most 5 GiB on S3).
 */
import { createWriteStream } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import type { MetaEngine } from '../meta/index.js';
import { listAll, type ObjectStore } from '../object/index.js';
import type { Logger } from '../util/log.js';

/** The job's name in the `job` table. */
export const META_BACKUP_JOB = 'meta-backup';
/** Where backups live, under the volume's prefix. */
export const META_BACKUP_PREFIX = 'meta-backup/';
/** The default of `--backup-meta` in seconds and of `--backup-keep`. */
export const DEFAULT_BACKUP_SECONDS = 3600;
export const DEFAULT_BACKUP_KEEP = 7;
/** How often a mount asks whether a backup is due, at most (a shorter interval asks as often). */
const MAX_POLL_MS = 60_000;

export interface MetaBackupOptions {
  /** Interval between backups in ms; 0 disables them. */
  readonly intervalMs: number;
  /** Backups kept (at least 1). */
  readonly keep: number;
  /** Where the temporary file goes (the cache directory; default the system's). */
  readonly tempDir?: string;
  readonly log?: Pick<Logger, 'warn' | 'info'>;
}

/** What one backup reported (the job's info; status shows it). */
export interface MetaBackupReport {
  /** When the snapshot was taken (ISO 8601). */
  readonly time: string;
  readonly key: string;
  /** Compressed size in bytes. */
  readonly bytes: number;
  readonly entries: number;
  readonly rows: number;
  /** Backups deleted because more than `keep` were there. */
  readonly pruned: number;
}

/** `meta-backup/dump-2026-12-05T16-20-00.123Z.json.gz`: sorts by time, no ':' in keys. */
export function backupKey(time: Date): string {
  return `${META_BACKUP_PREFIX}dump-${time.toISOString().replace(/:/g, '-')}.json.gz`;
}

/** Makes one backup now (the caller has claimed the job). */
export async function runMetaBackup(meta: MetaEngine, store: ObjectStore, keep: number, tempDir = tmpdir()): Promise<MetaBackupReport> {
  const dir = await mkdtemp(join(tempDir, 'meta-backup-'));
  try {
    const file = join(dir, 'dump.json.gz');
    const gzip = createGzip();
    const written = pipeline(gzip, createWriteStream(file, { mode: 0o600 }));
    const summary = await meta.dumpTo(gzip).catch((err: unknown) => { gzip.destroy(); throw err; });
    gzip.end();
    await written;
    const key = backupKey(new Date(summary.taken));
    const data = await readFile(file);
    await store.put(key, data);
    const pruned = await pruneBackups(store, keep);
    return { time: summary.taken, key, bytes: data.length, entries: summary.entries, rows: Object.values(summary.rows).reduce((a, b) => a + b, 0), pruned };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Deletes the oldest backups beyond `keep`; returns how many. */
async function pruneBackups(store: ObjectStore, keep: number): Promise<number> {
  const keys: string[] = [];
  for await (const o of listAll(store, META_BACKUP_PREFIX)) if (o.key.endsWith('.json.gz')) keys.push(o.key);
  keys.sort();
  const old = keys.slice(0, Math.max(0, keys.length - keep));
  for (const k of old) await store.delete(k);
  return old.length;
}

/** A failed backup: the error, and the last good backup's report kept beside it for status. */
export interface MetaBackupFailure {
  readonly time: string;
  readonly error: string;
  readonly lastGood?: MetaBackupReport;
}

async function reportFailure(meta: MetaEngine, error: string): Promise<void> {
  const before = (await meta.listJobs()).find((j) => j.name === META_BACKUP_JOB)?.info as MetaBackupReport | MetaBackupFailure | null | undefined;
  const lastGood = before == null ? undefined : 'error' in before ? before.lastGood : before;
  const failure: MetaBackupFailure = { time: new Date().toISOString(), error, ...(lastGood === undefined ? {} : { lastGood }) };
  await meta.reportJob(META_BACKUP_JOB, failure);
}

/**
 * Asks every min(interval, 1 min) whether the backup is due and makes it when this mount wins
 * the claim. Returns a stopper that waits for a running backup.
 */
export function startMetaBackups(meta: MetaEngine, store: ObjectStore, options: MetaBackupOptions): () => Promise<void> {
  if (options.intervalMs <= 0) return async () => undefined;
  let running: Promise<void> = Promise.resolve();
  let busy = false;
  const tick = (): void => {
    if (busy) return;
    busy = true;
    running = (async () => {
      try {
        if (!(await meta.claimJob(META_BACKUP_JOB, options.intervalMs))) return;
        const report = await runMetaBackup(meta, store, options.keep, options.tempDir);
        await meta.reportJob(META_BACKUP_JOB, report);
        options.log?.info('metadata backup uploaded', { key: report.key, bytes: report.bytes, entries: report.entries });
      } catch (err) {
        options.log?.warn('metadata backup failed', { err });
        await reportFailure(meta, (err as Error).message).catch(() => undefined);
      } finally {
        busy = false;
      }
    })();
  };
  const timer = setInterval(tick, Math.min(options.intervalMs, MAX_POLL_MS));
  timer.unref();
  // The first check soon after mounting, so a volume mounted briefly is backed up too.
  const first = setTimeout(tick, Math.min(options.intervalMs, 5_000));
  first.unref();
  return async () => {
    clearInterval(timer);
    clearTimeout(first);
    await running;
  };
}
