/**
 * What a running mount tells the other commands (info, warmup, status): a JSON record per
 * mount point in the runtime directory (no secrets: the metadata URL is redacted) and, beside
 * it, the full metadata URL in a file only the mount's owner can read (`.meta`, mode 0600).
 * A command given a PATH inside a mount walks up to the mount point and reads both.
 */
import { chmod, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { realpathSync } from 'node:fs';
import { dirname, relative, resolve, sep } from 'node:path';
import { isMounted, runtimeDir, runtimeFileOf } from '../fuse/index.js';
import { CliError } from '../errors.js';
import { EXIT_FAILURE } from './errors.js';

export interface MountRecord {
  readonly pid: number;
  readonly mountPoint: string;
  readonly volume: { readonly name: string; readonly uuid: string };
  /** Redacted. */
  readonly meta: string;
  /** A sub-directory mount: the directory served (`/a/b`) and its inode, where paths inside the mount start. */
  readonly subdir?: string;
  readonly root?: number;
  /** The volume's disk cache directory (with the uuid), if any. */
  readonly cacheDir: string | undefined;
  /** Where /metrics is served, if anywhere. */
  readonly metrics: string | undefined;
  readonly startedAt: string;
}

export async function writeMountRecord(record: MountRecord, metaUrl: string): Promise<void> {
  await mkdir(runtimeDir(), { recursive: true, mode: 0o700 });
  const metaFile = runtimeFileOf(record.mountPoint, '.meta');
  await writeFile(metaFile, `${metaUrl}\n`, { mode: 0o600 });
  await chmod(metaFile, 0o600); // writeFile's mode applies only to a new file
  await writeFile(runtimeFileOf(record.mountPoint, '.json'), `${JSON.stringify(record, null, 2)}\n`);
}

export async function removeMountRecord(mountPoint: string): Promise<void> {
  await Promise.all(['.json', '.meta'].map((s) => rm(runtimeFileOf(mountPoint, s), { force: true })));
}

/**
 * A daemon uploading an earlier run's write-back leftovers before it mounts (stage-recovery.ts)
 * says how far it got here, so that `mount --background` waits as long as it moves.
 */
export interface RecoveryRecord {
  readonly pid: number;
  readonly uploaded: number;
  readonly total: number;
}

/**
 * How long `mount --background` waits for its daemon: `limitMs`, counted again whenever that
 * daemon reports more leftovers uploaded.
 */
export class MountWait {
  readonly limitMs: number;
  #deadline: number;
  #uploaded = -1;

  constructor(limitMs: number, now: number) {
    this.limitMs = limitMs;
    this.#deadline = now + limitMs;
  }

  /** What the runtime directory showed at `now`; records of other processes are ignored. */
  saw(record: RecoveryRecord | undefined, daemonPid: number | undefined, now: number): void {
    if (record === undefined || record.pid !== daemonPid || record.uploaded <= this.#uploaded) return;
    this.#uploaded = record.uploaded;
    this.#deadline = now + this.limitMs;
  }

  expired(now: number): boolean {
    return now >= this.#deadline;
  }

  /** The daemon has reported recovering leftovers. */
  get recovering(): boolean {
    return this.#uploaded >= 0;
  }
}

export function writeRecoveryRecord(mountPoint: string, record: RecoveryRecord): Promise<void> {
  return mkdir(runtimeDir(), { recursive: true, mode: 0o700 })
    .then(() => writeFile(runtimeFileOf(mountPoint, '.recovering'), `${JSON.stringify(record)}\n`))
    .catch(() => undefined); // only a background parent's patience depends on it
}

export async function readRecoveryRecord(mountPoint: string): Promise<RecoveryRecord | undefined> {
  const text = await readFile(runtimeFileOf(mountPoint, '.recovering'), 'utf8').catch(() => undefined);
  try {
    return text === undefined ? undefined : JSON.parse(text) as RecoveryRecord;
  } catch {
    return undefined; // read while being written
  }
}

export async function removeRecoveryRecord(mountPoint: string): Promise<void> {
  await rm(runtimeFileOf(mountPoint, '.recovering'), { force: true });
}

/** The mount holding `path` and the path inside it ('' for the root). */
export function findMount(path: string): { mountPoint: string; inside: string } {
  let real: string;
  try {
    real = realpathSync(resolve(path));
  } catch (err) {
    throw new CliError(EXIT_FAILURE, 'ENOENT', `${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  for (let dir = real; ; dir = dirname(dir)) {
    if (isMounted(dir)) return { mountPoint: dir, inside: relative(dir, real).split(sep).filter((s) => s !== '').join('/') };
    if (dir === dirname(dir)) throw new CliError(EXIT_FAILURE, 'ENOTMOUNT', `${path} is not inside an ObjectFS mount`);
  }
}

/** The record and metadata URL of the mount at `mountPoint`. */
export async function readMountRecord(mountPoint: string): Promise<{ record: MountRecord; metaUrl: string }> {
  const jsonFile = runtimeFileOf(mountPoint, '.json');
  const text = await readFile(jsonFile, 'utf8').catch(() => undefined);
  if (text === undefined) {
    throw new CliError(EXIT_FAILURE, 'ENOTMOUNT', `no record of the mount at ${mountPoint} in ${runtimeDir()} (set OBJECTFS_RUNTIME_DIR as the mount had it)`);
  }
  const metaText = await readFile(runtimeFileOf(mountPoint, '.meta'), 'utf8').catch((err: NodeJS.ErrnoException) => {
    throw new CliError(EXIT_FAILURE, err.code ?? 'EACCES', `cannot read the metadata URL of the mount at ${mountPoint}: ${err.code ?? err.message} (run as the mount's owner)`);
  });
  return { record: JSON.parse(text) as MountRecord, metaUrl: metaText.trim() };
}
