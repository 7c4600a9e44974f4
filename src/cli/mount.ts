/**
 * `objectfs mount META_URL MOUNTPOINT`: opens the volume, registers a session and serves it
 * through FUSE until SIGINT/SIGTERM or an unmount, then commits pending writes and exits.
 * `--background` starts the same command detached, with its log in a file, and returns once
 * the mount is up (or fails with the daemon's last log lines).
 */
import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { InvalidArgumentError, type Command } from 'commander';
import { CliError } from '../errors.js';
import { daemonOf, forgetDaemon, isObjectfsMount, mountFuse, recordDaemon } from '../fuse/index.js';
import { createLogger, LOG_LEVELS, type LogLevel } from '../util/log.js';
import { openVolume } from '../volume/open-volume.js';
import { redactUrl } from '../config/redact.js';
import { byteSizeOption, wholeNumberOption } from './options.js';
import { EXIT_FAILURE } from './errors.js';

/** The objectfs executable (the background daemon is started through it). */
const BIN = fileURLToPath(new URL('./bin.js', import.meta.url));

interface MountFlags {
  readOnly?: boolean;
  attrTimeout?: number;
  entryTimeout?: number;
  negativeTimeout?: number;
  allowOther?: boolean;
  options?: string[];
  bufferSize?: number;
  cacheDir?: string;
  diskCache: boolean;
  cacheSize?: number;
  memoryCacheSize?: number;
  freeSpaceRatio?: number;
  uploadConcurrency?: number;
  downloadConcurrency?: number;
  readahead?: number;
  deleteDelay?: number;
  background?: boolean;
  log?: string;
  logLevel: LogLevel;
}

function secondsOption(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) throw new InvalidArgumentError(`"${value}" is not a number of seconds`);
  return n;
}

function ratioOption(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0 || n >= 1) throw new InvalidArgumentError(`"${value}" is not a ratio in [0, 1)`);
  return n;
}

function collectOptions(value: string, previous: string[] = []): string[] {
  return [...previous, ...value.split(',').map((s) => s.trim()).filter((s) => s !== '')];
}

function logLevelOption(value: string): LogLevel {
  if (!(LOG_LEVELS as readonly string[]).includes(value)) throw new InvalidArgumentError(`one of ${LOG_LEVELS.join(', ')}`);
  return value as LogLevel;
}

/** Options of mount(8) and fstab that are not FUSE options; some map to ours. */
const MOUNT_ONLY = new Set(['rw', 'defaults', 'auto', 'noauto', 'user', 'nouser', 'users', '_netdev', 'nofail', 'suid', 'nosuid', 'dev', 'nodev', 'exec', 'noexec', 'async', 'atime', 'noatime', 'relatime']);

/** Splits `-o` items into ObjectFS settings and libfuse options. */
export function splitMountOptions(items: readonly string[], flags: MountFlags): string[] {
  const fuse: string[] = [];
  for (const item of items) {
    const [key = '', value] = item.split('=', 2);
    if (MOUNT_ONLY.has(key)) continue;
    if (key === 'ro') flags.readOnly = true;
    else if (key === 'allow_other') flags.allowOther = true;
    else if (key === 'attr_timeout' && value !== undefined) flags.attrTimeout = secondsOption(value);
    else if (key === 'entry_timeout' && value !== undefined) flags.entryTimeout = secondsOption(value);
    else if (key === 'negative_timeout' && value !== undefined) flags.negativeTimeout = secondsOption(value);
    else if (key === 'cache-dir' && value !== undefined) flags.cacheDir = value;
    else if (key === 'cache-size' && value !== undefined) flags.cacheSize = byteSizeOption(value);
    else if (key === 'buffer-size' && value !== undefined) flags.bufferSize = byteSizeOption(value);
    else fuse.push(item);
  }
  return fuse;
}

/** `argv`: the arguments the program was run with (the daemon is started with the same). */
export function registerMount(program: Command, argv: readonly string[]): void {
  program.command('mount')
    .description('mount a volume with FUSE (foreground unless --background)')
    .argument('<META_URL>', 'metadata URL of the volume')
    .argument('<MOUNTPOINT>', 'directory to mount on (created if missing)')
    .option('-d, --background', 'run as a daemon; logs go to --log')
    .option('--log <FILE>', 'log file (default with --background: /var/log/objectfs.log as root, else ./objectfs.log)')
    .option('--log-level <LEVEL>', `one of ${LOG_LEVELS.join(', ')}`, logLevelOption, 'info')
    .option('--read-only', 'mount read-only')
    .option('--attr-timeout <SECONDS>', 'kernel attribute cache timeout (0 = always ask, exact for hard links)', secondsOption, 0)
    .option('--entry-timeout <SECONDS>', 'kernel name cache timeout (0 = always ask)', secondsOption, 1)
    .option('--negative-timeout <SECONDS>', 'kernel cache of missing names', secondsOption, 0)
    .option('--allow-other', 'let other users access the mount (needs user_allow_other for non-root)')
    .option('-o, --options <LIST>', 'comma-separated mount options: ro, allow_other, attr_timeout=S, cache-dir=DIR, cache-size=SIZE, buffer-size=SIZE, or libfuse options', collectOptions)
    .option('--buffer-size <SIZE>', 'write buffer bound', byteSizeOption)
    .option('--cache-dir <DIR>', 'disk block cache directory', '/var/cache/objectfs')
    .option('--no-disk-cache', 'keep blocks in memory only')
    .option('--cache-size <SIZE>', 'disk cache bound', byteSizeOption)
    .option('--memory-cache-size <SIZE>', 'memory cache bound', byteSizeOption)
    .option('--free-space-ratio <R>', 'keep this fraction of the cache disk free', ratioOption)
    .option('--upload-concurrency <N>', 'block uploads in flight', wholeNumberOption)
    .option('--download-concurrency <N>', 'block downloads in flight', wholeNumberOption)
    .option('--readahead <SIZE>', 'largest readahead window', byteSizeOption)
    .option('--delete-delay <SECONDS>', 'safety delay before released objects are deleted', secondsOption)
    .action(async (metaUrl: string, mountPoint: string, flags: MountFlags) => {
      const mnt = resolve(mountPoint);
      const fuseOptions = splitMountOptions(flags.options ?? [], flags);
      if (flags.background) {
        await startDaemon(argv, mnt, flags);
        return;
      }
      await serve(metaUrl, mnt, flags, fuseOptions);
    });
}

async function serve(metaUrl: string, mnt: string, flags: MountFlags, fuseOptions: string[]): Promise<void> {
  const log = createLogger({ level: flags.logLevel });
  const version = (JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
  const volume = await openVolume(metaUrl, {
    session: { host: hostname(), pid: process.pid, mountPoint: mnt, version, processName: 'objectfs mount' },
    ...(flags.diskCache ? { cacheDir: flags.cacheDir } : {}),
    cacheBytes: flags.cacheSize,
    memoryCacheBytes: flags.memoryCacheSize,
    cacheFreeRatio: flags.freeSpaceRatio,
    bufferBytes: flags.bufferSize,
    uploadConcurrency: flags.uploadConcurrency,
    downloadConcurrency: flags.downloadConcurrency,
    readaheadBytes: flags.readahead,
    deleteDelayMs: flags.deleteDelay === undefined ? undefined : flags.deleteDelay * 1000,
  });
  let mounted;
  try {
    mounted = await mountFuse(volume.vfs, {
      mountPoint: mnt,
      readOnly: flags.readOnly,
      attrTimeout: flags.attrTimeout,
      entryTimeout: flags.entryTimeout,
      negativeTimeout: flags.negativeTimeout,
      allowOther: flags.allowOther,
      fuseOptions,
      fsName: `objectfs:${volume.meta.volume.name}`,
      log: { unexpected: (op, err) => log.error(`${op} failed`, { err }) },
    });
  } catch (err) {
    await volume.close();
    throw new CliError(EXIT_FAILURE, 'EMOUNT', (err as Error).message, { cause: err });
  }
  await recordDaemon(mnt);
  log.info('mounted', { volume: volume.meta.volume.name, mountPoint: mnt, meta: redactUrl(metaUrl) });
  await new Promise<void>((resolveStop) => {
    let watch: NodeJS.Timeout | undefined;
    const stop = (why: string) => {
      if (watch === undefined) return;
      clearInterval(watch);
      watch = undefined;
      log.info('unmounting', { why });
      resolveStop();
    };
    process.once('SIGINT', () => stop('SIGINT'));
    process.once('SIGTERM', () => stop('SIGTERM'));
    // Unmounted from outside (fusermount -u): notice and shut down.
    watch = setInterval(() => { if (!isObjectfsMount(mnt)) stop('unmounted'); }, 2000);
  });
  try {
    await mounted.unmount();
  } finally {
    await volume.close();
    await forgetDaemon(mnt);
    log.info('stopped', { mountPoint: mnt });
  }
}

async function startDaemon(argv: readonly string[], mnt: string, flags: MountFlags): Promise<void> {
  const logFile = resolve(flags.log ?? (process.getuid?.() === 0 ? '/var/log/objectfs.log' : 'objectfs.log'));
  // The same command in the foreground: this program's own arguments (not process.argv, which
  // may be the mount(8) helper's) without the background switch.
  const args = [BIN, ...argv.filter((a) => a !== '-d' && a !== '--background')];
  const out = openSync(logFile, 'a');
  const child = spawn(process.execPath, args, { detached: true, stdio: ['ignore', out, out] });
  closeSync(out);
  let exited: number | null | undefined;
  child.on('exit', (code) => { exited = code; });
  child.unref();
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline) {
    if (exited !== undefined) {
      const tail = readFileSync(logFile, 'utf8').split('\n').slice(-8).join('\n');
      throw new CliError(EXIT_FAILURE, 'EMOUNT', `the mount daemon exited (code ${exited}); last lines of ${logFile}:\n${tail}`);
    }
    if (isObjectfsMount(mnt) && (await daemonOf(mnt)) === child.pid) {
      process.stdout.write(`mounted ${mnt} (daemon pid ${child.pid}, log ${logFile})\n`);
      return;
    }
    await sleep(200);
  }
  child.kill('SIGTERM');
  throw new CliError(EXIT_FAILURE, 'EMOUNT', `the mount did not come up within 120 s; see ${logFile}`);
}
